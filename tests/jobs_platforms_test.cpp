// The platforms shipped as examples (examples/jobs_platforms.hpp): their settings schemas, and each run
// for real: xroad_collection against the bundled X-Road simulator (examples/xroad) on loopback into a
// SQLite catalogue, http_to_store fetching JSON from a loopback server into a SQLite store. The job
// context is a recording one: the worker's own context is tested in jobs_worker_test.

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

#include <simdjson.h>

#include <tributary/execution/thread_pool.hpp>
#include <tributary/index/sqlite.hpp>
#include <tributary/jobs/api.hpp>
#include <tributary/redact.hpp>
#include <tributary/server/http_server.hpp>

#include "jobs_platforms.hpp"
#include "support/common.hpp"
#include "xroad/simulator_server.hpp"

namespace {

using namespace tributary;
namespace demo = tributary::examples::jobs_demo;
namespace fs = std::filesystem;
using tributary::testing::contains;
using tributary::testing::scratch_database;

const fs::path fixtures = (std::getenv("TRIBUTARY_SOURCE_DIR") ? fs::path(std::getenv("TRIBUTARY_SOURCE_DIR"))
                                                               : fs::path(__FILE__).parent_path().parent_path()) /
                          "examples" / "xroad" / "fixtures";

/// What a platform reported; cancel_requested answers `cancel_after` reports or more as canceled.
class recording_context final : public jobs::job_context {
 public:
  void progress(std::string_view phase, std::string_view state) override {
    reports.push_back({std::string(phase), std::string(state)});
  }
  void dataset(std::string_view tag, std::string_view text) override { datasets[std::string(tag)] = std::string(text); }
  bool cancel_requested() override { return reports.size() >= cancel_after; }

  [[nodiscard]] std::vector<std::string> phases() const {
    std::vector<std::string> out;
    for (const auto& r : reports)
      if (out.empty() || out.back() != r.first) out.push_back(r.first);
    return out;
  }
  [[nodiscard]] std::string everything() const {
    std::string all;
    for (const auto& [p, s] : reports) all += p + "=" + s + "\n";
    for (const auto& [t, d] : datasets) all += t + "=" + d + "\n";
    return all;
  }

  std::vector<std::pair<std::string, std::string>> reports;
  std::map<std::string, std::string> datasets;
  std::size_t cancel_after = static_cast<std::size_t>(-1);
};

template <class S>
S parse(std::string_view json) {
  return jobs::parse_settings<S>(json, std::chrono::system_clock::now());
}

simdjson::dom::element schema_of(simdjson::dom::parser& parser, std::string& text, std::string_view platform_id) {
  // The schema as GET /platforms/get shows it, from the API itself.
  text = "";
  demo::platforms::each([&]<class P>() {
    if (P::id == platform_id) text = jobs::settings_schema<typename P::settings_type>();
  });
  EXPECT_FALSE(text.empty()) << platform_id;
  return parser.parse(text).value();
}

// ---- settings schemas -------------------------------------------------------------------------------

TEST(JobsPlatforms, EveryShippedPlatformIsListed) {
  std::vector<std::string> ids;
  demo::platforms::each([&]<class P>() { ids.emplace_back(P::id); });
  EXPECT_EQ(ids, (std::vector<std::string>{"xroad_collection", "http_to_store", "sleep", "report"}));
}

TEST(JobsPlatforms, XroadCollectionSchema) {
  simdjson::dom::parser parser;
  std::string text;
  const auto s = schema_of(parser, text, "xroad_collection");
  EXPECT_EQ(std::string_view(s["environment"]["type"]), "enumeration");
  EXPECT_EQ(simdjson::minify(s["environment"]["values"]), R"(["dev","staging","prod"])");
  EXPECT_TRUE(bool(s["environment"]["required"]));
  EXPECT_EQ(std::string_view(s["xroad"]["type"]), "string");
  EXPECT_TRUE(bool(s["client"]["required"]));
  EXPECT_EQ(std::string_view(s["store"]["type"]), "secret");  // a catalogue URL may carry a password
  EXPECT_TRUE(bool(s["store"]["required"]));
  EXPECT_FALSE(bool(s["peers"]["required"]));
  EXPECT_EQ(std::string_view(s["peers"]["default"]), "");
  EXPECT_EQ(int64_t(s["concurrency"]["default"]), 16);
  EXPECT_EQ(int64_t(s["concurrency"]["minimum"]), 1);
  EXPECT_EQ(int64_t(s["wait_deadline_s"]["default"]), 180);
  EXPECT_EQ(std::string_view(s["read_alias"]["default"]), "apicatalogue");
  EXPECT_FALSE(bool(s["force_publish"]["default"]));
}

TEST(JobsPlatforms, HttpToStoreSchema) {
  simdjson::dom::parser parser;
  std::string text;
  const auto s = schema_of(parser, text, "http_to_store");
  EXPECT_EQ(std::string_view(s["url"]["type"]), "string");
  EXPECT_TRUE(bool(s["url"]["required"]));
  EXPECT_EQ(std::string_view(s["store"]["type"]), "secret");
  EXPECT_EQ(std::string_view(s["bearer_token"]["type"]), "secret");
  EXPECT_FALSE(bool(s["bearer_token"]["required"]));
  EXPECT_TRUE(bool(s["index"]["required"]));
  EXPECT_EQ(std::string_view(s["id_field"]["default"]), "id");
  EXPECT_EQ(std::string_view(s["records"]["default"]), "");
  EXPECT_EQ(int64_t(s["max_response_mb"]["maximum"]), 4096);
}

TEST(JobsPlatforms, SleepAndReportSchemas) {
  simdjson::dom::parser parser;
  std::string text;
  auto s = schema_of(parser, text, "sleep");
  EXPECT_EQ(int64_t(s["ms"]["default"]), 1000);
  EXPECT_EQ(std::string_view(s["fail"]["type"]), "boolean");
  simdjson::dom::parser parser2;
  std::string text2;
  s = schema_of(parser2, text2, "report");
  EXPECT_EQ(std::string_view(s["start_date"]["type"]), "date");
  EXPECT_EQ(std::string_view(s["end_date"]["default"]), "yesterday");
  EXPECT_EQ(std::string_view(s["storage"]["type"]), "object");
  EXPECT_EQ(std::string_view(s["storage"]["settings"]["settings"]["settings"]["password"]["type"]), "secret");
}

TEST(JobsPlatforms, MissingRequiredSettingsAreEachNamed) {
  try {
    (void)parse<demo::xroad_collection_settings>(R"({"environment": "qa"})");
    FAIL() << "accepted";
  } catch (const jobs::settings_error& e) {
    const std::string what = e.what();
    for (const char* name : {"environment: must be one of dev, staging, prod", "xroad: missing", "client: missing", "store: missing"})
      EXPECT_TRUE(contains(what, name)) << what;
  }
  try {
    (void)parse<demo::http_to_store_settings>(R"({"url": 7, "timeout_ms": 0})");
    FAIL() << "accepted";
  } catch (const jobs::settings_error& e) {
    const std::string what = e.what();
    for (const char* name : {"url: must be a string", "store: missing", "index: missing", "timeout_ms: must be an integer between 1"})
      EXPECT_TRUE(contains(what, name)) << what;
  }
}

TEST(JobsPlatforms, AnUnknownStoreSchemeIsToldTheFormsAndTheRedactedMessageStillShowsThem) {
  try {
    (void)demo::parse_store("bogus://x");
    FAIL() << "accepted";
  } catch (const error& e) {
    // The executables print errors through redact_urls_in: a form written HOST:PORT reads to it as a
    // password after a colon, and the user was shown "redis://HOST:***".
    const std::string shown = redact_urls_in(e.what());
    EXPECT_TRUE(contains(shown, "redis://HOST:6379/DB")) << shown;
    EXPECT_TRUE(contains(shown, "sqlite:///PATH")) << shown;
    EXPECT_FALSE(contains(shown, "***")) << shown;
  }
}

TEST(JobsPlatforms, TheStoreUrlIsNeverEchoed) {
  const auto s = parse<demo::xroad_collection_settings>(
    R"({"environment": "dev", "xroad": "http://x", "client": "EE-DEV/GOV/1/c", "store": "postgres://u:hunter2@db/x"})");
  const std::string echo = jobs::redacted_settings_json(s);
  EXPECT_FALSE(contains(echo, "hunter2")) << echo;
  EXPECT_TRUE(contains(echo, R"("store":"***")")) << echo;
}

// ---- xroad_collection against the simulator ---------------------------------------------------------

class XroadCollectionJob : public ::testing::Test {
 protected:
  void SetUp() override {
    sim_ = std::make_unique<xroad_sim::simulator_server>(xroad_sim::simulator::from_fixtures(fixtures / "dev"));
    sim_->start();
  }
  std::string settings(std::string_view extra = "") const {
    return "{\"environment\": \"dev\", \"xroad\": \"" + sim_->base_url() +
           "\", \"client\": \"EE-DEV/GOV/70000310/kmais-client\", \"store\": \"sqlite://" + db_.path() + "\", " +
           "\"member_codes\": \"" + (fixtures / "member-codes.json").string() + "\"" + std::string(extra) + "}";
  }
  scratch_database db_;
  std::unique_ptr<xroad_sim::simulator_server> sim_;
};

TEST_F(XroadCollectionJob, CollectsTheEnvironmentReportingTheCollectorsPhases) {
  recording_context context;
  demo::xroad_collection_platform platform;
  const std::string result = platform.run(parse<demo::xroad_collection_settings>(settings()), context);

  simdjson::dom::parser parser;
  const auto report = parser.parse(result).value();
  EXPECT_TRUE(bool(report["ok"])) << result;
  EXPECT_GT(uint64_t(report["records"]), 0u) << result;
  EXPECT_EQ(context.phases(), (std::vector<std::string>{"name_worker", "fetch_providers", "create_worker", "collect_services",
                                                        "publish_environment", "wait_for_peers", "activate", "clean_up"}))
    << context.everything();
  // Each phase started, and ended done; collect_services reports its providers on the way.
  EXPECT_EQ(context.reports.front(), (std::pair<std::string, std::string>{"name_worker", "started"}));
  EXPECT_EQ(context.reports.back(), (std::pair<std::string, std::string>{"clean_up", "done"}));
  bool counted = false;
  for (const auto& [phase, state] : context.reports) counted = counted || (phase == "collect_services" && contains(state, " providers, "));
  EXPECT_TRUE(counted) << context.everything();
  EXPECT_EQ(context.datasets.at("report"), result);

  // The catalogue is live: the read alias names one index holding the services.
  auto store = sqlite_index::open_url("sqlite://" + db_.path());
  const auto live = store.alias_targets("apicatalogue");
  ASSERT_EQ(live.size(), 1u);
  EXPECT_EQ(store.scan(live.front(), "", 100000).documents.size(), uint64_t(report["records"]));
}

TEST_F(XroadCollectionJob, ACancelStopsTheRunAndTheCatalogueIsUntouched) {
  recording_context context;
  context.cancel_after = 3;  // during fetch_providers or create_worker
  demo::xroad_collection_platform platform;
  EXPECT_THROW((void)platform.run(parse<demo::xroad_collection_settings>(settings()), context), jobs::job_canceled);
  auto store = sqlite_index::open_url("sqlite://" + db_.path());
  EXPECT_TRUE(store.alias_targets("apicatalogue").empty());
  EXPECT_TRUE(contains(context.datasets.at("report"), "interrupted")) << context.datasets.at("report");
}

TEST_F(XroadCollectionJob, ASecurityServerThatIsDownFailsTheJobSayingWhy) {
  sim_->stop();
  recording_context context;
  demo::xroad_collection_platform platform;
  try {
    (void)platform.run(parse<demo::xroad_collection_settings>(settings(R"(, "timeout_ms": 2000)")), context);
    FAIL() << "succeeded";
  } catch (const std::runtime_error& e) {
    EXPECT_TRUE(contains(e.what(), "the collection failed: fetch providers")) << e.what();
  }
}

TEST_F(XroadCollectionJob, SettingsTheCollectorRefusesAreNamed) {
  recording_context context;
  demo::xroad_collection_platform platform;
  auto refused = [&](std::string_view json) {
    try {
      (void)platform.run(parse<demo::xroad_collection_settings>(json), context);
    } catch (const jobs::settings_error& e) {
      return std::string(e.what());
    }
    return std::string("<accepted>");
  };
  EXPECT_TRUE(contains(refused(R"({"environment": "dev", "xroad": "http://x", "client": "no-slashes", "store": "sqlite:///tmp/x.db"})"),
                       "client: must be {instance}/{class}/{code}/{subsystem}"));
  const std::string bad_store =
    refused(R"({"environment": "dev", "xroad": "http://x", "client": "A/B/C/D", "store": "mysql://root:hunter2@db/x"})");
  EXPECT_TRUE(contains(bad_store, "store: ")) << bad_store;
  EXPECT_FALSE(contains(bad_store, "hunter2")) << bad_store;
  EXPECT_TRUE(contains(refused(R"({"environment": "dev", "xroad": "http://x", "client": "A/B/C/D", "store": "sqlite:///tmp/x.db",
                                   "peers": "staging,dev"})"),
                       "peers: 'dev' is not a peer of dev"));
  EXPECT_TRUE(context.reports.empty());  // refused before anything ran
}

// ---- http_to_store from a loopback server ------------------------------------------------------------

class HttpToStoreJob : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<basic_http_server<handler_type>>(pool_, handler_type(handler()), server_options{});
    base_ = "http://127.0.0.1:" + std::to_string(server_->start());
  }
  void TearDown() override { server_->stop(); }

  using handler_type = function_handler<std::function<server_response(server_request&)>>;
  std::function<server_response(server_request&)> handler() {
    return [this](server_request& r) {
      std::lock_guard lock(mu_);
      authorization_ = std::string(r.header("Authorization").value_or(""));
      if (r.path == "/items") return server_response::json(200, R"({"page": 1, "items": [{"id": "a", "n": 1}, {"id": 7, "n": 2}, {"id": "c", "n": 3}]})");
      if (r.path == "/one") return server_response::json(200, R"({"id": "only", "n": 1})");
      if (r.path == "/no-ids") return server_response::json(200, R"([{"n": 1}, {"n": 2}])");
      if (r.path == "/text") return server_response::text(200, "not json");
      return server_response::json(404, R"({"error": "no"})");
    };
  }
  std::string settings(std::string_view path, std::string_view extra = "") const {
    return "{\"url\": \"" + base_ + std::string(path) + "\", \"store\": \"sqlite://" + db_.path() + "\", \"index\": \"fetched\"" +
           std::string(extra) + "}";
  }
  std::string run(std::string_view path, std::string_view extra = "") {
    demo::http_to_store_platform platform;
    return platform.run(parse<demo::http_to_store_settings>(settings(path, extra)), context_);
  }
  std::string failure(std::string_view path, std::string_view extra = "") {
    try {
      (void)run(path, extra);
    } catch (const std::exception& e) {
      return e.what();
    }
    return "<succeeded>";
  }
  std::vector<stored_document> stored() {
    auto store = sqlite_index::open_url("sqlite://" + db_.path());
    return store.scan("fetched", "", 1000).documents;
  }

  scratch_database db_;
  thread_pool pool_{2, 16};
  std::unique_ptr<basic_http_server<handler_type>> server_;
  std::string base_;
  std::mutex mu_;
  std::string authorization_;
  recording_context context_;
};

TEST_F(HttpToStoreJob, StoresTheRecordsThePointerNamesByTheirIds) {
  const std::string result = run("/items", R"(, "records": "/items", "bearer_token": "t0ken")");
  EXPECT_EQ(result, "{\"url\":\"" + base_ + "/items\",\"index\":\"fetched\",\"records\":3,\"bytes\":" +
                      std::to_string(std::string_view(R"({"page": 1, "items": [{"id": "a", "n": 1}, {"id": 7, "n": 2}, {"id": "c", "n": 3}]})").size()) + "}");
  EXPECT_EQ(stored(), (std::vector<stored_document>{{"7", R"({"id":7,"n":2})"}, {"a", R"({"id":"a","n":1})"}, {"c", R"({"id":"c","n":3})"}}));
  {
    std::lock_guard lock(mu_);
    EXPECT_EQ(authorization_, "Bearer t0ken");
  }
  EXPECT_EQ(context_.phases(), (std::vector<std::string>{"fetch", "parse", "store"}));
  EXPECT_EQ(context_.reports.back(), (std::pair<std::string, std::string>{"store", "3/3"}));
  EXPECT_FALSE(contains(context_.everything(), "t0ken"));
  // Again: the same ids are replaced, not added.
  (void)run("/items", R"(, "records": "/items")");
  EXPECT_EQ(stored().size(), 3u);
}

TEST_F(HttpToStoreJob, OneObjectAndPositionalIds) {
  (void)run("/one");
  (void)run("/no-ids", R"(, "id_field": "")");
  EXPECT_EQ(stored(), (std::vector<stored_document>{{"000000000000", R"({"n":1})"}, {"000000000001", R"({"n":2})"}, {"only", R"({"id":"only","n":1})"}}));
}

TEST_F(HttpToStoreJob, EveryFailureSaysWhat) {
  EXPECT_TRUE(contains(failure("/missing"), "answered 404")) << failure("/missing");
  EXPECT_EQ(failure("/text"), "the answer is not JSON");
  EXPECT_EQ(failure("/no-ids"), "record 0 has no 'id' (id_field)");
  EXPECT_TRUE(contains(failure("/items", R"(, "records": "/nothing")"), "records: '/nothing' points at nothing"));
  EXPECT_TRUE(contains(failure("/items", R"(, "index": "Bad Name!")"), "index: ")) << failure("/items", R"(, "index": "Bad Name!")");
  demo::http_to_store_platform platform;
  try {
    (void)platform.run(parse<demo::http_to_store_settings>(R"({"url": "ftp://x", "store": "sqlite:///tmp/x.db", "index": "i"})"), context_);
    ADD_FAILURE() << "accepted ftp://";
  } catch (const jobs::settings_error& e) {
    EXPECT_TRUE(contains(e.what(), "url: must start with http:// or https://")) << e.what();
  }
  // Nothing was stored by a failing run.
  EXPECT_THROW((void)stored(), error);
}

TEST(HttpToStoreJobDown, AServerThatIsDownFailsNamingTheUrlRedacted) {
  scratch_database db;
  recording_context context;
  demo::http_to_store_platform platform;
  const std::string url = "http://user:pw1234@127.0.0.1:" + std::to_string(tributary::testing::closed_port()) + "/x";
  try {
    (void)platform.run(parse<demo::http_to_store_settings>("{\"url\": \"" + url + "\", \"store\": \"sqlite://" + db.path() +
                                                           "\", \"index\": \"i\", \"timeout_ms\": 2000}"),
                       context);
    FAIL() << "succeeded";
  } catch (const std::runtime_error& e) {
    EXPECT_TRUE(contains(e.what(), "GET http://")) << e.what();
    EXPECT_FALSE(contains(e.what(), "pw1234")) << e.what();
  }
}

}  // namespace
