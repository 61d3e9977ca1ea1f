#pragma once
// environment_union (the default merge): a document holds exactly one entry per environment, replaced
// on every merge and never appended twice. Entries are kept in canonical order and the document-level
// fields are derived from the entries (see derive_fields), so merging is idempotent and the result does
// not depend on the order in which environments arrive.

#include <optional>
#include <string>
#include <utility>

#include <tributary/collector/concepts.hpp>
#include <tributary/catalogue/document.hpp>
#include <tributary/catalogue/service_record.hpp>

namespace tributary {

namespace detail {
/// `entry` by value: a caller done with its entry moves it in, and nothing is copied.
inline void put_entry(service& doc, environment_entry entry) {
  if (auto* existing = doc.entry(entry.environment)) *existing = std::move(entry);
  else doc.environments.push_back(std::move(entry));
}
}  // namespace detail

struct environment_union {
  using merge_strategy_concept = merge_strategy_tag;
  using normalizing_merge_concept = normalizing_merge_tag;
  using record_model = service_record;
  using adopt_into_concept = adopt_into_tag;
  using text_merge_concept = text_merge_tag;

  environment_order order{};  ///< precedence for document-level fields, highest first

  void merge(service& local, const environment_entry& remote) const { merge(local, environment_entry(remote)); }
  /// As merge, moving from `remote` (peer_page_merger is done with the entry it hands over).
  void merge(service& local, environment_entry&& remote) const {
    detail::put_entry(local, std::move(remote));
    tributary::normalize(local, order);
  }

  /// A fresh document in the form a merged one has (normalizing_merge_strategy).
  void normalize(service& doc) const { tributary::normalize(doc, order); }

  [[nodiscard]] std::optional<service> adopt(const service& remote_doc, const environment_entry& remote) const {
    return adopt(remote_doc, environment_entry(remote));
  }
  /// As adopt, moving from `remote`.
  [[nodiscard]] std::optional<service> adopt(const service& remote_doc, environment_entry&& remote) const {
    std::optional<service> doc(std::in_place);
    adopt_into(*doc, remote_doc, std::move(remote));
    return doc;
  }
  /// As adopt, building the document in `out`, every field of which is overwritten: the storage `out`
  /// already has is reused (peer_page_merger adopts page after page into one document). Returns whether
  /// the document was adopted: always.
  bool adopt_into(service& out, const service& remote_doc, environment_entry&& remote) const {
    out.id = remote_doc.id;
    out.environments.resize(1);
    out.environments.front() = std::move(remote);
    tributary::normalize(out, order);
    return true;
  }

  /// merge, then write, over documents read as text (text_merge_strategy): entries are copied.
  bool merge_text(std::string& out, const text_document& local, const text_entry& remote) const {
    return detail::merge_text(out, local, remote, order);
  }
  /// adopt, then write, over a document read as text.
  bool adopt_text(std::string& out, const text_document& remote_doc, const text_entry& remote) const {
    return detail::adopt_text(out, remote_doc, remote, order);
  }
};

}  // namespace tributary
