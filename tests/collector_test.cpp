// The collection protocol end to end on memory_index, one process, virtual time.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <functional>
#include <map>
#include <optional>

#include <tributary/all.hpp>

#include "support/catalogue.hpp"
#include "support/common.hpp"

namespace tributary {
namespace {

using namespace std::chrono_literals;

collector_config config_for(const std::string& env) {
  collector_config c;
  c.environment = env;
  for (const std::string peer : {"dev", "staging", "prod"})
    if (peer != env) c.peers.push_back({peer, ""});
  return c;
}

std::vector<service> catalogue_behind(const memory_index& store, const std::string& alias) {
  std::vector<service> out;
  const auto targets = store.alias_targets(alias);
  if (targets.size() != 1) return out;
  document_parser parser;
  std::string after;
  while (true) {
    auto page = store.scan(targets.front(), after, 100);
    for (auto& d : page.documents) out.push_back(parser.parse(d.json));
    if (page.done) break;
    after = page.next_after;
  }
  return out;
}

TEST(Collector, ThreeEnvironmentsSequentiallyConverge) {
  memory_index store;
  loopback_transport transport;
  manual_clock clock;
  for (const std::string env : {"dev", "staging", "prod"}) {
    auto source = testing::make_source(env, 3, 4);
    in_process_collector collector(config_for(env), transport, store);
    auto report = collector.run(source, clock);
    ASSERT_TRUE(report.ok) << report.summary();
    EXPECT_EQ(report.records, 12u);
    clock.advance(1s);
  }
  // prod ran last and saw both peers published: 3 providers x (2 shared + 2 own) per env.
  const auto catalogue = catalogue_behind(store, "apicatalogue");
  EXPECT_EQ(catalogue.size(), 3u * 2 + 3u * 2 * 3);
  for (const auto& s : catalogue) {
    const bool shared = s.id.find("only") == std::string::npos;
    EXPECT_EQ(s.environments.size(), shared ? 3u : 1u) << s.id;
  }
}

TEST(Collector, RefusesWhenReadAliasIsAConcreteIndex) {
  memory_index store;
  store.create_index("apicatalogue");
  loopback_transport transport;
  manual_clock clock;
  auto source = testing::make_source("dev", 1, 1);
  in_process_collector collector(config_for("dev"), transport, store);
  auto report = collector.run(source, clock);
  EXPECT_FALSE(report.ok);
  EXPECT_NE(report.failure.find("concrete index"), std::string::npos) << report.failure;
  EXPECT_EQ(store.list_indices("").size(), 1u);
}

TEST(Collector, ListingFailureTouchesNothing) {
  memory_index store;
  loopback_transport transport;
  manual_clock clock;
  auto source = testing::make_source("dev", 1, 1);
  source.fail_listing("security server answered 500");
  in_process_collector collector(config_for("dev"), transport, store);
  auto report = collector.run(source, clock);
  EXPECT_FALSE(report.ok);
  EXPECT_NE(report.failure.find("fetch providers"), std::string::npos) << report.failure;
  EXPECT_TRUE(store.list_indices("").empty());
  EXPECT_TRUE(store.aliases().empty());
}


/// memory_index whose bulk writes fail some items: retryably (as an Elasticsearch 429) the first
/// `retryable_rounds` times an id is seen, or for good when the id contains `poison`.
class flaky_index : public memory_index {
 public:
  using index_backend_concept = index_backend_tag;
  int retryable_rounds = 0;
  std::string poison;
  std::map<std::string, int> seen;

  bulk_result bulk_write(std::string_view index, std::span<const stored_document> docs) {
    bulk_result result;
    std::vector<stored_document> pass;
    for (std::size_t i = 0; i < docs.size(); ++i) {
      if (!poison.empty() && docs[i].id.find(poison) != std::string::npos) {
        result.failures.push_back({i, docs[i].id, "mapper_parsing_exception", false});
      } else if (seen[docs[i].id]++ < retryable_rounds) {
        result.failures.push_back({i, docs[i].id, "es_rejected_execution_exception (429)", true});
      } else {
        pass.push_back(docs[i]);
      }
    }
    result.written = memory_index::bulk_write(index, pass).written;
    return result;
  }
};

TEST(Collector, RetryableBulkItemsAreWrittenAgainAndOthersFailTheRun) {
  loopback_transport transport;
  manual_clock clock;
  {
    flaky_index store;
    store.retryable_rounds = 2;
    auto source = testing::make_source("dev", 2, 3);
    auto config = config_for("dev");
    config.bulk_retries = 3;  // a backend that reports retryable items without retrying them itself
    basic_collector<loopback_transport, flaky_index> collector(config, transport, store);
    auto report = collector.run(source, clock);
    ASSERT_TRUE(report.ok) << report.summary();
    EXPECT_EQ(store.scan(report.worker, "", 100).documents.size(), 6u);
    for (const auto& [id, n] : store.seen) EXPECT_EQ(n, 3) << id;  // two rejections, then written
  }
  {
    flaky_index store;
    store.poison = "devonly1";
    auto source = testing::make_source("dev", 2, 3);
    basic_collector<loopback_transport, flaky_index> collector(config_for("dev"), transport, store);
    auto report = collector.run(source, clock);
    EXPECT_FALSE(report.ok);
    EXPECT_NE(report.failure.find("devonly1"), std::string::npos) << report.failure;
    EXPECT_NE(report.failure.find("mapper_parsing_exception"), std::string::npos) << report.failure;
    EXPECT_TRUE(store.aliases().empty());  // the unpublished worker was taken out of the way
    EXPECT_TRUE(store.list_indices("").empty());
  }
}

/// memory_index that records the size of every batch it is asked to read or write, on both of its
/// bulk_write overloads (so the collector moves its batches in, as into memory_index).
class recording_index : public memory_index {
 public:
  using index_backend_concept = index_backend_tag;
  std::size_t largest_write = 0, writes = 0;
  mutable std::size_t largest_get = 0;

  bulk_result bulk_write(std::string_view index, std::span<const stored_document> docs) {
    note(docs.size());
    return memory_index::bulk_write(index, docs);
  }
  bulk_result bulk_write(std::string_view index, std::vector<stored_document>&& docs) {
    note(docs.size());
    return memory_index::bulk_write(index, std::move(docs));
  }
  [[nodiscard]] std::vector<std::optional<std::string>> get(std::string_view index, std::span<const std::string> ids) const {
    largest_get = std::max(largest_get, ids.size());
    return memory_index::get(index, ids);
  }

 private:
  void note(std::size_t n) {
    largest_write = std::max(largest_write, n);
    ++writes;
  }
};

/// The three environments collected in turn with `tune` applied to each configuration; the catalogue
/// the read alias shows at the end.
template <class Index>
std::vector<service> three_environments(Index& store, const std::function<void(collector_config&)>& tune) {
  loopback_transport transport;
  manual_clock clock;
  for (const std::string env : {"dev", "staging", "prod"}) {
    auto source = testing::make_source(env, 5, 9);
    auto config = config_for(env);
    tune(config);
    basic_collector<loopback_transport, Index> collector(config, transport, store);
    const auto report = collector.run(source, clock);
    EXPECT_TRUE(report.ok) << report.summary();
    clock.advance(1s);
  }
  return catalogue_behind(store, "apicatalogue");
}

TEST(Collector, MergeBatchesScanPagesAndBulkBatchesDoNotChangeTheCatalogue) {
  memory_index reference_store;
  const auto reference = three_environments(reference_store, [](collector_config&) {});
  ASSERT_EQ(reference.size(), 5u * 5 + 5u * 4 * 3);  // 5 shared and 4 own services per provider

  struct sizes {
    std::size_t scan_page, merge_batch, bulk_batch;
  };
  for (const sizes z :
       {sizes{1000, 100, 500}, sizes{7, 3, 2}, sizes{7, 1, 500}, sizes{10, 10, 4}, sizes{3, 50, 1}, sizes{16, 5, 7}}) {
    SCOPED_TRACE(testing::cat("scan_page ", std::to_string(z.scan_page), ", merge_batch ", std::to_string(z.merge_batch),
                              ", bulk_batch ", std::to_string(z.bulk_batch)));
    const auto tune = [&](collector_config& c) {
      c.scan_page = z.scan_page, c.merge_batch = z.merge_batch, c.bulk_batch = z.bulk_batch;
    };
    recording_index moving;
    EXPECT_EQ(three_environments(moving, tune), reference);
    EXPECT_LE(moving.largest_write, z.bulk_batch);
    EXPECT_GT(moving.writes, 0u);
    EXPECT_LE(moving.largest_get, std::min(z.scan_page, z.merge_batch)) << "the local documents are read a merge part at a time";
    flaky_index spans;  // takes spans only
    EXPECT_EQ(three_environments(spans, tune), reference);
  }
}

TEST(Collector, AMalformedPeerDocumentFailsThatPeerNamingItAndKeepsWhatWasMerged) {
  memory_index store;
  loopback_transport transport;
  manual_clock clock;
  {
    auto source = testing::make_source("staging", 2, 6);
    in_process_collector staging(config_for("staging"), transport, store);
    ASSERT_TRUE(staging.run(source, clock).ok);
  }
  // The fifth document staging published (in id order), cut short.
  const auto published = store.alias_targets(config_for("staging").names().environment_alias());
  ASSERT_EQ(published.size(), 1u);
  const auto page = store.scan(published.front(), "", 100);
  ASSERT_EQ(page.documents.size(), 12u);
  const std::string bad = page.documents[4].id;
  const std::vector<stored_document> cut{{bad, page.documents[4].json.substr(0, 40)}};
  ASSERT_TRUE(store.bulk_write(published.front(), cut).ok());

  clock.advance(1s);
  auto config = config_for("dev");
  config.merge_batch = 2;  // parts {0, 1}, {2, 3}, {4, 5}, ...: the bad one opens the third
  in_process_collector dev(config, transport, store);
  auto source = testing::make_source("dev", 2, 6);
  const auto report = dev.run(source, clock);
  ASSERT_TRUE(report.ok) << report.summary();  // a peer that cannot be read fails that peer, not the run
  const auto staging = std::find_if(report.peers.begin(), report.peers.end(), [](const auto& p) { return p.environment == "staging"; });
  ASSERT_NE(staging, report.peers.end());
  EXPECT_EQ(staging->outcome, peer_outcome::failed);
  EXPECT_NE(staging->detail.find("peer document '" + bad + "'"), std::string::npos) << staging->detail;
  EXPECT_NE(staging->detail.find("malformed"), std::string::npos) << staging->detail;

  // Nothing of dev's own is lost, and what was merged before the bad document was written.
  std::vector<std::string> with_staging;
  std::size_t own = 0;
  for (const auto& s : catalogue_behind(store, "apicatalogue")) {
    if (s.entry("dev")) ++own;
    if (s.entry("staging")) with_staging.push_back(s.id);
  }
  EXPECT_EQ(own, 12u);
  std::vector<std::string> before;
  for (std::size_t i = 0; i < 4; ++i) before.push_back(page.documents[i].id);
  EXPECT_EQ(with_staging, before);
}

TEST(CollectorConfig, RejectsSizesOfZeroNamingTheSetting) {
  for (const std::string setting : {"concurrency", "bulk_batch", "scan_page", "merge_batch"}) {
    auto config = config_for("dev");
    if (setting == "concurrency") config.concurrency = 0;
    if (setting == "bulk_batch") config.bulk_batch = 0;
    if (setting == "scan_page") config.scan_page = 0;
    if (setting == "merge_batch") config.merge_batch = 0;
    const auto e = testing::thrown_by([&] { config.validate(); });
    EXPECT_EQ(e.code(), errc::invalid_config) << setting;
    EXPECT_NE(std::string(e.what()).find(setting), std::string::npos) << e.what();
  }
  EXPECT_NO_THROW(config_for("dev").validate());
}

// ---- the publish guard: an outage of the source never replaces good data ----------------------------

/// A source of `providers` providers for `env`, of which the first `failing` fail.
in_process_source partly_failing_source(const std::string& env, int providers, int failing, int services_each = 4) {
  auto healthy = testing::make_source(env, providers, services_each);
  in_process_source out;
  loopback_transport unused;  // in_process_source never uses its transport
  const auto listed = healthy.list_providers(unused);
  int i = 0;
  healthy.collect(unused, std::span<const provider>(listed), 1,
                  [&](const provider& p, provider_outcome&& o) {
                    if (i++ < failing) out.add_failing(p, "security server answered 500");
                    else out.add(p, std::move(o.records));
                  });
  return out;
}

/// Runs dev once with a healthy source (3 providers, 12 services) and returns the worker it activated.
std::string healthy_dev_run(memory_index& store, loopback_transport& transport, manual_clock& clock) {
  auto source = testing::make_source("dev", 3, 4);
  in_process_collector collector(config_for("dev"), transport, store);
  const auto report = collector.run(source, clock);
  EXPECT_TRUE(report.ok) << report.summary();
  clock.advance(1s);
  return report.worker;
}

/// The catalogue as a reader sees it: the aliases' targets and every index.
struct store_state {
  std::vector<alias_entry> aliases;
  std::vector<std::string> indices;
  friend bool operator==(const store_state&, const store_state&) = default;
};
store_state state_of(const memory_index& store) { return {store.aliases(), store.list_indices("")}; }

TEST(CollectorGuard, EveryProviderFailingIsRefusedAndLeavesTheCatalogueAsItWas) {
  memory_index store;
  loopback_transport transport;
  manual_clock clock;
  healthy_dev_run(store, transport, clock);
  const auto before = state_of(store);
  auto source = partly_failing_source("dev", 3, 3);
  in_process_collector collector(config_for("dev"), transport, store);
  const auto report = collector.run(source, clock);
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.outcome, run_outcome::refused);
  EXPECT_TRUE(testing::contains(report.failure, "only 0 of 3 providers")) << report.failure;
  EXPECT_EQ(state_of(store), before) << "the refused run's worker must be gone and no alias moved";
  EXPECT_TRUE(testing::contains(report.to_json(), R"("outcome":"refused")"));
}

TEST(CollectorConfig, AnUnaddedPeerStoreThrowsFromRunAsAtConstructionAndTouchesNothing) {
  memory_index store;
  loopback_transport transport;
  manual_clock clock;
  auto config = config_for("dev");
  config.peers.back() = {"prod", "prod-cluster"};  // never given to add_peer_store
  in_process_collector collector(config, transport, store);
  auto source = testing::make_source("dev", 1, 2);
  try {
    (void)collector.run(source, clock);
    ADD_FAILURE() << "a configuration error must throw, as the constructor's do";
  } catch (const error& e) {
    EXPECT_EQ(e.code(), errc::invalid_config);
    EXPECT_TRUE(testing::contains(e.what(), "prod-cluster")) << e.what();
  }
  EXPECT_TRUE(store.list_indices("").empty());
  EXPECT_TRUE(store.aliases().empty());
}

// ---- the Source contract ---------------------------------------------------------------------------

/// A source whose records break the contract in `how` for provider 0; provider 1 is healthy.
in_process_source contract_breaking_source(const std::string& how) {
  in_process_source source;
  service bad = testing::make_service("dev", "70000", "sub0-public", "svc0");
  if (how == "mislabelled") bad.environments[0].environment = "development";
  if (how == "no entry") bad.environments.clear();
  if (how == "two entries") bad.environments.push_back(testing::make_service("prod", "70000", "sub0-public", "svc0").environments[0]);
  source.add({"DEV/GOV/70000/sub0-public", "Org 0"}, {bad, testing::make_service("dev", "70000", "sub0-public", "svc1")});
  source.add({"DEV/GOV/70001/sub1-public", "Org 1"}, {testing::make_service("dev", "70001", "sub1-public", "svc2")});
  return source;
}

TEST(CollectorSourceContract, ARecordStampedWithAnotherEnvironmentFailsItsProviderNamingTheRecord) {
  for (const std::string how : {"mislabelled", "no entry", "two entries"}) {
    memory_index store;
    loopback_transport transport;
    manual_clock clock;
    auto source = contract_breaking_source(how);
    in_process_collector collector(config_for("dev"), transport, store);
    const auto report = collector.run(source, clock);
    ASSERT_TRUE(report.ok) << how << ": " << report.summary();  // 1 of 2 providers: within the guard's 50%
    ASSERT_EQ(report.providers.size(), 2u);
    EXPECT_FALSE(report.providers[0].ok) << how;
    EXPECT_TRUE(testing::contains(report.providers[0].reason, "record 'GOV/70000/sub0-public/svc0'"))
        << how << ": " << report.providers[0].reason;
    EXPECT_TRUE(report.providers[1].ok) << how;
    EXPECT_EQ(report.records, 1u) << how << ": none of the breaking provider's records is written";
  }
  memory_index store;
  loopback_transport transport;
  manual_clock clock;
  auto source = contract_breaking_source("mislabelled");
  in_process_collector collector(config_for("dev"), transport, store);
  const auto report = collector.run(source, clock);
  EXPECT_TRUE(testing::contains(report.providers[0].reason, "stamped 'development', not this collector's environment 'dev'"))
      << report.providers[0].reason;
}

TEST(CollectorSourceContract, EveryRecordMislabelledIsRefusedNotPublishedEmpty) {
  memory_index store;
  loopback_transport transport;
  manual_clock clock;
  healthy_dev_run(store, transport, clock);
  const auto before = state_of(store);
  auto source = testing::make_source("production", 3, 2);  // stamped with a name the collector does not use
  in_process_collector collector(config_for("dev"), transport, store);
  const auto report = collector.run(source, clock);
  EXPECT_EQ(report.outcome, run_outcome::refused) << report.summary();
  EXPECT_EQ(state_of(store), before);
}

TEST(CollectorGuard, AShareOfFailedProvidersWithinTheBoundIsPublished) {
  memory_index store;
  loopback_transport transport;
  manual_clock clock;
  auto source = partly_failing_source("dev", 4, 2);  // 2 of 4 collected: exactly the default 50%
  in_process_collector collector(config_for("dev"), transport, store);
  const auto report = collector.run(source, clock);
  EXPECT_TRUE(report.ok) << report.summary();
  EXPECT_EQ(store.alias_targets("apicatalogue"), std::vector{report.worker});
}

TEST(CollectorGuard, AnEmptyProviderListIsRefusedBeforeAnythingIsCreated) {
  memory_index store;
  loopback_transport transport;
  manual_clock clock;
  healthy_dev_run(store, transport, clock);
  const auto before = state_of(store);
  in_process_source empty;
  in_process_collector collector(config_for("dev"), transport, store);
  const auto report = collector.run(empty, clock);
  EXPECT_EQ(report.outcome, run_outcome::refused);
  EXPECT_TRUE(testing::contains(report.failure, "listed no providers")) << report.failure;
  EXPECT_EQ(state_of(store), before);
  EXPECT_TRUE(report.alias_updates.empty());

  auto allowed = config_for("dev");
  allowed.guard.allow_no_providers = true;
  allowed.guard.max_service_drop = 1;
  in_process_collector permissive(allowed, transport, store);
  EXPECT_TRUE(permissive.run(empty, clock).ok);
}

TEST(CollectorGuard, ADropBeyondTheBoundIsRefusedUnlessForced) {
  memory_index store;
  loopback_transport transport;
  manual_clock clock;
  const auto live = healthy_dev_run(store, transport, clock);  // 12 services of dev
  const auto before = state_of(store);
  auto shrunk = testing::make_source("dev", 1, 4);  // 4 services: a drop of 67%
  {
    in_process_collector collector(config_for("dev"), transport, store);
    const auto report = collector.run(shrunk, clock);
    EXPECT_EQ(report.outcome, run_outcome::refused);
    EXPECT_TRUE(testing::contains(report.failure, "holds 12")) << report.failure;
    EXPECT_TRUE(testing::contains(report.failure, "67%")) << report.failure;
    EXPECT_EQ(state_of(store), before);
  }
  clock.advance(1s);
  {
    auto config = config_for("dev");
    config.guard.max_service_drop = 0.7;  // a bound above the drop lets it through
    in_process_collector collector(config, transport, store);
    const auto report = collector.run(shrunk, clock);
    EXPECT_TRUE(report.ok) << report.summary();
  }
  clock.advance(1s);
  {
    auto config = config_for("dev");
    config.guard.min_provider_success = 1;
    config.guard.force = true;
    auto failing = partly_failing_source("dev", 2, 1);
    in_process_collector collector(config, transport, store);
    const auto report = collector.run(failing, clock);
    EXPECT_TRUE(report.ok) << report.summary();
    EXPECT_EQ(store.alias_targets("apicatalogue"), std::vector{report.worker});
    EXPECT_TRUE(std::any_of(report.notes.begin(), report.notes.end(),
                            [](const std::string& n) { return testing::contains(n, "overridden (force)"); }));
  }
  (void)live;
}

TEST(CollectorGuard, OnlyThisEnvironmentsServicesCountTowardsTheDrop) {
  // dev's A-E also holds what dev merged from staging; a dev collection as large as dev's own part passes.
  memory_index store;
  loopback_transport transport;
  manual_clock clock;
  for (const std::string env : {"staging", "dev"}) {
    auto source = testing::make_source(env, env == "staging" ? 6 : 3, 4);
    in_process_collector collector(config_for(env), transport, store);
    ASSERT_TRUE(collector.run(source, clock).ok);
    clock.advance(1s);
  }
  auto source = testing::make_source("dev", 3, 4);
  in_process_collector collector(config_for("dev"), transport, store);
  const auto report = collector.run(source, clock);
  EXPECT_TRUE(report.ok) << report.summary();
}

TEST(CollectorConfig, RejectsGuardSharesOutsideZeroToOne) {
  for (const double bad : {-0.1, 1.5, std::nan("")}) {
    auto config = config_for("dev");
    config.guard.min_provider_success = bad;
    EXPECT_NE(std::string(testing::thrown_by([&] { config.validate(); }).what()).find("min_provider_success"),
              std::string::npos);
    config = config_for("dev");
    config.guard.max_service_drop = bad;
    EXPECT_NE(std::string(testing::thrown_by([&] { config.validate(); }).what()).find("max_service_drop"),
              std::string::npos);
  }
}

// ---- overlapping runs of one environment: never back to older data ---------------------------------

/// A clock that runs `hook` once, at the first sleep after it is set.
struct hook_clock {
  using clock_concept = clock_tag;
  manual_clock& inner;
  std::function<void()> hook;
  [[nodiscard]] std::chrono::system_clock::time_point now() const { return inner.now(); }
  void sleep_until(std::chrono::system_clock::time_point t) {
    if (auto h = std::exchange(hook, nullptr)) h();
    inner.sleep_until(t);
  }
};

collector_config dev_alone() {
  auto c = config_for("dev");
  c.peers.clear();
  return c;
}

TEST(CollectorOverlap, AnOlderRunThatWouldPublishAfterANewerOneStopsSuperseded) {
  memory_index store;
  loopback_transport transport;
  manual_clock clock;
  healthy_dev_run(store, transport, clock);
  // The older run names its worker, then a newer run of dev collects, publishes and activates while
  // the older one is still collecting.
  auto older_source = testing::make_source("dev", 3, 5);
  std::string newer_worker;
  bool ran = false;
  older_source.before_each([&](const provider&) {
    if (std::exchange(ran, true)) return;
    clock.advance(1s);
    auto newer_source = testing::make_source("dev", 3, 4);
    in_process_collector newer(dev_alone(), transport, store);
    const auto r = newer.run(newer_source, clock);
    ASSERT_TRUE(r.ok) << r.summary();
    newer_worker = r.worker;
  });
  in_process_collector older(dev_alone(), transport, store);
  const auto report = older.run(older_source, clock);
  EXPECT_EQ(report.outcome, run_outcome::superseded);
  EXPECT_TRUE(testing::contains(report.failure, newer_worker)) << report.failure;
  EXPECT_EQ(store.alias_targets("apicatalogue-dev"), std::vector{newer_worker});
  EXPECT_EQ(store.alias_targets("apicatalogue"), std::vector{newer_worker});
  EXPECT_FALSE(store.index_exists(report.worker)) << "the superseded run's unpublished worker is removed";
  EXPECT_TRUE(store.alias_targets("apicatalogue-devCollectorWorking").empty());
}

TEST(CollectorOverlap, AnOlderRunWhoseEnvironmentAliasMovedOnWhileItWaitedDoesNotActivate) {
  memory_index store;
  loopback_transport transport;
  manual_clock base;
  healthy_dev_run(store, transport, base);
  // staging is running, so the older dev run publishes and then waits; meanwhile a newer dev run
  // (which does not wait for anyone) publishes and activates, and staging finishes.
  const protocol_names staging{"apicatalogue", "staging"};
  const auto staging_worker = staging.worker_name(base.now());
  store.create_index(staging_worker);
  store.update_aliases(std::vector{alias_action::add(staging_worker, staging.working_alias())});
  hook_clock clock{base, {}};
  std::string newer_worker;
  clock.hook = [&] {
    base.advance(1s);
    auto newer_source = testing::make_source("dev", 3, 4);
    in_process_collector newer(dev_alone(), transport, store);
    const auto r = newer.run(newer_source, base);
    ASSERT_TRUE(r.ok) << r.summary();
    newer_worker = r.worker;
    store.update_aliases(std::vector{alias_action::remove(staging_worker, staging.working_alias())});
  };
  auto config = config_for("dev");
  config.peers = {{"staging", ""}};
  auto older_source = testing::make_source("dev", 3, 5);
  in_process_collector older(config, transport, store);
  const auto report = older.run(older_source, clock);
  EXPECT_EQ(report.outcome, run_outcome::superseded) << report.summary();
  EXPECT_TRUE(testing::contains(report.failure, "no longer points to")) << report.failure;
  EXPECT_EQ(store.alias_targets("apicatalogue"), std::vector{newer_worker});
  EXPECT_EQ(store.alias_targets("apicatalogue-dev"), std::vector{newer_worker});
}

// ---- a stop request (a signal) ends the run at a safe point ----------------------------------------

TEST(CollectorStop, AStopBeforeTheRunChangesNothing) {
  memory_index store;
  loopback_transport transport;
  manual_clock clock;
  healthy_dev_run(store, transport, clock);
  const auto before = state_of(store);
  std::atomic<bool> stop{true};
  auto source = testing::make_source("dev", 3, 4);
  in_process_collector collector(config_for("dev"), transport, store);
  const auto report = collector.run(source, clock, stop);
  EXPECT_EQ(report.outcome, run_outcome::interrupted);
  EXPECT_EQ(state_of(store), before);
}

TEST(CollectorStop, AStopWhileCollectingRemovesTheWorkerAndItsWorkingAlias) {
  memory_index store;
  loopback_transport transport;
  manual_clock clock;
  healthy_dev_run(store, transport, clock);
  const auto before = state_of(store);
  std::atomic<bool> stop{false};
  auto source = testing::make_source("dev", 3, 4);
  int seen = 0;
  source.before_each([&](const provider&) {
    if (++seen == 2) {
      EXPECT_EQ(store.alias_targets("apicatalogue-devCollectorWorking").size(), 1u);
      stop = true;
    }
  });
  in_process_collector collector(config_for("dev"), transport, store);
  const auto report = collector.run(source, clock, stop);
  EXPECT_EQ(report.outcome, run_outcome::interrupted);
  EXPECT_TRUE(testing::contains(report.failure, "collect services")) << report.failure;
  EXPECT_EQ(state_of(store), before) << "worker and working alias gone, nothing moved";
  EXPECT_TRUE(std::any_of(report.notes.begin(), report.notes.end(),
                          [](const std::string& n) { return testing::contains(n, "interrupted before publishing"); }));
}

TEST(CollectorStop, AStopWhileWaitingEndsTheWaitAtOnceAndLeavesTheReadAlias) {
  memory_index store;
  loopback_transport transport;
  manual_clock base;
  const auto live = healthy_dev_run(store, transport, base);
  const protocol_names staging{"apicatalogue", "staging"};
  const auto staging_worker = staging.worker_name(base.now());
  store.create_index(staging_worker);
  store.update_aliases(std::vector{alias_action::add(staging_worker, staging.working_alias())});
  std::atomic<bool> stop{false};
  hook_clock clock{base, [&] { stop = true; }};
  auto config = config_for("dev");
  config.peers = {{"staging", ""}};
  auto source = testing::make_source("dev", 3, 4);
  in_process_collector collector(config, transport, store);
  const auto began = base.now();
  const auto report = collector.run(source, clock, stop);
  EXPECT_EQ(report.outcome, run_outcome::interrupted);
  EXPECT_TRUE(testing::contains(report.failure, "wait for peers")) << report.failure;
  EXPECT_LE(base.now() - began, 1s) << "the 3-minute wait must end within a stop_poll slice";
  EXPECT_EQ(store.alias_targets("apicatalogue"), std::vector{live});
  EXPECT_EQ(store.alias_targets("apicatalogue-dev"), std::vector{report.worker}) << "published before the stop";
  EXPECT_TRUE(store.alias_targets("apicatalogue-devCollectorWorking").empty());
  EXPECT_TRUE(std::any_of(report.notes.begin(), report.notes.end(),
                          [](const std::string& n) { return testing::contains(n, "interrupted after publishing"); }));
}

// ---- clean-up and the stale bound --------------------------------------------------------------------

/// memory_index that records every deletion asked of it.
class deletion_recording_index : public memory_index {
 public:
  using index_backend_concept = index_backend_tag;
  std::vector<std::string> delete_requests;
  void delete_indices(std::span<const std::string> names) {
    delete_requests.insert(delete_requests.end(), names.begin(), names.end());
    memory_index::delete_indices(names);
  }
};

TEST(CollectorCleanUp, DeletesOnlyOwnUnaliasedWorkersPastTheStaleBound) {
  deletion_recording_index store;
  loopback_transport transport;
  manual_clock clock;
  const protocol_names dev{"apicatalogue", "dev"};
  const protocol_names staging{"apicatalogue", "staging"};
  auto config = config_for("dev");
  config.peers.clear();
  // Leftovers of earlier runs, two hours ago: an unaliased dead worker (deleted), one carrying a
  // user's alias (kept, and never even asked for), and staging's (never ours to delete).
  const auto dead = dev.worker_name(clock.now());
  const auto pinned = dev.worker_name(clock.now() + 1ms);
  const auto others = staging.worker_name(clock.now());
  for (const auto& n : {dead, pinned, others}) store.create_index(n);
  store.update_aliases(std::vector{alias_action::add(pinned, "pinned")});
  clock.advance(2h);
  // A concurrent run of dev that started a minute ago: its worker is young and unaliased for a moment.
  const auto concurrent = dev.worker_name(clock.now() - 1min);
  store.create_index(concurrent);

  auto source = testing::make_source("dev", 3, 4);
  basic_collector<loopback_transport, deletion_recording_index> collector(config, transport, store);
  const auto report = collector.run(source, clock);
  ASSERT_TRUE(report.ok) << report.summary();
  EXPECT_EQ(report.deleted, std::vector{dead});
  EXPECT_EQ(store.delete_requests, std::vector{dead}) << "an aliased worker must not even be asked for";
  for (const auto& kept : {pinned, others, concurrent}) EXPECT_TRUE(store.index_exists(kept)) << kept;
}

TEST(CollectorCleanUp, ARunThatOutlivesTheStaleBoundDoesNotActivate) {
  memory_index store;
  loopback_transport transport;
  manual_clock clock;
  const auto live = healthy_dev_run(store, transport, clock);
  auto config = config_for("dev");
  config.peers.clear();
  config.stale_after = 10min;
  auto source = testing::make_source("dev", 3, 4);
  source.before_each([&](const provider&) { clock.advance(4min); });  // 12 minutes of collection
  in_process_collector collector(config, transport, store);
  const auto report = collector.run(source, clock);
  EXPECT_FALSE(report.ok);
  EXPECT_TRUE(testing::contains(report.failure, "stale_after")) << report.failure;
  EXPECT_EQ(store.alias_targets("apicatalogue"), std::vector{live});
}

// ---- the protocol's decisions, as data -------------------------------------------------------------

TEST(ProtocolPlan, PublishMovesTheEnvironmentAliasAndTheWorkingAliasInOneUpdateOrIsSuperseded) {
  const protocol_names dev{"apicatalogue", "dev"};
  const auto t0 = std::chrono::sys_days{std::chrono::year{2021} / 2 / 19} + 12h;
  const auto older = dev.worker_name(t0 - 1h), mine = dev.worker_name(t0), newer = dev.worker_name(t0 + 1s);
  const auto p = plan::publish(dev, mine, t0, {older});
  EXPECT_TRUE(p.superseded_by.empty());
  EXPECT_EQ(p.actions, (std::vector{alias_action::remove(older, "apicatalogue-dev", true),
                                    alias_action::add(mine, "apicatalogue-dev"),
                                    alias_action::remove(mine, "apicatalogue-devCollectorWorking")}));
  const auto superseded = plan::publish(dev, mine, t0, {newer});
  EXPECT_EQ(superseded.superseded_by, newer);
  EXPECT_TRUE(superseded.actions.empty());
}

TEST(ProtocolPlan, ActivationIsACompareAndSetOnTheEnvironmentAlias) {
  const protocol_names dev{"apicatalogue", "dev"};
  EXPECT_EQ(plan::activate(dev, "w"),
            (std::vector{alias_action::remove("w", "apicatalogue-dev", true), alias_action::add("w", "apicatalogue-dev"),
                         alias_action::remove_everywhere("apicatalogue"), alias_action::add("w", "apicatalogue")}));
}

TEST(ProtocolPlan, CleanUpTakesOnlyOwnOlderUnaliasedWorkersPastTheStaleBound) {
  const protocol_names dev{"apicatalogue", "dev"};
  const protocol_names staging{"apicatalogue", "staging"};
  const auto now = std::chrono::sys_days{std::chrono::year{2021} / 2 / 19} + 12h;
  const auto dead = dev.worker_name(now - 2h), pinned = dev.worker_name(now - 3h), young = dev.worker_name(now - 10min),
             mine = dev.worker_name(now), later = dev.worker_name(now + 1s), theirs = staging.worker_name(now - 2h);
  const std::vector<std::string> indices{dead, pinned, young, mine, later, theirs, "unrelated"};
  EXPECT_EQ(plan::clean_up(dev, now, now, 1h, indices, {{"pinned", pinned}}), std::vector{dead});
}

TEST(ProtocolPlan, APeerIsLiveWhileItsWorkingAliasIsYoungerThanTheStaleBound) {
  const protocol_names staging{"apicatalogue", "staging"};
  const auto now = std::chrono::sys_days{std::chrono::year{2021} / 2 / 19} + 12h;
  EXPECT_FALSE(plan::peer_liveness(staging, {}, now, 1h).running);
  const auto live = plan::peer_liveness(staging, {staging.worker_name(now - 59min)}, now, 1h);
  EXPECT_TRUE(live.running);
  const auto dead = plan::peer_liveness(staging, {staging.worker_name(now - 61min)}, now, 1h);
  EXPECT_FALSE(dead.running);
  EXPECT_EQ(dead.dead_runs, std::vector{staging.worker_name(now - 61min)});
  EXPECT_TRUE(plan::peer_liveness(staging, {"not-a-worker"}, now, 1h).running) << "unknown: assume live";
}

}  // namespace
}  // namespace tributary
