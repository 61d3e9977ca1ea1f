#pragma once
// thread_pool: a fixed number of worker threads over a bounded_work_queue of tasks. The user
// constructs it, sizes it and passes it to whatever needs one (an http_server, a service); nothing in
// the engine starts threads of its own accord.
//
//   thread_pool pool(4, 256);                     4 workers, at most 256 tasks waiting
//   pool.execute([] { ... });                     fire and forget; waits while 256 are waiting
//   std::future<int> f = pool.submit([] { return 42; });   the result, or the task's exception
//   pool.shutdown(shutdown_mode::drain);          runs what is queued, then joins
//
// Exceptions are never lost: submit() puts them in the future; a task given to execute() has no one
// to return to, so its exception is kept for take_exceptions() (the first 64, and a count of all).
// A task must not wait for room in its own pool's queue: with every worker doing that, none is left
// to make room.

#include <atomic>
#include <cstddef>
#include <exception>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include <tributary/error.hpp>
#include <tributary/execution/concepts.hpp>
#include <tributary/execution/work_queue.hpp>

namespace tributary {

enum class shutdown_mode {
  drain,   ///< tasks already queued run; new ones are refused
  cancel,  ///< tasks not yet started are destroyed unrun (a submit()'s future then holds broken_promise)
};

class thread_pool {
 public:
  using executor_concept = executor_tag;

  /// Throws error(errc::invalid_config) for 0 threads or a queue capacity of 0.
  explicit thread_pool(std::size_t threads, std::size_t queue_capacity = 1024) : queue_(queue_capacity) {
    if (threads == 0) throw error(errc::invalid_config, "thread_pool: at least one thread is needed");
    workers_.reserve(threads);
    try {
      for (std::size_t i = 0; i < threads; ++i) workers_.emplace_back([this] { work(); });
    } catch (...) {
      shutdown(shutdown_mode::cancel);
      throw;
    }
  }
  thread_pool(const thread_pool&) = delete;
  thread_pool& operator=(const thread_pool&) = delete;
  /// Drains: whatever was accepted runs (shutdown(shutdown_mode::cancel) first to drop it instead).
  ~thread_pool() { shutdown(shutdown_mode::drain); }

  /// Waits while the queue is full. false after shutdown began (the task is destroyed unrun).
  bool execute(task t) { return queue_.push(std::move(t)); }
  /// Never waits: `t` is moved from only when accepted.
  push_status try_execute(task& t) { return queue_.try_push(std::move(t)); }

  /// Runs f() on a worker; the future holds its result or its exception. Throws
  /// error(errc::invalid_config) after shutdown began, so a caller never waits on a task never queued.
  template <class F>
    requires std::invocable<std::decay_t<F>&>
  [[nodiscard]] auto submit(F&& f) -> std::future<std::invoke_result_t<std::decay_t<F>&>> {
    using result = std::invoke_result_t<std::decay_t<F>&>;
    std::packaged_task<result()> job(std::forward<F>(f));
    auto future = job.get_future();
    if (!execute(task(std::move(job)))) throw error(errc::invalid_config, "thread_pool: submit after shutdown");
    return future;
  }

  /// Stops accepting tasks, runs or drops the queued ones as `mode` says, and joins the workers
  /// (tasks already running always finish). Idempotent; later calls only wait for the first.
  void shutdown(shutdown_mode mode = shutdown_mode::drain) {
    if (mode == shutdown_mode::cancel) cancelling_.store(true);
    queue_.close();
    std::lock_guard join_lock(join_mu_);
    for (auto& w : workers_)
      if (w.joinable()) w.join();
  }

  /// Exceptions escaped from execute()'d tasks since the last call (at most 64 of them are kept).
  [[nodiscard]] std::vector<std::exception_ptr> take_exceptions() {
    std::lock_guard lock(errors_mu_);
    return std::exchange(exceptions_, {});
  }
  /// Every task that threw, kept or not.
  [[nodiscard]] std::size_t failed() const noexcept { return failed_.load(); }
  /// Tasks destroyed unrun by shutdown(shutdown_mode::cancel).
  [[nodiscard]] std::size_t cancelled() const noexcept { return cancelled_.load(); }
  [[nodiscard]] std::size_t threads() const noexcept { return workers_.size(); }
  [[nodiscard]] std::size_t queued() const { return queue_.size(); }

 private:
  static constexpr std::size_t kept_exceptions = 64;

  void work() {
    while (auto t = queue_.pop()) {
      if (cancelling_.load()) {
        cancelled_.fetch_add(1);
        continue;  // destroyed unrun
      }
      try {
        (*t)();
      } catch (...) {
        failed_.fetch_add(1);
        std::lock_guard lock(errors_mu_);
        if (exceptions_.size() < kept_exceptions) exceptions_.push_back(std::current_exception());
      }
    }
  }

  bounded_work_queue<task> queue_;
  std::vector<std::thread> workers_;
  std::mutex join_mu_;
  std::atomic<bool> cancelling_{false};
  std::atomic<std::size_t> failed_{0}, cancelled_{0};
  std::mutex errors_mu_;
  std::vector<std::exception_ptr> exceptions_;
};

}  // namespace tributary
