#pragma once
// peer_page_merger: folds pages of a peer environment's documents into a local index. It takes only the
// peer's own entry of each document (a peer's index also holds what the peer merged from others, which
// is not its to give), merges it into the local document when there is one and adopts it otherwise,
// and yields the documents to write. It does not touch a store: the caller reads the local documents
// and writes the results, so the same code serves the collector and the benchmarks.

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <tributary/collector/concepts.hpp>
#include <tributary/error.hpp>
#include <tributary/index/types.hpp>

namespace tributary {

template <class MergeStrategy>
class peer_page_merger {
  static_assert(merge_strategy<MergeStrategy>, "peer_page_merger: MergeStrategy does not model tributary::merge_strategy");

 public:
  using record_model = record_model_of<MergeStrategy>;
  using document = typename record_model::document;
  using entry = typename record_model::entry;

 private:
  // A record model without text documents gets placeholders: nothing reads them.
  struct no_text {};
  template <class R, bool = text_record_model<R>>
  struct text_types {
    using document = no_text;
    using entry = no_text;
  };
  template <class R>
  struct text_types<R, true> {
    using document = typename R::text_document;
    using entry = typename R::text_entry;
  };
  using text_document_t = typename text_types<record_model>::document;
  using text_entry_t = typename text_types<record_model>::entry;

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
    if constexpr (text_merge_strategy<MergeStrategy>) {
      return take_text_page(page, [](const stored_document& d, std::string& into) { into.assign(d.json); },
                            [&](std::string& text, document& into) { parser_.parse(text, into); });
    } else {
      return take_page(page, [&](const stored_document& d, document& into) { parser_.parse(d.json, into); });
    }
  }
  /// As take, taking the page's text over instead of copying it: a page a store handed out with room
  /// for the parser's padding (detail::padded_text) is parsed where it is, and its large specs are
  /// never copied before they are written. The page's documents are left empty.
  [[nodiscard]] const std::vector<std::string>& take(std::vector<stored_document>&& page) {
    return take_over(std::span<stored_document>(page));
  }
  /// As take of an rvalue page, for a part of one: the copy loop merges a scanned page a part at a time
  /// (collector_config::merge_batch), so that a part's documents are still in the cache when they are
  /// merged and written. The part's documents are left empty.
  [[nodiscard]] const std::vector<std::string>& take_over(std::span<stored_document> part) {
    if constexpr (text_merge_strategy<MergeStrategy>) {
      return take_text_page(part, [](stored_document& d, std::string& into) { into = std::move(d.json); },
                            [&](std::string& text, document& into) { parser_.parse_owned(std::move(text), into); });
    } else {
      return take_page(part, [&](stored_document& d, document& into) { parser_.parse_owned(std::move(d.json), into); });
    }
  }

  /// Given the local documents for the ids `take` returned (nullopt where there is none), returns the
  /// documents to write. The caller may move from them: they are rebuilt on every call.
  [[nodiscard]] std::vector<stored_document>& merge(std::span<const std::optional<std::string>> locals) {
    return merge_page(locals, [&](const std::string& local) { parser_.parse(local, local_); });
  }
  /// As merge, taking the local documents' text over instead of copying it (see parse_owned).
  [[nodiscard]] std::vector<stored_document>& merge(std::vector<std::optional<std::string>>&& locals) {
    return merge_page(std::span<std::optional<std::string>>(locals),
                      [&](std::string& local) { parser_.parse_owned(std::move(local), local_); });
  }

  /// As merge, one document at a time where the local documents are read where a store keeps them
  /// (rewrite_store): the write for the i-th id `take` returned given its local document's text (nullptr
  /// where there is none), or nullptr where nothing is to be written. The result is valid until the next
  /// call, which reuses its storage.
  [[nodiscard]] stored_document* merge_one(std::size_t i, const std::string* local) {
    if (i >= taken_) throw error(errc::bad_document, "peer_page_merger: no taken document " + std::to_string(i));
    return merge_at(i, local, one_, [&](const std::string& text) { parser_.parse(text, local_); }) ? &one_ : nullptr;
  }

  [[nodiscard]] const counts& totals() const noexcept { return counts_; }

 private:
  template <class Document, class Parse>
  const std::vector<std::string>& take_page(std::span<Document> page, Parse parse) {
    // The parsed documents, ids and writes live in pools reused page after page: their strings keep
    // their capacity, so a steady state of pages allocates little beyond what the merge itself copies.
    taken_ = 0;
    std::size_t parsed = 0;
    for (auto& d : page) {
      if (parsed == remote_.size()) remote_.emplace_back();
      document& remote = remote_[parsed];
      const std::size_t json_size = d.json.size();
      try {
        parse(d, remote);
      } catch (const error& e) {
        throw error(e.code(), "peer document '" + d.id + "': " + e.what());
      }
      ++counts_.read;
      auto* own = entry_of<record_model>(remote, environment_);
      if (!own) continue;
      if (stale_) record_model::mark_stale(*own);
      note_taken(record_model::id(remote), {parsed, static_cast<std::size_t>(own - record_model::entries(remote).data()), json_size, nullptr});
      ++parsed;
    }
    ids_.resize(taken_);
    return ids_;
  }

  /// take_page for a strategy that merges text: each document is kept as its text (`keep` copies or
  /// moves it into a pool) and read as text; one the model declines is parsed (`parse_kept`) where
  /// take_page would have parsed it, so that it fails with the same error at the same point.
  template <class Document, class Keep, class ParseKept>
  const std::vector<std::string>& take_text_page(std::span<Document> page, Keep keep, ParseKept parse_kept) {
    taken_ = 0;
    // Sized before any is read: a text document views its text, and the merge points into the text
    // documents, so neither pool may move while the page is in use.
    if (texts_.size() < page.size()) texts_.resize(page.size());
    if (text_docs_.size() < page.size()) text_docs_.resize(page.size());
    std::size_t kept = 0;
    for (auto& d : page) {
      const std::size_t at = kept;
      const std::size_t json_size = d.json.size();
      keep(d, texts_[at]);
      text_document_t& as_text = text_docs_[at];
      if (record_model::read_text(texts_[at], as_text)) {
        ++counts_.read;
        text_entry_t* own = record_model::text_entry_of(as_text, environment_);
        if (!own) continue;
        if (stale_) record_model::mark_stale(*own);
        note_taken(record_model::id(as_text), {at, 0, json_size, own});
        ++kept;
        continue;
      }
      while (remote_.size() <= at) remote_.emplace_back();
      document& remote = remote_[at];
      try {
        parse_kept(texts_[at], remote);
      } catch (const error& e) {
        throw error(e.code(), "peer document '" + d.id + "': " + e.what());
      }
      ++counts_.read;
      auto* own = entry_of<record_model>(remote, environment_);
      if (!own) continue;
      if (stale_) record_model::mark_stale(*own);
      note_taken(record_model::id(remote), {at, static_cast<std::size_t>(own - record_model::entries(remote).data()), json_size, nullptr});
      ++kept;
    }
    ids_.resize(taken_);
    return ids_;
  }

  /// For a document taken as text whose merge as text was declined: the document parsed after all, as
  /// take_page would have, its own entry's position returned. The model read the text, so the parser
  /// accepts it.
  std::size_t parse_declined(std::size_t at) {
    while (remote_.size() <= at) remote_.emplace_back();
    document& remote = remote_[at];
    parser_.parse(texts_[at], remote);
    auto* own = entry_of<record_model>(remote, environment_);
    if (!own) throw error(errc::bad_document, "peer_page_merger: a document read as text lost its entry when parsed");
    if (stale_) record_model::mark_stale(*own);
    return static_cast<std::size_t>(own - record_model::entries(remote).data());
  }

  template <class Local, class Parse>
  std::vector<stored_document>& merge_page(std::span<Local> locals, Parse parse_local) {
    if (locals.size() != taken_)
      throw error(errc::bad_document, "peer_page_merger: got " + std::to_string(locals.size()) +
                                          " local documents for " + std::to_string(taken_) + " ids");
    std::size_t written = 0;
    for (std::size_t i = 0; i < taken_; ++i) {
      if (written == writes_.size()) writes_.emplace_back();
      if (merge_at(i, locals[i] ? &*locals[i] : nullptr, writes_[written], parse_local)) ++written;
    }
    writes_.resize(written);
    return writes_;
  }

  /// Merges the i-th taken document with `local` (nullptr where there is none) into `out`; false where
  /// nothing is to be written (a strategy that declines to adopt).
  template <class Local, class Parse>
  bool merge_at(std::size_t i, Local* local, stored_document& out, Parse parse_local) {
    auto& t = taken_of_[i];
    if constexpr (text_merge_strategy<MergeStrategy>) {
      if (t.text) {
        // Both documents as text, entries copied: the output the code below would write, or declined.
        out.json.clear();  // the strategy reserves what it writes
        if (local) {
          if (record_model::read_text(*local, local_text_) && merge_.merge_text(out.json, local_text_, *t.text)) {
            out.id.assign(record_model::id(local_text_));
            ++counts_.merged;
            return true;
          }
        } else if (merge_.adopt_text(out.json, text_docs_[t.document], *t.text)) {
          out.id.assign(record_model::id(text_docs_[t.document]));
          ++counts_.added;
          return true;
        }
        out.json.clear();
        t.entry = parse_declined(t.document);
        t.text = nullptr;
      }
    }
    document& remote = remote_[t.document];
    // The peer's entry is not needed after this document: it is moved, never copied.
    entry& theirs = record_model::entries(remote)[t.entry];
    std::optional<document> adopted;  // for a strategy without adopt_into
    document* merged = nullptr;
    std::size_t local_size = 0;
    if (local) {
      local_size = local->size();
      try {
        parse_local(*local);
      } catch (const error& e) {
        throw error(e.code(), "local document '" + std::string(record_model::id(remote)) + "': " + e.what());
      }
      merge_.merge(local_, std::move(theirs));
      merged = &local_;
      ++counts_.merged;
    } else {
      // A strategy that can adopt into a given document adopts into one kept for the purpose, whose
      // strings and vectors are reused document after document.
      if constexpr (adopt_into_merge_strategy<MergeStrategy>) {
        if (merge_.adopt_into(adopted_, remote, std::move(theirs))) merged = &adopted_;
      } else if ((adopted = merge_.adopt(remote, std::move(theirs)))) {
        merged = &*adopted;
      }
      if (merged) ++counts_.added;
    }
    if (!merged) return false;
    out.id.assign(record_model::id(*merged));
    out.json.clear();
    out.json.reserve(local_size + t.json_size + 64);  // the merge of both, in one allocation
    record_model::write(out.json, *merged);
    // The entry goes back to the page's pool once written: parsing the next page into it then reuses
    // its strings' storage instead of allocating them all again.
    document& holder = *merged;
    if (auto* moved = entry_of<record_model>(holder, environment_)) {
      std::swap(*moved, theirs);
      // What local_ keeps in its place is the emptied entry: drop it, so that the next local document
      // is parsed into entries that still have their storage rather than into one that has none.
      if (&holder == &local_) {
        auto& entries = record_model::entries(local_);
        entries.erase(entries.begin() + (moved - entries.data()));
      }
    }
    return true;
  }

  const MergeStrategy& merge_;
  std::string environment_;
  bool stale_;
  typename record_model::parser parser_;
  counts counts_;
  struct taken {
    std::size_t document;   ///< position in remote_ (and, read as text, in texts_ and text_docs_)
    std::size_t entry;      ///< position of the peer's own entry in its environments
    std::size_t json_size;  ///< size of the peer's JSON, to size the write
    text_entry_t* text;     ///< the peer's own entry when the document was read as text, else nullptr
  };
  std::vector<document> remote_;  ///< the page's parsed documents (a pool: may hold more than the page)
  std::vector<taken> taken_of_;
  std::size_t taken_ = 0;

  /// Records the next taken document of the page: its id and where it is (the pools keep capacity).
  void note_taken(std::string_view id, const taken& t) {
    if (taken_ == ids_.size()) ids_.emplace_back();
    ids_[taken_].assign(id);
    if (taken_ == taken_of_.size()) taken_of_.emplace_back();
    taken_of_[taken_] = t;
    ++taken_;
  }
  std::vector<std::string> ids_;
  document local_;  ///< the local document being merged, reused
  document adopted_;  ///< the document being adopted, reused (strategies with adopt_into)
  std::vector<stored_document> writes_;
  stored_document one_;  ///< merge_one's write
  // Documents read as text (text_merge_strategy only; empty otherwise).
  std::vector<std::string> texts_;          ///< the page's texts, kept while their text documents view them
  std::vector<text_document_t> text_docs_;  ///< the page's documents read as text
  text_document_t local_text_;              ///< the local document read as text, reused
};

}  // namespace tributary
