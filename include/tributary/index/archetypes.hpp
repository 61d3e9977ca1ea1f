#pragma once
// Archetypes of the store concepts: the smallest types that model each. Tests static_assert them; a
// new store can start from one.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <tributary/index/concepts.hpp>

namespace tributary::archetypes {

struct document_store {
  using index_backend_concept = document_store_tag;
  void create_index(std::string_view) {}
  [[nodiscard]] bool index_exists(std::string_view) const { return false; }
  bulk_result bulk_write(std::string_view, std::span<const stored_document>) { return {}; }
  [[nodiscard]] std::vector<std::optional<std::string>> get(std::string_view, std::span<const std::string>) const { return {}; }
  [[nodiscard]] scan_page scan(std::string_view, std::string_view, std::size_t) const { return {}; }
  [[nodiscard]] std::vector<std::string> list_indices(std::string_view) const { return {}; }
  void delete_indices(std::span<const std::string>) {}
};

struct alias_store : document_store {
  using index_backend_concept = alias_store_tag;
  [[nodiscard]] std::vector<std::string> alias_targets(std::string_view) const { return {}; }
  [[nodiscard]] std::vector<alias_entry> aliases() const { return {}; }
  void update_aliases(std::span<const alias_action>) {}
};

struct index_backend : alias_store {
  using index_backend_concept = index_backend_tag;
};

struct exists_many_store : document_store {
  using exists_many_concept = exists_many_tag;
  [[nodiscard]] std::vector<bool> exists(std::string_view, std::span<const std::string>) const { return {}; }
};

struct insert_if_absent_store : document_store {
  using insert_if_absent_concept = insert_if_absent_tag;
  insert_result insert_if_absent(std::string_view, std::span<const stored_document>) { return {}; }
};

struct document_delete_store : document_store {
  using document_delete_concept = document_delete_tag;
  delete_result delete_documents(std::string_view, std::span<const std::string>) { return {}; }
};

struct change_cursor_store : document_store {
  using change_cursor_concept = change_cursor_tag;
  [[nodiscard]] change_page changes_since(std::string_view, std::uint64_t, std::size_t) const { return {}; }
};

struct padded_text_store : document_store {
  using padded_text_concept = padded_text_tag;
};

struct moving_write_store : document_store {
  using moving_write_concept = moving_write_tag;
  using document_store::bulk_write;
  bulk_result bulk_write(std::string_view, std::vector<stored_document>&&) { return {}; }
};

struct rewrite_store : document_store {
  using rewrite_concept = rewrite_tag;
  template <class Next>
  bulk_result rewrite(std::string_view, std::span<const std::string>, Next) { return {}; }
};

}  // namespace tributary::archetypes
