#pragma once
// backoff: the one computation of how long to wait before trying again: capped exponential growth with
// full jitter (a uniform draw from [0, min(cap, base * 2^(retry-1))]), or what the server asked for in
// Retry-After, bounded. Every layer that waits before a retry draws from one of these.
//
// Who retries what, so that one failing request or batch causes a bounded number of requests:
//   - the transport (curl_transport) retries a request that got no answer (connection refused, reset,
//     timed out) and, unless the request says retry_on_status = false, one answered 429 or 5xx: at most
//     curl_options::max_attempts requests per call;
//   - a store that sends batches (elasticsearch_index) retries the items of a bulk request the server
//     reported retryable (429 per item), at most bulk_max_attempts requests per chunk, and sends its
//     bulk requests with retry_on_status = false so that the transport does not multiply them;
//   - the collector writes again only what a store still reports retryable after its own retries, and
//     only collector_config::bulk_retries times (0 by default).
// So one bulk batch under sustained 429s costs bulk_max_attempts * (1 + bulk_retries) requests.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <random>

namespace tributary {

class backoff {
 public:
  /// `base` the ceiling of the first retry's draw, doubling up to `cap`; a Retry-After longer than
  /// `max_retry_after` waits `max_retry_after`. Seeded, so a run can be replayed.
  backoff(std::chrono::milliseconds base, std::chrono::milliseconds cap, std::uint64_t seed,
          std::chrono::milliseconds max_retry_after = std::chrono::seconds(60))
      : base_(base), cap_(cap), max_retry_after_(max_retry_after), rng_(seed) {}

  /// The ceiling of the draw before retry `retry` (1 for the first retry; 0 counts as 1):
  /// min(cap, base * 2^(retry-1)), without overflow.
  [[nodiscard]] std::chrono::milliseconds ceiling(unsigned retry) const noexcept {
    const auto base = base_.count(), cap = cap_.count();
    if (base <= 0) return std::chrono::milliseconds(0);
    const unsigned shift = std::min<unsigned>(retry == 0 ? 0 : retry - 1, 40);
    const auto grown = base > (cap >> shift) ? cap : base << shift;
    return std::chrono::milliseconds(std::min<std::int64_t>(grown, cap));
  }

  /// The wait before retry `retry`: the server's Retry-After when it gave a positive one (bounded by
  /// max_retry_after), a draw from [0, ceiling(retry)] otherwise. Not thread-safe: one per owner, or
  /// under the owner's lock.
  [[nodiscard]] std::chrono::milliseconds delay(unsigned retry,
                                                std::optional<std::chrono::milliseconds> retry_after = std::nullopt) {
    if (retry_after && *retry_after > std::chrono::milliseconds::zero())
      return std::min(*retry_after, max_retry_after_);
    return std::chrono::milliseconds(std::uniform_int_distribution<std::int64_t>(0, ceiling(retry).count())(rng_));
  }

 private:
  std::chrono::milliseconds base_, cap_, max_retry_after_;
  std::mt19937_64 rng_;
};

}  // namespace tributary
