#pragma once
// wall_clock: the real clock, for production runs.

#include <chrono>
#include <thread>

#include <tributary/concepts.hpp>

namespace tributary {

struct wall_clock {
  using clock_concept = clock_tag;
  [[nodiscard]] std::chrono::system_clock::time_point now() const { return std::chrono::system_clock::now(); }
  void sleep_until(std::chrono::system_clock::time_point t) const { std::this_thread::sleep_until(t); }
};

}  // namespace tributary
