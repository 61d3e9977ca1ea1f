// ODR translation unit b: includes the umbrella header and every other public header (generated list).

#include <tributary/all.hpp>
#include <tributary_all_headers.hpp>

#include "odr/odr.hpp"
#include "support/catalogue.hpp"

namespace odr {

results from_b() {
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
