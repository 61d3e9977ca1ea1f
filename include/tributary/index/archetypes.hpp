#pragma once
// Archetypes of the store concepts: the smallest types that model each. Tests static_assert them.

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <tributary/index/concepts.hpp>

namespace tributary::archetypes {

struct index_backend {
  using index_backend_concept = index_backend_tag;
  void create_index(std::string_view) {}
  [[nodiscard]] bool index_exists(std::string_view) const { return false; }
  bulk_result bulk_write(std::string_view, std::span<const stored_document>) { return {}; }
  [[nodiscard]] std::vector<std::optional<std::string>> get(std::string_view, std::span<const std::string>) const { return {}; }
  [[nodiscard]] scan_page scan(std::string_view, std::string_view, std::size_t) const { return {}; }
  [[nodiscard]] std::vector<std::string> list_indices(std::string_view) const { return {}; }
  [[nodiscard]] std::vector<std::string> alias_targets(std::string_view) const { return {}; }
  [[nodiscard]] std::vector<alias_entry> aliases() const { return {}; }
  void update_aliases(std::span<const alias_action>) {}
  void delete_indices(std::span<const std::string>) {}
};

}  // namespace tributary::archetypes
