// The datasets example (examples/datasets/): a record type that is not an X-Road service, collected
// for dev and prod over real loopback HTTP from the example's listing server into one SQLite store,
// merged by its own rules, read back with the reader API. Its stored documents hold dataset fields
// only, and a source that fails (500, malformed JSON, down) or breaks the Source contract is reported,
// never published as if it had worked.

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <simdjson.h>

#include <tributary/clock/wall.hpp>
#include <tributary/index/sqlite.hpp>
#include <tributary/transport/curl.hpp>

#include "../examples/datasets/collector.hpp"
#include "../examples/datasets/server.hpp"
#include "support/common.hpp"

namespace {

using namespace tributary;
using tributary::testing::contains;
using datasets::dataset;

using dataset_collector = datasets::basic_dataset_collector<curl_transport, sqlite_index>;

const curl_library& curl() {
  static const curl_library library;  // one per test binary, as curl_global_init wants
  return library;
}

curl_options quick() {
  curl_options o;
  o.max_attempts = 1;  // a 500 is reported at once, not after the transport's retries
  o.connect_timeout = std::chrono::seconds(5);
  o.total_timeout = std::chrono::seconds(20);
  return o;
}

class DatasetsExample : public ::testing::Test {
 protected:
  tributary::testing::scratch_database db;
  datasets::listing_server server{datasets::demo_listings()};
  curl_transport transport{curl(), quick()};
  wall_clock clock;

  void SetUp() override { server.start(); }

  /// Runs environment `env`'s collector, its source at `source_url` stamping entries with `stamp`.
  run_report collect(const std::string& env, const std::string& source_url, const std::string& stamp = "") {
    sqlite_index store(db.path());  // a connection of its own, as a separate process would have
    dataset_collector collector(datasets::collector_config_for(env, {"dev", "prod"}), transport, store, {},
                                fixed_interval{std::chrono::milliseconds(100), std::chrono::seconds(2)});
    datasets::http_dataset_source source({source_url, stamp.empty() ? env : stamp});
    return collector.run(source, clock);
  }
  run_report collect(const std::string& env) { return collect(env, server.url(env)); }

  /// The merged datasets behind the read alias, by id.
  std::map<std::string, dataset> merged() {
    sqlite_index store(db.path());
    std::map<std::string, dataset> out;
    open_records<datasets::dataset_record>(store, "datasets").for_each([&](dataset& d) { out[d.id] = d; });
    return out;
  }
};

std::vector<std::string> envs_of(const dataset& d) {
  std::vector<std::string> out;
  for (const auto& e : d.environments) out.push_back(e.environment);
  return out;
}

TEST_F(DatasetsExample, CollectsDevThenProdIntoOneMergedCatalogue) {
  const auto dev = collect("dev");
  ASSERT_TRUE(dev.ok) << dev.summary();
  EXPECT_EQ(dev.records, 4u);
  const auto prod = collect("prod");
  ASSERT_TRUE(prod.ok) << prod.summary();
  EXPECT_EQ(prod.records, 4u);

  const auto all = merged();
  ASSERT_EQ(all.size(), 5u);
  using v = std::vector<std::string>;
  EXPECT_EQ(envs_of(all.at("stats/births-monthly")), v{"dev"});
  EXPECT_EQ(envs_of(all.at("transport/bus-stops")), v{"prod"});

  // Title and license from prod, tags unioned, rows from the entry updated last (dev's draft).
  const auto& population = all.at("stats/population-by-county");
  EXPECT_EQ(envs_of(population), (v{"prod", "dev"}));
  EXPECT_EQ(population.title, "Population by county");
  EXPECT_EQ(population.tags, (v{"draft", "official", "population"}));
  const auto& traffic = all.at("transport/road-traffic-counts");
  EXPECT_EQ(traffic.rows, 10500);  // dev counted on 2024-03-03, prod on 2024-02-01
  EXPECT_EQ(traffic.tags, (v{"roads", "traffic"}));
  EXPECT_EQ(traffic.license, "ODbL-1.0");
  EXPECT_EQ(all.at("stats/wages-2023").rows, 120);
  EXPECT_EQ(traffic.environments[0].rows, 10200);
  EXPECT_EQ(traffic.environments[1].rows, 10500);

  // Collecting dev again, now that prod is published, converges on the same datasets.
  const auto again = collect("dev");
  ASSERT_TRUE(again.ok) << again.summary();
  EXPECT_EQ(merged(), all);
}

TEST_F(DatasetsExample, StoresOnlyDatasetFields) {
  ASSERT_TRUE(collect("dev").ok);
  ASSERT_TRUE(collect("prod").ok);
  sqlite_index store(db.path());
  const std::set<std::string> top{"id", "title", "tags", "license", "rows", "environments"};
  const std::set<std::string> entry{"environment", "title", "tags", "license", "rows", "updated", "stale"};
  simdjson::dom::parser parser;
  std::size_t seen = 0;
  for (const auto& index : store.list_indices("datasets")) {
    std::string after;
    for (bool done = false; !done;) {
      auto page = store.scan(index, after, 100);
      for (const auto& d : page.documents) {
        ++seen;
        for (const char* xroad : {"openApiString", "xroadIdentifier", "details", "owner", "pricing", "access"})
          EXPECT_FALSE(contains(d.json, xroad)) << index << ": " << d.json;
        simdjson::dom::object o = parser.parse(d.json).get_object();
        std::set<std::string> keys;
        for (auto field : o) keys.emplace(field.key);
        EXPECT_EQ(keys, top) << d.json;
        for (simdjson::dom::element e : o["environments"].get_array()) {
          std::set<std::string> entry_keys;
          for (auto field : e.get_object()) entry_keys.emplace(field.key);
          EXPECT_EQ(entry_keys, entry) << d.json;
        }
      }
      done = page.done;
      after = page.next_after;
    }
  }
  EXPECT_GE(seen, 9u);  // dev's worker (4, then merged: 5) and prod's (5)
}

TEST_F(DatasetsExample, ReportsAPublisherAnswering500AndPublishesOnlyWhatTheGuardAllows) {
  server.fail_publisher("transport", 500);
  const auto half = collect("dev");
  ASSERT_TRUE(half.ok) << half.summary();  // one of two publishers: the default guard (0.5) publishes
  ASSERT_EQ(half.providers_failed(), 1u);
  EXPECT_TRUE(contains(half.summary(), "failed transport: GET ")) << half.summary();
  EXPECT_TRUE(contains(half.summary(), "HTTP 500")) << half.summary();
  EXPECT_EQ(half.records, 3u);

  server.fail_publisher("stats", 500);
  const auto none = collect("prod");
  EXPECT_FALSE(none.ok);
  EXPECT_EQ(none.outcome, run_outcome::refused) << none.summary();
  EXPECT_EQ(none.providers_failed(), 2u);
  sqlite_index store(db.path());
  EXPECT_TRUE(store.alias_targets("datasets-prod").empty()) << "a collection that failed was published";
}

TEST_F(DatasetsExample, ReportsMalformedJson) {
  server.break_publisher("stats");
  const auto r = collect("dev");
  ASSERT_EQ(r.providers_failed(), 1u) << r.summary();
  EXPECT_TRUE(contains(r.summary(), "failed stats: GET ")) << r.summary();
  EXPECT_TRUE(contains(r.summary(), "malformed JSON")) << r.summary();
}

TEST_F(DatasetsExample, ReportsASourceThatBreaksTheSourceContract) {
  // Entries stamped `production` by a prod collector: never an empty or mislabelled collection.
  const auto r = collect("prod", server.url("prod"), "production");
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.providers_failed(), 2u) << r.summary();
  EXPECT_TRUE(contains(r.summary(), "has an entry stamped 'production'")) << r.summary();
  EXPECT_TRUE(contains(r.summary(), "record 'stats/population-by-county'")) << r.summary();
  sqlite_index store(db.path());
  EXPECT_TRUE(store.alias_targets("datasets").empty());
  EXPECT_TRUE(store.alias_targets("datasets-prod").empty());
}

TEST_F(DatasetsExample, ReportsAListingThatFailsOrAServerThatIsDown) {
  server.fail_publisher_list(500);
  auto r = collect("dev");
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(contains(r.failure, "fetch providers: listing publishers: GET ")) << r.failure;
  EXPECT_TRUE(contains(r.failure, "HTTP 500")) << r.failure;

  r = collect("dev", "http://127.0.0.1:" + std::to_string(tributary::testing::closed_port()) + "/dev");
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(contains(r.failure, "listing publishers")) << r.failure;
  sqlite_index store(db.path());
  EXPECT_TRUE(store.list_indices("datasets").empty()) << "nothing is created before the providers are listed";
}

TEST(DatasetsMerge, IsTheSameWhicheverEnvironmentMergesLast) {
  datasets::dataset_merge m;
  datasets::dataset_entry dev{"dev", "Draft", {"b", "a"}, "CC0-1.0", 7, "2024-03-01T00:00:00Z", false};
  datasets::dataset_entry prod{"prod", "Final", {"c", "a"}, "CC-BY-4.0", 5, "2024-01-01T00:00:00Z", false};
  dataset from_dev{"x", {}, {}, {}, 0, {dev}};
  dataset from_prod{"x", {}, {}, {}, 0, {prod}};
  m.normalize(from_dev), m.normalize(from_prod);
  m.merge(from_dev, prod);
  m.merge(from_prod, dev);
  EXPECT_EQ(from_dev, from_prod);
  EXPECT_EQ(from_dev.title, "Final");
  EXPECT_EQ(from_dev.rows, 7);
  EXPECT_EQ(from_dev.tags, (std::vector<std::string>{"a", "b", "c"}));
  m.merge(from_dev, prod);  // again: replaced, not appended
  EXPECT_EQ(from_dev.environments.size(), 2u);
}

TEST(DatasetsRecord, RoundTripsThroughItsJson) {
  dataset d{"p/x", "T \"q\"", {"a"}, "L", 3, {{"dev", "T", {"a"}, "L", 3, "2024", true}}};
  std::string json;
  datasets::dataset_record::write(json, d);
  dataset back;
  datasets::dataset_parser().parse(json, back);
  EXPECT_EQ(back, d);
  EXPECT_THROW(datasets::dataset_parser().parse("{\"id\":\"x\"}", back), tributary::error);
}

}  // namespace
