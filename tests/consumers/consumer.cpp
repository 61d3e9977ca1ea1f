// A tiny consumer of an installed (or add_subdirectory'd) tributary: one collection in memory, in
// virtual time, plus a call into SQLite through the tributary::sqlite component's link interface.

#include <iostream>

#include <sqlite3.h>

#include <tributary/tributary.hpp>

int main() {
  using namespace tributary;
  in_process_source source;
  service s;
  environment_entry e;
  e.environment = "dev";
  e.owner = "Consumer";
  service_detail d;
  d.version = "v1";
  d.title = "hello";
  d.xroad = {"EE-DEV", "GOV", "1", "sub-public", "hello-v1"};
  e.details.push_back(d);
  s.environments.push_back(e);
  s.id = service_id(d.xroad, "dev");
  source.add({"EE-DEV/GOV/1/sub-public", "Consumer"}, {s});

  memory_index store;
  loopback_transport transport;
  manual_clock clock;
  collector_config config;
  config.environment = "dev";
  in_process_collector collector(config, transport, store);
  const auto report = collector.run(source, clock);
  std::cout << report.summary() << "sqlite " << sqlite3_libversion() << '\n';
  return report.ok && report.records == 1 && store.alias_targets("apicatalogue").size() == 1 ? 0 : 1;
}
