#pragma once
// The collection workload, shared by bench/collection_bench.cpp and tests/collection_bench_test.cpp:
// the X-Road simulator's synthetic instance behind cpp-httplib on 127.0.0.1 with injected latency,
// collected by xroad_source over curl_transport, as a collector does it (listClients, then every
// provider's listMethods and getOpenAPI, at most `concurrency` requests in flight).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <tributary/catalogue/source/xroad.hpp>
#include <tributary/transport/curl.hpp>

#include "../examples/xroad/simulator_server.hpp"

namespace tributary::bench {

struct collection_setup {
  std::size_t providers = 1000;
  std::size_t services = 10000;  ///< service codes, two versions of each document
  std::chrono::milliseconds latency{20};
  std::size_t concurrency = 32;  ///< requests in flight, and providers collected at once
  std::uint64_t seed = 1;
};

/// The simulator of one setup, started once and collected from many times.
class collection_simulator {
 public:
  explicit collection_simulator(const collection_setup& s)
      : server_(xroad_sim::simulator::synthetic(synthetic(s)), faults(s), s.concurrency + 8) {
    server_.start();
  }
  [[nodiscard]] const std::string& base_url() const noexcept { return server_.base_url(); }
  [[nodiscard]] std::size_t requests_served() const { return server_.requests(); }
  [[nodiscard]] std::size_t peak_concurrent_requests() const { return server_.peak_concurrent_requests(); }

 private:
  static xroad_sim::synthetic_options synthetic(const collection_setup& s) {
    xroad_sim::synthetic_options o;
    o.providers = s.providers;
    o.services = s.services;
    o.seed = s.seed;
    return o;
  }
  static xroad_sim::fault_options faults(const collection_setup& s) {
    xroad_sim::fault_options f;
    f.latency = s.latency;
    return f;
  }
  xroad_sim::simulator_server server_;
};

/// Counts what passes through a transport; keeps the inner one's streaming, so the source collects
/// exactly as it would over the inner transport.
template <class Inner>
class counting_transport {
 public:
  using transport_concept = transport_tag;
  explicit counting_transport(Inner& inner) : inner_(&inner) {}

  http_response perform(http_request req) { return count(inner_->perform(std::move(req))); }
  template <class F>
  void perform_all(std::vector<http_request> reqs, F&& on_done) {
    inner_->perform_all(std::move(reqs), [&](std::size_t i, http_response&& r) { on_done(i, count(std::move(r))); });
  }
  template <class G, class F>
    requires streaming_transport<Inner>
  void perform_stream(G&& next, F&& on_done) {
    inner_->perform_stream(next, [&](std::size_t i, http_response&& r) { on_done(i, count(std::move(r))); });
  }

  [[nodiscard]] std::size_t requests() const noexcept { return requests_; }
  [[nodiscard]] std::size_t failed() const noexcept { return failed_; }
  [[nodiscard]] std::size_t body_bytes() const noexcept { return body_bytes_; }

 private:
  http_response count(http_response&& r) {
    ++requests_;
    failed_ += r.ok() ? 0 : 1;
    body_bytes_ += r.body.size();
    return std::move(r);
  }
  Inner* inner_;
  std::size_t requests_ = 0, failed_ = 0, body_bytes_ = 0;
};

struct collection_result {
  std::size_t providers = 0;
  std::size_t failed_providers = 0;
  std::size_t warnings = 0;
  std::vector<service> services;  ///< in the order the source reported them
  std::size_t requests = 0;       ///< answered requests, listClients included
  std::size_t failed_requests = 0;
  std::size_t body_bytes = 0;     ///< response bodies received
  std::chrono::nanoseconds elapsed{0};  ///< wall time of the whole collection
};

/// The source's configuration for the simulator at `base_url`, with a fixed `collected` stamp.
inline xroad_source_config collection_source_config(std::string base_url) {
  xroad_source_config c;
  c.base_url = std::move(base_url);
  c.client = {"EE-SYN", "GOV", "70009999", "bench-client"};
  c.environment = "dev";
  c.collected = [] { return std::string("2021-02-19T12:13:08.620Z"); };
  return c;
}

/// One whole collection from the simulator at `base_url` over a fresh curl_transport.
inline collection_result collect_once(const curl_library& library, const std::string& base_url,
                                      const collection_setup& s) {
  curl_options o;
  o.max_concurrent = s.concurrency;
  o.max_per_host = s.concurrency;  // one security server: the host bound must not be the tighter one
  o.max_attempts = 1;              // a retry would hide a failure and add requests to the bound's count
  curl_transport curl(library, o);
  counting_transport transport(curl);
  xroad_source source(collection_source_config(base_url));

  collection_result r;
  const auto start = std::chrono::steady_clock::now();
  const auto providers = source.list_providers(transport);
  source.collect(transport, std::span<const provider>(providers), s.concurrency,
                 [&](const provider&, provider_outcome&& outcome) {
                   r.failed_providers += outcome.ok() ? 0 : 1;
                   r.warnings += outcome.warnings.size();
                   for (auto& doc : outcome.records) r.services.push_back(std::move(doc));
                 });
  r.elapsed = std::chrono::steady_clock::now() - start;
  r.providers = providers.size();
  r.requests = transport.requests();
  r.failed_requests = transport.failed();
  r.body_bytes = transport.body_bytes();
  return r;
}

/// The latency lower bound of a collection: no schedule can beat `requests / concurrency` rounds of
/// `latency` each.
[[nodiscard]] inline std::chrono::duration<double> latency_bound(std::size_t requests, const collection_setup& s) {
  return std::chrono::duration<double>(s.latency) * static_cast<double>(requests) / static_cast<double>(s.concurrency);
}

}  // namespace tributary::bench
