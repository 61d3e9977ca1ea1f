#pragma once
// Collection on demand's input (include/tributary/ondemand/):
//   ondemand_requests  a JSON-RPC text to a collector service (basic_datasource_service::answer) over a
//                      memory_index persistor, with two datasources, "nova" (two events) and "broken"
//                      (throws)
//   ondemand_answers   a JSON-RPC response a consumer reads (parse_jsonrpc_answer, id "7")
//   ondemand_events    one entity event's JSON (parse_event)
//
// Properties beyond "no crash, only tributary::error":
//   ondemand_requests: answer() never throws; it answers nothing (notifications only) or a JSON text
//   that is one JSON-RPC 2.0 response, or an array of them, each with "jsonrpc":"2.0" and exactly one
//   of result and error; an error has an integer code among JSON-RPC's and a non-empty message; a
//   result reads back as an answer whose outcomes say ok or failed (broken) and whose events count
//   their outcomes' events; the persistor queued exactly the events the results hold, and each
//   result's "persisted" stamp covers all of its events.
//   ondemand_answers: an accepted answer written out again reads back equal (events, outcomes, stamp).
//   ondemand_events: an accepted event written out again reads back equal.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <simdjson.h>

#include <tributary/execution/inline_executor.hpp>
#include <tributary/index/memory.hpp>
#include <tributary/ondemand/answer.hpp>
#include <tributary/ondemand/event.hpp>
#include <tributary/ondemand/jsonrpc.hpp>
#include <tributary/ondemand/persistor.hpp>
#include <tributary/ondemand/service.hpp>

#include "../harness.hpp"

namespace tributary::fuzz {

namespace ondemand_detail {

struct two_events {
  using datasource_concept = datasource_tag;
  [[nodiscard]] std::string name() const { return "nova"; }
  std::vector<entity_event> get_all(event_action a) {
    std::vector<entity_event> out(2);
    for (int i = 0; i < 2; ++i) {
      out[i].datasource = "nova";
      out[i].entity_type = "instance";
      out[i].entity_id = "vm-" + std::to_string(i);
      out[i].action = a;
      out[i].payload = "{\"i\":" + std::to_string(i) + "}";
    }
    return out;
  }
  std::vector<entity_event> get_changes() { return get_all(event_action::update); }
};

struct broken {
  using datasource_concept = datasource_tag;
  [[nodiscard]] std::string name() const { return "broken"; }
  std::vector<entity_event> get_all(event_action) { throw std::runtime_error("the cloud is down"); }
  std::vector<entity_event> get_changes() { throw std::runtime_error("the cloud is down"); }
};

inline bool known_code(std::int64_t c) { return c == -32700 || c == -32600 || c == -32601 || c == -32602 || c == -32603; }

/// Checks one response object; returns the events its result holds.
inline std::size_t check_response(simdjson::dom::element one, const std::string& text) {
  std::string_view version;
  require(!one["jsonrpc"].get(version) && version == "2.0", "a response without \"jsonrpc\":\"2.0\": " + text.substr(0, 300));
  const bool has_result = one["result"].error() != simdjson::NO_SUCH_FIELD;
  const bool has_error = one["error"].error() != simdjson::NO_SUCH_FIELD;
  require(has_result != has_error, "a response needs exactly one of result and error: " + text.substr(0, 300));
  if (has_error) {
    std::int64_t code = 0;
    std::string_view message;
    require(!one["error"]["code"].get(code) && known_code(code), "an error without a JSON-RPC code: " + text.substr(0, 300));
    require(!one["error"]["message"].get(message) && !message.empty(), "an error without a message: " + text.substr(0, 300));
    return 0;
  }
  simdjson::dom::element result;
  require(!one["result"].get(result), "a result that cannot be read: " + text.substr(0, 300));
  ondemand_answer a;
  const auto read = expect_errors("parse_answer of the service's own result", [&] { a = parse_answer(result); });
  require(!read, "the service's result does not read back: " + text.substr(0, 300));
  std::size_t counted = 0;
  for (const auto& o : a.outcomes) {
    require(o.status == outcome_status::ok || o.status == outcome_status::failed, "an outcome neither ok nor failed: " + text.substr(0, 300));
    require((o.datasource == "broken") == (o.status == outcome_status::failed), "the wrong datasource failed: " + text.substr(0, 300));
    counted += o.events;
  }
  require(counted == a.events.size(), "outcomes do not count the events: " + text.substr(0, 300));
  require(a.events.empty() ? !a.persisted : (a.persisted && a.persisted->count == a.events.size()),
          "the persisted stamp does not cover the events: " + text.substr(0, 300));
  return a.events.size();
}

}  // namespace ondemand_detail

inline void ondemand_requests(std::string_view input) {
  memory_index store;
  basic_event_persistor<memory_index> persistor(store, {.instance = "fuzz"});
  inline_executor exec;
  basic_datasource_service<inline_executor, memory_index> service(exec, persistor, {.max_request_bytes = 4096});
  service.add(any_datasource(ondemand_detail::two_events{}));
  service.add(any_datasource(ondemand_detail::broken{}));

  std::optional<std::string> answer;
  try {
    answer = service.answer(input);
  } catch (const finding_reported&) {
    throw;
  } catch (const std::exception& e) {
    finding(std::string("answer() threw: ") + e.what());
  } catch (...) {
    finding("answer() threw something that is not a std::exception");
  }
  std::size_t events = 0;
  if (answer) {
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    require(!parser.parse(simdjson::padded_string(*answer)).get(root), "the answer is not JSON: " + answer->substr(0, 300));
    simdjson::dom::array batch;
    if (!root.get(batch)) {
      require(batch.size() > 0, "an empty batch answered");
      for (auto one : batch) events += ondemand_detail::check_response(one, *answer);
    } else {
      events = ondemand_detail::check_response(root, *answer);
    }
  }
  // Notifications run too, unanswered: the persistor may hold more than the answers show, never less.
  require(persistor.stats().queued >= events, "answered events the persistor never queued");
  require(persistor.stats().refused == 0, "the persistor refused events of an open service");
}

inline void ondemand_answers(std::string_view input) {
  ondemand_answer a;
  const auto refused = expect_errors("parse_jsonrpc_answer", [&] { a = parse_jsonrpc_answer(input, "7"); });
  // Parsed in place (as the HTTP client does, with and without room for the padding): the same.
  for (const bool room : {false, true}) {
    std::string body(input);
    if (room) body.reserve(body.size() + 64);
    else body.shrink_to_fit();
    jsonrpc_answer_reader reader;
    ondemand_answer c;
    const auto refused_in_place = expect_errors("read_in_place", [&] { c = reader.read_in_place(body, "7"); });
    require(refused.has_value() == refused_in_place.has_value() &&
                (!refused || std::string(refused->what()) == refused_in_place->what()),
            "jsonrpc_answer_reader::read_in_place and parse_jsonrpc_answer disagree on " + std::string(input.substr(0, 300)));
    require(refused || (c.events == a.events && c.outcomes == a.outcomes && c.persisted == a.persisted && c.next == a.next),
            "parsed in place, the answer differs: " + std::string(input.substr(0, 300)));
  }
  if (refused) return;
  std::string again = R"({"jsonrpc":"2.0","id":"7","result":)";
  append_answer_json(again, a);
  again += '}';
  ondemand_answer b;
  const auto reread = expect_errors("parse_jsonrpc_answer of an answer written again", [&] { b = parse_jsonrpc_answer(again, "7"); });
  require(!reread, "an accepted answer written again is refused: " + (reread ? std::string(reread->what()) : "") + " in " + again.substr(0, 300));
  require(b.events == a.events, "events changed through a round trip: " + again.substr(0, 300));
  require(b.outcomes == a.outcomes, "outcomes changed through a round trip: " + again.substr(0, 300));
  require(b.persisted == a.persisted, "the persisted stamp changed through a round trip: " + again.substr(0, 300));
}

inline void ondemand_events(std::string_view input) {
  entity_event e;
  if (expect_errors("parse_event", [&] { e = parse_event(input); })) return;
  const std::string again = event_json(e);
  entity_event f;
  const auto reread = expect_errors("parse_event of an event written again", [&] { f = parse_event(again); });
  require(!reread, "an accepted event written again is refused: " + again.substr(0, 300));
  require(f == e, "an event changed through a round trip: " + again.substr(0, 300));
}

}  // namespace tributary::fuzz
