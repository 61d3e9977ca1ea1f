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
#include <string>
#include <vector>

#include <tributary/catalogue/document.hpp>
#include <tributary/concepts.hpp>

namespace tributary {

struct merge_strategy_tag {};
struct wait_strategy_tag {};
struct source_tag {};

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
