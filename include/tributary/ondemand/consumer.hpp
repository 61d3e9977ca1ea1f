#pragma once
// basic_ondemand_consumer<RpcClient, Clock>: Vitrage's graph side of ONDEMAND.md. It decides when to
// ask collector services, and feeds what comes back through the two-priority coordinator into the
// entity state.
//
//   curl_transport transport(curl, {});
//   basic_jsonrpc_http_client rpc(transport, {.url = "http://collector:8080/rpc"});
//   wall_clock clock;
//   basic_timer_service timers(clock);
//   basic_ondemand_consumer consumer(rpc, timers, {.changes_intervals = {{"nova", 30s}}});
//   consumer.start();                                  schedules the init_snapshot get_all, now
//   std::jthread t([&](std::stop_token s) { timers.run(s); });    timers call the collector services
//   for (;;) consumer.process_available();             applies events on the caller's thread
//
// The protocol, on the injected clock (so tests run hours of it in virtual time):
//   1. start: get_all(all datasources, init_snapshot, retry_on_fault = true). A call that fails (no
//      answer within the RPC client's timeout, no collector yet, an error answer) is tried again after
//      a draw of the shared backoff, until one answers: either process may start first.
//   2. once answered: get_all(snapshot) every snapshot_interval (default 600 s), and get_changes of each
//      datasource listed in changes_intervals at its own interval. A failed periodic call is retried
//      with backoff too, at most max_retries times (the next tick asks again anyway). Vitrage's retry on
//      timeout was dead code; here each retry is a timer that really fires, counted in stats().retries.
//   3. every answer's events go to the coordinator at low priority, followed by a marker for a get_all;
//      push_high() puts the user's events at high priority. process_available() applies them to the
//      entity state (an older sample never replaces a newer one); at a get_all's marker, entities
//      unseen for two snapshot intervals are marked deleted. A bad event (no entity id, say) is
//      counted and skipped, never fatal.
//   4. at a get_all's marker, after the sweep, the whole state goes to the Snapshots policy
//      (basic_state_snapshots: a fresh index and an alias switch). A restarted consumer restore()s the
//      newest snapshot before start(). Not yet here (issue 13): replaying the events persisted after it.
//
// Threads: calls run on whatever drives the timer service; process_available() on the owner's thread;
// the state is read on that thread only. RpcClient: tributary::rpc_client (ondemand/concepts.hpp), used
// from the timer thread only. Clock: tributary::clock.

#include <chrono>
#include <concepts>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <tributary/concepts.hpp>
#include <tributary/error.hpp>
#include <tributary/execution/timers.hpp>
#include <tributary/ondemand/concepts.hpp>
#include <tributary/ondemand/coordinator.hpp>
#include <tributary/ondemand/entity_state.hpp>
#include <tributary/ondemand/snapshot.hpp>
#include <tributary/retry.hpp>

namespace tributary {

struct consumer_options {
  std::vector<std::string> datasources{};  ///< asked by get_all; empty: every datasource of the service
  std::chrono::system_clock::duration snapshot_interval = std::chrono::seconds(600);
  /// get_changes of each listed datasource at its interval; datasources not listed are not asked.
  std::map<std::string, std::chrono::system_clock::duration> changes_intervals{};
  std::chrono::milliseconds retry_base{1'000}, retry_cap{60'000};
  unsigned max_retries = 3;  ///< of a periodic call; the initial get_all is retried until it is answered
  std::uint64_t seed = 0x636f6e73756d6572;
  coordinator_options coordinator{};

  void validate() const {
    auto fail = [](const std::string& what) { throw error(errc::invalid_config, "consumer_options: " + what); };
    if (snapshot_interval <= std::chrono::system_clock::duration::zero()) fail("snapshot_interval must be positive");
    for (const auto& [name, every] : changes_intervals)
      if (every <= std::chrono::system_clock::duration::zero()) fail("the get_changes interval of \"" + name + "\" must be positive");
    if (retry_cap < retry_base) fail("retry_cap must not be below retry_base");
  }
};

struct consumer_stats {
  std::uint64_t calls = 0;            ///< RPC calls made, retries included
  std::uint64_t calls_failed = 0;     ///< of those, the ones that got no valid answer
  std::uint64_t retries = 0;          ///< retries scheduled after a failed call
  std::uint64_t failed_outcomes = 0;  ///< datasources an answer reported not ok
  std::uint64_t get_all_answered = 0;
  std::uint64_t get_changes_answered = 0;
  std::uint64_t events_received = 0;
  std::uint64_t applied = 0, older_ignored = 0, bad_events = 0, swept = 0;
  std::uint64_t snapshots = 0, snapshot_failures = 0;  ///< saves after a get_all (the null policy counts too)
  bool initialized = false;  ///< the init_snapshot get_all was answered
  std::string last_failure;  ///< the latest failed call's error, or bad event's problem
};

/// Snapshots: basic_state_snapshots<IndexBackend> (ondemand/snapshot.hpp), or no_state_snapshots (the
/// null policy, the default): anything with save(const entity_state&, time_point).
template <class RpcClient, class Clock, class Snapshots = no_state_snapshots>
class basic_ondemand_consumer {
  static_assert(rpc_client<RpcClient>, "basic_ondemand_consumer: RpcClient does not model tributary::rpc_client (see ondemand/concepts.hpp)");
  static_assert(tributary::clock<Clock>, "basic_ondemand_consumer: Clock does not model tributary::clock (see concepts.hpp)");

 public:
  /// The client, the timer service and its clock are the caller's and must outlive the consumer.
  basic_ondemand_consumer(RpcClient& client, basic_timer_service<Clock>& timers, Clock& clock, consumer_options options = {})
    requires std::same_as<Snapshots, no_state_snapshots>
      : client_(&client), timers_(&timers), clock_(&clock), options_((options.validate(), std::move(options))),
        backoff_(options_.retry_base, options_.retry_cap, options_.seed), coordinator_(options_.coordinator),
        snapshots_(&no_snapshots_) {}
  /// Saves a snapshot after each get_all's events are processed. The snapshots are the caller's.
  basic_ondemand_consumer(RpcClient& client, basic_timer_service<Clock>& timers, Clock& clock, consumer_options options,
                          Snapshots& snapshots)
      : client_(&client), timers_(&timers), clock_(&clock), options_((options.validate(), std::move(options))),
        backoff_(options_.retry_base, options_.retry_cap, options_.seed), coordinator_(options_.coordinator),
        snapshots_(&snapshots) {}
  basic_ondemand_consumer(const basic_ondemand_consumer&) = delete;
  basic_ondemand_consumer& operator=(const basic_ondemand_consumer&) = delete;
  /// Cancels the timers it scheduled (the timer service may live on).
  /// Stop whatever drives the timer service first: a call running meanwhile would outlive the consumer.
  ~basic_ondemand_consumer() {
    std::lock_guard lock(timers_mu_);
    for (const std::uint64_t id : scheduled_) timers_->cancel(timer_id{id});
  }

  /// Step 1: the init_snapshot get_all, due now on the timer service.
  void start() {
    schedule_after(std::chrono::system_clock::duration::zero(), [this] { initial_get_all(1); });
  }

  /// A high-priority event (an evaluator's action, say). Waits while the high queue is full.
  bool push_high(entity_event e) { return coordinator_.push(event_priority::high, item{std::move(e), false}); }

  /// Applies every event waiting in the coordinator, in its order. Returns how many items it took.
  std::size_t process_available() {
    std::size_t n = 0;
    while (auto next = coordinator_.try_pop()) {
      apply(next->second);
      ++n;
    }
    return n;
  }

  /// Starts from a loaded snapshot (basic_state_snapshots::load) instead of nothing; before start().
  void restore(entity_state state) { state_ = std::move(state); }

  [[nodiscard]] const entity_state& state() const noexcept { return state_; }
  [[nodiscard]] consumer_stats stats() const {
    std::lock_guard lock(stats_mu_);
    return stats_;
  }
  [[nodiscard]] coordinator_stats coordination() const { return coordinator_.stats(); }

 private:
  struct item {
    entity_event event;
    bool end_of_get_all = false;  ///< a marker: the events of a get_all before it are all queued
  };

  /// A one-shot timer forgets its id when it runs, so retries over months do not pile ids up. The
  /// task takes timers_mu_ first, so it cannot run before its id is recorded.
  void schedule_after(std::chrono::system_clock::duration d, task t) {
    std::lock_guard lock(timers_mu_);
    auto id = std::make_shared<std::uint64_t>(0);
    *id = timers_->schedule_after(d, [this, id, t = std::move(t)]() mutable {
      {
        std::lock_guard forget(timers_mu_);
        scheduled_.erase(*id);
      }
      t();
    }).value;
    scheduled_.insert(*id);
  }
  void schedule_every(std::chrono::system_clock::duration d, task t) {
    std::lock_guard lock(timers_mu_);
    scheduled_.insert(timers_->schedule_every(d, std::move(t)).value);
  }

  /// One call; nullopt (counted, with the reason) when it got no valid answer.
  std::optional<ondemand_answer> call(const ondemand_request& r) {
    {
      std::lock_guard lock(stats_mu_);
      ++stats_.calls;
    }
    try {
      ondemand_answer a = client_->call(r);
      std::lock_guard lock(stats_mu_);
      for (const auto& o : a.outcomes) stats_.failed_outcomes += o.status != outcome_status::ok;
      stats_.events_received += a.events.size();
      (r.method == ondemand_method::get_all ? stats_.get_all_answered : stats_.get_changes_answered) += 1;
      return a;
    } catch (const error& e) {
      std::lock_guard lock(stats_mu_);
      ++stats_.calls_failed;
      stats_.last_failure = std::string(to_string(r.method)) + ": " + e.what();
      return std::nullopt;
    }
  }

  void enqueue(ondemand_answer&& a, bool get_all) {
    for (auto& e : a.events) coordinator_.push(event_priority::low, item{std::move(e), false});
    if (get_all) coordinator_.push(event_priority::low, item{{}, true});
  }

  std::chrono::milliseconds retry_delay(unsigned retry) {
    {
      std::lock_guard lock(stats_mu_);
      ++stats_.retries;
    }
    return backoff_.delay(retry);  // timer thread only
  }

  void initial_get_all(unsigned attempt) {
    auto a = call({ondemand_method::get_all, options_.datasources, event_action::init_snapshot, true});
    if (!a) {
      schedule_after(retry_delay(attempt), [this, attempt] { initial_get_all(attempt + 1); });
      return;
    }
    enqueue(std::move(*a), true);
    {
      std::lock_guard lock(stats_mu_);
      stats_.initialized = true;
    }
    // Step 2: the periodic calls, from now on.
    schedule_every(options_.snapshot_interval, [this] { periodic_get_all(1); });
    for (const auto& [name, every] : options_.changes_intervals)
      schedule_every(every, [this, name = name] { periodic_get_changes(name, 1); });
  }

  void periodic_get_all(unsigned attempt) {
    auto a = call({ondemand_method::get_all, options_.datasources, event_action::snapshot, true});
    if (a) return enqueue(std::move(*a), true);
    if (attempt <= options_.max_retries) schedule_after(retry_delay(attempt), [this, attempt] { periodic_get_all(attempt + 1); });
  }

  void periodic_get_changes(const std::string& name, unsigned attempt) {
    auto a = call({ondemand_method::get_changes, {name}, event_action::update, false});
    if (a) return enqueue(std::move(*a), false);
    if (attempt <= options_.max_retries)
      schedule_after(retry_delay(attempt), [this, name, attempt] { periodic_get_changes(name, attempt + 1); });
  }

  void apply(const item& it) {
    const auto now = clock_->now();
    if (it.end_of_get_all) {
      const std::size_t swept = state_.sweep(now, 2 * options_.snapshot_interval);
      std::string failure;
      try {
        snapshots_->save(state_, now);  // the get_all's events are all applied: a consistent state
      } catch (const error& e) {
        failure = std::string("snapshot: ") + e.what();
      }
      std::lock_guard lock(stats_mu_);
      stats_.swept += swept;
      if (failure.empty()) ++stats_.snapshots;
      else ++stats_.snapshot_failures, stats_.last_failure = std::move(failure);
      return;
    }
    const entity_event& e = it.event;
    if (e.entity_id.empty() || e.entity_type.empty() || e.datasource.empty()) {
      std::lock_guard lock(stats_mu_);
      ++stats_.bad_events;
      stats_.last_failure = "bad event skipped: datasource, entity_type and entity_id must not be empty (entity \"" + e.entity_id + "\")";
      return;
    }
    const apply_result r = state_.apply(e, now);
    std::lock_guard lock(stats_mu_);
    (r == apply_result::applied ? stats_.applied : stats_.older_ignored) += 1;
  }

  RpcClient* client_;
  basic_timer_service<Clock>* timers_;
  Clock* clock_;
  consumer_options options_;
  backoff backoff_;
  basic_event_coordinator<item> coordinator_;
  entity_state state_;
  [[no_unique_address]] no_state_snapshots no_snapshots_;  // the null policy's instance, when none is given
  Snapshots* snapshots_;
  mutable std::mutex stats_mu_;
  consumer_stats stats_;
  std::mutex timers_mu_;
  std::set<std::uint64_t> scheduled_;  ///< timers of ours that may still run
};

}  // namespace tributary
