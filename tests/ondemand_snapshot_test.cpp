// Consumer snapshots on memory_index and sqlite_index: the state written to a fresh index and published
// by one alias switch reads back equal; older snapshots are deleted, other indices never; a snapshot
// never published (no alias switch) is never loaded; and a consumer restarted from the snapshot its
// predecessor saved after a get_all holds the same entities; and a consumer restarted from the snapshot
// plus the events persisted after its stamp holds what its predecessor held when it was killed, without
// a get_all from scratch.

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <type_traits>
#include <memory>
#include <string>
#include <vector>

#include <tributary/clock/manual.hpp>
#include <tributary/execution/inline_executor.hpp>
#include <tributary/execution/timers.hpp>
#include <tributary/index/memory.hpp>
#include <tributary/index/sqlite.hpp>
#include <tributary/ondemand/consumer.hpp>
#include <tributary/ondemand/replay.hpp>
#include <tributary/ondemand/service.hpp>
#include <tributary/ondemand/snapshot.hpp>

#include "support/common.hpp"
#include "support/ondemand_backends.hpp"

namespace tributary {
namespace {

using namespace std::chrono_literals;
using tributary::testing::cat;

template <class Backend>
class Snapshots : public tributary::testing::store_test<Backend> {};
TYPED_TEST_SUITE(Snapshots, tributary::testing::every_backend);

entity_event ev(std::string id, event_action a, std::int64_t us) {
  entity_event e;
  e.datasource = "nova";
  e.entity_type = "instance";
  e.entity_id = std::move(id);
  e.action = a;
  e.sampled = sample_time(std::chrono::microseconds(us));
  e.payload = cat("{\"id\":\"", e.entity_id, "\",\"text\":\"tab\\tquote\\\"\"}");
  return e;
}

entity_state sample_state(int n) {
  entity_state s;
  const auto t = std::chrono::system_clock::time_point{} + 1000h;
  for (int i = 0; i < n; ++i) s.apply(ev(cat("vm-", std::to_string(i)), event_action::snapshot, 10 + i), t + std::chrono::seconds(i));
  s.apply(ev("vm-1", event_action::delete_entity, 500), t);
  return s;
}

TYPED_TEST(Snapshots, ASavedStateLoadsBackEqual) {
  auto& store = this->store();
  basic_state_snapshots snapshots(store, {.alias = "ondemand-state", .batch_size = 7});
  EXPECT_FALSE(snapshots.load());
  const entity_state state = sample_state(25);
  const auto taken = std::chrono::system_clock::time_point{} + 2000h;
  const snapshot_info info = snapshots.save(state, taken);
  EXPECT_EQ(info.entities, 25u);
  const auto loaded = snapshots.load();
  ASSERT_TRUE(loaded);
  EXPECT_EQ(loaded->info.index, info.index);
  EXPECT_EQ(loaded->info.taken_at, taken);
  EXPECT_EQ(loaded->state, state);
  EXPECT_TRUE(loaded->state.find("instance", "vm-1")->deleted);
  EXPECT_EQ(loaded->state.live(), 24u);
}

TYPED_TEST(Snapshots, TheAliasMovesToTheNewestAndOlderSnapshotsGo) {
  auto& store = this->store();
  store.create_index("ondemand-state-notours");
  basic_state_snapshots snapshots(store);
  const auto first = snapshots.save(sample_state(3), {});
  const auto second = snapshots.save(sample_state(5), {});
  EXPECT_LT(first.index, second.index);
  EXPECT_EQ(store.alias_targets("ondemand-state"), std::vector<std::string>{second.index});
  EXPECT_FALSE(store.index_exists(first.index));
  EXPECT_TRUE(store.index_exists("ondemand-state-notours"));  // not a name of ours: never deleted
  EXPECT_EQ(snapshots.load()->state.size(), 5u);
}

TYPED_TEST(Snapshots, ASnapshotNeverPublishedIsNeverLoaded) {
  auto& store = this->store();
  basic_state_snapshots snapshots(store);
  const auto published = snapshots.save(sample_state(4), {});
  // A writer that died before its alias switch left a newer, partial index behind.
  store.create_index("ondemand-state-99999999999999999999");
  const stored_document partial[] = {{"e000000000000", "{\"half\":true}"}};
  (void)store.bulk_write("ondemand-state-99999999999999999999", partial);
  const auto loaded = snapshots.load();
  ASSERT_TRUE(loaded);
  EXPECT_EQ(loaded->info.index, published.index);
  EXPECT_EQ(loaded->state.size(), 4u);
}

// --- the consumer saves after each get_all, and restarts from it ----------------------------------

struct fleet {
  using datasource_concept = datasource_tag;
  std::shared_ptr<int> n = std::make_shared<int>(6);
  [[nodiscard]] std::string name() const { return "nova"; }
  std::vector<entity_event> get_all(event_action a) {
    std::vector<entity_event> out;
    for (int i = 0; i < *n; ++i) out.push_back(ev(cat("vm-", std::to_string(i)), a, 100 + i));
    return out;
  }
  std::vector<entity_event> get_changes() { return {ev("vm-0", event_action::update, 1000)}; }
};

template <class Store = memory_index>
struct direct_client {
  using rpc_client_concept = rpc_client_tag;
  basic_datasource_service<inline_executor, Store>* service;
  ondemand_answer call(const ondemand_request& r) { return service->call(r); }
};

TYPED_TEST(Snapshots, ARestartedConsumerHoldsWhatItsPredecessorHeld) {
  auto& store = this->store();
  memory_index events;
  basic_event_persistor<memory_index> persistor(events);
  inline_executor exec;
  basic_datasource_service<inline_executor, memory_index> service(exec, persistor);
  service.add(any_datasource(fleet{}));
  direct_client<> client{&service};
  manual_clock clock;
  basic_timer_service timers(clock);
  basic_state_snapshots snapshots(store);

  entity_state before;
  {
    basic_ondemand_consumer consumer(client, timers, clock, {.snapshot_interval = 600s, .changes_intervals = {{"nova", 60s}}},
                                     snapshots);
    consumer.start();
    timers.run_for(1200s);  // the initial get_all, two periodic ones, and get_changes between
    consumer.process_available();
    EXPECT_EQ(consumer.stats().snapshots, 3u);
    EXPECT_EQ(consumer.stats().snapshot_failures, 0u);
    before = consumer.state();
  }  // the consumer is gone: it cancelled its timers
  EXPECT_EQ(timers.pending(), 0u);

  basic_ondemand_consumer restarted(client, timers, clock, {.snapshot_interval = 600s}, snapshots);
  auto loaded = snapshots.load();
  ASSERT_TRUE(loaded);
  restarted.restore(std::move(loaded->state));
  EXPECT_EQ(restarted.state(), before);
  EXPECT_EQ(restarted.state().live(), 6u);
}

// --- restart from the snapshot plus the events persisted after it ---------------------------------

/// A datasource whose every get_changes tells something new: an update of one entity, a new entity,
/// and at the third call a delete, so that events after a snapshot change the state.
struct changing_fleet {
  using datasource_concept = datasource_tag;
  std::shared_ptr<int> changes = std::make_shared<int>(0);
  std::shared_ptr<int> get_alls = std::make_shared<int>(0);
  [[nodiscard]] std::string name() const { return "nova"; }
  std::vector<entity_event> get_all(event_action a) {
    ++*get_alls;
    std::vector<entity_event> out;
    for (int i = 0; i < 6; ++i) out.push_back(ev(cat("vm-", std::to_string(i)), a, 100 + i));
    return out;
  }
  std::vector<entity_event> get_changes() {
    const int k = ++*changes;
    std::vector<entity_event> out{ev(cat("vm-", std::to_string(k % 6)), event_action::update, 10'000 + k),
                                  ev(cat("new-", std::to_string(k)), event_action::update, 10'000 + k)};
    if (k == 3) out.push_back(ev("vm-5", event_action::delete_entity, 10'000 + k));
    return out;
  }
};

/// What a restart must give back: each entity's newest event and whether it is deleted. (last_seen is
/// the consumer's clock at apply, which no collector persists: replayed entities count as seen at the
/// replay.)
std::map<std::pair<std::string, std::string>, std::pair<entity_event, bool>> held(const entity_state& s) {
  std::map<std::pair<std::string, std::string>, std::pair<entity_event, bool>> out;
  s.for_each([&](const entity_view& e) {
    out.emplace(std::pair(std::string(e.entity_type), std::string(e.entity_id)), std::pair(e.latest(), e.deleted));
  });
  return out;
}

TYPED_TEST(Snapshots, RestartFromSnapshotPlusReplayEqualsTheStateBeforeTheKill) {
  auto& store = this->store();  // the collector's events and the consumer's snapshots, one store
  using store_type = std::remove_reference_t<decltype(store)>;
  basic_event_persistor<store_type> persistor(store, {.instance = "collector_a", .batch_size = 4});
  inline_executor exec;
  basic_datasource_service<inline_executor, store_type> service(exec, persistor);
  changing_fleet source;
  service.add(any_datasource(source));
  direct_client<store_type> client{&service};
  manual_clock clock;
  basic_timer_service timers(clock);
  basic_state_snapshots snapshots(store);
  const consumer_options options{.snapshot_interval = 600s, .changes_intervals = {{"nova", 60s}}};

  entity_state before;
  replay_stamp stamp_before;
  {
    basic_ondemand_consumer consumer(client, timers, clock, options, snapshots);
    consumer.start();
    consumer.process_available();
    for (int step = 0; step < 15; ++step) {  // 900 s: get_alls at 0 and 600, get_changes every minute
      timers.run_for(60s);
      consumer.process_available();
      (void)persistor.write_queued();
    }
    EXPECT_EQ(consumer.stats().snapshots, 2u);
    before = consumer.state();
    stamp_before = consumer.applied_stamp();
  }  // killed at 900 s, three minutes after the snapshot of 600 s
  EXPECT_EQ(*source.get_alls, 2);
  EXPECT_EQ(*source.changes, 15);

  auto loaded = snapshots.load();
  ASSERT_TRUE(loaded);
  ASSERT_EQ(loaded->info.stamp.count("collector_a"), 1u);
  const std::uint64_t loaded_stamp = loaded->info.stamp.at("collector_a");
  EXPECT_LT(loaded_stamp, stamp_before.at("collector_a"));
  EXPECT_NE(held(loaded->state), held(before));  // the snapshot alone is behind: the replay must count

  basic_ondemand_consumer restarted(client, timers, clock, options, snapshots);
  restarted.restore(std::move(*loaded));
  const replay_report report = restarted.replay(store, persistor.index());
  // The get_changes of 600 s came after that get_all's marker (its timer was scheduled later), so six
  // get_changes answers, two events each, are after the snapshot: every persisted event past the stamp.
  EXPECT_EQ(report.replayed, 12u);
  EXPECT_EQ(report.replayed, stamp_before.at("collector_a") - loaded_stamp);
  EXPECT_EQ(report.skipped, 0u);
  EXPECT_EQ(held(restarted.state()), held(before));
  EXPECT_EQ(restarted.applied_stamp(), stamp_before);
  EXPECT_EQ(restarted.stats().replayed, 12u);

  // No get_all from scratch: the next one is due one interval after the snapshot (600 s + 600 s).
  restarted.start();
  timers.run_for(240s);
  restarted.process_available();
  EXPECT_EQ(*source.get_alls, 2);
  EXPECT_EQ(*source.changes, 19);
  EXPECT_TRUE(restarted.stats().initialized);
  timers.run_for(60s);
  restarted.process_available();
  EXPECT_EQ(*source.get_alls, 3);
  EXPECT_EQ(restarted.stats().snapshots, 1u);
}

TYPED_TEST(Snapshots, ReplayJumpsOverStampedEventsAndReadsNewInstancesWhole) {
  auto& store = this->store();
  using store_type = std::remove_reference_t<decltype(store)>;
  // Three collector instances in one events index; "a" is a prefix of "ab", which must not confuse it.
  for (const char* instance : {"a", "ab", "b"}) {
    basic_event_persistor<store_type> p(store, {.instance = instance, .batch_size = 3});
    std::vector<entity_event> events;
    for (int i = 0; i < 10; ++i) events.push_back(ev(cat(instance, "-vm-", std::to_string(i)), event_action::update, i));
    (void)p.enqueue(events);
    (void)p.write_queued();
  }
  const stored_document junk[] = {{"not-an-event", "{}"}, {"b-00000000000000000099", "{\"entity_id\":1}"}};
  (void)store.bulk_write("ondemand-events", junk);

  std::map<std::string, std::vector<std::uint64_t>> seen;
  const replay_report r = replay_persisted_events(store, "ondemand-events", replay_stamp{{"a", 4}, {"b", 9}},
                                                  [&](const std::string& instance, std::uint64_t sequence, const entity_event& e) {
                                                    seen[instance].push_back(sequence);
                                                    EXPECT_EQ(e.entity_id, cat(instance, "-vm-", std::to_string(sequence)));
                                                  },
                                                  /*page_size=*/4);
  EXPECT_EQ(seen["a"], (std::vector<std::uint64_t>{5, 6, 7, 8, 9}));
  EXPECT_EQ(seen["ab"].size(), 10u);  // not in the stamp: read whole
  EXPECT_TRUE(seen["b"].empty());     // stamped at its last event; its bad document after it is skipped
  EXPECT_EQ(r.replayed, 15u);
  EXPECT_EQ(r.skipped, 2u);
  EXPECT_EQ(r.instances, 3u);
  EXPECT_FALSE(r.last_problem.empty());

  // A missing index replays nothing; an empty stamp replays everything.
  EXPECT_EQ(replay_persisted_events(store, "ondemand-none", {}, [](auto&&...) {}).replayed, 0u);
  EXPECT_EQ(replay_persisted_events(store, "ondemand-events", {}, [](auto&&...) {}).replayed, 30u);
}

}  // namespace
}  // namespace tributary
