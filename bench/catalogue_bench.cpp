// tributary's benchmark suites: merge, copy-merge, baseline, ceilings and stores, over the generated
// catalogues of bench/catalogue_generator.hpp. Every suite reports items/s and bytes/s; the size
// (services in the catalogue) is the argument. Benchmarks are registered catalogue by catalogue, so
// each catalogue is generated once, serves every suite, and is dropped before the next is built.
//
//   catalogue_bench [google benchmark flags]
//   (text_read/<profile>/<n>: the text reader alone over the bytes ceiling_dom parses, informational.)
//   catalogue_bench --peak-memory <realistic|compact> <services> <streamed|resident>
//       one copy-merge in this process; prints its peak resident memory over its input bytes as JSON.
//       `streamed`: the peer's pages come from the generator as a remote store would hand them out;
//       `resident`: the peer's published index is a second memory_index in this process.
//   catalogue_bench --profile <realistic|compact> <services> <rounds> [cold|warm]
//       copy-merge rounds for a profiler; only profile_round does the timed work. `cold` (the default):
//       every round's inputs are built first; `warm`: each round's just before it, as the suites do.
//       Under perf as bench/perf_control.hpp says, perf samples rounds 1.. alone.

#include <benchmark/benchmark.h>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <sys/resource.h>
#include <system_error>
#include <unistd.h>
#include <vector>

#include <tributary/catalogue/document_text.hpp>
#include <tributary/index/sqlite.hpp>

#include "catalogue_generator.hpp"
#include "perf_control.hpp"
#include "steady_state.hpp"
#include "workloads.hpp"

namespace {

using namespace tributary;
using namespace tributary::bench;

constexpr std::string_view worker_name = "apicatalogue-dev20210219_121308620";

/// The catalogue the benchmarks registered next need; the previous one is dropped first so that only
/// one large catalogue is in memory at a time.
const catalogue& catalogue_for(profile p, std::size_t services) {
  static std::unique_ptr<catalogue> current;
  if (!current || current->kind != p || current->services != services) {
    current.reset();
    current = std::make_unique<catalogue>(generate_catalogue(p, services));
  }
  return *current;
}

void set_counters(benchmark::State& state, std::size_t items, std::size_t bytes) {
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * items));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes));
}

// ---- merge: the merge strategy alone, on parsed documents -------------------------------------------

void bm_merge(benchmark::State& state, profile p) {
  const auto& c = catalogue_for(p, static_cast<std::size_t>(state.range(0)));
  document_parser parser;
  std::map<std::string, service, std::less<>> locals;
  for (const auto& d : c.local) locals.emplace(d.id, parser.parse(d.json));
  struct job {
    service* local;
    service remote;
    environment_entry entry;
  };
  std::vector<job> jobs;
  for (const auto& d : c.peer) {
    service remote = parser.parse(d.json);
    environment_entry entry = *remote.entry(peer_environment);
    auto it = locals.find(remote.id);
    jobs.push_back({it == locals.end() ? nullptr : &it->second, std::move(remote), std::move(entry)});
  }
  const environment_union merge;
  for (auto _ : state) {
    for (auto& j : jobs) {
      if (j.local) {
        merge.merge(*j.local, j.entry);
      } else {
        auto adopted = merge.adopt(j.remote, j.entry);
        benchmark::DoNotOptimize(adopted);
      }
    }
  }
  set_counters(state, jobs.size(), c.merge_input_bytes());
}

// ---- copy-merge: peer JSON parsed, merged into a memory_index worker, bulk bodies serialized ---------

void bm_copy_merge(benchmark::State& state, profile p) {
  const auto& c = catalogue_for(p, static_cast<std::size_t>(state.range(0)));
  // Each round: a fresh worker holding the local documents, and the peer's pages as its store's scan
  // hands them out (neither is part of the copy-merge).
  auto round = [&] {
    auto store = std::make_unique<memory_index>();
    load_worker(*store, worker_name, c.local);
    return std::pair(std::move(store), scan_pages_of(c.peer));
  };
  {
    auto [store, pages] = round();  // warm-up, untimed (bench/steady_state.hpp)
    (void)engine_copy_merge(*store, worker_name, std::move(pages));
  }
  for (auto _ : state) {
    state.PauseTiming();
    auto [store, pages] = round();
    state.ResumeTiming();
    const auto counts = engine_copy_merge(*store, worker_name, std::move(pages));
    benchmark::DoNotOptimize(counts);
    state.PauseTiming();
    store.reset();  // freeing the worker and the emptied pages is not part of the copy-merge
    pages = {};
    state.ResumeTiming();
  }
  set_counters(state, c.peer.size(), c.merge_input_bytes());
}

// ---- baseline: the same copy-merge with nlohmann::json and std::unordered_map ------------------------

void bm_baseline(benchmark::State& state, profile p) {
  const auto& c = catalogue_for(p, static_cast<std::size_t>(state.range(0)));
  const auto pages = pages_of(c.peer);
  auto round = [&] {
    auto worker = std::make_unique<std::unordered_map<std::string, std::string>>();
    for (const auto& d : c.local) worker->emplace(d.id, d.json);
    return worker;
  };
  (void)baseline::copy_merge(*round(), pages);  // warm-up, untimed, as for the engine
  for (auto _ : state) {
    state.PauseTiming();
    auto worker = round();
    state.ResumeTiming();
    const auto counts = baseline::copy_merge(*worker, pages);
    benchmark::DoNotOptimize(counts);
    state.PauseTiming();
    worker.reset();
    state.ResumeTiming();
  }
  set_counters(state, c.peer.size(), c.merge_input_bytes());
}

// ---- ceilings: simdjson DOM parse of the same bytes; memcpy of the same bytes ------------------------

/// The whole parse on the thread being measured (`threaded`: false), as copy-merge runs, is the ceiling
/// the ratios use. With `threaded`, parse_many runs stage 1 (the scan of every byte) on threads of its
/// own while this one builds the tape: that one is measured in wall time (its rates below come from the
/// real time), since this thread's CPU time would leave out the work of the others. It is there to show
/// what the parser does with both cores; copy-merge uses one.
void bm_ceiling_dom(benchmark::State& state, profile p, bool threaded) {
  const auto& c = catalogue_for(p, static_cast<std::size_t>(state.range(0)));
  const auto ndjson = merge_input_ndjson(c);
  simdjson::dom::parser parser;
#ifdef SIMDJSON_THREADS_ENABLED
  parser.threaded = threaded;
#else
  if (threaded) {
    state.SkipWithError("this simdjson was built without threads");
    return;
  }
#endif
  std::size_t docs = 0;
  for (auto _ : state) docs = dom_parse_ceiling(parser, ndjson);
  state.counters["documents"] = static_cast<double>(docs);
  set_counters(state, c.peer.size(), c.merge_input_bytes());
}

/// The fast path's reader alone (text_document::read) over the documents the DOM ceiling parses, from the
/// same buffer: how copy-merge's reading compares with the parse it is measured against, apart from the
/// merge, the store and the writing (informational; the next step for the compact ratio is here or not).
void bm_text_read(benchmark::State& state, profile p) {
  const auto& c = catalogue_for(p, static_cast<std::size_t>(state.range(0)));
  const auto ndjson = merge_input_ndjson(c);
  std::vector<std::string_view> docs;
  const std::string_view all(ndjson.data(), ndjson.size());
  for (std::size_t at = 0; at < all.size();) {
    const std::size_t end = std::min(all.find('\n', at), all.size());
    docs.push_back(all.substr(at, end - at));
    at = end + 1;
  }
  text_document doc;
  for (auto _ : state) {
    std::size_t read = 0;
    for (auto d : docs) read += doc.read(d) ? 1 : 0;
    if (read != docs.size()) {
      state.SkipWithError("a generated document was not read as text");
      return;
    }
    benchmark::DoNotOptimize(doc);
  }
  state.counters["documents"] = static_cast<double>(docs.size());
  set_counters(state, c.peer.size(), c.merge_input_bytes());
}

void bm_ceiling_memcpy(benchmark::State& state, profile p) {
  const auto& c = catalogue_for(p, static_cast<std::size_t>(state.range(0)));
  const auto ndjson = merge_input_ndjson(c);
  std::unique_ptr<char[]> target(new char[ndjson.size()]);
  std::memset(target.get(), 0, ndjson.size());  // fault the pages in before timing
  for (auto _ : state) {
    std::memcpy(target.get(), ndjson.data(), ndjson.size());
    benchmark::ClobberMemory();
  }
  set_counters(state, c.peer.size(), c.merge_input_bytes());
}

// ---- stores: sqlite_index bulk write against a plain prepared insert ---------------------------------

std::filesystem::path scratch_directory() {
  const char* env = std::getenv("TRIBUTARY_BENCH_TMP");
  auto dir = std::filesystem::path(env && *env ? env : std::filesystem::temp_directory_path().string()) /
             ("tributary-bench-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  return dir;
}

std::size_t row_bytes(const std::vector<stored_document>& rows) {
  std::size_t n = 0;
  for (const auto& d : rows) n += d.id.size() + d.json.size();
  return n;
}

void bm_store_sqlite_index(benchmark::State& state, profile p) {
  const auto& c = catalogue_for(p, static_cast<std::size_t>(state.range(0)));
  const auto dir = scratch_directory();
  const auto path = (dir / "sqlite_index.db").string();
  std::filesystem::remove(path);
  {
    sqlite_index store(path);
    int round = 0;
    for (auto _ : state) {
      state.PauseTiming();
      const std::string index = "bench-" + std::to_string(round++);
      store.create_index(index);
      state.ResumeTiming();
      const auto result = store.bulk_write(index, c.local);
      if (!result.ok()) state.SkipWithError("bulk write failed");
    }
  }
  std::filesystem::remove_all(dir);
  set_counters(state, c.local.size(), row_bytes(c.local));
}

void bm_store_plain_insert(benchmark::State& state, profile p) {
  const auto& c = catalogue_for(p, static_cast<std::size_t>(state.range(0)));
  const auto dir = scratch_directory();
  const auto path = (dir / "plain.db").string();
  std::filesystem::remove(path);
  {
    sqlite_index schema(path);  // the same file layout as sqlite_index's
    plain_sqlite_insert plain(path);
    int round = 0;
    for (auto _ : state) {
      state.PauseTiming();
      const std::string index = "bench-" + std::to_string(round++);
      schema.create_index(index);
      state.ResumeTiming();
      plain.write(index, c.local);
    }
  }
  std::filesystem::remove_all(dir);
  set_counters(state, c.local.size(), row_bytes(c.local));
}

// ---- registration -----------------------------------------------------------------------------------

struct size_plan {
  profile kind;
  std::size_t services;
  bool merge, baseline, stores;
  int iterations;  ///< 0: --benchmark_min_time decides
};

void register_all() {
  const size_plan plans[] = {
    {profile::realistic, 1000, true, true, false, 0},
    {profile::realistic, 10000, true, true, false, 0},
    {profile::realistic, 100000, false, false, false, 2},
    {profile::compact, 10000, true, true, true, 0},
    {profile::compact, 100000, true, true, false, 0},
    {profile::compact, 1000000, false, false, false, 2},
  };
  for (const auto& plan : plans) {
    const auto name = [&](std::string_view suite) { return std::string(suite) + "/" + std::string(profile_name(plan.kind)); };
    const auto n = static_cast<std::int64_t>(plan.services);
    auto tune = [&](benchmark::internal::Benchmark* b) {
      b->Arg(n)->Unit(benchmark::kMillisecond);
      if (plan.iterations > 0) b->Iterations(plan.iterations);  // else --benchmark_min_time decides
      return b;
    };
    const auto p = plan.kind;
    if (plan.merge) tune(benchmark::RegisterBenchmark(name("merge").c_str(), bm_merge, p));
    tune(benchmark::RegisterBenchmark(name("copy_merge").c_str(), bm_copy_merge, p));
    if (plan.baseline) tune(benchmark::RegisterBenchmark(name("baseline").c_str(), bm_baseline, p));
    tune(benchmark::RegisterBenchmark(name("ceiling_dom").c_str(), bm_ceiling_dom, p, false));
    tune(benchmark::RegisterBenchmark(name("text_read").c_str(), bm_text_read, p));
    tune(benchmark::RegisterBenchmark(name("ceiling_dom_threaded").c_str(), bm_ceiling_dom, p, true))->UseRealTime();
    tune(benchmark::RegisterBenchmark(name("ceiling_memcpy").c_str(), bm_ceiling_memcpy, p));
    if (plan.stores) {
      tune(benchmark::RegisterBenchmark(name("store_sqlite_index").c_str(), bm_store_sqlite_index, p));
      tune(benchmark::RegisterBenchmark(name("store_plain_insert").c_str(), bm_store_plain_insert, p));
    }
  }
}

// ---- peak memory --------------------------------------------------------------------------------------

/// The process's peak resident set (VmHWM), in bytes.
std::size_t peak_rss_bytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
  return 0;
}

int peak_memory(profile p, std::size_t services, bool resident) {
  const catalogue_generator gen(p, services);
  std::size_t peer_bytes = 0, local_bytes = 0, peer_docs = 0;
  memory_index store;
  // The local worker, loaded in chunks so that no second copy of it is ever held.
  store.create_index(worker_name);
  std::vector<stored_document> chunk;
  auto flush = [&](std::string_view index) {
    (void)store.bulk_write(index, chunk);
    chunk.clear();
  };
  for (std::size_t i = 0; i < services; ++i) {
    if (auto d = gen.local(i)) {
      local_bytes += d->json.size();
      chunk.push_back(std::move(*d));
      if (chunk.size() == 10000) flush(worker_name);
    }
  }
  flush(worker_name);
  // Generated documents come in service order; a store scans in id order. Both sides are keyed by id,
  // and the merge does not depend on page order, so the streamed peer keeps generation order.
  const environment_union merge;
  engine_copier copier(store, worker_name, merge);
  if (resident) {
    constexpr std::string_view peer_index = "apicatalogue-staging20210219_121308620";
    store.create_index(peer_index);
    for (std::size_t i = 0; i < services; ++i) {
      if (auto d = gen.peer(i)) {
        peer_bytes += d->json.size(), ++peer_docs;
        chunk.push_back(std::move(*d));
        if (chunk.size() == 10000) flush(peer_index);
      }
    }
    flush(peer_index);
    std::string after;
    while (true) {
      auto page = store.scan(peer_index, after, scan_page_size);
      copier.copy(page.documents);
      if (page.done) break;
      after = page.next_after;
    }
  } else {
    for (std::size_t i = 0; i < services; ++i) {
      if (auto d = gen.peer(i)) {
        peer_bytes += d->json.size(), ++peer_docs;
        chunk.push_back(std::move(*d));
      }
      if (chunk.size() == scan_page_size || (i + 1 == services && !chunk.empty())) {
        copier.copy(chunk);
        chunk.clear();  // taken over: its documents are empty
      }
    }
  }
  const auto peak = peak_rss_bytes();
  const auto input = peer_bytes + local_bytes;
  std::printf(
    "{\"profile\":\"%s\",\"services\":%zu,\"peer\":\"%s\",\"peer_documents\":%zu,\"read\":%zu,\"merged\":%zu,"
    "\"added\":%zu,\"input_bytes\":%zu,\"peak_rss_bytes\":%zu,\"peak_over_input\":%.4f}\n",
    std::string(profile_name(p)).c_str(), services, resident ? "resident" : "streamed", peer_docs,
    copier.totals().read, copier.totals().merged, copier.totals().added, input, peak,
    static_cast<double>(peak) / static_cast<double>(input));
  return 0;
}

// ---- profiling ---------------------------------------------------------------------------------------

/// One copy-merge round, out of line so that a profiler can be pointed at it
/// (valgrind --tool=callgrind --toggle-collect=profile_round).
[[gnu::noinline]] merger_counts profile_round(memory_index& store, scanned_pages&& pages) {
  return engine_copy_merge(store, worker_name, std::move(pages));
}

/// `warm`: each round's worker and pages are built just before it, as the suites do, so that a round
/// finds what fits of them in the cache; otherwise every round's are built first, and a round finds its
/// inputs cold.
int profile_rounds(profile p, std::size_t services, int rounds, bool warm) {
  const auto c = generate_catalogue(p, services);
  std::vector<std::unique_ptr<memory_index>> stores;
  std::vector<scanned_pages> pages;
  auto prepare = [&] {
    stores.push_back(std::make_unique<memory_index>());
    load_worker(*stores.back(), worker_name, c.local);
    pages.push_back(scan_pages_of(c.peer));
  };
  if (!warm)
    for (int r = 0; r < rounds; ++r) prepare();
  std::size_t read = 0;
  for (int r = 0; r < rounds; ++r) {
    if (warm) prepare();
    const auto began = std::chrono::steady_clock::now();
    const auto cpu = std::clock();
    rusage before{};
    ::getrusage(RUSAGE_SELF, &before);
    if (r > 0) perf_counting(true);  // round 0 is the warm-up
    read += profile_round(*stores[static_cast<std::size_t>(r)], std::move(pages[static_cast<std::size_t>(r)])).read;
    if (r > 0) perf_counting(false);
    rusage after{};
    ::getrusage(RUSAGE_SELF, &after);
    const auto sys_ms = [](const timeval& t) { return 1000.0 * static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1000.0; };
    std::printf("round %d: %.1f ms wall, %.1f ms CPU (%.1f ms of it in the kernel), %ld page faults\n", r,
                std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - began).count(),
                1000.0 * static_cast<double>(std::clock() - cpu) / CLOCKS_PER_SEC,
                sys_ms(after.ru_stime) - sys_ms(before.ru_stime), after.ru_minflt - before.ru_minflt);
    if (warm) stores[static_cast<std::size_t>(r)].reset(), pages[static_cast<std::size_t>(r)] = {};
  }
  std::printf("%zu peer documents read\n", read);
  return 0;
}

/// The profile and the counts a mode is given on its command line; nullopt (said on stderr) when one is
/// not what it should be, so that a typo is an error rather than another profile or a crash.
std::optional<profile> profile_arg(std::string_view s) {
  if (s == "realistic") return profile::realistic;
  if (s == "compact") return profile::compact;
  std::cerr << "catalogue_bench: unknown profile '" << s << "' (realistic or compact)\n";
  return std::nullopt;
}
std::optional<std::size_t> count_arg(std::string_view what, std::string_view s) {
  std::size_t n = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec == std::errc() && end == s.data() + s.size() && n > 0) return n;
  std::cerr << "catalogue_bench: " << what << " must be a positive number, not '" << s << "'\n";
  return std::nullopt;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string_view mode = argc >= 2 ? argv[1] : "";
  if (mode == "--peak-memory") {
    if (argc != 5 || (std::string_view(argv[4]) != "streamed" && std::string_view(argv[4]) != "resident")) {
      std::cerr << "usage: " << argv[0] << " --peak-memory <realistic|compact> <services> <streamed|resident>\n";
      return 2;
    }
    const auto p = profile_arg(argv[2]);
    const auto services = count_arg("services", argv[3]);
    if (!p || !services) return 2;
    return peak_memory(*p, *services, std::string_view(argv[4]) == "resident");
  }
  if (mode == "--profile") {
    const bool known_start = argc == 5 || (argc == 6 && (std::string_view(argv[5]) == "cold" || std::string_view(argv[5]) == "warm"));
    if (!known_start) {
      std::cerr << "usage: " << argv[0] << " --profile <realistic|compact> <services> <rounds> [cold|warm]\n";
      return 2;
    }
    const auto p = profile_arg(argv[2]);
    const auto services = count_arg("services", argv[3]);
    const auto rounds = count_arg("rounds", argv[4]);
    if (!p || !services || !rounds) return 2;
    steady_state_allocator();  // as the suites run (round 0 is then the warm-up)
    return profile_rounds(*p, *services, static_cast<int>(*rounds), argc == 6 && std::string_view(argv[5]) == "warm");
  }
  steady_state_allocator();
  register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
