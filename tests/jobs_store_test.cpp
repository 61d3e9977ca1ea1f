// The job store conformance suite (jobs/store.hpp), run on every shipped store: SQLite in a scratch
// file and the real Redis server on loopback (skipped, saying so, without TRIBUTARY_REDIS_URL). Time is
// virtual (manual_clock) wherever the rules depend on it: heartbeat expiry, TTLs, timestamps.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

#include <tributary/jobs/archetypes.hpp>
#include <tributary/jobs/store.hpp>

#include "support/jobs_backends.hpp"

namespace {

using namespace tributary;
using namespace std::chrono;
using jobs::job_status;

static_assert(jobs::job_store<jobs::archetypes::job_store>);
static_assert(jobs::job_store<jobs::basic_sqlite_job_store<manual_clock>>);
static_assert(jobs::job_store<jobs::basic_redis_job_store<manual_clock>>);
static_assert(jobs::platform<jobs::archetypes::platform>);
struct not_a_store {  // the right members, no opt-in
  std::string name() const { return {}; }
};
static_assert(!jobs::job_store<not_a_store>);

jobs::job_submission submission(std::string client_id = "devTest", unsigned max_attempts = 1) {
  jobs::job_submission s;
  s.client_id = std::move(client_id);
  s.platform = "sleep";
  s.settings = R"({"ms":10,"password":"hunter2"})";
  s.settings_echo = R"({"ms":10,"password":"***"})";
  s.max_attempts = max_attempts;
  s.time_limit = seconds(30);
  return s;
}

template <class Backend>
class JobStore : public ::testing::Test {
 protected:
  void SetUp() override {
    if (auto why = Backend::skip_reason()) GTEST_SKIP() << why->c_str();
    store_ = backend_.open(clock_, options());
  }
  static jobs::job_store_options options() {
    jobs::job_store_options o;
    o.heartbeat_timeout = seconds(30);
    o.finished_ttl = seconds(600);
    o.failed_ttl = seconds(900);
    o.canceled_ttl = seconds(60);
    return o;
  }
  typename Backend::store_type& store() { return *store_; }

  Backend backend_;
  manual_clock clock_{sys_days{year{2024} / 5 / 1}};
  std::unique_ptr<typename Backend::store_type> store_;
};

using backends = ::testing::Types<tributary::testing::sqlite_jobs_backend, tributary::testing::redis_jobs_backend>;
struct backend_names {
  template <class T>
  static std::string GetName(int) {
    return T::label;
  }
};
TYPED_TEST_SUITE(JobStore, backends, backend_names);

TYPED_TEST(JobStore, SubmittedJobIsQueuedWithEverythingAWorkerNeeds) {
  auto& s = this->store();
  const std::string id = s.submit(submission());
  EXPECT_EQ(id.size(), 32u);
  const auto j = s.get(id, false);
  ASSERT_TRUE(j);
  EXPECT_EQ(j->id, id);
  EXPECT_EQ(j->client_id, "devTest");
  EXPECT_EQ(j->platform, "sleep");
  EXPECT_EQ(j->status, job_status::queued);
  EXPECT_EQ(j->settings, R"({"ms":10,"password":"hunter2"})");
  EXPECT_EQ(j->settings_echo, R"({"ms":10,"password":"***"})");
  EXPECT_EQ(j->attempts, 0u);
  EXPECT_EQ(j->time_limit, seconds(30));
  EXPECT_EQ(j->enqueued_at, this->clock_.now());
  EXPECT_FALSE(s.get("no-such-job", true));
  EXPECT_NE(s.submit(submission()), id);
}

TYPED_TEST(JobStore, TakeIsFirstInFirstOutAndStartsTheJob) {
  auto& s = this->store();
  const std::string a = s.submit(submission("a"));
  this->clock_.advance(milliseconds(5));
  const std::string b = s.submit(submission("b"));
  this->clock_.advance(seconds(1));
  const auto first = s.take("w1", milliseconds(0));
  ASSERT_TRUE(first);
  EXPECT_EQ(first->id, a);
  EXPECT_EQ(first->status, job_status::started);
  EXPECT_EQ(first->worker, "w1");
  EXPECT_EQ(first->attempts, 1u);
  EXPECT_EQ(first->started_at, this->clock_.now());
  const auto second = s.take("w2", milliseconds(0));
  ASSERT_TRUE(second);
  EXPECT_EQ(second->id, b);
  EXPECT_FALSE(s.take("w3", milliseconds(0)));
  // An empty queue waits (a little, in real time) and answers nothing.
  const auto before = steady_clock::now();
  EXPECT_FALSE(s.take("w3", milliseconds(150)));
  EXPECT_GE(steady_clock::now() - before, milliseconds(100));
}

TYPED_TEST(JobStore, ExactlyOnceAcrossConcurrentTakers) {
  constexpr int jobs_count = 120, takers = 4;
  std::set<std::string> submitted;
  for (int i = 0; i < jobs_count; ++i) submitted.insert(this->store().submit(submission(std::to_string(i))));
  std::vector<std::unique_ptr<typename TypeParam::store_type>> stores;
  for (int t = 0; t < takers; ++t) stores.push_back(this->backend_.open(this->clock_, this->options()));
  std::vector<std::vector<std::string>> taken(takers);
  std::vector<std::thread> threads;
  for (int t = 0; t < takers; ++t)
    threads.emplace_back([&, t] {
      while (auto j = stores[t]->take("taker-" + std::to_string(t), milliseconds(0))) taken[t].push_back(j->id);
    });
  for (auto& th : threads) th.join();
  std::multiset<std::string> all;
  for (const auto& v : taken) all.insert(v.begin(), v.end());
  EXPECT_EQ(all.size(), static_cast<std::size_t>(jobs_count));
  EXPECT_EQ(std::set<std::string>(all.begin(), all.end()), submitted);
  for (const auto& id : submitted) EXPECT_EQ(all.count(id), 1u) << id;
}

TYPED_TEST(JobStore, OnlyTheHolderMovesAJobOn) {
  auto& s = this->store();
  const std::string id = s.submit(submission());
  // Nobody holds a queued job.
  EXPECT_FALSE(s.progress(id, "w1", "login", "started"));
  ASSERT_TRUE(s.take("w1", milliseconds(0)));
  this->clock_.advance(seconds(1));
  EXPECT_TRUE(s.progress(id, "w1", "login", "started"));
  this->clock_.advance(seconds(1));
  EXPECT_TRUE(s.progress(id, "w1", "fetch", "3/10"));
  EXPECT_TRUE(s.progress(id, "w1", "login", "done"));
  EXPECT_TRUE(s.dataset(id, "w1", "original", "raw text"));
  EXPECT_TRUE(s.dataset(id, "w1", "processed", "{\"rows\":3}"));
  EXPECT_FALSE(s.progress(id, "intruder", "login", "hacked"));
  EXPECT_FALSE(s.dataset(id, "intruder", "original", "x"));
  EXPECT_FALSE(s.complete(id, "intruder", job_status::finished, "{}"));

  auto j = s.get(id, false);
  ASSERT_TRUE(j);
  ASSERT_EQ(j->progress.size(), 3u);
  EXPECT_EQ(j->progress[0].phase, "login");
  EXPECT_EQ(j->progress[0].at, sys_days{year{2024} / 5 / 1} + seconds(1));
  EXPECT_EQ(j->progress[2].state, "done");
  EXPECT_TRUE(j->datasets.empty());  // only in full
  j = s.get(id, true);
  EXPECT_EQ(j->datasets.at("original"), "raw text");
  EXPECT_EQ(j->datasets.at("processed"), "{\"rows\":3}");

  this->clock_.advance(seconds(3));
  EXPECT_TRUE(s.complete(id, "w1", job_status::finished, "{\"rows\":3}"));
  EXPECT_FALSE(s.complete(id, "w1", job_status::failed, "twice"));  // once over, over
  EXPECT_FALSE(s.progress(id, "w1", "late", "x"));
  j = s.get(id, false);
  EXPECT_EQ(j->status, job_status::finished);
  EXPECT_EQ(j->result, "{\"rows\":3}");
  EXPECT_EQ(j->error, "");
  EXPECT_EQ(j->ended_at, sys_days{year{2024} / 5 / 1} + seconds(5));
  EXPECT_THROW((void)s.complete(id, "w1", job_status::started, ""), error);
}

TYPED_TEST(JobStore, FailuresAndTimeoutsKeepTheReason) {
  auto& s = this->store();
  const std::string a = s.submit(submission("a")), b = s.submit(submission("b"));
  ASSERT_TRUE(s.take("w", milliseconds(0)));
  ASSERT_TRUE(s.take("w", milliseconds(0)));
  EXPECT_TRUE(s.complete(a, "w", job_status::failed, "login refused: 401"));
  EXPECT_TRUE(s.complete(b, "w", job_status::timed_out, "timed out after 30 s"));
  EXPECT_EQ(s.get(a, false)->status, job_status::failed);
  EXPECT_EQ(s.get(a, false)->error, "login refused: 401");
  EXPECT_EQ(s.get(b, false)->status, job_status::timed_out);
  EXPECT_EQ(s.get(b, false)->error, "timed out after 30 s");
}

TYPED_TEST(JobStore, CancelAQueuedJobAtOnceAndARunningOneByRequest) {
  auto& s = this->store();
  const std::string queued = s.submit(submission("q"));
  EXPECT_EQ(s.cancel(queued), jobs::cancel_outcome::canceled);
  EXPECT_EQ(s.get(queued, false)->status, job_status::canceled);
  EXPECT_EQ(s.get(queued, false)->error, "canceled before it started");
  EXPECT_FALSE(s.take("w", milliseconds(0)));  // never runs
  EXPECT_EQ(s.cancel(queued), jobs::cancel_outcome::already_over);

  const std::string running = s.submit(submission("r"));
  ASSERT_TRUE(s.take("w", milliseconds(0)));
  EXPECT_FALSE(s.cancel_requested(running));
  EXPECT_EQ(s.cancel(running), jobs::cancel_outcome::requested);
  EXPECT_TRUE(s.cancel_requested(running));
  EXPECT_EQ(s.get(running, false)->status, job_status::started);
  EXPECT_TRUE(s.complete(running, "w", job_status::canceled, "canceled while running"));
  EXPECT_EQ(s.get(running, false)->status, job_status::canceled);
  EXPECT_EQ(s.cancel("no-such-job"), jobs::cancel_outcome::unknown_job);
}

TYPED_TEST(JobStore, ListByStatusNewestFirst) {
  auto& s = this->store();
  std::vector<std::string> ids;
  for (int i = 0; i < 4; ++i) {
    ids.push_back(s.submit(submission(std::to_string(i))));
    this->clock_.advance(milliseconds(10));
  }
  ASSERT_TRUE(s.take("w", milliseconds(0)));  // ids[0]
  EXPECT_TRUE(s.complete(ids[0], "w", job_status::finished, "1"));
  EXPECT_EQ(s.cancel(ids[1]), jobs::cancel_outcome::canceled);
  auto names = [](const std::vector<jobs::job_record>& v) {
    std::vector<std::string> out;
    for (const auto& j : v) out.push_back(j.id);
    return out;
  };
  EXPECT_EQ(names(s.list(job_status::queued, 10)), (std::vector<std::string>{ids[3], ids[2]}));
  EXPECT_EQ(names(s.list(job_status::finished, 10)), (std::vector<std::string>{ids[0]}));
  EXPECT_EQ(names(s.list(job_status::canceled, 10)), (std::vector<std::string>{ids[1]}));
  EXPECT_TRUE(s.list(job_status::started, 10).empty());
  EXPECT_EQ(names(s.list(std::nullopt, 10)), (std::vector<std::string>{ids[3], ids[2], ids[1], ids[0]}));
  EXPECT_EQ(names(s.list(std::nullopt, 2)), (std::vector<std::string>{ids[3], ids[2]}));
  for (const auto& j : s.list(std::nullopt, 10)) EXPECT_TRUE(j.datasets.empty());
}

TYPED_TEST(JobStore, ALostWorkersJobIsRetriedWhenAllowedThenFailed) {
  auto& s = this->store();
  const std::string id = s.submit(submission("retry me", 2));
  ASSERT_TRUE(s.take("doomed", milliseconds(0)));
  EXPECT_TRUE(s.progress(id, "doomed", "login", "started"));
  this->clock_.advance(seconds(20));
  s.heartbeat("alive");
  EXPECT_TRUE(s.reap_lost_workers().empty());  // 20 s of silence is within the 30 s timeout
  this->clock_.advance(seconds(11));
  s.heartbeat("alive");
  EXPECT_EQ(s.reap_lost_workers(), std::vector<std::string>{id});
  auto j = s.get(id, false);
  EXPECT_EQ(j->status, job_status::queued);
  EXPECT_EQ(j->note, "retried after worker doomed was lost (no heartbeat)");
  // The lost worker comes back too late: it no longer holds the job.
  EXPECT_FALSE(s.complete(id, "doomed", job_status::finished, "{}"));
  EXPECT_FALSE(s.progress(id, "doomed", "login", "done"));

  const auto again = s.take("alive", milliseconds(0));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->id, id);
  EXPECT_EQ(again->attempts, 2u);
  // Lost again, with no attempt left: failed, saying why.
  this->clock_.advance(seconds(31));
  EXPECT_EQ(s.reap_lost_workers(), std::vector<std::string>{id});
  j = s.get(id, false);
  EXPECT_EQ(j->status, job_status::failed);
  EXPECT_EQ(j->error, "worker lost: alive stopped sending heartbeats while running the job");
  EXPECT_TRUE(s.reap_lost_workers().empty());  // reaped once
  EXPECT_FALSE(s.take("other", milliseconds(0)));
}

TYPED_TEST(JobStore, ALostWorkerWithOneAttemptFailsItsJobOnly) {
  auto& s = this->store();
  const std::string lost = s.submit(submission("lost")), kept = s.submit(submission("kept"));
  ASSERT_TRUE(s.take("w-lost", milliseconds(0)));
  this->clock_.advance(seconds(25));
  ASSERT_TRUE(s.take("w-kept", milliseconds(0)));
  this->clock_.advance(seconds(10));
  EXPECT_EQ(s.reap_lost_workers(), std::vector<std::string>{lost});
  EXPECT_EQ(s.get(lost, false)->status, job_status::failed);
  EXPECT_EQ(s.get(kept, false)->status, job_status::started);
  EXPECT_TRUE(s.complete(kept, "w-kept", job_status::finished, "true"));
}

TYPED_TEST(JobStore, EndedJobsAreForgottenAfterTheirStatusTtl) {
  auto& s = this->store();
  const std::string done = s.submit(submission("done")), failed = s.submit(submission("failed"));
  const std::string canceled = s.submit(submission("canceled"));
  ASSERT_TRUE(s.take("w", milliseconds(0)));
  ASSERT_TRUE(s.take("w", milliseconds(0)));
  EXPECT_TRUE(s.complete(done, "w", job_status::finished, "1"));
  EXPECT_TRUE(s.complete(failed, "w", job_status::failed, "no"));
  EXPECT_EQ(s.cancel(canceled), jobs::cancel_outcome::canceled);
  this->clock_.advance(seconds(61));  // canceled_ttl 60 s
  EXPECT_FALSE(s.get(canceled, false));
  EXPECT_TRUE(s.get(done, false));
  this->clock_.advance(seconds(540));  // finished_ttl 600 s
  EXPECT_FALSE(s.get(done, false));
  EXPECT_TRUE(s.get(failed, false));
  EXPECT_EQ(s.list(std::nullopt, 10).size(), 1u);
  this->clock_.advance(seconds(300));  // failed_ttl 900 s
  EXPECT_FALSE(s.get(failed, false));
  EXPECT_TRUE(s.list(std::nullopt, 10).empty());
  EXPECT_EQ(s.cancel(failed), jobs::cancel_outcome::unknown_job);
}

TYPED_TEST(JobStore, CountsByStatusQueueDepthAndLiveWorkers) {
  auto& s = this->store();
  const std::string a = s.submit(submission("a")), b = s.submit(submission("b"));
  (void)s.submit(submission("c"));
  (void)s.submit(submission("d"));
  ASSERT_TRUE(s.take("w1", milliseconds(0)));
  ASSERT_TRUE(s.take("w1", milliseconds(0)));
  EXPECT_TRUE(s.complete(a, "w1", job_status::finished, "1"));
  EXPECT_TRUE(s.complete(b, "w1", job_status::timed_out, "slow"));
  EXPECT_EQ(s.cancel(s.list(job_status::queued, 1).at(0).id), jobs::cancel_outcome::canceled);
  this->clock_.advance(seconds(20));
  s.heartbeat("w2");
  auto c = s.counts();
  using array = decltype(c.by_status);
  EXPECT_EQ(c.by_status, (array{1, 0, 1, 0, 1, 1}));  // queued, started, finished, failed, canceled, timed out
  EXPECT_EQ(c.queue_depth, 1u);
  EXPECT_EQ(c.workers_alive, 2u);
  this->clock_.advance(seconds(15));  // w1 silent 35 s, w2 15 s
  EXPECT_EQ(s.counts().workers_alive, 1u);
  this->clock_.advance(seconds(30));  // the canceled job's 60 s TTL has passed
  c = s.counts();
  EXPECT_EQ(c.by_status, (array{1, 0, 1, 0, 0, 1}));
}

TYPED_TEST(JobStore, CountsByPlatformEndsAndRunDurations) {
  auto& s = this->store();
  auto other = submission("r");
  other.platform = "report";
  other.max_attempts = 2;
  const std::string a = s.submit(submission("a")), b = s.submit(submission("b"));
  const std::string c = s.submit(other), d = s.submit(other), e = s.submit(other);
  ASSERT_EQ(s.take("w1", milliseconds(0))->id, a);
  this->clock_.advance(milliseconds(2000));
  EXPECT_TRUE(s.complete(a, "w1", job_status::finished, "1"));  // ran 2 s: the bucket up to 5 s
  ASSERT_EQ(s.take("w1", milliseconds(0))->id, b);
  this->clock_.advance(milliseconds(400));
  EXPECT_TRUE(s.complete(b, "w1", job_status::timed_out, "too long"));  // ran 0.4 s: up to 0.5 s
  ASSERT_EQ(s.take("w2", milliseconds(0))->id, c);  // still running
  EXPECT_EQ(s.cancel(d), jobs::cancel_outcome::canceled);  // never ran: an end, no duration
  ASSERT_EQ(s.take("w3", milliseconds(0))->id, e);
  this->clock_.advance(seconds(31));  // w3 (and w1, w2) silent past the heartbeat timeout
  s.heartbeat("w2");
  (void)s.reap_lost_workers();  // e goes back to the queue (2 attempts): neither an end nor a run that ended

  const auto counts = s.counts();
  using ended = decltype(jobs::platform_job_counts{}.ended);
  using durations = decltype(jobs::platform_job_counts{}.durations);
  ASSERT_EQ(counts.by_platform.size(), 2u);
  const auto& sleep = counts.by_platform.at("sleep");
  EXPECT_EQ(sleep.queued, 0u);
  EXPECT_EQ(sleep.started, 0u);
  EXPECT_EQ(sleep.ended, (ended{0, 0, 1, 0, 0, 1}));  // queued, started, finished, failed, canceled, timed out
  EXPECT_EQ(sleep.durations, (durations{0, 1, 0, 1, 0, 0, 0, 0, 0, 0}));
  EXPECT_DOUBLE_EQ(sleep.duration_sum_s, 2.4);
  const auto& report = counts.by_platform.at("report");
  EXPECT_EQ(report.queued, 1u);   // e, requeued
  EXPECT_EQ(report.started, 1u);  // c
  EXPECT_EQ(report.ended, (ended{0, 0, 0, 0, 1, 0}));
  EXPECT_EQ(report.durations, durations{});
  EXPECT_EQ(report.duration_sum_s, 0.0);

  // A worker lost with no attempt left fails its job: an end, and a run that ended.
  ASSERT_EQ(s.take("w4", milliseconds(0))->id, e);
  this->clock_.advance(seconds(40));  // 31 s past the timeout: c's worker w2 is lost too
  s.heartbeat("w5");
  (void)s.reap_lost_workers();
  const auto later = s.counts().by_platform.at("report");
  EXPECT_EQ(later.queued + later.started, 1u);  // c, retried (its second attempt is allowed)
  EXPECT_EQ(later.ended, (ended{0, 0, 0, 1, 1, 0}));
  EXPECT_EQ(later.durations, (durations{0, 0, 0, 0, 0, 1, 0, 0, 0, 0}));  // e ran 40 s: up to 60 s
  EXPECT_DOUBLE_EQ(later.duration_sum_s, 40);
}

TYPED_TEST(JobStore, PingAndAName) {
  this->store().ping();
  EXPECT_FALSE(this->store().name().empty());
}

// --- store-specific ---------------------------------------------------------------------------------

TEST(SqliteJobStore, ProcessesSharingTheFileTakeEachJobOnce) {
  tributary::testing::sqlite_jobs_backend backend;
  manual_clock clock;
  std::set<std::string> submitted;
  {
    auto s = backend.open(clock);
    for (int i = 0; i < 60; ++i) submitted.insert(s->submit(submission(std::to_string(i))));
  }
  constexpr int children = 3;
  int fds[children][2];
  pid_t pids[children];
  for (int c = 0; c < children; ++c) {
    ASSERT_EQ(pipe(fds[c]), 0);
    pids[c] = fork();
    ASSERT_GE(pids[c], 0);
    if (pids[c] == 0) {  // a worker process: its own connection, opened after the fork
      close(fds[c][0]);
      manual_clock child_clock;
      auto s = backend.open(child_clock);
      std::string out;
      while (auto j = s->take("proc-" + std::to_string(c), milliseconds(0))) out += j->id + "\n";
      const bool ok = write(fds[c][1], out.data(), out.size()) == static_cast<ssize_t>(out.size());
      _exit(ok ? 0 : 1);
    }
    close(fds[c][1]);
  }
  std::multiset<std::string> taken;
  for (int c = 0; c < children; ++c) {
    std::string text;
    char buf[4096];
    for (ssize_t n; (n = read(fds[c][0], buf, sizeof buf)) > 0;) text.append(buf, static_cast<std::size_t>(n));
    close(fds[c][0]);
    int status = 0;
    waitpid(pids[c], &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    for (std::size_t at = 0, nl; (nl = text.find('\n', at)) != std::string::npos; at = nl + 1) taken.insert(text.substr(at, nl - at));
  }
  EXPECT_EQ(taken.size(), submitted.size());
  EXPECT_EQ(std::set<std::string>(taken.begin(), taken.end()), submitted);
}

TEST(RedisJobStore, EndedJobsGetTheConfiguredTtlInRedis) {
  if (auto why = tributary::testing::redis_jobs_backend::skip_reason()) GTEST_SKIP() << why->c_str();
  tributary::testing::redis_jobs_backend backend;
  manual_clock clock;
  jobs::job_store_options o;
  o.finished_ttl = seconds(600);
  auto s = backend.open(clock, o);
  const std::string id = s->submit(submission());
  ASSERT_TRUE(s->take("w", milliseconds(0)));
  EXPECT_TRUE(s->progress(id, "w", "p", "s"));
  EXPECT_TRUE(s->dataset(id, "w", "original", "x"));
  long long before = 0;
  backend.raw({"PTTL", backend.prefix + "job:" + id}, &before);
  EXPECT_EQ(before, -1);  // a running job never expires
  EXPECT_TRUE(s->complete(id, "w", job_status::finished, "{}"));
  for (const std::string suffix : {"", ":progress", ":datasets"}) {
    long long ttl = 0;
    backend.raw({"PTTL", backend.prefix + "job:" + id + suffix}, &ttl);
    EXPECT_GT(ttl, 590'000) << suffix;
    EXPECT_LE(ttl, 600'000) << suffix;
  }
  // The worker's processing list no longer holds it.
  EXPECT_TRUE(backend.raw({"LRANGE", backend.prefix + "processing:w", "0", "-1"}).empty());
}

TEST(RedisJobStore, AJobMovedButNeverStartedGoesBackFirstInLine) {
  if (auto why = tributary::testing::redis_jobs_backend::skip_reason()) GTEST_SKIP() << why->c_str();
  tributary::testing::redis_jobs_backend backend;
  manual_clock clock;
  auto s = backend.open(clock);
  const std::string first = s->submit(submission("first"));
  const std::string second = s->submit(submission("second"));
  // A worker that died between BLMOVE and the take script: the id sits in its processing list, queued.
  s->heartbeat("crashed");
  backend.raw({"LMOVE", backend.prefix + "queue", backend.prefix + "processing:crashed", "RIGHT", "LEFT"});
  clock.advance(seconds(31));
  EXPECT_TRUE(s->reap_lost_workers().empty());  // nothing was started
  const auto j = s->take("w", milliseconds(0));
  ASSERT_TRUE(j);
  EXPECT_EQ(j->id, first);
  EXPECT_EQ(s->take("w", milliseconds(0))->id, second);
}

TEST(RedisJobStore, DownIsStoreUnavailableWithThePasswordRedacted) {
  manual_clock clock;
  try {
    jobs::basic_redis_job_store<manual_clock> s("redis://:s3cret@127.0.0.1:" + std::to_string(tributary::testing::closed_port()) + "/0", clock);
    FAIL() << "connected to a closed port";
  } catch (const error& e) {
    EXPECT_EQ(e.code(), errc::store_unavailable);
    EXPECT_EQ(std::string(e.what()).find("s3cret"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("127.0.0.1"), std::string::npos) << e.what();
  }
  EXPECT_THROW(jobs::basic_redis_job_store<manual_clock>("http://x", clock), error);
}

}  // namespace
