#pragma once
// basic_collector: the collection protocol of DESIGN.md, steps 1 to 7, and the only place that knows
// their order. Each step is a member function named as the design names it:
//
//   1 name_worker            W = A-E<yyyyMMdd_HHmmssSSS>; refuse if A or A-E is a concrete index
//   2 fetch_providers        from the source; on failure stop with nothing touched
//   3 create_worker          create W, move the working alias A-ECollectorWorking to it
//     collect_services       each provider's services, bulk-written into W
//   4 publish_environment    one atomic update: A-E moves to W, the working alias leaves W
//   5 wait_for_peers         one deadline for all peers; copy each peer once it is not running
//   6 activate               one atomic update: A moves to W
//   7 clean_up               delete E's workers older than W that carry no alias and are past the stale bound
//
// Liveness is read from worker stamps: a working alias on a worker older than `stale_after` belongs to
// a dead run, and an unaliased worker younger than `stale_after` may belong to a live run of the same
// environment (it is never deleted). Runs therefore must finish within `stale_after`; one that does
// not refuses to activate.
//
// A run publishes only a healthy collection (collector_config::guard), never moves A-E or A to a worker
// older than the one its environment already published (publishing looks, activation is a compare-and-
// set on A-E), and stops at the next safe point when its stop flag is set (a signal), taking its
// working alias with it.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <iterator>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <range/v3/view/chunk.hpp>

#include <tributary/collector/concepts.hpp>
#include <tributary/collector/config.hpp>
#include <tributary/error.hpp>
#include <tributary/collector/naming.hpp>
#include <tributary/collector/peer_merge.hpp>
#include <tributary/collector/protocol_plan.hpp>
#include <tributary/collector/report.hpp>

namespace tributary {

/// What a long run is doing, for progress displays.
struct progress_event {
  std::string phase;
  std::size_t providers_done = 0;
  std::size_t providers_total = 0;
  std::size_t records = 0;
  std::vector<std::string> waiting_for;  ///< peers still running, while waiting
};

/// The collector host. Policies: Transport (how requests travel), IndexBackend (where the records live),
/// MergeStrategy (how environments combine, and which record model), WaitStrategy (how long to wait for
/// peers). The shipped configurations and their defaults: <tributary/catalogue/fwd.hpp>.
template <class Transport, class IndexBackend, class MergeStrategy, class WaitStrategy>
class basic_collector {
  static_assert(transport<Transport>,
                "basic_collector: Transport does not model tributary::transport (see concepts.hpp: it needs "
                "`using transport_concept = transport_tag;`, perform and perform_all)");
  static_assert(index_backend<IndexBackend>,
                "basic_collector: IndexBackend does not model tributary::index_backend (see concepts.hpp: it needs "
                "`using index_backend_concept = index_backend_tag;` and the index and alias operations)");
  static_assert(merge_strategy<MergeStrategy>,
                "basic_collector: MergeStrategy does not model tributary::merge_strategy (see collector/concepts.hpp: "
                "it needs `using merge_strategy_concept = merge_strategy_tag;`, `using record_model = ...;` naming a "
                "RecordModel, merge and adopt)");
  static_assert(wait_strategy<WaitStrategy>,
                "basic_collector: WaitStrategy does not model tributary::wait_strategy (see collector/concepts.hpp: it "
                "needs `using wait_strategy_concept = wait_strategy_tag;` and start(now).next(now))");

 public:
  using transport_type = Transport;
  using index_backend_type = IndexBackend;
  using merge_strategy_type = MergeStrategy;
  using wait_strategy_type = WaitStrategy;
  using record_model = record_model_of<MergeStrategy>;
  using document = typename record_model::document;
  using time_point = std::chrono::system_clock::time_point;

  basic_collector(collector_config config, Transport& transport, IndexBackend& store, MergeStrategy merge = {},
                  WaitStrategy wait = {})
      : config_(std::move(config)), transport_(transport), store_(store), merge_(std::move(merge)),
        wait_(std::move(wait)) {
    config_.validate();
    // A strategy that favours the local environment learns which one that is.
    if constexpr (local_environment_merge_strategy<MergeStrategy>) {
      if (merge_.local_environment.empty()) merge_.local_environment = config_.environment;
    }
    if constexpr (bounded_wait_strategy<WaitStrategy>) {
      if (std::chrono::duration_cast<std::chrono::milliseconds>(wait_.max_wait()) >= config_.stale_after)
        throw error(errc::invalid_config,
                    "collector configuration: the wait deadline must be shorter than stale_after, or a waiting "
                    "run would be taken for a dead one");
    }
  }

  /// Registers a store in which peers configured with `store == name` keep their aliases and documents.
  void add_peer_store(std::string name, IndexBackend& store) {
    if (name.empty()) throw error(errc::invalid_config, "a peer store needs a name");
    peer_stores_[std::move(name)] = &store;
  }

  /// Called at each phase change and as providers complete.
  void on_progress(std::function<void(const progress_event&)> f) { progress_ = std::move(f); }

  [[nodiscard]] const collector_config& config() const noexcept { return config_; }

  /// Runs the protocol once. What happens while running (the source or a store failing, the publish
  /// guard refusing, a newer run, a stop) ends the run with `ok == false` and the reason in the report;
  /// anything left behind is cleaned up by a later run. A configuration error is never a run outcome:
  /// it throws error(errc::invalid_config), from the constructor when it can be seen there, otherwise
  /// (a peer store that was never added) from run() before the store is touched.
  template <class Source, class Clock>
  run_report run(Source& source, Clock& clock) {
    return run(source, clock, nullptr);
  }

  /// As run(source, clock), and stops at the next safe point once `stop` reads true (it may be set by
  /// a signal handler or another thread): the run then ends `interrupted`, its working alias removed and
  /// an unpublished worker deleted. Waits are cut into slices of at most `stop_poll` to notice it.
  template <class Source, class Clock>
  run_report run(Source& source, Clock& clock, const std::atomic<bool>& stop) {
    return run(source, clock, &stop);
  }

  /// How often a run with a stop flag looks at it while it waits.
  static constexpr std::chrono::milliseconds stop_poll{100};

 private:
  /// Ends a run early for a reason that is not an error of the store or the source.
  struct run_stopped {
    run_outcome outcome;
    std::string reason;
  };

  template <class Source, class Clock>
  run_report run(Source& source, Clock& clock, const std::atomic<bool>* stop) {
    static_assert(tributary::source<Source, Transport>,
                  "basic_collector::run: Source does not model tributary::source (see collector/concepts.hpp)");
    static_assert(std::is_same_v<record_model_of<Source>, record_model>,
                  "basic_collector::run: the Source collects another record model than the MergeStrategy merges");
    static_assert(tributary::clock<Clock>, "basic_collector::run: Clock does not model tributary::clock (see concepts.hpp)");
    run_state<Clock> st{clock, {}, {}, {}, clock.now()};
    st.stop = stop;
    st.report.environment = config_.environment;
    std::string step = "configuration";
    // Each step begins at a safe point: a stop requested meanwhile ends the run there.
    auto begin = [&](const char* name) {
      step = name;
      stop_if_requested(st);
    };
    resolve_peer_stores();
    try {
      begin("name worker");
      timed(st, "name_worker", [&] { name_worker(st); });
      begin("fetch providers");
      auto providers = timed(st, "fetch_providers", [&] { return fetch_providers(st, source); });
      begin("create worker");
      timed(st, "create_worker", [&] { create_worker(st); });
      begin("collect services");
      timed(st, "collect_services", [&] { collect_services(st, source, providers); });
      begin("check publish guard");
      check_publish_guard(st, providers.size());
      begin("publish environment");
      timed(st, "publish_environment", [&] { publish_environment(st); });
      begin("wait for peers");
      timed(st, "wait_for_peers", [&] { wait_for_peers(st); });
      begin("activate");
      timed(st, "activate", [&] { activate(st); });
      step = "clean up";  // the catalogue has moved: clean-up is quick and finishes the run
      timed(st, "clean_up", [&] { clean_up(st); });
      st.report.ok = true;
      st.report.outcome = run_outcome::succeeded;
    } catch (const run_stopped& s) {
      st.report.outcome = s.outcome;
      st.report.failure = step + ": " + s.reason;
      abandon_worker(st);
      if (s.outcome == run_outcome::interrupted) note_what_was_left(st);
    } catch (const error& e) {
      // A stop also ends the transport's requests early, which the source reports as an error.
      const bool stopped = st.stop_requested();
      st.report.outcome = stopped ? run_outcome::interrupted : run_outcome::failed;
      st.report.failure = step + ": " + (stopped ? "interrupted (stop requested): " : "") + e.what();
      abandon_worker(st);
      if (stopped) note_what_was_left(st);
    }
    return std::move(st.report);
  }

  template <class Clock>
  struct run_state {
    Clock& clock;
    run_report report;
    std::string worker;
    time_point worker_time;
    time_point started;
    bool published = false;  // A-E points to W: W must not be abandoned any more
    const std::atomic<bool>* stop = nullptr;
    [[nodiscard]] bool stop_requested() const noexcept { return stop && stop->load(std::memory_order_relaxed); }
  };

  template <class St>
  void stop_if_requested(const St& st) const {
    if (st.stop_requested()) throw run_stopped{run_outcome::interrupted, "interrupted (stop requested)"};
  }

  /// Sleeps until `t`, in slices when a stop may be requested, and stops the run if it is.
  template <class St>
  void sleep_until(St& st, time_point t) {
    if (!st.stop) return st.clock.sleep_until(t);
    for (auto now = st.clock.now(); now < t; now = st.clock.now()) {
      stop_if_requested(st);
      st.clock.sleep_until(std::min<time_point>(t, now + stop_poll));
    }
    stop_if_requested(st);
  }

  /// For an interrupted run's report: where the catalogue stands now.
  template <class St>
  void note_what_was_left(St& st) {
    const auto names = config_.names();
    if (st.worker.empty()) {
      st.report.notes.push_back("interrupted before a worker was created: the store was not changed");
    } else if (!st.published) {
      st.report.notes.push_back("interrupted before publishing: '" + names.environment_alias() + "' and '" +
                                config_.read_alias + "' were not moved; the working alias and worker " + st.worker +
                                " were removed (see deleted)");
    } else {
      st.report.notes.push_back("interrupted after publishing: '" + names.environment_alias() + "' points to " +
                                st.worker + " (this environment's complete collection), '" + config_.read_alias +
                                "' was not moved by this run");
    }
  }

  template <class St, class F>
  decltype(auto) timed(St& st, const char* phase, F&& f) {
    emit({phase, 0, 0, st.report.records, {}});
    const auto t0 = st.clock.now();
    auto record = [&] {
      st.report.phases.push_back(
          {phase, std::chrono::duration_cast<std::chrono::milliseconds>(st.clock.now() - t0)});
    };
    if constexpr (std::is_void_v<decltype(f())>) {
      f();
      record();
    } else {
      decltype(auto) r = f();
      record();
      return r;
    }
  }

  void emit(progress_event e) const {
    if (progress_) progress_(e);
  }

  void resolve_peer_stores() {
    for (const auto& p : config_.peers)
      if (!p.store.empty() && !peer_stores_.contains(p.store))
        throw error(errc::invalid_config, "peer '" + p.environment + "' reads from store '" + p.store +
                                              "', which was not registered with add_peer_store");
  }

  IndexBackend& store_of(const peer_config& p) { return p.store.empty() ? store_ : *peer_stores_.at(p.store); }

  void update_aliases(run_report& report, const char* step, std::vector<alias_action> actions) {
    store_.update_aliases(actions);
    report.alias_updates.push_back({step, std::move(actions)});
  }

  // ---- 1 -------------------------------------------------------------------------------------------
  template <class St>
  void name_worker(St& st) {
    const auto names = config_.names();
    for (const auto& reserved : plan::reserved_names(names))
      if (store_.index_exists(reserved))
        throw error(errc::conflict, "'" + reserved + "' is a concrete index, not an alias; refusing to run "
                                    "(rename or remove it: the protocol moves this name between workers)");
    st.worker_time = std::chrono::time_point_cast<std::chrono::milliseconds>(st.clock.now());
    st.worker = names.worker_name(st.worker_time);
    st.report.worker = st.worker;
  }

  // ---- 2 -------------------------------------------------------------------------------------------
  template <class St, class Source>
  std::vector<provider> fetch_providers(St& st, Source& source) {
    auto providers = source.list_providers(transport_);
    emit({"fetch_providers", 0, providers.size(), 0, {}});
    // Found before the worker exists: nothing is created for a collection that cannot be published.
    if (providers.empty() && !config_.guard.allow_no_providers) {
      if (!config_.guard.force)
        throw run_stopped{run_outcome::refused, "the source listed no providers; an empty collection is not "
                                                "published (collector_config::guard.allow_no_providers, or force)"};
      st.report.notes.push_back("publish guard overridden (force): the source listed no providers");
    }
    return providers;
  }

  // ---- 3 -------------------------------------------------------------------------------------------
  template <class St>
  void create_worker(St& st) {
    // Two runs of one environment started in the same millisecond would pick the same name.
    for (int attempt = 0;; ++attempt) {
      try {
        store_.create_index(st.worker);
        break;
      } catch (const error& e) {
        if (e.code() != errc::already_exists || attempt == 20) throw;
        st.worker_time += std::chrono::milliseconds(1);
        st.worker = config_.names().worker_name(st.worker_time);
        st.report.worker = st.worker;
      }
    }
    // The working alias goes on W before any provider is collected: peers start waiting for us at once.
    update_aliases(st.report, "create_worker", plan::claim_worker(config_.names(), st.worker));
  }

  template <class St, class Source>
  void collect_services(St& st, Source& source, const std::vector<provider>& providers) {
    std::size_t done = 0;
    // Services are written in batches of bulk_batch across providers, not one write per provider:
    // each acknowledged write is a durable commit, and thousands of small commits would dominate.
    std::vector<document> pending;
    source.collect(transport_, std::span<const provider>(providers), config_.concurrency,
                   [&](const provider& p, basic_provider_outcome<document>&& outcome) {
                     if (st.stop_requested()) return;  // the run ends after collect: nothing more is written
                     // A record that breaks the Source contract fails its provider, named: never a
                     // silently empty copy at the peers.
                     if (outcome.ok())
                       for (const auto& r : outcome.records)
                         if (auto problem = contract_problem(r); !problem.empty()) {
                           outcome.failure = "source contract: " + problem;
                           outcome.records.clear();
                           break;
                         }
                     provider_report pr{p.id, outcome.ok(), outcome.failure, 0, std::move(outcome.warnings)};
                     if (outcome.ok()) {
                       pr.records = outcome.records.size();
                       st.report.records += pr.records;
                       for (auto& r : outcome.records) {
                         if constexpr (normalizing_merge_strategy<MergeStrategy>) merge_.normalize(r);
                         pending.push_back(std::move(r));
                       }
                       if (pending.size() >= config_.bulk_batch) {
                         write_records(st.worker, pending);
                         pending.clear();
                       }
                     }
                     st.report.providers.push_back(std::move(pr));
                     emit({"collect_services", ++done, providers.size(), st.report.records, {}});
                   });
    stop_if_requested(st);
    write_records(st.worker, pending);
  }

  /// Before step 4: refuses a collection too poor to replace what this environment published before.
  template <class St>
  void check_publish_guard(St& st, std::size_t listed) {
    const auto& guard = config_.guard;
    std::string shortfall;
    const std::size_t succeeded = st.report.providers.size() - st.report.providers_failed();
    if (listed > 0 && static_cast<double>(succeeded) < guard.min_provider_success * static_cast<double>(listed)) {
      shortfall = "only " + std::to_string(succeeded) + " of " + std::to_string(listed) +
                  " providers were collected; collector_config::guard.min_provider_success requires " +
                  percent(guard.min_provider_success);
    } else if (guard.max_service_drop < 1) {
      const auto env_alias = config_.names().environment_alias();
      const auto targets = store_.alias_targets(env_alias);
      if (targets.size() == 1) {
        const std::size_t before = own_records_in(targets.front());
        const auto now = st.report.records;
        if (before > 0 && static_cast<double>(now) < (1 - guard.max_service_drop) * static_cast<double>(before))
          shortfall = "the collection has " + std::to_string(now) + " records of " + config_.environment +
                      " where '" + env_alias + "' (" + targets.front() + ") holds " + std::to_string(before) +
                      ": a drop of " + percent(1 - static_cast<double>(now) / static_cast<double>(before)) +
                      ", more than collector_config::guard.max_service_drop allows (" + percent(guard.max_service_drop) + ")";
      }
    }
    if (shortfall.empty()) return;
    if (guard.force) {
      st.report.notes.push_back("publish guard overridden (force): " + shortfall);
      return;
    }
    throw run_stopped{run_outcome::refused, shortfall + "; nothing was published (force to publish anyway)"};
  }

  static std::string percent(double share) {
    return std::to_string(static_cast<int>(share * 100 + 0.5)) + "%";
  }

  /// How many documents of `index` carry an entry of this environment.
  std::size_t own_records_in(const std::string& index) {
    typename record_model::parser parser;
    document doc;
    std::size_t n = 0;
    std::string after;
    while (true) {
      auto page = store_.scan(index, after, config_.scan_page);
      for (auto& d : page.documents) {
        parser.parse_owned(std::move(d.json), doc);
        n += entry_of<record_model>(doc, config_.environment) != nullptr;
      }
      if (page.done) return n;
      after = page.next_after;
    }
  }

  /// Why the source broke its contract with `doc` (one entry, of this environment), or empty.
  [[nodiscard]] std::string contract_problem(const document& doc) const {
    const auto& entries = record_model::entries(doc);
    const std::string id(record_model::id(doc));
    if (entries.empty()) return "record '" + id + "' has no entry (a source stamps each record with one entry of " +
                                "collector_config::environment '" + config_.environment + "')";
    if (entries.size() > 1)
      return "record '" + id + "' has " + std::to_string(entries.size()) + " entries; a source gives one, of '" +
             config_.environment + "'";
    const std::string_view env = record_model::environment(entries.front());
    if (env != config_.environment)
      return "record '" + id + "' has an entry stamped '" + std::string(env) + "', not this collector's environment '" +
             config_.environment + "'";
    return {};
  }

  /// Bulk-writes documents in batches; retryable item failures are retried, anything else fails the step.
  void write_records(const std::string& index, const std::vector<document>& records) {
    std::vector<stored_document> batch;
    for (auto chunk : records | ranges::views::chunk(config_.bulk_batch)) {
      batch.clear();
      for (const auto& r : chunk) {
        auto& d = batch.emplace_back();
        d.id.assign(record_model::id(r));
        record_model::write(d.json, r);
      }
      write_batch(index, batch);
    }
  }

  /// Writes one batch; only the items that failed retryably are copied, to be written again, at most
  /// bulk_retries times (0 by default). Who retries what, so one failing batch causes a bounded number
  /// of requests: the backend owns the retries of a bulk write (elasticsearch_index: bulk_max_attempts
  /// requests per chunk, with backoff), the transport retries only what never got an answer (the
  /// backend sends bulk requests with retry_on_status = false), and the collector writes again only
  /// what a backend reports retryable after its own retries, when bulk_retries says so.
  void write_batch(const std::string& index, std::span<const stored_document> batch) {
    std::vector<stored_document> retry;
    for (std::size_t attempt = 0;; ++attempt) {
      auto result = store_.bulk_write(index, batch);
      if (result.ok()) return;
      std::vector<stored_document> next;
      for (const auto& f : result.failures) {
        if (!f.retryable || attempt >= config_.bulk_retries)
          throw error(errc::store_unavailable, "bulk write into '" + index + "' failed for document '" + f.id +
                                                   "': " + f.reason);
        next.push_back(batch[f.position]);
      }
      retry = std::move(next);
      batch = retry;
    }
  }

  /// Writes and empties `docs`, merged from a peer, in batches of bulk_batch. A backend that takes rvalue
  /// batches (moving_write_store: memory_index) gets them moved in; it leaves the documents it did not write as they were,
  /// so those are retried or reported as write_batch does. Others (sqlite, postgres, elasticsearch) take
  /// spans.
  void write_merged(const std::string& index, std::vector<stored_document>& docs) {
    constexpr bool moves_batches = moving_write_store<IndexBackend>;
    for (std::size_t at = 0; at < docs.size(); at += config_.bulk_batch) {
      const auto batch = std::span<stored_document>(docs).subspan(at, std::min(config_.bulk_batch, docs.size() - at));
      if constexpr (moves_batches) {
        std::vector<stored_document> moved(std::make_move_iterator(batch.begin()), std::make_move_iterator(batch.end()));
        const auto result = store_.bulk_write(index, std::move(moved));
        if (!result.ok()) {
          std::vector<stored_document> failed;
          for (const auto& f : result.failures) failed.push_back(moved[f.position]);
          write_batch(index, failed);
        }
      } else {
        write_batch(index, batch);
      }
    }
    docs.clear();
  }

  /// Merges a part into `index` where the store keeps its documents (rewrite_store: memory_index): each
  /// local document is read where it is and replaced by the merge, with one lookup and no copy out.
  template <class Merger>
  void rewrite_merged(const std::string& index, Merger& merger, std::span<const std::string> ids) {
    const auto result = store_.rewrite(index, ids, [&](std::size_t i, const std::string* local) -> const std::string* {
      auto* write = merger.merge_one(i, local);
      return write ? &write->json : nullptr;
    });
    if (!result.ok()) {
      const auto& f = result.failures.front();
      throw error(errc::store_unavailable, "rewrite of '" + index + "' failed for document '" + ids[f.position] +
                                               "': " + f.reason);
    }
  }

  // ---- 4 -------------------------------------------------------------------------------------------
  template <class St>
  void publish_environment(St& st) {
    const auto names = config_.names();
    for (int attempt = 0;; ++attempt) {
      auto p = plan::publish(names, st.worker, st.worker_time, store_.alias_targets(names.environment_alias()));
      if (!p.superseded_by.empty())
        throw run_stopped{run_outcome::superseded, "a newer worker of " + config_.environment + " (" +
                                                       p.superseded_by + ") is already published; this run "
                                                       "publishes and activates nothing"};
      try {
        update_aliases(st.report, "publish_environment", std::move(p.actions));
        st.published = true;
        return;
      } catch (const error& e) {
        if (e.code() != errc::conflict || attempt == 5) throw;  // someone moved A-E meanwhile: look again
      }
    }
  }

  // ---- 5 -------------------------------------------------------------------------------------------
  enum class peer_state { running, finished };

  /// A peer is running while its working alias sits on a worker younger than the stale bound.
  template <class St>
  std::pair<peer_state, std::string> look_at_peer(St& st, const peer_config& p) {
    const auto names = config_.names().for_environment(p.environment);
    const auto l = plan::peer_liveness(names, store_of(p).alias_targets(names.working_alias()), st.clock.now(),
                                       config_.stale_after);
    for (const auto& dead : l.dead_runs) {
      auto note = "peer " + p.environment + ": working alias on " + dead +
                  " is stale (older than stale_after), left by a dead run; not waiting for it";
      if (std::find(st.report.notes.begin(), st.report.notes.end(), note) == st.report.notes.end())
        st.report.notes.push_back(std::move(note));
    }
    return {l.running ? peer_state::running : peer_state::finished, l.worker};
  }

  template <class St>
  void wait_for_peers(St& st) {
    const auto began = st.clock.now();
    auto schedule = wait_.start(began);
    std::vector<const peer_config*> pending;
    for (const auto& p : config_.peers) pending.push_back(&p);
    while (true) {
      std::vector<std::string> waiting_for;
      std::erase_if(pending, [&](const peer_config* p) {
        if (look_at_peer(st, *p).first == peer_state::running) {
          waiting_for.push_back(p->environment);
          return false;
        }
        copy_peer(st, *p, false, since(st, began));
        return true;
      });
      if (pending.empty()) break;
      stop_if_requested(st);
      emit({"wait_for_peers", 0, 0, st.report.records, waiting_for});
      auto past_deadline = [&](const peer_config& p) {
        if (config_.at_deadline == at_peer_deadline::copy_last_published) {
          copy_peer(st, p, true, since(st, began));
        } else {
          st.report.peers.push_back({p.environment, peer_outcome::timed_out, {}, 0, 0, 0, since(st, began),
                                     "still running at the deadline; skipped"});
        }
      };
      std::optional<time_point> next;
      if constexpr (per_peer_wait_strategy<WaitStrategy>) {
        // The strategy sees who is still running, and may stop waiting for some of them now.
        auto decision = schedule.next(st.clock.now(), std::span<const std::string>(waiting_for));
        for (const auto& name : decision.give_up) {
          const auto it = std::find_if(pending.begin(), pending.end(),
                                       [&](const peer_config* p) { return p->environment == name; });
          if (it == pending.end()) continue;  // not a peer still waited for
          past_deadline(**it);
          pending.erase(it);
        }
        if (pending.empty()) break;
        next = decision.next_look;
      } else {
        next = schedule.next(st.clock.now());
      }
      if (!next) {
        for (const auto* p : pending) past_deadline(*p);
        break;
      }
      sleep_until(st, *next);
    }
    st.report.waited = since(st, began);
  }

  template <class St>
  std::chrono::milliseconds since(St& st, time_point t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(st.clock.now() - t);
  }

  /// Copies peer r from `A-r`: only r's own entries, every page, each write acknowledged. A peer that
  /// cannot be read fails that peer, not the run; a failure of our own store fails the run.
  template <class St>
  void copy_peer(St& st, const peer_config& p, bool stale, std::chrono::milliseconds waited) {
    peer_report pr{p.environment, stale ? peer_outcome::copied_stale : peer_outcome::copied, {}, 0, 0, 0, waited, {}};
    auto& peer_store = store_of(p);
    const auto env_alias = config_.names().for_environment(p.environment).environment_alias();
    peer_page_merger<MergeStrategy> merger(merge_, p.environment, stale);
    auto from_peer = [&](auto&& read) {
      try {
        return read();
      } catch (const error& e) {
        throw peer_unreadable{e.what()};
      }
    };
    std::vector<stored_document> merged;  // merged from the peer, not written yet
    try {
      const auto targets = from_peer([&] { return peer_store.alias_targets(env_alias); });
      if (targets.empty()) {
        pr.outcome = peer_outcome::nothing_published;
        pr.detail = "'" + env_alias + "' does not exist";
        st.report.peers.push_back(std::move(pr));
        return;
      }
      if (targets.size() > 1)
        throw peer_unreadable{"'" + env_alias + "' points to " + std::to_string(targets.size()) + " indices"};
      pr.source_index = targets.front();
      if (stale) pr.detail = "still running at the deadline; copied its last published data, marked stale";
      // Each scanned page is merged a part of merge_batch documents at a time (take, the local documents
      // of that part, merge), so that a part's documents are still in the cache from parse to write; the
      // merged documents are written in bulk_batch (a rewrite_store rewrites each part where it keeps
      // the local documents), and all of a page's before the next page is read.
      std::string after;
      while (true) {
        auto page = from_peer([&] { return peer_store.scan(pr.source_index, after, config_.scan_page); });
        std::span<stored_document> documents(page.documents);
        for (std::size_t at = 0; at < documents.size(); at += config_.merge_batch) {
          const auto part = documents.subspan(at, std::min(config_.merge_batch, documents.size() - at));
          // The text is handed to the merger, which parses it where it is (stores hand it out with room
          // for the parser's padding).
          const auto& ids = from_peer([&]() -> const std::vector<std::string>& { return merger.take_over(part); });
          if constexpr (rewrite_store<IndexBackend>) {
            rewrite_merged(st.worker, merger, ids);
          } else {
            // The local documents' text is handed to the merger, not copied (its rvalue overload).
            auto& writes = merger.merge(store_.get(st.worker, ids));
            std::move(writes.begin(), writes.end(), std::back_inserter(merged));
            if (merged.size() >= config_.bulk_batch) write_merged(st.worker, merged);
          }
        }
        write_merged(st.worker, merged);
        if (page.done) break;
        stop_if_requested(st);
        after = page.next_after;
      }
    } catch (const peer_unreadable& e) {
      pr.outcome = peer_outcome::failed;
      pr.detail = e.reason;
      write_merged(st.worker, merged);  // what was merged before the failure is kept, as earlier pages are
    }
    pr.read = merger.totals().read, pr.added = merger.totals().added, pr.merged = merger.totals().merged;
    st.report.peers.push_back(std::move(pr));
  }

  struct peer_unreadable {
    std::string reason;
  };

  // ---- 6 -------------------------------------------------------------------------------------------
  template <class St>
  void activate(St& st) {
    stop_if_requested(st);  // the last safe point: after this update the run is complete
    if (!plan::within_stale_bound(st.worker_time, st.clock.now(), config_.stale_after))
      throw error(errc::timed_out, "the run took longer than stale_after; its worker may already be taken for "
                                   "a dead one, so it is not activated");
    // A compare-and-set: A moves only while A-E still points to W. If a newer run of this environment
    // published meanwhile, A-E has left W and the whole update fails, so A never goes back to older data.
    const auto env_alias = config_.names().environment_alias();
    const auto read_alias = config_.read_alias;
    try {
      update_aliases(st.report, "activate", plan::activate(config_.names(), st.worker));
    } catch (const error& e) {
      if (e.code() != errc::conflict) throw;
      const auto now = store_.alias_targets(env_alias);
      throw run_stopped{run_outcome::superseded,
                        "'" + env_alias + "' no longer points to " + st.worker + " (now: " +
                            (now.empty() ? std::string("nothing") : now.front()) +
                            "): a newer run of " + config_.environment + " published; '" + read_alias +
                            "' is not moved to older data"};
    }
  }

  // ---- 7 -------------------------------------------------------------------------------------------
  template <class St>
  void clean_up(St& st) {
    const auto names = config_.names();
    const auto aliases = store_.aliases();
    for (const auto& index : plan::clean_up(names, st.worker_time, st.clock.now(), config_.stale_after,
                                            store_.list_indices(names.worker_prefix()), aliases)) {
      try {
        store_.delete_indices(std::span<const std::string>(&index, 1));
        st.report.deleted.push_back(index);
      } catch (const error& e) {
        // It gained an alias or vanished since we looked: leave it to a later run.
        st.report.notes.push_back("did not delete " + index + ": " + e.what());
      }
    }
  }

  /// After a failure: take W out of the way unless it was published. Best effort: if the store is
  /// unreachable, a later run removes it.
  template <class St>
  void abandon_worker(St& st) {
    if (st.worker.empty() || st.published) return;
    try {
      if (!store_.index_exists(st.worker)) return;
      store_.update_aliases(std::vector{alias_action::remove(st.worker, config_.names().working_alias())});
      store_.delete_indices(std::span<const std::string>(&st.worker, 1));
      st.report.deleted.push_back(st.worker);
    } catch (const error& e) {
      st.report.notes.push_back("could not remove the abandoned worker " + st.worker + ": " + e.what());
    }
  }

  collector_config config_;
  Transport& transport_;
  IndexBackend& store_;
  // The shipped strategies are mostly stateless: they then take no room.
  [[no_unique_address]] MergeStrategy merge_;
  [[no_unique_address]] WaitStrategy wait_;
  std::map<std::string, IndexBackend*> peer_stores_;
  std::function<void(const progress_event&)> progress_;
};

}  // namespace tributary
