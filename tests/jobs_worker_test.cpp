// The worker (jobs/worker.hpp) on each job store: each job in a child process, its result, failure,
// crash, time limit and cancellation recorded; a worker SIGKILLed mid-job is noticed by heartbeat
// expiry (virtual time) and its job retried or failed, never left started.

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

#include <tributary/jobs/worker.hpp>

#include "support/jobs_backends.hpp"

namespace {

using namespace tributary;
using namespace std::chrono;
using jobs::job_status;

struct test_settings {
  using settings_concept = jobs::settings_tag;
  std::string mode;
  std::int64_t ms = 0;
  jobs::secret token;
  static constexpr auto settings() {
    return std::tuple{jobs::enumeration("mode", &test_settings::mode, {"ok", "throw", "exit", "sleep", "not_json"}),
                      jobs::setting("ms", &test_settings::ms).defaults_to(0),
                      jobs::setting("token", &test_settings::token).optional()};
  }
};
struct test_platform {
  using platform_concept = jobs::platform_tag;
  using settings_type = test_settings;
  static constexpr std::string_view id = "test", display_name = "Test";
  static constexpr unsigned max_attempts = 2;
  static constexpr std::chrono::seconds time_limit{60};
  std::string run(const test_settings& s, jobs::job_context& c) {
    c.progress("start", "done");
    if (s.mode == "throw") throw std::runtime_error("boom at https://u:" + s.token.reveal() + "@api.example/x");
    if (s.mode == "exit") ::_exit(7);
    if (s.mode == "not_json") return "rows: 3";
    if (s.mode == "sleep") {
      c.progress("sleep", "sleeping");
      const auto until = steady_clock::now() + milliseconds(s.ms);
      while (steady_clock::now() < until) {
        c.throw_if_canceled();
        std::this_thread::sleep_for(milliseconds(5));
      }
    }
    c.dataset("original", "a,b");
    c.progress("finish", "done");
    return "{\"mode\":\"" + s.mode + "\"}";
  }
};
static_assert(jobs::platform<test_platform>);
using platforms = jobs::platform_list<test_platform>;

template <class Backend>
class JobWorker : public ::testing::Test {
 protected:
  using store_type = typename Backend::store_type;
  using worker_type = jobs::basic_worker<store_type, platforms, manual_clock>;

  void SetUp() override {
    if (auto why = Backend::skip_reason()) GTEST_SKIP() << why->c_str();
    store_ = backend_.open(clock_, options());
  }
  static jobs::job_store_options options() {
    jobs::job_store_options o;
    o.heartbeat_timeout = seconds(30);
    return o;
  }
  std::unique_ptr<worker_type> worker(std::string name) {
    jobs::worker_options o;
    o.name = std::move(name);
    o.poll_wait = milliseconds(50);
    o.cancel_poll = milliseconds(20);
    return std::make_unique<worker_type>([this] { return backend_.open(clock_, options()); }, clock_, o);
  }
  std::string submit(std::string settings, milliseconds limit = seconds(30), unsigned attempts = 1) {
    jobs::job_submission s;
    s.client_id = "t";
    s.platform = "test";
    s.settings = std::move(settings);
    s.settings_echo = "{}";
    s.time_limit = limit;
    s.max_attempts = attempts;
    return store_->submit(s);
  }
  /// Waits (real time, bounded) until the job reports `phase`.
  bool wait_for_phase(const std::string& id, std::string_view phase) {
    for (int i = 0; i < 1000; ++i) {
      if (const auto j = store_->get(id, false))
        for (const auto& p : j->progress)
          if (p.phase == phase) return true;
      std::this_thread::sleep_for(milliseconds(5));
    }
    return false;
  }

  Backend backend_;
  manual_clock clock_{sys_days{year{2024} / 6 / 1}};
  std::unique_ptr<store_type> store_;
};

using backends = ::testing::Types<tributary::testing::sqlite_jobs_backend, tributary::testing::redis_jobs_backend>;
struct backend_names {
  template <class T>
  static std::string GetName(int) {
    return T::label;
  }
};
TYPED_TEST_SUITE(JobWorker, backends, backend_names);

TYPED_TEST(JobWorker, RunsAJobInAChildToItsResult) {
  const std::string id = this->submit(R"j({"mode":"ok","token":"hunter2"})j");
  auto w = this->worker("w1");
  EXPECT_TRUE(w->run_next());
  const auto j = this->store_->get(id, true);
  ASSERT_TRUE(j);
  EXPECT_EQ(j->status, job_status::finished) << j->error;
  EXPECT_EQ(j->result, R"j({"mode":"ok"})j");
  ASSERT_EQ(j->progress.size(), 2u);
  EXPECT_EQ(j->progress[1].phase, "finish");
  EXPECT_EQ(j->datasets.at("original"), "a,b");
  EXPECT_FALSE(w->run_next());  // nothing left
}

TYPED_TEST(JobWorker, FailuresSayWhyWithoutSecrets) {
  const std::string thrown = this->submit(R"j({"mode":"throw","token":"hunter2"})j");
  const std::string not_json = this->submit(R"j({"mode":"not_json"})j");
  const std::string bad_settings = this->submit(R"j({"mode":"fly","ms":"x"})j");
  const std::string unknown = [&] {
    jobs::job_submission s;
    s.platform = "gone";
    s.settings = "{}";
    return this->store_->submit(s);
  }();
  auto w = this->worker("w1");
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(w->run_next());
  auto j = this->store_->get(thrown, false);
  EXPECT_EQ(j->status, job_status::failed);
  EXPECT_EQ(j->error, "the platform failed: boom at https://u:***@api.example/x");
  EXPECT_EQ(this->store_->get(not_json, false)->error, "the platform's result is not JSON");
  EXPECT_EQ(this->store_->get(bad_settings, false)->error,
            "invalid settings: mode: must be one of ok, throw, exit, sleep, not_json (got 'fly'); ms: must be an integer");
  EXPECT_EQ(this->store_->get(unknown, false)->error, "this worker has no platform 'gone'");
}

TYPED_TEST(JobWorker, AChildThatDiesWithoutReportingIsFailedSayingHow) {
  const std::string id = this->submit(R"j({"mode":"exit"})j");
  auto w = this->worker("w1");
  EXPECT_TRUE(w->run_next());
  const auto j = this->store_->get(id, false);
  EXPECT_EQ(j->status, job_status::failed);
  EXPECT_EQ(j->error, "the job's process exited with status 7 before reporting an end");
}

TYPED_TEST(JobWorker, AJobOverItsTimeLimitIsKilledAndTimedOut) {
  const std::string id = this->submit(R"j({"mode":"sleep","ms":20000})j", milliseconds(300));
  auto w = this->worker("w1");
  const auto before = steady_clock::now();
  EXPECT_TRUE(w->run_next());
  EXPECT_LT(steady_clock::now() - before, seconds(10));
  const auto j = this->store_->get(id, false);
  EXPECT_EQ(j->status, job_status::timed_out);
  EXPECT_EQ(j->error, "timed out: ran longer than its time limit of 300 ms");
}

TYPED_TEST(JobWorker, ARunningJobSeesItsCancellation) {
  const std::string id = this->submit(R"j({"mode":"sleep","ms":20000})j");
  // The cancel comes from another process while the worker (this process) waits for its child.
  const pid_t canceller = fork();
  ASSERT_GE(canceller, 0);
  if (canceller == 0) {
    auto s = this->backend_.open(this->clock_, this->options());
    for (int i = 0; i < 2000; ++i) {  // once it runs: a queued job would be canceled at once instead
      const auto j = s->get(id, false);
      if (j && j->status == job_status::started) ::_exit(s->cancel(id) == jobs::cancel_outcome::requested ? 0 : 2);
      std::this_thread::sleep_for(milliseconds(5));
    }
    ::_exit(1);
  }
  auto w = this->worker("w1");
  const auto before = steady_clock::now();
  EXPECT_TRUE(w->run_next());
  EXPECT_LT(steady_clock::now() - before, seconds(10));
  int status = 0;
  waitpid(canceller, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  const auto j = this->store_->get(id, false);
  ASSERT_TRUE(j);
  EXPECT_EQ(j->status, job_status::canceled);
  EXPECT_EQ(j->error, "canceled while running");
}

TYPED_TEST(JobWorker, AWorkerKilledMidJobIsNoticedAndItsJobGetsAnotherAttempt) {
  const std::string id = this->submit(R"j({"mode":"sleep","ms":20000})j", seconds(30), 2);
  const pid_t doomed = fork();
  ASSERT_GE(doomed, 0);
  if (doomed == 0) {
    auto w = this->worker("doomed");
    (void)w->run_next();
    ::_exit(0);
  }
  ASSERT_TRUE(this->wait_for_phase(id, "sleep"));
  ::kill(doomed, SIGKILL);
  int status = 0;
  waitpid(doomed, &status, 0);
  EXPECT_EQ(this->store_->get(id, false)->status, job_status::started);  // nobody knows yet

  this->clock_.advance(seconds(31));  // past heartbeat_timeout: the next live worker reaps
  // The job's child died with its worker: nothing reports for "doomed" any more.
  std::this_thread::sleep_for(milliseconds(100));
  EXPECT_EQ(this->store_->reap_lost_workers(), std::vector<std::string>{id});
  auto j = this->store_->get(id, false);
  EXPECT_EQ(j->status, job_status::queued);
  EXPECT_EQ(j->note, "retried after worker doomed was lost (no heartbeat)");
  EXPECT_FALSE(this->store_->progress(id, "doomed", "zombie", "x"));

  // The second attempt goes to a live worker, counted as such; the old one can no longer report.
  const auto again = this->store_->take("alive", milliseconds(0));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->id, id);
  EXPECT_EQ(again->attempts, 2u);
  EXPECT_FALSE(this->store_->complete(id, "doomed", job_status::finished, "{}"));
  EXPECT_TRUE(this->store_->complete(id, "alive", job_status::finished, "{}"));
  EXPECT_EQ(this->store_->get(id, false)->status, job_status::finished);
}

TYPED_TEST(JobWorker, AWorkerKilledMidJobFailsAJobWithNoAttemptLeft) {
  const std::string id = this->submit(R"j({"mode":"sleep","ms":20000})j", seconds(30), 1);
  const pid_t doomed = fork();
  ASSERT_GE(doomed, 0);
  if (doomed == 0) {
    auto w = this->worker("doomed");
    (void)w->run_next();
    ::_exit(0);
  }
  ASSERT_TRUE(this->wait_for_phase(id, "sleep"));
  ::kill(doomed, SIGKILL);
  int status = 0;
  waitpid(doomed, &status, 0);
  this->clock_.advance(seconds(31));
  // A live worker notices on its first heartbeat, before it takes anything.
  auto w = this->worker("alive");
  EXPECT_FALSE(w->run_next());
  const auto j = this->store_->get(id, false);
  EXPECT_EQ(j->status, job_status::failed);
  EXPECT_EQ(j->error, "worker lost: doomed stopped sending heartbeats while running the job");
}

}  // namespace

namespace {

// JOBS.md: "a job is never lost: once execution/run answered with an id, the job ends finished, failed,
// canceled or timed out, even if the worker running it is SIGKILLed" -- at any point: before, during or
// after a take, mid-run, mid-report. Each round kills a worker process after a random delay, then a
// fresh worker (after the heartbeat timeout, in virtual time) reaps and runs what is left.
TYPED_TEST(JobWorker, NoJobIsLostWhenWorkersAreKilledAtAnyPoint) {
  std::mt19937 rng(1403);
  std::vector<std::string> ids;
  for (int round = 0; round < 12; ++round) {
    for (int k = 0; k < 3; ++k) ids.push_back(this->submit(R"j({"mode":"sleep","ms":30})j", seconds(30), 1 + (rng() % 2)));
    const pid_t doomed = fork();
    ASSERT_GE(doomed, 0);
    if (doomed == 0) {
      auto w = this->worker("doomed-" + std::to_string(round));
      while (w->run_next()) {
      }
      ::_exit(0);
    }
    std::this_thread::sleep_for(microseconds(rng() % 60'000));
    ::kill(doomed, SIGKILL);
    int status = 0;
    waitpid(doomed, &status, 0);
  }
  this->clock_.advance(seconds(31));
  auto finisher = this->worker("finisher");
  while (finisher->run_next()) {
  }
  std::size_t ended = 0;
  for (const auto& id : ids) {
    const auto j = this->store_->get(id, false);
    ASSERT_TRUE(j) << id;
    EXPECT_TRUE(jobs::is_terminal(j->status)) << id << " is " << jobs::to_string(j->status);
    EXPECT_LE(j->attempts, j->max_attempts) << id;
    if (j->status == job_status::failed) {
      EXPECT_TRUE(j->error.starts_with("worker lost: doomed-")) << j->error;
    }
    ended += jobs::is_terminal(j->status);
  }
  EXPECT_EQ(ended, ids.size());
  EXPECT_TRUE(this->store_->list(job_status::started, 100).empty());
  EXPECT_TRUE(this->store_->list(job_status::queued, 100).empty());
}

}  // namespace
