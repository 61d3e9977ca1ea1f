// The on-demand executables end to end (skipped when examples are not built): wrong input is told
// clearly with exit 2 (a missing broker with 1); two ondemand_collector services over HTTP and an
// ondemand_consumer that holds every entity although one collector is SIGKILLed mid-run, and a
// restarted consumer that restores the snapshot and replays, on SQLite and on PostgreSQL; health naming
// the dependency down; and scripts/demo-ondemand itself over the RabbitMQ that scripts/services starts.

#include <gtest/gtest.h>

#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <tributary/transport/curl.hpp>

#include "support/common.hpp"
#include "support/postgres.hpp"
#include "support/process.hpp"

namespace tributary {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using test::child_process;
using test::read_text_file;
using tributary::testing::cat;
using tributary::testing::contains;

fs::path examples_dir() {
  const char* from_ctest = std::getenv("TRIBUTARY_TEST_BINARY_DIR");
  const fs::path tests = from_ctest ? fs::path(from_ctest) : fs::read_symlink("/proc/self/exe").parent_path();
  const fs::path dir = tests.parent_path() / "examples";
  for (const char* exe : {"ondemand_collector", "ondemand_consumer"})
    if (!fs::exists(dir / exe)) return {};
  return dir;
}
fs::path source_dir() {
  const char* s = std::getenv("TRIBUTARY_SOURCE_DIR");
  return s ? fs::path(s) : fs::path(__FILE__).parent_path().parent_path();
}

#define REQUIRE_EXAMPLES()                                                                                          \
  const fs::path bin = examples_dir();                                                                              \
  if (bin.empty()) GTEST_SKIP() << "the example executables are not built (--target ondemand_collector ondemand_consumer)"

/// A scratch directory, removed at the end.
struct scratch_dir {
  tributary::testing::scratch_database db;
  fs::path path = fs::path(db.path() + ".d");
  scratch_dir() { fs::create_directories(path); }
  ~scratch_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

struct finished {
  test::exit_status status;
  std::string out, err;
};

finished run_to_end(std::vector<std::string> argv, const fs::path& dir, std::chrono::milliseconds limit = 20s) {
  auto child = child_process::spawn(std::move(argv), dir / "out", dir / "err");
  const auto status = child.wait_for(limit);
  if (!status) {
    ADD_FAILURE() << "did not end within " << limit.count() << " ms";
    return {child.terminate(), read_text_file(dir / "out"), read_text_file(dir / "err")};
  }
  return {*status, read_text_file(dir / "out"), read_text_file(dir / "err")};
}

/// The number after "name": in a JSON report line; -1 when absent.
long long field(const std::string& json, const std::string& name) {
  const auto at = json.find("\"" + name + "\":");
  if (at == std::string::npos) return -1;
  return std::atoll(json.c_str() + at + name.size() + 3);
}

/// The password of a postgres://user:password@host URL, or empty.
std::string password_of(const std::string& url) {
  const auto scheme = url.find("://");
  const auto at = url.rfind('@');
  if (scheme == std::string::npos || at == std::string::npos || at < scheme) return {};
  const auto colon = url.find(':', scheme + 3);
  return colon == std::string::npos || colon > at ? std::string() : url.substr(colon + 1, at - colon - 1);
}

http_response get(const std::string& url) {
  static const curl_library library;
  curl_options o;
  o.max_attempts = 1;
  curl_transport t(library, o);
  http_request r;
  r.url = url;
  return t.perform(std::move(r));
}

TEST(OndemandExamples, WrongInputIsToldClearly) {
  REQUIRE_EXAMPLES();
  scratch_dir d;
  const std::string collector = (bin / "ondemand_collector").string(), consumer = (bin / "ondemand_consumer").string();
  const std::string store = "sqlite:" + (d.path / "e.db").string();

  auto help = run_to_end({collector, "--help"}, d.path);
  EXPECT_TRUE(help.status.success());
  EXPECT_TRUE(contains(help.out, "usage: ondemand_collector")) << help.out;
  help = run_to_end({consumer, "--help"}, d.path);
  EXPECT_TRUE(help.status.success());
  EXPECT_TRUE(contains(help.out, "usage: ondemand_consumer")) << help.out;

  struct bad {
    std::vector<std::string> argv;
    int code;
    std::string says;
  };
  std::ofstream(d.path / "bad.json") << R"([{"entity_type":"host"}])";
  const bad cases[] = {
      {{collector, "--bogus"}, 2, "unknown argument '--bogus'"},
      {{collector, "--store", "mysql://db", "--rpc", "http://127.0.0.1:0/rpc", "--synthetic", "3"}, 2, "give sqlite:PATH"},
      {{collector, "--store", store, "--rpc", "ftp://x", "--synthetic", "3"}, 2, "--rpc wants http://"},
      {{collector, "--store", store, "--rpc", "http://127.0.0.1:0/rpc"}, 2, "no datasource"},
      {{collector, "--store", store, "--rpc", "http://127.0.0.1:0/rpc", "--static", "hosts=" + (d.path / "bad.json").string()}, 2,
       "[0] needs a non-empty string entity_id"},
      {{collector, "--store", store, "--rpc", "http://127.0.0.1:99999/rpc", "--synthetic", "3"}, 2, "is not a port"},
      {{collector, "--store", store, "--rpc", "http://127.0.0.1:0/rpc", "--synthetic", "3", "--page-events", "0"}, 2, "--page-events"},
      {{collector, "--store", store, "--rpc", "amqp://guest:hush@127.0.0.1:1/", "--synthetic", "3"}, 1, "cannot connect"},
      {{consumer, "--rpc", "http://127.0.0.1:1/rpc"}, 2, "--store is required"},
      {{consumer, "--rpc", "http://a/rpc", "--rpc", "amqp://b/", "--store", store}, 2, "not both"},
      {{consumer, "--rpc", "http://a/rpc", "--store", store, "--changes", "nova=soon"}, 2, "--changes nova wants a positive integer"},
      {{consumer, "--rpc", "amqp://guest:hush@127.0.0.1:1/", "--store", store}, 1, "cannot connect"},
  };
  for (const auto& c : cases) {
    const auto r = run_to_end(c.argv, d.path);
    EXPECT_TRUE(r.status.exited && r.status.code == c.code) << c.argv[1] << ": " << r.status.describe() << "\n" << r.err;
    EXPECT_TRUE(contains(r.err, c.says)) << r.err;
    EXPECT_FALSE(contains(r.err, "hush")) << "a password printed: " << r.err;
  }
}

TEST(OndemandExamples, TwoCollectorsOverHttpOneKilledTheConsumerHoldsEverythingAndRestarts) {
  REQUIRE_EXAMPLES();
  scratch_dir d;
  const std::string collector = (bin / "ondemand_collector").string(), consumer = (bin / "ondemand_consumer").string();
  const std::string events = "sqlite:" + (d.path / "events.db").string(), state = "sqlite:" + (d.path / "state.db").string();
  std::ofstream(d.path / "hosts.json") << R"([{"entity_type":"host","entity_id":"h1","payload":{"cpus":4}},
                                              {"entity_type":"host","entity_id":"h2"}])";
  auto start_collector = [&](const std::string& name) {
    fs::create_directories(d.path / name);
    auto c = child_process::spawn({collector, "--store", events, "--rpc", "http://127.0.0.1:0/rpc", "--instance", name, "--static",
                                   "hosts=" + (d.path / "hosts.json").string(), "--synthetic", "500",
                                   "--page-events", "64"},  // every get_all in pages, across the kill
                                  d.path / name / "out", d.path / name / "err");
    const auto url = c.wait_for_output_line("listening on ", 10s);
    EXPECT_TRUE(url) << read_text_file(d.path / name / "err");
    return std::pair(std::move(c), url.value_or(""));
  };
  auto [a, a_url] = start_collector("col_a");
  auto [b, b_url] = start_collector("col_b");
  ASSERT_FALSE(a_url.empty() || b_url.empty());
  const auto health = get(a_url + "/health");
  EXPECT_EQ(health.status, 200);
  EXPECT_TRUE(contains(health.body, R"("store":"ok")")) << health.body;

  fs::create_directories(d.path / "consumer");
  auto c = child_process::spawn({consumer, "--rpc", a_url + "/rpc", "--rpc", b_url + "/rpc", "--store", state, "--events-store", events,
                                 "--snapshot-interval", "1", "--changes", "synthetic=1", "--timeout", "2000", "--retry-base", "100",
                                 "--run-for", "3", "--print-every", "1", "--report", (d.path / "consumer" / "report.json").string()},
                                d.path / "consumer" / "out", d.path / "consumer" / "err");
  ASSERT_TRUE(c.wait_for_output_line("listening on ", 10s)) << read_text_file(d.path / "consumer" / "err");
  std::this_thread::sleep_for(1500ms);
  a.signal(SIGKILL);  // mid-run: the consumer's calls go to B
  const auto ended = c.wait_for(15s);
  ASSERT_TRUE(ended);
  EXPECT_TRUE(ended->success()) << ended->describe() << read_text_file(d.path / "consumer" / "err");
  const std::string report = read_text_file(d.path / "consumer" / "report.json");
  EXPECT_EQ(field(report, "entities"), 502) << report;
  EXPECT_EQ(field(report, "live"), 502) << report;
  EXPECT_GE(field(report, "snapshots"), 2) << report;
  EXPECT_TRUE(contains(read_text_file(d.path / "consumer" / "err"), "live: hosts=2 synthetic=500"));

  // Restarted: the newest snapshot, then what the collectors persisted after it; no get_all from scratch.
  const auto again = run_to_end({consumer, "--rpc", b_url + "/rpc", "--store", state, "--events-store", events, "--snapshot-interval",
                                 "600", "--run-for", "1", "--report", (d.path / "consumer" / "again.json").string()},
                                d.path / "consumer");
  EXPECT_TRUE(again.status.success()) << again.err;
  const std::string restarted = read_text_file(d.path / "consumer" / "again.json");
  EXPECT_TRUE(contains(restarted, R"("restored_from":"ondemand-state-)")) << restarted;
  EXPECT_EQ(field(restarted, "entities"), 502) << restarted;
  EXPECT_EQ(field(restarted, "calls"), 0) << restarted;  // the next get_all is due 600 s after the snapshot
  EXPECT_TRUE(contains(again.err, "restoring snapshot")) << again.err;

  const auto b_end = b.terminate();
  EXPECT_TRUE(b_end.success()) << b_end.describe();
  const std::string b_report = read_text_file(d.path / "col_b" / "out");
  EXPECT_GT(field(b_report, "calls"), 0) << b_report;
  EXPECT_EQ(field(b_report, "failed"), 0) << b_report;
}

TEST(OndemandExamples, OnPostgreSqlTheCollectorPersistsAndARestartedConsumerRestoresAndReplays) {
  REQUIRE_EXAMPLES();
  const auto server = tributary::testing::postgres_url();
  if (!server) GTEST_SKIP() << tributary::testing::no_server_message;
  const tributary::testing::scratch_schema schema(*server);
  const std::string store = *server + (contains(*server, "?") ? "&" : "?") + "schema=" + schema.name();
  const std::string password = password_of(*server);
  scratch_dir d;
  const std::string collector = (bin / "ondemand_collector").string(), consumer = (bin / "ondemand_consumer").string();
  fs::create_directories(d.path / "col");
  auto c = child_process::spawn({collector, "--store", store, "--rpc", "http://127.0.0.1:0/rpc", "--instance", "col", "--synthetic", "300",
                                 "--page-events", "64"},
                                d.path / "col" / "out", d.path / "col" / "err");
  const auto url = c.wait_for_output_line("listening on ", 10s);
  ASSERT_TRUE(url) << read_text_file(d.path / "col" / "err");
  const auto health = get(*url + "/health");
  EXPECT_EQ(health.status, 200);
  EXPECT_TRUE(contains(health.body, R"("store":"ok")")) << health.body;

  // Snapshots and the replayed events both on PostgreSQL.
  const auto first = run_to_end({consumer, "--rpc", *url + "/rpc", "--store", store, "--snapshot-interval", "1", "--run-for", "2",
                                 "--report", (d.path / "first.json").string()},
                                d.path);
  EXPECT_TRUE(first.status.success()) << first.status.describe() << first.err;
  const std::string report = read_text_file(d.path / "first.json");
  EXPECT_EQ(field(report, "entities"), 300) << report;
  EXPECT_GE(field(report, "snapshots"), 1) << report;
  // Events persisted after the snapshot (another consumer's get_all), for the restart to replay.
  http_request call;
  call.method = "POST";
  call.url = *url + "/rpc";
  call.headers = {{"Content-Type", "application/json"}};
  call.body = R"({"jsonrpc":"2.0","id":1,"method":"get_all","params":{"datasource_names":["synthetic"]}})";
  curl_options once;
  once.max_attempts = 1;
  static const curl_library library;
  const auto answered = curl_transport(library, once).perform(std::move(call));
  ASSERT_EQ(answered.status, 200) << answered.error;
  for (int i = 0; i < 100 && !contains(get(*url + "/metrics").body, "tributary_ondemand_persistor_pending 0"); ++i)
    std::this_thread::sleep_for(50ms);
  const auto again = run_to_end({consumer, "--rpc", *url + "/rpc", "--store", store, "--snapshot-interval", "600", "--run-for", "1",
                                 "--report", (d.path / "again.json").string()},
                                d.path);
  EXPECT_TRUE(again.status.success()) << again.err;
  const std::string restarted = read_text_file(d.path / "again.json");
  EXPECT_TRUE(contains(restarted, R"("restored_from":"ondemand-state-)")) << restarted;
  EXPECT_EQ(field(restarted, "entities"), 300) << restarted;
  EXPECT_EQ(field(restarted, "calls"), 0) << restarted;
  EXPECT_GE(field(restarted, "replayed"), 64) << restarted;  // that get_all's first page (all it asked for), from PostgreSQL

  const auto end = c.terminate();
  EXPECT_TRUE(end.success()) << end.describe();
  const std::string persisted = read_text_file(d.path / "col" / "out");
  EXPECT_GE(field(persisted, "written"), 364) << persisted;
  EXPECT_EQ(field(persisted, "failed"), 0) << persisted;
  for (const auto& text : {first.err, again.err, read_text_file(d.path / "col" / "err"), persisted})
    EXPECT_TRUE(password.empty() || !contains(text, password)) << "the store's password printed: " << text;

  // A server that is not there: exit 1, named without its password.
  const auto down = run_to_end({collector, "--store", "postgres://me:hush@127.0.0.1:1/events", "--rpc", "http://127.0.0.1:0/rpc",
                                "--synthetic", "3"},
                               d.path);
  EXPECT_TRUE(down.status.exited && down.status.code == 1) << down.status.describe() << down.err;
  EXPECT_TRUE(contains(down.err, "postgres://me:***@127.0.0.1:1/events") || contains(down.err, "127.0.0.1")) << down.err;
  EXPECT_FALSE(contains(down.err, "hush")) << down.err;
}

TEST(OndemandExamples, TheConsumerSaysWhichDependencyIsDown) {
  REQUIRE_EXAMPLES();
  scratch_dir d;
  auto c = child_process::spawn({(bin / "ondemand_consumer").string(), "--rpc", "http://127.0.0.1:1/rpc", "--store",
                                 "sqlite:" + (d.path / "state.db").string(), "--retry-base", "50", "--run-for", "5"},
                                d.path / "out", d.path / "err");
  const auto url = c.wait_for_output_line("listening on ", 10s);
  ASSERT_TRUE(url);
  const std::string base = url->substr(0, url->find(' '));
  http_response h;
  for (int i = 0; i < 100; ++i) {  // until the first call has failed
    h = get(base + "/health");
    if (h.status == 503) break;
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(h.status, 503);
  EXPECT_TRUE(contains(h.body, R"("store":"ok")")) << h.body;
  EXPECT_TRUE(contains(h.body, R"("collector_services":"down: the last )")) << h.body;
  EXPECT_TRUE(contains(h.body, "connection refused")) << h.body;
  const auto metrics = get(base + "/metrics");
  EXPECT_TRUE(contains(metrics.body, "tributary_ondemand_consumer_calls_failed_total ")) << metrics.body;
  const auto end = c.terminate();
  EXPECT_TRUE(end.success()) << end.describe();  // SIGTERM: a graceful stop and a report
  const std::string report = read_text_file(d.path / "out");
  EXPECT_TRUE(contains(report, R"("entities":0)")) << report;
  EXPECT_TRUE(contains(report, R"("last_failure":"get_all: )")) << report;  // why, in the report too
  EXPECT_TRUE(contains(read_text_file(d.path / "err"), "; failing: get_all: ")) << read_text_file(d.path / "err");
}

TEST(OndemandExamples, TheDemoOverRabbitMqHoldsEveryEntity) {
  REQUIRE_EXAMPLES();
  if (!std::getenv("TRIBUTARY_RABBITMQ_URL"))
    GTEST_SKIP() << "TRIBUTARY_RABBITMQ_URL is not set: run scripts/services start; set -a; source build/services/env; set +a";
  scratch_dir d;
  ::setenv("TRIBUTARY_DEMO_BIN", bin.c_str(), 1);
  ::setenv("TRIBUTARY_DEMO_RUN_DIR", (d.path / "run").c_str(), 1);
  ::setenv("DEMO_ENTITIES", "2000", 1);
  ::setenv("DEMO_SECONDS", "6", 1);
  const auto r = run_to_end({"/bin/bash", (source_dir() / "scripts" / "demo-ondemand").string()}, d.path, 60s);
  EXPECT_TRUE(r.status.success()) << r.status.describe() << "\n" << r.err;
  EXPECT_EQ(field(r.out, "entities_held"), 2002) << r.out;
  EXPECT_EQ(field(r.out, "entities_expected"), 2002) << r.out;
  EXPECT_GE(field(r.out, "snapshots"), 2) << r.out;
  EXPECT_GE(field(r.out, "calls_retried"), 0) << r.out;
  EXPECT_GT(field(r.out, "collector_b_calls"), field(r.out, "collector_b_calls_before_kill")) << r.out;  // B took over
}

}  // namespace
}  // namespace tributary
