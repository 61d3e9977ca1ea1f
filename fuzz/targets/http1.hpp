#pragma once
// The HTTP/1.1 request syntax the server reads from any client (include/tributary/server/detail/http1.hpp):
//   http1_request   parse_request_head on the input as a head, split_target and decode_query_component
//                   on its target (or on the input itself when it is no head).
//
// Properties beyond "no crash": a head that parses holds only what the grammar allows (a token method,
// a target without spaces or controls, token header names, values without controls or surrounding
// white space, never both Content-Length and chunked, a Host from HTTP/1.1 on) and parses the same when
// written out again; a refusal is a status the server answers with a reason. Query pairs, written
// back percent-encoded, split into the same pairs; decoding never grows a component, and where the
// strict decoder accepts a component the lenient one reads it the same way.

#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <tributary/detail/percent.hpp>
#include <tributary/server/detail/http1.hpp>

#include "../harness.hpp"

namespace tributary::fuzz {

namespace http1_detail {

namespace h1 = tributary::detail::http1;

/// The head written out as a client would send it.
inline std::string write_head(const h1::request_head& head) {
  std::string out = head.method + ' ' + head.target + " HTTP/1." + std::to_string(head.minor_version) + "\r\n";
  for (const auto& [name, value] : head.headers) out += name + ": " + value + "\r\n";
  return out + "\r\n";
}

inline bool same(const h1::request_head& a, const h1::request_head& b) {
  return a.method == b.method && a.target == b.target && a.minor_version == b.minor_version && a.headers == b.headers &&
         a.content_length == b.content_length && a.chunked == b.chunked && a.keep_alive == b.keep_alive &&
         a.expect_continue == b.expect_continue;
}

inline void check_head(const h1::request_head& head) {
  require(h1::is_token(head.method), "the method is not a token: " + head.method);
  require(!head.target.empty(), "an empty target was accepted");
  for (const unsigned char c : head.target) require(c > 0x20 && c != 0x7f, "a space or control in the target: " + head.target);
  require(head.minor_version >= 0 && head.minor_version <= 9, "HTTP/1." + std::to_string(head.minor_version));
  bool has_length = false, has_host = false;
  for (const auto& [name, value] : head.headers) {
    require(h1::is_token(name), "a header name that is not a token: " + name);
    for (const unsigned char c : value) require((c >= 0x20 || c == '\t') && c != 0x7f, "a control in the value of " + name);
    require(h1::trim_ows(value) == value, "white space around the value of " + name);
    has_length = has_length || tributary::detail::equals_ignoring_case(name, "Content-Length");
    has_host = has_host || tributary::detail::equals_ignoring_case(name, "Host");
  }
  require(!(has_length && head.chunked), "both Content-Length and chunked");
  require(head.minor_version == 0 || has_host, "an HTTP/1.1 request without Host");
  require(head.chunked || has_length || head.content_length == 0, "a body length no header declared");
  const auto again = h1::parse_request_head(write_head(head));
  require(std::holds_alternative<h1::request_head>(again) && same(std::get<h1::request_head>(again), head),
          "the head, written out again, does not parse the same: " + write_head(head));
}

inline void check_refusal(const h1::head_error& e) {
  const int s = e.status;
  require(s == 400 || s == 417 || s == 501 || s == 505, "refused with status " + std::to_string(s));
  require(!e.reason.empty(), "refused without a reason");
}

inline void check_component(std::string_view s) {
  const auto lenient = h1::decode_query_component(s);
  require(lenient.size() <= s.size(), "decoding grew a component");
  if (const auto strict = tributary::detail::percent_decode(s, {.plus_as_space = true}))
    require(*strict == lenient, "the strict and lenient decoders read a component differently");
  require(h1::decode_query_component(tributary::detail::percent_encode(lenient)) == lenient,
          "a decoded component does not survive encoding");
}

inline void check_target(std::string_view target) {
  std::string path;
  std::vector<std::pair<std::string, std::string>> query;
  h1::split_target(target, path, query);
  require(target.starts_with(path) && path.find('?') == std::string::npos, "the path is not the target up to '?'");
  std::string written = path + '?';
  for (const auto& [name, value] : query) {
    if (written.back() != '?') written += '&';
    written += tributary::detail::percent_encode(name) + '=' + tributary::detail::percent_encode(value);
  }
  std::string path_again;
  std::vector<std::pair<std::string, std::string>> query_again;
  h1::split_target(written, path_again, query_again);
  require(path_again == path && query_again == query, "the query, encoded again, splits into other pairs");
  const auto q = target.find('?');
  if (q == std::string_view::npos) return require(query.empty(), "pairs without a query");
  auto rest = target.substr(q + 1);
  rest = rest.substr(0, rest.find('#'));
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    const auto pair = rest.substr(0, amp);
    const auto eq = pair.find('=');
    check_component(pair.substr(0, eq));
    if (eq != std::string_view::npos) check_component(pair.substr(eq + 1));
    if (amp == std::string_view::npos) break;
    rest.remove_prefix(amp + 1);
  }
}

}  // namespace http1_detail

inline void http1_request(std::string_view input) {
  namespace h1 = tributary::detail::http1;
  expect_errors("http1_request", [&] {
    const auto end = h1::head_end(input);
    const auto parsed = h1::parse_request_head(end == std::string_view::npos ? input : input.substr(0, end));
    if (const auto* head = std::get_if<h1::request_head>(&parsed)) {
      http1_detail::check_head(*head);
      http1_detail::check_target(head->target);
    } else {
      http1_detail::check_refusal(std::get<h1::head_error>(parsed));
      http1_detail::check_target(input);
    }
  });
}

}  // namespace tributary::fuzz
