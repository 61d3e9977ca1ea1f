// The X-Road collector as a client of the collector API (examples/collector/publish.hpp): the catalogue
// the read alias points to is pushed to a sync server over loopback; the next run's catalogue, whose
// services carry new "collected" times and one of which changed, sends only the changed one. A database
// that is down is a note in the report, not a failed run; the key is never in a message. End to end
// with the real executables: xroad_simulator, sync_server --keys FILE and collector_dev --publish-to
// URL --api-key-file FILE, run twice: the second run sends nothing.

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <tributary/clock/manual.hpp>
#include <tributary/execution/thread_pool.hpp>
#include <tributary/index/sqlite.hpp>
#include <tributary/server/http_server.hpp>
#include <tributary/sync/server.hpp>
#include <tributary/transport/curl.hpp>

#include "support/common.hpp"
#include "support/process.hpp"
#include "../examples/collector/publish.hpp"

namespace tributary {
namespace {

using tributary::testing::contains;
using tributary::testing::thrown_by;

/// A catalogue document as the collector stores it: environments, each with details stamped with the
/// time they were collected.
std::string service_doc(int n, const std::string& collected, const std::string& title_suffix = "") {
  return "{\"id\":\"GOV/1/sub/s" + std::to_string(n) + "\",\"title\":\"Service " + std::to_string(n) + title_suffix +
         "\",\"environments\":[{\"environment\":\"dev\",\"details\":[{\"version\":\"v1\",\"title\":\"t\",\"collected\":\"" +
         collected + "\",\"xroadIdentifier\":{\"instance\":\"GOV\"}}]},{\"environment\":\"prod\",\"stale\":true,\"details\":[{"
         "\"version\":\"v2\",\"collected\":\"" + collected + "\"}]}],\"collected\":\"kept: not a detail's\"}";
}

void write_catalogue(sqlite_index& store, const std::string& index, const std::vector<std::string>& docs) {
  store.create_index(index);
  std::vector<stored_document> rows;
  for (std::size_t i = 0; i < docs.size(); ++i) rows.push_back({"s" + std::to_string(1000 + i), docs[i]});
  ASSERT_TRUE(store.bulk_write(index, rows).ok());
}

const curl_library& curl() {
  static const curl_library library;
  return library;
}

TEST(PublishCatalogue, ItemsLeaveOutOnlyTheDetailsCollectedTimes) {
  const std::string item = examples::publishable_item(service_doc(1, "2026-12-05T07:00:00Z"));
  EXPECT_FALSE(contains(item, "2026-12-05")) << item;
  EXPECT_TRUE(contains(item, "\"collected\":\"kept: not a detail's\"")) << item;
  EXPECT_TRUE(contains(item, "\"xroadIdentifier\":{\"instance\":\"GOV\"}")) << item;
  EXPECT_TRUE(contains(item, "\"stale\":true")) << item;
  EXPECT_EQ(canonical_hash(item), canonical_hash(examples::publishable_item(service_doc(1, "2027-01-01T00:00:00Z"))))
      << "the same service collected at another time is the same item";
  EXPECT_NE(canonical_hash(item), canonical_hash(examples::publishable_item(service_doc(1, "x", " (new)"))));
  EXPECT_EQ(thrown_by([] { (void)examples::publishable_item("[1]"); }).code(), errc::bad_document);
}

TEST(PublishCatalogue, SendsOnlyTheServicesTheDatabaseDoesNotHave) {
  // The collector's store, with the catalogue of a first run behind the read alias.
  tributary::testing::scratch_database catalogue_db, database_db;
  sqlite_index catalogue(catalogue_db.path());
  std::vector<std::string> first;
  for (int i = 0; i < 40; ++i) first.push_back(service_doc(i, "2026-12-05T07:00:00Z"));
  write_catalogue(catalogue, "apicatalogue-run1", first);
  catalogue.update_aliases(std::vector<alias_action>{alias_action::add("apicatalogue-run1", "apicatalogue")});

  // The downstream database: a sync server over loopback.
  sqlite_index database(database_db.path());
  manual_clock clock;
  sync_server_options o;
  o.limits.requests_per_second = 1000;
  o.limits.burst = 1000;
  o.limits.max_hashes_per_request = 16;  // so that several rounds are needed
  basic_sync_server<sqlite_index, manual_clock> sync(database, clock, o);
  const auto key = sync.keys().create("collector dev", {"collector"}).key;
  thread_pool pool(2, 16);
  basic_http_server http(pool, std::move(sync), {});
  http.start();
  const examples::publish_options options{http.base_url(), key, "unused"};

  curl_transport transport(curl(), {});
  const auto r1 = examples::publish_catalogue(catalogue, "apicatalogue", transport, options, 15);
  EXPECT_EQ(r1.items, 40u);
  EXPECT_EQ(r1.stored, 40u);
  EXPECT_TRUE(r1.rejections.empty());

  // The next run: every service collected again (new times), one of them changed.
  std::vector<std::string> second;
  for (int i = 0; i < 40; ++i) second.push_back(service_doc(i, "2026-12-06T07:00:00Z", i == 7 ? " (renamed)" : ""));
  write_catalogue(catalogue, "apicatalogue-run2", second);
  catalogue.update_aliases(std::vector<alias_action>{alias_action::remove("apicatalogue-run1", "apicatalogue"),
                                                     alias_action::add("apicatalogue-run2", "apicatalogue")});
  run_report report;
  report.ok = true;
  examples::publish_after_activation(catalogue, "apicatalogue", curl(), options, report);
  ASSERT_EQ(report.notes.size(), 1u);
  EXPECT_TRUE(contains(report.notes[0], "40 services, 39 unchanged (not sent), 1 sent: 1 stored")) << report.notes[0];
  EXPECT_TRUE(report.ok);
  std::size_t stored = 0;
  for (std::string after;;) {
    const auto page = database.scan("sync-items", after, 1000);
    stored += page.documents.size();
    if (page.done) break;
    after = page.next_after;
  }
  EXPECT_EQ(stored, 41u) << "the first run's 40 and the renamed one";

  // The database gone: a note saying so, the run still ok, and never the key.
  http.stop();
  run_report down;
  down.ok = true;
  examples::publish_after_activation(catalogue, "apicatalogue", curl(), options, down);
  ASSERT_EQ(down.notes.size(), 1u);
  EXPECT_TRUE(contains(down.notes[0], "failed (the next run sends what is missing)")) << down.notes[0];
  EXPECT_FALSE(contains(down.notes[0], key.substr(4))) << "the key is never in a message";
  EXPECT_TRUE(down.ok);
}

TEST(PublishCatalogue, TheKeyFileIsOneLineAndNeverQuoted) {
  const tributary::testing::scratch_database scratch;
  const std::string path = scratch.path() + ".key";
  struct remove_after {
    std::string p;
    ~remove_after() { std::remove(p.c_str()); }
  } cleanup{path};
  const std::string key = "trb_0123456789abcdef_" + std::string(64, 'a');
  std::ofstream(path) << "  " << key << "\n";
  EXPECT_EQ(examples::read_api_key_file(path), key);
  std::ofstream(path, std::ios::trunc) << key << "\nsecond line\n";
  const error two = thrown_by([&] { (void)examples::read_api_key_file(path); });
  EXPECT_TRUE(contains(two.what(), "more than one line")) << two.what();
  EXPECT_FALSE(contains(two.what(), key)) << "the content is never quoted";
  std::ofstream(path, std::ios::trunc) << "\n";
  EXPECT_TRUE(contains(thrown_by([&] { (void)examples::read_api_key_file(path); }).what(), "holds no key"));
  EXPECT_TRUE(contains(thrown_by([&] { (void)examples::read_api_key_file(path + ".missing"); }).what(), "cannot read"));
}

/// The example executables: beside the tests' build directory (ctest says where; by hand, this
/// executable's directory). Empty when they were not built.
std::filesystem::path examples_dir() {
  namespace fs = std::filesystem;
  const char* from_ctest = std::getenv("TRIBUTARY_TEST_BINARY_DIR");
  const fs::path tests = from_ctest ? fs::path(from_ctest) : fs::read_symlink("/proc/self/exe").parent_path();
  const fs::path dir = tests.parent_path() / "examples";
  for (const char* exe : {"xroad_simulator", "sync_server", "collector_dev"})
    if (!fs::exists(dir / exe)) return {};
  return dir;
}

TEST(PublishCatalogue, TheCollectorExecutablePushesOnlyWhatChangedToSyncServer) {
  namespace fs = std::filesystem;
  using test::child_process;
  const fs::path bin = examples_dir();
  if (bin.empty()) GTEST_SKIP() << "the example executables are not built (cmake --build ... --target xroad_simulator sync_server collector_dev)";
  const char* source_dir = std::getenv("TRIBUTARY_SOURCE_DIR");
  const fs::path fixtures = (source_dir ? fs::path(source_dir) : fs::path(__FILE__).parent_path().parent_path()) / "examples" / "xroad" / "fixtures";
  const tributary::testing::scratch_database catalogue_db, database_db;
  const fs::path dir = fs::path(catalogue_db.path() + ".d");
  fs::create_directories(dir);
  struct remove_dir {
    fs::path p;
    ~remove_dir() {
      std::error_code ec;
      fs::remove_all(p, ec);
    }
  } cleanup{dir};
  constexpr auto start_timeout = std::chrono::seconds(60);

  auto simulator = child_process::spawn({(bin / "xroad_simulator").string(), "--fixtures", (fixtures / "dev").string(), "--port", "0"},
                                        dir / "simulator.out", dir / "simulator.err");
  const auto sim_port = simulator.wait_for_output_line("listening on 127.0.0.1:", start_timeout);
  ASSERT_TRUE(sim_port) << simulator.errors();
  const fs::path key_file = dir / "collector.key";
  auto server = child_process::spawn({(bin / "sync_server").string(), "--store", "sqlite:" + database_db.path(), "--keys",
                                      key_file.string(), "--listen", "127.0.0.1:0"},
                                     dir / "server.out", dir / "server.err");
  const auto server_url = server.wait_for_output_line("listening on ", start_timeout);
  ASSERT_TRUE(server_url) << server.errors();
  ASSERT_TRUE(fs::exists(key_file)) << server.errors();

  auto collect = [&](const std::string& tag) {
    const fs::path report = dir / ("report-" + tag + ".json");
    auto c = child_process::spawn({(bin / "collector_dev").string(), "--store", "sqlite://" + catalogue_db.path(), "--xroad",
                                   "http://127.0.0.1:" + *sim_port, "--client", "EE-DEV/GOV/70000310/kmais-client",
                                   "--peers", "", "--quiet", "--report-json", report.string(), "--publish-to", *server_url,
                                   "--api-key-file", key_file.string()},
                                  dir / ("collector-" + tag + ".out"), dir / ("collector-" + tag + ".err"));
    const auto status = c.wait_for(std::chrono::seconds(300));
    EXPECT_TRUE(status && status->success()) << (status ? status->describe() : "still running") << ": " << c.errors();
    return test::read_text_file(report);
  };
  const std::string first = collect("first");
  ASSERT_TRUE(contains(first, "publish to " + *server_url + ": ")) << first;
  EXPECT_FALSE(contains(first, "publish to " + *server_url + " failed")) << first;
  EXPECT_FALSE(contains(first, test::read_text_file(key_file).substr(4, 30))) << "the key is never in the report";
  // Every service sent and stored the first time: "<n> services, 0 unchanged (not sent), <n> sent: <n> stored".
  EXPECT_TRUE(contains(first, " services, 0 unchanged (not sent), ")) << first;
  EXPECT_TRUE(contains(first, ", 0 already there, 0 refused")) << first;

  const std::string second = collect("second");  // the same services, collected again
  EXPECT_TRUE(contains(second, " sent: 0 stored, 0 already there, 0 refused")) << second;
  EXPECT_TRUE(contains(second, ", 0 sent: ")) << "nothing changed, nothing sent: " << second;

  server.terminate();
  simulator.terminate();
}

}  // namespace
}  // namespace tributary
