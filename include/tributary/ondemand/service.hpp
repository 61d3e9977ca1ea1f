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
// events; failed with the exception's text (after retry_on_fault's retries, get_all only, and only
// while none of its events is in the answer); timed_out when it gave no answer within time_limit (its
// call goes on on the executor thread, and its events, when they come, are dropped: a datasource call
// cannot be interrupted; a streaming one is told by its sink refusing them); busy for get_changes
// refused.
//
// Pages (ondemand/answer.hpp): the datasources push their events into a bounded buffer per call
// (ondemand/call_stream.hpp) while the caller reads pages of at most page_events events (and about
// page_bytes of JSON); an answer with more to come carries a cursor for get_page. While the caller
// reads a page, the next one is made ahead by a task on the executor (ondemand/read_ahead.hpp: taken,
// queued for the persistor, and for a binding's call written as JSON, each event written once for
// both), so the caller's reading and the service's making overlap. A streaming datasource (ondemand/
// datasource.hpp) waits while the buffer is full, so a get_all of a million entities is held here
// three pages at a time at most (the one sent, the one made ahead, the buffer), as objects and as text;
// the wait does not count against its time limit. Each page is answered once (its events are moved
// out, and queued for the persistor before it can leave): a caller whose page is lost asks get_all
// again. A call whose next page nobody asks for within page_ttl is abandoned. Events come in the order
// they are made: each datasource's in its own order, those of datasources running together
// interleaved. A datasource's slot stays taken until its get_all has pushed its last event, so
// get_changes is refused while it runs.
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
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <tributary/error.hpp>
#include <tributary/execution/concepts.hpp>
#include <tributary/execution/task.hpp>
#include <tributary/execution/work_queue.hpp>
#include <tributary/ondemand/answer.hpp>
#include <tributary/ondemand/call_stream.hpp>
#include <tributary/ondemand/datasource.hpp>
#include <tributary/ondemand/jsonrpc.hpp>
#include <tributary/ondemand/persistor.hpp>
#include <tributary/ondemand/read_ahead.hpp>

namespace tributary {

struct datasource_service_options {
  std::chrono::milliseconds time_limit{60'000};  ///< per datasource, per call
  unsigned fault_retries = 1;                    ///< extra get_all attempts when retry_on_fault
  std::size_t max_request_bytes = std::size_t{1} << 20;  ///< larger JSON-RPC texts are refused
  /// A page of an answer holds at most this many events and about page_bytes of their JSON; the
  /// call's buffer holds at most page_events more, made while the caller reads a page.
  std::size_t page_events = 10'000;
  std::size_t page_bytes = std::size_t{8} << 20;
  /// A call whose next page nobody asks for within page_ttl is abandoned (its datasources stop).
  std::chrono::milliseconds page_ttl{60'000};
  std::size_t max_open_calls = 64;  ///< calls with pages left; beyond it the least recently read is abandoned
  void validate() const {
    if (time_limit <= std::chrono::milliseconds::zero())
      throw error(errc::invalid_config, "datasource_service_options: time_limit must be positive");
    if (max_request_bytes == 0) throw error(errc::invalid_config, "datasource_service_options: max_request_bytes must be positive");
    if (page_events == 0 || page_bytes == 0) throw error(errc::invalid_config, "datasource_service_options: page_events and page_bytes must be positive");
    if (page_ttl <= std::chrono::milliseconds::zero()) throw error(errc::invalid_config, "datasource_service_options: page_ttl must be positive");
    if (max_open_calls == 0) throw error(errc::invalid_config, "datasource_service_options: max_open_calls must be positive");
  }
};

/// What a service has answered since it started.
struct datasource_service_stats {
  std::uint64_t calls = 0;           ///< get_all and get_changes answered (refused ones excluded)
  std::uint64_t events = 0;          ///< events in those answers
  std::uint64_t failed_outcomes = 0; ///< outcomes not ok (failed, timed_out, busy)
  std::uint64_t pages = 0;           ///< pages answered (a call of one page counts one)
  std::uint64_t abandoned = 0;       ///< calls whose remaining pages nobody asked for (page_ttl, max_open_calls)
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

inline std::string reason_of(std::exception_ptr e) {
  try {
    std::rethrow_exception(std::move(e));
  } catch (const std::exception& x) {
    return x.what()[0] ? x.what() : "an exception without a message";
  } catch (...) {
    return "an exception that is not a std::exception";
  }
}

/// Hands a datasource's events to its producer slot of a call_stream.
class stream_sink final : public event_sink {
 public:
  stream_sink(call_stream& stream, std::size_t producer) : stream_(&stream), producer_(producer) {}
  bool push(entity_event e) override { return stream_->push(producer_, std::move(e)); }

 private:
  call_stream* stream_;
  std::size_t producer_;
};

/// Runs one datasource call under the slot's rules (header comment) as producer i of the stream.
/// Never throws.
inline void run_on_slot(datasource_slot& slot, call_stream& stream, std::size_t i, ondemand_method method, event_action action,
                        unsigned attempts, std::chrono::steady_clock::time_point deadline) {
  {
    std::unique_lock lock(slot.mu);
    if (method == ondemand_method::get_changes) {
      // Waiting for another get_changes, a get_all may start meanwhile: it is looked for after the
      // wait too, not only before it.
      if (!slot.idle.wait_until(lock, deadline, [&] { return slot.get_all_running || !slot.get_changes_running; }))
        return stream.finish(i, outcome_status::timed_out, "the previous get_changes of this datasource did not end within the time limit");
      if (slot.get_all_running)
        return stream.finish(i, outcome_status::busy, "get_all of this datasource is running; get_changes is refused meanwhile");
      slot.get_changes_running = true;
    } else {
      if (!slot.idle.wait_until(lock, deadline, [&] { return !slot.get_all_running && !slot.get_changes_running; }))
        return stream.finish(i, outcome_status::timed_out, "the datasource's previous call did not end within the time limit");
      slot.get_all_running = true;
    }
  }
  stream.start(i);
  stream_sink sink(stream, i);
  outcome_status status = outcome_status::ok;
  std::string reason;
  for (unsigned attempt = 1;; ++attempt) {
    try {
      if (method == ondemand_method::get_all) {
        slot.source.stream_all(action, sink);
      } else {
        for (auto& e : slot.source.get_changes())
          if (!sink.push(std::move(e))) break;
      }
      status = outcome_status::ok;
      reason.clear();
      break;
    } catch (...) {
      status = outcome_status::failed;
      reason = reason_of(std::current_exception());
      // Tried again only while nothing of it is in the answer: a second run would repeat its events.
      if (attempt >= attempts || std::chrono::steady_clock::now() >= deadline || stream.pushed(i) > 0) break;
    }
  }
  {
    std::lock_guard lock(slot.mu);
    (method == ondemand_method::get_all ? slot.get_all_running : slot.get_changes_running) = false;
  }
  slot.idle.notify_all();
  stream.finish(i, status, std::move(reason));
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
  /// Abandons the calls with pages left: their datasources' pushes are refused, so they return. Waits
  /// for the read-ahead tasks running (those not begun will touch nothing).
  ~basic_datasource_service() {
    for (auto& [token, open] : open_) {
      open.stream->abandon();
      if (open.ahead) open.ahead->drop();
    }
    ahead_tasks_->close();
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

  /// Runs the call and answers its first page; get_page answers the following ones. Throws
  /// rpc_error(invalid_params) naming an unknown datasource (before any runs) or an unknown cursor.
  ondemand_answer call(const ondemand_request& request) { return serve(request, false).answer; }

  ondemand_answer get_all(std::vector<std::string> names, event_action action, bool retry_on_fault) {
    return call({ondemand_method::get_all, std::move(names), action, retry_on_fault});
  }
  ondemand_answer get_changes(std::vector<std::string> names) {
    return call({ondemand_method::get_changes, std::move(names), event_action::update, false});
  }
  /// The page an answer's `next` names (ondemand/answer.hpp).
  ondemand_answer get_page(std::string cursor) {
    ondemand_request r;
    r.method = ondemand_method::get_page;
    r.cursor = std::move(cursor);
    return call(r);
  }

  /// Answers a JSON-RPC 2.0 text (ondemand/jsonrpc.hpp); nullopt when there is nothing to send back.
  /// The pages of its calls are written as JSON as they are made (and made ahead, read_ahead.hpp).
  [[nodiscard]] std::optional<std::string> answer(std::string_view request) {
    return answer_jsonrpc(request, options_.max_request_bytes, [this](const ondemand_request& r) {
      detail::made_page page = serve(r, true);
      if (page.json) return answer_json{std::move(*page.json)};
      answer_json out;  // a page made for call() (a cursor of the C++ API asked for over a binding)
      append_answer_json(out.text, page.answer);
      return out;
    });
  }

  [[nodiscard]] datasource_service_stats stats() const {
    std::lock_guard lock(mu_);
    return stats_;
  }
  [[nodiscard]] const datasource_service_options& options() const noexcept { return options_; }
  [[nodiscard]] persistor_type& persistor() noexcept { return *persistor_; }

 private:
  /// A call whose pages are being read: its stream and the page the caller asks for next.
  struct open_call {
    std::shared_ptr<detail::call_stream> stream;
    std::uint64_t next_page = 2;
    bool reading = false;  ///< a get_page of it is running
    std::chrono::steady_clock::time_point last_used;
    std::shared_ptr<detail::page_ahead> ahead;  ///< the next page, when its making was scheduled
  };

  /// call(), the pages written as JSON as well when `write_json` (answer()).
  detail::made_page serve(const ondemand_request& request, bool write_json) {
    expire_cursors();
    if (request.method == ondemand_method::get_page) return next_page(request.cursor, write_json);
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
    std::vector<std::string> names;
    for (const auto& slot : slots) names.push_back(slot->source.name());
    auto stream = std::make_shared<detail::call_stream>(names, options_.page_events, options_.time_limit);
    for (std::size_t i = 0; i < slots.size(); ++i) {
      const bool accepted = executor_->execute([stream, slot = slots[i], i, method = request.method, action = request.action, attempts, deadline] {
        detail::run_on_slot(*slot, *stream, i, method, action, attempts, deadline);
      });
      if (!accepted) stream->finish(i, outcome_status::failed, "the executor is shut down");
    }
    {
      std::lock_guard lock(mu_);
      ++stats_.calls;
    }
    return answer_page(std::move(stream), random_token(), 1, write_json, std::nullopt);
  }


  /// Hands out page `number` of the stream (made ahead, or made now), and keeps the stream under
  /// `token` when more pages follow, scheduling the making of the next one.
  detail::made_page answer_page(std::shared_ptr<detail::call_stream> stream, const std::string& token, std::uint64_t number,
                                bool write_json, std::optional<detail::made_page> made) {
    detail::made_page page;
    try {
      page = made ? std::move(*made) : make_page(*stream, token, number, write_json);
    } catch (...) {
      forget(token, *stream);
      throw;
    }
    std::size_t not_ok = 0;
    for (const auto& o : page.answer.outcomes) not_ok += o.status != outcome_status::ok;
    std::shared_ptr<detail::page_ahead> ahead;
    {
      std::lock_guard lock(mu_);
      stats_.events += page.answer.events.size();
      stats_.failed_outcomes += not_ok;
      ++stats_.pages;
      if (page.last) {
        open_.erase(token);
        return page;
      }
      auto& open = open_[token];
      open.stream = stream;
      open.next_page = number + 1;
      open.reading = false;
      open.last_used = std::chrono::steady_clock::now();
      if (read_ahead_possible) open.ahead = ahead = std::make_shared<detail::page_ahead>();
      if (open_.size() > options_.max_open_calls) drop_least_recent();
    }
    if (ahead) read_ahead(std::move(ahead), std::move(stream), token, number + 1, write_json);
    return page;
  }

  detail::made_page make_page(detail::call_stream& stream, std::string_view token, std::uint64_t number, bool write_json) {
    return detail::make_page(stream, *persistor_, options_.page_events, options_.page_bytes, options_.time_limit, token, number, write_json);
  }

  /// Only an executor that can refuse a task rather than wait for room gets read-ahead tasks: a request
  /// handler waiting for room behind datasources that wait for it would wait for ever.
  static constexpr bool read_ahead_possible = requires(Executor& e, task& t) {
    { e.try_execute(t) } -> std::same_as<push_status>;
  };

  /// Schedules the making of page `number` ahead of its get_page (read_ahead.hpp). The task holds what
  /// it uses, not the service, and does nothing once the service ended.
  void read_ahead(std::shared_ptr<detail::page_ahead> ahead, std::shared_ptr<detail::call_stream> stream, const std::string& token,
                  std::uint64_t number, bool write_json) {
    if constexpr (read_ahead_possible) {
      if (!ahead_tasks_->submit(2)) return;  // the get_page makes it
      task t([tasks = ahead_tasks_, ahead = std::move(ahead), stream = std::move(stream), persistor = persistor_, options = options_, token,
              number, write_json] {
        if (!tasks->begin()) return;
        ahead->make([&] {
          return detail::make_page(*stream, *persistor, options.page_events, options.page_bytes, options.time_limit, token, number, write_json);
        });
        tasks->end();
      });
      if (executor_->try_execute(t) != push_status::pushed) ahead_tasks_->refused();
    }
  }

  detail::made_page next_page(const std::string& cursor, bool write_json) {
    const auto dash = cursor.rfind('-');
    std::uint64_t number = 0;
    const bool parsed = dash != std::string::npos && dash > 0 && dash + 1 < cursor.size() &&
                        std::from_chars(cursor.data() + dash + 1, cursor.data() + cursor.size(), number).ptr == cursor.data() + cursor.size();
    if (!parsed) throw rpc_error(rpc_code::invalid_params, "cursor \"" + cursor + "\" is not one this service wrote");
    const std::string token = cursor.substr(0, dash);
    std::shared_ptr<detail::call_stream> stream;
    std::shared_ptr<detail::page_ahead> ahead;
    {
      std::lock_guard lock(mu_);
      const auto it = open_.find(token);
      if (it == open_.end())
        throw rpc_error(rpc_code::invalid_params, "unknown cursor \"" + cursor + "\": its call ended, was abandoned for " +
                                                      std::to_string(options_.page_ttl.count()) +
                                                      " ms, or is another service's; ask again from the start");
      if (it->second.reading) throw rpc_error(rpc_code::invalid_params, "cursor \"" + cursor + "\": a get_page of this call is running");
      if (number != it->second.next_page)
        throw rpc_error(rpc_code::invalid_params, "cursor \"" + cursor + "\" is not the call's next page (" +
                                                      std::to_string(it->second.next_page) +
                                                      "); a page is answered once, so a call whose page was lost starts again");
      it->second.reading = true;
      stream = it->second.stream;
      ahead = std::move(it->second.ahead);
    }
    std::optional<detail::made_page> made;
    if (ahead) {
      try {
        made = ahead->claim();
      } catch (...) {
        forget(token, *stream);
        throw;
      }
    }
    return answer_page(std::move(stream), token, number, write_json, std::move(made));
  }

  /// Abandons the calls nobody asked a page of for page_ttl: their datasources stop.
  void expire_cursors() {
    std::vector<std::shared_ptr<detail::call_stream>> dropped;
    {
      std::lock_guard lock(mu_);
      const auto now = std::chrono::steady_clock::now();
      for (auto it = open_.begin(); it != open_.end();) {
        if (!it->second.reading && now - it->second.last_used > options_.page_ttl) {
          if (it->second.ahead) it->second.ahead->drop();
          dropped.push_back(std::move(it->second.stream));
          it = open_.erase(it);
          ++stats_.abandoned;
        } else {
          ++it;
        }
      }
    }
    for (auto& s : dropped) s->abandon();
  }

  /// Over max_open_calls: the least recently read call not being read is abandoned. mu_ held.
  void drop_least_recent() {
    auto oldest = open_.end();
    for (auto it = open_.begin(); it != open_.end(); ++it)
      if (!it->second.reading && (oldest == open_.end() || it->second.last_used < oldest->second.last_used)) oldest = it;
    if (oldest == open_.end()) return;
    if (oldest->second.ahead) oldest->second.ahead->drop();
    oldest->second.stream->abandon();
    open_.erase(oldest);
    ++stats_.abandoned;
  }

  void forget(const std::string& token, detail::call_stream& stream) {
    stream.abandon();
    std::lock_guard lock(mu_);
    if (const auto it = open_.find(token); it != open_.end()) {
      if (it->second.ahead) it->second.ahead->drop();
      open_.erase(it);
    }
  }

  /// 128 random bits as hex: a cursor nobody can guess or confuse with another call's.
  std::string random_token() {
    std::lock_guard lock(mu_);
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    for (int k = 0; k < 2; ++k) {
      std::uint64_t v = random_();
      for (int j = 0; j < 16; ++j, v >>= 4) out += hex[v & 15];
    }
    return out;
  }

  Executor* executor_;
  persistor_type* persistor_;
  datasource_service_options options_;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<detail::datasource_slot>, std::less<>> slots_;
  std::map<std::string, open_call> open_;  ///< by cursor token
  std::mt19937_64 random_{std::random_device{}()};
  datasource_service_stats stats_;
  std::shared_ptr<detail::read_ahead_tasks> ahead_tasks_ = std::make_shared<detail::read_ahead_tasks>();
};

}  // namespace tributary
