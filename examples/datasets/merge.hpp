#pragma once
// dataset_merge: the datasets example's merge rules. A merged dataset has every environment's entry,
// and its top-level fields are derived from them:
//   title, license  from the most authoritative environment that lists it (prod, then staging, then
//                   dev, then any other by name): what production publishes is what a dataset is;
//   tags            the union of every environment's tags, sorted: a tag added anywhere is findable;
//   rows            from the entry updated last (`updated`; a tie goes to the more authoritative
//                   environment): the freshest count, wherever it was taken.
// The result depends only on the set of entries, so it is the same whichever collector merges last.

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <tributary/collector/concepts.hpp>

#include "record.hpp"

namespace datasets {

/// Lower is more authoritative.
[[nodiscard]] inline int environment_rank(std::string_view env) noexcept {
  if (env == "prod") return 0;
  if (env == "staging") return 1;
  if (env == "dev") return 2;
  return 3;
}

struct dataset_merge {
  using merge_strategy_concept = tributary::merge_strategy_tag;
  using normalizing_merge_concept = tributary::normalizing_merge_tag;
  using record_model = dataset_record;

  /// The remote environment's entry replaces the local document's entry of that environment (a
  /// repeated merge does not append a second one).
  void merge(dataset& local, const dataset_entry& remote) const {
    auto it = std::find_if(local.environments.begin(), local.environments.end(),
                           [&](const dataset_entry& e) { return e.environment == remote.environment; });
    if (it != local.environments.end()) *it = remote;
    else local.environments.push_back(remote);
    normalize(local);
  }

  /// A dataset only the remote environment lists is kept, with that environment's entry alone.
  [[nodiscard]] std::optional<dataset> adopt(const dataset& remote_doc, const dataset_entry& remote) const {
    dataset d;
    d.id = remote_doc.id;
    d.environments.push_back(remote);
    normalize(d);
    return d;
  }

  /// Entries in authority order, derived fields recomputed (normalizing_merge_strategy: the collector
  /// applies it to freshly collected datasets too, so they are stored in the merged shape).
  void normalize(dataset& d) const {
    auto& envs = d.environments;
    std::sort(envs.begin(), envs.end(), [](const dataset_entry& a, const dataset_entry& b) {
      const int ra = environment_rank(a.environment), rb = environment_rank(b.environment);
      return ra != rb ? ra < rb : a.environment < b.environment;
    });
    d.title.clear(), d.license.clear(), d.tags.clear(), d.rows = 0;
    if (envs.empty()) return;
    d.title = envs.front().title;
    d.license = envs.front().license;
    const dataset_entry* newest = &envs.front();
    for (const auto& e : envs) {
      d.tags.insert(d.tags.end(), e.tags.begin(), e.tags.end());
      if (e.updated > newest->updated) newest = &e;  // strictly newer: ties stay with the earlier, more authoritative
    }
    d.rows = newest->rows;
    std::sort(d.tags.begin(), d.tags.end());
    d.tags.erase(std::unique(d.tags.begin(), d.tags.end()), d.tags.end());
  }
};
static_assert(tributary::normalizing_merge_strategy<dataset_merge>);

}  // namespace datasets
