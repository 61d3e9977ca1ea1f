#pragma once
// fixed_interval: the seed's wait — look at peers every `interval` (5 s) until one shared deadline
// (3 minutes after waiting began) for all of them.

#include <algorithm>
#include <chrono>
#include <optional>

#include <tributary/collector/concepts.hpp>

namespace tributary {

struct fixed_interval {
  using wait_strategy_concept = wait_strategy_tag;
  using bounded_wait_concept = bounded_wait_tag;
  using time_point = std::chrono::system_clock::time_point;

  std::chrono::milliseconds interval = std::chrono::seconds(5);
  std::chrono::milliseconds deadline = std::chrono::minutes(3);
  /// The longest wait (bounded_wait_strategy).
  [[nodiscard]] std::chrono::milliseconds max_wait() const noexcept { return deadline; }

  struct schedule {
    time_point deadline;
    std::chrono::milliseconds interval;
    /// The next look: one interval on, clamped to the deadline; nullopt once the deadline has passed.
    [[nodiscard]] std::optional<time_point> next(time_point now) const {
      if (now >= deadline) return std::nullopt;
      return std::min<time_point>(now + interval, deadline);
    }
  };

  [[nodiscard]] schedule start(time_point now) const { return {now + deadline, interval}; }
};

}  // namespace tributary
