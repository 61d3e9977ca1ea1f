#pragma once
// A deterministic scheduler for running several collectors "at once" in virtual time.
//
// Each actor runs on its own thread, but only one runs at a time: an actor stops at every yield point
// (every store operation, every sleep) and waits to be granted its next step. The controller picks the
// next actor with a seeded random generator, so a seed names one interleaving and replays it exactly.
// Virtual time advances only when every live actor is asleep, to the earliest wake-up. At a grant the
// controller may inject a crash: the actor's yield throws `simulated_crash`, which the engine does not
// catch (it is no std::exception), so the actor stops dead as a killed process would.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include <tributary/collector/concepts.hpp>

namespace tributary::testing {

struct simulated_crash {};

class scheduler {
 public:
  using time_point = std::chrono::system_clock::time_point;

  scheduler(std::uint64_t seed, time_point start) : rng_(seed), now_(start) {}
  scheduler(const scheduler&) = delete;
  scheduler& operator=(const scheduler&) = delete;
  ~scheduler() {
    for (auto& a : actors_)
      if (a.thread.joinable()) a.thread.join();
  }

  // ---- called by actors ---------------------------------------------------------------------------

  /// A step boundary: wait until granted. Throws simulated_crash when the grant carries a crash.
  void yield(int actor) { wait_for_grant(actor, state::runnable, {}); }

  void sleep_until(int actor, time_point t) { wait_for_grant(actor, state::sleeping, t); }

  /// Wait until every live actor has reached the barrier (or finished).
  void barrier(int actor) { wait_for_grant(actor, state::at_barrier, {}); }

  [[nodiscard]] time_point now() const {
    std::lock_guard lock(mu_);
    return now_;
  }

  // ---- called by the controller -------------------------------------------------------------------

  /// Adds an actor; it starts at the next run().
  void add_actor(std::function<void(int)> body) { pending_.push_back(std::move(body)); }

  /// Each grant crashes the granted actor with probability p, at most once per actor and at most
  /// `budget` times per run.
  void inject_crashes(double p, int budget) {
    crash_p_ = p;
    crash_budget_ = budget;
  }

  /// Called whenever no actor is running: the store is quiescent and may be inspected.
  void on_quiescent(std::function<void()> f) { checker_ = std::move(f); }

  /// Runs every added actor to completion (or crash). Rethrows an actor's unexpected exception.
  void run() {
    {
      std::lock_guard lock(mu_);
      actors_.clear();
      actors_.resize(pending_.size());
    }
    for (std::size_t i = 0; i < pending_.size(); ++i) {
      actors_[i].thread = std::thread([this, i, body = std::move(pending_[i])] {
        const int id = static_cast<int>(i);
        try {
          yield(id);  // wait for the first grant
          body(id);
        } catch (const simulated_crash&) {
        } catch (...) {
          std::lock_guard lock(mu_);
          failure_ = std::current_exception();
        }
        std::lock_guard lock(mu_);
        actors_[i].st = state::done;
        cv_.notify_all();
      });
    }
    pending_.clear();
    std::unique_lock lock(mu_);
    while (true) {
      cv_.wait(lock, [&] { return settled(); });
      if (failure_) break;
      if (checker_) {
        lock.unlock();
        checker_();
        lock.lock();
      }
      const int next = choose_locked();
      if (next < 0) break;
      auto& a = actors_[static_cast<std::size_t>(next)];
      a.granted = true;
      if (!a.crashed && crash_budget_ > 0 && std::bernoulli_distribution(crash_p_)(rng_)) {
        a.crash = true;
        a.crashed = true;
        --crash_budget_;
        ++crashes_;
      }
      a.st = state::running;
      ++steps_;
      cv_.notify_all();
    }
    lock.unlock();
    for (auto& a : actors_) a.thread.join();
    if (failure_) std::rethrow_exception(failure_);
  }

  [[nodiscard]] bool crashed(int actor) const { return actors_.at(static_cast<std::size_t>(actor)).crashed; }
  [[nodiscard]] std::size_t crashes() const noexcept { return crashes_; }
  [[nodiscard]] std::size_t steps() const noexcept { return steps_; }
  std::mt19937_64& rng() noexcept { return rng_; }

  void advance_to(time_point t) {
    std::lock_guard lock(mu_);
    if (t > now_) now_ = t;
  }

 private:
  enum class state { starting, runnable, sleeping, at_barrier, running, done };
  struct actor_state {
    std::thread thread;
    state st = state::starting;
    time_point wake{};
    bool granted = false;
    bool crash = false;
    bool crashed = false;
  };

  void wait_for_grant(int id, state s, time_point wake) {
    std::unique_lock lock(mu_);
    auto& a = actors_[static_cast<std::size_t>(id)];
    a.st = s;
    a.wake = wake;
    cv_.notify_all();
    cv_.wait(lock, [&] { return a.granted; });
    a.granted = false;
    if (a.crash) {
      a.crash = false;
      throw simulated_crash{};
    }
  }

  /// True when no actor is running or starting.
  [[nodiscard]] bool settled() const {
    if (failure_) return true;
    for (const auto& a : actors_)
      if (a.st == state::running || a.st == state::starting) return false;
    return true;
  }

  /// Picks the next actor to grant, advancing virtual time or releasing a barrier when needed; -1
  /// when every actor is done.
  int choose_locked() {
    while (true) {
      std::vector<int> runnable;
      bool any_sleeping = false, any_barrier = false;
      time_point earliest = time_point::max();
      for (std::size_t i = 0; i < actors_.size(); ++i) {
        const auto& a = actors_[i];
        if (a.st == state::runnable) runnable.push_back(static_cast<int>(i));
        if (a.st == state::sleeping) any_sleeping = true, earliest = std::min(earliest, a.wake);
        if (a.st == state::at_barrier) any_barrier = true;
      }
      if (!runnable.empty()) {
        std::uniform_int_distribution<std::size_t> pick(0, runnable.size() - 1);
        return runnable[pick(rng_)];
      }
      if (any_sleeping) {
        if (earliest > now_) now_ = earliest;
        for (auto& a : actors_)
          if (a.st == state::sleeping && a.wake <= now_) a.st = state::runnable;
        continue;
      }
      if (any_barrier) {
        for (auto& a : actors_)
          if (a.st == state::at_barrier) a.st = state::runnable;
        continue;
      }
      return -1;
    }
  }

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<actor_state> actors_;
  std::vector<std::function<void(int)>> pending_;
  std::function<void()> checker_;
  std::mt19937_64 rng_;
  time_point now_;
  double crash_p_ = 0;
  int crash_budget_ = 0;
  std::size_t crashes_ = 0, steps_ = 0;
  std::exception_ptr failure_;
};

/// The clock an actor sees: virtual time from the scheduler; sleeping is a yield point.
class scheduled_clock {
 public:
  using clock_concept = clock_tag;
  scheduled_clock(scheduler& s, int actor) : s_(&s), actor_(actor) {}
  [[nodiscard]] std::chrono::system_clock::time_point now() const { return s_->now(); }
  void sleep_until(std::chrono::system_clock::time_point t) { s_->sleep_until(actor_, t); }

 private:
  scheduler* s_;
  int actor_;
};

}  // namespace tributary::testing
