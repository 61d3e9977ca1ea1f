// The execution context: the bounded work queue (backpressure, close, many producers and consumers),
// the thread pool (results, exceptions, drain and cancel), and the timer service, pumped under the
// manual clock in virtual time and driven by a thread on the wall clock. The concurrent tests are
// meant for ThreadSanitizer (scripts/test builds this file in its TSan run).

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <latch>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <tributary/clock/manual.hpp>
#include <tributary/clock/wall.hpp>
#include <tributary/execution/archetypes.hpp>
#include <tributary/execution/inline_executor.hpp>
#include <tributary/execution/thread_pool.hpp>
#include <tributary/execution/timers.hpp>
#include <tributary/execution/work_queue.hpp>

#include "support/common.hpp"

namespace tributary {
namespace {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;
using tributary::testing::thrown_by;

// --- concepts -----------------------------------------------------------------------------------

struct executor_lookalike {  // the right member, no tag
  bool execute(task) { return true; }
};
static_assert(executor<archetypes::executor>);
static_assert(executor<thread_pool>);
static_assert(executor<inline_executor>);
static_assert(!executor<executor_lookalike>, "a type without the executor tag must not be accepted");

/// Waits (really) until pred() holds or 10 s passed; the result of pred().
template <class Pred>
bool eventually(Pred pred) {
  const auto until = steady::now() + 10s;
  while (!pred()) {
    if (steady::now() > until) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

// --- bounded_work_queue ---------------------------------------------------------------------------

TEST(WorkQueue, IsFifoAndRefusesWhenFullWithoutTouchingTheItem) {
  bounded_work_queue<std::unique_ptr<int>> q(2);
  EXPECT_EQ(q.try_push(std::make_unique<int>(1)), push_status::pushed);
  EXPECT_EQ(q.try_push(std::make_unique<int>(2)), push_status::pushed);
  auto third = std::make_unique<int>(3);
  EXPECT_EQ(q.try_push(std::move(third)), push_status::full);
  ASSERT_TRUE(third) << "a refused item stays with the caller";
  const auto t0 = steady::now();
  EXPECT_EQ(q.try_push_for(std::move(third), 30ms), push_status::full);
  EXPECT_GE(steady::now() - t0, 30ms);
  ASSERT_TRUE(third);
  EXPECT_EQ(q.size(), 2u);
  EXPECT_EQ(**q.pop(), 1);
  EXPECT_EQ(q.try_push_for(std::move(third), 1s), push_status::pushed);
  EXPECT_FALSE(third);
  EXPECT_EQ(**q.pop(), 2);
  EXPECT_EQ(**q.try_pop(), 3);
  EXPECT_FALSE(q.try_pop());
  EXPECT_FALSE(q.pop_for(10ms));
  EXPECT_EQ(thrown_by([] { bounded_work_queue<int> none(0); }).code(), errc::invalid_config);
}

TEST(WorkQueue, CloseRefusesProducersAndConsumersDrainBeforeNullopt) {
  bounded_work_queue<int> q(4);
  ASSERT_TRUE(q.push(1));
  ASSERT_TRUE(q.push(2));
  q.close();
  int late = 3;
  EXPECT_FALSE(q.push(std::move(late)));
  EXPECT_EQ(q.try_push(4), push_status::closed);
  EXPECT_EQ(q.pop(), 1);
  EXPECT_EQ(q.pop(), 2);
  EXPECT_EQ(q.pop(), std::nullopt) << "closed and drained";
  EXPECT_EQ(q.pop_for(1h), std::nullopt) << "never waits once closed and drained";
}

TEST(WorkQueue, CloseWakesABlockedProducerAndABlockedConsumer) {
  bounded_work_queue<int> full(1);
  ASSERT_TRUE(full.push(0));
  bounded_work_queue<int> empty(1);
  std::atomic<int> woken{0};
  std::thread producer([&] {
    EXPECT_FALSE(full.push(1)) << "a producer waiting for room is refused by close()";
    ++woken;
  });
  std::thread consumer([&] {
    EXPECT_EQ(empty.pop(), std::nullopt);
    ++woken;
  });
  std::this_thread::sleep_for(20ms);  // both are (most likely) waiting now; the test holds either way
  EXPECT_EQ(woken.load(), 0);
  full.close();
  empty.close();
  producer.join();
  consumer.join();
  EXPECT_EQ(woken.load(), 2);
}

TEST(WorkQueue, ManyProducersAndConsumersDeliverEveryItemOnceWithinCapacity) {
  constexpr int producers = 4, consumers = 4, per_producer = 5000;
  constexpr std::size_t capacity = 8;
  bounded_work_queue<int> q(capacity);
  std::vector<std::atomic<int>> seen(producers * per_producer);
  std::atomic<std::size_t> peak{0};
  std::vector<std::thread> threads;
  for (int p = 0; p < producers; ++p)
    threads.emplace_back([&, p] {
      for (int i = 0; i < per_producer; ++i) {
        // Every third item goes through the timed variant, so both paths meet consumers.
        if (i % 3 == 0) {
          int item = p * per_producer + i;
          while (q.try_push_for(std::move(item), 1ms) != push_status::pushed) {}
        } else {
          ASSERT_TRUE(q.push(p * per_producer + i));
        }
        std::size_t now = q.size(), before = peak.load();
        while (now > before && !peak.compare_exchange_weak(before, now)) {}
      }
    });
  std::vector<std::thread> takers;
  for (int c = 0; c < consumers; ++c)
    takers.emplace_back([&] {
      while (auto item = q.pop()) seen[static_cast<std::size_t>(*item)].fetch_add(1);
    });
  for (auto& t : threads) t.join();
  q.close();
  for (auto& t : takers) t.join();
  for (std::size_t i = 0; i < seen.size(); ++i) ASSERT_EQ(seen[i].load(), 1) << "item " << i;
  EXPECT_LE(peak.load(), capacity);
}

TEST(WorkQueue, BatchesMoveInOrderWithinCapacityAndStopAtClose) {
  bounded_work_queue<std::unique_ptr<int>> q(3);
  std::vector<std::unique_ptr<int>> some;
  for (int i = 0; i < 2; ++i) some.push_back(std::make_unique<int>(i));
  EXPECT_EQ(q.push_range(some), 2u);
  std::vector<std::unique_ptr<int>> out;
  EXPECT_EQ(q.try_pop_up_to(out, 5), 2u);
  EXPECT_EQ(q.try_pop_up_to(out, 5), 0u) << "empty: nothing, at once";
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(*out[0], 0);
  EXPECT_EQ(*out[1], 1);

  // Eight items through a queue of three: the producer waits for room twice, the consumer takes at
  // most two at a time, and every item arrives once, in order.
  std::vector<std::unique_ptr<int>> many;
  for (int i = 0; i < 8; ++i) many.push_back(std::make_unique<int>(i));
  std::size_t pushed = 0;
  std::thread producer([&] { pushed = q.push_range(many); });
  std::vector<std::unique_ptr<int>> taken;
  while (taken.size() < 8) {
    const auto before = taken.size();
    const auto n = q.pop_up_to(taken, 2);
    EXPECT_GE(n, 1u);
    EXPECT_LE(n, 2u);
    EXPECT_EQ(taken.size(), before + n);
    EXPECT_LE(q.size(), q.capacity());
  }
  producer.join();
  EXPECT_EQ(pushed, 8u);
  for (int i = 0; i < 8; ++i) EXPECT_EQ(*taken[static_cast<std::size_t>(i)], i);

  // Closed while a producer waits for room: it stops there, and what it did not push is untouched.
  std::vector<std::unique_ptr<int>> more;
  for (int i = 0; i < 5; ++i) more.push_back(std::make_unique<int>(10 + i));
  std::size_t partly = 0;
  std::thread blocked([&] { partly = q.push_range(more); });
  while (q.size() < 3) std::this_thread::sleep_for(1ms);
  q.close();
  blocked.join();
  EXPECT_EQ(partly, 3u);
  ASSERT_TRUE(more[3] && more[4]);
  EXPECT_EQ(*more[3], 13);
  std::vector<std::unique_ptr<int>> rest;
  EXPECT_EQ(q.pop_up_to(rest, 10), 3u) << "consumers drain a closed queue";
  EXPECT_EQ(q.pop_up_to(rest, 10), 0u) << "then get nothing, without waiting";
  EXPECT_EQ(q.push_range(more), 0u);
}

// --- thread_pool ----------------------------------------------------------------------------------

TEST(ThreadPool, SubmitGivesTheResultOrTheException) {
  thread_pool pool(2, 8);
  auto answer = pool.submit([] { return 42; });
  auto failing = pool.submit([]() -> int { throw std::runtime_error("task failed"); });
  // Joined before the exception is read: the worker drops its share of the future's state after
  // setting it, and libstdc++'s exception reference count (not built for ThreadSanitizer) would
  // otherwise look to TSan like a race between that drop and the reading here.
  pool.shutdown();
  EXPECT_EQ(answer.get(), 42);
  try {
    (void)failing.get();
    FAIL() << "the task's exception must reach the future";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "task failed");
  }
  EXPECT_EQ(pool.failed(), 0u) << "a submitted task's exception belongs to its future";
}

TEST(ThreadPool, ExceptionsOfExecutedTasksAreKept) {
  thread_pool pool(2, 8);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(pool.execute([i] { throw std::runtime_error("lost? " + std::to_string(i)); }));
  pool.shutdown();
  EXPECT_EQ(pool.failed(), 3u);
  const auto kept = pool.take_exceptions();
  ASSERT_EQ(kept.size(), 3u);
  EXPECT_THROW(std::rethrow_exception(kept[0]), std::runtime_error);
  EXPECT_TRUE(pool.take_exceptions().empty()) << "taken once";
}

TEST(ThreadPool, DrainRunsEverythingQueuedAndRefusesLaterWork) {
  std::atomic<int> ran{0};
  thread_pool pool(2, 100);
  std::latch release(1);
  ASSERT_TRUE(pool.execute([&] { release.wait(); }));
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(pool.execute([&] { ++ran; }));
  release.count_down();
  pool.shutdown(shutdown_mode::drain);
  EXPECT_EQ(ran.load(), 50);
  EXPECT_FALSE(pool.execute([&] { ++ran; }));
  EXPECT_EQ(thrown_by([&] { (void)pool.submit([] { return 1; }); }).code(), errc::invalid_config);
  EXPECT_EQ(ran.load(), 50);
}

TEST(ThreadPool, CancelDropsWhatHasNotStartedAndTheirFuturesSaySo) {
  thread_pool pool(1, 100);
  std::latch started(1), release(1);
  auto running = pool.submit([&] {
    started.count_down();
    release.wait();
    return 1;
  });
  started.wait();
  std::vector<std::future<int>> queued;
  for (int i = 0; i < 10; ++i) queued.push_back(pool.submit([] { return 2; }));
  std::thread canceller([&] { pool.shutdown(shutdown_mode::cancel); });
  // shutdown waits for the running task; let it go once the queue is closed (probes accepted before
  // that are queued behind the others and cancelled too).
  std::size_t probes = 0;
  ASSERT_TRUE(eventually([&] { return !pool.execute([] {}) || (++probes, false); }));
  release.count_down();
  canceller.join();
  EXPECT_EQ(running.get(), 1) << "a running task always finishes";
  for (auto& f : queued) {
    try {
      (void)f.get();
      ADD_FAILURE() << "a cancelled task ran";
    } catch (const std::future_error& e) {
      EXPECT_EQ(e.code(), std::future_errc::broken_promise);
    }
  }
  EXPECT_EQ(pool.cancelled(), 10u + probes);
}

TEST(ThreadPool, AFullQueueIsBackpressure) {
  thread_pool pool(1, 2);
  std::latch release(1);
  std::atomic<bool> running{false};
  ASSERT_TRUE(pool.execute([&] {
    running = true;
    release.wait();
  }));
  ASSERT_TRUE(eventually([&] { return running.load(); }));
  ASSERT_TRUE(pool.execute([] {}));
  ASSERT_TRUE(pool.execute([] {}));
  task third([] {});
  EXPECT_EQ(pool.try_execute(third), push_status::full);
  EXPECT_TRUE(third) << "a refused task stays with the caller";
  std::atomic<bool> pushed{false};
  std::thread waiting([&] {
    EXPECT_TRUE(pool.execute([] {}));
    pushed = true;
  });
  std::this_thread::sleep_for(20ms);
  EXPECT_FALSE(pushed.load()) << "execute waits while the queue is full";
  release.count_down();
  waiting.join();
  EXPECT_TRUE(pushed.load());
}

TEST(ThreadPool, ManySubmittersManyWorkers) {
  thread_pool pool(4, 16);
  std::atomic<long> sum{0};
  std::vector<std::thread> submitters;
  for (int s = 0; s < 4; ++s)
    submitters.emplace_back([&] {
      for (int i = 1; i <= 1000; ++i) ASSERT_TRUE(pool.execute([&, i] { sum += i; }));
    });
  for (auto& t : submitters) t.join();
  pool.shutdown();
  EXPECT_EQ(sum.load(), 4L * 500500L);
  EXPECT_EQ(thrown_by([] { thread_pool none(0); }).code(), errc::invalid_config);
}

TEST(InlineExecutor, RunsOnTheCallerAndKeepsTheException) {
  inline_executor ex;
  const auto caller = std::this_thread::get_id();
  std::thread::id ran_on;
  EXPECT_TRUE(ex.execute([&] { ran_on = std::this_thread::get_id(); }));
  EXPECT_EQ(ran_on, caller);
  EXPECT_TRUE(ex.execute([] { throw std::runtime_error("kept"); }));
  EXPECT_TRUE(ex.take_exception());
  EXPECT_FALSE(ex.take_exception());
}

// --- timers in virtual time -----------------------------------------------------------------------

using virtual_timers = basic_timer_service<manual_clock>;

TEST(Timers, AOneShotRunsWhenDueAndNotBefore) {
  manual_clock clock;
  virtual_timers timers(clock);
  const auto t0 = clock.now();
  std::vector<std::chrono::system_clock::time_point> ran_at;
  timers.schedule_after(30s, [&] { ran_at.push_back(clock.now()); });
  timers.schedule_at(t0 + 10s, [&] { ran_at.push_back(clock.now()); });
  EXPECT_EQ(timers.run_due(), 0u);
  clock.advance(9s);
  EXPECT_EQ(timers.run_due(), 0u);
  EXPECT_EQ(timers.next_due(), t0 + 10s);
  EXPECT_EQ(timers.run_until(t0 + 1min), 2u);
  EXPECT_EQ(ran_at, (std::vector{t0 + 10s, t0 + 30s})) << "each ran at its own due time";
  EXPECT_EQ(clock.now(), t0 + 1min);
  EXPECT_EQ(timers.pending(), 0u);
  EXPECT_EQ(timers.next_due(), std::nullopt);
}

TEST(Timers, AnHourOfPeriodicTicksRunsInVirtualTimeWithoutWaiting) {
  manual_clock clock;
  virtual_timers timers(clock);
  const auto t0 = clock.now();
  int every_second = 0, every_ten_minutes = 0;
  timers.schedule_every(1s, [&] { ++every_second; });
  timers.schedule_every(10min, [&] { ++every_ten_minutes; });
  const auto real0 = steady::now();
  EXPECT_EQ(timers.run_until(t0 + 1h), 3600u + 6u);
  EXPECT_LT(steady::now() - real0, 5s) << "virtual time: nothing really waits";
  EXPECT_EQ(every_second, 3600);
  EXPECT_EQ(every_ten_minutes, 6);
  EXPECT_EQ(timers.pending(), 2u) << "periodic timers live on";
  const auto sleeps = clock.sleeps();
  ASSERT_FALSE(sleeps.empty());
  EXPECT_EQ(sleeps.front(), t0 + 1s) << "the pump sleeps the clock to each due time";
  EXPECT_EQ(sleeps.back(), t0 + 1h);
}

TEST(Timers, ALatePeriodicTimerSkipsMissedTicksInsteadOfBursting) {
  manual_clock clock;
  virtual_timers timers(clock);
  const auto t0 = clock.now();
  int ticks = 0;
  timers.schedule_every(10s, [&] { ++ticks; });
  clock.advance(35s);  // ticks at 10, 20 and 30 s are due
  EXPECT_EQ(timers.run_due(), 1u);
  EXPECT_EQ(ticks, 1);
  EXPECT_EQ(timers.next_due(), t0 + 40s) << "back on the grid first + k * interval";
}

TEST(Timers, CancelStopsFutureRunsAlsoFromInsideTheTask) {
  manual_clock clock;
  virtual_timers timers(clock);
  int one_shot = 0, periodic = 0;
  const timer_id cancelled = timers.schedule_after(5s, [&] { ++one_shot; });
  timer_id self{};
  self = timers.schedule_every(1s, [&] {
    if (++periodic == 3) {
      EXPECT_TRUE(timers.cancel(self)) << "a running periodic timer cancels itself";
    }
  });
  timer_id running_one_shot{};
  bool cancelled_while_running = true;
  running_one_shot = timers.schedule_after(2s, [&] { cancelled_while_running = timers.cancel(running_one_shot); });
  EXPECT_TRUE(timers.cancel(cancelled));
  EXPECT_FALSE(timers.cancel(cancelled)) << "already cancelled";
  EXPECT_FALSE(timers.cancel(timer_id{12345})) << "never existed";
  timers.run_for(1min);
  EXPECT_EQ(one_shot, 0);
  EXPECT_EQ(periodic, 3);
  EXPECT_FALSE(cancelled_while_running) << "a one-shot that is running has no future run to stop";
  EXPECT_EQ(timers.pending(), 0u);
  EXPECT_THROW(timers.schedule_every(0s, [] {}), error);
}

TEST(Timers, ATaskMayScheduleMoreAndTheyRunInTheSamePump) {
  manual_clock clock;
  virtual_timers timers(clock);
  const auto t0 = clock.now();
  std::vector<int> order;
  timers.schedule_after(1s, [&] {
    order.push_back(1);
    timers.schedule_after(0s, [&] { order.push_back(2); });  // due at once: runs in the next pass
    timers.schedule_after(2s, [&] { order.push_back(3); });
  });
  timers.schedule_at(t0 + 1s, [&] { order.push_back(10); });  // same due time: scheduling order
  EXPECT_EQ(timers.run_until(t0 + 10s), 4u);
  EXPECT_EQ(order, (std::vector{1, 10, 2, 3}));
}

TEST(Timers, AnExceptionReachesTheDriverAndThePeriodicTimerStays) {
  manual_clock clock;
  virtual_timers timers(clock);
  int runs = 0;
  timers.schedule_every(1s, [&] {
    if (++runs == 2) throw std::runtime_error("tick failed");
  });
  EXPECT_THROW(timers.run_for(5s), std::runtime_error);
  EXPECT_EQ(runs, 2);
  EXPECT_EQ(timers.pending(), 1u);
  timers.run_for(3s);
  EXPECT_GE(runs, 4);
}

// --- timers driven by a thread --------------------------------------------------------------------

TEST(Timers, TheThreadWakesForAnEarlierTimerOnTheWallClock) {
  wall_clock clock;
  timer_service timers(clock);
  std::atomic<bool> early{false}, late{false};
  std::jthread driver([&](std::stop_token stop) { timers.run(stop); });
  timers.schedule_after(1h, [&] { late = true; });  // the thread now waits an hour...
  std::this_thread::sleep_for(10ms);
  const auto t0 = steady::now();
  timers.schedule_after(20ms, [&] { early = true; });  // ...and must wake for this one
  ASSERT_TRUE(eventually([&] { return early.load(); }));
  const auto took = steady::now() - t0;
  EXPECT_GE(took, 15ms);  // the system clock's resolution allows a little slack
  EXPECT_LT(took, 5s);
  EXPECT_FALSE(late.load());
  driver.request_stop();
  driver.join();  // stop ends the hour-long wait at once
}

TEST(Timers, TheThreadFollowsAManualClockWhenNotified) {
  manual_clock clock;
  virtual_timers timers(clock);
  std::atomic<int> ran{0};
  std::jthread driver([&](std::stop_token stop) { timers.run(stop); });
  timers.schedule_after(10min, [&] { ++ran; });
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(ran.load(), 0);
  clock.advance(10min);
  timers.notify();
  ASSERT_TRUE(eventually([&] { return ran.load() == 1; }));
}

TEST(Timers, SchedulingAndCancellingFromManyThreadsWhileTheDriverRuns) {
  wall_clock clock;
  timer_service timers(clock);
  std::atomic<int> ran{0};
  std::jthread driver([&](std::stop_token stop) { timers.run(stop); });
  constexpr int threads = 4, per_thread = 200;
  std::atomic<int> cancelled{0};
  std::vector<std::thread> schedulers;
  for (int t = 0; t < threads; ++t)
    schedulers.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        const auto id = timers.schedule_after(std::chrono::microseconds((i * 37 + t) % 500), [&] { ++ran; });
        if (i % 4 == 0 && timers.cancel(id)) ++cancelled;
      }
    });
  for (auto& s : schedulers) s.join();
  ASSERT_TRUE(eventually([&] { return timers.pending() == 0; }));
  EXPECT_EQ(ran.load() + cancelled.load(), threads * per_thread) << "each timer either ran once or was cancelled";
}

}  // namespace
}  // namespace tributary
