#pragma once
// HTTP/1.1 message syntax for the server (RFC 9112), as pure functions over text: the request head's
// parser, the query's decoder and the response head's writer. No sockets here, so they are tested and
// fuzzed alone. Strict where leniency lets two parties read one message two ways (request smuggling):
// no obsolete line folding, no whitespace before a header's colon, no Content-Length beside
// Transfer-Encoding, no two different Content-Lengths.

#include <cstddef>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <tributary/detail/percent.hpp>
#include <tributary/server/message.hpp>

namespace tributary::detail::http1 {

struct request_head {
  std::string method;
  std::string target;
  int minor_version = 1;  ///< HTTP/1.minor_version
  http_headers headers;
  /// The body's declared length; saturates at SIZE_MAX (over any limit) instead of overflowing.
  std::size_t content_length = 0;
  bool chunked = false;          ///< Transfer-Encoding: chunked
  bool keep_alive = true;        ///< what the client asked for (version and Connection)
  bool expect_continue = false;  ///< Expect: 100-continue
};

/// Why a head was refused: the status to answer and a short reason for the body.
struct head_error {
  int status = 400;
  std::string reason;
};

inline bool is_token_char(char c) noexcept {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}
inline bool is_token(std::string_view s) noexcept {
  if (s.empty()) return false;
  for (char c : s)
    if (!is_token_char(c)) return false;
  return true;
}
inline std::string_view trim_ows(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}
/// true when the comma-separated list `value` holds `token` (case-insensitive).
inline bool list_contains(std::string_view value, std::string_view token) noexcept {
  while (!value.empty()) {
    const auto comma = value.find(',');
    if (equals_ignoring_case(trim_ows(value.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

/// Where the head in `buffer` ends (just past its blank line), or npos while it is incomplete.
inline std::size_t head_end(std::string_view buffer) noexcept {
  const auto at = buffer.find("\r\n\r\n");
  return at == std::string_view::npos ? at : at + 4;
}

/// Parses a whole head, blank line included (as head_end() delimits it).
inline std::variant<request_head, head_error> parse_request_head(std::string_view text) {
  auto fail = [](int status, std::string reason) { return head_error{status, std::move(reason)}; };
  request_head head;
  // A client may send empty lines before a request (RFC 9112 section 2.2).
  while (text.starts_with("\r\n")) text.remove_prefix(2);
  auto next_line = [&text]() -> std::optional<std::string_view> {
    const auto eol = text.find("\r\n");
    if (eol == std::string_view::npos) return std::nullopt;
    const auto line = text.substr(0, eol);
    text.remove_prefix(eol + 2);
    return line;
  };
  const auto request_line = next_line();
  if (!request_line) return fail(400, "incomplete request head");
  // method SP request-target SP HTTP-version
  const auto sp1 = request_line->find(' ');
  const auto sp2 = sp1 == std::string_view::npos ? sp1 : request_line->find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos) return fail(400, "malformed request line");
  head.method = std::string(request_line->substr(0, sp1));
  head.target = std::string(request_line->substr(sp1 + 1, sp2 - sp1 - 1));
  const auto version = request_line->substr(sp2 + 1);
  if (!is_token(head.method)) return fail(400, "malformed method");
  if (head.target.empty()) return fail(400, "empty request target");
  for (const unsigned char c : head.target)
    if (c <= 0x20 || c == 0x7f) return fail(400, "malformed request target");
  if (version.size() != 8 || !version.starts_with("HTTP/") || version[6] != '.' || version[5] < '0' ||
      version[5] > '9' || version[7] < '0' || version[7] > '9')
    return fail(400, "malformed HTTP version");
  if (version[5] != '1') return fail(505, "only HTTP/1.x is served");
  head.minor_version = version[7] - '0';
  head.keep_alive = head.minor_version >= 1;

  bool has_length = false, has_host = false, has_transfer_encoding = false;
  for (;;) {
    const auto line = next_line();
    if (!line) return fail(400, "incomplete request head");
    if (line->empty()) break;
    if (line->front() == ' ' || line->front() == '\t') return fail(400, "obsolete line folding");
    const auto colon = line->find(':');
    if (colon == std::string_view::npos || !is_token(line->substr(0, colon))) return fail(400, "malformed header line");
    const auto name = line->substr(0, colon);
    const auto value = trim_ows(line->substr(colon + 1));
    for (const unsigned char c : value)
      if ((c < 0x20 && c != '\t') || c == 0x7f) return fail(400, "control character in a header value");
    if (equals_ignoring_case(name, "Content-Length")) {
      if (value.empty()) return fail(400, "empty Content-Length");
      std::size_t n = 0;
      for (const char c : value) {
        if (c < '0' || c > '9') return fail(400, "malformed Content-Length");
        const auto digit = static_cast<std::size_t>(c - '0');
        n = n > (std::numeric_limits<std::size_t>::max() - digit) / 10 ? std::numeric_limits<std::size_t>::max()
                                                                      : n * 10 + digit;
      }
      if (has_length && n != head.content_length) return fail(400, "conflicting Content-Length headers");
      has_length = true;
      head.content_length = n;
    } else if (equals_ignoring_case(name, "Transfer-Encoding")) {
      has_transfer_encoding = true;
      if (!equals_ignoring_case(value, "chunked")) return fail(501, "only the chunked transfer coding is known");
      head.chunked = true;
    } else if (equals_ignoring_case(name, "Connection")) {
      if (list_contains(value, "close")) head.keep_alive = false;
      else if (list_contains(value, "keep-alive") && head.minor_version == 0) head.keep_alive = true;
    } else if (equals_ignoring_case(name, "Expect")) {
      if (value.empty()) continue;  // nothing expected
      if (!equals_ignoring_case(value, "100-continue")) return fail(417, "only Expect: 100-continue is known");
      head.expect_continue = head.minor_version >= 1;
    } else if (equals_ignoring_case(name, "Host")) {
      if (has_host) return fail(400, "more than one Host header");
      has_host = true;
    }
    head.headers.emplace_back(std::string(name), std::string(value));
  }
  if (has_length && has_transfer_encoding) return fail(400, "both Content-Length and Transfer-Encoding");
  if (head.minor_version >= 1 && !has_host) return fail(400, "no Host header");
  return head;
}

/// Percent-decoding of a query component; '+' is a space there. A malformed escape stays as sent.
inline std::string decode_query_component(std::string_view s) {
  return *percent_decode(s, {.plus_as_space = true, .keep_malformed = true});
}

/// Splits a target into its path and decoded query pairs.
inline void split_target(std::string_view target, std::string& path,
                         std::vector<std::pair<std::string, std::string>>& query) {
  const auto q = target.find('?');
  path = std::string(target.substr(0, q));
  if (q == std::string_view::npos) return;
  auto rest = target.substr(q + 1);
  const auto hash = rest.find('#');
  rest = rest.substr(0, hash);
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    const auto pair = rest.substr(0, amp);
    if (!pair.empty()) {
      const auto eq = pair.find('=');
      query.emplace_back(decode_query_component(pair.substr(0, eq)),
                         eq == std::string_view::npos ? std::string() : decode_query_component(pair.substr(eq + 1)));
    }
    if (amp == std::string_view::npos) break;
    rest.remove_prefix(amp + 1);
  }
}

inline std::string_view reason_phrase(int status) noexcept {
  switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 413: return "Content Too Large";
    case 417: return "Expectation Failed";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
  }
}

/// Whether a response with this status to this method carries a body at all (RFC 9110 section 6.4.1).
inline bool has_body(int status, std::string_view method) noexcept {
  return method != "HEAD" && !(status >= 100 && status < 200) && status != 204 && status != 304;
}

enum class framing { length, chunked, until_close };

/// The status line and headers, the server's framing headers in place of any the handler set.
inline std::string response_head(int status, const http_headers& headers, framing how, std::size_t length,
                                 bool close) {
  std::string out = "HTTP/1.1 " + std::to_string(status) + ' ' + std::string(reason_phrase(status)) + "\r\n";
  for (const auto& [k, v] : headers) {
    if (equals_ignoring_case(k, "Content-Length") || equals_ignoring_case(k, "Transfer-Encoding") ||
        equals_ignoring_case(k, "Connection"))
      continue;
    // A CR or LF in a handler's header would split the response; such a header is dropped.
    if (k.find_first_of("\r\n") != std::string::npos || v.find_first_of("\r\n") != std::string::npos) continue;
    out.append(k).append(": ").append(v).append("\r\n");
  }
  const bool bodiless = status == 204 || status == 304 || (status >= 100 && status < 200);
  if (!bodiless) {
    if (how == framing::length) out += "Content-Length: " + std::to_string(length) + "\r\n";
    if (how == framing::chunked) out += "Transfer-Encoding: chunked\r\n";
  }
  if (close) out += "Connection: close\r\n";
  out += "\r\n";
  return out;
}

}  // namespace tributary::detail::http1
