// The collection suite's workload (bench/collection_workload.hpp), run once at a small size: what it
// collects over real loopback HTTP is every document of the synthetic instance, the same documents in
// the same order as the in-process collection through loopback_transport, and the simulator answers
// as many requests at once as the collector has in flight.

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include <tributary/transport/loopback.hpp>

#include "../bench/collection_workload.hpp"

namespace tributary {
namespace {

using bench::collection_setup;

static_assert(streaming_transport<bench::counting_transport<curl_transport>>,
              "counting keeps curl_transport's streaming, so the benchmark measures the sliding window");

struct batch_only_transport {
  using transport_concept = transport_tag;
  http_response perform(http_request) { return {}; }
  template <class F>
  void perform_all(std::vector<http_request>, F&&) {}
};
static_assert(!streaming_transport<bench::counting_transport<batch_only_transport>>);

collection_setup small() {
  collection_setup s;
  s.providers = 20;
  s.services = 100;
  s.concurrency = 4;
  s.latency = std::chrono::milliseconds(2);
  return s;
}

TEST(CollectionWorkload, CollectsEveryDocumentOfTheInstance) {
  const curl_library library;
  const auto s = small();
  bench::collection_simulator simulator(s);
  const auto r = bench::collect_once(library, simulator.base_url(), s);

  EXPECT_EQ(r.providers, s.providers);
  EXPECT_EQ(r.failed_providers, 0u);
  EXPECT_EQ(r.warnings, 0u);
  EXPECT_EQ(r.failed_requests, 0u);
  EXPECT_EQ(r.requests, 1 + s.providers + s.services) << "listClients, one listMethods per provider, one getOpenAPI per code";
  EXPECT_EQ(simulator.requests_served(), r.requests) << "no request retried or lost";
  EXPECT_GT(r.body_bytes, 0u);
  EXPECT_GT(r.elapsed.count(), 0);

  // Five codes per provider, paired into versions: two documents of two versions and one of one.
  ASSERT_EQ(r.services.size(), s.providers * 3);
  std::set<std::string> ids;
  std::size_t details = 0;
  for (const auto& doc : r.services) {
    EXPECT_TRUE(ids.insert(doc.id).second) << "duplicate document " << doc.id;
    ASSERT_EQ(doc.environments.size(), 1u) << doc.id;
    EXPECT_EQ(doc.environments.front().environment, "dev");
    for (const auto& d : doc.environments.front().details) {
      ++details;
      EXPECT_FALSE(d.title.empty()) << doc.id;
      EXPECT_EQ(d.xroad.instance, "EE-SYN") << doc.id;
      EXPECT_FALSE(d.openapi.empty()) << doc.id;
    }
  }
  EXPECT_EQ(details, s.services) << "every service code becomes one detail";
}

TEST(CollectionWorkload, SameDocumentsAsTheInProcessCollection) {
  const curl_library library;
  const auto s = small();
  bench::collection_simulator simulator(s);
  const auto over_http = bench::collect_once(library, simulator.base_url(), s);

  xroad_sim::synthetic_options o;
  o.providers = s.providers;
  o.services = s.services;
  o.seed = s.seed;
  loopback_transport loopback;
  loopback.route("http://xroad.local", xroad_sim::simulator::synthetic(o));
  xroad_source source(bench::collection_source_config("http://xroad.local"));
  const auto providers = source.list_providers(loopback);
  std::vector<service> in_process;
  source.collect(loopback, std::span<const provider>(providers), 1, [&](const provider&, provider_outcome&& out) {
    ASSERT_TRUE(out.ok()) << out.failure;
    for (auto& doc : out.records) in_process.push_back(std::move(doc));
  });
  ASSERT_EQ(in_process.size(), over_http.services.size());
  for (std::size_t i = 0; i < in_process.size(); ++i)
    EXPECT_EQ(in_process[i], over_http.services[i]) << "document " << i << ": " << in_process[i].id;
}

TEST(CollectionWorkload, TheSimulatorAnswersTheWholeConcurrencyAtOnce) {
  // Latency that dwarfs the client's work between requests: every slot is held at the server at once.
  const curl_library library;
  auto s = small();
  s.concurrency = 8;
  s.latency = std::chrono::milliseconds(50);
  bench::collection_simulator simulator(s);
  // The peak is the simulator's running maximum: another collection can only raise it, so a peak above
  // the concurrency still shows. A client slowed down (a sanitizer build, a loaded machine) may not
  // fill every slot at once in one collection; collect again until it has, a bounded number of times.
  constexpr int collections = 5;
  for (int i = 0; i < collections && simulator.peak_concurrent_requests() < s.concurrency; ++i) {
    const auto r = bench::collect_once(library, simulator.base_url(), s);
    ASSERT_EQ(r.failed_requests, 0u) << "collection " << i;
  }
  EXPECT_EQ(simulator.peak_concurrent_requests(), s.concurrency) << "after at most " << collections << " collections";
}

TEST(CollectionWorkload, LatencyBoundIsRequestsOverConcurrencyTimesLatency) {
  collection_setup s;
  s.concurrency = 32;
  s.latency = std::chrono::milliseconds(20);
  EXPECT_DOUBLE_EQ(bench::latency_bound(11001, s).count(), 11001.0 / 32 * 0.020);
  s.concurrency = 8;
  EXPECT_DOUBLE_EQ(bench::latency_bound(800, s).count(), 2.0);
}

}  // namespace
}  // namespace tributary
