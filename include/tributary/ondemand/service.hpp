#pragma once
// basic_datasource_service<Executor, Store>: the collector service of ONDEMAND.md. It has no timers of
// its own (the seed: "remove timers"); it answers get_all and get_changes by running the named
// datasources concurrently on the caller's executor, each within a time limit, and hands every event
// of the answer to the persistor before the answer leaves.
//
//   thread_pool datasource_pool(4, 64);                  the user's threads for datasource calls
//   sqlite_index store("/var/lib/ondemand.db");
//   basic_event_persistor persistor(store, {});          driven by the user's thread: persistor.run()
//   basic_datasource_service service(datasource_pool, persistor, {.time_limit = 30s});
//   service.add(any_datasource(nova_source{...}));
//   ... served by a binding: jsonrpc_http_handler (ondemand/jsonrpc_http.hpp), amqp_rpc_server
//   (ondemand/amqp.hpp); both carry service.answer(text).
//
// Outcomes: one per datasource asked, in the order asked (a name asked twice is run once): ok with its
// events; failed with the exception's text (after retry_on_fault's retries, get_all only); timed_out
// when it gave no answer within time_limit (its call goes on on the executor thread, and its events,
// when they come, are dropped: a datasource call cannot be interrupted); busy for get_changes refused.
//
// get_changes never overlaps get_all of the same datasource (ONDEMAND.md invariant). A get_changes that
// finds the datasource's get_all running is refused at once (busy), not queued: get_all returns every
// entity anyway, and the consumer asks again at its next get_changes interval, so waiting would only
// hold an executor thread for up to a whole get_all. A get_all waits for a running get_changes (and for
// another get_all), within its time limit: get_all is the call that must happen. So each datasource
// runs one call at a time, and needs no lock of its own.
//
// Time limits are thread waits on std::chrono::steady_clock, as every wait on threads in the engine
// (execution/work_queue.hpp): they bound how long a caller waits for user code, not protocol time, so
// they are not on the injected clock. Pass an executor other than the one serving the requests: a
// request handler waiting for room in its own pool waits for itself.
//
// Executor: tributary::executor (execution/concepts.hpp). Store: tributary::document_store, the
// persistor's (ondemand/persistor.hpp).

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <tributary/error.hpp>
#include <tributary/execution/concepts.hpp>
#include <tributary/ondemand/answer.hpp>
#include <tributary/ondemand/datasource.hpp>
#include <tributary/ondemand/jsonrpc.hpp>
#include <tributary/ondemand/persistor.hpp>

namespace tributary {

struct datasource_service_options {
  std::chrono::milliseconds time_limit{60'000};  ///< per datasource, per call
  unsigned fault_retries = 1;                    ///< extra get_all attempts when retry_on_fault
  std::size_t max_request_bytes = std::size_t{1} << 20;  ///< larger JSON-RPC texts are refused
  void validate() const {
    if (time_limit <= std::chrono::milliseconds::zero())
      throw error(errc::invalid_config, "datasource_service_options: time_limit must be positive");
    if (max_request_bytes == 0) throw error(errc::invalid_config, "datasource_service_options: max_request_bytes must be positive");
  }
};

/// What a service has answered since it started.
struct datasource_service_stats {
  std::uint64_t calls = 0;           ///< get_all and get_changes answered (refused ones excluded)
  std::uint64_t events = 0;          ///< events in those answers
  std::uint64_t failed_outcomes = 0; ///< outcomes not ok (failed, timed_out, busy)
};

namespace detail {

/// One datasource and the state that keeps its calls from overlapping. Shared with the tasks that
/// call it, which may outlive a call the service gave up on (and the service itself).
struct datasource_slot {
  explicit datasource_slot(any_datasource d) : source(std::move(d)) {}
  any_datasource source;
  std::mutex mu;
  std::condition_variable idle;
  bool get_all_running = false;
  bool get_changes_running = false;
};

/// The results of one call's datasources, filled in by the tasks.
struct call_state {
  explicit call_state(std::size_t n) : results(n) {}
  std::mutex mu;
  std::condition_variable done_cv;
  std::vector<std::optional<std::pair<datasource_outcome, std::vector<entity_event>>>> results;
  std::size_t done = 0;
};

inline std::string reason_of(std::exception_ptr e) {
  try {
    std::rethrow_exception(std::move(e));
  } catch (const std::exception& x) {
    return x.what()[0] ? x.what() : "an exception without a message";
  } catch (...) {
    return "an exception that is not a std::exception";
  }
}

/// Runs one datasource call under the slot's rules (header comment). Never throws.
inline std::pair<datasource_outcome, std::vector<entity_event>> run_on_slot(
    datasource_slot& slot, ondemand_method method, event_action action, unsigned attempts,
    std::chrono::steady_clock::time_point deadline) {
  datasource_outcome o;
  o.datasource = slot.source.name();
  {
    std::unique_lock lock(slot.mu);
    if (method == ondemand_method::get_changes) {
      // Waiting for another get_changes, a get_all may start meanwhile: it is looked for after the
      // wait too, not only before it.
      if (!slot.idle.wait_until(lock, deadline, [&] { return slot.get_all_running || !slot.get_changes_running; })) {
        o.status = outcome_status::timed_out;
        o.reason = "the previous get_changes of this datasource did not end within the time limit";
        return {std::move(o), {}};
      }
      if (slot.get_all_running) {
        o.status = outcome_status::busy;
        o.reason = "get_all of this datasource is running; get_changes is refused meanwhile";
        return {std::move(o), {}};
      }
      slot.get_changes_running = true;
    } else {
      if (!slot.idle.wait_until(lock, deadline, [&] { return !slot.get_all_running && !slot.get_changes_running; })) {
        o.status = outcome_status::timed_out;
        o.reason = "the datasource's previous call did not end within the time limit";
        return {std::move(o), {}};
      }
      slot.get_all_running = true;
    }
  }
  std::vector<entity_event> events;
  for (unsigned attempt = 1;; ++attempt) {
    try {
      events = method == ondemand_method::get_all ? slot.source.get_all(action) : slot.source.get_changes();
      o.status = outcome_status::ok;
      o.reason.clear();
      break;
    } catch (...) {
      o.status = outcome_status::failed;
      o.reason = reason_of(std::current_exception());
      if (attempt >= attempts || std::chrono::steady_clock::now() >= deadline) break;
    }
  }
  {
    std::lock_guard lock(slot.mu);
    (method == ondemand_method::get_all ? slot.get_all_running : slot.get_changes_running) = false;
  }
  slot.idle.notify_all();
  // The service answers for its datasource: events carry its name whatever the datasource wrote.
  for (auto& e : events) e.datasource = o.datasource;
  o.events = events.size();
  return {std::move(o), std::move(events)};
}

}  // namespace detail

template <class Executor, class Store>
class basic_datasource_service {
  static_assert(executor<Executor>, "basic_datasource_service: Executor does not model tributary::executor (see execution/concepts.hpp)");
  static_assert(document_store<Store>, "basic_datasource_service: Store does not model tributary::document_store (see index/concepts.hpp)");

 public:
  using persistor_type = basic_event_persistor<Store>;

  /// The executor and the persistor are the caller's and must outlive the service.
  basic_datasource_service(Executor& executor, persistor_type& persistor, datasource_service_options options = {})
      : executor_(&executor), persistor_(&persistor), options_(options) {
    options_.validate();
  }
  basic_datasource_service(const basic_datasource_service&) = delete;
  basic_datasource_service& operator=(const basic_datasource_service&) = delete;

  /// Registers a datasource. Throws error(errc::already_exists) for a name taken, errc::invalid_name
  /// for an empty one. Thread-safe, but meant for before serving.
  void add(any_datasource source) {
    std::string name = source.name();
    if (name.empty()) throw error(errc::invalid_name, "datasource service: a datasource needs a name");
    std::lock_guard lock(mu_);
    if (slots_.contains(name)) throw error(errc::already_exists, "datasource service: a datasource \"" + name + "\" is registered already");
    slots_.emplace(std::move(name), std::make_shared<detail::datasource_slot>(std::move(source)));
  }

  [[nodiscard]] std::vector<std::string> datasource_names() const {
    std::lock_guard lock(mu_);
    std::vector<std::string> out;
    for (const auto& [name, slot] : slots_) out.push_back(name);
    return out;
  }

  /// Runs the call. Throws rpc_error(invalid_params) naming an unknown datasource, before any runs.
  ondemand_answer call(const ondemand_request& request) {
    std::vector<std::shared_ptr<detail::datasource_slot>> slots;
    {
      std::lock_guard lock(mu_);
      if (request.datasource_names.empty()) {
        for (const auto& [name, slot] : slots_) slots.push_back(slot);
      } else {
        for (const auto& name : request.datasource_names) {
          const auto it = slots_.find(name);
          if (it == slots_.end()) throw rpc_error(rpc_code::invalid_params, "unknown datasource \"" + name + "\"");
          if (std::find(slots.begin(), slots.end(), it->second) == slots.end()) slots.push_back(it->second);
        }
      }
    }
    if (request.method == ondemand_method::get_all && request.action != event_action::init_snapshot &&
        request.action != event_action::snapshot)
      throw rpc_error(rpc_code::invalid_params, "get_all's action must be init_snapshot or snapshot");

    const auto deadline = std::chrono::steady_clock::now() + options_.time_limit;
    const unsigned attempts = request.method == ondemand_method::get_all && request.retry_on_fault ? 1 + options_.fault_retries : 1;
    auto state = std::make_shared<detail::call_state>(slots.size());
    for (std::size_t i = 0; i < slots.size(); ++i) {
      const bool accepted = executor_->execute(
          [state, slot = slots[i], i, method = request.method, action = request.action, attempts, deadline] {
            auto result = detail::run_on_slot(*slot, method, action, attempts, deadline);
            {
              std::lock_guard lock(state->mu);
              state->results[i] = std::move(result);
              ++state->done;
            }
            state->done_cv.notify_all();
          });
      if (!accepted) {
        std::lock_guard lock(state->mu);
        datasource_outcome o{slots[i]->source.name(), outcome_status::failed, "the executor is shut down", 0};
        state->results[i] = std::pair(std::move(o), std::vector<entity_event>{});
        ++state->done;
      }
    }

    ondemand_answer answer;
    {
      std::unique_lock lock(state->mu);
      state->done_cv.wait_until(lock, deadline, [&] { return state->done == slots.size(); });
      for (std::size_t i = 0; i < slots.size(); ++i) {
        if (!state->results[i]) {  // still running: its late result stays in the state, unread
          answer.outcomes.push_back({slots[i]->source.name(), outcome_status::timed_out,
                                     "no answer within the time limit of " + std::to_string(options_.time_limit.count()) + " ms", 0});
          continue;
        }
        auto& [outcome, events] = *state->results[i];
        answer.outcomes.push_back(std::move(outcome));
        std::move(events.begin(), events.end(), std::back_inserter(answer.events));
      }
    }
    // Persisted (queued) before the answer leaves: an acknowledged answer's events are all pending or
    // written. enqueue waits while the queue is full: the persistor's backpressure.
    if (persisted_range r = persistor_->enqueue_stamped(answer.events); r.count) answer.persisted = std::move(r);
    std::size_t not_ok = 0;
    for (const auto& o : answer.outcomes) not_ok += o.status != outcome_status::ok;
    {
      std::lock_guard lock(mu_);
      ++stats_.calls;
      stats_.events += answer.events.size();
      stats_.failed_outcomes += not_ok;
    }
    return answer;
  }

  ondemand_answer get_all(std::vector<std::string> names, event_action action, bool retry_on_fault) {
    return call({ondemand_method::get_all, std::move(names), action, retry_on_fault});
  }
  ondemand_answer get_changes(std::vector<std::string> names) {
    return call({ondemand_method::get_changes, std::move(names), event_action::update, false});
  }

  /// Answers a JSON-RPC 2.0 text (ondemand/jsonrpc.hpp); nullopt when there is nothing to send back.
  [[nodiscard]] std::optional<std::string> answer(std::string_view request) {
    return answer_jsonrpc(request, options_.max_request_bytes, [this](const ondemand_request& r) { return call(r); });
  }

  [[nodiscard]] datasource_service_stats stats() const {
    std::lock_guard lock(mu_);
    return stats_;
  }
  [[nodiscard]] const datasource_service_options& options() const noexcept { return options_; }
  [[nodiscard]] persistor_type& persistor() noexcept { return *persistor_; }

 private:
  Executor* executor_;
  persistor_type* persistor_;
  datasource_service_options options_;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<detail::datasource_slot>, std::less<>> slots_;
  datasource_service_stats stats_;
};

}  // namespace tributary
