#pragma once
// prefer_local: the seed's semantics — the local environment's title, summary, description and owner
// win; the remote environment's entry is added — without the reference's defects: an entry is
// replaced, never appended twice; set-valued fields are unioned in canonical order; a document only
// the remote has is adopted instead of crashing the run.
//
// Unlike environment_union its result depends on which environment is local, so the catalogue behind
// the read alias depends on which collector finished last.

#include <optional>

#include <tributary/concepts.hpp>
#include <tributary/document.hpp>
#include <tributary/merge/environment_union.hpp>

namespace tributary {

struct prefer_local {
  using merge_strategy_concept = merge_strategy_tag;

  environment_order order{};

  void merge(service& local, const environment_entry& remote) const {
    service kept;
    kept.title = std::move(local.title), kept.summary = std::move(local.summary);
    kept.description = std::move(local.description), kept.owner = std::move(local.owner);
    detail::put_entry(local, remote);
    normalize(local, order);  // unions and canonical order; then the local text fields win again
    if (!kept.title.empty() || !kept.owner.empty()) {
      local.title = std::move(kept.title), local.summary = std::move(kept.summary);
      local.description = std::move(kept.description), local.owner = std::move(kept.owner);
    }
  }

  [[nodiscard]] std::optional<service> adopt(const service& remote_doc, const environment_entry& remote) const {
    return environment_union{order}.adopt(remote_doc, remote);
  }
};

}  // namespace tributary
