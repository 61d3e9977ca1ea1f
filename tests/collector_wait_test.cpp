// Step 5 of the collection protocol (wait for peers) with each shipped wait strategy, on memory_index
// in virtual time. A peer is "running" while its working alias sits on a fresh worker; the tests set
// that up by hand and make the peer finish from a clock event or from inside the source.

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <tributary/all.hpp>

#include "support/catalogue.hpp"

namespace tributary {
namespace {

using namespace std::chrono_literals;
using time_point = std::chrono::system_clock::time_point;

/// manual_clock plus events that fire when virtual time reaches them: a peer finishing "while we
/// sleep" without any real thread.
class event_clock {
 public:
  using clock_concept = clock_tag;
  [[nodiscard]] time_point now() const { return inner_.now(); }
  void sleep_until(time_point t) {
    inner_.sleep_until(t);
    while (!events_.empty() && events_.begin()->first <= inner_.now()) {
      auto f = std::move(events_.begin()->second);
      events_.erase(events_.begin());
      f();
    }
  }
  void advance(std::chrono::system_clock::duration d) { inner_.advance(d); }
  void at(time_point t, std::function<void()> f) { events_.emplace(t, std::move(f)); }
  [[nodiscard]] std::vector<time_point> sleeps() const { return inner_.sleeps(); }

 private:
  manual_clock inner_;
  std::multimap<time_point, std::function<void()>> events_;
};
static_assert(clock<event_clock>);

const std::string read_alias = "apicatalogue";

/// A peer environment in the shared store: a published index behind `A-r` and, when running, a
/// worker carrying `A-rCollectorWorking` whose documents differ (version v3), so a test can tell
/// which of the two was copied.
struct peer {
  std::string environment;
  std::string published;  // behind A-r
  std::string worker;     // carries the working alias while running

  protocol_names names() const { return {read_alias, environment}; }

  /// Step 4 of the peer's own run: A-r moves to its worker, the working alias leaves.
  void finish(memory_index& store) const {
    store.update_aliases(std::vector{alias_action::remove(published, names().environment_alias(), true),
                                     alias_action::add(worker, names().environment_alias()),
                                     alias_action::remove(worker, names().working_alias(), true)});
  }
};

std::vector<service> peer_services(const std::string& env, const std::string& version) {
  std::vector<service> out = {testing::make_service(env, "70000", "sub0-public", "svc0", {version}),
                              testing::make_service(env, "70000", "sub0-public", env + "only1", {version})};
  for (auto& s : out) normalize(s, environment_order{});
  return out;
}

void write(memory_index& store, const std::string& index, const std::vector<service>& services) {
  std::vector<stored_document> docs;
  for (const auto& s : services) docs.push_back({s.id, to_json(s)});
  ASSERT_TRUE(store.bulk_write(index, docs).ok());
}

/// Publishes peer `env` and, if `working_age` is given, starts a run of it whose worker is that old.
peer make_peer(memory_index& store, time_point now, const std::string& env,
               std::optional<std::chrono::milliseconds> working_age) {
  peer p{env, {}, {}};
  const auto names = p.names();
  p.published = names.worker_name(now - 2h);
  store.create_index(p.published);
  write(store, p.published, peer_services(env, "v1"));
  store.update_aliases(std::vector{alias_action::add(p.published, names.environment_alias())});
  if (working_age) {
    p.worker = names.worker_name(now - *working_age);
    store.create_index(p.worker);
    write(store, p.worker, peer_services(env, "v3"));
    store.update_aliases(std::vector{alias_action::add(p.worker, names.working_alias())});
  }
  return p;
}

collector_config dev_config(std::vector<std::string> peers, at_peer_deadline at_deadline = at_peer_deadline::copy_last_published) {
  collector_config c;
  c.environment = "dev";
  for (auto& p : peers) c.peers.push_back({std::move(p), ""});
  c.at_deadline = at_deadline;
  return c;
}

/// The documents behind the read alias, by id.
std::map<std::string, service> catalogue(const memory_index& store) {
  std::map<std::string, service> out;
  const auto targets = store.alias_targets(read_alias);
  if (targets.size() != 1) return out;
  document_parser parser;
  std::string after;
  while (true) {
    const auto page = store.scan(targets.front(), after, 7);
    for (const auto& d : page.documents) out.emplace(d.id, parser.parse(d.json));
    if (page.done) break;
    after = page.next_after;
  }
  return out;
}

const std::string shared_id = "GOV/70000/sub0-public/svc0";
std::string only_id(const std::string& env) { return "GOV/70000/sub0-public/" + env + "only1"; }

template <class Wait>
run_report run_dev(memory_index& store, event_clock& clock, const collector_config& config, Wait wait,
                   in_process_source* source_override = nullptr) {
  loopback_transport transport;
  auto source = testing::make_source("dev", 1, 2);  // svc0 (shared with the peers) and devonly1
  basic_collector<loopback_transport, memory_index, environment_union, Wait> collector(config, transport, store, {},
                                                                                       wait);
  return collector.run(source_override ? *source_override : source, clock);
}

/// The looks a wait strategy asks for when nothing changes: replayed from the strategy itself.
template <class Wait>
std::vector<time_point> expected_looks(const Wait& wait, time_point began, time_point until) {
  std::vector<time_point> out;
  auto schedule = wait.start(began);
  auto now = began;
  while (auto next = schedule.next(now)) {
    out.push_back(*next);
    now = *next;
    if (now >= until) break;
  }
  return out;
}

std::vector<std::string> versions_of(const environment_entry& e) {
  std::vector<std::string> out;
  for (const auto& d : e.details) out.push_back(d.version);
  return out;
}

// ---- typed: every strategy --------------------------------------------------------------------------

template <class Wait>
class CollectorWait : public ::testing::Test {
 protected:
  memory_index store;
  event_clock clock;
  time_point t0 = clock.now();
};
using waits = ::testing::Types<fixed_interval, exponential_backoff, no_wait, per_peer_deadline>;
TYPED_TEST_SUITE(CollectorWait, waits);

/// The deadline the strategy gives up at (no_wait: at once).
template <class Wait>
std::chrono::milliseconds deadline_of(const Wait& w) {
  if constexpr (bounded_wait_strategy<Wait>) return w.max_wait();
  else return std::chrono::milliseconds::zero();
}

TYPED_TEST(CollectorWait, GivesUpAtTheSharedDeadlineAndCopiesLastPublishedDataMarkedStale) {
  const TypeParam wait{};
  const auto staging = make_peer(this->store, this->t0, "staging", 0ms);
  const auto prod = make_peer(this->store, this->t0, "prod", 10s);
  const auto report = run_dev(this->store, this->clock, dev_config({"staging", "prod"}), wait);
  ASSERT_TRUE(report.ok) << report.summary();
  const auto deadline = deadline_of(wait);
  // One deadline for both peers: the looks stop there, not at twice the deadline.
  EXPECT_EQ(this->clock.sleeps(), expected_looks(wait, this->t0, this->t0 + deadline));
  if (deadline > 0ms) {
    ASSERT_FALSE(this->clock.sleeps().empty());
    EXPECT_EQ(this->clock.sleeps().back(), this->t0 + deadline);
  }
  EXPECT_EQ(report.waited, deadline);
  ASSERT_EQ(report.peers.size(), 2u);
  for (const auto& pr : report.peers) {
    EXPECT_EQ(pr.outcome, peer_outcome::copied_stale) << pr.environment;
    EXPECT_EQ(pr.waited, deadline);
    EXPECT_EQ(pr.source_index, pr.environment == "staging" ? staging.published : prod.published);
    EXPECT_EQ(pr.added, 1u);
    EXPECT_EQ(pr.merged, 1u);
  }
  const auto docs = catalogue(this->store);
  ASSERT_EQ(docs.size(), 4u);  // svc0, devonly1, stagingonly1, prodonly1
  const auto& shared = docs.at(shared_id);
  ASSERT_EQ(shared.environments.size(), 3u);
  EXPECT_FALSE(shared.entry("dev")->stale);
  for (const std::string env : {"staging", "prod"}) {
    ASSERT_NE(shared.entry(env), nullptr) << env;
    EXPECT_TRUE(shared.entry(env)->stale) << env;
    EXPECT_EQ(versions_of(*shared.entry(env)), std::vector<std::string>{"v1"}) << "the published data, not the worker's";
    ASSERT_EQ(docs.at(only_id(env)).environments.size(), 1u);
    EXPECT_TRUE(docs.at(only_id(env)).environments[0].stale) << env;
  }
  EXPECT_FALSE(docs.at(only_id("dev")).environments[0].stale);
}

TYPED_TEST(CollectorWait, SkipsPeersStillRunningAtTheDeadlineWhenToldTo) {
  const TypeParam wait{};
  make_peer(this->store, this->t0, "staging", 0ms);
  const auto report = run_dev(this->store, this->clock, dev_config({"staging"}, at_peer_deadline::skip), wait);
  ASSERT_TRUE(report.ok) << report.summary();
  EXPECT_EQ(this->clock.sleeps(), expected_looks(wait, this->t0, this->t0 + deadline_of(wait)));
  ASSERT_EQ(report.peers.size(), 1u);
  EXPECT_EQ(report.peers[0].outcome, peer_outcome::timed_out);
  EXPECT_EQ(report.peers[0].waited, deadline_of(wait));
  EXPECT_EQ(report.peers[0].read, 0u);
  const auto docs = catalogue(this->store);
  ASSERT_EQ(docs.size(), 2u);  // only dev's own
  EXPECT_EQ(docs.at(shared_id).environments.size(), 1u);
  EXPECT_EQ(docs.count(only_id("staging")), 0u);
}

TYPED_TEST(CollectorWait, AWorkingAliasOlderThanStaleAfterDoesNotMakeItWait) {
  const TypeParam wait{};
  auto config = dev_config({"staging"});
  config.stale_after = 10min;
  const auto staging = make_peer(this->store, this->t0, "staging", 10min + 1ms);  // a crashed run's worker
  const auto report = run_dev(this->store, this->clock, config, wait);
  ASSERT_TRUE(report.ok) << report.summary();
  EXPECT_TRUE(this->clock.sleeps().empty());
  ASSERT_EQ(report.peers.size(), 1u);
  EXPECT_EQ(report.peers[0].outcome, peer_outcome::copied);
  EXPECT_EQ(report.peers[0].source_index, staging.published);
  EXPECT_EQ(report.waited, 0ms);
  EXPECT_TRUE(std::any_of(report.notes.begin(), report.notes.end(),
                          [](const std::string& n) { return n.find("stale") != std::string::npos; }));
  const auto docs = catalogue(this->store);
  EXPECT_FALSE(docs.at(shared_id).entry("staging")->stale);
  EXPECT_FALSE(docs.at(only_id("staging")).environments[0].stale);
}

TYPED_TEST(CollectorWait, AWorkingAliasJustYoungerThanStaleAfterIsWaitedFor) {
  const TypeParam wait{};
  auto config = dev_config({"staging"});
  config.stale_after = 10min;
  // Young enough at the start of waiting; by the deadline it is older than stale_after, and from then on
  // the peer counts as dead: a stale working alias never holds anyone beyond stale_after.
  make_peer(this->store, this->t0, "staging", 9min);
  const auto report = run_dev(this->store, this->clock, config, wait);
  ASSERT_TRUE(report.ok) << report.summary();
  ASSERT_EQ(report.peers.size(), 1u);
  if (deadline_of(wait) == 0ms) {
    EXPECT_EQ(report.peers[0].outcome, peer_outcome::copied_stale);
    EXPECT_TRUE(this->clock.sleeps().empty());
  } else {
    // The alias turns stale at t0 + 1 min: the first look at or after that copies the peer, not stale.
    const auto& sleeps = this->clock.sleeps();
    ASSERT_FALSE(sleeps.empty());
    EXPECT_GE(sleeps.back(), this->t0 + 1min);
    EXPECT_LT(sleeps.back(), this->t0 + deadline_of(wait));
    EXPECT_EQ(sleeps, expected_looks(wait, this->t0, this->t0 + 1min));
    EXPECT_EQ(report.peers[0].outcome, peer_outcome::copied);
  }
}

TYPED_TEST(CollectorWait, APeerThatFinishesDuringCollectionIsCopiedAtTheFirstLook) {
  const TypeParam wait{};
  const auto staging = make_peer(this->store, this->t0, "staging", 0ms);
  auto source = testing::make_source("dev", 2, 2);
  bool finished = false;
  source.before_each([&](const provider&) {
    this->clock.advance(3s);  // collecting takes time...
    if (!finished) staging.finish(this->store), finished = true;  // ...and meanwhile the peer publishes
  });
  const auto report = run_dev(this->store, this->clock, dev_config({"staging"}), wait, &source);
  ASSERT_TRUE(report.ok) << report.summary();
  EXPECT_TRUE(this->clock.sleeps().empty());
  ASSERT_EQ(report.peers.size(), 1u);
  EXPECT_EQ(report.peers[0].outcome, peer_outcome::copied);
  EXPECT_EQ(report.peers[0].source_index, staging.worker);
  EXPECT_EQ(report.peers[0].waited, 0ms);
  const auto docs = catalogue(this->store);
  EXPECT_EQ(versions_of(*docs.at(shared_id).entry("staging")), std::vector<std::string>{"v3"});
  EXPECT_FALSE(docs.at(shared_id).entry("staging")->stale);
}

// ---- per strategy: cadence and finishing while we wait ----------------------------------------------

TEST(CollectorWaitFixedInterval, LooksEveryFiveSecondsForThreeMinutes) {
  memory_index store;
  event_clock clock;
  const auto t0 = clock.now();
  make_peer(store, t0, "staging", 0ms);
  const auto report = run_dev(store, clock, dev_config({"staging"}), fixed_interval{});
  ASSERT_TRUE(report.ok) << report.summary();
  const auto sleeps = clock.sleeps();
  ASSERT_EQ(sleeps.size(), 36u);
  for (std::size_t i = 0; i < sleeps.size(); ++i) EXPECT_EQ(sleeps[i], t0 + 5s * static_cast<int>(i + 1)) << i;
  EXPECT_EQ(report.peers.at(0).outcome, peer_outcome::copied_stale);
  EXPECT_EQ(report.peers.at(0).waited, 3min);
}

TEST(CollectorWaitFixedInterval, APeerThatFinishesWhileWeWaitIsCopiedAtTheNextLook) {
  memory_index store;
  event_clock clock;
  const auto t0 = clock.now();
  const auto staging = make_peer(store, t0, "staging", 0ms);
  clock.at(t0 + 12s, [&] { staging.finish(store); });
  const auto report = run_dev(store, clock, dev_config({"staging"}), fixed_interval{});
  ASSERT_TRUE(report.ok) << report.summary();
  EXPECT_EQ(clock.sleeps(), (std::vector<time_point>{t0 + 5s, t0 + 10s, t0 + 15s}));
  ASSERT_EQ(report.peers.size(), 1u);
  EXPECT_EQ(report.peers[0].outcome, peer_outcome::copied);
  EXPECT_EQ(report.peers[0].waited, 15s);
  EXPECT_EQ(report.peers[0].source_index, staging.worker);  // its new data, not the last published
  const auto docs = catalogue(store);
  EXPECT_EQ(versions_of(*docs.at(shared_id).entry("staging")), std::vector<std::string>{"v3"});
  EXPECT_FALSE(docs.at(shared_id).entry("staging")->stale);
}

TEST(CollectorWaitFixedInterval, PeersFinishingAtDifferentTimesShareOneDeadline) {
  memory_index store;
  event_clock clock;
  const auto t0 = clock.now();
  make_peer(store, t0, "staging", 0ms);  // never finishes
  const auto prod = make_peer(store, t0, "prod", 0ms);
  clock.at(t0 + 50s, [&] { prod.finish(store); });
  const auto report = run_dev(store, clock, dev_config({"staging", "prod"}), fixed_interval{});
  ASSERT_TRUE(report.ok) << report.summary();
  ASSERT_EQ(clock.sleeps().size(), 36u);  // ASSERT: .back() below needs it
  EXPECT_EQ(clock.sleeps().back(), t0 + 3min);
  ASSERT_EQ(report.peers.size(), 2u);
  EXPECT_EQ(report.peers[0].environment, "prod");  // handled first, when it finished
  EXPECT_EQ(report.peers[0].outcome, peer_outcome::copied);
  EXPECT_EQ(report.peers[0].waited, 50s);
  EXPECT_EQ(report.peers[1].environment, "staging");
  EXPECT_EQ(report.peers[1].outcome, peer_outcome::copied_stale);
  EXPECT_EQ(report.peers[1].waited, 3min);
  const auto docs = catalogue(store);
  EXPECT_FALSE(docs.at(shared_id).entry("prod")->stale);
  EXPECT_TRUE(docs.at(shared_id).entry("staging")->stale);
}

TEST(CollectorWaitPerPeerDeadline, EachPeerIsGivenUpAtItsOwnDeadlineWhileTheOthersAreWaitedFor) {
  memory_index store;
  event_clock clock;
  const auto t0 = clock.now();
  make_peer(store, t0, "test", 0ms);  // never finishes: given up at its own 200 ms
  const auto staging = make_peer(store, t0, "staging", 0ms);
  clock.at(t0 + 1s, [&] { staging.finish(store); });  // within its 2 s
  const per_peer_deadline wait{100ms, 2s, {{"test", 200ms}}};
  const auto report = run_dev(store, clock, dev_config({"staging", "test"}), wait);
  ASSERT_TRUE(report.ok) << report.summary();
  ASSERT_EQ(report.peers.size(), 2u);
  EXPECT_EQ(report.peers[0].environment, "test");
  EXPECT_EQ(report.peers[0].outcome, peer_outcome::copied_stale);
  EXPECT_EQ(report.peers[0].waited, 200ms) << "not the longest deadline, and not staging's";
  EXPECT_EQ(report.peers[1].environment, "staging");
  EXPECT_EQ(report.peers[1].outcome, peer_outcome::copied) << "still waited for after test was given up";
  EXPECT_EQ(report.peers[1].waited, 1s);
  EXPECT_EQ(report.waited, 1s);
  const auto docs = catalogue(store);
  EXPECT_TRUE(docs.at(shared_id).entry("test")->stale);
  EXPECT_FALSE(docs.at(shared_id).entry("staging")->stale);
  EXPECT_EQ(versions_of(*docs.at(shared_id).entry("staging")), std::vector<std::string>{"v3"});
}

TEST(CollectorWaitPerPeerDeadline, TheScheduleIsToldWhoIsStillRunning) {
  const auto t0 = std::chrono::system_clock::time_point{} + 1000h;
  const per_peer_deadline wait{100ms, 2s, {{"test", 200ms}}};
  const auto schedule = wait.start(t0);
  const std::vector<std::string> both{"staging", "test"}, staging{"staging"};
  auto w = schedule.next(t0 + 150ms, both);
  EXPECT_TRUE(w.give_up.empty());
  EXPECT_EQ(w.next_look, t0 + 200ms) << "test's deadline comes before the next interval";
  w = schedule.next(t0 + 200ms, both);
  EXPECT_EQ(w.give_up, std::vector<std::string>{"test"});
  EXPECT_EQ(w.next_look, t0 + 300ms);
  w = schedule.next(t0 + 1950ms, staging);
  EXPECT_EQ(w.next_look, t0 + 2s);
  w = schedule.next(t0 + 2s, staging);
  EXPECT_EQ(w.give_up, staging);
  EXPECT_FALSE(w.next_look);
  EXPECT_EQ(wait.max_wait(), 2s);
  EXPECT_EQ((per_peer_deadline{1s, 1s, {{"prod", 5min}}}.max_wait()), 5min) << "the longest deadline bounds the wait";
}

TEST(CollectorWaitPerPeerDeadline, ALongPeerDeadlineIsCheckedAgainstStaleAfterAtConstruction) {
  memory_index store;
  loopback_transport transport;
  auto config = dev_config({"staging"});
  config.stale_after = 10min;
  using host = basic_collector<loopback_transport, memory_index, environment_union, per_peer_deadline>;
  EXPECT_THROW(host(config, transport, store, {}, per_peer_deadline{1s, 1min, {{"staging", 10min}}}), error);
  EXPECT_NO_THROW(host(config, transport, store, {}, per_peer_deadline{1s, 1min, {{"staging", 9min}}}));
}

TEST(CollectorWaitExponentialBackoff, LooksAtTheStrategysCadence) {
  memory_index store;
  event_clock clock;
  const auto t0 = clock.now();
  make_peer(store, t0, "staging", 0ms);
  const exponential_backoff wait{500ms, 8s, 1min, 2024};
  const auto report = run_dev(store, clock, dev_config({"staging"}), wait);
  ASSERT_TRUE(report.ok) << report.summary();
  const auto sleeps = clock.sleeps();
  EXPECT_EQ(sleeps, expected_looks(wait, t0, t0 + 1min));
  ASSERT_GE(sleeps.size(), 8u);  // 1 min at a ceiling of at most 8 s
  auto previous = t0;
  for (std::size_t i = 0; i < sleeps.size(); ++i) {
    const auto ceiling = std::min<std::chrono::milliseconds>(8s, 500ms * (1 << std::min<std::size_t>(i, 10)));
    EXPECT_GT(sleeps[i], previous) << i;
    EXPECT_LE(sleeps[i] - previous, ceiling) << i;
    previous = sleeps[i];
  }
  EXPECT_EQ(sleeps.back(), t0 + 1min);
  EXPECT_EQ(report.peers.at(0).outcome, peer_outcome::copied_stale);
  // Another seed looks at other times.
  memory_index store2;
  event_clock clock2;
  make_peer(store2, clock2.now(), "staging", 0ms);
  ASSERT_TRUE(run_dev(store2, clock2, dev_config({"staging"}), exponential_backoff{500ms, 8s, 1min, 2025}).ok);
  EXPECT_NE(clock2.sleeps(), sleeps);
}

TEST(CollectorWaitExponentialBackoff, APeerThatFinishesWhileWeWaitIsCopiedAtTheNextLook) {
  memory_index store;
  event_clock clock;
  const auto t0 = clock.now();
  const auto staging = make_peer(store, t0, "staging", 0ms);
  clock.at(t0 + 12s, [&] { staging.finish(store); });
  const exponential_backoff wait{};
  const auto report = run_dev(store, clock, dev_config({"staging"}), wait);
  ASSERT_TRUE(report.ok) << report.summary();
  const auto expected = expected_looks(wait, t0, t0 + 12s);  // up to the first look at or after 12 s
  EXPECT_EQ(clock.sleeps(), expected);
  ASSERT_EQ(report.peers.size(), 1u);
  EXPECT_EQ(report.peers[0].outcome, peer_outcome::copied);
  EXPECT_EQ(report.peers[0].waited, std::chrono::duration_cast<std::chrono::milliseconds>(expected.back() - t0));
  EXPECT_EQ(report.peers[0].source_index, staging.worker);
}

TEST(CollectorWaitNoWait, NeverSleeps) {
  memory_index store;
  event_clock clock;
  const auto staging = make_peer(store, clock.now(), "staging", 0ms);
  const auto report = run_dev(store, clock, dev_config({"staging"}), no_wait{});
  ASSERT_TRUE(report.ok) << report.summary();
  EXPECT_TRUE(clock.sleeps().empty());
  EXPECT_EQ(report.peers.at(0).outcome, peer_outcome::copied_stale);
  EXPECT_EQ(report.peers.at(0).source_index, staging.published);
}

// ---- configuration ----------------------------------------------------------------------------------

template <class Wait>
std::optional<errc> construction_error(std::chrono::milliseconds stale_after, Wait wait) {
  memory_index store;
  loopback_transport transport;
  auto config = dev_config({"staging"});
  config.stale_after = stale_after;
  try {
    basic_collector<loopback_transport, memory_index, environment_union, Wait> collector(config, transport, store, {},
                                                                                         wait);
  } catch (const error& e) {
    return e.code();
  }
  return std::nullopt;
}

TEST(CollectorWaitConfig, AWaitDeadlineNotShorterThanStaleAfterIsRejected) {
  EXPECT_EQ(construction_error(3min, fixed_interval{}), errc::invalid_config);   // equal
  EXPECT_EQ(construction_error(2min, fixed_interval{}), errc::invalid_config);   // longer
  EXPECT_EQ(construction_error(3min + 1ms, fixed_interval{}), std::nullopt);     // shorter: fine
  EXPECT_EQ(construction_error(1h, fixed_interval{5s, 1h}), errc::invalid_config);
  EXPECT_EQ(construction_error(3min, exponential_backoff{}), errc::invalid_config);
  EXPECT_EQ(construction_error(10min, exponential_backoff{1s, 30s, 11min, 1}), errc::invalid_config);
  EXPECT_EQ(construction_error(10min, exponential_backoff{1s, 30s, 9min, 1}), std::nullopt);
  EXPECT_EQ(construction_error(1ms, no_wait{}), std::nullopt);  // nothing to wait: no bound to break
}

/// A user's strategy that claims bounded_wait is held to the same bound as the shipped ones.
struct users_bounded_wait : fixed_interval {
  using bounded_wait_concept = bounded_wait_tag;
};
/// One with a member named `deadline` that does not claim it is not second-guessed by the member's name.
struct users_unclaimed_deadline {
  using wait_strategy_concept = wait_strategy_tag;
  std::chrono::milliseconds deadline = std::chrono::hours(1);
  [[nodiscard]] std::chrono::milliseconds max_wait() const { return deadline; }
  [[nodiscard]] fixed_interval::schedule start(std::chrono::system_clock::time_point now) const {
    return fixed_interval{}.start(now);
  }
};

TEST(CollectorWaitConfig, OnlyAStrategyThatClaimsBoundedWaitHasItsDeadlineCheckedAtConstruction) {
  EXPECT_EQ(construction_error(1min, users_bounded_wait{}), errc::invalid_config);
  EXPECT_EQ(construction_error(1min, users_unclaimed_deadline{}), std::nullopt);
}

}  // namespace
}  // namespace tributary
