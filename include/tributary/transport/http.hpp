#pragma once
// The vocabulary of transports: HTTP requests and responses, independent of how they travel.

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tributary {

using http_headers = std::vector<std::pair<std::string, std::string>>;

struct http_request {
  std::string method = "GET";
  std::string url;
  http_headers headers;
  std::string body;
  /// Idempotent requests may be retried by the transport; others never are.
  bool idempotent = true;
  /// false: the caller retries 429 and 5xx answers itself (it sees what a status means for its
  /// request, e.g. which bulk items to send again), so the transport hands them back at once and
  /// retries only failures to connect or to receive an answer. One owner per retry keeps the number
  /// of requests one failing operation causes bounded by one layer's limit, not a product of them.
  bool retry_on_status = true;
};

struct http_response {
  int status = 0;  ///< 0 when no response was received (see `error`)
  http_headers headers;
  std::string body;
  std::string error;  ///< transport-level failure (connection refused, timeout, TLS), empty on success
  std::chrono::milliseconds elapsed{0};
  /// The HTTP version the answer came in ("HTTP/1.1", "HTTP/2"), when the transport knows it.
  std::string protocol;

  [[nodiscard]] bool ok() const noexcept { return error.empty() && status >= 200 && status < 300; }
  /// Case-insensitive header lookup; empty when absent.
  [[nodiscard]] std::string_view header(std::string_view name) const noexcept {
    for (const auto& [k, v] : headers) {
      if (k.size() != name.size()) continue;
      bool same = true;
      for (std::size_t i = 0; i < k.size() && same; ++i) {
        auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; };
        same = lower(k[i]) == lower(name[i]);
      }
      if (same) return v;
    }
    return {};
  }
};

}  // namespace tributary
