#pragma once
// What a collector service answers to get_all and get_changes: the events, and one outcome per asked
// datasource, so that a failed datasource is told apart from an empty one (Vitrage left failed ones
// out). Its JSON form is the `result` of the JSON-RPC answer on both bindings:
//
//   {"events":[<entity_event>...],
//    "outcomes":[{"datasource":"nova","status":"ok","events":12},
//                {"datasource":"neutron","status":"failed","reason":"connection refused","events":0}],
//    "persisted":{"instance":"collector_a","first":4200,"count":12}}
//
// "persisted" (absent when no event was queued) says where the service's persistor stored the events:
// events[i] is the document "<instance>-<first + i>" of the events index (ondemand/persistor.hpp). The
// consumer stamps its snapshots with the newest of these it applied, so that a restart replays only
// what came after (ondemand/replay.hpp).
//
// Large answers come in pages (ONDEMAND.md: a get_all of a million entities is never held whole as
// text on either side). A page that is not the last says so with "next":"<cursor>", and its outcomes
// are empty; the caller asks get_page(cursor) for the following one (ondemand/jsonrpc.hpp). The last
// page holds every outcome, with each datasource's events counted over all pages. "persisted" is per
// page: where that page's events were stored.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <simdjson.h>

#include <tributary/detail/json_text.hpp>
#include <tributary/error.hpp>
#include <tributary/ondemand/event.hpp>

namespace tributary {

enum class outcome_status {
  ok,         ///< the datasource answered; its events are in the answer
  failed,     ///< it threw (after retry_on_fault's retries); `reason` has the text
  timed_out,  ///< no answer within the service's time limit; whatever it answers later is dropped
  busy,       ///< get_changes refused because a get_all of the datasource is running
};

[[nodiscard]] constexpr std::string_view to_string(outcome_status s) noexcept {
  switch (s) {
    case outcome_status::ok: return "ok";
    case outcome_status::failed: return "failed";
    case outcome_status::timed_out: return "timed_out";
    case outcome_status::busy: return "busy";
  }
  return "failed";
}
[[nodiscard]] constexpr std::optional<outcome_status> parse_outcome_status(std::string_view s) noexcept {
  if (s == "ok") return outcome_status::ok;
  if (s == "failed") return outcome_status::failed;
  if (s == "timed_out") return outcome_status::timed_out;
  if (s == "busy") return outcome_status::busy;
  return std::nullopt;
}

struct datasource_outcome {
  std::string datasource;
  outcome_status status = outcome_status::ok;
  std::string reason;      ///< empty when ok
  std::size_t events = 0;  ///< how many of the answer's events are this datasource's
  friend bool operator==(const datasource_outcome&, const datasource_outcome&) = default;
};

/// Where a persistor stored a run of events: ids "<instance>-<first>" .. "<instance>-<first + count - 1>".
struct persisted_range {
  std::string instance;
  std::uint64_t first = 0;
  std::size_t count = 0;
  friend bool operator==(const persisted_range&, const persisted_range&) = default;
};

struct ondemand_answer {
  std::vector<entity_event> events;
  std::vector<datasource_outcome> outcomes;  ///< one per datasource asked, in the order asked
  /// The first `persisted->count` events, as stored by the service's persistor; nullopt: none stored.
  std::optional<persisted_range> persisted{};
  /// The cursor of the following page (get_page); empty on the last page.
  std::string next{};

  [[nodiscard]] bool all_ok() const noexcept {
    for (const auto& o : outcomes)
      if (o.status != outcome_status::ok) return false;
    return true;
  }
  [[nodiscard]] const datasource_outcome* outcome_of(std::string_view name) const noexcept {
    for (const auto& o : outcomes)
      if (o.datasource == name) return &o;
    return nullptr;
  }
};

/// An answer already written as JSON (append_answer_json's text), by a service that made its page ahead
/// of the request (ondemand/service.hpp): a binding sends it as it is.
struct answer_json {
  std::string text;
};

namespace detail {

/// What follows an answer's events: `],"outcomes":[...]`, "persisted", "next" and the closing brace.
inline void append_answer_rest_json(std::string& out, const ondemand_answer& a) {
  out += "],\"outcomes\":[";
  for (std::size_t i = 0; i < a.outcomes.size(); ++i) {
    const auto& o = a.outcomes[i];
    if (i) out += ',';
    out += "{\"datasource\":";
    detail::append_quoted(out, o.datasource);
    out += ",\"status\":\"";
    out += to_string(o.status);
    out += '"';
    if (!o.reason.empty()) {
      out += ",\"reason\":";
      detail::append_quoted(out, o.reason);
    }
    out += ",\"events\":";
    out += std::to_string(o.events);
    out += '}';
  }
  out += ']';
  if (a.persisted) {
    out += ",\"persisted\":{\"instance\":";
    detail::append_quoted(out, a.persisted->instance);
    out += ",\"first\":";
    out += std::to_string(a.persisted->first);
    out += ",\"count\":";
    out += std::to_string(a.persisted->count);
    out += '}';
  }
  if (!a.next.empty()) {
    out += ",\"next\":";
    detail::append_quoted(out, a.next);
  }
  out += '}';
}

}  // namespace detail

inline void append_answer_json(std::string& out, const ondemand_answer& a) {
  std::size_t room = 256;  // the whole answer in one allocation rather than a doubling string's copies
  for (const auto& e : a.events) room += event_json_size_hint(e);
  out.reserve(out.size() + room);
  out += "{\"events\":[";
  for (std::size_t i = 0; i < a.events.size(); ++i) {
    if (i) out += ',';
    append_event_json(out, a.events[i]);
  }
  detail::append_answer_rest_json(out, a);
}

inline void append_answer_json(std::string& out, const answer_json& a) { out += a.text; }

/// A cursor as services write them: 1 to 128 bytes of A-Z, a-z, 0-9, '-', '_' and '.'; anything else
/// is refused before it is looked up or sent back.
[[nodiscard]] inline bool valid_cursor(std::string_view c) noexcept {
  if (c.empty() || c.size() > 128) return false;
  for (const char ch : c)
    if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.'))
      return false;
  return true;
}

/// Reads an answer from a parsed JSON value; throws error(errc::bad_document) naming what is wrong.
[[nodiscard]] inline ondemand_answer parse_answer(simdjson::dom::element value) {
  simdjson::dom::object object;
  if (value.get(object)) throw error(errc::bad_document, "answer: the result is not a JSON object");
  simdjson::dom::array events, outcomes;
  if (object["events"].get(events)) throw error(errc::bad_document, "answer: \"events\" must be an array");
  if (object["outcomes"].get(outcomes)) throw error(errc::bad_document, "answer: \"outcomes\" must be an array");
  ondemand_answer a;
  a.events.reserve(events.size());
  std::size_t i = 0;
  for (auto e : events) a.events.push_back(parse_event(e, "answer.events[" + std::to_string(i++) + "]"));
  i = 0;
  for (auto o : outcomes) {
    const std::string at = "answer.outcomes[" + std::to_string(i++) + "]";
    datasource_outcome d;
    std::string_view name, status, reason;
    std::uint64_t count = 0;
    if (o["datasource"].get(name)) throw error(errc::bad_document, at + ".datasource must be a string");
    if (o["status"].get(status) || !parse_outcome_status(status))
      throw error(errc::bad_document, at + ".status must be one of ok, failed, timed_out, busy");
    if (o["events"].get(count)) throw error(errc::bad_document, at + ".events must be a non-negative integer");
    const auto r = o["reason"];
    if (r.error() != simdjson::NO_SUCH_FIELD && r.get(reason)) throw error(errc::bad_document, at + ".reason must be a string");
    d.datasource = std::string(name);
    d.status = *parse_outcome_status(status);
    d.reason = std::string(reason);
    d.events = static_cast<std::size_t>(count);
    a.outcomes.push_back(std::move(d));
  }
  const auto persisted = object["persisted"];
  if (persisted.error() != simdjson::NO_SUCH_FIELD) {
    std::string_view instance;
    std::uint64_t first = 0, count = 0;
    if (persisted["instance"].get(instance) || instance.empty())
      throw error(errc::bad_document, "answer: persisted.instance must be a non-empty string");
    for (const char c : instance)
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
        throw error(errc::bad_document, "answer: persisted.instance may hold only a-z, 0-9 and '_'");
    if (persisted["first"].get(first)) throw error(errc::bad_document, "answer: persisted.first must be a non-negative integer");
    if (persisted["count"].get(count) || count > a.events.size())
      throw error(errc::bad_document, "answer: persisted.count must be an integer no larger than the number of events");
    if (first > UINT64_MAX - count) throw error(errc::bad_document, "answer: persisted.first + count overflows");
    a.persisted = persisted_range{std::string(instance), first, static_cast<std::size_t>(count)};
  }
  if (const auto next = object["next"]; next.error() != simdjson::NO_SUCH_FIELD) {
    std::string_view cursor;
    if (next.get(cursor) || !valid_cursor(cursor))
      throw error(errc::bad_document, "answer: next must be a cursor of 1 to 128 bytes of A-Z, a-z, 0-9, '-', '_' and '.'");
    if (!a.outcomes.empty()) throw error(errc::bad_document, "answer: a page with a next cursor has no outcomes (the last page holds them)");
    a.next = std::string(cursor);
  }
  return a;
}

}  // namespace tributary
