#pragma once
// memory_index: an in-process index backend. Thread-safe; one instance can be shared by the collectors
// of one process. Every operation is atomic under one lock, so alias updates are all-or-nothing for
// any concurrent reader.

#include <algorithm>
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
#include <tributary/index/names.hpp>

namespace tributary {

class memory_index {
 public:
  using index_backend_concept = index_backend_tag;

  void create_index(std::string_view name) {
    validate_index_name(name);
    std::lock_guard lock(mu_);
    if (indices_.contains(name) || aliases_.has_alias(name))
      throw error(errc::already_exists, "index '" + std::string(name) + "' already exists");
    indices_.emplace(std::string(name), documents{});
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

  [[nodiscard]] std::vector<std::optional<std::string>> get(std::string_view index,
                                                           std::span<const std::string> ids) const {
    std::lock_guard lock(mu_);
    const auto& source = existing(index);
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
      out.emplace_back(detail::padded_text(at->second));
    }
    return out;
  }

  [[nodiscard]] scan_page scan(std::string_view index, std::string_view after_id, std::size_t limit) const {
    if (limit == 0) throw error(errc::invalid_config, "scan page size must be positive");
    std::lock_guard lock(mu_);
    const auto& source = existing(index);
    scan_page page;
    auto it = after_id.empty() ? source.begin() : source.upper_bound(after_id);
    for (; it != source.end() && page.documents.size() < limit; ++it) page.documents.push_back({it->first, detail::padded_text(it->second)});
    page.done = it == source.end();
    if (!page.documents.empty()) page.next_after = page.documents.back().id;
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
  template <class Document, class Text>
  bulk_result write(std::string_view index, std::span<Document> docs, Text text_of) {
    std::lock_guard lock(mu_);
    auto& target = existing(index);
    bulk_result result;
    auto at = target.begin();
    for (std::size_t i = 0; i < docs.size(); ++i) {
      if (docs[i].id.empty()) {
        result.failures.push_back({i, {}, "document has an empty id", false});
        continue;
      }
      at = seek(target, at, docs[i].id);
      if (at != target.end() && at->first == docs[i].id) at->second = text_of(docs[i]);
      else at = target.emplace_hint(at, docs[i].id, text_of(docs[i]));
      ++result.written;
    }
    return result;
  }

  using documents = std::map<std::string, std::string, std::less<>>;

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

  documents& existing(std::string_view index) {
    auto it = indices_.find(index);
    if (it == indices_.end()) throw error(errc::not_found, "no such index '" + std::string(index) + "'");
    return it->second;
  }
  const documents& existing(std::string_view index) const { return const_cast<memory_index*>(this)->existing(index); }

  mutable std::mutex mu_;
  std::map<std::string, documents, std::less<>> indices_;
  alias_table aliases_;
};

}  // namespace tributary
