#pragma once
// The semantics of an alias update, written once for every backend: validation, and a pure plan that
// says which (alias, index) rows an update deletes and inserts, or which action refuses it. Each
// backend reads the rows the plan needs inside its own transaction and writes the difference, so the
// rules cannot drift between memory, SQLite, PostgreSQL and the fake Elasticsearch; Elasticsearch
// itself applies actions server-side and only borrows the validation and, when it read the table, the
// plan. alias_table is memory_index's table, applying plans in place.

#include <algorithm>
#include <cstddef>
#include <iterator>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <tributary/error.hpp>
#include <tributary/index/types.hpp>
#include <tributary/index/names.hpp>

namespace tributary {

/// Checks a list of alias actions before anything is read or applied: names valid, list non-empty.
inline void validate_alias_actions(std::span<const alias_action> actions) {
  if (actions.empty()) throw error(errc::invalid_config, "an alias update needs at least one action");
  for (const auto& a : actions) {
    validate_alias_name(a.alias);
    if (a.op != alias_action::kind::remove_everywhere) validate_index_name(a.index);
  }
}

/// The names a plan reads: the rows of every alias in `aliases`, and which of `indices` are concrete
/// indices. Sorted, without repeats.
struct alias_update_names {
  std::vector<std::string> aliases;
  std::vector<std::string> indices;  ///< an add's index (must exist) and its alias (must not)
};

[[nodiscard]] inline alias_update_names names_of_alias_update(std::span<const alias_action> actions) {
  std::set<std::string> aliases, indices;
  for (const auto& a : actions) {
    aliases.insert(a.alias);
    if (a.op == alias_action::kind::add) indices.insert({a.index, a.alias});
  }
  return {{aliases.begin(), aliases.end()}, {indices.begin(), indices.end()}};
}

/// Why an alias update is refused, naming the action (its position in the list).
struct alias_refusal {
  enum class reason {
    missing_index,   ///< add: the index does not exist
    shadows_index,   ///< add: an index has the alias's name
    not_on_index,    ///< remove with must_exist: the alias is not on the index
  };
  reason why = reason::missing_index;
  std::size_t action = 0;

  /// The error every backend throws for it.
  [[nodiscard]] error to_error(std::span<const alias_action> actions) const {
    const auto& a = actions[action];
    switch (why) {
      case reason::missing_index:
        return error(errc::not_found, "cannot add alias '" + a.alias + "' to missing index '" + a.index + "'");
      case reason::shadows_index:
        return error(errc::conflict, "alias '" + a.alias + "' would shadow an index of the same name");
      case reason::not_on_index:
        break;
    }
    return error(errc::conflict, "alias '" + a.alias + "' is not on index '" + a.index + "'");
  }
};

/// What an alias update does to the alias rows: the rows to delete (present before) and to insert
/// (absent before), each sorted; or the first action that refuses the whole update.
struct alias_plan {
  std::vector<alias_entry> deletes;
  std::vector<alias_entry> inserts;
  std::optional<alias_refusal> refused;
  [[nodiscard]] bool ok() const noexcept { return !refused; }
  /// Throws the refusal's error; a backend calls it before writing anything.
  void check(std::span<const alias_action> actions) const {
    if (refused) throw refused->to_error(actions);
  }
};

/// Plans `actions` (already validated) in order, all or nothing, against `rows`: the current rows of at
/// least every alias the actions name (names_of_alias_update; rows of other aliases are ignored), and
/// `indices`: which of the names an add names are concrete indices (others may be listed too).
///   add                put the alias on the index; refused when the index is missing, or when an index
///                      has the alias's name (an alias may not shadow an index); already there is fine
///   remove             take the alias off the index; absent is fine unless must_exist
///   remove_everywhere  take the alias off every index that carries it; none is fine
[[nodiscard]] inline alias_plan plan_alias_update(std::span<const alias_action> actions, std::span<const alias_entry> rows,
                                                  std::span<const std::string> indices) {
  std::set<std::string_view> named;
  for (const auto& a : actions) named.insert(a.alias);
  std::set<alias_entry> before;
  for (const auto& r : rows)
    if (named.contains(r.alias)) before.insert(r);
  const std::set<std::string_view> index_set(indices.begin(), indices.end());
  auto next = before;
  alias_plan plan;
  for (std::size_t k = 0; k < actions.size(); ++k) {
    const auto& a = actions[k];
    switch (a.op) {
      case alias_action::kind::add:
        if (!index_set.contains(a.index)) plan.refused = alias_refusal{alias_refusal::reason::missing_index, k};
        else if (index_set.contains(a.alias)) plan.refused = alias_refusal{alias_refusal::reason::shadows_index, k};
        else next.insert({a.alias, a.index});
        break;
      case alias_action::kind::remove:
        if (next.erase({a.alias, a.index}) == 0 && a.must_exist)
          plan.refused = alias_refusal{alias_refusal::reason::not_on_index, k};
        break;
      case alias_action::kind::remove_everywhere:
        std::erase_if(next, [&](const alias_entry& p) { return p.alias == a.alias; });
        break;
    }
    if (plan.refused) return plan;
  }
  std::set_difference(before.begin(), before.end(), next.begin(), next.end(), std::back_inserter(plan.deletes));
  std::set_difference(next.begin(), next.end(), before.begin(), before.end(), std::back_inserter(plan.inserts));
  return plan;
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

  /// Applies `actions` all or nothing (plan_alias_update). `index_exists` tells whether a concrete
  /// index exists.
  template <class IndexExists>
  void apply(std::span<const alias_action> actions, IndexExists&& index_exists) {
    validate_alias_actions(actions);
    const auto names = names_of_alias_update(actions);
    std::vector<std::string> indices;
    for (const auto& n : names.indices)
      if (index_exists(n)) indices.push_back(n);
    const auto plan = plan_alias_update(actions, entries(), indices);
    plan.check(actions);
    for (const auto& r : plan.deletes) pairs_.erase(r);
    pairs_.insert(plan.inserts.begin(), plan.inserts.end());
  }

  /// Forgets every alias of a deleted index.
  void drop_index(std::string_view index) {
    std::erase_if(pairs_, [&](const alias_entry& p) { return p.index == index; });
  }

 private:
  std::set<alias_entry> pairs_;
};

}  // namespace tributary
