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
//
// collect_cpu/xroad: the same instance without latency, where the collector is CPU-bound. Each round
// collects it once and then parses the response bodies it received alone, each with the parser the
// collector uses for it (simdjson for JSON, yaml-cpp for YAML), both timed as CPU time of this thread:
// cpu_per_service_us (collection CPU / services) and over_parse_ceiling (collection CPU / that parse),
// medians of the rounds. openapi_* time the OpenAPI readings alone over the same bodies: read_openapi
// as collected (JSON with simdjson) and read_openapi_yaml (everything with yaml-cpp, as before).

#include <benchmark/benchmark.h>

#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <simdjson.h>
#include <yaml-cpp/yaml.h>

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

/// CPU time of the calling thread, in seconds.
double thread_cpu_s() {
  timespec t{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

/// Keeps every response body that passes through a transport, streaming as the inner one does.
template <class Inner>
class capturing_transport {
 public:
  using transport_concept = transport_tag;
  explicit capturing_transport(Inner& inner) : inner_(&inner) {}
  http_response perform(http_request req) { return keep(inner_->perform(std::move(req))); }
  template <class F>
  void perform_all(std::vector<http_request> reqs, F&& on_done) {
    inner_->perform_all(std::move(reqs), [&](std::size_t i, http_response&& r) { on_done(i, keep(std::move(r))); });
  }
  template <class G, class F>
    requires streaming_transport<Inner>
  void perform_stream(G&& next, F&& on_done) {
    inner_->perform_stream(next, [&](std::size_t i, http_response&& r) { on_done(i, keep(std::move(r))); });
  }
  std::vector<std::string> bodies;

 private:
  http_response keep(http_response&& r) {
    bodies.push_back(r.body);
    return std::move(r);
  }
  Inner* inner_;
};

/// The response bodies of one whole collection of `base_url`.
std::vector<std::string> response_bodies(const curl_library& library, const std::string& base_url,
                                         const collection_setup& s) {
  curl_options o;
  o.max_concurrent = s.concurrency;
  o.max_per_host = s.concurrency;
  o.max_attempts = 1;
  curl_transport curl(library, o);
  capturing_transport transport(curl);
  xroad_source source(collection_source_config(base_url));
  const auto providers = source.list_providers(transport);
  source.collect(transport, std::span<const provider>(providers), s.concurrency, [](const provider&, provider_outcome&&) {});
  return std::move(transport.bodies);
}

bool is_json(const std::string& body) {
  const auto start = body.find_first_not_of(" \t\r\n");
  return start != std::string::npos && (body[start] == '{' || body[start] == '[');
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

void bm_collect_cpu(benchmark::State& state) {
  collection_setup s;
  s.providers = static_cast<std::size_t>(state.range(0));
  s.services = static_cast<std::size_t>(state.range(1));
  s.concurrency = static_cast<std::size_t>(state.range(2));
  s.latency = std::chrono::milliseconds(0);
  const curl_library library;
  collection_simulator simulator(s);
  const auto bodies = response_bodies(library, simulator.base_url(), s);
  std::vector<const std::string*> specs;
  std::size_t bytes = 0;
  for (const auto& b : bodies) {
    bytes += b.size();
    if (b.find("openapi") != std::string::npos) specs.push_back(&b);
  }

  simdjson::dom::parser parser;
  tributary::detail::openapi_parsers parsers;
  std::vector<double> collect_cpu, parse_cpu, openapi_cpu, openapi_yaml_cpu;
  std::size_t kept = 0;
  for (auto _ : state) {
    double t = thread_cpu_s();
    const auto r = collect_once(library, simulator.base_url(), s);
    collect_cpu.push_back(thread_cpu_s() - t);
    if (r.failed_requests != 0 || r.failed_providers != 0 || r.warnings != 0) {
      state.SkipWithError("the collection failed: see tests/collection_bench_test.cpp");
      break;
    }
    // The ceiling: every body parsed once, by the parser the collector uses for it.
    t = thread_cpu_s();
    for (const auto& b : bodies) {
      if (is_json(b)) {
        simdjson::dom::element root;
        benchmark::DoNotOptimize(parser.parse(b.data(), b.size(), true).get(root));
      } else {
        benchmark::DoNotOptimize(YAML::Load(b));
      }
    }
    parse_cpu.push_back(thread_cpu_s() - t);
    t = thread_cpu_s();
    kept = 0;
    for (const auto* b : specs) kept += tributary::detail::read_openapi(*b, parsers).title.empty() ? 0 : 1;
    openapi_cpu.push_back(thread_cpu_s() - t);
    t = thread_cpu_s();
    for (const auto* b : specs) benchmark::DoNotOptimize(tributary::detail::read_openapi_yaml(*b));
    openapi_yaml_cpu.push_back(thread_cpu_s() - t);
  }
  if (collect_cpu.empty() || parse_cpu.empty()) return;
  const double collect = median(collect_cpu), parse = median(parse_cpu);
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes * state.iterations()));
  state.counters["services"] = static_cast<double>(s.services);
  state.counters["specs"] = static_cast<double>(specs.size());
  state.counters["specs_kept"] = static_cast<double>(kept);
  state.counters["collect_cpu_s"] = collect;
  state.counters["parse_cpu_s"] = parse;
  state.counters["cpu_per_service_us"] = collect / static_cast<double>(s.services) * 1e6;
  state.counters["over_parse_ceiling"] = collect / parse;
  state.counters["openapi_cpu_s"] = median(openapi_cpu);
  state.counters["openapi_yaml_cpu_s"] = median(openapi_yaml_cpu);
}

BENCHMARK(bm_collect_cpu)
  ->Name("collect_cpu/xroad")
  ->ArgNames({"providers", "services", "concurrency"})
  ->Args({1000, 10000, 32})
  ->Iterations(5)
  ->Unit(benchmark::kMillisecond);

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
