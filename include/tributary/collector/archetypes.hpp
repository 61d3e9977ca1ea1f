#pragma once
// Archetypes of the collector's policies: the smallest record model, merge strategy, wait strategy and
// source. Tests static_assert them; users can start a new policy from one.

#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <tributary/archetypes.hpp>
#include <tributary/collector/concepts.hpp>

namespace tributary::archetypes {

struct record_model {
  using record_model_concept = record_model_tag;
  struct entry {
    std::string environment;
  };
  struct document {
    std::string id;
    std::vector<entry> entries;
  };
  struct parser {
    void parse(std::string_view, document&) {}
    void parse_owned(std::string&&, document&) {}
  };
  [[nodiscard]] static std::string_view id(const document& d) { return d.id; }
  [[nodiscard]] static std::vector<entry>& entries(document& d) { return d.entries; }
  [[nodiscard]] static const std::vector<entry>& entries(const document& d) { return d.entries; }
  [[nodiscard]] static std::string_view environment(const entry& e) { return e.environment; }
  static void mark_stale(entry&) {}
  static void write(std::string& out, const document&) { out += "{}"; }
};

struct merge_strategy {
  using merge_strategy_concept = merge_strategy_tag;
  using record_model = archetypes::record_model;
  void merge(record_model::document&, const record_model::entry&) const {}
  [[nodiscard]] std::optional<record_model::document> adopt(const record_model::document&,
                                                            const record_model::entry&) const {
    return std::nullopt;
  }
};

/// A record model that can read its documents as text (TextRecordModel). Declining every text is a
/// correct reader: each is then parsed.
struct text_record_model : record_model {
  using text_record_concept = text_record_tag;
  struct text_entry {};
  struct text_document {};
  [[nodiscard]] static bool read_text(std::string_view, text_document&) { return false; }
  using record_model::id;
  [[nodiscard]] static std::string_view id(const text_document&) { return {}; }
  [[nodiscard]] static text_entry* text_entry_of(text_document&, std::string_view) { return nullptr; }
  using record_model::mark_stale;
  static void mark_stale(text_entry&) {}
};

/// A merge strategy over text (TextMergeStrategy). Declining every merge as text is correct: the
/// documents are then parsed and merged as documents.
struct text_merge_strategy : merge_strategy {
  using record_model = archetypes::text_record_model;
  using text_merge_concept = text_merge_tag;
  bool merge_text(std::string&, const record_model::text_document&, const record_model::text_entry&) const { return false; }
  bool adopt_text(std::string&, const record_model::text_document&, const record_model::text_entry&) const { return false; }
};

struct wait_strategy {
  using wait_strategy_concept = wait_strategy_tag;
  struct schedule {
    [[nodiscard]] std::optional<std::chrono::system_clock::time_point> next(std::chrono::system_clock::time_point) const {
      return std::nullopt;
    }
  };
  [[nodiscard]] schedule start(std::chrono::system_clock::time_point) const { return {}; }
};

struct source {
  using source_concept = source_tag;
  using record_model = archetypes::record_model;
  template <class Transport>
  std::vector<provider> list_providers(Transport&) { return {}; }
  template <class Transport, class F>
  void collect(Transport&, std::span<const provider>, std::size_t, F&&) {}
};

}  // namespace tributary::archetypes
