#pragma once
// basic_worker<Store, Platforms, Clock, Sealer>: one "Sanjer" of the seed. It takes a job from the store, runs
// it in a child process with the job's time limit, and records how it ended; meanwhile it heartbeats
// and reaps workers that stopped heartbeating. POSIX (fork, waitpid, kill); the pool of pre-forked
// workers is examples/jobs_worker.cpp, one basic_worker per process.
//
//   auto open = [] { return std::make_unique<jobs::redis_job_store>(url, clock); };
//   jobs::basic_worker<jobs::redis_job_store, jobs::platform_list<sleep_platform>> worker(open, clock, {.name = "host-1:w3"});
//   worker.run(stop_token);                           until stop is requested
//
// Why a child per job: a platform that crashes, leaks or hangs takes its process with it, not the
// worker; a job over its time limit is killed (SIGKILL) and recorded `timed out`. The child opens its
// own store connection (`open` is called after the fork: SQLite locks and a Redis socket belong to one
// process) and reports progress, datasets and its end itself; it dies with the worker (PR_SET_PDEATHSIG),
// so a lost worker leaves no job running unseen, and its job is retried or failed by whoever reaps it.
// A child that ends without recording an end (a crash, a signal, _exit) is recorded failed, saying how.
//
// The child sees cancellation through job_context::cancel_requested, which asks the store at most
// every cancel_poll. Settings are parsed again in the child at the Clock's now, so relative dates mean
// the day of the run. A result that is not JSON fails the job rather than corrupting answers.

#include <algorithm>
#include <chrono>
#include <csignal>
#include <functional>
#include <memory>
#include <stop_token>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <simdjson.h>

#include <tributary/clock/wall.hpp>
#include <tributary/concepts.hpp>
#include <tributary/jobs/platform.hpp>
#include <tributary/jobs/seal.hpp>
#include <tributary/jobs/settings.hpp>
#include <tributary/jobs/store.hpp>
#include <tributary/redact.hpp>

namespace tributary::jobs {

struct worker_options {
  std::string name;  ///< unique among the workers sharing a store: "host:pid" is a good choice
  std::chrono::milliseconds poll_wait = std::chrono::seconds(1);            ///< how long one take() waits
  std::chrono::milliseconds heartbeat_interval = std::chrono::seconds(5);   ///< well under heartbeat_timeout
  std::chrono::milliseconds cancel_poll = std::chrono::milliseconds(500);   ///< a child asks at most this often
};

namespace detail {

/// The job_context a child process gives the platform: reports go straight to the store.
template <class Store>
class store_job_context final : public job_context {
 public:
  store_job_context(Store& store, std::string id, std::string worker, std::chrono::milliseconds poll)
      : store_(&store), id_(std::move(id)), worker_(std::move(worker)), poll_(poll) {}
  void progress(std::string_view phase, std::string_view state) override { (void)store_->progress(id_, worker_, phase, state); }
  void dataset(std::string_view tag, std::string_view text) override { (void)store_->dataset(id_, worker_, tag, text); }
  bool cancel_requested() override {
    const auto now = std::chrono::steady_clock::now();
    if (!asked_ || now - last_ >= poll_) {
      asked_ = true;
      last_ = now;
      canceled_ = store_->cancel_requested(id_);
    }
    return canceled_;
  }

 private:
  Store* store_;
  std::string id_, worker_;
  std::chrono::milliseconds poll_;
  bool asked_ = false, canceled_ = false;
  std::chrono::steady_clock::time_point last_{};
};

}  // namespace detail

template <class Store, class Platforms, class Clock = wall_clock, class Sealer = no_sealing>
class basic_worker {
  static_assert(job_store<Store>, "basic_worker: Store does not model tributary::jobs::job_store (see jobs/store.hpp)");
  static_assert(settings_sealer<Sealer>, "basic_worker: Sealer does not model tributary::jobs::settings_sealer (see jobs/seal.hpp)");
  static_assert(clock<Clock>, "basic_worker: Clock does not model tributary::clock (see concepts.hpp)");

 public:
  using store_factory = std::function<std::unique_ptr<Store>()>;

  /// `open` gives a new store connection; it is called now (the worker's own) and in each child.
  /// `sealer` opens what the API's sealer sealed: the same key.
  basic_worker(store_factory open, Clock& clock, worker_options options, Sealer sealer = {})
      : open_(std::move(open)), clock_(&clock), options_(std::move(options)), sealer_(std::move(sealer)), store_(open_()) {
    if (options_.name.empty()) options_.name = "worker-" + std::to_string(::getpid());
  }

  [[nodiscard]] const std::string& name() const noexcept { return options_.name; }

  /// Takes one job (waiting up to poll_wait), runs it to its end. false: the queue stayed empty.
  bool run_next() {
    beat();
    auto job = store_->take(options_.name, options_.poll_wait);
    if (!job) return false;
    run_job(*job);
    return true;
  }

  /// run_next() until `stop` is requested; a failing store is waited out (one poll_wait) and retried.
  void run(std::stop_token stop) {
    while (!stop.stop_requested()) {
      try {
        (void)run_next();
      } catch (const error&) {
        std::this_thread::sleep_for(options_.poll_wait);
      }
    }
  }

 private:
  void beat() {
    const auto now = std::chrono::steady_clock::now();
    if (now < next_beat_) return;
    next_beat_ = now + options_.heartbeat_interval;
    store_->heartbeat(options_.name);
    (void)store_->reap_lost_workers();  // any live worker notices the dead ones
  }

  void run_job(const job_record& job) {
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) {
      (void)store_->complete(job.id, options_.name, job_status::failed, "the worker could not fork a process for the job");
      return;
    }
    if (pid == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(3);  // the worker died before prctl took effect
      ::_exit(run_in_child(job));
    }
    const auto deadline = std::chrono::steady_clock::now() + job.time_limit;
    int status = 0;
    // The first looks come soon (a short job ends within a millisecond or two), then every 10 ms.
    auto pause = std::chrono::microseconds(100);
    while (true) {
      const pid_t r = ::waitpid(pid, &status, WNOHANG);
      if (r == pid) break;
      if (std::chrono::steady_clock::now() >= deadline) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, &status, 0);
        (void)store_->complete(job.id, options_.name, job_status::timed_out,
                               "timed out: ran longer than its time limit of " + std::to_string(job.time_limit.count()) + " ms");
        return;
      }
      try {
        beat();
      } catch (const error&) {
        // The store is away: the child goes on; heartbeats resume when it is back.
      }
      std::this_thread::sleep_for(pause);
      pause = std::min<std::chrono::microseconds>(pause * 2, std::chrono::milliseconds(10));
    }
    // The child recorded its end unless it crashed; then we record how it ended.
    const auto now_held = store_->get(job.id, false);
    if (now_held && now_held->status == job_status::started && now_held->worker == options_.name) {
      const std::string how = WIFSIGNALED(status) ? "was killed by signal " + std::to_string(WTERMSIG(status))
                                                  : "exited with status " + std::to_string(WEXITSTATUS(status));
      (void)store_->complete(job.id, options_.name, job_status::failed, "the job's process " + how + " before reporting an end");
    }
  }

  // In the child: returns the exit status (0: an end was recorded).
  int run_in_child(const job_record& job) noexcept {
    try {
      auto store = open_();
      detail::store_job_context<Store> context(*store, job.id, options_.name, options_.cancel_poll);
      auto end = [&](job_status s, std::string_view detail) { (void)store->complete(job.id, options_.name, s, detail); };
      const bool known = Platforms::visit(job.platform, [&]<class P>() {
        try {
          std::string clear;
          try {
            clear = sealer_.open(P::id, job.settings);
          } catch (const error&) {
            return end(job_status::failed, "the job's settings cannot be opened with this worker's key (another key, or altered)");
          }
          P platform{};
          const auto settings = parse_settings<typename P::settings_type>(clear, clock_->now());
          const std::string result = platform.run(settings, context);
          simdjson::dom::parser parser;
          if (parser.parse(simdjson::padded_string(result)).error() != simdjson::SUCCESS)
            return end(job_status::failed, "the platform's result is not JSON");
          end(job_status::finished, result);
        } catch (const job_canceled&) {
          end(job_status::canceled, "canceled while running");
        } catch (const settings_error& e) {
          end(job_status::failed, e.what());  // names settings and why, never a secret's value
        } catch (const std::exception& e) {
          end(job_status::failed, "the platform failed: " + redact_urls_in(e.what()));  // the one redaction
        } catch (...) {
          end(job_status::failed, "the platform failed with an unknown exception");
        }
      });
      if (!known) end(job_status::failed, "this worker has no platform '" + job.platform + "'");
      return 0;
    } catch (...) {
      return 2;  // the store failed: the parent records the end
    }
  }

  store_factory open_;
  Clock* clock_;
  worker_options options_;
  Sealer sealer_;
  std::unique_ptr<Store> store_;
  std::chrono::steady_clock::time_point next_beat_{};
};

}  // namespace tributary::jobs
