#pragma once
// The collector API's rate limit: a token bucket per API key (sync/server.hpp answers 429 with
// Retry-After when a key's bucket is empty). Per server process: servers sharing a store each allow a
// key its rate.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace tributary::detail {

/// One token bucket per key, on the caller's clock. Buckets exist only for authenticated keys, so
/// their number is bounded by the key store.
class token_buckets {
 public:
  using time_point = std::chrono::system_clock::time_point;

  /// Takes a token for `key` at `now`; when there is none, the whole seconds until there will be
  /// (at least 1, for Retry-After).
  std::optional<std::chrono::seconds> take(const std::string& key, time_point now, double rate, double burst) {
    std::lock_guard lock(mu_);
    auto [it, fresh] = buckets_.try_emplace(key, bucket{burst, now});
    bucket& b = it->second;
    if (!fresh && now > b.last) {
      const double elapsed = std::chrono::duration<double>(now - b.last).count();
      b.tokens = std::min(burst, b.tokens + elapsed * rate);
    }
    if (now > b.last) b.last = now;  // a clock that steps back never refills twice
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return std::nullopt;
    }
    const double wait = std::ceil((1 - b.tokens) / rate);
    return std::chrono::seconds(std::max<long long>(1, static_cast<long long>(wait)));
  }

 private:
  struct bucket {
    double tokens;
    time_point last;
  };
  std::mutex mu_;
  std::unordered_map<std::string, bucket> buckets_;
};

}  // namespace tributary::detail
