// The persistor of ONDEMAND.md on memory_index and sqlite_index: every event queued is written (and
// readable back as the same event) or counted failed, never dropped silently; the queue is bounded and
// makes producers wait; failed bulk writes are retried with the shared backoff; close() drains; and
// a persistor restarted under its instance says how many events the previous run lost, also after a
// real SIGKILL.

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include <tributary/index/memory.hpp>
#include <tributary/index/sqlite.hpp>
#include <tributary/ondemand/persistor.hpp>

#include "support/common.hpp"
#include "support/ondemand_backends.hpp"

namespace tributary {
namespace {

using namespace std::chrono_literals;
using tributary::testing::cat;
using tributary::testing::contains;

/// Forwards to a real store; its first `throw_writes` bulk writes throw and the item `fail_id` is
/// reported failed (retryable) `fail_item_times` times.
template <class Store>
struct flaky_store {
  using index_backend_concept = document_store_tag;
  explicit flaky_store(Store* s) : inner(s) {}
  Store* inner;
  std::atomic<int> throw_writes{0};
  std::string fail_id;
  std::atomic<int> fail_item_times{0};
  std::atomic<int> writes{0};

  void create_index(std::string_view n) { inner->create_index(n); }
  [[nodiscard]] bool index_exists(std::string_view n) const { return inner->index_exists(n); }
  bulk_result bulk_write(std::string_view n, std::span<const stored_document> docs) {
    ++writes;
    if (throw_writes > 0) {
      --throw_writes;
      throw error(errc::store_unavailable, "store is down");
    }
    std::vector<stored_document> keep;
    bulk_result failed;
    for (std::size_t i = 0; i < docs.size(); ++i) {
      if (docs[i].id == fail_id && fail_item_times > 0) {
        --fail_item_times;
        failed.failures.push_back({i, docs[i].id, "item rejected: 429", true});
      } else {
        keep.push_back(docs[i]);
      }
    }
    bulk_result r = inner->bulk_write(n, std::span<const stored_document>(keep));
    // Positions of the inner write are of `keep`; this test's inner stores never fail.
    r.failures = std::move(failed.failures);
    return r;
  }
  [[nodiscard]] std::vector<std::optional<std::string>> get(std::string_view n, std::span<const std::string> ids) const { return inner->get(n, ids); }
  [[nodiscard]] scan_page scan(std::string_view n, std::string_view after, std::size_t limit) const { return inner->scan(n, after, limit); }
  [[nodiscard]] std::vector<std::string> list_indices(std::string_view p) const { return inner->list_indices(p); }
  void delete_indices(std::span<const std::string> names) { inner->delete_indices(names); }
};

template <class Backend>
class Persistor : public tributary::testing::store_test<Backend> {};
TYPED_TEST_SUITE(Persistor, tributary::testing::every_backend);

std::vector<entity_event> events_of(std::string ds, std::size_t n) {
  std::vector<entity_event> out;
  for (std::size_t i = 0; i < n; ++i) {
    entity_event e;
    e.datasource = ds;
    e.entity_type = "thing";
    e.entity_id = cat(ds, "-", std::to_string(i));
    e.action = event_action::snapshot;
    e.sampled = sample_time(std::chrono::microseconds(1000 + static_cast<std::int64_t>(i)));
    e.payload = cat("{\"n\":", std::to_string(i), "}");
    out.push_back(std::move(e));
  }
  return out;
}

template <class Store>
std::vector<entity_event> stored_events(const Store& store, const std::string& index) {
  std::vector<entity_event> out;
  std::string after;
  for (;;) {
    const scan_page page = store.scan(index, after, 100);
    for (const auto& d : page.documents) out.push_back(parse_event(d.json));
    if (page.done) return out;
    after = page.next_after;
  }
}

persistor_options quick(std::size_t capacity = 1000, std::size_t batch = 16) {
  persistor_options o;
  o.queue_capacity = capacity;
  o.batch_size = batch;
  o.backoff_base = 1ms;
  o.backoff_cap = 2ms;
  return o;
}

/// A memory_index that takes documents' text over (moving_write_store), whose first write takes the
/// first document's text and then throws, as one running out of memory halfway would.
struct taking_store : memory_index {
  using moving_write_concept = moving_write_tag;
  int throws = 1;
  using memory_index::bulk_write;
  bulk_result bulk_write(std::string_view n, std::vector<stored_document>&& docs) {
    if (throws > 0) {
      --throws;
      std::string taken = std::move(docs.front().json);
      throw error(errc::store_unavailable, "out of memory after taking a document");
    }
    return memory_index::bulk_write(n, std::move(docs));
  }
};
static_assert(moving_write_store<taking_store>);

TEST(PersistorMovingWrites, ADocumentAStoreTookAndThrewOnIsCountedFailedNotWrittenEmpty) {
  taking_store store;
  basic_event_persistor persistor(store, persistor_options{.queue_capacity = 100, .batch_size = 10, .backoff_base = 1ms, .backoff_cap = 2ms});
  const auto events = events_of("nova", 3);
  persistor.enqueue(events);
  EXPECT_EQ(persistor.write_queued(), 3u);
  const auto s = persistor.stats();
  EXPECT_EQ(s.written, 2u);
  EXPECT_EQ(s.failed, 1u);
  EXPECT_TRUE(contains(s.last_failure, "out of memory")) << s.last_failure;
  const std::vector<entity_event> rest(events.begin() + 1, events.end());
  EXPECT_EQ(stored_events(store, persistor.index()), rest);  // no empty document where the first was
}

TYPED_TEST(Persistor, WritesEveryEventInOrderAndDrainsOnClose) {
  auto& store = this->store();
  basic_event_persistor persistor(store, quick());
  const auto events = events_of("nova", 100);
  EXPECT_EQ(persistor.enqueue(events), 100u);
  persistor.close();  // queued events are still written: run() drains, then returns
  std::thread writer([&] { persistor.run(); });
  writer.join();
  const auto s = persistor.stats();
  EXPECT_EQ(s.queued, 100u);
  EXPECT_EQ(s.written, 100u);
  EXPECT_EQ(s.failed, 0u);
  EXPECT_EQ(s.pending, 0u);
  EXPECT_EQ(stored_events(store, persistor.index()), events);  // id order is queue order
  // After close, nothing is accepted, and that is counted.
  EXPECT_EQ(persistor.enqueue(events_of("late", 3)), 0u);
  EXPECT_EQ(persistor.stats().refused, 3u);
  EXPECT_EQ(persistor.stats().queued, 100u);
}

TYPED_TEST(Persistor, AFullQueueMakesProducersWait) {
  auto& store = this->store();
  basic_event_persistor persistor(store, quick(4, 2));
  const auto events = events_of("nova", 20);
  auto producer = std::async(std::launch::async, [&] { return persistor.enqueue(events); });
  // No writer runs: the producer fills the queue and stays there (it cannot finish without one).
  while (persistor.stats().queue_depth < 4) std::this_thread::yield();
  EXPECT_EQ(persistor.stats().queue_depth, 4u);  // full: the fifth event waits for room
  EXPECT_EQ(persistor.stats().written, 0u);
  EXPECT_NE(producer.wait_for(std::chrono::seconds(0)), std::future_status::ready);
  std::thread writer([&] { persistor.run(); });
  EXPECT_EQ(producer.get(), 20u);
  persistor.wait_flushed();
  persistor.close();
  writer.join();
  EXPECT_EQ(persistor.stats().written, 20u);
  EXPECT_EQ(stored_events(store, persistor.index()).size(), 20u);
}

TYPED_TEST(Persistor, RetriesFailedWritesWithBackoffUntilStored) {
  flaky_store<std::remove_reference_t<decltype(this->store())>> flaky{&this->store()};
  basic_event_persistor persistor(flaky, quick(1000, 8));
  flaky.throw_writes = 2;
  flaky.fail_id = cat(persistor.instance(), "-00000000000000000003");
  flaky.fail_item_times = 2;
  persistor.enqueue(events_of("nova", 8));
  EXPECT_EQ(persistor.write_queued(), 8u);
  const auto s = persistor.stats();
  EXPECT_EQ(s.written, 8u);
  EXPECT_EQ(s.failed, 0u);
  EXPECT_EQ(flaky.writes.load(), 5);  // two thrown, two refusing item 3 (the second of it alone), one storing it
  EXPECT_EQ(stored_events(this->store(), persistor.index()), events_of("nova", 8));
}

TYPED_TEST(Persistor, CountsEventsItGaveUpOnWithTheReason) {
  flaky_store<std::remove_reference_t<decltype(this->store())>> flaky{&this->store()};
  persistor_options o = quick(1000, 4);
  o.max_attempts = 3;
  basic_event_persistor persistor(flaky, o);
  flaky.throw_writes = 1'000'000;
  persistor.enqueue(events_of("nova", 10));
  persistor.write_queued();
  const auto s = persistor.stats();
  EXPECT_EQ(s.queued, 10u);
  EXPECT_EQ(s.written, 0u);
  EXPECT_EQ(s.failed, 10u);
  EXPECT_EQ(s.pending, 0u);
  EXPECT_TRUE(contains(s.last_failure, "store is down"));
  EXPECT_EQ(flaky.writes.load(), 9);  // batches of 4, 4 and 2 events, each written three times
}

TYPED_TEST(Persistor, ConcurrentProducersLoseNothing) {
  auto& store = this->store();
  basic_event_persistor persistor(store, quick(64, 32));
  std::thread writer([&] { persistor.run(); });
  std::vector<std::thread> producers;
  for (int p = 0; p < 4; ++p)
    producers.emplace_back([&, p] {
      for (int k = 0; k < 5; ++k) persistor.enqueue(events_of(cat("ds", std::to_string(p), "-", std::to_string(k)), 50));
    });
  for (auto& t : producers) t.join();
  persistor.wait_flushed();
  persistor.close();
  writer.join();
  const auto stored = stored_events(store, persistor.index());
  ASSERT_EQ(stored.size(), 1000u);
  std::set<std::string> ids;
  for (const auto& e : stored) ids.insert(e.entity_id);
  EXPECT_EQ(ids.size(), 1000u);
  EXPECT_EQ(persistor.stats().written, 1000u);
}

TYPED_TEST(Persistor, ItsLedgerSaysHowManyEventsTheLastRunLost) {
  auto& store = this->store();
  persistor_options o = quick();
  o.instance = "collector_a";
  {
    basic_event_persistor first(store, o);
    EXPECT_EQ(first.stats().lost_before_start, 0u);
    first.enqueue(events_of("early", 4));
    EXPECT_EQ(first.write_queued(), 4u);
    first.enqueue(events_of("late", 6));
  }  // gone without writing the last six: what a kill does
  {
    basic_event_persistor second(store, o);
    EXPECT_EQ(second.stats().lost_before_start, 6u);
    second.enqueue(events_of("next", 2));
    EXPECT_EQ(second.write_queued(), 2u);
    const auto stored = stored_events(store, second.index());
    ASSERT_EQ(stored.size(), 6u);  // the first run's four and these two: no id reused
    EXPECT_EQ(stored[0].entity_id, "early-0");
    EXPECT_EQ(stored[4].entity_id, "next-0");
  }
  basic_event_persistor third(store, o);
  EXPECT_EQ(third.stats().lost_before_start, 0u);  // the second run wrote all it queued
  // Another instance has a ledger of its own.
  persistor_options other = o;
  other.instance = "collector_b";
  EXPECT_EQ(basic_event_persistor(store, other).stats().lost_before_start, 0u);
}

TEST(PersistorLedger, CountsWhatASigkilledProcessLost) {
  tributary::testing::scratch_database db;
  persistor_options o = quick(1000, 4);
  o.instance = "killed";
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {  // no gtest here: exit codes only
    try {
      sqlite_index store(db.path());
      basic_event_persistor persistor(store, o);
      persistor.enqueue(events_of("written", 5));
      if (persistor.write_queued() != 5) ::_exit(2);
      persistor.enqueue(events_of("pending", 7));
      ::raise(SIGKILL);
    } catch (...) {
      ::_exit(3);
    }
    ::_exit(4);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "child exit " << WEXITSTATUS(status);
  sqlite_index store(db.path());
  basic_event_persistor persistor(store, o);
  EXPECT_EQ(persistor.stats().lost_before_start, 7u);
  EXPECT_EQ(stored_events(store, persistor.index()).size(), 5u);  // every written event survived the kill
}

TEST(PersistorOptions, RefuseNonsense) {
  memory_index store;
  auto refused = [&](auto change) {
    persistor_options o;
    change(o);
    EXPECT_THROW(basic_event_persistor(store, o), error);
  };
  refused([](persistor_options& o) { o.queue_capacity = 0; });
  refused([](persistor_options& o) { o.batch_size = 0; });
  refused([](persistor_options& o) { o.max_attempts = 0; });
  refused([](persistor_options& o) { o.instance = "Has Space"; });
}

}  // namespace
}  // namespace tributary
