// Consumer snapshots on memory_index and sqlite_index: the state written to a fresh index and published
// by one alias switch reads back equal; older snapshots are deleted, other indices never; a snapshot
// never published (no alias switch) is never loaded; and a consumer restarted from the snapshot its
// predecessor saved after a get_all holds the same entities.

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <tributary/clock/manual.hpp>
#include <tributary/execution/inline_executor.hpp>
#include <tributary/execution/timers.hpp>
#include <tributary/index/memory.hpp>
#include <tributary/index/sqlite.hpp>
#include <tributary/ondemand/consumer.hpp>
#include <tributary/ondemand/service.hpp>
#include <tributary/ondemand/snapshot.hpp>

#include "support/common.hpp"

namespace tributary {
namespace {

using namespace std::chrono_literals;
using tributary::testing::cat;

struct memory_backend {
  memory_index store;
};
struct sqlite_backend {
  tributary::testing::scratch_database db;
  sqlite_index store{db.path()};
};

template <class Backend>
class Snapshots : public ::testing::Test {
 protected:
  Backend backend;
};
using backends = ::testing::Types<memory_backend, sqlite_backend>;
TYPED_TEST_SUITE(Snapshots, backends);

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
  auto& store = this->backend.store;
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
  EXPECT_EQ(loaded->state.all(), state.all());
  EXPECT_TRUE(loaded->state.find("instance", "vm-1")->deleted);
  EXPECT_EQ(loaded->state.live(), 24u);
}

TYPED_TEST(Snapshots, TheAliasMovesToTheNewestAndOlderSnapshotsGo) {
  auto& store = this->backend.store;
  store.create_index("ondemand-state-notours");
  basic_state_snapshots snapshots(store);
  const auto first = snapshots.save(sample_state(3), {});
  const auto second = snapshots.save(sample_state(5), {});
  EXPECT_LT(first.index, second.index);
  EXPECT_EQ(store.alias_targets("ondemand-state"), std::vector<std::string>{second.index});
  EXPECT_FALSE(store.index_exists(first.index));
  EXPECT_TRUE(store.index_exists("ondemand-state-notours"));  // not a name of ours: never deleted
  EXPECT_EQ(snapshots.load()->state.all().size(), 5u);
}

TYPED_TEST(Snapshots, ASnapshotNeverPublishedIsNeverLoaded) {
  auto& store = this->backend.store;
  basic_state_snapshots snapshots(store);
  const auto published = snapshots.save(sample_state(4), {});
  // A writer that died before its alias switch left a newer, partial index behind.
  store.create_index("ondemand-state-99999999999999999999");
  const stored_document partial[] = {{"e000000000000", "{\"half\":true}"}};
  (void)store.bulk_write("ondemand-state-99999999999999999999", partial);
  const auto loaded = snapshots.load();
  ASSERT_TRUE(loaded);
  EXPECT_EQ(loaded->info.index, published.index);
  EXPECT_EQ(loaded->state.all().size(), 4u);
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

struct direct_client {
  using rpc_client_concept = rpc_client_tag;
  basic_datasource_service<inline_executor, memory_index>* service;
  ondemand_answer call(const ondemand_request& r) { return service->call(r); }
};

TYPED_TEST(Snapshots, ARestartedConsumerHoldsWhatItsPredecessorHeld) {
  auto& store = this->backend.store;
  memory_index events;
  basic_event_persistor<memory_index> persistor(events);
  inline_executor exec;
  basic_datasource_service<inline_executor, memory_index> service(exec, persistor);
  service.add(any_datasource(fleet{}));
  direct_client client{&service};
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
  EXPECT_EQ(restarted.state().all(), before.all());
  EXPECT_EQ(restarted.state().live(), 6u);
}

}  // namespace
}  // namespace tributary
