#pragma once
// The store concepts, split by capability. A document store holds named indices of JSON documents; an
// alias store adds atomic alias updates; refinements add what some systems need and some backends can
// give (ids present, insert if absent, per-document delete, a change cursor, padded text, moving
// writes). Each concept requires an opt-in tag, so that a type is never taken for a store because its
// member names happen to match. Archetypes are in <tributary/index/archetypes.hpp>.
//
// Opting in:
//   using index_backend_concept = document_store_tag;   // or alias_store_tag, or index_backend_tag
//   using exists_many_concept = exists_many_tag;        // one alias per refinement the type models
// The tags of the core form a hierarchy (index_backend_tag -> alias_store_tag -> document_store_tag), so
// a type naming index_backend_tag models all three. Every refinement also requires document_store.

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <tributary/detail/opt_in.hpp>
#include <tributary/index/types.hpp>

namespace tributary {

struct document_store_tag {};
struct alias_store_tag : document_store_tag {};
/// The collector's name for alias_store_tag, kept so that existing stores keep compiling.
struct index_backend_tag : alias_store_tag {};

struct exists_many_tag {};
struct insert_if_absent_tag {};
struct document_delete_tag {};
struct change_cursor_tag {};
struct padded_text_tag {};
struct moving_write_tag {};
struct rewrite_tag {};

/// DocumentStore: named indices of JSON documents. Every operation either completes (durably, for
/// writes) or throws tributary::error. Names follow index/names.hpp (errc::invalid_name otherwise);
/// document operations on a missing index throw errc::not_found.
///   using index_backend_concept = document_store_tag;    (or a tag derived from it)
///   void create_index(string_view)                       errc::already_exists if the name is taken
///   bool index_exists(string_view) const                 a concrete index (never an alias)
///   bulk_result bulk_write(string_view index, span<const stored_document>)   upsert by id, per-item
///                                                        result; a repeated id: the last one wins
///   vector<optional<string>> get(string_view index, span<const string> ids)   JSON by id, in order
///   scan_page scan(string_view index, string_view after_id, size_t limit)    id order (bytewise),
///                                                        no cap on the total; limit 0: errc::invalid_config
///   vector<string> list_indices(string_view prefix) const   sorted; no character is a wildcard
///   void delete_indices(span<const string>)              explicit names only, all or none
template <class T>
concept document_store = detail::opts_in<T, document_store_tag, typename T::index_backend_concept> &&
  requires(T& b, const T& cb, std::string_view name, std::span<const stored_document> docs,
           std::span<const std::string> names, std::size_t n) {
    { b.create_index(name) } -> std::same_as<void>;
    { cb.index_exists(name) } -> std::same_as<bool>;
    { b.bulk_write(name, docs) } -> std::same_as<bulk_result>;
    { cb.get(name, names) } -> std::same_as<std::vector<std::optional<std::string>>>;
    { cb.scan(name, name, n) } -> std::same_as<scan_page>;
    { cb.list_indices(name) } -> std::same_as<std::vector<std::string>>;
    { b.delete_indices(names) } -> std::same_as<void>;
  };

/// AliasStore: a DocumentStore whose indices can carry aliases, changed atomically.
///   using index_backend_concept = alias_store_tag;       (or index_backend_tag)
///   vector<string> alias_targets(string_view alias) const   sorted; none for an unknown alias
///   vector<alias_entry> aliases() const                  the whole alias table, sorted
///   void update_aliases(span<const alias_action>)        atomic: all actions or none, and a concurrent
///                                                        reader sees the table before or after, whole
/// On an alias store, create_index refuses an alias's name too (errc::already_exists), delete_indices
/// refuses an index that carries an alias (errc::conflict), and document operations refuse an alias
/// (errc::not_found): an alias is not an index.
template <class T>
concept alias_store = document_store<T> && detail::opts_in<T, alias_store_tag, typename T::index_backend_concept> &&
  requires(T& b, const T& cb, std::string_view name, std::span<const alias_action> actions) {
    { cb.alias_targets(name) } -> std::same_as<std::vector<std::string>>;
    { cb.aliases() } -> std::same_as<std::vector<alias_entry>>;
    { b.update_aliases(actions) } -> std::same_as<void>;
  };

/// IndexBackend: what the X-Road collector needs, a DocumentStore with aliases: exactly an AliasStore,
/// under the name the collector has always used.
///   using index_backend_concept = index_backend_tag;     (or alias_store_tag)
template <class T>
concept index_backend = alias_store<T>;

/// ExistsManyStore (refines DocumentStore): which ids an index holds, without reading the documents.
///   using exists_many_concept = exists_many_tag;
///   vector<bool> exists(string_view index, span<const string> ids) const   one per id, in order
template <class T>
concept exists_many_store = document_store<T> && detail::opts_in<T, exists_many_tag, typename T::exists_many_concept> &&
  requires(const T& cb, std::string_view name, std::span<const std::string> ids) {
    { cb.exists(name, ids) } -> std::same_as<std::vector<bool>>;
  };

/// InsertIfAbsentStore (refines DocumentStore): writes a document only when its id is absent, never
/// overwriting. Atomic per document: of any number of writers inserting one id at once, exactly one
/// is told `inserted`. Within a batch the first of a repeated id wins.
///   using insert_if_absent_concept = insert_if_absent_tag;
///   insert_result insert_if_absent(string_view index, span<const stored_document>)
template <class T>
concept insert_if_absent_store =
  document_store<T> && detail::opts_in<T, insert_if_absent_tag, typename T::insert_if_absent_concept> &&
  requires(T& b, std::string_view name, std::span<const stored_document> docs) {
    { b.insert_if_absent(name, docs) } -> std::same_as<insert_result>;
  };

/// DocumentDeleteStore (refines DocumentStore): deletes documents by id, saying which were present.
/// Deleting an absent id is no error.
///   using document_delete_concept = document_delete_tag;
///   delete_result delete_documents(string_view index, span<const string> ids)
template <class T>
concept document_delete_store =
  document_store<T> && detail::opts_in<T, document_delete_tag, typename T::document_delete_concept> &&
  requires(T& b, std::string_view name, std::span<const std::string> ids) {
    { b.delete_documents(name, ids) } -> std::same_as<delete_result>;
  };

/// ChangeCursorStore (refines DocumentStore): the documents of an index written (inserted or updated,
/// by any write operation) after a position, in write order. Position 0 is the beginning; a page's
/// `next` is where the following page starts. Paging until `done` sees every document written before
/// the last page was read, once, at the position of its latest write: nothing is missed or repeated,
/// and a document written again meanwhile comes again, later. Positions belong to one index (an index
/// deleted and created again starts afresh); deleted documents are not reported.
///   using change_cursor_concept = change_cursor_tag;
///   change_page changes_since(string_view index, uint64_t after, size_t limit) const   limit 0: errc::invalid_config
template <class T>
concept change_cursor_store =
  document_store<T> && detail::opts_in<T, change_cursor_tag, typename T::change_cursor_concept> &&
  requires(const T& cb, std::string_view name, std::uint64_t position, std::size_t n) {
    { cb.changes_since(name, position, n) } -> std::same_as<change_page>;
  };

/// PaddedTextStore (refines DocumentStore): every text that get and scan return (and changes_since,
/// where the store has it) has at least detail::parse_padding bytes of spare capacity, so a parser
/// reads it in place (document_parser::parse_owned) instead of copying it. A contract on values, so
/// only the tag says it.
///   using padded_text_concept = padded_text_tag;
template <class T>
concept padded_text_store = document_store<T> && detail::opts_in<T, padded_text_tag, typename T::padded_text_concept>;

/// MovingWriteStore (refines DocumentStore): a bulk write that takes the documents' text over instead
/// of copying it; same semantics as bulk_write of a span. The tag is what tells it apart: a vector
/// converts to the span of the plain overload, so the call alone would match every store.
///   using moving_write_concept = moving_write_tag;
///   bulk_result bulk_write(string_view index, vector<stored_document>&&)
template <class T>
concept moving_write_store = document_store<T> && detail::opts_in<T, moving_write_tag, typename T::moving_write_concept> &&
  requires(T& b, std::string_view name, std::vector<stored_document>&& docs) {
    { b.bulk_write(name, std::move(docs)) } -> std::same_as<bulk_result>;
  };

/// RewriteStore (refines DocumentStore): each of a batch of documents read and rewritten with one
/// lookup, its current text handed to the caller where it is instead of copied out and written back.
///   using rewrite_concept = rewrite_tag;
///   bulk_result rewrite(string_view index, span<const string> ids, Next next)
///     next(size_t i, const string* current) -> const string*: the text to store under ids[i] (copied:
///     the caller keeps its string), or nullptr to leave the document as it is.
template <class T>
concept rewrite_store = document_store<T> && detail::opts_in<T, rewrite_tag, typename T::rewrite_concept> &&
  requires(T& b, std::string_view name, std::span<const std::string> ids, const std::string* (*next)(std::size_t, const std::string*)) {
    { b.rewrite(name, ids, next) } -> std::same_as<bulk_result>;
  };

}  // namespace tributary
