// The collection protocol end to end on memory_index, one process, virtual time.

#include <gtest/gtest.h>

#include <map>

#include <tributary/all.hpp>

#include "support/catalogue.hpp"

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
    EXPECT_EQ(report.services, 12u);
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
    basic_collector<loopback_transport, flaky_index> collector(config_for("dev"), transport, store);
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

}  // namespace
}  // namespace tributary
