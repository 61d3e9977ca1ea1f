// collection_bench: the collection suite. The X-Road simulator's 10 000-service instance (1000
// providers) at 20 ms injected latency, on 127.0.0.1 in this process, collected by xroad_source over
// curl_transport at a concurrency of 32, against the latency lower bound: requests / concurrency x
// latency. Wall time is what counts here (the collector mostly waits), so the suite uses real time;
// cpu_time is the collecting thread's alone (the simulator runs on its own threads).
//
//   collection_bench                        the suite (Google Benchmark flags apply)
//
// Counters: requests and response bytes per collection, concurrency, latency_ms, bound_s (the lower
// bound) and over_latency_bound (mean wall time of a collection / bound). Correctness of what is
// collected is checked in tests/collection_bench_test.cpp.

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>
#include <string>

#include "collection_workload.hpp"

namespace {

using namespace tributary;
using namespace tributary::bench;

void bm_collect(benchmark::State& state) {
  collection_setup s;
  s.providers = static_cast<std::size_t>(state.range(0));
  s.services = static_cast<std::size_t>(state.range(1));
  s.concurrency = static_cast<std::size_t>(state.range(2));
  s.latency = std::chrono::milliseconds(state.range(3));
  // Before the simulator's threads start: curl_global_init is not thread-safe everywhere.
  const curl_library library;
  collection_simulator simulator(s);

  std::chrono::duration<double> wall{0};
  std::size_t requests = 0, bytes = 0, documents = 0;
  for (auto _ : state) {
    const auto r = collect_once(library, simulator.base_url(), s);
    if (r.failed_requests != 0 || r.failed_providers != 0 || r.warnings != 0) {
      state.SkipWithError("the collection failed: see tests/collection_bench_test.cpp");
      break;
    }
    wall += r.elapsed;
    requests += r.requests;
    bytes += r.body_bytes;
    documents = r.services.size();
  }
  const auto runs = static_cast<double>(state.iterations());
  if (runs == 0) return;
  const auto per_run = static_cast<std::size_t>(static_cast<double>(requests) / runs);
  const auto bound = latency_bound(per_run, s);
  state.SetItemsProcessed(static_cast<std::int64_t>(requests));
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
  state.counters["requests"] = static_cast<double>(per_run);
  state.counters["documents"] = static_cast<double>(documents);
  state.counters["concurrency"] = static_cast<double>(s.concurrency);
  state.counters["latency_ms"] = static_cast<double>(s.latency.count());
  state.counters["bound_s"] = bound.count();
  state.counters["wall_s"] = wall.count() / runs;
  state.counters["over_latency_bound"] = wall.count() / runs / bound.count();
}

// providers, services, concurrency, latency (ms). Three collections of ~7 s each: the ratio is a mean,
// and the suite stays well inside bench/run's budget.
BENCHMARK(bm_collect)
  ->Name("collect/xroad")
  ->ArgNames({"providers", "services", "concurrency", "latency_ms"})
  ->Args({1000, 10000, 32, 20})
  ->Iterations(3)
  ->UseRealTime()
  ->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
