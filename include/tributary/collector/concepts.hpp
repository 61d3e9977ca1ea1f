#pragma once
// The policy concepts of basic_collector: the record it collects (RecordModel), how environments merge
// (MergeStrategy), how long to wait for peers (WaitStrategy), where records come from (Source). Opt-in
// tags as in <tributary/concepts.hpp>; archetypes in <tributary/collector/archetypes.hpp>. Nothing here
// knows the X-Road catalogue: its record model is <tributary/catalogue/service_record.hpp>.

#include <chrono>
#include <concepts>
#include <cstddef>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <tributary/concepts.hpp>

namespace tributary {

struct record_model_tag {};
struct merge_strategy_tag {};
struct wait_strategy_tag {};
struct source_tag {};
// Refinements: each is claimed with a member alias of its own (`using normalizing_merge_concept =
// normalizing_merge_tag;`), beside the base concept's, so a type claims exactly the refinements it means.
struct normalizing_merge_tag {};
struct local_environment_tag {};
struct adopt_into_tag {};
struct bounded_wait_tag {};
struct per_peer_wait_tag {};
struct text_record_tag {};
struct text_merge_tag {};

/// RecordModel: what the collector collects, stores and merges. A record (`document`) is stored under
/// an id and holds one `entry` per environment that has it; each environment collects its own entries
/// and copies its peers' own entries in. The model says how to reach these parts and how a document
/// is read from and written as JSON; everything else about the record is the user's.
///   using record_model_concept = record_model_tag;
///   using document = ...;  using entry = ...;          both default-constructible
///   static std::string_view id(const document&)                        the id it is stored under
///   static std::vector<entry>& entries(document&)       (and const)    one per environment
///   static std::string_view environment(const entry&)                  whose entry it is
///   static void mark_stale(entry&)            the entry is a peer's last published data from a run
///                                             that had not finished (the model decides how to show it)
///   static void write(std::string& out, const document&)               appends the document's JSON
///   using parser = ...;  default-constructible, reused from document to document:
///     void parse(std::string_view json, document& into)    throws error(errc::bad_document)
///     void parse_owned(std::string&& json, document& into) as parse; may keep the text (for example
///                                             when it has detail::parse_padding spare capacity)
template <class R>
concept record_model =
  detail::opts_in<R, record_model_tag, typename R::record_model_concept> &&
  std::default_initializable<typename R::document> && std::default_initializable<typename R::entry> &&
  std::default_initializable<typename R::parser> &&
  requires(typename R::document& d, const typename R::document& cd, typename R::entry& e,
           const typename R::entry& ce, typename R::parser& p, std::string_view json, std::string owned,
           std::string& out) {
    { R::id(cd) } -> std::convertible_to<std::string_view>;
    { R::entries(d) } -> std::same_as<std::vector<typename R::entry>&>;
    { R::entries(cd) } -> std::same_as<const std::vector<typename R::entry>&>;
    { R::environment(ce) } -> std::convertible_to<std::string_view>;
    { R::mark_stale(e) } -> std::same_as<void>;
    { R::write(out, cd) } -> std::same_as<void>;
    { p.parse(json, d) } -> std::same_as<void>;
    { p.parse_owned(std::move(owned), d) } -> std::same_as<void>;
  };

/// The entry of `env` in `doc`, or nullptr.
template <record_model R>
[[nodiscard]] typename R::entry* entry_of(typename R::document& doc, std::string_view env) {
  for (auto& e : R::entries(doc))
    if (std::string_view(R::environment(e)) == env) return &e;
  return nullptr;
}
template <record_model R>
[[nodiscard]] const typename R::entry* entry_of(const typename R::document& doc, std::string_view env) {
  for (const auto& e : R::entries(doc))
    if (std::string_view(R::environment(e)) == env) return &e;
  return nullptr;
}

/// The record model a policy names (`using record_model = ...;`).
template <class T>
using record_model_of = typename T::record_model;

/// MergeStrategy: names the record model, folds one remote environment's entry into a local document,
/// and decides what a document only the remote environment has becomes. With D = document, E = entry:
///   using merge_strategy_concept = merge_strategy_tag;
///   using record_model = R;                  a RecordModel
///   void merge(D& local, const E& remote) const          (an overload taking E&& is used when present)
///   std::optional<D> adopt(const D& remote_doc, const E& remote) const      nullopt: leave it out
/// Refinements below: normalizing_merge_strategy, local_environment_merge_strategy, adopt_into_merge_strategy,
/// text_merge_strategy.
template <class T>
concept merge_strategy = detail::opts_in<T, merge_strategy_tag, typename T::merge_strategy_concept> &&
  record_model<record_model_of<T>> &&
  requires(const T& m, typename record_model_of<T>::document& local,
           const typename record_model_of<T>::document& remote_doc, const typename record_model_of<T>::entry& entry) {
    { m.merge(local, entry) } -> std::same_as<void>;
    { m.adopt(remote_doc, entry) } -> std::same_as<std::optional<typename record_model_of<T>::document>>;
  };

/// NormalizingMergeStrategy: puts a freshly collected document in the form a merged one has (canonical
/// entry order, derived fields), so that a document does not change shape when a peer merges into it.
/// The collector applies it to every document the source gives.
///   using normalizing_merge_concept = normalizing_merge_tag;
///   void normalize(D&) const
template <class T>
concept normalizing_merge_strategy =
  merge_strategy<T> && detail::opts_in<T, normalizing_merge_tag, typename T::normalizing_merge_concept> &&
  requires(const T& m, typename record_model_of<T>::document& d) {
    { m.normalize(d) } -> std::same_as<void>;
  };

/// LocalEnvironmentMergeStrategy: a merge strategy that treats the environment collecting differently
/// (prefer_local). The collector sets `local_environment` to its configured environment when empty.
///   using local_environment_concept = local_environment_tag;
///   std::string local_environment
template <class T>
concept local_environment_merge_strategy =
  merge_strategy<T> && detail::opts_in<T, local_environment_tag, typename T::local_environment_concept> &&
  requires(T& m) {
    { m.local_environment } -> std::same_as<std::string&>;
  };

/// AdoptIntoMergeStrategy: adopts into a given document, every field of which it overwrites, so that
/// the document's storage is reused from one adoption to the next (peer_page_merger keeps one).
///   using adopt_into_concept = adopt_into_tag;
///   bool adopt_into(D& out, const D& remote_doc, E&& remote) const
///        returns whether the document was adopted (as adopt returning a value)
template <class T>
concept adopt_into_merge_strategy =
  merge_strategy<T> && detail::opts_in<T, adopt_into_tag, typename T::adopt_into_concept> &&
  requires(const T& m, typename record_model_of<T>::document& out, const typename record_model_of<T>::document& remote_doc,
           typename record_model_of<T>::entry&& entry) {
    { m.adopt_into(out, remote_doc, std::move(entry)) } -> std::same_as<bool>;
  };

/// TextRecordModel: a record model whose documents can also be read as their text, each entry kept as
/// the JSON it was written as, so that a merge that only moves entries between documents copies them
/// instead of parsing them into `document`s and writing them again (peer_page_merger does, with a
/// TextMergeStrategy). Reading as text is a fast path, never a second parser: it accepts only text that
/// `parser` accepts and whose entries `write` would write back unchanged, and declines the rest, which
/// is then parsed (so errors are always the parser's).
///   using text_record_concept = text_record_tag;
///   using text_document = ...;  using text_entry = ...;   default-constructible; a text_document views
///                                           the text it was read from and is reused document after document
///   static bool read_text(std::string_view json, text_document& into)     false: declined, parse it
///   static std::string_view id(const text_document&)
///   static text_entry* text_entry_of(text_document&, std::string_view environment)   the first, or nullptr
///   static void mark_stale(text_entry&)                                 as mark_stale of an entry
template <class R>
concept text_record_model =
  record_model<R> && detail::opts_in<R, text_record_tag, typename R::text_record_concept> &&
  std::default_initializable<typename R::text_document> && std::default_initializable<typename R::text_entry> &&
  requires(typename R::text_document& d, const typename R::text_document& cd, typename R::text_entry& e,
           std::string_view json) {
    { R::read_text(json, d) } -> std::same_as<bool>;
    { R::id(cd) } -> std::convertible_to<std::string_view>;
    { R::text_entry_of(d, json) } -> std::same_as<typename R::text_entry*>;
    { R::mark_stale(e) } -> std::same_as<void>;
  };

/// TextMergeStrategy: a merge strategy over a TextRecordModel that merges documents read as text. Each
/// call appends exactly the JSON that `merge` (or `adopt`) followed by the model's `write` would have
/// produced for the same documents, or declines, appending nothing; a declined document is parsed and
/// merged as a document. With TD = text_document, TE = text_entry:
///   using text_merge_concept = text_merge_tag;
///   bool merge_text(std::string& out, const TD& local, const TE& remote) const
///   bool adopt_text(std::string& out, const TD& remote_doc, const TE& remote) const
template <class T>
concept text_merge_strategy =
  merge_strategy<T> && text_record_model<record_model_of<T>> &&
  detail::opts_in<T, text_merge_tag, typename T::text_merge_concept> &&
  requires(const T& m, std::string& out, const typename record_model_of<T>::text_document& doc,
           const typename record_model_of<T>::text_entry& entry) {
    { m.merge_text(out, doc, entry) } -> std::same_as<bool>;
    { m.adopt_text(out, doc, entry) } -> std::same_as<bool>;
  };

/// WaitStrategy: when to look at running peers again, and when to stop waiting. One deadline is
/// shared by all peers.
///   using wait_strategy_concept = wait_strategy_tag;
///   schedule start(time_point now)           where `schedule` has
///   std::optional<time_point> schedule::next(time_point now)   the next look, nullopt once past the deadline
template <class T>
concept wait_strategy = detail::opts_in<T, wait_strategy_tag, typename T::wait_strategy_concept> &&
  requires(T& w, std::chrono::system_clock::time_point now) {
    { w.start(now) };
    { w.start(now).next(now) } -> std::same_as<std::optional<std::chrono::system_clock::time_point>>;
  };

/// BoundedWaitStrategy: a wait strategy whose longest wait is known up front. The collector refuses,
/// at construction, one whose longest wait is not shorter than collector_config::stale_after: a run
/// still waiting would be taken for a dead one. A strategy without it is checked at activation only.
///   using bounded_wait_concept = bounded_wait_tag;
///   duration max_wait() const                the longest wait, from the first look
template <class T>
concept bounded_wait_strategy =
  wait_strategy<T> && detail::opts_in<T, bounded_wait_tag, typename T::bounded_wait_concept> &&
  requires(const T& w) {
    std::chrono::duration_cast<std::chrono::milliseconds>(w.max_wait());
  };

/// What a per-peer schedule decides at a look.
struct peer_wait {
  std::optional<std::chrono::system_clock::time_point> next_look;  ///< nullopt: stop waiting for every peer
  std::vector<std::string> give_up;  ///< running peers to stop waiting for now (handled as at the deadline)
};

/// PerPeerWaitStrategy: a wait strategy whose schedule is told which peers are still running at each
/// look, so that it can give each peer its own deadline (per_peer_deadline does). Without it, one
/// deadline is shared by all peers.
///   using per_peer_wait_concept = per_peer_wait_tag;
///   peer_wait schedule::next(time_point now, std::span<const std::string> running)
template <class T>
concept per_peer_wait_strategy =
  wait_strategy<T> && detail::opts_in<T, per_peer_wait_tag, typename T::per_peer_wait_concept> &&
  requires(T& w, std::chrono::system_clock::time_point now, std::span<const std::string> running) {
    { w.start(now).next(now, running) } -> std::same_as<peer_wait>;
  };

/// A provider of records (an X-Road subsystem, for the X-Road source).
struct provider {
  std::string id;    ///< e.g. `DEV/GOV/70000310/kir-public`
  std::string name;  ///< human-readable owner name
  friend bool operator==(const provider&, const provider&) = default;
};

/// What collecting one provider produced: its records, or why it failed.
template <class Document>
struct basic_provider_outcome {
  std::vector<Document> records;
  std::string failure;  ///< empty on success
  std::vector<std::string> warnings;  ///< parts skipped (a version whose spec was invalid, ...)
  [[nodiscard]] bool ok() const noexcept { return failure.empty(); }
};

/// Source: where records come from. It is given the collector's transport; it may run its requests
/// concurrently but calls `on_outcome` on the calling thread, one provider at a time.
///   using source_concept = source_tag;
///   using record_model = R;                  the same model as the collector's merge strategy
///   std::vector<provider> list_providers(Transport&)            throws error(errc::source_failed)
///   void collect(Transport&, std::span<const provider>, std::size_t concurrency, F on_outcome)
///        at most `concurrency` providers in flight; on_outcome(const provider&, basic_provider_outcome<D>&&)
///        once per provider given, whether it succeeded or failed (a failure is an outcome, not a throw).
/// Every record a provider's outcome holds has exactly one entry, whose environment is the collecting
/// environment (collector_config::environment). The collector checks this: a record that breaks it
/// fails its provider's outcome with a message naming the record, so that a mislabelled collection
/// never publishes as an empty one.
template <class S, class Transport>
concept source = detail::opts_in<S, source_tag, typename S::source_concept> && record_model<record_model_of<S>> &&
  requires(S& s, Transport& t, std::span<const provider> ps, std::size_t n,
           std::function<void(const provider&, basic_provider_outcome<typename record_model_of<S>::document>&&)> on_outcome) {
    { s.list_providers(t) } -> std::same_as<std::vector<provider>>;
    { s.collect(t, ps, n, on_outcome) } -> std::same_as<void>;
  };

}  // namespace tributary
