#pragma once
// manual_clock: virtual time for tests. Sleeping moves time forward at once; nothing really waits.

#include <chrono>
#include <mutex>
#include <vector>

#include <tributary/concepts.hpp>

namespace tributary {

class manual_clock {
 public:
  using clock_concept = clock_tag;
  using time_point = std::chrono::system_clock::time_point;

  explicit manual_clock(time_point start = time_point{std::chrono::sys_days{std::chrono::year{2021} / 2 / 19}})
      : now_(start) {}

  [[nodiscard]] time_point now() const {
    std::lock_guard lock(mu_);
    return now_;
  }
  /// Records the requested wake-up and jumps to it (never backwards).
  void sleep_until(time_point t) {
    std::lock_guard lock(mu_);
    sleeps_.push_back(t);
    if (t > now_) now_ = t;
  }
  void advance(std::chrono::system_clock::duration d) {
    std::lock_guard lock(mu_);
    now_ += d;
  }
  /// Every time passed to sleep_until, in order: lets tests check a wait strategy's cadence.
  [[nodiscard]] std::vector<time_point> sleeps() const {
    std::lock_guard lock(mu_);
    return sleeps_;
  }

 private:
  mutable std::mutex mu_;
  time_point now_;
  std::vector<time_point> sleeps_;
};

}  // namespace tributary
