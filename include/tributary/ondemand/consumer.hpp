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
//   for (;;) consumer.process_available(50ms);         applies events on the caller's thread, waiting up to 50 ms for one
//
// The protocol, on the injected clock (so tests run hours of it in virtual time):
//   1. start: get_all(all datasources, init_snapshot, retry_on_fault = true). A call that fails (no
//      answer within the RPC client's timeout, no collector yet, an error answer) is tried again after
//      a draw of the shared backoff, until one answers: either process may start first.
//   2. once answered: get_all(snapshot) every snapshot_interval (default 600 s), and get_changes of each
//      datasource listed in changes_intervals at its own interval. A failed periodic call is retried
//      with backoff too, at most max_retries times (the next tick asks again anyway). Vitrage's retry on
//      timeout was dead code; here each retry is a timer that really fires, counted in stats().retries.
//   3. every answer's events go to the coordinator at low priority, page by page as get_page reads an
//      answer's later pages (ondemand/answer.hpp), followed by a marker for a get_all;
//      push_high() puts the user's events at high priority. process_available() applies them to the
//      entity state (an older sample never replaces a newer one); at a get_all's marker, entities
//      unseen for two snapshot intervals are marked deleted. A bad event (no entity id, say) is
//      counted and skipped, never fatal.
//   4. at a get_all's marker, after the sweep, the whole state goes to the Snapshots policy
//      (basic_state_snapshots: a fresh index and an alias switch), stamped with the newest persisted
//      event applied per collector instance (each answer says where its events were persisted).
//   5. restart: restore() the newest snapshot, replay() the events the collectors persisted after its
//      stamp (ondemand/replay.hpp), then start(): no init_snapshot get_all; the first get_all is due one
//      snapshot interval after the snapshot was taken (now, if that is past), get_changes at their
//      intervals from now. Replayed entities count as seen at the replay (their original consumer
//      times are not persisted), so a restart never sweeps them early. Events pushed with push_high()
//      are not persisted by any collector: they outlive a restart only through the next snapshot.
//
// Threads: calls run on whatever drives the timer service; process_available() on the owner's thread;
// the state is read on that thread only. RpcClient: tributary::rpc_client (ondemand/concepts.hpp), used
// from the timer thread only. Clock: tributary::clock.

#include <algorithm>
#include <chrono>
#include <concepts>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <tributary/concepts.hpp>
#include <tributary/error.hpp>
#include <tributary/execution/timers.hpp>
#include <tributary/ondemand/concepts.hpp>
#include <tributary/ondemand/coordinator.hpp>
#include <tributary/ondemand/entity_state.hpp>
#include <tributary/ondemand/replay.hpp>
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
  std::uint64_t calls = 0;            ///< RPC calls made, retries and pages included
  std::uint64_t pages = 0;            ///< of those, get_page calls for an answer's later pages
  std::uint64_t calls_failed = 0;     ///< of those, the ones that got no valid answer
  std::uint64_t failing_in_a_row = 0; ///< calls failed since the last answered one (a health check's cue)
  std::uint64_t retries = 0;          ///< retries scheduled after a failed call
  std::uint64_t failed_outcomes = 0;  ///< datasources an answer reported not ok
  std::uint64_t get_all_answered = 0;
  std::uint64_t get_changes_answered = 0;
  std::uint64_t events_received = 0;
  std::uint64_t applied = 0, older_ignored = 0, bad_events = 0, swept = 0;
  std::uint64_t snapshots = 0, snapshot_failures = 0;  ///< saves after a get_all (the null policy counts too)
  std::uint64_t replayed = 0;  ///< persisted events read back by replay() at a restart
  bool initialized = false;  ///< the init_snapshot get_all was answered
  std::string last_failure;  ///< the latest failed call's error, or bad event's problem
};

/// Snapshots: basic_state_snapshots<IndexBackend> (ondemand/snapshot.hpp), or no_state_snapshots (the
/// null policy, the default): anything with save(const entity_state&, time_point, const replay_stamp&).
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

  /// Step 1: the init_snapshot get_all, due now on the timer service; after a restore(loaded_snapshot),
  /// step 5's periodic calls instead.
  void start() {
    if (!resumed_from_) {
      schedule_after(std::chrono::system_clock::duration::zero(), [this] { initial_get_all(1); });
      return;
    }
    {
      std::lock_guard lock(stats_mu_);
      stats_.initialized = true;
    }
    const auto due = *resumed_from_ + options_.snapshot_interval - clock_->now();
    schedule_after(std::max(due, std::chrono::system_clock::duration::zero()), [this] { resumed_get_all(1); });
    start_changes();
  }

  /// A high-priority event (an evaluator's action, say). Waits while the high queue is full.
  bool push_high(entity_event e) { return coordinator_.push(event_priority::high, item{std::move(e), false}); }

  /// Applies every event waiting in the coordinator, in its order; with none waiting, first waits up to
  /// `wait` (real time: it is the owner's loop that waits, not the protocol) for one. Returns how many
  /// items it took.
  std::size_t process_available(std::chrono::steady_clock::duration wait = {}) {
    std::size_t n = 0;
    std::vector<std::pair<event_priority, item>> batch;
    batch.reserve(apply_batch);
    while (coordinator_.take_up_to(apply_batch, batch, n == 0 ? wait : std::chrono::steady_clock::duration{})) {
      // One clock reading and one stats update per batch: an event's own cost is its apply.
      const auto now = clock_->now();
      apply_counts counts;
      for (std::size_t i = 0; i < batch.size(); ++i) {
        if (i + prefetch_distance < batch.size()) {
          const entity_event& ahead = batch[i + prefetch_distance].second.event;
          state_.prefetch(ahead.entity_type, ahead.entity_id);
        }
        apply(std::move(batch[i].second), now, counts);
      }
      n += batch.size();
      batch.clear();
      std::lock_guard lock(stats_mu_);
      stats_.applied += counts.applied;
      stats_.older_ignored += counts.older;
    }
    return n;
  }

  /// Starts from a state instead of nothing (no stamp: start() still asks get_all from scratch).
  void restore(entity_state state) { state_ = std::move(state); }

  /// Starts from a loaded snapshot (basic_state_snapshots::load), its stamp and its time; before
  /// replay() and start().
  void restore(loaded_snapshot snapshot) {
    state_ = std::move(snapshot.state);
    applied_stamp_ = std::move(snapshot.info.stamp);
    resumed_from_ = snapshot.info.taken_at;
  }

  /// Applies the events persisted in `index` of `store` after the restored stamp (all of them, with no
  /// snapshot restored: start() then still sends the init_snapshot get_all), before start(). Counted in
  /// stats().replayed; bad documents in bad_events.
  template <class EventStore>
  replay_report replay(const EventStore& store, std::string_view index) {
    const auto now = clock_->now();
    std::uint64_t applied = 0, older = 0;
    replay_report report = replay_persisted_events(store, index, applied_stamp_, [&](const std::string& instance, std::uint64_t sequence, entity_event e) {
      (state_.apply(std::move(e), now) == apply_result::applied ? applied : older) += 1;
      note_persisted(instance, sequence);
    });
    std::lock_guard lock(stats_mu_);
    stats_.replayed += report.replayed;
    stats_.applied += applied;
    stats_.older_ignored += older;
    stats_.bad_events += report.skipped;
    if (report.skipped) stats_.last_failure = "replay: " + report.last_problem;
    return report;
  }

  /// The newest persisted event applied, per collector instance: the stamp of the next snapshot.
  [[nodiscard]] const replay_stamp& applied_stamp() const noexcept { return applied_stamp_; }

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
    std::shared_ptr<const std::string> instance{};  ///< the collector instance that persisted it, if one did
    std::uint64_t sequence = 0;                     ///< its sequence there
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

  /// One call, every page of it into the coordinator, then a get_all's marker. false (counted, with
  /// the reason) when it got no valid answer; pages already received stay queued (their events are
  /// samples like any others), and the call is made again from the start.
  bool call(const ondemand_request& r) {
    const bool get_all = r.method == ondemand_method::get_all;
    ondemand_request request = r;
    for (bool first = true;; first = false) {
      {
        std::lock_guard lock(stats_mu_);
        ++stats_.calls;
        if (!first) ++stats_.pages;
      }
      ondemand_answer a;
      try {
        a = client_->call(request);
      } catch (const error& e) {
        std::lock_guard lock(stats_mu_);
        ++stats_.calls_failed;
        ++stats_.failing_in_a_row;
        stats_.last_failure = std::string(to_string(r.method)) + (first ? ": " : " (a later page): ") + e.what();
        return false;
      }
      std::string next = std::move(a.next);
      {
        std::lock_guard lock(stats_mu_);
        for (const auto& o : a.outcomes) stats_.failed_outcomes += o.status != outcome_status::ok;
        stats_.events_received += a.events.size();
        stats_.failing_in_a_row = 0;
        if (next.empty()) (get_all ? stats_.get_all_answered : stats_.get_changes_answered) += 1;
      }
      // Each page into the coordinator before the next is asked: its bounded low queue is what keeps
      // a huge get_all from piling up here (push waits while it is full).
      enqueue(std::move(a), get_all && next.empty());
      if (next.empty()) return true;
      request = ondemand_request{};
      request.method = ondemand_method::get_page;
      request.cursor = std::move(next);
    }
  }

  void enqueue(ondemand_answer&& a, bool get_all) {
    std::shared_ptr<const std::string> instance;
    if (a.persisted) instance = std::make_shared<const std::string>(a.persisted->instance);
    std::vector<item> items;
    items.reserve(a.events.size() + 1);
    for (std::size_t i = 0; i < a.events.size(); ++i) {
      item& it = items.emplace_back(item{std::move(a.events[i]), false});
      if (instance && i < a.persisted->count) it.instance = instance, it.sequence = a.persisted->first + i;
    }
    if (get_all) items.push_back(item{{}, true});
    (void)coordinator_.push_all(event_priority::low, std::move(items));
  }

  std::chrono::milliseconds retry_delay(unsigned retry) {
    {
      std::lock_guard lock(stats_mu_);
      ++stats_.retries;
    }
    return backoff_.delay(retry);  // timer thread only
  }

  void initial_get_all(unsigned attempt) {
    if (!call({ondemand_method::get_all, options_.datasources, event_action::init_snapshot, true})) {
      schedule_after(retry_delay(attempt), [this, attempt] { initial_get_all(attempt + 1); });
      return;
    }
    {
      std::lock_guard lock(stats_mu_);
      stats_.initialized = true;
    }
    // Step 2: the periodic calls, from now on.
    schedule_every(options_.snapshot_interval, [this] { periodic_get_all(1); });
    start_changes();
  }

  void start_changes() {
    for (const auto& [name, every] : options_.changes_intervals)
      schedule_every(every, [this, name = name] { periodic_get_changes(name, 1); });
  }

  /// Step 5: the first get_all after a restore, retried like the initial one (the state is a restart's
  /// until it is answered); then the periodic ones.
  void resumed_get_all(unsigned attempt) {
    if (!call({ondemand_method::get_all, options_.datasources, event_action::snapshot, true})) {
      schedule_after(retry_delay(attempt), [this, attempt] { resumed_get_all(attempt + 1); });
      return;
    }
    schedule_every(options_.snapshot_interval, [this] { periodic_get_all(1); });
  }

  void note_persisted(const std::string& instance, std::uint64_t sequence) {
    const auto it = applied_stamp_.find(instance);
    if (it == applied_stamp_.end()) applied_stamp_.emplace(instance, sequence);
    else it->second = std::max(it->second, sequence);
  }

  void periodic_get_all(unsigned attempt) {
    if (call({ondemand_method::get_all, options_.datasources, event_action::snapshot, true})) return;
    if (attempt <= options_.max_retries) schedule_after(retry_delay(attempt), [this, attempt] { periodic_get_all(attempt + 1); });
  }

  void periodic_get_changes(const std::string& name, unsigned attempt) {
    if (call({ondemand_method::get_changes, {name}, event_action::update, false})) return;
    if (attempt <= options_.max_retries)
      schedule_after(retry_delay(attempt), [this, name, attempt] { periodic_get_changes(name, attempt + 1); });
  }

  static constexpr std::size_t apply_batch = 256;
  /// How many events ahead of its apply an event's table slot is prefetched (entity_state::prefetch).
  static constexpr std::size_t prefetch_distance = 8;
  struct apply_counts {
    std::uint64_t applied = 0, older = 0;
  };

  void apply(item&& it, std::chrono::system_clock::time_point now, apply_counts& counts) {
    if (it.end_of_get_all) {
      const std::size_t swept = state_.sweep(now, 2 * options_.snapshot_interval);
      std::string failure;
      try {
        snapshots_->save(state_, now, applied_stamp_);  // the get_all's events are all applied: a consistent state
      } catch (const error& e) {
        failure = std::string("snapshot: ") + e.what();
      }
      std::lock_guard lock(stats_mu_);
      stats_.swept += swept;
      if (failure.empty()) ++stats_.snapshots;
      else ++stats_.snapshot_failures, stats_.last_failure = std::move(failure);
      return;
    }
    entity_event& e = it.event;
    if (e.entity_id.empty() || e.entity_type.empty() || e.datasource.empty()) {
      std::lock_guard lock(stats_mu_);
      ++stats_.bad_events;
      stats_.last_failure = "bad event skipped: datasource, entity_type and entity_id must not be empty (entity \"" + e.entity_id + "\")";
      return;
    }
    const apply_result r = state_.apply(std::move(e), now);
    if (it.instance) note_persisted(*it.instance, it.sequence);
    (r == apply_result::applied ? counts.applied : counts.older) += 1;
  }

  RpcClient* client_;
  basic_timer_service<Clock>* timers_;
  Clock* clock_;
  consumer_options options_;
  backoff backoff_;
  basic_event_coordinator<item> coordinator_;
  entity_state state_;
  replay_stamp applied_stamp_;  ///< the owner's thread only, like state_
  std::optional<std::chrono::system_clock::time_point> resumed_from_;  ///< taken_at of the restored snapshot
  [[no_unique_address]] no_state_snapshots no_snapshots_;  // the null policy's instance, when none is given
  Snapshots* snapshots_;
  mutable std::mutex stats_mu_;
  consumer_stats stats_;
  std::mutex timers_mu_;
  std::set<std::uint64_t> scheduled_;  ///< timers of ours that may still run
};

}  // namespace tributary
