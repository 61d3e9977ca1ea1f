// run_lease on memory_index and on two connections to one SQLite file: one holder at a time, takeover
// only after ttl of silence, a taken-over holder finds out at its next heartbeat, and of many takers
// racing at once exactly one wins.

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <type_traits>
#include <optional>
#include <vector>

#include <tributary/collector/lease.hpp>
#include <tributary/index/memory.hpp>
#include <tributary/index/postgres.hpp>
#include <tributary/index/sqlite.hpp>

#include "support/common.hpp"
#include "support/postgres.hpp"

namespace tributary {
namespace {

using namespace std::chrono_literals;
using time_point = std::chrono::system_clock::time_point;

const time_point t0 = time_point(std::chrono::milliseconds(1'700'000'000'000));

struct memory_stores {
  std::shared_ptr<memory_index> shared = std::make_shared<memory_index>();
  std::shared_ptr<memory_index> open() { return shared; }
};
struct sqlite_stores {
  testing::scratch_database db;
  std::shared_ptr<sqlite_index> open() { return std::make_shared<sqlite_index>(db.path()); }  // a connection each
};

struct postgres_stores {
  std::optional<testing::scratch_schema> schema = testing::postgres_url()
                                                      ? std::optional<testing::scratch_schema>(std::in_place, *testing::postgres_url())
                                                      : std::nullopt;
  std::shared_ptr<postgres_index> open() { return std::make_shared<postgres_index>(schema->url(), schema->options()); }
};

template <class Stores>
class RunLease : public ::testing::Test {
 protected:
  void SetUp() override {
    if constexpr (std::is_same_v<Stores, postgres_stores>)
      if (!stores.schema) testing::skip_without_server();
  }
  Stores stores;
  lease_options options{"tributary-leases", 2min};
};
using store_kinds = ::testing::Types<memory_stores, sqlite_stores, postgres_stores>;
TYPED_TEST_SUITE(RunLease, store_kinds);

TYPED_TEST(RunLease, ASecondRunFindsTheLeaseHeldAndSaysByWhom) {
  auto a_store = this->stores.open(), b_store = this->stores.open();
  run_lease a(*a_store, "dev", "host-a:100", this->options);
  run_lease b(*b_store, "dev", "host-b:200", this->options);
  EXPECT_EQ(a.acquire(t0).status, lease_status::acquired);
  const auto second = b.acquire(t0 + 1min);
  EXPECT_EQ(second.status, lease_status::held);
  EXPECT_EQ(second.holder.owner, "host-a:100");
  EXPECT_EQ(second.holder.since, t0);
  EXPECT_FALSE(b.held());
  run_lease other_env(*b_store, "prod", "host-b:200", this->options);
  EXPECT_EQ(other_env.acquire(t0).status, lease_status::acquired) << "each environment has its own lease";
}

TYPED_TEST(RunLease, HeartbeatsKeepItAndReleaseHandsItOnAtOnce) {
  auto a_store = this->stores.open(), b_store = this->stores.open();
  run_lease a(*a_store, "dev", "a", this->options);
  run_lease b(*b_store, "dev", "b", this->options);
  ASSERT_TRUE(a.acquire(t0).ok());
  for (int minute = 1; minute <= 10; ++minute) {
    ASSERT_TRUE(a.heartbeat(t0 + minute * 1min));
    EXPECT_EQ(b.acquire(t0 + minute * 1min + 30s).status, lease_status::held) << "minute " << minute;
  }
  a.release(t0 + 11min);
  EXPECT_FALSE(a.held());
  EXPECT_EQ(b.acquire(t0 + 11min).status, lease_status::acquired) << "released: no wait for ttl";
}

TYPED_TEST(RunLease, ASilentHolderIsTakenOverAfterTtlAndLearnsItAtItsNextHeartbeat) {
  auto a_store = this->stores.open(), b_store = this->stores.open();
  run_lease a(*a_store, "dev", "a", this->options);
  run_lease b(*b_store, "dev", "b", this->options);
  ASSERT_TRUE(a.acquire(t0).ok());
  EXPECT_EQ(b.acquire(t0 + 2min - 1ms).status, lease_status::held) << "within ttl of the last heartbeat";
  const auto taken = b.acquire(t0 + 2min);
  EXPECT_EQ(taken.status, lease_status::took_over);
  EXPECT_EQ(taken.holder.owner, "a");
  EXPECT_FALSE(a.heartbeat(t0 + 3min)) << "the silent holder has lost it";
  EXPECT_FALSE(a.held());
  EXPECT_TRUE(b.heartbeat(t0 + 3min));
  a.release(t0 + 3min);  // releasing a lost lease must not release the new holder's
  run_lease c(*a_store, "dev", "c", this->options);
  EXPECT_EQ(c.acquire(t0 + 3min + 1s).status, lease_status::held);
  EXPECT_EQ(c.acquire(t0 + 3min + 1s).holder.owner, "b");
}

TYPED_TEST(RunLease, OfManyTakersAtOnceExactlyOneWins) {
  constexpr int takers = 8;
  std::vector<std::shared_ptr<typename decltype(this->stores.open())::element_type>> stores;
  for (int i = 0; i < takers; ++i) stores.push_back(this->stores.open());
  std::atomic<int> won{0}, held{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int i = 0; i < takers; ++i)
    threads.emplace_back([&, i] {
      run_lease lease(*stores[static_cast<std::size_t>(i)], "dev", "taker-" + std::to_string(i), this->options);
      while (!go.load()) std::this_thread::yield();
      const auto r = lease.acquire(t0);
      (r.ok() ? won : held).fetch_add(1);
    });
  go = true;
  for (auto& t : threads) t.join();
  EXPECT_EQ(won.load(), 1);
  EXPECT_EQ(held.load(), takers - 1);
}

TEST(RunLeaseOptions, BadSettingsAreRefusedNamingThem) {
  memory_index store;
  EXPECT_THROW(run_lease(store, "", "a"), error);
  EXPECT_THROW(run_lease(store, "dev/x", "a"), error);
  EXPECT_THROW(run_lease(store, "dev", ""), error);
  EXPECT_THROW(run_lease(store, "dev", "a", lease_options{"tributary-leases", 0ms}), error);
}

}  // namespace
}  // namespace tributary
