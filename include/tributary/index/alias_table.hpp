#pragma once
// The alias bookkeeping shared by the in-process backends: validation and atomic application of a
// list of alias actions against a table of (alias, index) pairs.

#include <algorithm>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <tributary/error.hpp>
#include <tributary/index/types.hpp>
#include <tributary/index/names.hpp>

namespace tributary {

/// Checks a list of alias actions before anything is applied: names valid, lists non-empty.
inline void validate_alias_actions(std::span<const alias_action> actions) {
  if (actions.empty()) throw error(errc::invalid_config, "an alias update needs at least one action");
  for (const auto& a : actions) {
    validate_alias_name(a.alias);
    if (a.op != alias_action::kind::remove_everywhere) validate_index_name(a.index);
  }
}

class alias_table {
 public:
  [[nodiscard]] bool has_alias(std::string_view alias) const {
    auto it = pairs_.lower_bound(alias_entry{std::string(alias), {}});
    return it != pairs_.end() && it->alias == alias;
  }
  [[nodiscard]] std::vector<std::string> targets(std::string_view alias) const {
    std::vector<std::string> out;
    for (auto it = pairs_.lower_bound(alias_entry{std::string(alias), {}}); it != pairs_.end() && it->alias == alias; ++it)
      out.push_back(it->index);
    return out;
  }
  [[nodiscard]] std::vector<std::string> aliases_of(std::string_view index) const {
    std::vector<std::string> out;
    for (const auto& p : pairs_)
      if (p.index == index) out.push_back(p.alias);
    return out;
  }
  [[nodiscard]] std::vector<alias_entry> entries() const { return {pairs_.begin(), pairs_.end()}; }

  /// Applies `actions` all or nothing. `index_exists` tells whether a concrete index exists.
  template <class IndexExists>
  void apply(std::span<const alias_action> actions, IndexExists&& index_exists) {
    validate_alias_actions(actions);
    auto next = pairs_;
    for (const auto& a : actions) {
      switch (a.op) {
        case alias_action::kind::add:
          if (!index_exists(a.index))
            throw error(errc::not_found, "cannot add alias '" + a.alias + "' to missing index '" + a.index + "'");
          if (index_exists(a.alias))
            throw error(errc::conflict, "alias '" + a.alias + "' would shadow an index of the same name");
          next.insert({a.alias, a.index});
          break;
        case alias_action::kind::remove:
          if (next.erase({a.alias, a.index}) == 0 && a.must_exist)
            throw error(errc::conflict, "alias '" + a.alias + "' is not on index '" + a.index + "'");
          break;
        case alias_action::kind::remove_everywhere:
          std::erase_if(next, [&](const alias_entry& p) { return p.alias == a.alias; });
          break;
      }
    }
    pairs_ = std::move(next);
  }

  /// Forgets every alias of a deleted index.
  void drop_index(std::string_view index) {
    std::erase_if(pairs_, [&](const alias_entry& p) { return p.index == index; });
  }

 private:
  std::set<alias_entry> pairs_;
};

}  // namespace tributary
