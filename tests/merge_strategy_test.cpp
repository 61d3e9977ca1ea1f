// Merge strategies (environment_union, prefer_local) and the document model they rest on: versions,
// service codes, identity, and the JSON round trip.
//
// Properties shared by both strategies are typed tests; order independence and precedence (which only
// environment_union promises) and "local text wins" (prefer_local) are plain tests. Random documents
// come from seeded generators, so a failure names the seed that reproduces it.

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <tributary/all.hpp>

#include "support/catalogue.hpp"

namespace tributary {
namespace {

using namespace std::chrono_literals;

// ---- random documents -------------------------------------------------------------------------------

/// Picks a random subset of `pool`, possibly with duplicates, in random order: the raw material that
/// canonical form must sort and deduplicate.
std::vector<std::string> random_set(std::mt19937_64& g, const std::vector<std::string>& pool, bool allow_empty = true) {
  std::vector<std::string> out;
  const auto n = std::uniform_int_distribution<std::size_t>(allow_empty ? 0 : 1, pool.size() + 1)(g);
  for (std::size_t i = 0; i < n; ++i) out.push_back(pool[std::uniform_int_distribution<std::size_t>(0, pool.size() - 1)(g)]);
  return out;
}

std::string random_word(std::mt19937_64& g, const std::string& prefix) {
  return prefix + std::to_string(std::uniform_int_distribution<int>(0, 999)(g));
}

environment_entry random_entry(std::mt19937_64& g, const std::string& env) {
  static const std::vector<std::string> versions = {"", "v1", "v2", "v10", "v1.1", "v2.0.1", "v10.2", "beta"};
  environment_entry e;
  e.environment = env;
  e.owner = random_word(g, "owner-" + env + "-");
  e.access = random_set(g, {"xroad", "apigw"});
  e.stale = std::bernoulli_distribution(0.2)(g);
  std::vector<std::string> vs = versions;
  std::shuffle(vs.begin(), vs.end(), g);
  vs.resize(std::uniform_int_distribution<std::size_t>(1, 4)(g));  // distinct versions, random order
  for (const auto& v : vs) {
    service_detail d;
    d.version = v;
    d.title = random_word(g, "title-" + env + "-" + v + "-");
    d.summary = random_word(g, "summary-");
    d.description = random_word(g, "description-");
    d.type = std::array{"rest", "soap", "graphql"}[std::uniform_int_distribution<int>(0, 2)(g)];
    d.pricing = random_set(g, {"free", "paid"});
    d.data = random_set(g, {"open", "public", "official", "personal", "health", "financial"});
    if (std::bernoulli_distribution(0.5)(g)) d.links = R"([{"name":"docs","url":"https://example.test/)" + v + R"("}])";
    d.openapi = json_string::from_text("openapi: 3.0.0\ninfo:\n  title: \"" + d.title + "\"\n");
    d.collected = "2021-02-19T12:00:00Z";
    d.xroad = {"EE-" + env, "GOV", "70000310", "kir-public", v.empty() ? "getPerson" : "getPerson-" + v};
    e.details.push_back(std::move(d));
  }
  return e;
}

/// A local document as the collector holds it after step 3: one entry, normalised.
service local_document(const environment_entry& entry, const environment_order& order = {}) {
  service s;
  s.id = "GOV/70000310/kir-public/getPerson";
  s.environments.push_back(entry);
  normalize(s, order);
  return s;
}

environment_entry canonical(environment_entry e) {
  service s;
  s.environments.push_back(std::move(e));
  canonicalize(s, environment_order{});
  return std::move(s.environments.front());
}

std::vector<std::string> sorted_union(std::initializer_list<const std::vector<std::string>*> parts) {
  std::set<std::string> all;
  for (const auto* p : parts) all.insert(p->begin(), p->end());
  return {all.begin(), all.end()};
}

const service_detail& newest(const environment_entry& e) {
  return *std::max_element(e.details.begin(), e.details.end(), [](const auto& a, const auto& b) {
    return compare_versions(a.version, b.version) < 0;
  });
}

constexpr int seeds = 200;

// ---- typed tests: both shipped strategies -----------------------------------------------------------

template <class Strategy>
class MergeStrategy : public ::testing::Test {};
using strategies = ::testing::Types<environment_union, prefer_local>;
TYPED_TEST_SUITE(MergeStrategy, strategies);

TYPED_TEST(MergeStrategy, MergingTheSameEntryTwiceEqualsOnce) {
  const TypeParam strategy{};
  for (int seed = 0; seed < seeds; ++seed) {
    std::mt19937_64 g(seed);
    service doc = local_document(random_entry(g, "staging"));
    const auto prod = random_entry(g, "prod"), dev = random_entry(g, "dev");
    strategy.merge(doc, prod);
    strategy.merge(doc, dev);
    const service once = doc;
    strategy.merge(doc, dev);
    EXPECT_EQ(doc, once) << "seed " << seed;
    strategy.merge(doc, prod);
    EXPECT_EQ(doc, once) << "seed " << seed;
  }
}

TYPED_TEST(MergeStrategy, AnEnvironmentNeverAppearsTwice) {
  const TypeParam strategy{};
  std::mt19937_64 g(7);
  service doc = local_document(random_entry(g, "dev"));
  environment_entry last;
  for (int round = 0; round < 5; ++round) {
    last = random_entry(g, "prod");
    strategy.merge(doc, last);
    strategy.merge(doc, random_entry(g, "staging"));
  }
  ASSERT_EQ(doc.environments.size(), 3u);
  std::set<std::string> names;
  for (const auto& e : doc.environments) names.insert(e.environment);
  EXPECT_EQ(names, (std::set<std::string>{"dev", "staging", "prod"}));
  // The entry is replaced by the newest one, not merged with earlier ones.
  ASSERT_NE(doc.entry("prod"), nullptr);
  EXPECT_EQ(*doc.entry("prod"), canonical(last));
}

TYPED_TEST(MergeStrategy, MergingARemoteEntryLeavesTheLocalEntryUntouched) {
  const TypeParam strategy{};
  for (int seed = 0; seed < seeds; ++seed) {
    std::mt19937_64 g(seed);
    service doc = local_document(random_entry(g, "staging"));
    const environment_entry before = *doc.entry("staging");
    strategy.merge(doc, random_entry(g, "prod"));
    strategy.merge(doc, random_entry(g, "dev"));
    ASSERT_NE(doc.entry("staging"), nullptr);
    EXPECT_EQ(*doc.entry("staging"), before) << "seed " << seed;
    EXPECT_EQ(doc.id, "GOV/70000310/kir-public/getPerson");
  }
}

TYPED_TEST(MergeStrategy, AdoptGivesExactlyTheRemoteEntryCanonicalised) {
  const TypeParam strategy{};
  for (int seed = 0; seed < seeds; ++seed) {
    std::mt19937_64 g(seed);
    // The peer's document also holds entries the peer merged from its own peers: not its to give.
    service remote_doc;
    remote_doc.id = "GOV/70000310/kir-public/getPerson";
    remote_doc.title = "whatever the peer derived";
    remote_doc.environments = {random_entry(g, "dev"), random_entry(g, "prod")};
    const environment_entry prod = remote_doc.environments[1];
    const auto adopted = strategy.adopt(remote_doc, prod);
    ASSERT_TRUE(adopted.has_value());
    service expected;
    expected.id = remote_doc.id;
    expected.environments = {canonical(prod)};
    derive_fields(expected);
    EXPECT_EQ(*adopted, expected) << "seed " << seed;
    ASSERT_EQ(adopted->environments.size(), 1u);
    EXPECT_EQ(adopted->environments.front().environment, "prod");
    EXPECT_EQ(adopted->owner, prod.owner);
    EXPECT_EQ(adopted->title, newest(prod).title);
  }
}

TYPED_TEST(MergeStrategy, SetValuedFieldsAreSortedUnions) {
  const TypeParam strategy{};
  for (int seed = 0; seed < seeds; ++seed) {
    std::mt19937_64 g(seed);
    const auto staging = random_entry(g, "staging"), prod = random_entry(g, "prod"), dev = random_entry(g, "dev");
    service doc = local_document(staging);
    strategy.merge(doc, prod);
    strategy.merge(doc, dev);
    std::vector<std::string> types, pricing, data;
    for (const auto* e : {&staging, &prod, &dev})
      for (const auto& d : e->details) {
        types.push_back(d.type);
        pricing.insert(pricing.end(), d.pricing.begin(), d.pricing.end());
        data.insert(data.end(), d.data.begin(), d.data.end());
      }
    EXPECT_EQ(doc.type, sorted_union({&types})) << "seed " << seed;
    EXPECT_EQ(doc.pricing, sorted_union({&pricing})) << "seed " << seed;
    EXPECT_EQ(doc.data, sorted_union({&data})) << "seed " << seed;
    EXPECT_EQ(doc.access, sorted_union({&staging.access, &prod.access, &dev.access})) << "seed " << seed;
    // Inside each entry too: access, and each detail's pricing and data.
    for (const auto& e : doc.environments) {
      EXPECT_EQ(e.access, sorted_union({&e.access})) << "seed " << seed;
      for (const auto& d : e.details) {
        EXPECT_EQ(d.pricing, sorted_union({&d.pricing})) << "seed " << seed;
        EXPECT_EQ(d.data, sorted_union({&d.data})) << "seed " << seed;
      }
    }
  }
}

TYPED_TEST(MergeStrategy, SetValuedFieldsKnownExample) {
  const TypeParam strategy{};
  auto local = testing::make_service("staging", "70000", "sub-public", "svc", {"v1"});
  local.environments[0].details[0].pricing = {"paid", "free", "paid"};
  local.environments[0].access = {"xroad"};
  normalize(local, environment_order{});
  auto remote = testing::make_service("prod", "70000", "sub-public", "svc", {"v1"});
  remote.environments[0].details[0].type = "soap";
  remote.environments[0].details[0].data = {"personal", "health", "public"};
  remote.environments[0].access = {"xroad", "apigw"};
  strategy.merge(local, remote.environments[0]);
  EXPECT_EQ(local.type, (std::vector<std::string>{"rest", "soap"}));
  EXPECT_EQ(local.pricing, (std::vector<std::string>{"free", "paid"}));
  EXPECT_EQ(local.data, (std::vector<std::string>{"health", "personal", "public"}));
  EXPECT_EQ(local.access, (std::vector<std::string>{"apigw", "xroad"}));
}

TYPED_TEST(MergeStrategy, VersionsSortNumerically) {
  const TypeParam strategy{};
  auto local = testing::make_service("dev", "70000", "sub-public", "svc", {"v10", "v2", "v1"});
  normalize(local, environment_order{});
  auto remote = testing::make_service("prod", "70000", "sub-public", "svc", {"v10.1", "v9", "v10", "v2.10", "v2.9"});
  strategy.merge(local, remote.environments[0]);
  auto versions_of = [&](const std::string& env) {
    std::vector<std::string> out;
    for (const auto& d : local.entry(env)->details) out.push_back(d.version);
    return out;
  };
  EXPECT_EQ(versions_of("dev"), (std::vector<std::string>{"v1", "v2", "v10"}));
  EXPECT_EQ(versions_of("prod"), (std::vector<std::string>{"v2.9", "v2.10", "v9", "v10", "v10.1"}));
  const auto adopted = strategy.adopt(remote, remote.environments[0]);
  ASSERT_TRUE(adopted);
  std::vector<std::string> adopted_versions;
  for (const auto& d : adopted->environments[0].details) adopted_versions.push_back(d.version);
  EXPECT_EQ(adopted_versions, (std::vector<std::string>{"v2.9", "v2.10", "v9", "v10", "v10.1"}));
  // The newest version is the numerically greatest, not the lexicographically greatest ("v9").
  EXPECT_EQ(adopted->title, "svc v10.1 (prod)");
}

/// Through the whole protocol: a local-only document is written exactly as collected (normalised),
/// and a document only the peer has is exactly the strategy's adoption of the peer's own entry.
TYPED_TEST(MergeStrategy, CollectorKeepsLocalOnlyAndAdoptsRemoteOnly) {
  memory_index store;
  loopback_transport transport;
  manual_clock clock;
  const protocol_names prod_names{"apicatalogue", "prod"};
  const auto peer_index = prod_names.worker_name(clock.now() - 10min);
  store.create_index(peer_index);
  auto shared_remote = testing::make_service("prod", "70000", "sub0-public", "svc0", {"v10", "v2"});
  auto remote_only = testing::make_service("prod", "70000", "sub0-public", "prodonly", {"v1"});
  // The peer's copy also carries a dev entry it merged earlier: it must not travel on.
  remote_only.environments.push_back(testing::make_service("dev", "70000", "sub0-public", "prodonly").environments[0]);
  normalize(shared_remote, environment_order{});
  normalize(remote_only, environment_order{});
  const std::vector<stored_document> peer_docs = {{shared_remote.id, to_json(shared_remote)},
                                                  {remote_only.id, to_json(remote_only)}};
  ASSERT_TRUE(store.bulk_write(peer_index, peer_docs).ok());
  store.update_aliases(std::vector{alias_action::add(peer_index, prod_names.environment_alias())});

  in_process_source source;
  auto local_only = testing::make_service("staging", "70000", "sub0-public", "stagingonly", {"v1", "v3"});
  auto shared_local = testing::make_service("staging", "70000", "sub0-public", "svc0", {"v1"});
  source.add({"EE-staging/GOV/70000/sub0-public", "Provider 70000"}, {local_only, shared_local});

  collector_config config;
  config.environment = "staging";
  config.peers = {{"prod", ""}};
  basic_collector<loopback_transport, memory_index, TypeParam, no_wait> collector(config, transport, store);
  const auto report = collector.run(source, clock);
  ASSERT_TRUE(report.ok) << report.summary();
  ASSERT_EQ(report.peers.size(), 1u);
  EXPECT_EQ(report.peers[0].outcome, peer_outcome::copied);
  EXPECT_EQ(report.peers[0].added, 1u);
  EXPECT_EQ(report.peers[0].merged, 1u);

  document_parser parser;
  const auto ids = std::vector<std::string>{local_only.id, remote_only.id, shared_local.id};
  const auto stored = store.get(report.worker, ids);
  ASSERT_TRUE(stored[0] && stored[1] && stored[2]);
  service expected_local = local_only;
  normalize(expected_local, environment_order{});
  EXPECT_EQ(parser.parse(*stored[0]), expected_local);
  TypeParam strategy{};  // as the collector configures it: a strategy that favours the local environment learns it
  if constexpr (requires { strategy.local_environment; }) strategy.local_environment = config.environment;
  EXPECT_EQ(parser.parse(*stored[1]), *strategy.adopt(remote_only, *remote_only.entry("prod")));
  EXPECT_EQ(parser.parse(*stored[1]).entry("dev"), nullptr);
  service expected_shared = shared_local;
  normalize(expected_shared, environment_order{});
  strategy.merge(expected_shared, *shared_remote.entry("prod"));
  EXPECT_EQ(parser.parse(*stored[2]), expected_shared);
}

// ---- environment_union only -------------------------------------------------------------------------

TEST(EnvironmentUnion, EveryMergeOrderGivesTheSameDocument) {
  for (int seed = 0; seed < seeds; ++seed) {
    std::mt19937_64 g(seed);
    const std::vector<environment_entry> entries = {random_entry(g, "dev"), random_entry(g, "staging"),
                                                    random_entry(g, "prod")};
    // Start from a document with stale derived fields and an older entry of one environment: both must
    // be replaced whatever the order.
    service base;
    base.id = "GOV/70000310/kir-public/getPerson";
    base.title = "stale title", base.owner = "stale owner", base.type = {"zzz"};
    base.environments.push_back(random_entry(g, entries[static_cast<std::size_t>(seed % 3)].environment));

    for (const auto& strategy : {environment_union{}, environment_union{environment_order({"dev", "staging", "prod"})}}) {
      std::array<int, 3> perm = {0, 1, 2};
      std::optional<service> first;
      do {
        service doc = base;
        for (int i : perm) strategy.merge(doc, entries[static_cast<std::size_t>(i)]);
        if (!first) {
          first = doc;
        } else {
          EXPECT_EQ(doc, *first) << "seed " << seed << ", order " << perm[0] << perm[1] << perm[2];
        }
      } while (std::next_permutation(perm.begin(), perm.end()));
      // Starting from an adoption instead of a local document changes nothing either.
      service adopted = *strategy.adopt(base, entries[2]);
      strategy.merge(adopted, entries[0]);
      strategy.merge(adopted, entries[1]);
      EXPECT_EQ(adopted, *first) << "seed " << seed;
    }
  }
}

TEST(EnvironmentUnion, DocumentFieldsComeFromTheHighestPrecedenceEnvironment) {
  for (int seed = 0; seed < seeds; ++seed) {
    std::mt19937_64 g(seed);
    const auto dev = random_entry(g, "dev"), staging = random_entry(g, "staging"), prod = random_entry(g, "prod");
    const environment_union strategy{};
    service doc = local_document(dev);
    strategy.merge(doc, staging);
    EXPECT_EQ(doc.owner, staging.owner) << "seed " << seed;  // staging outranks dev
    EXPECT_EQ(doc.title, newest(staging).title) << "seed " << seed;
    strategy.merge(doc, prod);
    EXPECT_EQ(doc.owner, prod.owner) << "seed " << seed;
    EXPECT_EQ(doc.title, newest(prod).title) << "seed " << seed;
    EXPECT_EQ(doc.summary, newest(prod).summary) << "seed " << seed;
    EXPECT_EQ(doc.description, newest(prod).description) << "seed " << seed;
    ASSERT_EQ(doc.environments.size(), 3u);
    EXPECT_EQ(doc.environments[0].environment, "prod");
    EXPECT_EQ(doc.environments[1].environment, "staging");
    EXPECT_EQ(doc.environments[2].environment, "dev");
  }
}

TEST(EnvironmentUnion, CustomEnvironmentOrderIsRespected) {
  for (int seed = 0; seed < seeds; ++seed) {
    std::mt19937_64 g(seed);
    const auto dev = random_entry(g, "dev"), staging = random_entry(g, "staging"), prod = random_entry(g, "prod");
    const auto qa = random_entry(g, "qa");  // not listed: ranks after every listed environment
    const environment_order order({"dev", "prod", "staging"});
    const environment_union strategy{order};
    service doc = local_document(prod, order);
    strategy.merge(doc, qa);
    EXPECT_EQ(doc.owner, prod.owner) << "seed " << seed;
    strategy.merge(doc, staging);
    EXPECT_EQ(doc.owner, prod.owner) << "seed " << seed;
    strategy.merge(doc, dev);
    EXPECT_EQ(doc.owner, dev.owner) << "seed " << seed;
    EXPECT_EQ(doc.title, newest(dev).title) << "seed " << seed;
    std::vector<std::string> envs;
    for (const auto& e : doc.environments) envs.push_back(e.environment);
    EXPECT_EQ(envs, (std::vector<std::string>{"dev", "prod", "staging", "qa"}));
  }
}

// ---- prefer_local only ------------------------------------------------------------------------------

TEST(PreferLocal, LocalTextFieldsWin) {
  for (int seed = 0; seed < seeds; ++seed) {
    std::mt19937_64 g(seed);
    const auto dev = random_entry(g, "dev"), staging = random_entry(g, "staging"), prod = random_entry(g, "prod");
    for (const auto& local_entry : {dev, staging}) {
      service doc = local_document(local_entry);
      const prefer_local strategy{local_entry.environment};
      for (const auto& remote : {prod, dev, staging}) {
        if (remote.environment == local_entry.environment) continue;
        strategy.merge(doc, remote);
      }
      // prod outranks both local environments; with prefer_local the local text still wins.
      EXPECT_EQ(doc.owner, local_entry.owner) << "seed " << seed;
      EXPECT_EQ(doc.title, newest(local_entry).title) << "seed " << seed;
      EXPECT_EQ(doc.summary, newest(local_entry).summary) << "seed " << seed;
      EXPECT_EQ(doc.description, newest(local_entry).description) << "seed " << seed;
      EXPECT_EQ(doc.environments.size(), 3u);
      // Everything else is what environment_union gives with the local environment first.
      const environment_union local_first{strategy.effective_order()};
      service u = local_document(local_entry);
      for (const auto& remote : {prod, dev, staging})
        if (remote.environment != local_entry.environment) local_first.merge(u, remote);
      EXPECT_EQ(doc, u) << "seed " << seed;
      EXPECT_EQ(doc.environments.front().environment, local_entry.environment);
      service contrast = local_document(local_entry);
      for (const auto& remote : {prod, dev, staging})
        if (remote.environment != local_entry.environment) environment_union{}.merge(contrast, remote);
      EXPECT_EQ(contrast.owner, prod.owner);  // the contrast: environment_union takes prod's
      EXPECT_EQ(contrast.type, doc.type);
      EXPECT_EQ(contrast.pricing, doc.pricing);
      EXPECT_EQ(contrast.data, doc.data);
      EXPECT_EQ(contrast.access, doc.access);
    }
  }
}

TEST(PreferLocal, EveryMergeOrderGivesTheSameDocumentAndTheLocalTextWins) {
  for (int seed = 0; seed < seeds; ++seed) {
    std::mt19937_64 g(seed);
    const std::vector<environment_entry> entries = {random_entry(g, "dev"), random_entry(g, "staging"),
                                                    random_entry(g, "prod")};
    for (const auto& local : {std::string("dev"), std::string("staging")}) {
      const prefer_local strategy{local};
      const auto& mine = local == "dev" ? entries[0] : entries[1];
      std::array<int, 3> perm = {0, 1, 2};
      std::optional<service> first;
      do {
        // Adopt whichever environment arrives first, as a document the local environment lacks would be.
        service seed_doc;
        seed_doc.id = "GOV/1/x-public/y";
        service doc = *strategy.adopt(seed_doc, entries[static_cast<std::size_t>(perm[0])]);
        strategy.merge(doc, entries[static_cast<std::size_t>(perm[1])]);
        strategy.merge(doc, entries[static_cast<std::size_t>(perm[2])]);
        if (!first) first = doc;
        EXPECT_EQ(doc, *first) << "seed " << seed << ", local " << local;
      } while (std::next_permutation(perm.begin(), perm.end()));
      EXPECT_EQ(first->title, newest(mine).title);
      EXPECT_EQ(first->owner, mine.owner);
    }
  }
}

TEST(PreferLocal, TheCollectorTellsItWhichEnvironmentIsLocal) {
  memory_index store;
  loopback_transport transport;
  manual_clock clock;
  // prod and staging publish first; dev runs last and activates.
  for (const std::string env : {"prod", "staging", "dev"}) {
    collector_config config;
    config.environment = env;
    for (const std::string peer : {"dev", "staging", "prod"})
      if (peer != env) config.peers.push_back({peer, ""});
    basic_collector<loopback_transport, memory_index, prefer_local, no_wait> collector(config, transport, store);
    auto source = testing::make_source(env, 1, 1);
    ASSERT_TRUE(collector.run(source, clock).ok);
  }
  const auto read = store.alias_targets("apicatalogue");
  ASSERT_EQ(read.size(), 1u);
  const auto docs = store.scan(read.front(), "", 10).documents;
  ASSERT_EQ(docs.size(), 1u);
  const auto doc = document_parser{}.parse(docs.front().json);
  ASSERT_EQ(doc.environments.size(), 3u);
  // environment_union would take prod's owner; dev's collector, preferring local, takes dev's.
  EXPECT_EQ(doc.owner, "Owner of 70000 in dev");
  EXPECT_EQ(doc.environments.front().environment, "dev");
}

// ---- versions and service codes ---------------------------------------------------------------------

/// compare_versions as -1, 0 or 1: comparison categories only compare with a literal 0.
int cmp(std::string_view a, std::string_view b) {
  const auto c = compare_versions(a, b);
  return c < 0 ? -1 : c > 0 ? 1 : 0;
}

TEST(CompareVersions, NumericComponentOrder) {
  EXPECT_EQ(cmp("v2", "v10"), -1);
  EXPECT_EQ(cmp("v10", "v2"), 1);
  EXPECT_EQ(cmp("v10", "v10.1"), -1);
  EXPECT_EQ(cmp("v2.9", "v2.10"), -1);
  EXPECT_EQ(cmp("v1.2.3", "v1.10"), -1);
  EXPECT_EQ(cmp("", "v1"), -1);  // an unversioned code sorts first
  EXPECT_EQ(cmp("v2", "v2"), 0);
  EXPECT_EQ(cmp("v10", "beta"), -1);  // numeric before non-numeric
  EXPECT_EQ(cmp("alpha", "beta"), -1);
  EXPECT_EQ(cmp("v1", "v1.x"), -1);
  EXPECT_EQ(cmp("v99", "v99999999999999999999999999"), -1);  // out of range is not numeric
  EXPECT_NE(cmp("v2", "V2"), 0);  // same components, still a strict order
}

TEST(CompareVersions, IsAStrictTotalOrder) {
  const std::vector<std::string> pool = {"",    "v",     "v1",   "V1",    "v01",  "v1.0", "v1.0.0", "v2", "v10",
                                         "v10.1", "v1.x", "beta", "alpha", "v1..2", "v.1", "1", "v9.9.9"};
  for (const auto& a : pool) {
    EXPECT_EQ(cmp(a, a), 0) << a;
    for (const auto& b : pool) {
      EXPECT_EQ(cmp(a, b), -cmp(b, a)) << a << " vs " << b;
      if (a != b) {
        EXPECT_NE(cmp(a, b), 0) << a << " vs " << b;
      }
      for (const auto& c : pool) {
        if (cmp(a, b) < 0 && cmp(b, c) < 0) {
          EXPECT_EQ(cmp(a, c), -1) << a << " < " << b << " < " << c;
        }
      }
    }
  }
}

/// The order compare_versions documents, spelled out with vectors of components.
int reference_cmp(std::string_view a, std::string_view b) {
  auto components = [](std::string_view v) -> std::optional<std::vector<unsigned long>> {
    if (!v.empty() && (v.front() == 'v' || v.front() == 'V')) v.remove_prefix(1);
    std::vector<unsigned long> out;
    if (v.empty()) return out;
    for (std::size_t at = 0;;) {
      const auto dot = v.find('.', at);
      const auto part = v.substr(at, dot == std::string_view::npos ? std::string_view::npos : dot - at);
      if (part.empty() || part.find_first_not_of("0123456789") != std::string_view::npos) return std::nullopt;
      unsigned long n = 0;
      if (std::from_chars(part.data(), part.data() + part.size(), n).ec != std::errc{}) return std::nullopt;
      out.push_back(n);
      if (dot == std::string_view::npos) return out;
      at = dot + 1;
    }
  };
  const auto ca = components(a), cb = components(b);
  const auto sign = [](auto c) { return c < 0 ? -1 : c > 0 ? 1 : 0; };
  if (ca && cb) return *ca != *cb ? sign(*ca <=> *cb) : sign(a <=> b);
  if (ca || cb) return ca ? -1 : 1;
  return sign(a <=> b);
}

TEST(CompareVersions, AgreesWithTheDocumentedOrderOnAWidePool) {
  const std::vector<std::string> pool = {"",      "v",   "V",      "v0",    "v00",   "v1",   "V1",     "v01",  "v1.0",
                                         "v1.0.0", "v1.", "v.1",   "v1..2", "v1.x",  "v2",   "v10",    "v10.1", "v9.9.9",
                                         "1",     "1.2", "beta",   "alpha", "v-1",   "v+1",  "v 1",    "v1 ",  "v2.10",
                                         "v2.9",  "v18446744073709551615", "v18446744073709551616", "vv1", "v1.2.3.4.5"};
  for (const auto& a : pool)
    for (const auto& b : pool) EXPECT_EQ(cmp(a, b), reference_cmp(a, b)) << '"' << a << "\" vs \"" << b << '"';
}

TEST(SplitServiceCode, VersionSuffixes) {
  auto check = [](std::string_view code, std::string_view base, std::string_view version) {
    const auto v = split_service_code(code);
    EXPECT_EQ(v.base, base) << code;
    EXPECT_EQ(v.version, version) << code;
  };
  check("getPerson-v2.1", "getPerson", "v2.1");
  check("getPerson-v2", "getPerson", "v2");
  check("getPerson-v2.1.3", "getPerson", "v2.1.3");
  check("get-person-v10", "get-person", "v10");
  check("a-v1-v2", "a-v1", "v2");
  check("a-v1.2.3.4", "a-v1.2.3.4", "");  // four components is not a version
  check("v2", "v2", "");                  // no dash: a name, not a version
  check("x-vv1", "x-vv1", "");
  check("-v2", "-v2", "");  // nothing left for a base
  check("a-v", "a-v", "");
  check("a-v1.", "a-v1.", "");
  check("a-v1..2", "a-v1..2", "");
  check("a-v.1", "a-v.1", "");
  check("a-v1a", "a-v1a", "");
  check("getPerson", "getPerson", "");
  check("", "", "");
}

// ---- identity ---------------------------------------------------------------------------------------

TEST(ServiceId, IsEnvironmentIndependent) {
  const xroad_identifier dev{"EE-DEV", "GOV", "70000310", "kir-public", "getPerson-v2"};
  const xroad_identifier prod{"EE", "GOV", "70000310", "kir-public", "getPerson-v10.1"};
  EXPECT_EQ(service_id(dev, "dev"), "GOV/70000310/kir-public/getPerson");
  EXPECT_EQ(service_id(prod, "prod"), service_id(dev, "dev"));
  EXPECT_EQ(service_id(dev, "dev").find("EE"), std::string::npos);
  const xroad_identifier unversioned{"EE-TEST", "COM", "123", "sub", "listThings"};
  EXPECT_EQ(service_id(unversioned, "staging"), "COM/123/sub/listThings");
}

TEST(ServiceId, MemberCodeMappingAppliesPerEnvironment) {
  member_code_mapping mapping;
  EXPECT_TRUE(mapping.empty());
  mapping.add("dev", "10000001", "70000310");  // dev registered the member under a test code
  EXPECT_FALSE(mapping.empty());
  const xroad_identifier dev{"EE-DEV", "GOV", "10000001", "kir-public", "getPerson-v1"};
  const xroad_identifier prod{"EE", "GOV", "70000310", "kir-public", "getPerson-v1"};
  EXPECT_EQ(service_id(dev, "dev", mapping), "GOV/70000310/kir-public/getPerson");
  EXPECT_EQ(service_id(dev, "dev", mapping), service_id(prod, "prod", mapping));
  // The mapping belongs to dev: the same code seen in prod is prod's own member.
  EXPECT_EQ(service_id(dev, "prod", mapping), "GOV/10000001/kir-public/getPerson");
  EXPECT_EQ(mapping.canonical("staging", "10000001"), "10000001");
}

// ---- JSON round trip --------------------------------------------------------------------------------

service rich_service() {
  auto s = testing::make_service("prod", "70000310", "kir-public", "getPerson", {"v1", "v2"});
  auto& d = s.environments[0].details[0];
  d.openapi = json_string::from_text(
      "openapi: \"3.0.0\"\ninfo:\n  title: 'C:\\\\path\\\\to' \"quoted\"\n\ttab\r\n  unicode: Šõäöü 😀 中文\x01\x1f end");
  d.links = R"([{"name": "docs", "url": "https://example.test/a?b=1&c=\"2\""}, {"nested": {"k": [1, 2.5, null, true]}}])";
  s.environments[0].details[1].links = R"({"single": "object"})";
  s.environments[0].stale = true;
  auto dev = testing::make_service("dev", "70000310", "kir-public", "getPerson", {"v10"}).environments[0];
  dev.owner = "Ülo \"the owner\" \\ backslash";
  s.environments.push_back(dev);
  normalize(s, environment_order{});
  return s;
}

TEST(DocumentJson, RoundTripsEveryField) {
  const service s = rich_service();
  document_parser parser;
  const service back = parser.parse(to_json(s));
  EXPECT_EQ(back, s);
  EXPECT_EQ(to_json(back), to_json(s));
  const auto& d = back.entry("prod")->details[0];
  EXPECT_EQ(d.openapi.text(), s.entry("prod")->details[0].openapi.text());
  EXPECT_NE(d.openapi.text().find("😀"), std::string::npos);
  EXPECT_NE(d.openapi.text().find("'C:\\\\path"), std::string::npos);
  EXPECT_EQ(d.links, s.entry("prod")->details[0].links);
  EXPECT_TRUE(back.entry("prod")->stale);
  EXPECT_FALSE(back.entry("dev")->stale);
  // The parser is reusable: a second document through the same parser is independent of the first.
  const auto other = testing::make_service("dev", "1", "s", "other");
  EXPECT_EQ(parser.parse(to_json(other)), other);
}

TEST(DocumentJson, ReadsEscapesWhitespaceAndUnknownFields) {
  const std::string json = R"( {
    "future": {"ignored": [1, 2]},
    "id" : "GOV/1/s/x",
    "environments" : [ {
      "environment" : "dev", "stale" : true, "extra": null,
      "details" : [ {
        "version" : "v1",
        "title" : "caf\u00e9 \"x\"",
        "links" : [ 1, 2 ] ,
        "openApiString" : "line1\nline2 \u00e9 \ud83d\ude00 \\ \/" ,
        "xroadIdentifier" : {"instance": "EE", "serviceCode": "x-v1"}
      } ]
    } ]
  } )";
  document_parser parser;
  const service s = parser.parse(json);
  EXPECT_EQ(s.id, "GOV/1/s/x");
  ASSERT_EQ(s.environments.size(), 1u);
  EXPECT_TRUE(s.environments[0].stale);
  const auto& d = s.environments[0].details.at(0);
  EXPECT_EQ(d.title, "café \"x\"");
  EXPECT_EQ(d.links, "[ 1, 2 ]");
  EXPECT_EQ(d.openapi.text(), "line1\nline2 é 😀 \\ /");
  EXPECT_EQ(d.xroad.service_code, "x-v1");
  // Written back, it parses to the same service.
  EXPECT_EQ(parser.parse(to_json(s)), s);
}

TEST(DocumentJson, NamesSpelledWithEscapesAreOursAndNearMissesAreNot) {
  // Every name of ours escaped somewhere (JSON allows it), and names that share a first letter or a
  // prefix with ours: those are unknown fields, ignored.
  const std::string json = R"({"\u0069d":"GOV/1/s/x","t":"no","titles":"no","\u0074itle":"T",)"
                           R"("environment":"not at this level","environmentsX":[],)"
                           R"("envir\u006fnments":[{"environmen\u0074":"dev","owne\u0072":"O","acces":["no"],)"
                           R"("det\u0061ils":[{"v\u0065rsion":"v1","openApi\u0053tring":"spec","xroadIdentifier":)"
                           R"({"instanc\u0065":"EE","memberCod":"no","memberCode":"1","ser\u0076iceCode":"x-v1"}}]}]})";
  const service s = document_parser{}.parse(json);
  EXPECT_EQ(s.id, "GOV/1/s/x");
  EXPECT_EQ(s.title, "T");
  ASSERT_EQ(s.environments.size(), 1u);
  const auto& e = s.environments[0];
  EXPECT_EQ(e.environment, "dev");
  EXPECT_EQ(e.owner, "O");
  EXPECT_TRUE(e.access.empty());
  ASSERT_EQ(e.details.size(), 1u);
  EXPECT_EQ(e.details[0].version, "v1");
  EXPECT_EQ(e.details[0].openapi.text(), "spec");
  EXPECT_EQ(e.details[0].xroad.instance, "EE");
  EXPECT_EQ(e.details[0].xroad.member_code, "1");
  EXPECT_EQ(e.details[0].xroad.service_code, "x-v1");
}

TEST(DocumentJson, RejectsMalformedDocuments) {
  document_parser parser;
  auto code_of = [&](std::string_view json) -> std::optional<errc> {
    try {
      (void)parser.parse(json);
    } catch (const error& e) {
      return e.code();
    }
    return std::nullopt;
  };
  EXPECT_EQ(code_of(R"({"id": "a", "title": )"), errc::bad_document);
  EXPECT_EQ(code_of("not json at all"), errc::bad_document);
  EXPECT_EQ(code_of(""), errc::bad_document);
  EXPECT_EQ(code_of(R"({"title": "no id"})"), errc::bad_document);
  EXPECT_EQ(code_of(R"({"id": ""})"), errc::bad_document);
  EXPECT_EQ(code_of(R"({"id": 5})"), errc::bad_document);
  EXPECT_EQ(code_of(R"({"id": "a", "environments": [{"details": []}]})"), errc::bad_document);
  EXPECT_EQ(code_of(R"({"id": "a", "environments": [{"environment": "dev", "details": [{"openApiString": 3}]}]})"),
            errc::bad_document);
  // After a failure the parser still works.
  EXPECT_EQ(code_of(R"({"id": "fine"})"), std::nullopt);
}

}  // namespace
}  // namespace tributary
