#pragma once
// The policy concepts of basic_collector that speak the catalogue's model: how environments merge,
// how long to wait for peers, where records come from. Opt-in tags as in <tributary/catalogue/concepts.hpp>;
// archetypes in <tributary/catalogue/archetypes.hpp>.

#include <chrono>
#include <concepts>
#include <cstddef>
#include <functional>
#include <optional>
#include <span>
#include <utility>
#include <string>
#include <vector>

#include <tributary/catalogue/document.hpp>
#include <tributary/concepts.hpp>

namespace tributary {

struct merge_strategy_tag {};
struct wait_strategy_tag {};
struct source_tag {};
// Refinements: each is claimed with a member alias of its own (`using ordered_merge_concept =
// ordered_merge_tag;`), beside the base concept's, so a type claims exactly the refinements it means.
struct ordered_merge_tag {};
struct local_environment_tag {};
struct adopt_into_tag {};
struct bounded_wait_tag {};

/// MergeStrategy: folds one remote environment's entry into a local document, and decides what a
/// document only the remote environment has becomes.
///   using merge_strategy_concept = merge_strategy_tag;
///   void merge(service& local, const environment_entry& remote) const
///   std::optional<service> adopt(const service& remote_doc, const environment_entry& remote) const
/// Refinements below: ordered_merge_strategy, local_environment_merge_strategy, adopt_into_merge_strategy.
template <class T>
concept merge_strategy = detail::opts_in<T, merge_strategy_tag, typename T::merge_strategy_concept> &&
  requires(const T& m, service& local, const service& remote_doc, const environment_entry& entry) {
    { m.merge(local, entry) } -> std::same_as<void>;
    { m.adopt(remote_doc, entry) } -> std::same_as<std::optional<service>>;
  };

/// OrderedMergeStrategy: a merge strategy with an environment precedence. The collector normalises
/// the documents it collects with the same precedence, so a fresh document looks exactly as a merged
/// one does; without it, fresh documents use the default order.
///   using ordered_merge_concept = ordered_merge_tag;
///   environment_order order                  the precedence, highest first
template <class T>
concept ordered_merge_strategy =
  merge_strategy<T> && detail::opts_in<T, ordered_merge_tag, typename T::ordered_merge_concept> &&
  requires(const T& m) {
    { m.order } -> std::convertible_to<const environment_order&>;
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
///   bool adopt_into(service& out, const service& remote_doc, environment_entry&& remote) const
///        returns whether the document was adopted (as adopt returning a value)
template <class T>
concept adopt_into_merge_strategy =
  merge_strategy<T> && detail::opts_in<T, adopt_into_tag, typename T::adopt_into_concept> &&
  requires(const T& m, service& out, const service& remote_doc, environment_entry&& entry) {
    { m.adopt_into(out, remote_doc, std::move(entry)) } -> std::same_as<bool>;
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
/// at construction, one whose deadline is not shorter than collector_config::stale_after: a run still
/// waiting would be taken for a dead one. A strategy without it is checked at activation only.
///   using bounded_wait_concept = bounded_wait_tag;
///   duration deadline                        the longest wait, from the first look
template <class T>
concept bounded_wait_strategy =
  wait_strategy<T> && detail::opts_in<T, bounded_wait_tag, typename T::bounded_wait_concept> &&
  requires(const T& w) {
    std::chrono::duration_cast<std::chrono::milliseconds>(w.deadline);
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
