#pragma once
// basic_record_reader: reads what a collector published. Opens the index behind an alias (or a concrete
// index) of a store once, then iterates its records in id order a page at a time, looks records up by
// id and counts them, parsing each with the record model's parser. Generic: any RecordModel, any
// DocumentStore (aliases are resolved where the store has them).
//
//   auto reader = tributary::open_records<service_record>(store, "apicatalogue");
//   reader.for_each([](const service& s) { ... });             // return false to stop early
//   auto found = reader.get(std::vector<std::string>{"GOV/1/sub/getPerson"});
//
// The alias is resolved when the reader opens, and the reader keeps reading that index: a collector
// moving the alias meanwhile does not mix two collections into one pass. The store must outlive the
// reader.

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <tributary/collector/concepts.hpp>
#include <tributary/error.hpp>
#include <tributary/index/concepts.hpp>

namespace tributary {

struct reader_options {
  /// Documents read from the store at once: what a pass holds in memory, whatever the index's size.
  std::size_t page_size = 1000;
};

template <record_model RecordModel, document_store Store>
class basic_record_reader {
 public:
  using record_model = RecordModel;
  using document = typename RecordModel::document;

  /// Opens `name`: the one index an alias of that name points to, or else a concrete index of that
  /// name. Throws error(errc::not_found) when there is neither, error(errc::conflict) when the alias
  /// points to several indices (a reader would not know which collection to read), and
  /// error(errc::invalid_config) for a page size of 0.
  basic_record_reader(const Store& store, std::string_view name, reader_options options = {})
      : store_(&store), options_(options), index_(resolve(store, name)) {
    if (options_.page_size == 0) throw error(errc::invalid_config, "reader_options: page_size must be at least 1");
  }

  /// The concrete index being read.
  [[nodiscard]] const std::string& index() const noexcept { return index_; }

  /// Calls f(document&) for every record, in id order (bytewise), one page in memory at a time. f may
  /// return bool: false stops the pass. Returns how many records f was given. A document the model
  /// cannot parse throws error(errc::bad_document) naming its id and index.
  template <class F>
  std::size_t for_each(F&& f) const {
    static_assert(std::is_invocable_v<F&, document&>, "basic_record_reader::for_each: f must take a document&");
    typename RecordModel::parser parser;
    std::size_t visited = 0;
    std::string after;
    while (true) {
      auto page = store_->scan(index_, after, options_.page_size);
      for (auto& stored : page.documents) {
        document doc{};
        parse(parser, std::move(stored.json), stored.id, doc);
        ++visited;
        if constexpr (std::is_convertible_v<std::invoke_result_t<F&, document&>, bool>) {
          if (!f(doc)) return visited;
        } else {
          f(doc);
        }
      }
      if (page.done) return visited;
      after = std::move(page.next_after);
    }
  }

  /// The records of `ids`, in that order; nullopt for an id the index does not hold.
  [[nodiscard]] std::vector<std::optional<document>> get(std::span<const std::string> ids) const {
    typename RecordModel::parser parser;
    auto texts = store_->get(index_, ids);
    std::vector<std::optional<document>> out(texts.size());
    for (std::size_t i = 0; i < texts.size(); ++i) {
      if (!texts[i]) continue;
      out[i].emplace();
      parse(parser, std::move(*texts[i]), ids[i], *out[i]);
    }
    return out;
  }

  [[nodiscard]] std::optional<document> get(std::string_view id) const {
    const std::string one(id);
    return std::move(get(std::span<const std::string>(&one, 1)).front());
  }

  /// The stored JSON of `ids` as the store holds it, unparsed: for a caller that prints or forwards it.
  [[nodiscard]] std::vector<std::optional<std::string>> get_json(std::span<const std::string> ids) const {
    return store_->get(index_, ids);
  }

  /// How many records the index holds. No store concept has a count, so this pages through the
  /// index's texts (without parsing them): as bounded in memory as for_each, not free.
  [[nodiscard]] std::size_t count() const {
    std::size_t n = 0;
    std::string after;
    while (true) {
      auto page = store_->scan(index_, after, options_.page_size);
      n += page.documents.size();
      if (page.done) return n;
      after = std::move(page.next_after);
    }
  }

 private:
  static std::string resolve(const Store& store, std::string_view name) {
    if constexpr (alias_store<Store>) {
      auto targets = store.alias_targets(name);
      if (targets.size() == 1) return std::move(targets.front());
      if (targets.size() > 1) {
        std::string list;
        for (const auto& t : targets) list += (list.empty() ? "" : ", ") + t;
        throw error(errc::conflict, "alias '" + std::string(name) + "' points to " + std::to_string(targets.size()) +
                                        " indices (" + list + "); a reader reads one collection");
      }
    }
    if (store.index_exists(name)) return std::string(name);
    throw error(errc::not_found, "no alias or index '" + std::string(name) +
                                     "' in the store (has a collector published to it yet?)");
  }

  void parse(typename RecordModel::parser& parser, std::string&& json, std::string_view id, document& into) const {
    try {
      parser.parse_owned(std::move(json), into);
    } catch (const error& e) {
      // The parser knows what is wrong; only the reader knows where.
      throw error(e.code(), "record '" + std::string(id) + "' in index '" + index_ + "': " + e.what());
    }
  }

  const Store* store_;
  reader_options options_;
  std::string index_;
};

/// A reader of the records of model R behind `name` (an alias or a concrete index) in `store`.
template <record_model R, document_store Store>
[[nodiscard]] basic_record_reader<R, Store> open_records(const Store& store, std::string_view name,
                                                         reader_options options = {}) {
  return basic_record_reader<R, Store>(store, name, options);
}

}  // namespace tributary
