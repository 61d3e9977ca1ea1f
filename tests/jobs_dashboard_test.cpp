// GET /dashboard (jobs/dashboard.hpp): the page as served, and the page running in headless Chromium,
// driven through chromedriver's W3C WebDriver HTTP protocol with our own curl_transport. In the
// browser: the page loads, shows the queue and a running job, shows its progress changing as the
// "worker" (the test, driving the store directly) reports, links to the job's full view, and shows no
// secret anywhere in the document. Skipped, saying so, when Chromium or chromedriver is not installed
// (scripts/install-deps --with-browser installs Debian's chromium and chromium-driver).

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include <simdjson.h>

#include <tributary/clock/manual.hpp>
#include <tributary/detail/json_text.hpp>
#include <tributary/execution/thread_pool.hpp>
#include <tributary/jobs/api.hpp>
#include <tributary/server/http_server.hpp>
#include <tributary/transport/curl.hpp>

#include "support/common.hpp"
#include "support/jobs_backends.hpp"
#include "support/process.hpp"

namespace {

using namespace tributary;
using namespace std::chrono;
namespace fs = std::filesystem;
using tributary::testing::contains;

constexpr std::string_view secret_value = "s3cr3t-T0ken-42";

struct count_settings {
  using settings_concept = jobs::settings_tag;
  std::int64_t steps = 3;
  jobs::secret token;
  static constexpr auto settings() {
    return std::tuple{jobs::setting("steps", &count_settings::steps).between(1, 100).defaults_to(3),
                      jobs::setting("token", &count_settings::token)};
  }
};
struct count_platform {
  using platform_concept = jobs::platform_tag;
  using settings_type = count_settings;
  static constexpr std::string_view id = "count", display_name = "Counts (the test reports for it)";
  static constexpr unsigned max_attempts = 1;
  static constexpr std::chrono::seconds time_limit{60};
  std::string run(const count_settings&, jobs::job_context&) { return "{}"; }
};
using platforms = jobs::platform_list<count_platform>;

const curl_library& curl() {
  static const curl_library library;
  return library;
}
curl_options one_attempt() {
  curl_options o;
  o.max_attempts = 1;
  o.connect_timeout = 5s;
  o.total_timeout = 60s;  // a new session starts a browser
  return o;
}

class Dashboard : public ::testing::Test {
 protected:
  using store_type = tributary::testing::sqlite_jobs_backend::store_type;
  using api_type = jobs::basic_job_api<store_type, platforms, manual_clock>;

  void SetUp() override {
    store_ = backend_.open(clock_);
    server_ = std::make_unique<basic_http_server<api_type>>(pool_, api_type(*store_, clock_), server_options{});
    server_->start();
  }

  http_response call(std::string method, const std::string& url, std::string body = {}) {
    http_request r;
    r.method = std::move(method);
    r.url = url;
    r.body = std::move(body);
    r.idempotent = false;
    r.retry_on_status = false;
    if (!r.body.empty()) r.headers.emplace_back("Content-Type", "application/json");
    return client_.perform(std::move(r));
  }

  std::string submit() {
    const auto r = call("POST", server_->base_url() + "/execution/run",
                        R"({"_id": "dashboard-test", "platform_id": "count", "settings": {"steps": 3, "token": ")" +
                          std::string(secret_value) + "\"}}");
    EXPECT_EQ(r.status, 200) << r.body;
    simdjson::dom::parser p;
    return std::string(p.parse(r.body)["job_id"].get_string().value());
  }

  tributary::testing::sqlite_jobs_backend backend_;
  manual_clock clock_{sys_days{year{2024} / 3 / 10} + hours(12)};
  std::unique_ptr<store_type> store_;
  thread_pool pool_{2, 32};
  std::unique_ptr<basic_http_server<api_type>> server_;
  curl_transport client_{curl(), one_attempt()};
};

TEST_F(Dashboard, IsOnePageWithNothingFromElsewhere) {
  const auto r = call("GET", server_->base_url() + "/dashboard");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.header("Content-Type"), "text/html; charset=utf-8");
  EXPECT_TRUE(contains(r.header("Content-Security-Policy"), "default-src 'none'"));
  EXPECT_TRUE(contains(r.header("Content-Security-Policy"), "connect-src 'self'"));
  EXPECT_TRUE(r.body.starts_with("<!DOCTYPE html>"));
  // No CDN, no other origin: nothing absolute, nothing loaded by src= or <link>.
  for (const char* outside : {"http://", "https://", " src=", "<link", "//cdn", "import "})
    EXPECT_FALSE(contains(r.body, outside)) << outside;
  for (const char* route : {"/execution/list", "/metrics", "/execution/get?job_id="}) EXPECT_TRUE(contains(r.body, route)) << route;
  EXPECT_EQ(call("POST", server_->base_url() + "/dashboard").status, 405);
}

// ---- in headless Chromium ---------------------------------------------------------------------------

std::optional<std::string> first_existing(std::initializer_list<const char*> paths) {
  for (const char* p : paths)
    if (fs::exists(p)) return std::string(p);
  return std::nullopt;
}

/// chromedriver on a loopback port, and one browser session through it, ended in that order.
class webdriver {
 public:
  webdriver(curl_transport& client, const std::string& driver, const std::string& browser, const fs::path& scratch)
      : client_(&client) {
    port_ = tributary::testing::closed_port();
    fs::create_directories(scratch);
    process_ = tributary::test::child_process::spawn({driver, "--port=" + std::to_string(port_)}, scratch / "chromedriver.out",
                                                     scratch / "chromedriver.err");
    base_ = "http://127.0.0.1:" + std::to_string(port_);
    for (int i = 0; i < 200 && !ready(); ++i) std::this_thread::sleep_for(50ms);
    if (!ready()) throw std::runtime_error("chromedriver did not become ready: " + process_.errors());
    std::string body = R"({"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {"binary": )";
    tributary::detail::append_quoted(body, browser);
    body += R"(, "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--user-data-dir=)";
    body += (scratch / "profile").string() + "\"]}}}}";
    const auto r = command("POST", "/session", body);
    simdjson::dom::parser p;
    std::string_view id;
    if (p.parse(r).at_pointer("/value/sessionId").get(id) != simdjson::SUCCESS)
      throw std::runtime_error("chromedriver made no session: " + r);
    session_ = "/session/" + std::string(id);
  }
  webdriver(const webdriver&) = delete;
  webdriver& operator=(const webdriver&) = delete;
  ~webdriver() {
    if (!session_.empty()) (void)command("DELETE", session_, "");  // closes the browser
    process_.signal(SIGTERM);
    (void)process_.wait_for(10s);
  }

  void navigate(const std::string& url) {
    std::string body = "{\"url\":";
    tributary::detail::append_quoted(body, url);
    (void)command("POST", session_ + "/url", body + "}");
  }
  /// The string `script` (a function body) returns in the page.
  std::string evaluate(std::string_view script) {
    std::string body = "{\"script\":";
    tributary::detail::append_quoted(body, script);
    const auto r = command("POST", session_ + "/execute/sync", body + ",\"args\":[]}");
    simdjson::dom::parser p;
    std::string_view value;
    if (p.parse(r).at_pointer("/value").get(value) != simdjson::SUCCESS) return "<not a string: " + r + ">";
    return std::string(value);
  }
  /// Evaluates `script` until it returns `expected`, for up to `limit`; what it returned last.
  std::string wait_for(std::string_view script, std::string_view expected, milliseconds limit = 20s) {
    const auto until = steady_clock::now() + limit;
    std::string last;
    while (steady_clock::now() < until) {
      last = evaluate(script);
      if (last == expected) break;
      std::this_thread::sleep_for(100ms);
    }
    return last;
  }

 private:
  bool ready() {
    http_request r;
    r.url = base_ + "/status";
    const auto res = client_->perform(std::move(r));
    return res.ok() && contains(res.body, "\"ready\":true");
  }
  std::string command(std::string method, const std::string& path, std::string body) {
    http_request r;
    r.method = std::move(method);
    r.url = base_ + path;
    r.body = std::move(body);
    r.idempotent = false;
    r.retry_on_status = false;
    if (!r.body.empty()) r.headers.emplace_back("Content-Type", "application/json");
    auto res = client_->perform(std::move(r));
    if (!res.error.empty()) throw std::runtime_error("WebDriver " + path + ": " + res.error);
    return res.body;
  }

  curl_transport* client_;
  tributary::test::child_process process_;
  int port_ = 0;
  std::string base_, session_;
};

TEST_F(Dashboard, InHeadlessChromiumShowsARunningJobsProgressChangingAndNoSecret) {
  const auto browser = first_existing({"/usr/lib/chromium/chromium", "/usr/bin/chromium"});
  const auto driver = first_existing({"/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"});
  if (!browser || !driver)
    GTEST_SKIP() << "Chromium or chromedriver is not installed (Debian: apt-get install chromium chromium-driver, "
                    "as scripts/install-deps --with-browser does); the dashboard is not tested in a browser";

  const std::string id = submit();
  const auto job = store_->take("worker-a", 0ms);
  ASSERT_TRUE(job);
  ASSERT_EQ(job->id, id);
  ASSERT_TRUE(store_->progress(id, "worker-a", "count", "1/3"));

  const fs::path scratch = fs::temp_directory_path() / ("tributary-dashboard-" + jobs::new_job_id());
  {
    webdriver web(client_, *driver, *browser, scratch);
    web.navigate(server_->base_url() + "/dashboard?interval=250");
    const std::string row = "document.querySelector('#jobs tbody tr[data-job-id=\"" + id + "\"]')";
    const std::string progress = "const r = " + row + "; return r ? r.querySelector('td.progress').textContent : '';";
    EXPECT_EQ(web.wait_for(progress, "count: 1/3"), "count: 1/3");

    // The worker reports; the page shows it without a reload.
    ASSERT_TRUE(store_->progress(id, "worker-a", "count", "2/3"));
    EXPECT_EQ(web.wait_for(progress, "count: 2/3"), "count: 2/3");

    EXPECT_EQ(web.evaluate("return " + row + ".cells[3].textContent;"), "started");
    EXPECT_EQ(web.evaluate("return document.getElementById('status').className;"), "");
    EXPECT_EQ(web.evaluate("return " + row + ".querySelector('a').getAttribute('href');"), "/execution/get?job_id=" + id + "&full");
    EXPECT_TRUE(contains(web.evaluate("return document.getElementById('workers').textContent;"), "worker-a"));
    EXPECT_TRUE(contains(web.evaluate("return document.getElementById('counts').textContent;"), "started"));
    const std::string settings = web.evaluate("return " + row + ".querySelector('td.settings').textContent;");
    EXPECT_EQ(settings, R"({"steps":3,"token":"***"})");
    // No secret anywhere in the document the browser holds.
    const std::string whole = web.evaluate("return document.documentElement.outerHTML;");
    EXPECT_TRUE(contains(whole, "dashboard-test"));
    EXPECT_FALSE(contains(whole, secret_value)) << whole;

    // A job's end shows too.
    ASSERT_TRUE(store_->complete(id, "worker-a", jobs::job_status::finished, "{\"counted\":3}"));
    EXPECT_EQ(web.wait_for("const r = " + row + "; return r ? r.cells[3].textContent : '';", "finished"), "finished");
  }
  std::error_code ec;
  fs::remove_all(scratch, ec);
}

}  // namespace
