// The job executor's HTTP API (jobs/api.hpp) over real loopback HTTP (basic_http_server, curl_transport),
// on each job store: every route, every error case of JOBS.md, relative dates in virtual time, and no
// secret in any answer. A "worker" here is the test driving the store directly.

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <optional>
#include <random>
#include <string>

#include <simdjson.h>

#include <tributary/execution/thread_pool.hpp>
#include <tributary/jobs/api.hpp>
#include <tributary/jobs/archetypes.hpp>
#include <tributary/server/http_server.hpp>
#include <tributary/transport/curl.hpp>

#include "support/jobs_backends.hpp"

namespace {

using namespace tributary;
using namespace std::chrono;
using jobs::job_status;

struct sleep_settings {
  using settings_concept = jobs::settings_tag;
  std::int64_t ms = 0;
  jobs::date since;
  jobs::secret token;
  static constexpr auto settings() {
    return std::tuple{jobs::setting("ms", &sleep_settings::ms).between(0, 60'000).defaults_to(10),
                      jobs::setting("since", &sleep_settings::since).defaults_to("today"),
                      jobs::setting("token", &sleep_settings::token).optional()};
  }
};
struct sleep_platform {
  using platform_concept = jobs::platform_tag;
  using settings_type = sleep_settings;
  static constexpr std::string_view id = "sleep", display_name = "Sleep (tests)";
  static constexpr unsigned max_attempts = 2;
  static constexpr std::chrono::seconds time_limit{60};
  std::string run(const sleep_settings& s, jobs::job_context& c) {
    c.progress("sleep", "started");
    return "{\"slept_ms\":" + std::to_string(s.ms) + "}";
  }
};

struct target_settings {
  using settings_concept = jobs::settings_tag;
  std::string type, hostname;
  jobs::secret password;
  static constexpr auto settings() {
    return std::tuple{jobs::enumeration("type", &target_settings::type, {"mysql", "postgres"}),
                      jobs::setting("hostname", &target_settings::hostname),
                      jobs::setting("password", &target_settings::password)};
  }
};
struct report_settings {
  using settings_concept = jobs::settings_tag;
  jobs::date start_date, end_date;
  std::string username;
  jobs::secret password;
  target_settings storage;
  static constexpr auto settings() {
    return std::tuple{jobs::setting("start_date", &report_settings::start_date),
                      jobs::setting("end_date", &report_settings::end_date).defaults_to("yesterday"),
                      jobs::setting("username", &report_settings::username),
                      jobs::setting("password", &report_settings::password),
                      jobs::setting("storage", &report_settings::storage)};
  }
};
struct report_platform {
  using platform_concept = jobs::platform_tag;
  using settings_type = report_settings;
  static constexpr std::string_view id = "coinis", display_name = "CoinIS report";
  static constexpr unsigned max_attempts = 1;
  static constexpr std::chrono::seconds time_limit{600};
  std::string run(const report_settings&, jobs::job_context&) { return "{}"; }
};
static_assert(jobs::platform<sleep_platform>);
static_assert(jobs::platform<report_platform>);

using platforms = jobs::platform_list<sleep_platform, report_platform>;

const curl_library& curl() {
  static const curl_library library;  // one per test process, as curl_global_init wants
  return library;
}
curl_options one_attempt() {
  curl_options o;
  o.max_attempts = 1;
  o.connect_timeout = 5s;
  o.total_timeout = 30s;
  return o;
}

simdjson::dom::element parse(simdjson::dom::parser& p, const std::string& body) {
  simdjson::dom::element e;
  EXPECT_EQ(p.parse(simdjson::padded_string(body)).get(e), simdjson::SUCCESS) << body;
  return e;
}

constexpr const char* seed_run = R"j({"_id": "devTest", "platform_id": "coinis", "settings": {
  "start_date": "4 days back", "end_date": "yesterday", "username": "CoinISUsername", "password": "CoinISPassword",
  "storage": {"type": "mysql", "settings_are": "wrong here"}}})j";
constexpr const char* good_run = R"j({"_id": "devTest", "platform_id": "coinis", "settings": {
  "start_date": "4 days back", "username": "CoinISUsername", "password": "CoinISPassword",
  "storage": {"type": "mysql", "hostname": "localhost", "password": "iamapassword"}}})j";

template <class Backend>
class JobApi : public ::testing::Test {
 protected:
  using store_type = typename Backend::store_type;
  using api_type = jobs::basic_job_api<store_type, platforms, manual_clock>;

  void SetUp() override {
    if (auto why = Backend::skip_reason()) GTEST_SKIP() << why->c_str();
    store_ = backend_.open(clock_);
    server_ = std::make_unique<basic_http_server<api_type>>(pool_, api_type(*store_, clock_), server_options{});
    server_->start();
  }

  http_response call(std::string method, const std::string& target, std::string body = {}) {
    http_request r;
    r.method = std::move(method);
    r.url = server_->base_url() + target;
    r.body = std::move(body);
    r.idempotent = false;
    r.retry_on_status = false;
    if (!r.body.empty()) r.headers.emplace_back("Content-Type", "application/json");
    auto res = client_.perform(std::move(r));
    // No answer ever carries a secret of the test platforms' settings.
    for (const char* secret : {"CoinISPassword", "iamapassword", "hunter2"})
      EXPECT_EQ(res.body.find(secret), std::string::npos) << target << ": " << res.body;
    return res;
  }
  std::string submit(const std::string& body) {
    const auto r = call("POST", "/execution/run", body);
    EXPECT_EQ(r.status, 200) << r.body;
    simdjson::dom::parser p;
    return std::string(parse(p, r.body)["job_id"].get_string().value());
  }

  Backend backend_;
  manual_clock clock_{sys_days{year{2024} / 3 / 10} + hours(12)};
  std::unique_ptr<store_type> store_;
  thread_pool pool_{2, 32};
  std::unique_ptr<basic_http_server<api_type>> server_;
  curl_transport client_{curl(), one_attempt()};
};

using backends = ::testing::Types<tributary::testing::sqlite_jobs_backend, tributary::testing::redis_jobs_backend>;
struct backend_names {
  template <class T>
  static std::string GetName(int) {
    return T::label;
  }
};
TYPED_TEST_SUITE(JobApi, backends, backend_names);

TYPED_TEST(JobApi, AliveWithAndWithoutTheStore) {
  auto r = this->call("GET", "/system/alive");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "{\"alive\":true}");
  r = this->call("POST", "/system/alive");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("\"job_store\":{\"name\":"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("\"ok\":true"), std::string::npos) << r.body;
  r = this->call("DELETE", "/system/alive");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.header("Allow"), "GET, POST");
}

TYPED_TEST(JobApi, PlatformsGetShowsEverySchema) {
  const auto r = this->call("GET", "/platforms/get");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "{\"platforms\":[{\"id\":\"sleep\",\"display_name\":\"Sleep (tests)\",\"max_attempts\":2,\"time_limit_s\":60,\"settings\":" +
                      jobs::settings_schema<sleep_settings>() +
                      "},{\"id\":\"coinis\",\"display_name\":\"CoinIS report\",\"max_attempts\":1,\"time_limit_s\":600,\"settings\":" +
                      jobs::settings_schema<report_settings>() + "}]}");
  simdjson::dom::parser p;
  (void)parse(p, r.body);
}

TYPED_TEST(JobApi, RunThenGetFollowsTheJobToItsResult) {
  const std::string id = this->submit(good_run);
  simdjson::dom::parser p;
  auto r = this->call("GET", "/execution/get?job_id=" + id);
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = parse(p, r.body);
  EXPECT_EQ(j["status"].get_string().value(), "queued");
  EXPECT_EQ(j["_id"].get_string().value(), "devTest");
  EXPECT_EQ(j["platform_id"].get_string().value(), "coinis");
  // Settings normalized (the default end date), secrets "***".
  EXPECT_EQ(simdjson::minify(j["settings"].value()),
            R"j({"start_date":"4 days back","end_date":"yesterday","username":"CoinISUsername","password":"***",)j"
            R"j("storage":{"type":"mysql","hostname":"localhost","password":"***"}})j");
  EXPECT_TRUE(j["started_at_ms"].is_null());

  // The worker's side: the settings with secrets are in the store for it (only there).
  auto taken = this->store_->take("worker-1", milliseconds(0));
  ASSERT_TRUE(taken);
  EXPECT_NE(taken->settings.find("CoinISPassword"), std::string::npos);
  this->clock_.advance(seconds(2));
  EXPECT_TRUE(this->store_->progress(id, "worker-1", "login", "started"));
  EXPECT_TRUE(this->store_->progress(id, "worker-1", "login", "done"));
  EXPECT_TRUE(this->store_->progress(id, "worker-1", "fetch", "1/3"));
  EXPECT_TRUE(this->store_->dataset(id, "worker-1", "original", "a,b\n1,2"));
  r = this->call("GET", "/execution/get?job_id=" + id);
  j = parse(p, r.body);
  EXPECT_EQ(j["status"].get_string().value(), "started");
  EXPECT_EQ(simdjson::minify(j["progress"].value()),
            R"j({"login":{"state":"done","at_ms":1710072002000},"fetch":{"state":"1/3","at_ms":1710072002000}})j");
  EXPECT_TRUE(j["datasets"].error() == simdjson::NO_SUCH_FIELD);

  EXPECT_TRUE(this->store_->complete(id, "worker-1", job_status::finished, R"j({"rows":2})j"));
  r = this->call("GET", "/execution/get?job_id=" + id + "&full");
  j = parse(p, r.body);
  EXPECT_EQ(j["status"].get_string().value(), "finished");
  EXPECT_EQ(simdjson::minify(j["result"].value()), R"j({"rows":2})j");
  EXPECT_EQ(simdjson::minify(j["datasets"].value()), R"j({"original":"a,b\n1,2"})j");
  EXPECT_EQ(int64_t(j["ended_at_ms"].get_int64().value()), 1710072002000);
}

TYPED_TEST(JobApi, SettingsErrorsName400EverySettingAndWhy) {
  auto r = this->call("POST", "/execution/run", seed_run);
  ASSERT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(r.body,
            R"j({"error":"invalid settings for platform coinis","problems":[)j"
            R"j({"setting":"settings.storage.hostname","problem":"missing: a required string"},)j"
            R"j({"setting":"settings.storage.password","problem":"missing: a required secret"},)j"
            R"j({"setting":"settings.storage.settings_are","problem":"unknown setting (known: type, hostname, password)"}]})j");
  r = this->call("POST", "/execution/run", R"j({"platform_id": "sleep", "settings": {"ms": -1, "since": "soon", "token": 5}})j");
  ASSERT_EQ(r.status, 400);
  EXPECT_NE(r.body.find(R"j({"setting":"settings.ms","problem":"must be an integer between 0 and 60000 (got -1)"})j"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find(R"j("setting":"settings.since")j"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find(R"j({"setting":"settings.token","problem":"must be a string (a secret)"})j"), std::string::npos) << r.body;
  r = this->call("POST", "/execution/run", R"j({"platform_id": "sleep", "settings": []})j");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find(R"j({"setting":"settings","problem":"must be an object"})j"), std::string::npos) << r.body;
  EXPECT_TRUE(this->store_->list(std::nullopt, 10).empty());  // nothing stored by a refusal
}

TYPED_TEST(JobApi, BadBodiesAreFourHundredsNeverFiveHundreds) {
  auto r = this->call("POST", "/execution/run", "{\"platform_id\": ");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, R"j({"error":"the body is not valid JSON"})j");
  r = this->call("POST", "/execution/run", "[]");
  EXPECT_EQ(r.status, 400);
  r = this->call("POST", "/execution/run", "");
  EXPECT_EQ(r.status, 400);
  r = this->call("POST", "/execution/run", R"j({"_id": 7, "plataform": "sleep"})j");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, R"j({"error":"invalid request","problems":[{"setting":"_id","problem":"must be a string"},)j"
                    R"j({"setting":"platform_id","problem":"missing: a required string"},)j"
                    R"j({"setting":"settings","problem":"missing: a required object"},)j"
                    R"j({"setting":"plataform","problem":"unknown field (the body has _id, platform_id and settings)"}]})j");
  r = this->call("GET", "/execution/run");
  EXPECT_EQ(r.status, 405);
  r = this->call("GET", "/nowhere");
  EXPECT_EQ(r.status, 404);
  EXPECT_NE(r.body.find("/execution/run"), std::string::npos);
}

TYPED_TEST(JobApi, UnknownPlatform404ListsTheKnownOnes) {
  const auto r = this->call("POST", "/execution/run", R"j({"_id": "x", "platform_id": "mysterio", "settings": {}})j");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, R"j({"error":"unknown platform 'mysterio'","platforms":["sleep","coinis"]})j");
}

TYPED_TEST(JobApi, UnknownOrMissingJob) {
  auto r = this->call("GET", "/execution/get?job_id=nope");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, R"j({"error":"unknown job 'nope' (never submitted, or forgotten after its TTL)"})j");
  r = this->call("GET", "/execution/get");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, R"j({"error":"missing job_id (a query parameter: ?job_id=ID)"})j");
  r = this->call("POST", "/execution/cancel?job_id=nope");
  EXPECT_EQ(r.status, 404);
  r = this->call("POST", "/execution/cancel", "{\"job_id\": 3}");
  EXPECT_EQ(r.status, 400);
}

TYPED_TEST(JobApi, CancelQueuedAndRunningJobs) {
  const std::string running = this->submit(R"j({"platform_id": "sleep", "settings": {}})j");
  const std::string queued = this->submit(R"j({"platform_id": "sleep", "settings": {"token": "hunter2"}})j");
  ASSERT_TRUE(this->store_->take("w", milliseconds(0)));
  auto r = this->call("POST", "/execution/cancel", "{\"job_id\": \"" + queued + "\"}");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "{\"job_id\":\"" + queued + "\",\"outcome\":\"canceled\"}");
  r = this->call("POST", "/execution/cancel?job_id=" + running);
  EXPECT_EQ(r.body, "{\"job_id\":\"" + running + "\",\"outcome\":\"cancel requested\"}");
  EXPECT_TRUE(this->store_->cancel_requested(running));
  r = this->call("POST", "/execution/cancel?job_id=" + queued);
  EXPECT_EQ(r.body, "{\"job_id\":\"" + queued + "\",\"outcome\":\"already over\"}");
  r = this->call("GET", "/execution/get?job_id=" + running);
  EXPECT_NE(r.body.find("\"cancel_requested\":true"), std::string::npos) << r.body;
}

TYPED_TEST(JobApi, ListByStatus) {
  const std::string a = this->submit(R"j({"_id": "a", "platform_id": "sleep", "settings": {}})j");
  this->clock_.advance(milliseconds(5));
  const std::string b = this->submit(R"j({"_id": "b", "platform_id": "sleep", "settings": {}})j");
  ASSERT_TRUE(this->store_->take("w", milliseconds(0)));
  simdjson::dom::parser p;
  auto ids = [&](const std::string& body) {
    std::vector<std::string> out;
    const simdjson::dom::array jobs = parse(p, body)["jobs"].get_array().value();
    for (const simdjson::dom::element j : jobs) out.emplace_back(j["job_id"].get_string().value());
    return out;
  };
  auto r = this->call("GET", "/execution/list");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(ids(r.body), (std::vector<std::string>{b, a}));
  r = this->call("GET", "/execution/list?status=started");
  EXPECT_EQ(ids(r.body), (std::vector<std::string>{a}));
  r = this->call("GET", "/execution/list?status=queued&limit=1");
  EXPECT_EQ(ids(r.body), (std::vector<std::string>{b}));
  r = this->call("GET", "/execution/list?status=sleeping");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, R"j({"error":"unknown status 'sleeping'; there are queued, started, finished, failed, canceled, timed out"})j");
  r = this->call("GET", "/execution/list?limit=0");
  EXPECT_EQ(r.status, 400);
}

TYPED_TEST(JobApi, MetricsCountJobsByStatusTheQueueAndLiveWorkers) {
  const std::string a = this->submit(R"j({"platform_id": "sleep", "settings": {}})j");
  (void)this->submit(R"j({"platform_id": "sleep", "settings": {}})j");
  (void)this->submit(R"j({"platform_id": "sleep", "settings": {}})j");
  ASSERT_TRUE(this->store_->take("w1", milliseconds(0)));
  EXPECT_TRUE(this->store_->complete(a, "w1", job_status::failed, "no"));
  ASSERT_TRUE(this->store_->take("w2", milliseconds(0)));
  this->clock_.advance(seconds(31));  // w1 and w2 silent past the 30 s heartbeat timeout
  this->store_->heartbeat("w3");
  const auto r = this->call("GET", "/metrics");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.header("Content-Type"), "text/plain; version=0.0.4");
  for (const char* line : {"tributary_jobs{status=\"queued\"} 1\n", "tributary_jobs{status=\"started\"} 1\n",
                           "tributary_jobs{status=\"failed\"} 1\n", "tributary_jobs{status=\"finished\"} 0\n",
                           "tributary_jobs{status=\"timed_out\"} 0\n", "tributary_jobs_queue_depth 1\n",
                           "tributary_jobs_workers_alive 1\n", "# TYPE tributary_jobs gauge\n"})
    EXPECT_NE(r.body.find(line), std::string::npos) << line << " in\n" << r.body;
  this->clock_.advance(hours(24 * 8));  // past the default 7-day TTL of failed jobs
  EXPECT_NE(this->call("GET", "/metrics").body.find("tributary_jobs{status=\"failed\"} 0\n"), std::string::npos);
}

TYPED_TEST(JobApi, MetricsByPlatformEndsAndDurations) {
  EXPECT_EQ(this->call("GET", "/metrics").body.find("platform="), std::string::npos);  // no job yet, no platform
  const std::string a = this->submit(R"j({"platform_id": "sleep", "settings": {}})j");
  (void)this->submit(R"j({"platform_id": "sleep", "settings": {}})j");
  ASSERT_TRUE(this->store_->take("w1", milliseconds(0)));
  this->clock_.advance(milliseconds(700));
  EXPECT_TRUE(this->store_->complete(a, "w1", job_status::finished, "{}"));
  const auto r = this->call("GET", "/metrics");
  for (const char* line :
       {"# TYPE tributary_jobs_active gauge\n", "tributary_jobs_active{platform=\"sleep\",status=\"queued\"} 1\n",
        "tributary_jobs_active{platform=\"sleep\",status=\"started\"} 0\n", "# TYPE tributary_jobs_ended_total counter\n",
        "tributary_jobs_ended_total{platform=\"sleep\",status=\"finished\"} 1\n",
        "tributary_jobs_ended_total{platform=\"sleep\",status=\"timed_out\"} 0\n",
        "# TYPE tributary_job_duration_seconds histogram\n",
        "tributary_job_duration_seconds_bucket{platform=\"sleep\",le=\"0.5\"} 0\n",
        "tributary_job_duration_seconds_bucket{platform=\"sleep\",le=\"1\"} 1\n",
        "tributary_job_duration_seconds_bucket{platform=\"sleep\",le=\"+Inf\"} 1\n",
        "tributary_job_duration_seconds_sum{platform=\"sleep\"} 0.7\n", "tributary_job_duration_seconds_count{platform=\"sleep\"} 1\n"})
    EXPECT_NE(r.body.find(line), std::string::npos) << line << " in\n" << r.body;
  EXPECT_EQ(r.body.find("tributary_jobs_ended_total{platform=\"sleep\",status=\"queued\""), std::string::npos);
}

TYPED_TEST(JobApi, RelativeDatesResolveOnTheInjectedClock) {
  // "today" on 2024-03-10 is valid; a day number that does not exist is not, whatever the clock says.
  auto r = this->call("POST", "/execution/run", R"j({"platform_id": "sleep", "settings": {"since": "2 weeks back"}})j");
  EXPECT_EQ(r.status, 200) << r.body;
  r = this->call("POST", "/execution/run", R"j({"platform_id": "sleep", "settings": {"since": "2024-02-30"}})j");
  EXPECT_EQ(r.status, 400) << r.body;
  // What a worker parses at run time is the spec, resolved then: a day later, a day later.
  const auto job = this->store_->take("w", milliseconds(0));
  ASSERT_TRUE(job);
  this->clock_.advance(hours(24));
  const auto s = jobs::parse_settings<sleep_settings>(job->settings, this->clock_.now());
  EXPECT_EQ(jobs::iso_date(s.since.day), "2024-02-26");
}

// --- a store that is down ---------------------------------------------------------------------------

struct down_store : jobs::archetypes::job_store {
  [[noreturn]] static void down() { throw error(errc::store_unavailable, "connection refused to 10.0.0.9:6379 (internal detail)"); }
  std::string submit(const jobs::job_submission&) { down(); }
  std::optional<jobs::job_record> get(std::string_view, bool) { down(); }
  std::vector<jobs::job_record> list(std::optional<job_status>, std::size_t) { down(); }
  jobs::cancel_outcome cancel(std::string_view) { down(); }
  jobs::job_store_counts counts() { down(); }
  void ping() { down(); }
  [[nodiscard]] std::string name() const { return "redis job store redis://:***@jobs.internal:6379/0"; }
};
static_assert(jobs::job_store<down_store>);

TEST(JobApiStoreDown, Every503NamesTheStoreAndNoneIsA500) {
  down_store store;
  manual_clock clock;
  thread_pool pool(2, 16);
  basic_http_server server(pool, jobs::basic_job_api<down_store, platforms, manual_clock>(store, clock), {});
  server.start();
  curl_transport client(curl(), one_attempt());
  auto call = [&](std::string method, std::string target, std::string body = {}) {
    http_request r;
    r.method = std::move(method);
    r.url = server.base_url() + target;
    r.body = std::move(body);
    r.idempotent = false;
    r.retry_on_status = false;
    return client.perform(std::move(r));
  };
  EXPECT_EQ(call("GET", "/system/alive").status, 200);  // without touching the store
  using call_args = std::tuple<std::string, std::string, std::string>;
  const std::vector<call_args> touching_the_store{
         {"POST", "/system/alive", ""},
         {"POST", "/execution/run", R"j({"platform_id": "sleep", "settings": {}})j"},
         {"GET", "/execution/get?job_id=x", ""},
         {"POST", "/execution/cancel?job_id=x", ""},
         {"GET", "/execution/list", ""},
         {"GET", "/metrics", ""}};
  for (const auto& [method, target, body] : touching_the_store) {
    const auto r = call(method, target, body);
    EXPECT_EQ(r.status, 503) << target;
    EXPECT_NE(r.body.find("the job store is unavailable: redis job store redis://:***@jobs.internal:6379/0"), std::string::npos) << r.body;
    EXPECT_EQ(r.body.find("internal detail"), std::string::npos) << r.body;
    EXPECT_EQ(r.header("Retry-After"), "1") << target;
  }
  // Bad input is refused before the store is asked.
  EXPECT_EQ(call("POST", "/execution/run", R"j({"platform_id": "sleep", "settings": {"ms": "x"}})j").status, 400);
  EXPECT_EQ(call("POST", "/execution/run", R"j({"platform_id": "nope", "settings": {}})j").status, 404);
  EXPECT_EQ(call("GET", "/platforms/get").status, 200);
}

}  // namespace

// --- bad input, many shapes: never a 500, always a JSON answer ------------------------------------

TEST(JobApiBadInput, MutatedBodiesAreAnsweredWith4xxOr200NeverA500) {
  tributary::testing::sqlite_jobs_backend backend;
  manual_clock clock{sys_days{year{2024} / 3 / 10}};
  auto store = backend.open(clock);
  jobs::basic_job_api<tributary::testing::sqlite_jobs_backend::store_type, platforms, manual_clock> api(*store, clock);
  const std::string seeds[] = {good_run, seed_run, R"j({"platform_id": "sleep", "settings": {"ms": 5, "since": "3 days back"}})j",
                               R"j({"_id": "x", "platform_id": "sleep", "settings": {"token": "hunter2"}})j"};
  std::mt19937_64 rng(20241205);
  const std::string alphabet = "{}[]\":,0123456789-.eE truefalsnul\\u00ff\x01\x7f";
  simdjson::dom::parser p;
  int accepted = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string body = seeds[rng() % std::size(seeds)];
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits && !body.empty(); ++e) {
      const std::size_t at = rng() % body.size();
      switch (rng() % 4) {
        case 0: body.erase(at, 1 + rng() % 8); break;
        case 1: body.insert(at, 1, alphabet[rng() % alphabet.size()]); break;
        case 2: body[at] = alphabet[rng() % alphabet.size()]; break;
        default: body.resize(at); break;
      }
    }
    server_request req;
    req.method = "POST";
    req.path = req.target = "/execution/run";
    req.body = body;
    const server_response res = api.handle(req);
    ASSERT_TRUE(res.status == 200 || res.status == 400 || res.status == 404) << res.status << " for " << body;
    simdjson::dom::element doc;
    ASSERT_EQ(p.parse(simdjson::padded_string(res.body)).get(doc), simdjson::SUCCESS) << res.body;
    if (res.status == 200) ++accepted;
    else EXPECT_FALSE(doc["error"].error()) << res.body;
    EXPECT_EQ(res.body.find("hunter2"), std::string::npos) << res.body;
    EXPECT_EQ(res.body.find("CoinISPassword"), std::string::npos) << res.body;
  }
  EXPECT_GT(accepted, 0);  // the mutations do not only break the JSON
  // Every accepted job is readable, and queries of any shape are 4xx or 200.
  for (const char* q : {"", "job_id=", "job_id=%00", "job_id=\"", "full", "job_id=x&full&full", "status=&limit=-1"}) {
    for (const char* path : {"/execution/get", "/execution/list", "/execution/cancel"}) {
      server_request req;
      req.method = std::string_view(path) == "/execution/cancel" ? "POST" : "GET";
      req.path = path;
      req.target = std::string(path) + "?" + q;
      std::string_view rest = q;
      while (!rest.empty()) {  // the server's query split, roughly: name=value pairs at '&'
        const auto amp = rest.find('&');
        const std::string_view pair = rest.substr(0, amp);
        const auto eq = pair.find('=');
        req.query.emplace_back(std::string(pair.substr(0, eq)), eq == std::string_view::npos ? "" : std::string(pair.substr(eq + 1)));
        rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
      }
      const server_response res = api.handle(req);
      EXPECT_TRUE(res.status == 200 || res.status == 400 || res.status == 404) << res.status << " " << req.target;
    }
  }
}
