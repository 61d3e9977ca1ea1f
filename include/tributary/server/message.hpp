#pragma once
// The server side of HTTP: what a request handler is given and what it answers. The client side's
// vocabulary (http_request, http_response in <tributary/transport/http.hpp>) names a URL and carries
// transport errors and timings; a server needs the parts of the target, the peer and a stop signal
// instead, so these are types of their own that share its header list type.

#include <functional>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <tributary/transport/http.hpp>

namespace tributary {

namespace detail {
inline bool equals_ignoring_case(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}
inline std::optional<std::string_view> find_header(const http_headers& headers, std::string_view name) noexcept {
  for (const auto& [k, v] : headers)
    if (equals_ignoring_case(k, name)) return std::string_view(v);
  return std::nullopt;
}
}  // namespace detail

struct server_request {
  std::string method;  ///< as sent: "GET", "POST", ...
  std::string target;  ///< the request target as sent: path and query, still percent-encoded
  std::string path;    ///< the target up to '?', still percent-encoded (a decoded %2F would turn into a separator)
  /// The query's name=value pairs in order, percent-decoded ('+' as a space); a name without '=' has
  /// an empty value.
  std::vector<std::pair<std::string, std::string>> query;
  http_headers headers;  ///< in the order sent, names as sent
  std::string body;      ///< the whole body (at most server_options::max_body_bytes)
  std::string peer;      ///< the client's address and port: "127.0.0.1:50312", "[::1]:50312"
  /// Requested when the server stops. A handler that waits (a long poll, an injected delay) waits on
  /// it too, so that stop() is not held up by it.
  std::stop_token stop;

  /// Case-insensitive lookup of the first header of that name.
  [[nodiscard]] std::optional<std::string_view> header(std::string_view name) const noexcept {
    return detail::find_header(headers, name);
  }
  /// The first query parameter of that name (case-sensitive).
  [[nodiscard]] std::optional<std::string_view> query_parameter(std::string_view name) const noexcept {
    for (const auto& [k, v] : query)
      if (k == name) return std::string_view(v);
    return std::nullopt;
  }
};

/// Where a streamed response body goes, one piece at a time.
class body_writer {
 public:
  /// Sends `piece` on its way. false: the client is gone or stopped reading (write timeout); stop
  /// producing, the connection will be closed.
  virtual bool write(std::string_view piece) = 0;

 protected:
  ~body_writer() = default;
};

struct server_response {
  int status = 200;
  /// Content-Type and the like. The server owns the framing: Content-Length, Transfer-Encoding and
  /// Connection given here are ignored.
  http_headers headers;
  std::string body;
  /// A streamed body instead of `body`: called once the head is sent, it writes the body in pieces
  /// (sent chunked to HTTP/1.1 clients), so an answer of a million entities never sits in memory
  /// whole. Runs on the connection's worker thread, before the next request on the connection.
  std::function<void(body_writer&)> stream;

  [[nodiscard]] static server_response text(int status, std::string body,
                                            std::string content_type = "text/plain; charset=utf-8") {
    server_response r;
    r.status = status;
    r.headers.emplace_back("Content-Type", std::move(content_type));
    r.body = std::move(body);
    return r;
  }
  [[nodiscard]] static server_response json(int status, std::string body) {
    return text(status, std::move(body), "application/json");
  }
  [[nodiscard]] std::optional<std::string_view> header(std::string_view name) const noexcept {
    return detail::find_header(headers, name);
  }
};

}  // namespace tributary
