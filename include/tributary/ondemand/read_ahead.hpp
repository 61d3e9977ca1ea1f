#pragma once
// How a datasource service makes the pages of a call (ondemand/service.hpp), and makes the next one
// ahead of its get_page: while the caller reads page k, a task on the service's executor takes page
// k + 1 from the call's stream, queues its events for the persistor and writes its JSON, so that the
// get_page finds it made. Without it the caller's reading and the service's making of pages take turns,
// each side idle while the other works.
//
// A page is made once, by whoever comes first: the task, or the get_page (when no executor thread got
// to the task in time, or the executor had no room for it). The get_page waits for a task that began.
// Pages are still made one at a time and in order per call (the next one is scheduled only once this
// one is handed out), so the persistor's ids follow the order of the pages.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <tributary/ondemand/answer.hpp>
#include <tributary/ondemand/call_stream.hpp>
#include <tributary/ondemand/event.hpp>

namespace tributary::detail {

/// A page of a call as the service hands it out: its answer and, for a call a binding made, the
/// answer's JSON, written as the page was made (its events written once: the same texts went to the
/// persistor).
struct made_page {
  ondemand_answer answer;
  std::optional<std::string> json;
  bool last = false;
};

/// Takes the next page of `stream` (at most `events` events and about `bytes` of JSON, waiting at most
/// `wait` once it has some), queues its events for the persistor before anything can send them, and
/// writes the answer's JSON when `write_json`. The cursor of the page after it is "<token>-<number + 1>".
template <class Persistor>
made_page make_page(call_stream& stream, Persistor& persistor, std::size_t events, std::size_t bytes, std::chrono::milliseconds wait,
                    std::string_view token, std::uint64_t number, bool write_json) {
  call_stream::page page = stream.take(events, bytes, wait);
  made_page out;
  out.last = page.last;
  ondemand_answer& a = out.answer;
  a.events = std::move(page.events);
  if (page.last) a.outcomes = std::move(page.outcomes);
  else a.next = std::string(token) + "-" + std::to_string(number + 1);
  // Queued before the page leaves: an acknowledged page's events are all pending or written.
  // enqueue waits while the queue is full: the persistor's backpressure.
  if (!write_json) {
    if (persisted_range r = persistor.enqueue_stamped(a.events); r.count) a.persisted = std::move(r);
    return out;
  }
  std::vector<std::string> texts;
  texts.reserve(a.events.size());
  std::size_t room = 256;
  for (const auto& e : a.events) {
    texts.push_back(event_json(e));
    room += texts.back().size() + 1;
  }
  for (const auto& o : a.outcomes) room += 64 + o.datasource.size() + o.reason.size();
  std::string json;
  json.reserve(room);
  json += "{\"events\":[";
  for (std::size_t i = 0; i < texts.size(); ++i) {
    if (i) json += ',';
    json += texts[i];
  }
  if (persisted_range r = persistor.enqueue_json_stamped(std::span<std::string>(texts)); r.count) a.persisted = std::move(r);
  append_answer_rest_json(json, a);
  out.json = std::move(json);
  return out;
}

/// The next page of one call, made ahead or not: the task and the get_page agree here on who makes it.
class page_ahead {
 public:
  /// The task: makes the page with make() unless a get_page claimed it first.
  template <class Make>
  void make(Make&& make_it) {
    {
      std::lock_guard lock(mu_);
      if (state_ != state::waiting) return;
      state_ = state::making;
    }
    std::optional<made_page> made;
    std::exception_ptr failure;
    try {
      made.emplace(make_it());
    } catch (...) {
      failure = std::current_exception();
    }
    {
      std::lock_guard lock(mu_);
      made_ = std::move(made);
      failure_ = failure;
      state_ = state::made;
    }
    changed_.notify_all();
  }

  /// The get_page: the page if the task made it (waiting for a task that began; its failure
  /// rethrown), or nullopt when the task had not begun: the caller makes the page, the task will not.
  std::optional<made_page> claim() {
    std::unique_lock lock(mu_);
    if (state_ == state::waiting) {
      state_ = state::claimed;
      return std::nullopt;
    }
    changed_.wait(lock, [this] { return state_ == state::made; });
    if (failure_) std::rethrow_exception(failure_);
    return std::move(made_);
  }

  /// Nobody will ask for the page (the call was abandoned): a task not begun does nothing.
  void drop() {
    std::lock_guard lock(mu_);
    if (state_ == state::waiting) state_ = state::claimed;
  }

 private:
  enum class state { waiting, making, made, claimed };
  std::mutex mu_;
  std::condition_variable changed_;
  state state_ = state::waiting;
  std::optional<made_page> made_;
  std::exception_ptr failure_;
};

/// The read-ahead tasks of one service, shared with the tasks (an executor may run a task after the
/// service is gone): how many wait in the executor, how many run, and whether the service ended.
class read_ahead_tasks {
 public:
  /// A task is handed to the executor: false when `max_waiting` already wait there (a busy executor
  /// is not filled with tasks the get_pages will have done themselves by the time they run).
  bool submit(std::size_t max_waiting) {
    std::lock_guard lock(mu_);
    if (closed_ || waiting_ >= max_waiting) return false;
    ++waiting_;
    return true;
  }
  /// The executor refused it.
  void refused() {
    std::lock_guard lock(mu_);
    --waiting_;
  }
  /// A task starts: false when the service ended (the task then touches nothing of it).
  bool begin() {
    std::lock_guard lock(mu_);
    --waiting_;
    if (closed_) return false;
    ++running_;
    return true;
  }
  void end() {
    {
      std::lock_guard lock(mu_);
      --running_;
    }
    idle_.notify_all();
  }
  /// The service ends: no task starts any more, and those running are waited for.
  void close() {
    std::unique_lock lock(mu_);
    closed_ = true;
    idle_.wait(lock, [this] { return running_ == 0; });
  }

 private:
  std::mutex mu_;
  std::condition_variable idle_;
  std::size_t waiting_ = 0, running_ = 0;
  bool closed_ = false;
};

}  // namespace tributary::detail
