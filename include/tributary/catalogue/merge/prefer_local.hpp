#pragma once
// prefer_local: the seed's semantics — the local environment's title, summary, description and owner
// win — without the reference's defects: an entry is replaced, never appended twice; set-valued fields
// are unioned in canonical order; a document only a peer has is adopted instead of crashing the run.
//
// It is environment_union with the local environment moved to the front of the precedence, so it is
// idempotent and independent of arrival order too. basic_collector fills `local_environment` from its
// configuration when it is empty; left empty elsewhere, prefer_local behaves as environment_union.
// Unlike environment_union, each environment's catalogue differs (each prefers its own text), so the
// catalogue behind the read alias depends on which collector activated last.

#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <tributary/collector/concepts.hpp>
#include <tributary/catalogue/document.hpp>
#include <tributary/catalogue/service_record.hpp>
#include <tributary/catalogue/merge/environment_union.hpp>

namespace tributary {

struct prefer_local {
  using merge_strategy_concept = merge_strategy_tag;
  using normalizing_merge_concept = normalizing_merge_tag;
  using record_model = service_record;
  using local_environment_concept = local_environment_tag;
  using adopt_into_concept = adopt_into_tag;
  using text_merge_concept = text_merge_tag;

  std::string local_environment;  ///< whose text fields win
  environment_order order{};      ///< precedence among the other environments, highest first

  /// The precedence actually applied: the local environment first, then `order`.
  [[nodiscard]] environment_order effective_order() const {
    if (local_environment.empty()) return order;
    std::vector<std::string> names{local_environment};
    for (const auto& n : order.names())
      if (n != local_environment) names.push_back(n);
    return environment_order(std::move(names));
  }

  void merge(service& local, const environment_entry& remote) const { merge(local, environment_entry(remote)); }
  /// As merge, moving from `remote`.
  void merge(service& local, environment_entry&& remote) const {
    detail::put_entry(local, std::move(remote));
    tributary::normalize(local, effective_order());
  }

  /// A fresh document in the form a merged one has (normalizing_merge_strategy).
  void normalize(service& doc) const { tributary::normalize(doc, effective_order()); }

  [[nodiscard]] std::optional<service> adopt(const service& remote_doc, const environment_entry& remote) const {
    return environment_union{effective_order()}.adopt(remote_doc, remote);
  }
  /// As adopt, moving from `remote`.
  [[nodiscard]] std::optional<service> adopt(const service& remote_doc, environment_entry&& remote) const {
    return environment_union{effective_order()}.adopt(remote_doc, std::move(remote));
  }
  /// As adopt, into `out` (see environment_union::adopt_into).
  bool adopt_into(service& out, const service& remote_doc, environment_entry&& remote) const {
    return environment_union{effective_order()}.adopt_into(out, remote_doc, std::move(remote));
  }
  /// As merge, then write, over documents read as text (see environment_union::merge_text).
  bool merge_text(std::string& out, const text_document& local, const text_entry& remote) const {
    return local_environment.empty() ? detail::merge_text(out, local, remote, order)
                                     : detail::merge_text(out, local, remote, effective_order());
  }
  bool adopt_text(std::string& out, const text_document& remote_doc, const text_entry& remote) const {
    return local_environment.empty() ? detail::adopt_text(out, remote_doc, remote, order)
                                     : detail::adopt_text(out, remote_doc, remote, effective_order());
  }
};

}  // namespace tributary
