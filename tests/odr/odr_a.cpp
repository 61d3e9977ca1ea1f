// ODR translation unit a: includes the umbrella header and every other public header (generated list).

#include <tributary/all.hpp>
#include <tributary_all_headers.hpp>

#include "odr/odr.hpp"
#include "support/catalogue.hpp"

namespace odr {

results from_a() {
  using namespace tributary;
  results r;
  auto doc = testing::make_service("dev", "70000", "sub-public", "svc", {"v10", "v2"});
  environment_union{}.merge(doc, testing::make_service("prod", "70000", "sub-public", "svc").environments[0]);
  r.document_json = to_json(doc);

  memory_index store;
  loopback_transport transport;
  manual_clock clock;
  auto source = testing::make_source("dev", 2, 3);
  collector_config config;
  config.environment = "dev";
  config.peers = {{"prod", ""}};
  basic_collector<loopback_transport, memory_index, environment_union, no_wait> collector(config, transport, store);
  r.report_json = collector.run(source, clock).to_json();

  r.worker_stamp = worker_stamp(clock.now());
  const auto order = compare_versions("v2", "v10");
  r.version_order = order < 0 ? -1 : order > 0 ? 1 : 0;
  return r;
}

}  // namespace odr

#include <iostream>

int main() {
  const auto a = odr::from_a();
  const auto b = odr::from_b();
  int failures = 0;
  auto check = [&](bool ok, const char* what) {
    if (!ok) {
      std::cerr << "ODR check failed: " << what << '\n';
      ++failures;
    }
  };
  check(a.document_json == b.document_json, "the two units serialise the same document differently");
  check(a.report_json == b.report_json, "the two units report the same run differently");
  check(a.worker_stamp == b.worker_stamp, "the two units name workers differently");
  check(a.worker_stamp == "20210219_000000000", "worker stamp of the manual clock's epoch");
  check(a.version_order == -1 && b.version_order == -1, "v2 sorts before v10");
  check(a.report_json.find("\"ok\":true") != std::string::npos, "the collector run succeeded");
  check(a.document_json.find("\"environment\":\"prod\"") != std::string::npos, "the merged document holds prod");
  if (failures == 0) std::cout << "odr: both translation units agree\n";
  return failures == 0 ? 0 : 1;
}
