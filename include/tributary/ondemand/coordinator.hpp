#pragma once
// basic_event_coordinator<T>: the consumer's two-priority queue of events (Vitrage's TwoPriorityQueue,
// ONDEMAND.md "the coordinator"). High-priority events (pushed by the user, e.g. evaluator actions) go
// before low-priority bulk events (answers of get_all and get_changes), but low-priority work always
// progresses: after max_high_in_a_row high-priority events taken while a low-priority one waited, the
// next pop takes a low-priority one. Vitrage gave high priority absolute precedence, so a steady stream
// of it starved bulk processing forever; here a low-priority event waits at most
// max_high_in_a_row high-priority events for each low-priority one ahead of it.
//
// Both queues are bounded: a push waits while its queue is full (the backpressure a slow consumer puts
// on the RPC answers and on the user); close() wakes everyone, refuses new events, and lets pop drain.
// Thread-safe: any number of producers and consumers.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <algorithm>
#include <deque>
#include <iterator>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include <tributary/error.hpp>

namespace tributary {

enum class event_priority { high, low };

struct coordinator_options {
  std::size_t max_high_in_a_row = 16;  ///< high-priority pops before a waiting low-priority one goes
  std::size_t high_capacity = 10'000;
  std::size_t low_capacity = 100'000;
  void validate() const {
    if (max_high_in_a_row == 0) throw error(errc::invalid_config, "coordinator_options: max_high_in_a_row must be at least 1");
    if (high_capacity == 0 || low_capacity == 0) throw error(errc::invalid_config, "coordinator_options: capacities must be at least 1");
  }
};

struct coordinator_stats {
  std::uint64_t high_taken = 0, low_taken = 0;
  std::uint64_t low_turns_forced = 0;  ///< pops that took a low-priority event because of the bound
  std::uint64_t push_waits = 0;        ///< pushes that waited for room
};

namespace detail {

/// A FIFO of the runs of items pushed together: a batch (an answer's page) goes in as the vector it came
/// in, not one item at a time, and each item is moved once, on its way out. A std::deque of items
/// allocated a block per three events and moved each one in and out.
template <class T>
class batch_fifo {
 public:
  [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] T& front() noexcept { return chunks_.front()[head_]; }
  void pop_front() {
    --size_;
    if (++head_ == chunks_.front().size()) {
      chunks_.pop_front();
      head_ = 0;
    }
  }
  void push_back(T&& item) {
    // Appended in place while the last run has room (never moving it), else in a run of its own.
    if (chunks_.empty() || chunks_.back().size() == chunks_.back().capacity()) chunks_.emplace_back().reserve(single_run);
    chunks_.back().push_back(std::move(item));
    ++size_;
  }
  /// Appends items[from, from + n): the vector itself when that is all of it.
  void append(std::vector<T>& items, std::size_t from, std::size_t n) {
    if (n == 0) return;
    if (from == 0 && n == items.size()) chunks_.push_back(std::move(items));
    else chunks_.emplace_back(std::make_move_iterator(items.begin() + static_cast<std::ptrdiff_t>(from)),
                              std::make_move_iterator(items.begin() + static_cast<std::ptrdiff_t>(from + n)));
    size_ += n;
  }

 private:
  static constexpr std::size_t single_run = 64;
  std::deque<std::vector<T>> chunks_;  ///< none empty; the front one read from head_ on
  std::size_t head_ = 0, size_ = 0;
};

}  // namespace detail

template <class T>
class basic_event_coordinator {
 public:
  explicit basic_event_coordinator(coordinator_options options = {}) : options_(options) { options_.validate(); }
  basic_event_coordinator(const basic_event_coordinator&) = delete;
  basic_event_coordinator& operator=(const basic_event_coordinator&) = delete;

  /// Waits while that priority's queue is full. false once closed (the item is dropped, not queued).
  bool push(event_priority p, T item) {
    std::unique_lock lock(mu_);
    auto& q = p == event_priority::high ? high_ : low_;
    const std::size_t cap = p == event_priority::high ? options_.high_capacity : options_.low_capacity;
    if (!closed_ && q.size() >= cap) {
      ++stats_.push_waits;
      room_.wait(lock, [&] { return closed_ || q.size() < cap; });
    }
    if (closed_) return false;
    q.push_back(std::move(item));
    lock.unlock();
    ready_.notify_one();
    return true;
  }

  /// Pushes `items` in order, as push() would one by one, under one lock but for the waits for room
  /// (takers are woken before each). Returns how many were queued: fewer than all once closed.
  std::size_t push_all(event_priority p, std::vector<T>&& items) {
    std::unique_lock lock(mu_);
    auto& q = p == event_priority::high ? high_ : low_;
    const std::size_t cap = p == event_priority::high ? options_.high_capacity : options_.low_capacity;
    const std::size_t total = items.size();  // append may take the vector itself
    std::size_t pushed = 0;
    while (pushed < total) {
      if (!closed_ && q.size() >= cap) {
        ++stats_.push_waits;
        ready_.notify_all();
        room_.wait(lock, [&] { return closed_ || q.size() < cap; });
      }
      if (closed_) break;
      const std::size_t n = std::min(total - pushed, cap - q.size());
      q.append(items, pushed, n);
      pushed += n;
    }
    lock.unlock();
    ready_.notify_all();
    return pushed;
  }

  /// The next event by the rule above, waiting for one; nullopt once closed and drained.
  [[nodiscard]] std::optional<std::pair<event_priority, T>> pop() {
    std::unique_lock lock(mu_);
    ready_.wait(lock, [&] { return closed_ || !high_.empty() || !low_.empty(); });
    return take(lock);
  }
  /// Never waits.
  [[nodiscard]] std::optional<std::pair<event_priority, T>> try_pop() {
    std::unique_lock lock(mu_);
    return take(lock);
  }
  /// Appends to `out` up to `max` events, each the one pop() would give next, under one lock; waits up
  /// to `wait` for the first when there is none. Returns how many it took.
  std::size_t take_up_to(std::size_t max, std::vector<std::pair<event_priority, T>>& out,
                         std::chrono::steady_clock::duration wait = {}) {
    std::unique_lock lock(mu_);
    if (wait > std::chrono::steady_clock::duration::zero())
      ready_.wait_for(lock, wait, [&] { return closed_ || !high_.empty() || !low_.empty(); });
    std::size_t taken = 0;
    for (; taken < max; ++taken) {
      auto next = take_locked();
      if (!next) break;
      out.push_back(std::move(*next));
    }
    lock.unlock();
    if (taken) room_.notify_all();
    return taken;
  }

  void close() {
    {
      std::lock_guard lock(mu_);
      closed_ = true;
    }
    ready_.notify_all();
    room_.notify_all();
  }

  [[nodiscard]] std::size_t size(event_priority p) const {
    std::lock_guard lock(mu_);
    return p == event_priority::high ? high_.size() : low_.size();
  }
  [[nodiscard]] coordinator_stats stats() const {
    std::lock_guard lock(mu_);
    return stats_;
  }

 private:
  std::optional<std::pair<event_priority, T>> take(std::unique_lock<std::mutex>& lock) {
    auto out = take_locked();
    if (!out) return out;
    lock.unlock();
    room_.notify_all();
    return out;
  }

  std::optional<std::pair<event_priority, T>> take_locked() {
    std::optional<std::pair<event_priority, T>> out;
    const bool low_turn = !low_.empty() && (high_.empty() || high_in_a_row_ >= options_.max_high_in_a_row);
    if (low_turn) {
      if (!high_.empty()) ++stats_.low_turns_forced;
      out.emplace(event_priority::low, std::move(low_.front()));
      low_.pop_front();
      high_in_a_row_ = 0;
      ++stats_.low_taken;
    } else if (!high_.empty()) {
      out.emplace(event_priority::high, std::move(high_.front()));
      high_.pop_front();
      // Only high pops that made a low-priority event wait count against the bound.
      high_in_a_row_ = low_.empty() ? 0 : high_in_a_row_ + 1;
      ++stats_.high_taken;
    }
    return out;
  }

  coordinator_options options_;
  mutable std::mutex mu_;
  std::condition_variable ready_, room_;
  detail::batch_fifo<T> high_, low_;
  std::size_t high_in_a_row_ = 0;
  bool closed_ = false;
  coordinator_stats stats_;
};

}  // namespace tributary
