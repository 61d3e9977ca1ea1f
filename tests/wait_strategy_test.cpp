// Wait strategies, driven directly in virtual time: the cadence of looks, the one shared deadline,
// late callers, and the seeded jitter of exponential_backoff.

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <vector>

#include <tributary/clock/manual.hpp>
#include <tributary/collector/wait/exponential_backoff.hpp>
#include <tributary/collector/wait/fixed_interval.hpp>
#include <tributary/collector/wait/no_wait.hpp>

namespace tributary {
namespace {

using namespace std::chrono_literals;
using time_point = std::chrono::system_clock::time_point;
using std::chrono::milliseconds;

/// Looks as the collector does: ask for the next look at the clock's now, sleep until it, repeat until
/// the strategy says stop. Returns every wake-up the clock recorded.
template <class Schedule>
std::vector<time_point> drive(Schedule& schedule, manual_clock& clock, std::size_t limit = 100000) {
  while (limit-- > 0) {
    const auto next = schedule.next(clock.now());
    if (!next) break;
    clock.sleep_until(*next);
  }
  return clock.sleeps();
}

// ---- fixed_interval ---------------------------------------------------------------------------------

TEST(FixedInterval, LooksEveryFiveSecondsUntilTheThreeMinuteDeadline) {
  manual_clock clock;
  const auto t0 = clock.now();
  auto schedule = fixed_interval{}.start(t0);
  const auto sleeps = drive(schedule, clock);
  ASSERT_EQ(sleeps.size(), 36u);  // 5, 10, ..., 180 s
  for (std::size_t i = 0; i < sleeps.size(); ++i) EXPECT_EQ(sleeps[i] - t0, 5s * static_cast<int>(i + 1)) << i;
  EXPECT_EQ(sleeps.back(), t0 + 3min);  // the last look is exactly at the deadline
  EXPECT_EQ(clock.now(), t0 + 3min);
  EXPECT_EQ(schedule.next(clock.now()), std::nullopt);
  EXPECT_EQ(schedule.next(t0 + 3min + 1ms), std::nullopt);
  EXPECT_EQ(schedule.next(t0 + 24h), std::nullopt);
}

TEST(FixedInterval, LastLookIsClampedToTheDeadline) {
  manual_clock clock;
  const auto t0 = clock.now();
  auto schedule = fixed_interval{7s, 30s}.start(t0);
  const auto sleeps = drive(schedule, clock);
  const std::vector<time_point> expected = {t0 + 7s, t0 + 14s, t0 + 21s, t0 + 28s, t0 + 30s};
  EXPECT_EQ(sleeps, expected);
}

TEST(FixedInterval, TheDeadlineIsFixedAtStartAndShared) {
  const auto t0 = manual_clock{}.now();
  const auto schedule = fixed_interval{}.start(t0);
  // Asking again and again does not move the deadline: it was fixed when waiting began.
  for (int i = 0; i < 100; ++i) EXPECT_EQ(schedule.next(t0 + 179s), t0 + 180s);
  EXPECT_EQ(schedule.next(t0 + 180s), std::nullopt);
  // Two peers looked at from one schedule share that deadline.
  auto copy = schedule;
  EXPECT_EQ(copy.next(t0 + 178s), t0 + 180s);
  EXPECT_EQ(copy.next(t0 + 180s), std::nullopt);
}

TEST(FixedInterval, ALateLookNeverSchedulesInThePast) {
  manual_clock clock;
  const auto t0 = clock.now();
  auto schedule = fixed_interval{}.start(t0);
  clock.sleep_until(*schedule.next(clock.now()));  // 5 s
  clock.advance(23s);                              // a slow look: several intervals pass
  const auto now = clock.now();
  const auto next = schedule.next(now);
  ASSERT_TRUE(next);
  EXPECT_GT(*next, now);
  EXPECT_LE(*next - now, 5s);
  // Just before the deadline, the next look is the deadline itself, not a time already past.
  clock.advance(t0 + 180s - 1ms - clock.now());
  const auto last = schedule.next(clock.now());
  ASSERT_TRUE(last);
  EXPECT_EQ(*last, t0 + 180s);
  EXPECT_GT(*last, clock.now());
  // Jumped past the deadline: stop, rather than schedule a look in the past.
  clock.advance(1h);
  EXPECT_EQ(schedule.next(clock.now()), std::nullopt);
}

// ---- exponential_backoff ----------------------------------------------------------------------------

struct look {
  time_point at;         // when next() was asked
  time_point next;       // what it answered
  milliseconds ceiling;  // the schedule's ceiling just before answering
};

std::vector<look> backoff_looks(const exponential_backoff& strategy, manual_clock& clock) {
  auto schedule = strategy.start(clock.now());
  std::vector<look> out;
  while (true) {
    const auto ceiling = schedule.ceiling();
    const auto now = clock.now();
    const auto next = schedule.next(now);
    if (!next) break;
    out.push_back({now, *next, ceiling});
    clock.sleep_until(*next);
  }
  return out;
}

TEST(ExponentialBackoff, EachDelayIsWithinOneMillisecondAndTheCeiling) {
  for (std::uint64_t seed = 1; seed <= 50; ++seed) {
    manual_clock clock;
    const auto t0 = clock.now();
    const exponential_backoff strategy{1s, 30s, 3min, seed};
    const auto looks = backoff_looks(strategy, clock);
    ASSERT_FALSE(looks.empty());
    for (std::size_t i = 0; i < looks.size(); ++i) {
      const auto& l = looks[i];
      const auto expected_ceiling = std::min<milliseconds>(30s, 1s * (std::int64_t{1} << std::min<std::size_t>(i, 20)));
      EXPECT_EQ(l.ceiling, expected_ceiling) << "seed " << seed << ", attempt " << i;
      const auto delay = l.next - l.at;
      EXPECT_LE(delay, l.ceiling) << "seed " << seed << ", attempt " << i;
      EXPECT_LE(l.next, t0 + 3min) << "seed " << seed;
      // At least a millisecond, unless the deadline itself is closer.
      if (l.next != t0 + 3min) {
        EXPECT_GE(delay, 1ms) << "seed " << seed << ", attempt " << i;
      }
      EXPECT_GT(l.next, l.at);
    }
    EXPECT_EQ(looks.back().next, t0 + 3min) << "seed " << seed;  // the last look is at the deadline
    EXPECT_EQ(clock.now(), t0 + 3min);
  }
}

TEST(ExponentialBackoff, CeilingGrowsThenCaps) {
  manual_clock clock;
  // A deadline far away, so that the schedule runs for many attempts.
  const exponential_backoff strategy{100ms, 5s, 24h, 42};
  auto schedule = strategy.start(clock.now());
  std::vector<milliseconds> ceilings;
  for (int i = 0; i < 200; ++i) {
    ceilings.push_back(schedule.ceiling());
    const auto next = schedule.next(clock.now());
    ASSERT_TRUE(next);
    clock.sleep_until(*next);
  }
  const std::vector<milliseconds> growth = {100ms, 200ms, 400ms, 800ms, 1600ms, 3200ms, 5s, 5s};
  EXPECT_EQ(std::vector<milliseconds>(ceilings.begin(), ceilings.begin() + 8), growth);
  // After many attempts (past any shift width) it stays at the cap: no overflow, no wrap to zero.
  for (std::size_t i = 6; i < ceilings.size(); ++i) EXPECT_EQ(ceilings[i], 5s) << i;
}

TEST(ExponentialBackoff, BaseAboveCapIsCapped) {
  manual_clock clock;
  auto schedule = exponential_backoff{10s, 2s, 1h, 1}.start(clock.now());
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(schedule.ceiling(), 2s);
    const auto now = clock.now();
    const auto next = schedule.next(now);
    ASSERT_TRUE(next);
    EXPECT_LE(*next - now, 2s);
    clock.sleep_until(*next);
  }
}

TEST(ExponentialBackoff, NeverBeyondTheDeadline) {
  manual_clock clock;
  const auto t0 = clock.now();
  auto schedule = exponential_backoff{1s, 30s, 10s, 3}.start(t0);
  clock.advance(9999ms);
  const auto next = schedule.next(clock.now());
  ASSERT_TRUE(next);
  EXPECT_EQ(*next, t0 + 10s);
  clock.sleep_until(*next);
  EXPECT_EQ(schedule.next(clock.now()), std::nullopt);
  EXPECT_EQ(schedule.next(t0 + 1h), std::nullopt);
}

TEST(ExponentialBackoff, ALateLookNeverSchedulesInThePast) {
  manual_clock clock;
  const auto t0 = clock.now();
  auto schedule = exponential_backoff{1s, 30s, 3min, 9}.start(t0);
  for (int i = 0; i < 5; ++i) {
    clock.advance(17s);  // each look is late by far more than its delay
    const auto now = clock.now();
    const auto next = schedule.next(now);
    ASSERT_TRUE(next);
    EXPECT_GT(*next, now);
    EXPECT_LE(*next, t0 + 3min);
  }
  clock.advance(3min);
  EXPECT_EQ(schedule.next(clock.now()), std::nullopt);
}

TEST(ExponentialBackoff, SameSeedSameSequenceDifferentSeedsDiffer) {
  auto sequence = [](std::uint64_t seed) {
    manual_clock clock;
    std::vector<time_point> nexts;
    for (const auto& l : backoff_looks(exponential_backoff{1s, 30s, 3min, seed}, clock)) nexts.push_back(l.next);
    return nexts;
  };
  EXPECT_EQ(sequence(1234), sequence(1234));
  EXPECT_EQ(sequence(exponential_backoff{}.seed), sequence(exponential_backoff{}.seed));
  EXPECT_NE(sequence(1234), sequence(1235));
  EXPECT_NE(sequence(1), sequence(2));
  // Starting twice from one strategy object gives two independent, identical schedules.
  const exponential_backoff strategy{1s, 30s, 3min, 77};
  const auto t0 = manual_clock{}.now();
  auto a = strategy.start(t0), b = strategy.start(t0);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(a.next(t0), b.next(t0));
}

TEST(ExponentialBackoff, JitterCoversTheWholeRange) {
  // For each attempt, over many seeds: delays land in both halves of [0, ceiling], and their mean is
  // near the middle (full jitter is uniform).
  constexpr int attempts = 6;  // ceilings 1, 2, 4, 8, 16, 30 s
  constexpr std::uint64_t seeds = 400;
  std::array<int, attempts> low{}, high{};
  std::array<double, attempts> sum{};
  std::array<milliseconds, attempts> ceilings{};
  for (std::uint64_t seed = 0; seed < seeds; ++seed) {
    manual_clock clock;
    auto schedule = exponential_backoff{1s, 30s, 1h, seed}.start(clock.now());
    for (std::size_t i = 0; i < attempts; ++i) {
      ceilings[i] = schedule.ceiling();
      const auto now = clock.now();
      const auto delay = std::chrono::duration_cast<milliseconds>(*schedule.next(now) - now);
      (delay * 2 < ceilings[i] ? low : high)[i]++;
      sum[i] += static_cast<double>(delay.count()) / static_cast<double>(ceilings[i].count());
      clock.sleep_until(now + delay);
    }
  }
  for (std::size_t i = 0; i < attempts; ++i) {
    EXPECT_GT(low[i], 0) << "attempt " << i;
    EXPECT_GT(high[i], 0) << "attempt " << i;
    // 400 uniform draws: the share in each half is 0.5 +- 0.025 (1 sigma); allow 0.35..0.65.
    EXPECT_GT(low[i], seeds * 35 / 100) << "attempt " << i;
    EXPECT_GT(high[i], seeds * 35 / 100) << "attempt " << i;
    const double mean = sum[i] / seeds;
    EXPECT_GT(mean, 0.4) << "attempt " << i;
    EXPECT_LT(mean, 0.6) << "attempt " << i;
  }
  EXPECT_EQ(ceilings[attempts - 1], 30s);
}

// ---- no_wait ----------------------------------------------------------------------------------------

TEST(NoWait, NeverSchedules) {
  manual_clock clock;
  auto schedule = no_wait{}.start(clock.now());
  EXPECT_EQ(schedule.next(clock.now()), std::nullopt);
  EXPECT_EQ(schedule.next(clock.now() - 1h), std::nullopt);
  EXPECT_EQ(schedule.next(time_point{}), std::nullopt);
  EXPECT_TRUE(drive(schedule, clock).empty());
}

}  // namespace
}  // namespace tributary
