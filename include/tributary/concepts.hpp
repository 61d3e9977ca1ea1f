#pragma once
// The policy concepts of basic_collector. Each requires an explicit opt-in tag, so a type that merely
// has the right member names is never accepted by accident (the stdexec `receiver_concept` idiom).
// Archetypes, the smallest types that model each concept, are in <tributary/archetypes.hpp>.

#include <chrono>
#include <concepts>
#include <cstddef>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <tributary/document.hpp>
#include <tributary/index/types.hpp>
#include <tributary/transport/http.hpp>

namespace tributary {

struct transport_tag {};
struct index_backend_tag {};
struct merge_strategy_tag {};
struct wait_strategy_tag {};
struct source_tag {};
struct clock_tag {};

namespace detail {
template <class T, class Tag, class Member>
concept opts_in = std::derived_from<Member, Tag>;
}

/// Transport: moves HTTP requests and responses.
///   using transport_concept = transport_tag;
///   http_response perform(http_request)                          one request, retries as configured
///   void perform_all(std::vector<http_request>, F on_done)       many, concurrently within the transport's
///        bounds; on_done(std::size_t position, http_response&&) runs on the calling thread
template <class T>
concept transport = detail::opts_in<T, transport_tag, typename T::transport_concept> &&
  requires(T& t, http_request req, std::vector<http_request> reqs,
           std::function<void(std::size_t, http_response&&)> on_done) {
    { t.perform(std::move(req)) } -> std::same_as<http_response>;
    { t.perform_all(std::move(reqs), on_done) } -> std::same_as<void>;
  };

/// StreamingTransport (optional refinement of Transport): requests are made while earlier ones finish,
/// so a caller whose next requests depend on earlier answers keeps the transport full instead of
/// waiting for the slowest request of a batch.
///   void perform_stream(G next, F on_done)
///     next() -> std::optional<http_request>    asked whenever the transport has room for one more;
///                                              nullopt: nothing right now (asked again after each on_done)
///     on_done(std::size_t ticket, http_response&&)   ticket: the request's position in the order next()
///                                              gave them (0, 1, 2, ...)
///   Returns once next() has nothing and no request is outstanding. Both run on the calling thread.
template <class T>
concept streaming_transport =
  transport<T> && requires(T& t, std::function<std::optional<http_request>()> next,
                           std::function<void(std::size_t, http_response&&)> on_done) {
    { t.perform_stream(next, on_done) } -> std::same_as<void>;
  };

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

/// MergeStrategy: folds one remote environment's entry into a local document, and decides what a
/// document only the remote environment has becomes.
///   using merge_strategy_concept = merge_strategy_tag;
///   void merge(service& local, const environment_entry& remote) const
///   std::optional<service> adopt(const service& remote_doc, const environment_entry& remote) const
/// Optionally, as adopt into a given document whose storage is reused (peer_page_merger uses it):
///   bool adopt_into(service& out, const service& remote_doc, environment_entry&& remote) const
template <class T>
concept merge_strategy = detail::opts_in<T, merge_strategy_tag, typename T::merge_strategy_concept> &&
  requires(const T& m, service& local, const service& remote_doc, const environment_entry& entry) {
    { m.merge(local, entry) } -> std::same_as<void>;
    { m.adopt(remote_doc, entry) } -> std::same_as<std::optional<service>>;
  };

/// Clock: wall time for naming and ages, and a way to wait. Tests inject a virtual clock.
///   using clock_concept = clock_tag;
///   std::chrono::system_clock::time_point now()
///   void sleep_until(std::chrono::system_clock::time_point)
template <class T>
concept clock = detail::opts_in<T, clock_tag, typename T::clock_concept> &&
  requires(T& c, std::chrono::system_clock::time_point t) {
    { c.now() } -> std::same_as<std::chrono::system_clock::time_point>;
    { c.sleep_until(t) } -> std::same_as<void>;
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

/// A provider of records (an X-Road subsystem, for the X-Road source).
struct provider {
  std::string id;    ///< e.g. `DEV/GOV/70000310/kir-public`
  std::string name;  ///< human-readable owner name
  friend bool operator==(const provider&, const provider&) = default;
};

/// What collecting one provider produced: its services, or why it failed.
struct provider_outcome {
  std::vector<service> services;
  std::string failure;  ///< empty on success
  std::vector<std::string> warnings;  ///< parts skipped (a version whose spec was invalid, ...)
  [[nodiscard]] bool ok() const noexcept { return failure.empty(); }
};

/// Source: where records come from. It is given the collector's transport; it may run its requests
/// concurrently but calls `on_outcome` on the calling thread, one provider at a time.
///   using source_concept = source_tag;
///   std::vector<provider> list_providers(Transport&)            throws error(errc::source_failed)
///   void collect(Transport&, std::span<const provider>, std::size_t concurrency, F on_outcome)
///        at most `concurrency` providers in flight; on_outcome(const provider&, provider_outcome&&)
template <class S, class Transport>
concept source = detail::opts_in<S, source_tag, typename S::source_concept> &&
  requires(S& s, Transport& t, std::span<const provider> ps, std::size_t n,
           std::function<void(const provider&, provider_outcome&&)> on_outcome) {
    { s.list_providers(t) } -> std::same_as<std::vector<provider>>;
    { s.collect(t, ps, n, on_outcome) } -> std::same_as<void>;
  };

}  // namespace tributary
