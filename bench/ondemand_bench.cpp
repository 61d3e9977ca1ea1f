// Collection on demand (tributary::ondemand), each figure against its ceiling in the same run:
//
//   ondemand_get_all/N       a get_all of N synthetic entities from the datasource to the consumer's
//                            applied state: the service answers over JSON-RPC on loopback HTTP in pages,
//                            each made ahead while the one before is read (its datasource pool has a
//                            thread for that beside the datasource's; its persistor queues every event
//                            to a memory_index written by a thread), the consumer's client reads page
//                            after page, the coordinator and entity_state apply them. The threads live
//                            for the process, as a deployed service's do (get_all_threads). Counter
//                            process_cpu_s: the CPU of every thread meanwhile (over the real time: the
//                            cores the pipeline kept busy).
//   get_all_ceiling/N        serializing the same events in the same pages and parsing them back, in
//                            one process.
//   get_all_apply_ceiling/N  the same, each parsed event applied into an entity_state (informational).
//   persistor/N              N events through basic_event_persistor into a fresh sqlite_index index
//                            (serialized, queued, bulk-written, acknowledged).
//   bulk_write_ceiling/N     the same backend's plain bulk_write of the same documents, made beforehand.
//   coordinator_high_latency/N   the wait of high-priority events pushed every ~100 µs while N
//                            low-priority events are being applied: counters p50_us and p99_us.
//   --peak-memory N          (not a benchmark) a get_all of N entities between two processes: each
//                            one's peak resident memory over the answer's JSON bytes.
//   --profile N ROUNDS       (not a benchmark) ROUNDS get_alls of N entities as ondemand_get_all runs
//                            them, each one's wall and CPU time (all threads, and the applying one) and
//                            page faults printed; under perf as
//                            bench/perf_control.hpp says, perf samples rounds 1.. alone (every thread).
//
// The suites run in the steady state of a process that has done the work before, as catalogue_bench's
// (bench/steady_state.hpp): freed memory is kept, and the get_all and apply suites run one round
// untimed first. A process's first get_all also faults in every page it keeps (on this 2-core VM under
// PVM a fault costs ~12 us, and the state and the persistor's store are ~480 MB: ~1.4 s of CPU).
//
// bench/run reports ondemand_get_all_over_ceiling (bar >= 0.5), ondemand_peak_memory_over_events (<= 1.5),
// persistor_over_bulk_write (>= 0.8) and coordinator_high_priority_latency_p99_us, with N = 1 000 000.

#include <benchmark/benchmark.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <future>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <simdjson.h>

#include <tributary/clock/manual.hpp>
#include <tributary/execution/thread_pool.hpp>
#include <tributary/execution/timers.hpp>
#include <tributary/index/memory.hpp>
#include <tributary/index/sqlite.hpp>
#include <tributary/ondemand/consumer.hpp>
#include <tributary/ondemand/coordinator.hpp>
#include <tributary/ondemand/entity_state.hpp>
#include <tributary/ondemand/jsonrpc_http.hpp>
#include <tributary/ondemand/persistor.hpp>
#include <tributary/ondemand/service.hpp>
#include <tributary/server/http_server.hpp>
#include <tributary/transport/curl.hpp>

#include "perf_control.hpp"
#include "steady_state.hpp"

namespace {

using namespace tributary;

entity_event make_event(std::size_t i, event_action action = event_action::snapshot) {
  entity_event e;
  e.datasource = "synthetic";
  e.entity_type = "instance";
  e.entity_id = "vm-" + std::to_string(i);
  e.action = action;
  e.sampled = sample_time(std::chrono::microseconds(1'700'000'000'000'000 + static_cast<std::int64_t>(i)));
  e.payload = "{\"name\":\"web-" + std::to_string(i) + "\",\"status\":\"ACTIVE\",\"host\":\"compute-" + std::to_string(i % 64) +
              "\",\"flavor\":{\"vcpus\":4,\"ram_mb\":8192},\"tags\":[\"prod\",\"eu\"]}";
  return e;
}

std::vector<entity_event> make_events(std::size_t n, event_action action = event_action::snapshot) {
  std::vector<entity_event> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) out.push_back(make_event(i, action));
  return out;
}

/// Pushes copies of prepared events, as a datasource that makes them would (the copy stands for making
/// them; the ceiling copies them too), a page or two ahead of the reader (streaming_datasource).
struct prepared_stream {
  using datasource_concept = datasource_tag;
  using streaming_datasource_concept = streaming_datasource_tag;
  std::shared_ptr<const std::vector<entity_event>> events;
  [[nodiscard]] std::string name() const { return "synthetic"; }
  std::vector<entity_event> get_all(event_action) { return *events; }
  std::vector<entity_event> get_changes() { return {}; }
  void stream_all(event_action, event_sink& sink) {
    for (const auto& e : *events)
      if (!sink.push(e)) return;
  }
};

/// The JSON text of the page of `page` events starting at `at`, as the service answers it: the events
/// copied (as the pipeline's datasource makes them), and either a cursor for the next page or, on the
/// last, the datasource's outcome.
std::string page_text(const std::vector<entity_event>& events, std::size_t at, std::size_t page) {
  ondemand_answer a;
  a.events.assign(events.begin() + static_cast<std::ptrdiff_t>(at), events.begin() + static_cast<std::ptrdiff_t>(std::min(events.size(), at + page)));
  if (at + page >= events.size()) a.outcomes.push_back({"synthetic", outcome_status::ok, "", events.size()});
  else a.next = "0123456789abcdef0123456789abcdef-" + std::to_string(at / page + 2);
  std::string text;
  append_answer_json(text, a);
  return text;
}

/// The JSON bytes of the events as pages of `page` events carry them.
std::size_t answer_bytes(const std::vector<entity_event>& events, std::size_t page) {
  std::size_t bytes = 0;
  for (std::size_t at = 0; at < events.size(); at += page) bytes += page_text(events, at, page).size();
  return bytes;
}

constexpr std::size_t page_events = datasource_service_options{}.page_events;

/// CPU seconds of every thread of this process so far (user and system).
double process_cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto s = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return s(u.ru_utime) + s(u.ru_stime);
}

/// CPU seconds of the calling thread so far (ondemand_get_all applies the events on it).
double thread_cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_THREAD, &u);
  auto s = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return s(u.ru_utime) + s(u.ru_stime);
}

/// Page faults of this process so far (minor: memory touched for the first time, or again after it
/// was given back to the kernel).
long page_faults() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_minflt + u.ru_majflt;
}

/// The threads every get_all_rig of a process runs on, as a deployed service and consumer keep theirs
/// for the life of the process: the service's datasource and HTTP pools, its persistor's writer, and
/// the consumer's timer thread (which reads the pages). Threads made afresh each round would each take
/// whichever of glibc's per-thread arenas is free, rarely the one that holds the memory the previous
/// round's thread freed, and fault in new memory (from 1 000 to 56 000 faults a round, by chance).
/// Even kept, the datasource pool's two threads trade roles now and then (which one runs the datasource
/// and which makes pages ahead is up to whichever wakes first): the first time the other one makes the
/// pages, its arena grows by the persistor's ~300 MB (~70 000 faults, half a round more); from then on
/// both arenas hold it and a trade costs nothing (seen over 3 processes of 12 rounds each: one such
/// round per process, none after it).
struct get_all_threads {
  thread_pool datasource{2, 16}, http{2, 16}, writer{1, 4}, calls{1, 4};
};

/// One get_all's pipeline, built before it runs and torn down after (neither part of the get_all): a
/// fresh service and store, so the events a round persists are not carried into the next one's
/// memory, and a fresh consumer.
class get_all_rig {
 public:
  using consumer_type = basic_ondemand_consumer<basic_jsonrpc_http_client<curl_transport>, manual_clock>;

  get_all_rig(std::shared_ptr<const std::vector<entity_event>> events, curl_transport& transport, manual_clock& clock,
              basic_timer_service<manual_clock>& timers, get_all_threads& threads)
      : timers_(&timers), threads_(&threads), store_(std::make_unique<memory_index>()),
        persistor_(*store_, persistor_options{.queue_capacity = events->size() + 1, .batch_size = 5'000}),
        service_(threads.datasource, persistor_),
        http_(threads.http, jsonrpc_http_handler(service_), {.max_body_bytes = 1 << 20}) {
    service_.add(any_datasource(prepared_stream{std::move(events)}));
    client_.emplace(transport, jsonrpc_http_client_options{.url = "http://127.0.0.1:" + std::to_string(http_.start()) + "/rpc"});
    consumer_.emplace(*client_, timers, clock, consumer_options{});
    writer_ = threads.writer.submit([this] { persistor_.run(); });  // last: nothing after it can throw
  }
  ~get_all_rig() {
    persistor_.wait_flushed();  // the writer's work is not charged to the next round
    consumer_.reset();          // nor is freeing the state of a consumer that, in service, lives on
    http_.stop();
    persistor_.close();
    writer_.get();
  }
  get_all_rig(const get_all_rig&) = delete;
  get_all_rig& operator=(const get_all_rig&) = delete;

  /// The get_all: returns the entities the consumer holds after it, or throws its failure.
  std::size_t run() {
    consumer_->start();
    // The consumer's coordinator holds a bounded part (low_capacity): this thread applies while the
    // timer thread reads pages.
    auto calls = threads_->calls.submit([&] { timers_->run_for(std::chrono::seconds(0)); });
    while (consumer_->stats().get_all_answered == 0 && consumer_->stats().calls_failed == 0)
      consumer_->process_available(std::chrono::milliseconds(10));
    calls.get();
    consumer_->process_available();
    if (consumer_->stats().calls_failed) throw std::runtime_error(consumer_->stats().last_failure);
    return consumer_->state().size();
  }

 private:
  basic_timer_service<manual_clock>* timers_;
  get_all_threads* threads_;
  std::unique_ptr<memory_index> store_;
  basic_event_persistor<memory_index> persistor_;
  basic_datasource_service<thread_pool, memory_index> service_;
  basic_http_server<jsonrpc_http_handler<basic_datasource_service<thread_pool, memory_index>>> http_;
  std::optional<basic_jsonrpc_http_client<curl_transport>> client_;
  std::optional<consumer_type> consumer_;
  std::future<void> writer_;
};

/// What every get_all_rig of a process shares: one curl transport, a manual clock and its timers, the
/// threads. ondemand_get_all's repetitions share one (shared_get_all_client), so that a repetition's
/// timed round finds the threads as a later round of a deployed service would, not fresh ones that
/// have yet to trade roles once (get_all_threads).
struct get_all_client {
  curl_library curl;
  curl_transport transport{curl, [] {
    curl_options co;
    co.max_attempts = 1;
    co.total_timeout = std::chrono::minutes(5);
    return co;
  }()};
  manual_clock clock;
  basic_timer_service<manual_clock> timers{clock};
  get_all_threads threads;
};

get_all_client& shared_get_all_client() {
  static get_all_client client;
  return client;
}

void ondemand_get_all(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  auto events = std::make_shared<const std::vector<entity_event>>(make_events(n));
  get_all_client& c = shared_get_all_client();
  std::size_t held = 0;
  double cpu = 0;
  try {
    // One untimed round first, as the copy-merge suites do (bench/steady_state.hpp): the timed ones
    // run in the steady state of a process that has held a million entities before.
    (void)get_all_rig(events, c.transport, c.clock, c.timers, c.threads).run();
    for (auto _ : state) {
      state.PauseTiming();
      auto rig = std::make_unique<get_all_rig>(events, c.transport, c.clock, c.timers, c.threads);
      const double cpu_before = process_cpu_seconds();
      state.ResumeTiming();
      held = rig->run();
      state.PauseTiming();
      cpu += process_cpu_seconds() - cpu_before;
      rig.reset();
      state.ResumeTiming();
    }
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  if (held != n) state.SkipWithError("the consumer does not hold every entity");
  // Every thread's CPU (both processes' work is in this one): over the real time, how many of the
  // machine's cores the pipeline kept busy.
  state.counters["process_cpu_s"] = benchmark::Counter(cpu / static_cast<double>(state.iterations()));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * n));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * answer_bytes(*events, page_events)));
}

/// Serializing the same events in the same pages and parsing them back, in one process: the pipeline
/// without its transfer, threads, persistor, coordinator and state.
void get_all_ceiling(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto events = make_events(n);
  std::size_t bytes = 0, parsed = 0;
  simdjson::dom::parser parser;
  for (auto _ : state) {
    bytes = parsed = 0;
    for (std::size_t at = 0; at < n; at += page_events) {
      const std::string text = page_text(events, at, page_events);
      simdjson::dom::element root;
      if (parser.parse(simdjson::padded_string(text)).get(root)) state.SkipWithError("not JSON");
      ondemand_answer back = parse_answer(root);
      benchmark::DoNotOptimize(back.events.data());
      bytes += text.size();
      parsed += back.events.size();
    }
  }
  if (parsed != n) state.SkipWithError("the ceiling lost events");
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * n));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes));
}

/// get_all_ceiling with every parsed event applied into an entity_state, in one thread: what the
/// pipeline does minus its transfer, threads, persistor and coordinator. Informational, beside the bar:
/// the part of the gap to get_all_ceiling that holding a million entities costs on its own. The state is
/// freed outside the timed part, as ondemand_get_all frees its consumer's.
void get_all_apply_ceiling(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto events = make_events(n);
  simdjson::dom::parser parser;
  auto apply_all = [&] {
    auto applied = std::make_unique<entity_state>();
    const auto seen = std::chrono::system_clock::time_point{};
    for (std::size_t at = 0; at < n; at += page_events) {
      const std::string text = page_text(events, at, page_events);
      simdjson::dom::element root;
      if (parser.parse(simdjson::padded_string(text)).get(root)) state.SkipWithError("not JSON");
      ondemand_answer back = parse_answer(root);
      for (auto& e : back.events) (void)applied->apply(std::move(e), seen);
    }
    return applied;
  };
  (void)apply_all();  // untimed, as ondemand_get_all's first round (bench/steady_state.hpp)
  std::size_t held = 0;
  for (auto _ : state) {
    auto applied = apply_all();
    held = applied->size();
    state.PauseTiming();
    applied.reset();
    state.ResumeTiming();
  }
  if (held != n) state.SkipWithError("the ceiling does not hold every entity");
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * n));
}

std::filesystem::path scratch_file(const char* name) {
  auto p = std::filesystem::temp_directory_path() / (std::string("tributary-ondemand-bench-") + name + ".db");
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(p.string() + suffix);
  return p;
}

void persistor(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto events = make_events(n);
  const auto path = scratch_file("persistor");
  sqlite_index store(path.string());
  int round = 0;
  for (auto _ : state) {
    state.PauseTiming();
    basic_event_persistor<sqlite_index> p(store, {.index = "events-" + std::to_string(round++), .batch_size = 1'000});
    state.ResumeTiming();
    std::thread writer([&] { p.run(); });
    (void)p.enqueue(events);
    p.close();
    writer.join();
    if (p.stats().written != n) state.SkipWithError("not every event written");
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * n));
}

void bulk_write_ceiling(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto events = make_events(n);
  std::vector<stored_document> docs;
  docs.reserve(n);
  for (std::size_t i = 0; i < n; ++i) docs.push_back({persisted_event_id("bench", i), event_json(events[i])});
  const auto path = scratch_file("bulk");
  sqlite_index store(path.string());
  int round = 0;
  for (auto _ : state) {
    state.PauseTiming();
    const std::string index = "events-" + std::to_string(round++);
    store.create_index(index);
    state.ResumeTiming();
    for (std::size_t at = 0; at < n; at += 1'000) {
      const auto r = store.bulk_write(index, std::span<const stored_document>(docs).subspan(at, std::min<std::size_t>(1'000, n - at)));
      if (!r.ok()) state.SkipWithError("a bulk write failed");
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * n));
}

/// Low-priority events applied on one thread while another pushes a high-priority event every ~100 µs
/// and records how long each waited to be taken.
void coordinator_high_latency(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto events = make_events(n);
  struct item {
    entity_event event;
    std::chrono::steady_clock::time_point pushed{};
  };
  std::vector<double> waits_us;
  for (auto _ : state) {
    state.PauseTiming();
    basic_event_coordinator<item> coordinator({.low_capacity = n + 1});
    for (const auto& e : events) coordinator.push(event_priority::low, item{e, {}});
    entity_state applied;
    std::atomic<bool> done{false};
    std::vector<double> waits;
    state.ResumeTiming();
    std::thread pusher([&] {
      entity_event high = events.front();
      high.entity_id = "evaluator-action";
      while (!done.load(std::memory_order_relaxed)) {
        coordinator.push(event_priority::high, item{high, std::chrono::steady_clock::now()});
        std::this_thread::sleep_for(std::chrono::microseconds(100));
      }
    });
    const auto at = std::chrono::system_clock::time_point{};
    std::size_t low = 0;
    while (low < n) {
      auto next = coordinator.try_pop();
      if (!next) continue;
      if (next->first == event_priority::high)
        waits.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - next->second.pushed).count());
      else
        ++low;
      (void)applied.apply(next->second.event, at);
    }
    done = true;
    pusher.join();
    state.PauseTiming();
    waits_us.insert(waits_us.end(), waits.begin(), waits.end());
    state.ResumeTiming();
  }
  std::sort(waits_us.begin(), waits_us.end());
  auto pct = [&](double q) { return waits_us.empty() ? 0.0 : waits_us[static_cast<std::size_t>(q * static_cast<double>(waits_us.size() - 1))]; };
  state.counters["p50_us"] = pct(0.50);
  state.counters["p99_us"] = pct(0.99);
  state.counters["high_events"] = static_cast<double>(waits_us.size());
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * n));
}

BENCHMARK(ondemand_get_all)->Arg(1'000'000)->Iterations(1)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(get_all_ceiling)->Arg(1'000'000)->Iterations(1)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(get_all_apply_ceiling)->Arg(1'000'000)->Iterations(1)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(persistor)->Arg(20'000)->Iterations(5)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(bulk_write_ceiling)->Arg(20'000)->Iterations(5)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(coordinator_high_latency)->Arg(1'000'000)->Iterations(1)->UseRealTime()->Unit(benchmark::kMillisecond);

/// Makes its events as it streams them: a service holding none but its pages.
struct making_stream {
  using datasource_concept = datasource_tag;
  using streaming_datasource_concept = streaming_datasource_tag;
  std::size_t n;
  [[nodiscard]] std::string name() const { return "synthetic"; }
  std::vector<entity_event> get_all(event_action) { return make_events(n); }
  std::vector<entity_event> get_changes() { return {}; }
  void stream_all(event_action a, event_sink& sink) {
    for (std::size_t i = 0; i < n; ++i)
      if (!sink.push(make_event(i, a))) return;
  }
};

/// --peak-memory N: a get_all of N entities between two processes over loopback HTTP, as deployed: a
/// collector service (a datasource that makes its events as it streams them, its persistor writing
/// them to SQLite in a scratch file) and a consumer applying them to its state. Prints a JSON line of
/// each process's peak resident memory against the answer's JSON bytes.
int peak_memory(std::size_t n) {
  auto peak_rss = [] {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return static_cast<std::size_t>(u.ru_maxrss) * 1024;  // kilobytes on Linux
  };
  int port_pipe[2], stop_pipe[2], result_pipe[2];
  if (pipe(port_pipe) || pipe(stop_pipe) || pipe(result_pipe)) return perror("pipe"), 1;
  const pid_t child = fork();
  if (child < 0) return perror("fork"), 1;
  if (child == 0) {  // the collector service
    const auto path = scratch_file("peak-events");
    sqlite_index store(path.string());
    basic_event_persistor<sqlite_index> persistor(store, {.batch_size = 5'000});
    std::thread writer([&] { persistor.run(); });
    thread_pool datasource_pool(2, 16), http_pool(2, 16);  // a thread for the datasource, one for read-ahead
    basic_datasource_service service(datasource_pool, persistor);
    service.add(any_datasource(making_stream{n}));
    basic_http_server http(http_pool, jsonrpc_http_handler(service), {.max_body_bytes = 1 << 20});
    const std::uint16_t port = http.start();
    if (write(port_pipe[1], &port, sizeof port) != sizeof port) _exit(1);
    char byte = 0;
    if (read(stop_pipe[0], &byte, 1) != 1) _exit(1);  // the consumer is done
    http.stop();
    persistor.close();
    writer.join();
    const std::size_t rss = peak_rss(), written = persistor.stats().written;
    if (write(result_pipe[1], &rss, sizeof rss) != sizeof rss || write(result_pipe[1], &written, sizeof written) != sizeof written) _exit(1);
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path.string() + suffix);
    _exit(0);
  }
  std::uint16_t port = 0;
  if (read(port_pipe[0], &port, sizeof port) != sizeof port) return std::fprintf(stderr, "the service did not start\n"), 1;
  std::size_t held = 0, pages = 0;
  {
    curl_library curl;
    curl_options co;
    co.max_attempts = 1;
    co.total_timeout = std::chrono::minutes(5);
    curl_transport transport(curl, co);
    basic_jsonrpc_http_client client(transport, {.url = "http://127.0.0.1:" + std::to_string(port) + "/rpc"});
    manual_clock clock;
    basic_timer_service timers(clock);
    basic_ondemand_consumer<basic_jsonrpc_http_client<curl_transport>, manual_clock> consumer(client, timers, clock, consumer_options{});
    consumer.start();
    std::thread calls([&] { timers.run_for(std::chrono::seconds(0)); });
    while (consumer.stats().get_all_answered == 0 && consumer.stats().calls_failed == 0)
      consumer.process_available(std::chrono::milliseconds(10));
    calls.join();
    consumer.process_available();
    held = consumer.state().size();
    pages = consumer.stats().pages + 1;
    if (consumer.stats().calls_failed) std::fprintf(stderr, "get_all failed: %s\n", consumer.stats().last_failure.c_str());
  }
  const std::size_t consumer_rss = peak_rss();
  const char byte = 1;
  std::size_t service_rss = 0, written = 0;
  if (write(stop_pipe[1], &byte, 1) != 1 || read(result_pipe[0], &service_rss, sizeof service_rss) != sizeof service_rss ||
      read(result_pipe[0], &written, sizeof written) != sizeof written)
    return std::fprintf(stderr, "the service did not report\n"), 1;
  int status = 0;
  waitpid(child, &status, 0);
  // The answer's bytes, made again one event at a time (so that counting them raises no peak).
  std::size_t bytes = 0;
  for (std::size_t i = 0; i < n; ++i) bytes += event_json(make_event(i, event_action::init_snapshot)).size() + 1;
  std::printf("{\"entities\":%zu,\"held\":%zu,\"pages\":%zu,\"persisted\":%zu,\"answer_bytes\":%zu,"
              "\"service_peak_rss\":%zu,\"consumer_peak_rss\":%zu,\"service_over_bytes\":%.3f,\"consumer_over_bytes\":%.3f}\n",
              n, held, pages, written, bytes, service_rss, consumer_rss, static_cast<double>(service_rss) / static_cast<double>(bytes),
              static_cast<double>(consumer_rss) / static_cast<double>(bytes));
  return held == n && written == n && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}

/// --profile N ROUNDS: ondemand_get_all's rounds, round 0 the untimed one.
int profile_get_all(std::size_t n, int rounds) {
  auto events = std::make_shared<const std::vector<entity_event>>(make_events(n));
  get_all_client c;
  for (int r = 0; r < rounds; ++r) {
    auto rig = std::make_unique<get_all_rig>(events, c.transport, c.clock, c.timers, c.threads);
    const auto began = std::chrono::steady_clock::now();
    const double cpu = process_cpu_seconds();
    const long faults = page_faults();
    const double applying = thread_cpu_seconds();
    if (r > 0) tributary::bench::perf_counting(true);
    const std::size_t held = rig->run();
    if (r > 0) tributary::bench::perf_counting(false);
    std::printf("round %d: %.1f ms wall, %.1f ms CPU (every thread), %.1f ms applying, %ld page faults, %zu entities held\n", r,
                std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - began).count(),
                1000.0 * (process_cpu_seconds() - cpu), 1000.0 * (thread_cpu_seconds() - applying), page_faults() - faults, held);
    if (held != n) return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::string_view(argv[1]) == "--peak-memory") return peak_memory(std::stoul(argv[2]));
  if (argc == 4 && std::string_view(argv[1]) == "--profile") {
    tributary::bench::steady_state_allocator();
    const auto positive = [](std::string_view text) {
      std::size_t v = 0;
      const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
      return ec == std::errc() && end == text.data() + text.size() ? v : 0;
    };
    const std::size_t n = positive(argv[2]), rounds = positive(argv[3]);
    if (n == 0 || rounds == 0) {
      std::fprintf(stderr, "usage: ondemand_bench --profile N ROUNDS (N entities, ROUNDS get_alls: positive integers)\n");
      return 2;
    }
    try {
      return profile_get_all(n, static_cast<int>(rounds));
    } catch (const std::exception& e) {
      std::fprintf(stderr, "ondemand_bench --profile: %s\n", e.what());
      return 1;
    }
  }
  tributary::bench::steady_state_allocator();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
