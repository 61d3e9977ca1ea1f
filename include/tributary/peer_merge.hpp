#pragma once
// peer_page_merger: folds pages of a peer environment's documents into a local index. It takes only the
// peer's own entry of each document (a peer's index also holds what the peer merged from others, which
// is not its to give), merges it into the local document when there is one and adopts it otherwise,
// and yields the documents to write. It does not touch a store: the caller reads the local documents
// and writes the results, so the same code serves the collector and the benchmarks.

#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <tributary/concepts.hpp>
#include <tributary/document_json.hpp>

namespace tributary {

template <class MergeStrategy>
class peer_page_merger {
  static_assert(merge_strategy<MergeStrategy>, "peer_page_merger: MergeStrategy does not model tributary::merge_strategy");

 public:
  struct counts {
    std::size_t read = 0;    ///< peer documents read
    std::size_t added = 0;   ///< documents only the peer has, adopted
    std::size_t merged = 0;  ///< documents both have, merged
  };

  /// `stale` marks every copied entry as the peer's last published data from a run that did not finish.
  peer_page_merger(const MergeStrategy& merge, std::string environment, bool stale)
      : merge_(merge), environment_(std::move(environment)), stale_(stale) {}

  /// Parses a page of the peer's documents and keeps the peer's own entries. Returns the ids whose
  /// local documents `merge` needs, in order. Throws errc::bad_document for a malformed document.
  [[nodiscard]] const std::vector<std::string>& take(std::span<const stored_document> page) {
    ids_.clear(), entries_.clear(), remote_.clear();
    for (const auto& d : page) {
      service remote = parser_.parse(d.json);
      ++counts_.read;
      auto* entry = remote.entry(environment_);
      if (!entry) continue;
      entry->stale = stale_;
      ids_.push_back(remote.id);
      entries_.push_back(std::move(*entry));
      remote_.push_back(std::move(remote));
    }
    return ids_;
  }

  /// Given the local documents for the ids `take` returned (nullopt where there is none), returns the
  /// documents to write.
  [[nodiscard]] const std::vector<stored_document>& merge(std::span<const std::optional<std::string>> locals) {
    if (locals.size() != ids_.size())
      throw error(errc::bad_document, "peer_page_merger: got " + std::to_string(locals.size()) +
                                          " local documents for " + std::to_string(ids_.size()) + " ids");
    writes_.clear();
    for (std::size_t i = 0; i < ids_.size(); ++i) {
      std::optional<service> merged;
      if (locals[i]) {
        merged = parser_.parse(*locals[i]);
        merge_.merge(*merged, entries_[i]);
        ++counts_.merged;
      } else {
        merged = merge_.adopt(remote_[i], entries_[i]);
        if (merged) ++counts_.added;
      }
      if (merged) {
        stored_document out{merged->id, {}};
        append_json(out.json, *merged);
        writes_.push_back(std::move(out));
      }
    }
    return writes_;
  }

  [[nodiscard]] const counts& totals() const noexcept { return counts_; }

 private:
  const MergeStrategy& merge_;
  std::string environment_;
  bool stale_;
  document_parser parser_;
  counts counts_;
  std::vector<std::string> ids_;
  std::vector<environment_entry> entries_;
  std::vector<service> remote_;
  std::vector<stored_document> writes_;
};

}  // namespace tributary
