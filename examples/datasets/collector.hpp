#pragma once
// The datasets example's collector: tributary's basic_collector composed with the dataset record
// model (record.hpp) through its merge strategy (merge.hpp), and the listing's Source (source.hpp).
// What is datasets-specific is in those headers; the protocol, the store and the transport are the
// engine's.

#include <chrono>
#include <ostream>
#include <string>
#include <vector>

#include <tributary/collector/collector.hpp>
#include <tributary/collector/reader.hpp>
#include <tributary/collector/wait/fixed_interval.hpp>

#include "merge.hpp"
#include "record.hpp"
#include "source.hpp"

namespace datasets {

/// The read alias the datasets are published under.
inline constexpr const char* default_alias = "datasets";

template <class Transport, class Store>
using basic_dataset_collector = tributary::basic_collector<Transport, Store, dataset_merge, tributary::fixed_interval>;

/// The configuration of environment `env`'s collector, merging in `peers`.
[[nodiscard]] inline tributary::collector_config collector_config_for(const std::string& env,
                                                                      const std::vector<std::string>& peers,
                                                                      std::string alias = default_alias) {
  tributary::collector_config c;
  c.environment = env;
  for (const auto& p : peers)
    if (p != env) c.peers.push_back({p, ""});
  c.read_alias = std::move(alias);
  c.concurrency = 4;
  return c;
}

/// One line per dataset behind the reader, in id order, then a count:
///   stats/wages-2023  [prod,dev]  Average wages 2023  rows=120  CC-BY-4.0  tags=official,wages
template <class Reader>
void print_datasets(std::ostream& out, const Reader& reader) {
  const auto n = reader.for_each([&](const dataset& d) {
    std::string envs, tags;
    for (const auto& e : d.environments) envs += (envs.empty() ? "" : ",") + e.environment + (e.stale ? "(stale)" : "");
    for (const auto& t : d.tags) tags += (tags.empty() ? "" : ",") + t;
    out << d.id << "  [" << envs << "]  " << d.title << "  rows=" << d.rows << "  " << d.license << "  tags=" << tags
        << "\n";
  });
  out << n << " dataset(s) in " << reader.index() << "\n";
}

}  // namespace datasets
