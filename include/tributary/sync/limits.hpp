#pragma once
// sync_limits: what one request to the collector API may ask. The server enforces them and publishes
// them at GET /api/v1/collector/limits; the client reads them there and sizes its batches to them.

#include <cmath>
#include <cstddef>
#include <string>

#include <tributary/error.hpp>

namespace tributary {

/// What one request may ask, published at GET /api/v1/collector/limits.
struct sync_limits {
  std::size_t max_hashes_per_request = 10'000;
  std::size_t max_items_per_request = 1'000;
  /// Larger bodies are answered 413. Give basic_http_server the same (server_options::max_body_bytes)
  /// so that it refuses them from the head, before reading them.
  std::size_t max_body_bytes = std::size_t{8} << 20;
  double requests_per_second = 10;  ///< each key's token bucket refills at this rate
  double burst = 20;                ///< and holds at most this many tokens (one per request)
  /// Publications per GET /slu-update answer; SLU-More says when more follow.
  std::size_t max_updates_per_response = 1'000;
  /// Also accept PUT /hashes with Content-Type: application/octet-stream, the body being the raw
  /// 32-byte digests one after the other: 32 bytes a hash on the wire instead of 67 in JSON (published
  /// as "hash_encodings": ["hex", "binary"]; the answer is JSON either way).
  bool accept_binary_hashes = true;

  /// Throws error(errc::invalid_config) naming the first problem.
  void validate() const {
    auto fail = [](const std::string& what) { throw error(errc::invalid_config, "sync_limits: " + what); };
    if (max_hashes_per_request == 0) fail("max_hashes_per_request must be at least 1");
    if (max_items_per_request == 0) fail("max_items_per_request must be at least 1");
    if (max_body_bytes == 0) fail("max_body_bytes must be at least 1");
    if (max_updates_per_response == 0) fail("max_updates_per_response must be at least 1");
    if (!(requests_per_second > 0) || !std::isfinite(requests_per_second)) fail("requests_per_second must be positive");
    if (!(burst >= 1) || !std::isfinite(burst)) fail("burst must be at least 1");
  }
};

}  // namespace tributary
