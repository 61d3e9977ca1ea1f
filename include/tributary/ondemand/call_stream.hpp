#pragma once
// detail::call_stream: the events of one call on their way from its datasources to its pages. Each
// datasource of the call is a producer on an executor thread that pushes events; the service takes
// them a page at a time as the caller asks (ondemand/service.hpp). The buffer between them is bounded,
// so a get_all of a million entities holds at most `capacity` events here, plus the page being sent.
//
// Time limits: a producer has time_limit to make its events, but the time it waits on a full buffer
// (the caller reading pages at its own pace) is not counted: its deadline moves by that much. A
// producer past its deadline is given up (outcome timed_out, as the service's comment says): its
// later pushes are refused, which tells a streaming datasource to stop; events it pushed before stay
// in the answer and are counted in its outcome.

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <iterator>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <tributary/ondemand/answer.hpp>
#include <tributary/ondemand/event.hpp>

namespace tributary::detail {

class call_stream {
 public:
  using steady = std::chrono::steady_clock;

  struct page {
    std::vector<entity_event> events;
    bool last = false;                          ///< every producer is done and the buffer is empty
    std::vector<datasource_outcome> outcomes;   ///< on the last page: one per producer, in order
  };

  call_stream(const std::vector<std::string>& names, std::size_t capacity, std::chrono::milliseconds time_limit)
      : capacity_(std::max<std::size_t>(capacity, 1)), time_limit_(time_limit), producers_(names.size()),
        caller_(std::this_thread::get_id()) {
    for (std::size_t i = 0; i < names.size(); ++i) producers_[i].outcome.datasource = names[i];
  }

  /// Producer i begins making events: its time limit runs from now.
  void start(std::size_t i) {
    std::lock_guard lock(mu_);
    producers_[i].deadline = steady::now() + time_limit_;
    producers_[i].started = true;
  }

  /// Waits while the buffer is full. false: producer i was given up, or the call abandoned.
  bool push(std::size_t i, entity_event&& e) {
    std::unique_lock lock(mu_);
    producer& p = producers_[i];
    if (p.given_up) return false;
    // A producer on the caller's own thread (an inline executor) would wait for itself: it fills the
    // buffer instead, and that executor gives up the bound.
    if (buffer_.size() >= capacity_ && std::this_thread::get_id() != caller_) {
      const auto since = steady::now();
      p.blocked = true;
      room_.wait(lock, [&] { return buffer_.size() < capacity_ || p.given_up; });
      p.blocked = false;
      p.deadline += steady::now() - since;
      if (p.given_up) return false;
    }
    // The service answers for its datasource: events carry its name whatever the datasource wrote.
    e.datasource = p.outcome.datasource;
    buffer_bytes_ += event_json_size_hint(e);
    buffer_.push_back(std::move(e));
    ++p.outcome.events;
    // A taker waits for a full page or for the end: woken then, not at every event (a wake is a
    // system call, as costly as making a small event).
    const bool wake = taker_waiting_ && (buffer_.size() >= wake_events_ || buffer_bytes_ >= wake_bytes_ || buffer_.size() >= capacity_);
    lock.unlock();
    if (wake) events_.notify_all();
    return true;
  }

  /// How many events producer i has pushed (a failed attempt that pushed none may be tried again).
  [[nodiscard]] std::size_t pushed(std::size_t i) {
    std::lock_guard lock(mu_);
    return producers_[i].outcome.events;
  }

  /// Producer i is done: ok, or failed/timed_out/busy with the reason. Ignored for one given up.
  void finish(std::size_t i, outcome_status status, std::string reason) {
    {
      std::lock_guard lock(mu_);
      producer& p = producers_[i];
      if (p.given_up) return;
      p.done = true;
      p.outcome.status = status;
      p.outcome.reason = std::move(reason);
    }
    events_.notify_all();
  }

  /// The next page: up to max_events events and about max_bytes of their JSON. Waits for a full page
  /// while producers are running, but no longer than `wait` once it has some events; gives up the
  /// producers whose deadline passes meanwhile.
  page take(std::size_t max_events, std::size_t max_bytes, std::chrono::milliseconds wait) {
    page out;
    std::size_t bytes = 0;
    const auto page_deadline = steady::now() + wait;
    std::unique_lock lock(mu_);
    for (;;) {
      const bool was_full = buffer_.size() >= capacity_;
      std::size_t k = 0;
      while (k < buffer_.size() && out.events.size() + k < max_events && bytes < max_bytes) {
        const std::size_t size = event_json_size_hint(buffer_[k++]);
        bytes += size;
        buffer_bytes_ -= size;
      }
      if (k && k == buffer_.size() && out.events.empty()) {
        // The whole buffer is the page so far (the usual case): handed over as it is, no event moved,
        // and the producers go on in a buffer of the size this page needed.
        out.events.swap(buffer_);
        buffer_.reserve(out.events.size());
      } else if (k) {
        out.events.insert(out.events.end(), std::make_move_iterator(buffer_.begin()), std::make_move_iterator(buffer_.begin() + static_cast<std::ptrdiff_t>(k)));
        buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(k));
      }
      if (was_full) room_.notify_all();
      if (out.events.size() >= max_events || bytes >= max_bytes) break;
      const auto now = steady::now();
      bool running = false;
      auto next_deadline = now < page_deadline ? page_deadline : steady::time_point::max();
      for (auto& p : producers_) {
        if (p.done || p.given_up) continue;
        // Not started by the page's deadline: still waiting for an executor thread or for its
        // datasource's previous call, which is as good as no answer.
        if (p.started ? !p.blocked && now >= p.deadline : now >= page_deadline) {
          give_up(p, "no answer within the time limit of " + std::to_string(time_limit_.count()) + " ms");
          continue;
        }
        running = true;
        if (p.started && !p.blocked) next_deadline = std::min(next_deadline, p.deadline);
      }
      if (!running && buffer_.empty()) {
        out.last = true;
        break;
      }
      if (now >= page_deadline && !out.events.empty()) break;
      // Only producers waking from a full buffer are left to wait for: they push or finish soon.
      if (next_deadline == steady::time_point::max()) next_deadline = now + std::chrono::milliseconds(10);
      taker_waiting_ = true;
      wake_events_ = max_events - out.events.size();
      wake_bytes_ = max_bytes - bytes;
      events_.wait_until(lock, next_deadline);
      taker_waiting_ = false;
    }
    if (out.last)
      for (const auto& p : producers_) out.outcomes.push_back(p.outcome);
    return out;
  }

  /// Nobody will read the rest: every producer still running is given up (its pushes refused).
  void abandon() {
    {
      std::lock_guard lock(mu_);
      for (auto& p : producers_)
        if (!p.done && !p.given_up) give_up(p, "the call's pages were abandoned");
      buffer_.clear();
      buffer_bytes_ = 0;
    }
    room_.notify_all();
    events_.notify_all();
  }

 private:
  struct producer {
    datasource_outcome outcome;  ///< events: pushed and taken into the buffer
    bool started = false, done = false, given_up = false, blocked = false;
    steady::time_point deadline{};
  };

  void give_up(producer& p, std::string reason) {
    p.given_up = true;
    p.outcome.status = outcome_status::timed_out;
    p.outcome.reason = std::move(reason);
    room_.notify_all();  // a producer blocked on a full buffer returns false
  }

  std::size_t capacity_;
  std::chrono::milliseconds time_limit_;
  std::mutex mu_;
  std::condition_variable room_, events_;
  std::vector<entity_event> buffer_;  ///< a vector, not a deque: a deque allocated a block per three events
  std::vector<producer> producers_;
  std::thread::id caller_;  ///< the thread that made the call and takes its first page
  bool taker_waiting_ = false;
  std::size_t buffer_bytes_ = 0;  ///< the buffered events' JSON, about
  std::size_t wake_events_ = 1, wake_bytes_ = 1;  ///< what completes the waiting taker's page
};

}  // namespace tributary::detail
