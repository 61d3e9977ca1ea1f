#pragma once
// basic_timer_service<Clock>: tasks scheduled at a time point, after a duration, or every interval,
// measured on the injected clock, and cancelled by id. Nothing runs by itself: the owner drives the
// service, in one of two ways.
//
// Pump (any clock; what tests use with manual_clock, where nothing really waits):
//   run_due()            runs every timer due at clock.now()
//   run_until(deadline)  clock.sleep_until() each next due time up to `deadline`, running timers as
//                        they come due, then sleeps the clock to `deadline`. Under manual_clock the
//                        clock just jumps, so ten virtual minutes of timers run in microseconds.
// Thread (for wall time, and for timers scheduled from other threads):
//   run(stop_token)      on a thread of the owner's (a std::jthread, or a task on a thread_pool):
//                        waits on a condition variable until the earliest timer is due, and wakes at
//                        once when an earlier one is scheduled, one is cancelled, or notify() is called.
//                        The wait is a real one, for the clock's remaining time: with a manual_clock,
//                        call notify() after advance() so the thread reads the clock again.
//
// Tasks run on the driving thread, one at a time, in due order (ties in scheduling order), without
// the service's lock held: a task may schedule or cancel timers, its own included. A task that takes
// long delays the timers after it, so long work belongs on an executor the task hands it to.
// A periodic timer runs at first + k * interval; ticks missed because the driver was late are
// skipped, not run in a burst. An exception from a task propagates to the driver (run_due, run_until
// or run) after the service's books are in order (a periodic timer stays scheduled).

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <stop_token>
#include <utility>

#include <tributary/concepts.hpp>
#include <tributary/clock/wall.hpp>
#include <tributary/error.hpp>
#include <tributary/execution/task.hpp>

namespace tributary {

/// Names one scheduled timer for cancel(). Ids are never reused within a service.
struct timer_id {
  std::uint64_t value = 0;
  friend bool operator==(timer_id, timer_id) = default;
};

template <class Clock>
class basic_timer_service {
  static_assert(tributary::clock<Clock>, "basic_timer_service: Clock does not model tributary::clock (see concepts.hpp)");

 public:
  using time_point = std::chrono::system_clock::time_point;
  using duration = std::chrono::system_clock::duration;

  /// The clock is the owner's and must outlive the service.
  explicit basic_timer_service(Clock& clock) : clock_(&clock) {}
  basic_timer_service(const basic_timer_service&) = delete;
  basic_timer_service& operator=(const basic_timer_service&) = delete;

  timer_id schedule_at(time_point when, task what) { return add(when, duration::zero(), std::move(what)); }
  timer_id schedule_after(duration delay, task what) { return add(clock_->now() + delay, duration::zero(), std::move(what)); }
  /// First at now + interval, then every interval. Throws error(errc::invalid_config) unless interval > 0.
  timer_id schedule_every(duration interval, task what) { return schedule_every(interval, clock_->now() + interval, std::move(what)); }
  timer_id schedule_every(duration interval, time_point first, task what) {
    if (interval <= duration::zero())
      throw error(errc::invalid_config, "basic_timer_service::schedule_every: the interval must be positive");
    return add(first, interval, std::move(what));
  }

  /// true when this stopped a future run. A task running right now finishes; a periodic one is not
  /// scheduled again. false for an id that already ran or is running (one-shot), was cancelled, or
  /// never existed: a caller counting true as "did not run" is never wrong.
  bool cancel(timer_id id) {
    std::lock_guard lock(mu_);
    const auto it = entries_.find(id.value);
    if (it == entries_.end()) return false;
    if (it->second.running && it->second.interval == duration::zero()) return false;
    if (!it->second.running) due_.erase({it->second.when, id.value});
    entries_.erase(it);
    changed();
    return true;
  }

  /// Timers scheduled and not yet run or cancelled (a periodic one counts while it lives).
  [[nodiscard]] std::size_t pending() const {
    std::lock_guard lock(mu_);
    return entries_.size();
  }
  /// When the earliest timer is due; nullopt when none waits.
  [[nodiscard]] std::optional<time_point> next_due() const {
    std::lock_guard lock(mu_);
    if (due_.empty()) return std::nullopt;
    return due_.begin()->first;
  }

  /// Runs every timer due at clock.now() (a periodic one at most once per call). Returns how many ran.
  std::size_t run_due() {
    const time_point now = clock_->now();
    std::size_t ran = 0;
    // Timers rescheduled or added by tasks during this pass, due at `now`, wait for the next pass:
    // a periodic timer with a tiny interval cannot keep one pass running forever.
    const std::uint64_t last_id = [&] {
      std::lock_guard lock(mu_);
      return next_id_ - 1;
    }();
    // A periodic timer that ran is rescheduled after `now`, so it cannot come up twice in one pass.
    while (auto id = take_due(now, last_id)) {
      run_one(*id);
      ++ran;
    }
    return ran;
  }

  /// Moves the clock to each due time up to `deadline` in turn (clock.sleep_until), runs what is due,
  /// and ends with the clock at `deadline`. Returns how many timers ran.
  std::size_t run_until(time_point deadline) {
    std::size_t ran = 0;
    for (;;) {
      const auto next = next_due();
      if (!next || *next > deadline) break;
      if (*next > clock_->now()) clock_->sleep_until(*next);
      ran += run_due();
    }
    if (deadline > clock_->now()) clock_->sleep_until(deadline);
    return ran;
  }
  std::size_t run_for(duration d) { return run_until(clock_->now() + d); }

  /// Runs timers as they come due until `stop` is requested (see the header comment).
  void run(std::stop_token stop) {
    while (!stop.stop_requested()) {
      run_due();
      std::unique_lock lock(mu_);
      const std::uint64_t seen = generation_;
      auto changed_since = [&] { return generation_ != seen; };
      if (due_.empty()) {
        wake_.wait(lock, stop, changed_since);
        continue;
      }
      const auto wait = due_.begin()->first - clock_->now();
      if (wait > duration::zero()) wake_.wait_for(lock, stop, wait, changed_since);
    }
  }
  /// Wakes run() to read the clock again (after a manual clock moved).
  void notify() {
    std::lock_guard lock(mu_);
    changed();
  }

 private:
  struct entry {
    time_point when;
    duration interval;  // zero: one-shot
    task what;
    bool running = false;
  };

  timer_id add(time_point when, duration interval, task what) {
    std::lock_guard lock(mu_);
    const std::uint64_t id = next_id_++;
    entries_.emplace(id, entry{when, interval, std::move(what)});
    due_.emplace(when, id);
    changed();
    return timer_id{id};
  }
  void changed() {
    ++generation_;
    wake_.notify_all();
  }

  /// The id of the earliest timer due at `now` that this pass may run, marked running.
  std::optional<std::uint64_t> take_due(time_point now, std::uint64_t last_id) {
    std::lock_guard lock(mu_);
    for (auto it = due_.begin(); it != due_.end() && it->first <= now; ++it) {
      const std::uint64_t id = it->second;
      if (id > last_id) continue;
      due_.erase(it);
      entries_.at(id).running = true;
      return id;
    }
    return std::nullopt;
  }

  void run_one(std::uint64_t id) {
    task what;
    {
      std::lock_guard lock(mu_);
      what = std::move(entries_.at(id).what);
    }
    // The books are put in order however the task ends: its entry may have been cancelled meanwhile.
    struct finish {
      basic_timer_service& self;
      std::uint64_t id;
      task& what;
      ~finish() {
        std::lock_guard lock(self.mu_);
        const auto it = self.entries_.find(id);
        if (it == self.entries_.end()) return;  // cancelled while it ran
        entry& e = it->second;
        if (e.interval == duration::zero()) {
          self.entries_.erase(it);
          return;
        }
        // The next tick after now on the grid first + k * interval: late ticks are skipped.
        const time_point now = self.clock_->now();
        e.when += e.interval;
        if (e.when <= now) e.when += ((now - e.when) / e.interval + 1) * e.interval;
        e.what = std::move(what);
        e.running = false;
        self.due_.emplace(e.when, id);
        self.changed();
      }
    } books{*this, id, what};
    what();
  }

  Clock* clock_;
  mutable std::mutex mu_;
  std::condition_variable_any wake_;
  std::map<std::uint64_t, entry> entries_;
  std::set<std::pair<time_point, std::uint64_t>> due_;
  std::uint64_t next_id_ = 1;
  std::uint64_t generation_ = 0;
};

/// Timers on the wall clock.
using timer_service = basic_timer_service<wall_clock>;

}  // namespace tributary
