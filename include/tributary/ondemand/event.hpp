#pragma once
// entity_event: what a datasource reports about one entity, and its JSON form, the one spoken by both
// RPC bindings and stored by the persistor (ONDEMAND.md, "Shape").
//
//   {"datasource":"nova","entity_type":"instance","entity_id":"i-1","action":"update",
//    "sample_time_us":1613692800000000,"payload":{...}}
//
// The sample time is whole microseconds since the Unix epoch, an integer: it orders samples of one
// entity (an older sample never replaces a newer one), so it must survive the trip exactly, which a
// decimal text of seconds would not. The payload is any JSON value, kept as minified text; it is
// validated on the way in and never interpreted here. Reading is strict: a missing or mistyped field
// is an error(errc::bad_document) naming the field, and unknown fields are refused too, so a typo in
// a producer is found rather than silently dropped.

#include <charconv>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <simdjson.h>

#include <tributary/detail/json_text.hpp>
#include <tributary/error.hpp>

namespace tributary {

/// Why an event was produced: Vitrage's four actions.
enum class event_action {
  init_snapshot,  ///< the consumer's first get_all after it started
  snapshot,       ///< a periodic get_all
  update,         ///< a change (get_changes, or pushed)
  delete_entity,  ///< the entity is gone ("delete" on the wire)
};

[[nodiscard]] constexpr std::string_view to_string(event_action a) noexcept {
  switch (a) {
    case event_action::init_snapshot: return "init_snapshot";
    case event_action::snapshot: return "snapshot";
    case event_action::update: return "update";
    case event_action::delete_entity: return "delete";
  }
  return "update";
}

/// The action named `text`; nullopt for any other text.
[[nodiscard]] constexpr std::optional<event_action> parse_event_action(std::string_view text) noexcept {
  if (text == "init_snapshot") return event_action::init_snapshot;
  if (text == "snapshot") return event_action::snapshot;
  if (text == "update") return event_action::update;
  if (text == "delete") return event_action::delete_entity;
  return std::nullopt;
}

using sample_clock = std::chrono::system_clock;
using sample_time = std::chrono::time_point<sample_clock, std::chrono::microseconds>;

struct entity_event {
  std::string datasource;
  std::string entity_type;
  std::string entity_id;
  event_action action = event_action::update;
  sample_time sampled{};
  std::string payload = "{}";  ///< JSON text of any value

  friend bool operator==(const entity_event&, const entity_event&) = default;
};

/// Appends the event's JSON object to `out`. The payload is copied as is: events built in process are
/// trusted to carry valid JSON (every event read from outside went through parse_event).
inline void append_event_json(std::string& out, const entity_event& e) {
  out += "{\"datasource\":";
  detail::append_quoted(out, e.datasource);
  out += ",\"entity_type\":";
  detail::append_quoted(out, e.entity_type);
  out += ",\"entity_id\":";
  detail::append_quoted(out, e.entity_id);
  out += ",\"action\":\"";
  out += to_string(e.action);
  out += "\",\"sample_time_us\":";
  char digits[24];
  out.append(digits, std::to_chars(digits, digits + sizeof digits, std::int64_t{e.sampled.time_since_epoch().count()}).ptr);
  out += ",\"payload\":";
  out += e.payload.empty() ? std::string_view("null") : std::string_view(e.payload);
  out += '}';
}

/// Room for an event's JSON (its text fields unescaped), so that writing it allocates once.
[[nodiscard]] inline std::size_t event_json_size_hint(const entity_event& e) noexcept {
  return 128 + e.datasource.size() + e.entity_type.size() + e.entity_id.size() + e.payload.size();
}

[[nodiscard]] inline std::string event_json(const entity_event& e) {
  std::string out;
  out.reserve(event_json_size_hint(e));
  append_event_json(out, e);
  return out;
}

/// Reads one event from a parsed (hence validated) JSON value. Throws error(errc::bad_document) naming
/// the field at fault; `where` prefixes the message ("events[3]").
[[nodiscard]] inline entity_event parse_event(simdjson::dom::element value, std::string_view where = "event") {
  const std::string at(where);
  simdjson::dom::object object;
  if (value.get(object)) throw error(errc::bad_document, at + " is not a JSON object");
  entity_event e;
  bool seen[6] = {};
  auto text = [&](simdjson::dom::element v, std::string_view key) {
    std::string_view s;
    if (v.get(s)) throw error(errc::bad_document, at + "." + std::string(key) + " must be a string");
    return std::string(s);
  };
  for (auto [key, v] : object) {
    if (key == "datasource") {
      e.datasource = text(v, key), seen[0] = true;
    } else if (key == "entity_type") {
      e.entity_type = text(v, key), seen[1] = true;
    } else if (key == "entity_id") {
      e.entity_id = text(v, key), seen[2] = true;
    } else if (key == "action") {
      const auto action = parse_event_action(text(v, key));
      if (!action)
        throw error(errc::bad_document, at + ".action must be one of init_snapshot, snapshot, update, delete");
      e.action = *action, seen[3] = true;
    } else if (key == "sample_time_us") {
      std::int64_t us = 0;
      if (v.get(us)) throw error(errc::bad_document, at + ".sample_time_us must be an integer");
      e.sampled = sample_time(std::chrono::microseconds(us)), seen[4] = true;
    } else if (key == "payload") {
      e.payload = simdjson::minify(v), seen[5] = true;
    } else {
      throw error(errc::bad_document, at + " has an unknown field \"" + std::string(key) + "\"");
    }
  }
  constexpr std::string_view names[6] = {"datasource", "entity_type", "entity_id", "action", "sample_time_us", "payload"};
  for (int k = 0; k < 6; ++k)
    if (!seen[k]) throw error(errc::bad_document, at + " lacks \"" + std::string(names[k]) + "\"");
  if (e.datasource.empty()) throw error(errc::bad_document, at + ".datasource must not be empty");
  if (e.entity_id.empty()) throw error(errc::bad_document, at + ".entity_id must not be empty");
  return e;
}

/// Reads one event from its JSON text (validated in full first).
[[nodiscard]] inline entity_event parse_event(std::string_view json) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (const auto err = parser.parse(simdjson::padded_string(json)).get(root))
    throw error(errc::bad_document, std::string("event: invalid JSON: ") + simdjson::error_message(err));
  return parse_event(root);
}

}  // namespace tributary
