// jobs_bench: the job executor (include/tributary/jobs/) on the Redis server scripts/services starts
// (TRIBUTARY_REDIS_URL), each measured beside its ceiling in the same run (bench/run reports the ratios
// into bench-results.json):
//
//   jobs_throughput/N        N no-op jobs (they report one progress and return {}) submitted through
//                            POST /execution/run over loopback HTTP (basic_job_api, one client), queued
//                            in redis_job_store, taken and run by 4 worker processes (basic_worker, each
//                            job in a child process of its own, as jobs_worker runs them); timed from the
//                            first submission to the last job finished. items_per_second: jobs/s.
//   redis_lifecycle_ceiling/N  the Redis round trips the same lifecycle needs, with hiredis and nothing
//                            else, at the same concurrency: one client enqueues (HSET + LPUSH, one round
//                            trip pipelined), 4 connections each take (BLMOVE), mark started (HSET),
//                            report progress (RPUSH) and complete (HSET). items_per_second: jobs/s.
//   jobs_enqueue_to_start/200  200 jobs submitted at once to 4 idle workers: for each, the time from its
//                            /execution/run answer to its first progress report; counters p50_ms and
//                            p99_ms (over the 200 jobs of every iteration).
//
// Each benchmark uses a key prefix of its own, deleted afterwards.

#include <benchmark/benchmark.h>

#include <hiredis/hiredis.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <simdjson.h>

#include <tributary/clock/wall.hpp>
#include <tributary/execution/thread_pool.hpp>
#include <tributary/jobs/api.hpp>
#include <tributary/jobs/redis_job_store.hpp>
#include <tributary/jobs/worker.hpp>
#include <tributary/server/http_server.hpp>
#include <tributary/transport/curl.hpp>

namespace {

using namespace tributary;
using namespace std::chrono;

struct noop_settings {
  using settings_concept = jobs::settings_tag;
  std::int64_t n = 0;
  static constexpr auto settings() { return std::tuple{jobs::setting("n", &noop_settings::n).defaults_to(0)}; }
};
struct noop_platform {
  using platform_concept = jobs::platform_tag;
  using settings_type = noop_settings;
  static constexpr std::string_view id = "noop", display_name = "No-op (benchmarks)";
  static constexpr unsigned max_attempts = 1;
  static constexpr std::chrono::seconds time_limit{60};
  std::string run(const noop_settings&, jobs::job_context& context) {
    context.progress("run", "started");
    return "{}";
  }
};
using platforms = jobs::platform_list<noop_platform>;

constexpr int worker_count = 4;

std::string redis_url() {
  const char* url = std::getenv("TRIBUTARY_REDIS_URL");
  if (!url) throw std::runtime_error("TRIBUTARY_REDIS_URL is unset: scripts/services start, then source build/services/env");
  return url;
}

std::string fresh_prefix() { return "tributary-bench:" + jobs::new_job_id() + ":"; }

/// One hiredis connection on the Redis of TRIBUTARY_REDIS_URL, its database selected.
struct redis_connection {
  redis_connection() {
    const auto a = jobs::detail::parse_redis_url(redis_url());
    c = redisConnect(a.host.c_str(), a.port);
    if (!c || c->err) throw std::runtime_error("cannot connect to Redis");
    if (a.db) freeReplyObject(redisCommand(c, "SELECT %d", a.db));
  }
  ~redis_connection() { redisFree(c); }
  redis_connection(const redis_connection&) = delete;
  redis_connection& operator=(const redis_connection&) = delete;
  redisReply* run(const std::vector<std::string>& args) {
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    for (const auto& s : args) argv.push_back(s.data()), lens.push_back(s.size());
    return static_cast<redisReply*>(redisCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lens.data()));
  }
  void drop_prefix(const std::string& prefix) {
    auto* keys = run({"KEYS", prefix + "*"});  // a benchmark's own few keys
    if (keys && keys->type == REDIS_REPLY_ARRAY)
      for (size_t i = 0; i < keys->elements; ++i) freeReplyObject(run({"DEL", std::string(keys->element[i]->str, keys->element[i]->len)}));
    if (keys) freeReplyObject(keys);
  }
  redisContext* c = nullptr;
};

/// worker_count worker processes, forked before this process starts any thread, each one basic_worker
/// taking jobs until SIGTERM: what examples/jobs_worker runs.
class worker_pool {
 public:
  explicit worker_pool(const std::string& prefix) {
    const pid_t parent = ::getpid();
    for (int i = 0; i < worker_count; ++i) {
      const pid_t pid = ::fork();
      if (pid < 0) throw std::runtime_error("fork failed");
      if (pid == 0) {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) ::_exit(3);
        ::signal(SIGTERM, [](int) { stopping = 1; });
        run_worker(prefix, i);
        ::_exit(0);
      }
      pids_.push_back(pid);
    }
  }
  ~worker_pool() {
    for (const pid_t p : pids_) ::kill(p, SIGTERM);
    for (const pid_t p : pids_) ::waitpid(p, nullptr, 0);
  }

 private:
  static inline volatile sig_atomic_t stopping = 0;
  static void run_worker(const std::string& prefix, int i) {
    wall_clock clock;
    jobs::redis_job_store_options o;
    o.prefix = prefix;
    jobs::worker_options w;
    w.name = "bench-" + std::to_string(i);
    w.poll_wait = milliseconds(100);
    jobs::basic_worker<jobs::redis_job_store, platforms> worker(
      [&] { return std::make_unique<jobs::redis_job_store>(redis_url(), clock, o); }, clock, w);
    while (!stopping) {
      try {
        (void)worker.run_next();
      } catch (const error&) {
        std::this_thread::sleep_for(milliseconds(100));
      }
    }
  }
  std::vector<pid_t> pids_;
};

/// The API over a redis_job_store on loopback, and a client for it.
class api_under_test {
 public:
  explicit api_under_test(const std::string& prefix)
      : store_(redis_url(), clock_, options(prefix)), pool_(2, 256),
        server_(pool_, jobs::basic_job_api<jobs::redis_job_store, platforms>(store_, clock_), server_options{}),
        client_(curl_, client_options()) {
    server_.start();
  }
  /// POST /execution/run of a no-op job; its id.
  std::string submit() {
    http_request r;
    r.method = "POST";
    r.url = server_.base_url() + "/execution/run";
    r.body = R"({"_id": "bench", "platform_id": "noop", "settings": {}})";
    r.headers.emplace_back("Content-Type", "application/json");
    r.idempotent = false;
    const auto res = client_.perform(std::move(r));
    if (res.status != 200) throw std::runtime_error("execution/run answered " + std::to_string(res.status) + ": " + res.body);
    const auto at = res.body.find("\"job_id\":\"");
    return res.body.substr(at + 10, 32);
  }
  jobs::redis_job_store& store() { return store_; }

 private:
  static jobs::redis_job_store_options options(const std::string& prefix) {
    jobs::redis_job_store_options o;
    o.prefix = prefix;
    return o;
  }
  static curl_options client_options() {
    curl_options o;
    o.max_attempts = 1;
    return o;
  }
  wall_clock clock_;
  jobs::redis_job_store store_;
  thread_pool pool_;
  basic_http_server<jobs::basic_job_api<jobs::redis_job_store, platforms>> server_;
  curl_library curl_;
  curl_transport client_;
};

/// The jobs finished under `prefix`: one ZCARD (counts() would also walk the active jobs).
std::size_t finished(redis_connection& c, const std::string& prefix) {
  auto* r = c.run({"ZCARD", prefix + "registry:finished"});
  const auto n = r && r->type == REDIS_REPLY_INTEGER ? static_cast<std::size_t>(r->integer) : 0;
  if (r) freeReplyObject(r);
  return n;
}

void bm_jobs_throughput(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const std::string prefix = fresh_prefix();
  {
    worker_pool workers(prefix);  // before any thread of this process
    api_under_test api(prefix);
    redis_connection watch;
    std::size_t done_before = 0;
    for (auto _ : state) {
      const auto t0 = steady_clock::now();
      for (std::size_t i = 0; i < n; ++i) (void)api.submit();
      while (finished(watch, prefix) < done_before + n) std::this_thread::sleep_for(microseconds(500));
      state.SetIterationTime(duration<double>(steady_clock::now() - t0).count());
      done_before += n;
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
  }
  redis_connection().drop_prefix(prefix);
}
BENCHMARK(bm_jobs_throughput)->Name("jobs_throughput")->Arg(400)->Iterations(3)->UseManualTime()->Unit(benchmark::kMillisecond);

void bm_redis_lifecycle_ceiling(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const std::string prefix = fresh_prefix();
  redis_connection producer;
  for (auto _ : state) {
    std::atomic<std::size_t> completed{0};
    const auto t0 = steady_clock::now();
    std::vector<std::thread> takers;
    for (int w = 0; w < worker_count; ++w)
      takers.emplace_back([&, w] {
        redis_connection c;
        const std::string processing = prefix + "processing:" + std::to_string(w);
        while (completed.load() < n) {
          auto* id = c.run({"BLMOVE", prefix + "queue", processing, "RIGHT", "LEFT", "0.05"});
          if (!id || id->type != REDIS_REPLY_STRING) {
            if (id) freeReplyObject(id);
            continue;
          }
          const std::string job = prefix + "job:" + std::string(id->str, id->len);
          freeReplyObject(id);
          freeReplyObject(c.run({"HSET", job, "status", "started", "worker", processing}));
          freeReplyObject(c.run({"RPUSH", job + ":progress", "run", "started"}));
          freeReplyObject(c.run({"HSET", job, "status", "finished", "result", "{}"}));
          ++completed;
        }
      });
    for (std::size_t i = 0; i < n; ++i) {
      const std::string id = jobs::new_job_id();
      redisAppendCommand(producer.c, "HSET %s status queued platform noop", (prefix + "job:" + id).c_str());
      redisAppendCommand(producer.c, "LPUSH %s %s", (prefix + "queue").c_str(), id.c_str());
      for (int k = 0; k < 2; ++k) {
        void* reply = nullptr;
        if (redisGetReply(producer.c, &reply) != REDIS_OK) throw std::runtime_error("Redis failed");
        freeReplyObject(reply);
      }
    }
    for (auto& t : takers) t.join();
    state.SetIterationTime(duration<double>(steady_clock::now() - t0).count());
    state.PauseTiming();
    producer.drop_prefix(prefix);
    state.ResumeTiming();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(bm_redis_lifecycle_ceiling)->Name("redis_lifecycle_ceiling")->Arg(400)->Iterations(3)->UseManualTime()->Unit(benchmark::kMillisecond);

void bm_jobs_enqueue_to_start(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const std::string prefix = fresh_prefix();
  std::vector<double> waits_ms;
  {
    worker_pool workers(prefix);
    api_under_test api(prefix);
    redis_connection watch;
    std::this_thread::sleep_for(milliseconds(300));  // the workers are up and waiting
    std::size_t done_before = 0;
    for (auto _ : state) {
      std::vector<std::pair<std::string, system_clock::time_point>> answered;
      const auto t0 = steady_clock::now();
      for (std::size_t i = 0; i < n; ++i) {
        std::string id = api.submit();
        answered.emplace_back(std::move(id), system_clock::now());
      }
      while (finished(watch, prefix) < done_before + n) std::this_thread::sleep_for(microseconds(500));
      state.SetIterationTime(duration<double>(steady_clock::now() - t0).count());
      done_before += n;
      for (const auto& [id, at] : answered) {
        const auto job = api.store().get(id, false);
        if (!job || job->progress.empty()) throw std::runtime_error("a job reported no progress");
        waits_ms.push_back(std::max(0.0, duration<double, std::milli>(job->progress.front().at - at).count()));
      }
    }
  }
  redis_connection().drop_prefix(prefix);
  std::sort(waits_ms.begin(), waits_ms.end());
  auto at = [&](double q) { return waits_ms[std::min(waits_ms.size() - 1, static_cast<std::size_t>(q * static_cast<double>(waits_ms.size())))]; };
  state.counters["p50_ms"] = at(0.50);
  state.counters["p99_ms"] = at(0.99);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(bm_jobs_enqueue_to_start)->Name("jobs_enqueue_to_start")->Arg(200)->Iterations(3)->UseManualTime()->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
