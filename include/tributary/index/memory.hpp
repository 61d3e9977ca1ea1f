#pragma once
// memory_index: an in-process index backend. Thread-safe; one instance can be shared by the collectors
// of one process. Every operation is atomic under one lock, so alias updates are all-or-nothing for
// any concurrent reader. Models every store capability (concepts.hpp): aliases, exists, insert if
// absent, per-document delete, a change cursor, padded text and moving writes.

#include <algorithm>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <tributary/concepts.hpp>
#include <tributary/detail/json_text.hpp>
#include <tributary/error.hpp>
#include <tributary/index/alias_table.hpp>
#include <tributary/index/concepts.hpp>
#include <tributary/index/names.hpp>

namespace tributary {

class memory_index {
 public:
  using index_backend_concept = index_backend_tag;
  using exists_many_concept = exists_many_tag;
  using insert_if_absent_concept = insert_if_absent_tag;
  using document_delete_concept = document_delete_tag;
  using change_cursor_concept = change_cursor_tag;
  using padded_text_concept = padded_text_tag;
  using moving_write_concept = moving_write_tag;
  using rewrite_concept = rewrite_tag;

  void create_index(std::string_view name) {
    validate_index_name(name);
    std::lock_guard lock(mu_);
    if (indices_.contains(name) || aliases_.has_alias(name))
      throw error(errc::already_exists, "index '" + std::string(name) + "' already exists");
    indices_.emplace(std::string(name), index_data{});
  }

  [[nodiscard]] bool index_exists(std::string_view name) const {
    std::lock_guard lock(mu_);
    return indices_.contains(name);
  }

  bulk_result bulk_write(std::string_view index, std::span<const stored_document> docs) {
    return write(index, docs, [](const stored_document& d) -> const std::string& { return d.json; });
  }
  /// As bulk_write, moving the documents' text into the index instead of copying it.
  bulk_result bulk_write(std::string_view index, std::vector<stored_document>&& docs) {
    return write(index, std::span<stored_document>(docs),
                 [](stored_document& d) -> std::string&& { return std::move(d.json); });
  }

  /// Rewrites each of `ids`' documents with one lookup and no copy out: `next(i, current)` is given the
  /// i-th id's text where it is (nullptr where there is none) and returns the text to store under that
  /// id, or nullptr to leave it. The text is copied in, not taken: the copy is the text's size, where
  /// the caller's buffer was reserved for an upper bound, and the caller reuses its buffer for the next
  /// document (a 1M compact copy-merge peaked at 1.40 of its input taking the merger's strings, 1.12
  /// copying them). Under the lock, as every operation: concurrent readers see each document before or
  /// after its rewrite. A document written before `next` throws stays written.
  template <class Next>
  bulk_result rewrite(std::string_view index, std::span<const std::string> ids, Next next) {
    std::lock_guard lock(mu_);
    auto& target = existing(index);
    bulk_result result;
    auto at = target.docs.begin();
    for (std::size_t i = 0; i < ids.size(); ++i) {
      if (ids[i].empty()) {
        result.failures.push_back({i, {}, "document has an empty id", false});
        continue;
      }
      at = seek(target.docs, at, ids[i]);
      const bool present = at != target.docs.end() && at->first == ids[i];
      const std::string* text = next(i, present ? &std::as_const(at->second.json) : nullptr);
      if (!text) continue;
      if (!present) at = target.docs.emplace_hint(at, ids[i], stored{});
      // The text's size, not twice the old capacity as a growing assign would give it.
      if (at->second.json.capacity() >= text->size()) at->second.json.assign(*text);
      else at->second.json = std::string(*text);
      target.stamp(at);
      ++result.written;
    }
    return result;
  }

  [[nodiscard]] std::vector<std::optional<std::string>> get(std::string_view index,
                                                           std::span<const std::string> ids) const {
    std::lock_guard lock(mu_);
    const auto& source = existing(index).docs;
    std::vector<std::optional<std::string>> out;
    out.reserve(ids.size());
    auto at = source.begin();
    for (const auto& id : ids) {
      at = seek(source, at, id);
      if (at == source.end() || at->first != id) {
        out.emplace_back();
        continue;
      }
      // Room for a parser's padding: document_parser::parse_owned then parses the text where it is
      // instead of copying it once more.
      out.emplace_back(detail::padded_text(at->second.json));
    }
    return out;
  }

  [[nodiscard]] std::vector<bool> exists(std::string_view index, std::span<const std::string> ids) const {
    std::lock_guard lock(mu_);
    const auto& source = existing(index).docs;
    std::vector<bool> out;
    out.reserve(ids.size());
    auto at = source.begin();
    for (const auto& id : ids) {
      at = seek(source, at, id);
      out.push_back(at != source.end() && at->first == id);
    }
    return out;
  }

  [[nodiscard]] scan_page scan(std::string_view index, std::string_view after_id, std::size_t limit) const {
    if (limit == 0) throw error(errc::invalid_config, "scan page size must be positive");
    std::lock_guard lock(mu_);
    const auto& source = existing(index).docs;
    scan_page page;
    auto it = after_id.empty() ? source.begin() : source.upper_bound(after_id);
    for (; it != source.end() && page.documents.size() < limit; ++it)
      page.documents.push_back({it->first, detail::padded_text(it->second.json)});
    page.done = it == source.end();
    if (!page.documents.empty()) page.next_after = page.documents.back().id;
    return page;
  }

  /// Inserts each document whose id is absent; one lock over the batch, so concurrent callers see
  /// each id inserted once.
  insert_result insert_if_absent(std::string_view index, std::span<const stored_document> docs) {
    std::lock_guard lock(mu_);
    auto& target = existing(index);
    insert_result result;
    result.items.reserve(docs.size());
    for (std::size_t i = 0; i < docs.size(); ++i) {
      if (docs[i].id.empty()) {
        result.items.push_back(insert_result::outcome::failed);
        result.failures.push_back({i, {}, "document has an empty id", false});
        continue;
      }
      auto [at, inserted] = target.docs.try_emplace(docs[i].id);
      if (inserted) {
        at->second.json = docs[i].json;
        target.stamp(at);
      }
      result.items.push_back(inserted ? insert_result::outcome::inserted : insert_result::outcome::existed);
    }
    return result;
  }

  delete_result delete_documents(std::string_view index, std::span<const std::string> ids) {
    std::lock_guard lock(mu_);
    auto& target = existing(index);
    delete_result result;
    result.present.reserve(ids.size());
    for (const auto& id : ids) {
      auto at = target.docs.find(id);
      const bool present = at != target.docs.end();
      if (present) target.erase(at);
      result.present.push_back(present);
    }
    return result;
  }

  [[nodiscard]] change_page changes_since(std::string_view index, std::uint64_t after, std::size_t limit) const {
    if (limit == 0) throw error(errc::invalid_config, "change page size must be positive");
    std::lock_guard lock(mu_);
    const auto& source = existing(index);
    change_page page;
    page.next = after;
    auto it = std::upper_bound(source.log.begin(), source.log.end(), after,
                               [](std::uint64_t position, const change& c) { return position < c.seq; });
    for (; it != source.log.end(); ++it) {
      if (!it->live) continue;
      if (page.documents.size() == limit) break;
      page.documents.push_back({it->doc->first, detail::padded_text(it->doc->second.json)});
      page.next = it->seq;
    }
    page.done = it == source.log.end();  // the loop stops early only at a live entry that did not fit
    return page;
  }

  [[nodiscard]] std::vector<std::string> list_indices(std::string_view prefix) const {
    std::lock_guard lock(mu_);
    std::vector<std::string> out;
    for (auto it = indices_.lower_bound(prefix); it != indices_.end() && it->first.starts_with(prefix); ++it)
      out.push_back(it->first);
    return out;
  }

  [[nodiscard]] std::vector<std::string> alias_targets(std::string_view alias) const {
    std::lock_guard lock(mu_);
    return aliases_.targets(alias);
  }

  [[nodiscard]] std::vector<alias_entry> aliases() const {
    std::lock_guard lock(mu_);
    return aliases_.entries();
  }

  void update_aliases(std::span<const alias_action> actions) {
    std::lock_guard lock(mu_);
    aliases_.apply(actions, [&](std::string_view index) { return indices_.contains(index); });
  }

  /// Every name is checked before any index is deleted: a failure deletes nothing.
  void delete_indices(std::span<const std::string> names) {
    for (const auto& name : names) validate_index_name(name);
    std::lock_guard lock(mu_);
    for (const auto& name : names) {
      if (!indices_.contains(name)) throw error(errc::not_found, "cannot delete index '" + name + "': no such index");
      if (auto carried = aliases_.aliases_of(name); !carried.empty())
        throw error(errc::conflict, "refusing to delete index '" + name + "': it carries alias '" + carried.front() + "'");
    }
    for (const auto& name : names) indices_.erase(name);  // by key: a name listed twice is erased once
  }

 private:
  static constexpr std::size_t no_entry = static_cast<std::size_t>(-1);
  struct stored {
    std::string json;
    std::size_t entry = no_entry;  ///< where the latest write is in the change log
  };
  using documents = std::map<std::string, stored, std::less<>>;

  /// An entry of the change log; live while it is its document's latest write (only then is `doc` valid).
  struct change {
    std::uint64_t seq;
    documents::iterator doc;
    bool live = true;
  };

  struct index_data {
    documents docs;
    /// Every write in position order. Superseded and deleted entries stay, marked dead, until the log is
    /// compacted: a write appends to a vector, and each document knows where its entry is (no search).
    std::vector<change> log;
    std::uint64_t last = 0;  ///< the last position given out in this index

    /// Gives the document just written the next position; its previous write is superseded.
    void stamp(documents::iterator at) {
      supersede(at->second.entry);
      at->second.entry = log.size();
      log.push_back({++last, at, true});
      if (log.size() > 2 * docs.size() + 64) compact();
    }

    void erase(documents::iterator at) {
      supersede(at->second.entry);
      docs.erase(at);
    }

    void supersede(std::size_t entry) {
      if (entry != no_entry) log[entry].live = false;
    }

    /// Drops the dead entries; each live one's document learns where its entry moved.
    void compact() {
      std::erase_if(log, [](const change& c) { return !c.live; });
      for (std::size_t i = 0; i < log.size(); ++i) log[i].doc->second.entry = i;
    }
  };

  template <class Document, class Text>
  bulk_result write(std::string_view index, std::span<Document> docs, Text text_of) {
    std::lock_guard lock(mu_);
    auto& target = existing(index);
    bulk_result result;
    auto at = target.docs.begin();
    for (std::size_t i = 0; i < docs.size(); ++i) {
      if (docs[i].id.empty()) {
        result.failures.push_back({i, {}, "document has an empty id", false});
        continue;
      }
      at = seek(target.docs, at, docs[i].id);
      if (at != target.docs.end() && at->first == docs[i].id) at->second.json = text_of(docs[i]);
      else at = target.docs.emplace_hint(at, docs[i].id, stored{text_of(docs[i])});
      target.stamp(at);
      ++result.written;
    }
    return result;
  }

  /// The first document not before `id` (lower_bound), looked for from `from` onwards first: ids come
  /// in order from a scan page, so the next one is usually a step or two further on.
  template <class Map, class Iterator>
  static Iterator seek(Map& docs, Iterator from, std::string_view id) {
    if (from != docs.end() && std::string_view(from->first) < id) {
      // Walking on: every document stepped over is before id.
      for (int step = 0; step < 8; ++step) {
        ++from;
        if (from == docs.end() || std::string_view(from->first) >= id) return from;
      }
    } else if (from == docs.begin() || std::string_view(std::prev(from)->first) < id) {
      return from;  // at or after id, and the one before it is before id
    }
    return docs.lower_bound(id);
  }

  index_data& existing(std::string_view index) {
    auto it = indices_.find(index);
    if (it == indices_.end()) throw error(errc::not_found, "no such index '" + std::string(index) + "'");
    return it->second;
  }
  const index_data& existing(std::string_view index) const { return const_cast<memory_index*>(this)->existing(index); }

  mutable std::mutex mu_;
  std::map<std::string, index_data, std::less<>> indices_;
  alias_table aliases_;
};

static_assert(index_backend<memory_index> && exists_many_store<memory_index> && insert_if_absent_store<memory_index> &&
              document_delete_store<memory_index> && change_cursor_store<memory_index> &&
              padded_text_store<memory_index> && moving_write_store<memory_index> &&
              rewrite_store<memory_index>);

}  // namespace tributary
