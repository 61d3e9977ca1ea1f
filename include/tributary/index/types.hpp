#pragma once
// The vocabulary every index backend speaks: stored documents, pages, bulk results, alias actions.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace tributary {

/// A document as a store holds it: its id and its JSON text.
struct stored_document {
  std::string id;
  std::string json;
  friend bool operator==(const stored_document&, const stored_document&) = default;
};

/// One page of a scan in id order. `next_after` is the id to resume after; `done` when nothing follows.
struct scan_page {
  std::vector<stored_document> documents;
  std::string next_after;
  bool done = true;
};

/// What a bulk write did, item by item. Items not listed in `failures` were written and are durable.
struct bulk_result {
  struct failure {
    std::size_t position;  ///< index into the batch that was written
    std::string id;
    std::string reason;
    bool retryable = false;  ///< e.g. a 429 from Elasticsearch
  };
  std::size_t written = 0;
  std::vector<failure> failures;
  [[nodiscard]] bool ok() const noexcept { return failures.empty(); }
};

/// What insert_if_absent did, item by item. An item that existed was left exactly as it was.
struct insert_result {
  enum class outcome : unsigned char {
    inserted,  ///< the id was absent; the document is now stored, durably
    existed,   ///< the id was present (or came earlier in the same batch); nothing was written
    failed,    ///< listed in `failures`, with the reason
  };
  std::vector<outcome> items;  ///< one per document of the batch, in its order
  std::vector<bulk_result::failure> failures;
  [[nodiscard]] bool ok() const noexcept { return failures.empty(); }
  [[nodiscard]] std::size_t inserted() const noexcept {
    return static_cast<std::size_t>(std::count(items.begin(), items.end(), outcome::inserted));
  }
};

/// What delete_documents did: `present[k]` says whether the k-th id was stored (and is now gone). An
/// id listed twice is present at most once, the first time.
struct delete_result {
  std::vector<bool> present;
  [[nodiscard]] std::size_t deleted() const noexcept {
    return static_cast<std::size_t>(std::count(present.begin(), present.end(), true));
  }
};

/// One page of a change feed: documents of an index written (inserted or updated) after a position,
/// in the order they were written. A document appears at the position of its latest write only.
struct change_page {
  std::vector<stored_document> documents;
  std::uint64_t next = 0;  ///< where to resume: the position of the last document, or the one asked for
  bool done = true;        ///< nothing written after `next` was committed when the page was read
};

/// One alias action; a list of them is applied atomically (all or nothing).
struct alias_action {
  enum class kind {
    add,                ///< put `alias` on `index`
    remove,             ///< take `alias` off `index`; fails the whole update when absent and `must_exist`
    remove_everywhere,  ///< take `alias` off every index that carries it (none is fine); `index` unused
  };
  kind op = kind::add;
  std::string index;
  std::string alias;
  bool must_exist = false;

  [[nodiscard]] static alias_action add(std::string index, std::string alias) {
    return {kind::add, std::move(index), std::move(alias), false};
  }
  [[nodiscard]] static alias_action remove(std::string index, std::string alias, bool must_exist = false) {
    return {kind::remove, std::move(index), std::move(alias), must_exist};
  }
  [[nodiscard]] static alias_action remove_everywhere(std::string alias) {
    return {kind::remove_everywhere, {}, std::move(alias), false};
  }
  friend bool operator==(const alias_action&, const alias_action&) = default;
};

/// A row of the alias table.
struct alias_entry {
  std::string alias;
  std::string index;
  friend bool operator==(const alias_entry&, const alias_entry&) = default;
  friend auto operator<=>(const alias_entry&, const alias_entry&) = default;
};

}  // namespace tributary
