// The benchmarks' outputs, checked once: the engine's copy-merge and the nlohmann baseline produce the
// same documents, the merge suite's merges give what the copy-merge wrote, the DOM ceiling parses every
// document, and sqlite_index and the plain insert store the same rows. No timing here.

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <unistd.h>

#include <tributary/index/sqlite.hpp>

#include "../bench/catalogue_generator.hpp"
#include "../bench/workloads.hpp"

namespace tributary::bench {
namespace {

constexpr std::string_view worker = "apicatalogue-dev20210219_121308620";

std::map<std::string, std::string> contents(const memory_index& store, std::string_view index) {
  std::map<std::string, std::string> out;
  std::string after;
  while (true) {
    auto page = store.scan(index, after, 777);
    for (auto& d : page.documents) out.emplace(d.id, std::move(d.json));
    if (page.done) break;
    after = page.next_after;
  }
  return out;
}

TEST(BenchGenerator, IsDeterministicAndSplitsTheCatalogueAsDocumented) {
  const auto a = generate_catalogue(profile::realistic, 120);
  const auto b = generate_catalogue(profile::realistic, 120);
  EXPECT_EQ(a.peer, b.peer);
  EXPECT_EQ(a.local, b.local);
  EXPECT_EQ(a.peer.size(), 90u);   // i % 4 != 3
  EXPECT_EQ(a.local.size(), 90u);  // i % 4 != 0
  EXPECT_NE(generate_catalogue(profile::realistic, 120, 7).peer, a.peer);
  document_parser parser;
  std::size_t with_prod = 0;
  for (const auto& d : a.peer) {
    const service s = parser.parse(d.json);
    EXPECT_EQ(s.id, d.id);
    ASSERT_NE(s.entry(peer_environment), nullptr);
    if (s.entry("prod")) ++with_prod;
    for (const auto& detail : s.entry(peer_environment)->details) {
      EXPECT_GE(detail.openapi.escaped().size(), 1000u);
      EXPECT_LE(detail.openapi.escaped().size(), 60u * 1024u);
    }
  }
  EXPECT_GT(with_prod, 0u);
}

TEST(BenchGenerator, CompactDocumentsAreAboutOneAndAHalfKilobytes) {
  const auto c = generate_catalogue(profile::compact, 2000);
  const double mean = static_cast<double>(c.local_bytes) / static_cast<double>(c.local.size());
  EXPECT_GT(mean, 1000.0);
  EXPECT_LT(mean, 2000.0);
}

class CopyMerge : public ::testing::TestWithParam<profile> {};

TEST_P(CopyMerge, EngineAndBaselineWriteTheSameDocuments) {
  const auto c = generate_catalogue(GetParam(), GetParam() == profile::realistic ? 160 : 2000);
  const auto pages = pages_of(c.peer, 64);

  memory_index store;
  load_worker(store, worker, c.local);
  const auto engine_counts = engine_copy_merge(store, worker, scan_pages_of(c.peer, 64));
  // Merged in parts of another size (7, which divides no page), the worker is the same.
  memory_index other_parts;
  load_worker(other_parts, worker, c.local);
  (void)engine_copy_merge(other_parts, worker, scan_pages_of(c.peer, 64), {}, 7);
  EXPECT_EQ(contents(other_parts, worker), contents(store, worker));

  std::unordered_map<std::string, std::string> baseline_worker;
  for (const auto& d : c.local) baseline_worker.emplace(d.id, d.json);
  const auto baseline_counts = baseline::copy_merge(baseline_worker, pages);

  EXPECT_EQ(engine_counts.read, c.peer.size());
  EXPECT_EQ(engine_counts.merged, c.peer.size() * 2 / 3);  // ids with i % 4 in {1, 2}
  EXPECT_EQ(engine_counts.added, c.peer.size() - engine_counts.merged);
  EXPECT_EQ(baseline_counts.read, engine_counts.read);
  EXPECT_EQ(baseline_counts.merged, engine_counts.merged);
  EXPECT_EQ(baseline_counts.added, engine_counts.added);

  const auto engine = contents(store, worker);
  const std::map<std::string, std::string> base(baseline_worker.begin(), baseline_worker.end());
  ASSERT_EQ(engine.size(), base.size());
  EXPECT_EQ(engine.size(), c.local.size() + engine_counts.added);
  for (const auto& [id, json] : engine) {
    auto it = base.find(id);
    ASSERT_NE(it, base.end()) << id;
    EXPECT_EQ(json, it->second) << id;  // byte for byte
  }

  // Every merged document holds exactly the local and the peer's own entry, never the peer's copy of prod.
  document_parser parser;
  for (const auto& [id, json] : engine) {
    const service s = parser.parse(json);
    EXPECT_EQ(s.entry("prod"), nullptr) << id;
    EXPECT_TRUE(s.entry(peer_environment) || s.entry(local_environment)) << id;
  }
}

TEST_P(CopyMerge, MergeSuiteGivesWhatTheCopyMergeWrote) {
  const auto c = generate_catalogue(GetParam(), GetParam() == profile::realistic ? 80 : 400);
  memory_index store;
  load_worker(store, worker, c.local);
  (void)engine_copy_merge(store, worker, scan_pages_of(c.peer));
  const auto written = contents(store, worker);

  document_parser parser;
  const environment_union merge;
  for (const auto& d : c.peer) {
    const service remote = parser.parse(d.json);
    const environment_entry entry = *remote.entry(peer_environment);
    std::optional<service> result;
    auto local = std::find_if(c.local.begin(), c.local.end(), [&](const auto& l) { return l.id == d.id; });
    if (local != c.local.end()) {
      result = parser.parse(local->json);
      merge.merge(*result, entry);
    } else {
      result = merge.adopt(remote, entry);
    }
    ASSERT_TRUE(result);
    EXPECT_EQ(to_json(*result), written.at(d.id));
  }
}

INSTANTIATE_TEST_SUITE_P(Profiles, CopyMerge, ::testing::Values(profile::realistic, profile::compact),
                         [](const auto& info) { return std::string(profile_name(info.param)); });

TEST(BenchCeilings, DomParsesEveryDocumentTheCopyMergeParses) {
  const auto c = generate_catalogue(profile::realistic, 200);
  const auto ndjson = merge_input_ndjson(c);
  EXPECT_EQ(ndjson.size(), c.merge_input_bytes() + c.peer.size() + c.peer.size() * 2 / 3);
  simdjson::dom::parser parser;
  EXPECT_EQ(dom_parse_ceiling(parser, ndjson), c.peer.size() + c.peer.size() * 2 / 3);
}

TEST(BenchStores, SqliteIndexAndThePlainInsertStoreTheSameRows) {
  const auto c = generate_catalogue(profile::compact, 300);
  const auto dir = std::filesystem::temp_directory_path() / ("tributary-bench-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  {
    sqlite_index engine((dir / "engine.db").string());
    engine.create_index("bench-0");
    ASSERT_TRUE(engine.bulk_write("bench-0", c.local).ok());

    sqlite_index plain_schema((dir / "plain.db").string());
    plain_schema.create_index("bench-0");
    {
      plain_sqlite_insert plain((dir / "plain.db").string());
      plain.write("bench-0", c.local);
    }
    const auto a = engine.scan("bench-0", "", 100000);
    const auto b = plain_schema.scan("bench-0", "", 100000);
    EXPECT_EQ(a.documents.size(), c.local.size());
    EXPECT_EQ(a.documents, b.documents);
    EXPECT_EQ(a.documents, c.local);  // the generator hands them out in id order
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace tributary::bench
