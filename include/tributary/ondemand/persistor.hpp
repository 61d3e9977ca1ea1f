#pragma once
// basic_event_persistor<Store>: writes every event of every answer to an index of events, in the
// background, through a bounded queue (ONDEMAND.md: "a persistor owned by the service, bounded,
// acknowledged"). Vitrage's persistor was fire-and-forget; here nothing is dropped silently:
// every event queued ends up counted as written or failed, and the reason of the last failure is kept.
//
//   sqlite_index store("/var/lib/ondemand.db");
//   basic_event_persistor persistor(store, {});
//   std::jthread writer([&] { persistor.run(); });     the owner's thread (CRAFT 8: none is started here)
//   ... the service enqueues the events of each answer before sending it ...
//   persistor.close();                                 refuses new events; run() drains, then returns
//
// Backpressure: enqueue waits while the queue holds queue_capacity events, so a store slower than the
// datasources slows the answers down instead of growing memory. An answer's events go in and out of the
// queue a batch at a time, under one lock each, not one per event; a store that can take documents'
// text over (moving_write_store) is handed it rather than a copy. Durability: a batch counts as written
// only once the store acknowledged it (every DocumentStore write is durable when it returns).
//
// Who retries (retry.hpp): this writer retries the items a bulk write reported failed, and whole batches
// whose write threw, at most max_attempts writes per batch, waiting a draw of the shared backoff
// between attempts; the store's own retries (elasticsearch_index's per-item ones) happen inside each.
//
// The ledger, kept when options.instance names the persistor: one document per instance in
// ledger_index, {"queued":q,"written":w,"failed":f}, written with the events' count before they are
// queued (so before the answer leaves) and after each batch is written. A persistor started under the
// same instance reads it first: q - w - f events were queued and neither written nor given up on, so
// a kill lost them; stats().lost_before_start says how many. The cost is one small synchronous write per
// answer and per batch. The ledger also holds the next free sequence ("next"), reserved before the
// events are queued, so ids of a new run never overwrite events of the old one.
//
// Each event is stored under "<instance>-<sequence>", the sequence zero-padded, so an index scan (id
// order) reads one instance's events in the order they were queued. The document is the event's JSON.

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <iterator>
#include <mutex>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <simdjson.h>

#include <tributary/error.hpp>
#include <tributary/execution/work_queue.hpp>
#include <tributary/index/concepts.hpp>
#include <tributary/index/names.hpp>
#include <tributary/ondemand/answer.hpp>
#include <tributary/ondemand/event.hpp>
#include <tributary/retry.hpp>

namespace tributary {

/// The id an event is stored under: "<instance>-<sequence, 20 digits>".
[[nodiscard]] inline std::string persisted_event_id(std::string_view instance, std::uint64_t sequence) {
  std::string id;
  id.reserve(instance.size() + 21);
  id += instance;
  id += '-';
  char seq[20];  // twenty digits, zero-padded: ids sort as their sequences do
  for (int k = 19; k >= 0; --k, sequence /= 10) seq[k] = static_cast<char>('0' + sequence % 10);
  id.append(seq, sizeof seq);
  return id;
}

/// The instance and sequence of a persisted event's id; nullopt for an id not of that form.
[[nodiscard]] inline std::optional<std::pair<std::string_view, std::uint64_t>> parse_persisted_event_id(std::string_view id) {
  const std::size_t dash = id.rfind('-');
  if (dash == std::string_view::npos || dash == 0 || id.size() - dash - 1 != 20) return std::nullopt;
  std::uint64_t v = 0;
  for (const char c : id.substr(dash + 1)) {
    if (c < '0' || c > '9') return std::nullopt;
    const auto digit = static_cast<std::uint64_t>(c - '0');
    if (v > (UINT64_MAX - digit) / 10) return std::nullopt;
    v = v * 10 + digit;
  }
  return std::pair(id.substr(0, dash), v);
}

struct persistor_options {
  std::string index = "ondemand-events";  ///< created when absent
  /// Prefix of the ids, and the persistor's identity across restarts: with one given, a ledger of its
  /// counts is kept (below). Empty: 16 random hex digits, and no ledger.
  std::string instance{};
  std::string ledger_index = "ondemand-persistor-ledger";  ///< created when absent (a ledger is kept)
  std::size_t queue_capacity = 100'000;   ///< events waiting to be written; enqueue waits beyond it
  std::size_t batch_size = 1'000;         ///< events per bulk write
  unsigned max_attempts = 5;              ///< writes of one batch before its remaining events count as failed
  std::chrono::milliseconds backoff_base{100}, backoff_cap{10'000};
  std::uint64_t seed = 0x6f6e64656d616e64;

  void validate() const {
    auto fail = [](const std::string& what) { throw error(errc::invalid_config, "persistor_options: " + what); };
    if (queue_capacity == 0) fail("queue_capacity must be at least 1");
    if (batch_size == 0) fail("batch_size must be at least 1");
    if (max_attempts == 0) fail("max_attempts must be at least 1");
    if (backoff_cap < backoff_base) fail("backoff_cap must not be below backoff_base");
    for (const char c : instance)
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
        fail("instance may hold only a-z, 0-9 and '_'");
  }
};

/// queued == written + failed + pending at every moment. An enqueue counts its events queued at once,
/// before it pushes them (the ledger must say so before any is written).
struct persistor_stats {
  std::uint64_t queued = 0;   ///< accepted by enqueue
  std::uint64_t written = 0;  ///< acknowledged by the store
  std::uint64_t failed = 0;   ///< given up on after max_attempts writes
  std::uint64_t refused = 0;  ///< offered after close(): not queued, not written
  std::uint64_t lost_before_start = 0;  ///< events the previous run under this instance never wrote (ledger)
  std::uint64_t pending = 0;  ///< queued and not yet written or failed
  std::uint64_t queue_depth = 0;  ///< of those, the ones in the queue now (at most queue_capacity)
  std::string last_failure;   ///< the store's reason for the latest failed event
};

template <class Store>
class basic_event_persistor {
  static_assert(document_store<Store>, "basic_event_persistor: Store does not model tributary::document_store (see index/concepts.hpp)");

 public:
  /// The store is the caller's and must outlive the persistor. Creates the index when absent.
  basic_event_persistor(Store& store, persistor_options options = {})
      : store_(&store), options_(validated(std::move(options))), queue_(options_.queue_capacity),
        backoff_(options_.backoff_base, options_.backoff_cap, options_.seed) {
    ledger_ = !options_.instance.empty();
    if (options_.instance.empty()) {
      std::random_device rd;
      char buf[17];
      std::snprintf(buf, sizeof buf, "%08x%08x", rd(), rd());
      options_.instance = buf;
    }
    if (!store_->index_exists(options_.index)) {
      try {
        store_->create_index(options_.index);
      } catch (const error& e) {
        if (e.code() != errc::already_exists) throw;  // another process made it first: fine
      }
    }
    if (ledger_) read_ledger();
  }
  basic_event_persistor(const basic_event_persistor&) = delete;
  basic_event_persistor& operator=(const basic_event_persistor&) = delete;

  [[nodiscard]] const std::string& index() const noexcept { return options_.index; }
  [[nodiscard]] const std::string& instance() const noexcept { return options_.instance; }

  /// Queues the events, waiting while the queue is full. Returns how many were queued: all of them,
  /// or, once close() was called, fewer (the rest counted as refused).
  std::size_t enqueue(std::span<const entity_event> events) { return enqueue_stamped(events).count; }

  /// enqueue, saying where the events are stored: the first `count` of them under
  /// "<instance>-<first>" onwards (the stamp a service puts in its answer, ondemand/answer.hpp).
  persisted_range enqueue_stamped(std::span<const entity_event> events) {
    std::vector<std::string> jsons;
    jsons.reserve(events.size());
    for (const auto& e : events) jsons.push_back(event_json(e));
    return enqueue_json_stamped(jsons);
  }

  /// enqueue_stamped of events already written as JSON (event_json's text, which the store keeps as
  /// it is: a service that writes its answer's events once hands the same text here). The texts are
  /// moved from, as far as they are queued.
  persisted_range enqueue_json_stamped(std::span<std::string> jsons) {
    persisted_range range{options_.instance, 0, 0};
    if (jsons.empty()) return range;
    std::uint64_t sequence = 0;
    {
      std::lock_guard lock(mu_);
      stats_.queued += jsons.size();  // before the push, so that a fast writer never counts past it
      sequence = next_sequence_;      // the ids of these events, reserved before the ledger says so
      next_sequence_ += jsons.size();
    }
    range.first = sequence;
    if (ledger_) write_ledger();  // the intent is durable before any event is queued
    std::vector<stored_document> docs;
    docs.reserve(jsons.size());
    for (auto& json : jsons) docs.push_back({id_of(sequence++), std::move(json)});
    const std::size_t queued = push(docs);
    if (queued < jsons.size()) {
      {
        std::lock_guard lock(mu_);
        stats_.queued -= jsons.size() - queued;
        stats_.refused += jsons.size() - queued;
      }
      changed_.notify_all();
      if (ledger_) write_ledger();
    }
    range.count = queued;
    return range;
  }

  /// Writes queued events until close() and the queue is drained. On the owner's thread; one writer
  /// (run or write_queued) at a time.
  void run() {
    std::vector<stored_document> batch;
    while (take(batch, true)) write(batch);
  }

  /// Writes what is queued now on the calling thread (a pump, for tests and single-threaded owners).
  /// Returns the events taken from the queue.
  std::size_t write_queued() {
    std::vector<stored_document> batch;
    std::size_t taken = 0;
    while (const std::size_t n = take(batch, false)) {
      taken += n;
      write(batch);
    }
    return taken;
  }

  /// Refuses events from now on; run() returns once what is queued is written.
  void close() { queue_.close(); }

  /// Waits until every event queued so far is written or failed (a writer must be running).
  void wait_flushed() {
    std::unique_lock lock(mu_);
    changed_.wait(lock, [this] { return stats_.written + stats_.failed >= stats_.queued; });
  }

  [[nodiscard]] persistor_stats stats() const {
    std::lock_guard lock(mu_);
    persistor_stats s = stats_;
    s.pending = s.queued - s.written - s.failed;
    s.queue_depth = queue_.size();
    return s;
  }

 private:
  static persistor_options validated(persistor_options options) {
    options.validate();
    return options;
  }

  std::string id_of(std::uint64_t sequence) const { return persisted_event_id(options_.instance, sequence); }

  /// Moves `docs` into the queue in order, waiting for room (a lock per wait, not per event). Returns
  /// how many it queued: all, or fewer once closed.
  std::size_t push(std::vector<stored_document>& docs) { return queue_.push_range(docs); }

  /// Replaces `batch` with up to batch_size queued events, waiting for one if `wait`. 0: none (with
  /// `wait`: closed and drained).
  std::size_t take(std::vector<stored_document>& batch, bool wait) {
    batch.clear();
    batch.reserve(options_.batch_size);  // once: write() leaves the buffer's capacity to the next batch
    return wait ? queue_.pop_up_to(batch, options_.batch_size) : queue_.try_pop_up_to(batch, options_.batch_size);
  }

  /// One batch, retried as the header says; every event of it ends counted as written or failed.
  /// Leaves `batch` empty.
  void write(std::vector<stored_document>& batch) {
    std::string reason;
    for (unsigned attempt = 1; !batch.empty(); ++attempt) {
      std::vector<stored_document> again;
      try {
        const bulk_result r = bulk_write(batch);
        for (const auto& f : r.failures) {
          if (f.position < batch.size()) again.push_back(std::move(batch[f.position]));
          reason = f.reason;
        }
        count(batch.size() - again.size(), 0, {});
        if (again.empty()) {  // the common case: the buffer stays for the next batch
          batch.clear();
          return;
        }
      } catch (const error& e) {  // the whole batch; a store says nothing was written
        reason = e.what();
        // A store that takes texts over leaves those it did not write as they were; one that threw
        // after taking some (out of memory) left them empty (an event's JSON never is): those are
        // lost, and counted so rather than written again as empty documents.
        const auto taken = std::stable_partition(batch.begin(), batch.end(), [](const stored_document& d) { return !d.json.empty(); });
        if (taken != batch.end()) count(0, static_cast<std::size_t>(batch.end() - taken), reason);
        batch.erase(taken, batch.end());
        again = std::move(batch);
      }
      batch = std::move(again);
      if (batch.empty()) return;
      if (attempt >= options_.max_attempts) {
        count(0, batch.size(), reason);
        batch.clear();
        return;
      }
      std::this_thread::sleep_for(backoff_.delay(attempt));
    }
  }

  /// A store that can take the documents' text over (moving_write_store: memory_index) is given it:
  /// the persistor has no more use for the text of a document written.
  bulk_result bulk_write(std::vector<stored_document>& batch) {
    if constexpr (moving_write_store<Store>) return store_->bulk_write(options_.index, std::move(batch));
    else return store_->bulk_write(options_.index, std::span<const stored_document>(batch));
  }

  void count(std::size_t written, std::size_t failed, const std::string& reason) {
    {
      std::lock_guard lock(mu_);
      stats_.written += written;
      stats_.failed += failed;
      if (failed) stats_.last_failure = reason;
    }
    if (ledger_ && (written || failed)) {
      try {
        write_ledger();
      } catch (const error&) {  // the next write says it again; a restart then overstates the loss
      }
    }
    changed_.notify_all();
  }

  /// Counts of the previous run: what it lost, and where its sequence ended.
  void read_ledger() {
    if (!store_->index_exists(options_.ledger_index)) {
      try {
        store_->create_index(options_.ledger_index);
      } catch (const error& e) {
        if (e.code() != errc::already_exists) throw;
      }
    }
    const std::string ids[] = {options_.instance};
    const auto found = store_->get(options_.ledger_index, ids);
    if (found.empty() || !found[0]) return;
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    std::uint64_t q = 0, w = 0, f = 0;
    if (parser.parse(simdjson::padded_string(*found[0])).get(root) || root["queued"].get(q) || root["written"].get(w) ||
        root["failed"].get(f))
      throw error(errc::bad_document, "persistor: the ledger of \"" + options_.instance + "\" is not {queued, written, failed}");
    std::uint64_t next = 0;
    if (root["next"].get(next)) next = q;  // absent: q, which is no less than the ids used
    stats_.lost_before_start = q > w + f ? q - w - f : 0;
    ledger_base_ = q;
    next_sequence_ = std::max(next, q);  // ids of this run never overwrite the previous run's events
  }

  /// Writes the current counts (cumulative over runs) as this instance's ledger document.
  void write_ledger() {
    std::lock_guard ledger(ledger_mu_);  // snapshots are written in the order they were taken
    std::string json;
    {
      std::lock_guard lock(mu_);
      json = "{\"queued\":" + std::to_string(ledger_base_ + stats_.queued) + ",\"written\":" +
             std::to_string(ledger_base_ + stats_.written) + ",\"failed\":" + std::to_string(stats_.failed) +
             ",\"next\":" + std::to_string(next_sequence_) + "}";
    }
    const stored_document doc[] = {{options_.instance, std::move(json)}};
    const bulk_result r = store_->bulk_write(options_.ledger_index, std::span<const stored_document>(doc));
    if (!r.ok()) throw error(errc::store_unavailable, "persistor: ledger: " + r.failures.front().reason);
  }

  Store* store_;
  persistor_options options_;
  bounded_work_queue<stored_document> queue_;  ///< at most queue_capacity events
  backoff backoff_;  // the writer's alone
  mutable std::mutex mu_;
  std::condition_variable changed_;
  persistor_stats stats_;
  std::uint64_t next_sequence_ = 0;
  bool ledger_ = false;
  std::mutex ledger_mu_;
  /// The previous runs' queued total, counted as written (what they lost is in lost_before_start), so
  /// that the ledger's counts keep growing across runs.
  std::uint64_t ledger_base_ = 0;
};

}  // namespace tributary
