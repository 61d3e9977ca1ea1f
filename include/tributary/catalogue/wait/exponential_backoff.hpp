#pragma once
// exponential_backoff: look again after a delay drawn uniformly from [0, min(cap, base * 2^attempt)]
// ("full jitter"), never past one shared deadline. Seeded, so a run can be replayed.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <random>

#include <tributary/catalogue/concepts.hpp>

namespace tributary {

struct exponential_backoff {
  using wait_strategy_concept = wait_strategy_tag;
  using bounded_wait_concept = bounded_wait_tag;
  using time_point = std::chrono::system_clock::time_point;

  std::chrono::milliseconds base = std::chrono::seconds(1);
  std::chrono::milliseconds cap = std::chrono::seconds(30);
  std::chrono::milliseconds deadline = std::chrono::minutes(3);
  std::uint64_t seed = 0x7269627574617279;  // "ributary"

  class schedule {
   public:
    schedule(time_point deadline, std::chrono::milliseconds base, std::chrono::milliseconds cap, std::uint64_t seed)
        : deadline_(deadline), base_(base), cap_(cap), rng_(seed) {}

    /// The ceiling of the delay before the next look: min(cap, base * 2^attempt).
    [[nodiscard]] std::chrono::milliseconds ceiling() const {
      const auto shift = std::min<unsigned>(attempt_, 40);
      const auto grown = base_.count() > (cap_.count() >> shift) ? cap_.count() : base_.count() << shift;
      return std::chrono::milliseconds(std::min<std::int64_t>(grown, cap_.count()));
    }

    [[nodiscard]] std::optional<time_point> next(time_point now) {
      if (now >= deadline_) return std::nullopt;
      const auto ceil = ceiling();
      ++attempt_;
      std::uniform_int_distribution<std::int64_t> jitter(0, ceil.count());
      // A zero delay would spin: look again no sooner than one millisecond later.
      const auto delay = std::chrono::milliseconds(std::max<std::int64_t>(1, jitter(rng_)));
      return std::min<time_point>(now + delay, deadline_);
    }

   private:
    time_point deadline_;
    std::chrono::milliseconds base_, cap_;
    std::mt19937_64 rng_;
    unsigned attempt_ = 0;
  };

  [[nodiscard]] schedule start(time_point now) const { return {now + deadline, base, cap, seed}; }
};

}  // namespace tributary
