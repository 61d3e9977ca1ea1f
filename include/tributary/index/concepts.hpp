#pragma once
// The store concepts: named indices of JSON documents, and aliases naming them.

#include <concepts>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <tributary/detail/opt_in.hpp>
#include <tributary/index/types.hpp>

namespace tributary {

struct index_backend_tag {};

/// IndexBackend: named indices of JSON documents and aliases naming them. Every operation either
/// completes (durably, for writes) or throws tributary::error.
///   using index_backend_concept = index_backend_tag;
///   void create_index(string_view)                       errc::already_exists if taken by an index or alias
///   bool index_exists(string_view) const                 a concrete index, not an alias
///   bulk_result bulk_write(string_view index, span<const stored_document>)   upsert by id, per-item result
///   vector<optional<string>> get(string_view index, span<const string> ids)   JSON by id, in order
///   scan_page scan(string_view index, string_view after_id, size_t limit)    id order, no cap on total
///   vector<string> list_indices(string_view prefix) const
///   vector<string> alias_targets(string_view alias) const
///   vector<alias_entry> aliases() const                  the whole alias table
///   void update_aliases(span<const alias_action>)        atomic: all actions or none
///   void delete_indices(span<const string>)              explicit names only; errc::conflict if one carries an alias
template <class T>
concept index_backend = detail::opts_in<T, index_backend_tag, typename T::index_backend_concept> &&
  requires(T& b, const T& cb, std::string_view name, std::span<const stored_document> docs,
           std::span<const std::string> names, std::span<const alias_action> actions, std::size_t n) {
    { b.create_index(name) } -> std::same_as<void>;
    { cb.index_exists(name) } -> std::same_as<bool>;
    { b.bulk_write(name, docs) } -> std::same_as<bulk_result>;
    { cb.get(name, names) } -> std::same_as<std::vector<std::optional<std::string>>>;
    { cb.scan(name, name, n) } -> std::same_as<scan_page>;
    { cb.list_indices(name) } -> std::same_as<std::vector<std::string>>;
    { cb.alias_targets(name) } -> std::same_as<std::vector<std::string>>;
    { cb.aliases() } -> std::same_as<std::vector<alias_entry>>;
    { b.update_aliases(actions) } -> std::same_as<void>;
    { b.delete_indices(names) } -> std::same_as<void>;
  };

}  // namespace tributary
