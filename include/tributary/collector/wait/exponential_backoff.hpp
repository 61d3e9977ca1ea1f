#pragma once
// exponential_backoff: look again after a delay drawn uniformly from [0, min(cap, base * 2^attempt)]
// ("full jitter"), never past one shared deadline. Seeded, so a run can be replayed.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>

#include <tributary/collector/concepts.hpp>
#include <tributary/retry.hpp>

namespace tributary {

struct exponential_backoff {
  using wait_strategy_concept = wait_strategy_tag;
  using bounded_wait_concept = bounded_wait_tag;
  using time_point = std::chrono::system_clock::time_point;

  std::chrono::milliseconds base = std::chrono::seconds(1);
  std::chrono::milliseconds cap = std::chrono::seconds(30);
  std::chrono::milliseconds deadline = std::chrono::minutes(3);
  /// The longest wait (bounded_wait_strategy).
  [[nodiscard]] std::chrono::milliseconds max_wait() const noexcept { return deadline; }
  std::uint64_t seed = 0x7269627574617279;  // "ributary"

  class schedule {
   public:
    schedule(time_point deadline, std::chrono::milliseconds base, std::chrono::milliseconds cap, std::uint64_t seed)
        : deadline_(deadline), backoff_(base, cap, seed) {}

    /// The ceiling of the delay before the next look: min(cap, base * 2^attempt).
    [[nodiscard]] std::chrono::milliseconds ceiling() const { return backoff_.ceiling(attempt_ + 1); }

    [[nodiscard]] std::optional<time_point> next(time_point now) {
      if (now >= deadline_) return std::nullopt;
      ++attempt_;
      // A zero delay would spin: look again no sooner than one millisecond later.
      const auto delay = std::max(std::chrono::milliseconds(1), backoff_.delay(attempt_));
      return std::min<time_point>(now + delay, deadline_);
    }

   private:
    time_point deadline_;
    tributary::backoff backoff_;
    unsigned attempt_ = 0;
  };

  [[nodiscard]] schedule start(time_point now) const { return {now + deadline, base, cap, seed}; }
};

}  // namespace tributary
