#pragma once
// The datasource concept: what a collector service runs when a consumer asks (ONDEMAND.md). Datasources
// are user types; the service holds them type-erased (any_datasource), so one service runs datasources
// of many types. Archetype: <tributary/ondemand/archetypes.hpp>.

#include <concepts>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <tributary/detail/opt_in.hpp>
#include <tributary/ondemand/event.hpp>

namespace tributary {

struct datasource_tag {};
struct streaming_datasource_tag {};

/// Where a streaming datasource's events go while it makes them. push waits while the service's
/// buffer for the call is full (the caller reads pages at its own pace, and that time does not count
/// against the datasource's time limit). false: nobody reads them any more (the time limit passed,
/// the caller abandoned the call's pages, the service is gone): stop and return.
class event_sink {
 public:
  virtual bool push(entity_event e) = 0;

 protected:
  ~event_sink() = default;
};

/// Datasource: a named source of entity events.
///   using datasource_concept = datasource_tag;
///   std::string name() const                            unique within a service; what consumers ask for
///   std::vector<entity_event> get_all(event_action)     every entity, as events with that action
///   std::vector<entity_event> get_changes()             what changed since the last call
/// Failing is throwing: the service reports the datasource as failed with the exception's text, never
/// leaves it out (Vitrage did). Called from the service's executor threads, but never twice at once
/// for one datasource (the service serializes its calls), so a datasource needs no lock of its own.
template <class T>
concept datasource = detail::opts_in<T, datasource_tag, typename T::datasource_concept> &&
  requires(T& d, const T& cd, event_action action) {
    { cd.name() } -> std::convertible_to<std::string>;
    { d.get_all(action) } -> std::same_as<std::vector<entity_event>>;
    { d.get_changes() } -> std::same_as<std::vector<entity_event>>;
  };

/// Streaming datasource: a datasource whose get_all can hand its events over as it makes them, so that
/// a service holds a bounded part of a huge get_all (its page buffer), never all of it.
///   using streaming_datasource_concept = streaming_datasource_tag;
///   void stream_all(event_action, event_sink&)     pushes every entity; throws to fail, as get_all
/// The service calls stream_all instead of get_all; get_all stays for callers that want a vector.
template <class T>
concept streaming_datasource = datasource<T> &&
  detail::opts_in<T, streaming_datasource_tag, typename T::streaming_datasource_concept> &&
  requires(T& d, event_action action, event_sink& sink) {
    { d.stream_all(action, sink) } -> std::same_as<void>;
  };

/// Any datasource, owned behind a shared pointer (a call the service gave up on may still be running
/// on an executor thread when the service is gone; it keeps its datasource alive).
class any_datasource {
 public:
  using datasource_concept = datasource_tag;
  using streaming_datasource_concept = streaming_datasource_tag;

  template <class D>
    requires(datasource<std::remove_cvref_t<D>> && !std::same_as<std::remove_cvref_t<D>, any_datasource>)
  explicit any_datasource(D&& d) : impl_(std::make_shared<holder<std::remove_cvref_t<D>>>(std::forward<D>(d))) {}
  /// Shares a datasource the caller keeps (tests inspect theirs).
  template <class D>
    requires datasource<D>
  explicit any_datasource(std::shared_ptr<D> d) : impl_(std::make_shared<shared_holder<D>>(std::move(d))) {}

  [[nodiscard]] std::string name() const { return impl_->name(); }
  std::vector<entity_event> get_all(event_action action) { return impl_->get_all(action); }
  std::vector<entity_event> get_changes() { return impl_->get_changes(); }
  /// The datasource's stream_all when it is a streaming_datasource; else its get_all pushed event by
  /// event (the vector is then the datasource's, whole, until the last of it is pushed).
  void stream_all(event_action action, event_sink& sink) { impl_->stream_all(action, sink); }
  [[nodiscard]] bool streams() const { return impl_->streams(); }

 private:
  template <class D>
  static void stream_of(D& d, event_action action, event_sink& sink) {
    if constexpr (streaming_datasource<D>) {
      d.stream_all(action, sink);
    } else {
      for (auto& e : d.get_all(action))
        if (!sink.push(std::move(e))) return;
    }
  }
  struct base {
    virtual ~base() = default;
    virtual std::string name() const = 0;
    virtual std::vector<entity_event> get_all(event_action) = 0;
    virtual std::vector<entity_event> get_changes() = 0;
    virtual void stream_all(event_action, event_sink&) = 0;
    virtual bool streams() const = 0;
  };
  template <class D>
  struct holder final : base {
    template <class U>
    explicit holder(U&& u) : d(std::forward<U>(u)) {}
    std::string name() const override { return std::string(d.name()); }
    std::vector<entity_event> get_all(event_action a) override { return d.get_all(a); }
    std::vector<entity_event> get_changes() override { return d.get_changes(); }
    void stream_all(event_action a, event_sink& s) override { stream_of(d, a, s); }
    bool streams() const override { return streaming_datasource<D>; }
    D d;
  };
  template <class D>
  struct shared_holder final : base {
    explicit shared_holder(std::shared_ptr<D> p) : d(std::move(p)) {}
    std::string name() const override { return std::string(d->name()); }
    std::vector<entity_event> get_all(event_action a) override { return d->get_all(a); }
    std::vector<entity_event> get_changes() override { return d->get_changes(); }
    void stream_all(event_action a, event_sink& s) override { stream_of(*d, a, s); }
    bool streams() const override { return streaming_datasource<D>; }
    std::shared_ptr<D> d;
  };
  std::shared_ptr<base> impl_;
};

static_assert(streaming_datasource<any_datasource>);

}  // namespace tributary
