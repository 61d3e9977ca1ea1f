#pragma once
// JSON-RPC 2.0 (https://www.jsonrpc.org/specification) for the two collector methods, independent of
// how the text travels: the HTTP and the RabbitMQ bindings both carry exactly these texts.
//
//   -> {"jsonrpc":"2.0","id":7,"method":"get_all",
//       "params":{"datasource_names":["nova"],"action":"init_snapshot","retry_on_fault":true}}
//   <- {"jsonrpc":"2.0","id":7,"result":<ondemand_answer>}
//   -> {"jsonrpc":"2.0","id":8,"method":"get_changes","params":{"datasource_names":["nova"]}}
//   -> {"jsonrpc":"2.0","id":9,"method":"get_page","params":{"cursor":"4f1c9e07a2b3d5e6-2"}}
//
// get_page reads the page an answer's "next" names (ondemand/answer.hpp); asking for the same cursor
// again answers the same page (a lost answer can be asked again), and a cursor is only known to the
// service that wrote it (the bindings send get_page back to it).
//
// Params come by name (as above) or by position ([names, action, retry_on_fault]); `action` defaults to
// "snapshot" and must be init_snapshot or snapshot, `retry_on_fault` defaults to false. An empty
// datasource_names asks every datasource of the service. Every refusal is an error object whose
// message names the problem: -32700 text that is not JSON, -32600 a request that is not a JSON-RPC
// 2.0 request object (or is larger than the limit), -32601 an unknown method, -32602 a missing, unknown
// or mistyped parameter and an unknown datasource. Batches are answered element by element;
// notifications (no id) are run and not answered. Text is validated in full (simdjson's DOM parser)
// before anything is read: no pickle-like encoding ever reaches the consumer (ONDEMAND.md).

#include <algorithm>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <simdjson.h>

#include <tributary/detail/json_text.hpp>
#include <tributary/error.hpp>
#include <tributary/ondemand/answer.hpp>
#include <tributary/ondemand/event.hpp>

namespace tributary {

/// JSON-RPC 2.0's error codes.
namespace rpc_code {
inline constexpr int parse_error = -32700;
inline constexpr int invalid_request = -32600;
inline constexpr int method_not_found = -32601;
inline constexpr int invalid_params = -32602;
inline constexpr int internal_error = -32603;
}  // namespace rpc_code

/// An error answered by the remote side (or refused on this side before sending), with its JSON-RPC
/// code. errc: bad_document for refused input, not_found for an unknown method, source_failed else.
class rpc_error : public error {
 public:
  rpc_error(int rpc_code, const std::string& message)
      : error(rpc_code == rpc_code::method_not_found ? errc::not_found
              : rpc_code == rpc_code::internal_error ? errc::source_failed
                                                     : errc::bad_document,
              message),
        rpc_code_(rpc_code) {}
  [[nodiscard]] int rpc_code() const noexcept { return rpc_code_; }

 private:
  int rpc_code_;
};

enum class ondemand_method { get_all, get_changes, get_page };

[[nodiscard]] constexpr std::string_view to_string(ondemand_method m) noexcept {
  switch (m) {
    case ondemand_method::get_all: return "get_all";
    case ondemand_method::get_changes: return "get_changes";
    case ondemand_method::get_page: return "get_page";
  }
  return "get_all";
}

/// One call, as the service runs it.
struct ondemand_request {
  ondemand_method method = ondemand_method::get_all;
  std::vector<std::string> datasource_names;  ///< empty: every datasource
  event_action action = event_action::snapshot;
  bool retry_on_fault = false;
  std::string cursor{};  ///< get_page only: the "next" of the previous page
};

namespace detail {

inline std::string rpc_error_text(std::string_view id_json, int code, std::string_view message) {
  std::string out = "{\"jsonrpc\":\"2.0\",\"id\":";
  out += id_json;
  out += ",\"error\":{\"code\":";
  out += std::to_string(code);
  out += ",\"message\":";
  append_quoted(out, message);
  out += "}}";
  return out;
}

inline std::vector<std::string> names_param(simdjson::dom::element v) {
  simdjson::dom::array names;
  if (v.get(names)) throw rpc_error(rpc_code::invalid_params, "datasource_names must be an array of strings");
  std::vector<std::string> out;
  for (auto n : names) {
    std::string_view s;
    if (n.get(s)) throw rpc_error(rpc_code::invalid_params, "datasource_names must be an array of strings");
    out.emplace_back(s);
  }
  return out;
}
inline event_action action_param(simdjson::dom::element v) {
  std::string_view s;
  if (v.get(s)) throw rpc_error(rpc_code::invalid_params, "action must be a string");
  const auto a = parse_event_action(s);
  if (!a || (*a != event_action::init_snapshot && *a != event_action::snapshot))
    throw rpc_error(rpc_code::invalid_params, "action must be \"init_snapshot\" or \"snapshot\", not \"" + std::string(s) + "\"");
  return *a;
}
inline std::string cursor_param(simdjson::dom::element v) {
  std::string_view s;
  if (v.get(s)) throw rpc_error(rpc_code::invalid_params, "cursor must be a string");
  if (!valid_cursor(s)) throw rpc_error(rpc_code::invalid_params, "cursor must hold 1 to 128 bytes of A-Z, a-z, 0-9, '-', '_' and '.'");
  return std::string(s);
}
inline bool retry_param(simdjson::dom::element v) {
  bool b = false;
  if (v.get(b)) throw rpc_error(rpc_code::invalid_params, "retry_on_fault must be a boolean");
  return b;
}

inline ondemand_request parse_page_call(simdjson::dom::element params, bool has_params) {
  ondemand_request r;
  r.method = ondemand_method::get_page;
  if (!has_params) throw rpc_error(rpc_code::invalid_params, "params with a cursor are required");
  simdjson::dom::object by_name;
  simdjson::dom::array by_position;
  bool seen = false;
  if (!params.get(by_name)) {
    for (auto [key, v] : by_name) {
      if (key != "cursor") throw rpc_error(rpc_code::invalid_params, "unknown parameter \"" + std::string(key) + "\" of get_page");
      r.cursor = cursor_param(v), seen = true;
    }
  } else if (!params.get(by_position)) {
    if (by_position.size() > 1) throw rpc_error(rpc_code::invalid_params, "get_page takes one parameter");
    for (auto v : by_position) r.cursor = cursor_param(v), seen = true;
  } else {
    throw rpc_error(rpc_code::invalid_request, "params must be an object or an array");
  }
  if (!seen) throw rpc_error(rpc_code::invalid_params, "cursor is required");
  return r;
}

/// The call a request object asks for; throws rpc_error naming the problem.
inline ondemand_request parse_call(std::string_view method, simdjson::dom::element params, bool has_params) {
  ondemand_request r;
  if (method == "get_all") r.method = ondemand_method::get_all;
  else if (method == "get_changes") r.method = ondemand_method::get_changes;
  else if (method == "get_page") r.method = ondemand_method::get_page;
  else throw rpc_error(rpc_code::method_not_found, "unknown method \"" + std::string(method) + "\" (get_all, get_changes, get_page)");
  if (r.method == ondemand_method::get_page) return parse_page_call(params, has_params);
  const bool all = r.method == ondemand_method::get_all;
  if (!has_params) throw rpc_error(rpc_code::invalid_params, "params with datasource_names are required");
  simdjson::dom::object by_name;
  simdjson::dom::array by_position;
  bool names_seen = false;
  if (!params.get(by_name)) {
    for (auto [key, v] : by_name) {
      if (key == "datasource_names") r.datasource_names = names_param(v), names_seen = true;
      else if (all && key == "action") r.action = action_param(v);
      else if (all && key == "retry_on_fault") r.retry_on_fault = retry_param(v);
      else throw rpc_error(rpc_code::invalid_params, "unknown parameter \"" + std::string(key) + "\" of " + std::string(method));
    }
  } else if (!params.get(by_position)) {
    const std::size_t n = by_position.size(), most = all ? 3 : 1;
    if (n > most) throw rpc_error(rpc_code::invalid_params, std::string(method) + " takes at most " + std::to_string(most) + " parameters");
    std::size_t k = 0;
    for (auto v : by_position) {
      if (k == 0) r.datasource_names = names_param(v), names_seen = true;
      else if (k == 1) r.action = action_param(v);
      else r.retry_on_fault = retry_param(v);
      ++k;
    }
  } else {
    throw rpc_error(rpc_code::invalid_request, "params must be an object or an array");
  }
  if (!names_seen) throw rpc_error(rpc_code::invalid_params, "datasource_names is required");
  return r;
}

/// Answers one element of a request (an object, or anything a batch holds). nullopt for a
/// notification.
template <class Run>
std::optional<std::string> answer_one(simdjson::dom::element request, Run& run) {
  simdjson::dom::object object;
  if (request.get(object)) return rpc_error_text("null", rpc_code::invalid_request, "a request must be a JSON object");
  // The id first, so that every later error can be answered to it.
  std::string id = "null";
  bool has_id = false;
  if (auto v = object["id"]; v.error() != simdjson::NO_SUCH_FIELD) {
    const auto t = v.type().value_unsafe();
    if (t != simdjson::dom::element_type::STRING && t != simdjson::dom::element_type::INT64 &&
        t != simdjson::dom::element_type::UINT64 && t != simdjson::dom::element_type::NULL_VALUE)
      return rpc_error_text("null", rpc_code::invalid_request, "id must be a string, an integer or null");
    id = simdjson::minify(v.value_unsafe());
    has_id = true;
  }
  std::string_view version, method;
  if (object["jsonrpc"].get(version) || version != "2.0")
    return rpc_error_text(id, rpc_code::invalid_request, "\"jsonrpc\" must be \"2.0\"");
  if (object["method"].get(method)) return rpc_error_text(id, rpc_code::invalid_request, "\"method\" must be a string");
  for (auto [key, v] : object) {
    (void)v;
    if (key != "jsonrpc" && key != "id" && key != "method" && key != "params")
      return rpc_error_text(id, rpc_code::invalid_request, "unknown member \"" + std::string(key) + "\"");
  }
  std::string out;
  try {
    const auto params = object["params"];
    const bool has_params = params.error() != simdjson::NO_SUCH_FIELD;
    const ondemand_request call = parse_call(method, has_params ? params.value_unsafe() : simdjson::dom::element(), has_params);
    const auto answer = run(call);  // an ondemand_answer, or an answer_json written ahead
    if (!has_id) return std::nullopt;
    // The envelope first and the answer after it, in one buffer: a page is megabytes, and copying it
    // into an envelope made afterwards cost as much again as writing it.
    out = "{\"jsonrpc\":\"2.0\",\"id\":";
    out += id;
    out += ",\"result\":";
    append_answer_json(out, answer);
    out += '}';
  } catch (const rpc_error& e) {
    return has_id ? std::optional(rpc_error_text(id, e.rpc_code(), e.what())) : std::nullopt;
  } catch (const error& e) {
    return has_id ? std::optional(rpc_error_text(id, rpc_code::internal_error, e.what())) : std::nullopt;
  } catch (const std::exception&) {  // not ours: its text may say anything, so it stays here
    return has_id ? std::optional(rpc_error_text(id, rpc_code::internal_error, "internal error")) : std::nullopt;
  }
  return out;
}

}  // namespace detail

/// Answers a JSON-RPC 2.0 text. `run(const ondemand_request&)` returns the ondemand_answer (or the
/// answer_json of one) or throws rpc_error (unknown datasource). nullopt: nothing to send (notifications only).
template <class Run>
[[nodiscard]] std::optional<std::string> answer_jsonrpc(std::string_view text, std::size_t max_bytes, Run&& run) {
  if (text.size() > max_bytes)
    return detail::rpc_error_text("null", rpc_code::invalid_request,
                                  "request of " + std::to_string(text.size()) + " bytes is over the limit of " + std::to_string(max_bytes));
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (const auto err = parser.parse(simdjson::padded_string(text)).get(root))
    return detail::rpc_error_text("null", rpc_code::parse_error, std::string("parse error: ") + simdjson::error_message(err));
  simdjson::dom::array batch;
  if (root.get(batch)) return detail::answer_one(root, run);
  if (batch.size() == 0) return detail::rpc_error_text("null", rpc_code::invalid_request, "an empty batch");
  std::string out = "[";
  bool any = false;
  for (auto element : batch) {
    auto one = detail::answer_one(element, run);
    if (!one) continue;
    if (any) out += ',';
    out += *one;
    any = true;
  }
  if (!any) return std::nullopt;
  out += ']';
  return out;
}

/// The request text of a call, under `id` (a JSON string is made of it).
[[nodiscard]] inline std::string jsonrpc_request_text(const ondemand_request& r, std::string_view id) {
  std::string out = "{\"jsonrpc\":\"2.0\",\"id\":";
  detail::append_quoted(out, id);
  out += ",\"method\":\"";
  out += to_string(r.method);
  if (r.method == ondemand_method::get_page) {
    out += "\",\"params\":{\"cursor\":";
    detail::append_quoted(out, r.cursor);
    out += "}}";
    return out;
  }
  out += "\",\"params\":{\"datasource_names\":[";
  for (std::size_t i = 0; i < r.datasource_names.size(); ++i) {
    if (i) out += ',';
    detail::append_quoted(out, r.datasource_names[i]);
  }
  out += ']';
  if (r.method == ondemand_method::get_all) {
    out += ",\"action\":\"";
    out += to_string(r.action);
    out += "\",\"retry_on_fault\":";
    out += r.retry_on_fault ? "true" : "false";
  }
  out += "}}";
  return out;
}

namespace detail {

/// The answer in a parsed JSON-RPC response, or the errors parse_jsonrpc_answer throws.
[[nodiscard]] inline ondemand_answer read_jsonrpc_answer(simdjson::simdjson_result<simdjson::dom::element> parsed, std::string_view id) {
  simdjson::dom::element root;
  if (const auto err = std::move(parsed).get(root))
    throw error(errc::bad_document, std::string("JSON-RPC response: invalid JSON: ") + simdjson::error_message(err));
  std::string_view version, got_id;
  if (root["jsonrpc"].get(version) || version != "2.0")
    throw error(errc::bad_document, "JSON-RPC response: \"jsonrpc\" must be \"2.0\"");
  if (auto e = root["error"]; e.error() != simdjson::NO_SUCH_FIELD) {
    std::int64_t code = 0;
    std::string_view message;
    if (e["code"].get(code) || e["message"].get(message))
      throw error(errc::bad_document, "JSON-RPC response: the error object needs an integer code and a message");
    throw rpc_error(static_cast<int>(code), std::string(message));
  }
  if (root["id"].get(got_id) || got_id != id)
    throw error(errc::bad_document, "JSON-RPC response: the id is not the request's \"" + std::string(id) + "\"");
  simdjson::dom::element result;
  if (root["result"].get(result)) throw error(errc::bad_document, "JSON-RPC response: no result");
  return parse_answer(result);
}

}  // namespace detail

/// Reads the responses of a client's calls with buffers kept from one to the next, so that a page's are
/// allocated once rather than faulted in again for every page. simdjson sizes them to the largest text so
/// far (some thirteen bytes per byte of text), so pages of about one size would free and allocate tens of
/// megabytes again at each new largest page: here they grow with a quarter to spare.
class jsonrpc_answer_reader {
 public:
  /// The response to the request sent under `id`. Throws rpc_error for an error response and
  /// error(errc::bad_document) for a text that is not a valid response to it.
  [[nodiscard]] ondemand_answer read(std::string_view text, std::string_view id) {
    const simdjson::padded_string padded(text);
    return read_at(padded.data(), padded.size(), id);
  }
  /// As read, of a body the caller owns, parsed where it is rather than copied: its capacity is grown by
  /// simdjson's padding when it lacks it (a transport that reserves the room saves that).
  [[nodiscard]] ondemand_answer read_in_place(std::string& body, std::string_view id) {
    if (body.capacity() < body.size() + simdjson::SIMDJSON_PADDING) body.reserve(body.size() + simdjson::SIMDJSON_PADDING);
    return read_at(body.data(), body.size(), id);
  }
  /// The largest text the buffers hold now, in bytes.
  [[nodiscard]] std::size_t capacity() const noexcept { return std::min(parser_.capacity(), document_.capacity()); }

 private:
  ondemand_answer read_at(const char* text, std::size_t size, std::string_view id) {
    if (capacity() < size) {
      const std::size_t room = std::max(size, std::min(size + size / 4, parser_.max_capacity()));
      simdjson::error_code ignored = simdjson::SUCCESS;  // the parse allocates what it needs or says why not
      if (parser_.capacity() < room) ignored = parser_.allocate(room);
      if (document_.capacity() < room) ignored = document_.allocate(room);
      (void)ignored;
    }
    return detail::read_jsonrpc_answer(parser_.parse_into_document(document_, text, size, false), id);
  }

  simdjson::dom::parser parser_;
  simdjson::dom::document document_;
};

/// jsonrpc_answer_reader::read with buffers of its own, for one answer.
[[nodiscard]] inline ondemand_answer parse_jsonrpc_answer(std::string_view text, std::string_view id) {
  return jsonrpc_answer_reader{}.read(text, id);
}

}  // namespace tributary
