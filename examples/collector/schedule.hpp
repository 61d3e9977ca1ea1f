#pragma once
// --every: durations as a user writes them, and the wait between two runs, which a signal cuts short.

#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <thread>

namespace tributary::examples {

/// A duration such as `1h`, `30m`, `90s`, `500ms` or `1h30m`; nullopt unless the whole text is one.
[[nodiscard]] inline std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::chrono::milliseconds total{0};
  while (!text.empty()) {
    std::int64_t n = 0;
    std::size_t digits = 0;
    while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) {
      if (n > 1'000'000'000) return std::nullopt;  // beyond any sensible schedule, and no overflow below
      n = n * 10 + (text[digits] - '0');
      ++digits;
    }
    if (digits == 0) return std::nullopt;
    text.remove_prefix(digits);
    std::int64_t unit_ms = 0;
    if (text.starts_with("ms")) unit_ms = 1, text.remove_prefix(2);
    else if (text.starts_with("h")) unit_ms = 3'600'000, text.remove_prefix(1);
    else if (text.starts_with("m")) unit_ms = 60'000, text.remove_prefix(1);
    else if (text.starts_with("s")) unit_ms = 1'000, text.remove_prefix(1);
    else return std::nullopt;
    total += std::chrono::milliseconds(n * unit_ms);
  }
  return total;
}

/// When the next run starts: `every` after the previous one started, plus a uniform draw from
/// [0, jitter], so that the environments do not reach their stores in lockstep. A run that took longer
/// than `every` is followed at once (runs never overlap: the next starts after the previous ended).
class run_schedule {
 public:
  run_schedule(std::chrono::milliseconds every, std::chrono::milliseconds jitter, std::uint64_t seed)
      : every_(every), jitter_(jitter), rng_(seed) {}

  [[nodiscard]] std::chrono::steady_clock::time_point next_after(std::chrono::steady_clock::time_point started) {
    const auto draw = std::uniform_int_distribution<std::int64_t>(0, jitter_.count())(rng_);
    return started + every_ + std::chrono::milliseconds(draw);
  }

 private:
  std::chrono::milliseconds every_, jitter_;
  std::mt19937_64 rng_;
};

/// Waits until `t` or until `stop` reads true (looked at every 100 ms); true when it was stopped.
inline bool wait_until_or_stopped(std::chrono::steady_clock::time_point t, const std::atomic<bool>& stop) {
  while (!stop.load()) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= t) return false;
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(t - now, std::chrono::milliseconds(100)));
  }
  return true;
}

}  // namespace tributary::examples
