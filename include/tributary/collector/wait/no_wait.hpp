#pragma once
// no_wait: never wait; peers still running at the first look are treated as at the deadline.

#include <chrono>
#include <optional>

#include <tributary/collector/concepts.hpp>

namespace tributary {

struct no_wait {
  using wait_strategy_concept = wait_strategy_tag;
  using time_point = std::chrono::system_clock::time_point;
  struct schedule {
    [[nodiscard]] std::optional<time_point> next(time_point) const { return std::nullopt; }
  };
  [[nodiscard]] schedule start(time_point) const { return {}; }
};

}  // namespace tributary
