#pragma once
// bounded_work_queue<T>: a multi-producer, multi-consumer FIFO of at most `capacity` items. A full
// queue makes producers wait (push), refuse (try_push) or wait a bounded time (try_push_for): that is
// the backpressure a slow consumer puts on its producers. close() wakes everyone: producers are
// refused from then on, consumers drain what is left and then get nullopt.
// push_range and pop_up_to move many items under one lock, for producers and consumers that work in
// batches (a lock and a wake per item would dominate items as cheap as a moved string).
//
// The waits here are thread waits, measured on std::chrono::steady_clock. Protocol time (timers,
// intervals) belongs to the injected clock and the timer service, never to a queue.

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <iterator>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include <tributary/error.hpp>

namespace tributary {

enum class push_status {
  pushed,  ///< the item is in the queue
  full,    ///< the queue stayed full (try_push, or try_push_for's time ran out); the item is untouched
  closed,  ///< the queue is closed; the item is untouched
};

template <class T>
class bounded_work_queue {
 public:
  /// Throws error(errc::invalid_config) for a capacity of 0 (no item could ever be pushed).
  explicit bounded_work_queue(std::size_t capacity) : capacity_(capacity) {
    if (capacity == 0) throw error(errc::invalid_config, "bounded_work_queue: the capacity must be at least 1");
  }
  bounded_work_queue(const bounded_work_queue&) = delete;
  bounded_work_queue& operator=(const bounded_work_queue&) = delete;

  /// Waits while the queue is full. false: the queue is (or became) closed; `item` is untouched.
  bool push(T&& item) {
    std::unique_lock lock(mu_);
    not_full_.wait(lock, [this] { return closed_ || items_.size() < capacity_; });
    return put(lock, item) == push_status::pushed;
  }
  /// Never waits. `item` is moved from only when pushed.
  push_status try_push(T&& item) {
    std::unique_lock lock(mu_);
    if (!closed_ && items_.size() >= capacity_) return push_status::full;
    return put(lock, item);
  }
  /// Waits at most `timeout` for room. `item` is moved from only when pushed.
  template <class Rep, class Period>
  push_status try_push_for(T&& item, std::chrono::duration<Rep, Period> timeout) {
    std::unique_lock lock(mu_);
    if (!not_full_.wait_for(lock, timeout, [this] { return closed_ || items_.size() < capacity_; }))
      return push_status::full;
    return put(lock, item);
  }

  /// Moves `items` in, in order, as many at a time as there is room for, waiting for room: one lock
  /// per wait. Returns how many it pushed: all, or fewer once the queue is closed (the rest untouched).
  std::size_t push_range(std::span<T> items) {
    std::size_t at = 0;
    std::unique_lock lock(mu_);
    while (at < items.size()) {
      not_full_.wait(lock, [this] { return closed_ || items_.size() < capacity_; });
      if (closed_) break;
      const std::size_t n = std::min(items.size() - at, capacity_ - items_.size());
      std::move(items.begin() + static_cast<std::ptrdiff_t>(at), items.begin() + static_cast<std::ptrdiff_t>(at + n),
                std::back_inserter(items_));
      at += n;
      if (n == 1) not_empty_.notify_one();
      else not_empty_.notify_all();
    }
    return at;
  }

  /// Waits for an item, then moves up to `max` of them to the end of `out`. Returns how many: 0 only
  /// once the queue is closed and drained.
  std::size_t pop_up_to(std::vector<T>& out, std::size_t max) {
    std::unique_lock lock(mu_);
    not_empty_.wait(lock, [this] { return closed_ || !items_.empty(); });
    return take_up_to(lock, out, max);
  }
  /// Never waits: moves up to `max` queued items to the end of `out` and returns how many.
  std::size_t try_pop_up_to(std::vector<T>& out, std::size_t max) {
    std::unique_lock lock(mu_);
    return take_up_to(lock, out, max);
  }

  /// Waits for an item. nullopt only once the queue is closed and drained.
  [[nodiscard]] std::optional<T> pop() {
    std::unique_lock lock(mu_);
    not_empty_.wait(lock, [this] { return closed_ || !items_.empty(); });
    return take(lock);
  }
  /// Never waits: nullopt when empty.
  [[nodiscard]] std::optional<T> try_pop() {
    std::unique_lock lock(mu_);
    return take(lock);
  }
  /// Waits at most `timeout`: nullopt when it ran out, or the queue is closed and drained.
  template <class Rep, class Period>
  [[nodiscard]] std::optional<T> pop_for(std::chrono::duration<Rep, Period> timeout) {
    std::unique_lock lock(mu_);
    not_empty_.wait_for(lock, timeout, [this] { return closed_ || !items_.empty(); });
    return take(lock);
  }

  /// Refuses every later push and wakes every waiting producer and consumer. Items already queued
  /// stay for the consumers to drain. Idempotent.
  void close() {
    {
      std::lock_guard lock(mu_);
      closed_ = true;
    }
    not_full_.notify_all();
    not_empty_.notify_all();
  }

  [[nodiscard]] bool closed() const {
    std::lock_guard lock(mu_);
    return closed_;
  }
  [[nodiscard]] std::size_t size() const {
    std::lock_guard lock(mu_);
    return items_.size();
  }
  [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }

 private:
  push_status put(std::unique_lock<std::mutex>& lock, T& item) {
    if (closed_) return push_status::closed;
    items_.push_back(std::move(item));
    lock.unlock();
    not_empty_.notify_one();
    return push_status::pushed;
  }
  std::optional<T> take(std::unique_lock<std::mutex>& lock) {
    if (items_.empty()) return std::nullopt;
    std::optional<T> out(std::move(items_.front()));
    items_.pop_front();
    lock.unlock();
    not_full_.notify_one();
    return out;
  }

  std::size_t take_up_to(std::unique_lock<std::mutex>& lock, std::vector<T>& out, std::size_t max) {
    const std::size_t n = std::min(max, items_.size());
    if (n == 0) return 0;
    std::move(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(n), std::back_inserter(out));
    items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(n));
    lock.unlock();
    if (n == 1) not_full_.notify_one();
    else not_full_.notify_all();
    return n;
  }

  const std::size_t capacity_;
  mutable std::mutex mu_;
  std::condition_variable not_full_, not_empty_;
  std::deque<T> items_;
  bool closed_ = false;
};

}  // namespace tributary
