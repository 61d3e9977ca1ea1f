// The consumer side of ONDEMAND.md: the two-priority coordinator (high first, low never starved:
// seeded adversarial streams and concurrent producers), the entity state (older samples never win,
// deletes honoured, unseen entities swept), and basic_ondemand_consumer's timers in virtual time
// (manual_clock): the init_snapshot get_all retried until a collector answers, then get_all every
// snapshot interval and get_changes per datasource, failed calls retried for real; and the consumer over
// real JSON-RPC on loopback HTTP.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <future>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <tributary/clock/manual.hpp>
#include <tributary/execution/inline_executor.hpp>
#include <tributary/execution/thread_pool.hpp>
#include <tributary/execution/timers.hpp>
#include <tributary/index/memory.hpp>
#include <tributary/ondemand/archetypes.hpp>
#include <tributary/ondemand/consumer.hpp>
#include <tributary/ondemand/coordinator.hpp>
#include <tributary/ondemand/entity_state.hpp>
#include <tributary/ondemand/jsonrpc_http.hpp>
#include <tributary/ondemand/service.hpp>
#include <tributary/server/http_server.hpp>
#include <tributary/transport/curl.hpp>

#include "support/common.hpp"

namespace tributary {
namespace {

using namespace std::chrono_literals;
using tributary::testing::cat;
using tributary::testing::contains;

static_assert(rpc_client<archetypes::rpc_client>);
static_assert(rpc_client<basic_jsonrpc_http_client<curl_transport>>);
struct look_alike_client {
  ondemand_answer call(const ondemand_request&) { return {}; }
};
static_assert(!rpc_client<look_alike_client>);

// --- coordinator ----------------------------------------------------------------------------------

TEST(Coordinator, HighGoesFirstAndLowWaitsAtMostTheBound) {
  basic_event_coordinator<int> c({.max_high_in_a_row = 3});
  for (int i = 0; i < 2; ++i) c.push(event_priority::low, 100 + i);
  for (int i = 0; i < 8; ++i) c.push(event_priority::high, i);
  std::vector<int> order;
  while (auto x = c.try_pop()) order.push_back(x->second);
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 100, 3, 4, 5, 101, 6, 7}));
  EXPECT_EQ(c.stats().low_turns_forced, 2u);
}

TEST(Coordinator, LowPriorityProgressesUnderAdversarialStreams) {
  // Seeded interleavings of pushes and pops, high-heavy; after every pop: a low-priority event never
  // waited more than the bound of high-priority pops, and each priority keeps its own order.
  for (std::uint64_t seed = 1; seed <= 200; ++seed) {
    std::mt19937_64 rng(seed);
    const std::size_t bound = 1 + rng() % 5;
    basic_event_coordinator<int> c({.max_high_in_a_row = bound});
    int next_high = 0, next_low = 0, want_high = 0, want_low = 0;
    std::size_t highs_while_low_waited = 0;
    for (int step = 0; step < 2000; ++step) {
      const auto r = rng() % 10;
      if (r < 5) c.push(event_priority::high, next_high++);
      else if (r < 6) c.push(event_priority::low, next_low++);
      else {
        const bool low_waiting = c.size(event_priority::low) > 0;
        auto x = c.try_pop();
        if (!x) continue;
        if (x->first == event_priority::high) {
          ASSERT_EQ(x->second, want_high++) << "seed " << seed;
          if (low_waiting) ++highs_while_low_waited;
          ASSERT_LE(highs_while_low_waited, bound) << "TRIBUTARY_SEED=" << seed << " step " << step;
        } else {
          ASSERT_EQ(x->second, want_low++) << "seed " << seed;
          highs_while_low_waited = 0;
        }
      }
    }
  }
}

TEST(Coordinator, ConcurrentProducersAndAConsumerLoseNothing) {
  basic_event_coordinator<int> c({.max_high_in_a_row = 4, .high_capacity = 8, .low_capacity = 8});
  constexpr int per_producer = 2000;
  std::vector<std::thread> producers;
  for (int p = 0; p < 4; ++p)
    producers.emplace_back([&, p] {
      for (int i = 0; i < per_producer; ++i) c.push(p % 2 ? event_priority::high : event_priority::low, i);
    });
  std::atomic<int> taken{0};
  std::thread consumer([&] {
    while (auto x = c.pop()) ++taken;
  });
  for (auto& t : producers) t.join();
  c.close();
  consumer.join();
  EXPECT_EQ(taken.load(), 4 * per_producer);
  EXPECT_FALSE(c.push(event_priority::high, 1));  // closed
}

TEST(Coordinator, SinglesAndBatchesMixedComeOutInTheOrderPushed) {
  // A batch goes in whole (with room to spare after it, singles pushed next may join it), in part when
  // the queue has room for part of it, and singles between: out they come as pushed.
  basic_event_coordinator<int> c({.low_capacity = 10});
  std::vector<int> spare;
  spare.reserve(16);
  spare.assign({0, 1, 2});
  EXPECT_EQ(c.push_all(event_priority::low, std::move(spare)), 3u);
  EXPECT_TRUE(c.push(event_priority::low, 3));
  EXPECT_TRUE(c.push(event_priority::low, 4));
  EXPECT_EQ(c.size(event_priority::low), 5u);
  std::vector<int> expected{0, 1, 2, 3, 4}, got;
  std::vector<std::pair<event_priority, int>> taken;
  EXPECT_EQ(c.take_up_to(2, taken), 2u);  // 0 and 1: the first run is read in place
  auto more = std::async(std::launch::async, [&] {
    std::vector<int> big;
    for (int i = 5; i < 25; ++i) big.push_back(i);
    return c.push_all(event_priority::low, std::move(big));  // 7 fit now, the rest as room comes
  });
  for (int i = 5; i < 25; ++i) expected.push_back(i);
  while (taken.size() < expected.size()) (void)c.take_up_to(3, taken, std::chrono::milliseconds(5));
  EXPECT_EQ(more.get(), 20u);
  EXPECT_TRUE(c.push(event_priority::low, 25));
  expected.push_back(25);
  (void)c.take_up_to(10, taken);
  for (const auto& [p, x] : taken) got.push_back(x);
  EXPECT_EQ(got, expected);
  EXPECT_EQ(c.size(event_priority::low), 0u);
}

TEST(Coordinator, BatchesKeepTheRuleTheOrderAndTheBackpressure) {
  // One lock per batch, the same order as pops one by one.
  basic_event_coordinator<int> c({.max_high_in_a_row = 3});
  EXPECT_EQ(c.push_all(event_priority::low, {100, 101}), 2u);
  EXPECT_EQ(c.push_all(event_priority::high, {0, 1, 2, 3, 4, 5, 6, 7}), 8u);
  std::vector<std::pair<event_priority, int>> taken;
  EXPECT_EQ(c.take_up_to(4, taken), 4u);
  EXPECT_EQ(c.take_up_to(100, taken), 6u);
  EXPECT_EQ(c.take_up_to(100, taken, std::chrono::milliseconds(1)), 0u);  // waits, then gives nothing
  std::vector<int> order;
  for (const auto& [p, x] : taken) order.push_back(x);
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 100, 3, 4, 5, 101, 6, 7}));

  // Pages larger than the queue: each push_all waits for room, a taker in batches gets every event of
  // each producer in its order.
  basic_event_coordinator<std::pair<int, int>> small({.low_capacity = 8});
  constexpr int per_producer = 3000;
  std::vector<std::thread> producers;
  for (int p = 0; p < 2; ++p)
    producers.emplace_back([&small, p] {
      for (int page = 0; page < per_producer / 500; ++page) {
        std::vector<std::pair<int, int>> items;
        for (int i = 0; i < 500; ++i) items.emplace_back(p, page * 500 + i);
        EXPECT_EQ(small.push_all(event_priority::low, std::move(items)), 500u);
      }
    });
  int next[2] = {0, 0}, total = 0;
  std::vector<std::pair<event_priority, std::pair<int, int>>> batch;
  while (total < 2 * per_producer) {
    batch.clear();
    total += static_cast<int>(small.take_up_to(5, batch, std::chrono::milliseconds(5)));
    for (const auto& [priority, item] : batch) ASSERT_EQ(item.second, next[item.first]++);
  }
  for (auto& t : producers) t.join();
  EXPECT_GT(small.stats().push_waits, 0u);
  small.close();
  EXPECT_EQ(small.push_all(event_priority::low, {{0, 0}, {0, 1}}), 0u);  // closed: nothing queued
}

TEST(Coordinator, SeededConcurrentHighStreamsNeverStarveLowPriority) {
  // Under ThreadSanitizer too: three threads push high-priority events with seeded yields while one
  // pops; the low-priority events are all queued first, so the low queue is never empty until drained
  // and the bound must hold between every two low-priority pops. Each producer's events keep their order.
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    std::mt19937_64 pick(seed);
    const std::size_t bound = 1 + pick() % 4;
    constexpr int lows = 300, per_producer = 400;
    basic_event_coordinator<std::pair<int, int>> c({.max_high_in_a_row = bound, .high_capacity = 16});
    for (int i = 0; i < lows; ++i) c.push(event_priority::low, {-1, i});
    std::vector<std::thread> producers;
    for (int p = 0; p < 3; ++p)
      producers.emplace_back([&c, p, seed] {
        std::mt19937_64 rng(seed * 31 + static_cast<std::uint64_t>(p));
        for (int i = 0; i < per_producer; ++i) {
          for (auto k = rng() % 3; k-- > 0;) std::this_thread::yield();
          c.push(event_priority::high, {p, i});
        }
      });
    // Violations are noted, not asserted, so that the loop drains and the producers always end.
    std::string violation;
    int low_seen = 0, highs_in_a_row = 0, highs = 0;
    int next[3] = {0, 0, 0};
    while (low_seen < lows || highs < 3 * per_producer) {
      auto x = c.try_pop();
      if (!x) {
        std::this_thread::yield();
        continue;
      }
      const auto [producer, number] = x->second;
      if (x->first == event_priority::low) {
        if (number != low_seen && violation.empty()) violation = "low-priority events out of order";
        ++low_seen;
        highs_in_a_row = 0;
        continue;
      }
      ++highs;
      if (number != next[producer]++ && violation.empty()) violation = "a producer's events out of order";
      if (low_seen < lows && ++highs_in_a_row > static_cast<int>(bound) && violation.empty())
        violation = cat(std::to_string(highs_in_a_row), " high-priority events in a row while a low-priority one waited");
    }
    for (auto& t : producers) t.join();
    ASSERT_EQ(violation, "") << "TRIBUTARY_SEED=" << seed << " bound " << bound;
    EXPECT_EQ(c.stats().low_taken, static_cast<std::uint64_t>(lows));
  }
}

// --- entity state ---------------------------------------------------------------------------------

entity_event ev(std::string id, event_action a, std::int64_t us, std::string payload = "{}") {
  entity_event e;
  e.datasource = "nova";
  e.entity_type = "instance";
  e.entity_id = std::move(id);
  e.action = a;
  e.sampled = sample_time(std::chrono::microseconds(us));
  e.payload = std::move(payload);
  return e;
}

TEST(EntityState, AnOlderSampleNeverReplacesANewerOne) {
  entity_state s;
  const auto t0 = std::chrono::system_clock::time_point{};
  EXPECT_EQ(s.apply(ev("a", event_action::update, 20, "{\"v\":2}"), t0), apply_result::applied);
  EXPECT_EQ(s.apply(ev("a", event_action::snapshot, 10, "{\"v\":1}"), t0), apply_result::older_ignored);
  EXPECT_EQ(s.find("instance", "a")->payload, "{\"v\":2}");
  EXPECT_EQ(s.apply(ev("a", event_action::delete_entity, 30), t0), apply_result::applied);
  EXPECT_EQ(s.apply(ev("a", event_action::update, 25), t0), apply_result::older_ignored);  // no resurrection
  EXPECT_TRUE(s.find("instance", "a")->deleted);
  EXPECT_EQ(s.live(), 0u);
}

TEST(EntityState, SweepMarksEntitiesUnseenForTooLongDeleted) {
  entity_state s;
  const auto t0 = std::chrono::system_clock::time_point{} + 1h;
  s.apply(ev("a", event_action::snapshot, 1), t0);
  s.apply(ev("b", event_action::snapshot, 1), t0 + 15min);
  EXPECT_EQ(s.sweep(t0 + 20min, 20min), 0u);
  EXPECT_EQ(s.sweep(t0 + 21min, 20min), 1u);
  EXPECT_TRUE(s.find("instance", "a")->deleted);
  EXPECT_FALSE(s.find("instance", "b")->deleted);
}

TEST(EntityState, KeysTypesAndLiveCountsHoldThroughEveryChange) {
  entity_state s;
  const auto t0 = std::chrono::system_clock::time_point{} + 1h;
  s.apply(ev("a", event_action::snapshot, 1), t0);
  entity_event host = ev("a", event_action::snapshot, 1, "{\"h\":1}");
  host.entity_type = "host";  // the same id, another type: another entity
  host.datasource = "zabbix";
  s.apply(host, t0);
  s.apply(ev("b", event_action::delete_entity, 1), t0);  // known only as deleted
  EXPECT_EQ(s.size(), 3u);
  EXPECT_EQ(s.live(), 2u);
  EXPECT_EQ(s.find("host", "a")->payload, "{\"h\":1}");
  EXPECT_EQ(s.find("host", "a")->datasource, "zabbix");
  EXPECT_EQ(s.find("instance", "a")->latest(), ev("a", event_action::snapshot, 1));
  EXPECT_FALSE(s.find("router", "a"));
  EXPECT_FALSE(s.find("host", "b"));
  s.apply(ev("b", event_action::update, 2), t0);  // back, newer than its delete
  EXPECT_EQ(s.live(), 3u);
  EXPECT_EQ(s.sweep(t0 + 30min, 20min), 3u);
  EXPECT_EQ(s.live(), 0u);
  entity_state copy = s;
  copy.restore(ev("a", event_action::update, 5), false, t0);
  EXPECT_EQ(copy.live(), 1u);
  EXPECT_EQ(copy.size(), 3u);
  EXPECT_FALSE(copy == s);
  copy.restore(ev("a", event_action::snapshot, 1), true, t0);
  EXPECT_EQ(copy.live(), 0u);
  EXPECT_TRUE(copy == s);
}

// Tens of thousands of entities in seeded random order (every table grows many times, ids of two
// types collide by design), each event checked against a plain map of what the newest sample says.
TEST(EntityState, ManyEntitiesInRandomOrderMatchAPlainModel) {
  struct newest {
    std::int64_t us = 0;
    std::string payload;
    bool deleted = false;
  };
  std::map<std::pair<std::string, std::string>, newest> model;
  entity_state s;
  std::mt19937_64 rng(20261206);
  const auto t0 = std::chrono::system_clock::time_point{} + 1h;
  for (int k = 0; k < 200'000; ++k) {
    const int n = static_cast<int>(rng() % 40'000);
    entity_event e = ev(cat("vm-", std::to_string(n)), rng() % 8 == 0 ? event_action::delete_entity : event_action::update,
                        static_cast<std::int64_t>(rng() % 1'000), cat("{\"k\":", std::to_string(k), "}"));
    if (rng() % 2) e.entity_type = "host";
    auto& m = model[{e.entity_type, e.entity_id}];
    const bool newer = m.payload.empty() || e.sampled.time_since_epoch().count() >= m.us;
    if (newer) m = {e.sampled.time_since_epoch().count(), e.payload, e.action == event_action::delete_entity};
    // A prefetch (of this event, of one of another type, of one never applied) changes nothing.
    s.prefetch(e.entity_type, e.entity_id);
    s.prefetch(k % 2 ? "host" : "instance", cat("vm-", std::to_string(k)));
    ASSERT_EQ(s.apply(e, t0), newer ? apply_result::applied : apply_result::older_ignored) << k;
  }
  ASSERT_EQ(s.size(), model.size());
  std::size_t live = 0;
  for (const auto& [key, m] : model) {
    const auto found = s.find(key.first, key.second);
    ASSERT_TRUE(found) << key.first << " " << key.second;
    EXPECT_EQ(found->payload, m.payload);
    EXPECT_EQ(found->deleted, m.deleted);
    live += !m.deleted;
  }
  EXPECT_EQ(s.live(), live);
  std::size_t visited = 0;
  s.for_each([&](const entity_view& v) { visited += model.contains({std::string(v.entity_type), std::string(v.entity_id)}); });
  EXPECT_EQ(visited, model.size());
  EXPECT_FALSE(s.find("instance", "vm-40000"));
  entity_state copy = s;
  EXPECT_TRUE(copy == s);
  copy.apply(ev("vm-1", event_action::update, 5'000, "{\"changed\":true}"), t0);
  EXPECT_FALSE(copy == s);
  copy = s;
  EXPECT_TRUE(copy == s);
}

// --- the consumer in virtual time -----------------------------------------------------------------

/// A datasource of `n` entities whose sample times and get_changes are scripted by the test.
struct fleet {
  using datasource_concept = datasource_tag;
  std::string name_ = "nova";
  std::shared_ptr<std::atomic<int>> n = std::make_shared<std::atomic<int>>(3);
  std::shared_ptr<std::atomic<std::int64_t>> time = std::make_shared<std::atomic<std::int64_t>>(100);
  [[nodiscard]] std::string name() const { return name_; }
  std::vector<entity_event> get_all(event_action a) {
    std::vector<entity_event> out;
    for (int i = 0; i < n->load(); ++i) out.push_back(ev(cat("vm-", std::to_string(i)), a, *time));
    return out;
  }
  std::vector<entity_event> get_changes() { return {ev("vm-0", event_action::update, *time + 1, "{\"changed\":true}")}; }
};

/// An RPC client straight into a service, which the test can take down.
struct in_process_client {
  using rpc_client_concept = rpc_client_tag;
  basic_datasource_service<inline_executor, memory_index>* service;
  bool down = false;
  std::vector<ondemand_request> calls{};
  ondemand_answer call(const ondemand_request& r) {
    calls.push_back(r);
    if (down) throw error(errc::timed_out, "no collector answered within 60000 ms");
    return service->call(r);
  }
  [[nodiscard]] std::size_t count(ondemand_method m) const {
    std::size_t k = 0;
    for (const auto& c : calls) k += c.method == m;
    return k;
  }
};

struct virtual_world {
  memory_index store;
  basic_event_persistor<memory_index> persistor{store};
  inline_executor exec;
  basic_datasource_service<inline_executor, memory_index> service{exec, persistor};
  fleet nova;
  in_process_client client{&service};
  manual_clock clock;
  basic_timer_service<manual_clock> timers{clock};
  virtual_world() { service.add(any_datasource(nova)); }
};

TEST(OndemandConsumer, RetriesTheInitialGetAllUntilACollectorAnswers) {
  virtual_world w;
  w.client.down = true;  // the consumer starts first
  basic_ondemand_consumer consumer(w.client, w.timers, w.clock, {.retry_base = 1000ms, .retry_cap = 8000ms});
  consumer.start();
  w.timers.run_for(60s);
  const auto early = consumer.stats();
  EXPECT_FALSE(early.initialized);
  EXPECT_GE(early.calls, 8u);  // retried for real: at most 8 s apart, 60 virtual seconds
  EXPECT_EQ(early.calls, early.calls_failed);
  EXPECT_EQ(early.failing_in_a_row, early.calls);  // what a health endpoint reports as down
  EXPECT_EQ(early.retries, early.calls);
  EXPECT_TRUE(contains(early.last_failure, "get_all: no collector answered"));
  for (const auto& c : w.client.calls) {
    EXPECT_EQ(c.action, event_action::init_snapshot);
    EXPECT_TRUE(c.retry_on_fault);
  }
  w.client.down = false;  // the collector comes up
  w.timers.run_for(10s);
  EXPECT_TRUE(consumer.stats().initialized);
  EXPECT_EQ(consumer.stats().failing_in_a_row, 0u);  // an answer clears it
  consumer.process_available();
  EXPECT_EQ(consumer.state().live(), 3u);
  EXPECT_EQ(consumer.state().find("instance", "vm-2")->action, event_action::init_snapshot);
}

TEST(OndemandConsumer, AsksGetAllEverySnapshotIntervalAndGetChangesAtItsOwn) {
  virtual_world w;
  basic_ondemand_consumer consumer(w.client, w.timers, w.clock,
                                   {.snapshot_interval = 600s, .changes_intervals = {{"nova", 60s}}});
  consumer.start();
  w.timers.run_until(w.clock.now() + 1h);
  EXPECT_EQ(w.client.count(ondemand_method::get_all), 1u + 6u);  // the initial one and one per 10 minutes
  EXPECT_EQ(w.client.count(ondemand_method::get_changes), 60u);
  EXPECT_EQ(w.client.calls.back().datasource_names, std::vector<std::string>{"nova"});
  consumer.process_available();
  EXPECT_TRUE(contains(consumer.state().find("instance", "vm-0")->payload, "changed"));
  EXPECT_EQ(consumer.stats().calls_failed, 0u);
  EXPECT_EQ(w.persistor.stats().queued, 3u * 7u + 60u);  // the service persisted every answer
}

TEST(OndemandConsumer, APeriodicCallThatFailsIsRetriedWithBackoff) {
  virtual_world w;
  basic_ondemand_consumer consumer(w.client, w.timers, w.clock,
                                   {.snapshot_interval = 600s, .retry_base = 1000ms, .retry_cap = 2000ms, .max_retries = 3});
  consumer.start();
  w.timers.run_due();
  ASSERT_TRUE(consumer.stats().initialized);
  w.client.down = true;
  w.timers.run_for(600s);  // the tick fails
  EXPECT_EQ(consumer.stats().calls_failed, 1u);
  w.client.down = false;
  w.timers.run_for(5s);  // its retry, within the backoff's cap, answers
  EXPECT_EQ(consumer.stats().get_all_answered, 2u);
  EXPECT_EQ(consumer.stats().retries, 1u);
}

TEST(OndemandConsumer, SweepsEntitiesGoneForTwoSnapshotIntervals) {
  virtual_world w;
  basic_ondemand_consumer consumer(w.client, w.timers, w.clock, {.snapshot_interval = 600s});
  consumer.start();
  w.timers.run_due();
  consumer.process_available();
  EXPECT_EQ(consumer.state().live(), 3u);
  *w.nova.n = 2;  // vm-2 disappears from the datasource
  for (int tick = 1; tick <= 3; ++tick) {
    *w.nova.time += 1000;
    w.timers.run_for(600s);
    consumer.process_available();
  }
  EXPECT_TRUE(consumer.state().find("instance", "vm-2")->deleted);
  EXPECT_EQ(consumer.state().live(), 2u);
  EXPECT_EQ(consumer.stats().swept, 1u);
}

TEST(OndemandConsumer, HighPriorityEventsGoFirstAndBadEventsAreSkipped) {
  virtual_world w;
  basic_ondemand_consumer consumer(w.client, w.timers, w.clock, {});
  consumer.start();
  w.timers.run_due();  // three low-priority events and a marker wait
  consumer.push_high(ev("vm-0", event_action::update, 50, "{\"from\":\"evaluator\"}"));
  consumer.push_high(ev("", event_action::update, 60));  // bad: no entity id
  consumer.process_available();
  // The evaluator's event (sample 50) went first; the snapshot's newer sample (100) replaced it.
  EXPECT_EQ(consumer.state().find("instance", "vm-0")->sampled.time_since_epoch().count(), 100);
  EXPECT_EQ(consumer.stats().bad_events, 1u);
  EXPECT_EQ(consumer.stats().applied, 4u);
  EXPECT_TRUE(contains(consumer.stats().last_failure, "bad event skipped"));
}

TEST(OndemandConsumer, WorksOverJsonRpcOnLoopbackHttp) {
  memory_index store;
  basic_event_persistor<memory_index> persistor(store);
  thread_pool datasource_pool(2, 16), http_pool(2, 16);
  basic_datasource_service<thread_pool, memory_index> service(datasource_pool, persistor);
  service.add(any_datasource(fleet{}));
  basic_http_server http(http_pool, jsonrpc_http_handler(service), {});
  const auto port = http.start();
  static const curl_library curl;
  curl_transport transport(curl, {});
  basic_jsonrpc_http_client client(transport, {.url = cat("http://127.0.0.1:", std::to_string(port), "/rpc")});
  manual_clock clock;
  basic_timer_service timers(clock);
  basic_ondemand_consumer consumer(client, timers, clock, {.changes_intervals = {{"nova", 300s}}});
  consumer.start();
  timers.run_for(600s);
  consumer.process_available();
  const auto s = consumer.stats();
  EXPECT_EQ(s.get_all_answered, 2u);
  EXPECT_EQ(s.get_changes_answered, 2u);
  EXPECT_EQ(consumer.state().live(), 3u);
  EXPECT_EQ(service.stats().calls, 4u);
}

}  // namespace
}  // namespace tributary
