// Settings declared once (jobs/settings.hpp): parsing, defaults, validation naming every problem at
// once, relative dates in virtual time, the schema and the redacted echo.

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include <tributary/clock/manual.hpp>
#include <tributary/jobs/settings.hpp>

namespace {

using namespace tributary;
using namespace std::chrono;

struct storage_params {
  using settings_concept = jobs::settings_tag;
  std::string hostname, db, username, table;
  std::int64_t port = 0;
  jobs::secret password;
  static constexpr auto settings() {
    return std::tuple{jobs::setting("hostname", &storage_params::hostname),
                      jobs::setting("port", &storage_params::port).between(1, 65535).defaults_to(3306),
                      jobs::setting("db", &storage_params::db),
                      jobs::setting("username", &storage_params::username),
                      jobs::setting("password", &storage_params::password),
                      jobs::setting("table", &storage_params::table)};
  }
};

struct storage_settings {
  using settings_concept = jobs::settings_tag;
  std::string type;
  storage_params settings_;
  static constexpr auto settings() {
    return std::tuple{jobs::enumeration("type", &storage_settings::type, {"mysql", "postgres", "sqlite"}),
                      jobs::setting("settings", &storage_settings::settings_)};
  }
};

// The seed's coinis example.
struct coinis_settings {
  using settings_concept = jobs::settings_tag;
  jobs::date start_date, end_date;
  std::string username;
  jobs::secret password;
  double sample = 1.0;
  bool dry_run = false;
  std::string note;
  storage_settings storage;
  static constexpr auto settings() {
    return std::tuple{jobs::setting("start_date", &coinis_settings::start_date).describe("first day collected"),
                      jobs::setting("end_date", &coinis_settings::end_date).defaults_to("yesterday"),
                      jobs::setting("username", &coinis_settings::username),
                      jobs::setting("password", &coinis_settings::password),
                      jobs::setting("sample", &coinis_settings::sample).defaults_to(0.5),
                      jobs::setting("dry_run", &coinis_settings::dry_run).defaults_to(false),
                      jobs::setting("note", &coinis_settings::note).optional(),
                      jobs::setting("storage", &coinis_settings::storage)};
  }
};
static_assert(jobs::settings_struct<coinis_settings>);

// Same members, no opt-in: not a settings struct.
struct undeclared {
  std::string a;
  static constexpr auto settings() { return std::tuple{jobs::setting("a", &undeclared::a)}; }
};
static_assert(!jobs::settings_struct<undeclared>);

constexpr const char* seed_body = R"({
  "start_date": "4 days back", "end_date": "yesterday",
  "username": "CoinISUsername", "password": "CoinISPassword",
  "storage": {"type": "mysql", "settings": {"hostname": "localhost", "db": "selpy_legacy",
              "username": "iamauser", "password": "iamapassword", "table": "mac_publishers"}}})";

std::vector<jobs::setting_problem> problems_of(std::string_view json, system_clock::time_point now) {
  try {
    (void)jobs::parse_settings<coinis_settings>(json, now);
  } catch (const jobs::settings_error& e) {
    return e.problems();
  }
  return {};
}

std::string problem_for(const std::vector<jobs::setting_problem>& ps, std::string_view setting) {
  for (const auto& p : ps)
    if (p.setting == setting) return p.problem;
  return "(none)";
}

TEST(JobsSettings, TheSeedsExampleParsesWithRelativeDatesInVirtualTime) {
  manual_clock clock(sys_days{year{2024} / 3 / 10} + hours(23));
  const auto s = jobs::parse_settings<coinis_settings>(seed_body, clock.now());
  EXPECT_EQ(jobs::iso_date(s.start_date.day), "2024-03-06");
  EXPECT_EQ(jobs::iso_date(s.end_date.day), "2024-03-09");
  EXPECT_EQ(s.username, "CoinISUsername");
  EXPECT_EQ(s.password.reveal(), "CoinISPassword");
  EXPECT_EQ(s.storage.type, "mysql");
  EXPECT_EQ(s.storage.settings_.port, 3306);  // default
  EXPECT_EQ(s.storage.settings_.password.reveal(), "iamapassword");
  EXPECT_DOUBLE_EQ(s.sample, 0.5);
  EXPECT_TRUE(s.note.empty());

  // The same text a day later means other days: relative dates follow the clock.
  clock.advance(hours(2));
  const auto later = jobs::parse_settings<coinis_settings>(seed_body, clock.now());
  EXPECT_EQ(jobs::iso_date(later.start_date.day), "2024-03-07");
  EXPECT_EQ(jobs::iso_date(later.end_date.day), "2024-03-10");
}

TEST(JobsSettings, DateForms) {
  const auto now = sys_days{year{2024} / 3 / 1} + hours(1);
  auto iso = [&](std::string_view s) {
    const auto d = jobs::resolve_date(s, now);
    return d ? jobs::iso_date(*d) : std::string("(invalid)");
  };
  EXPECT_EQ(iso("today"), "2024-03-01");
  EXPECT_EQ(iso("yesterday"), "2024-02-29");
  EXPECT_EQ(iso("0 days back"), "2024-03-01");
  EXPECT_EQ(iso("1 day back"), "2024-02-29");
  EXPECT_EQ(iso("2 weeks back"), "2024-02-16");
  EXPECT_EQ(iso("1 week back"), "2024-02-23");
  EXPECT_EQ(iso("2023-12-31"), "2023-12-31");
  for (const char* bad : {"2023-02-29", "2023-13-01", "2023-1-01", "tomorrow", "days back", "-1 days back", "4 days",
                          "4  days back", "4 days back ", "999999 days back", "4 months back", "", "2023-12-3x"})
    EXPECT_EQ(iso(bad), "(invalid)") << bad;
}

TEST(JobsSettings, EveryProblemIsNamedAtOnceWithWhy) {
  const auto now = sys_days{year{2024} / 3 / 10} + hours(1);
  const auto ps = problems_of(R"({
    "end_date": "next tuesday", "username": 42, "sample": "lots", "dry_run": "yes", "colour": "red",
    "storage": {"type": "oracle", "settings": {"hostname": "h", "port": 70000, "db": "d", "username": "u",
                "password": 7, "tabel": "t"}}})", now);
  EXPECT_EQ(problem_for(ps, "start_date"), "missing: a required date (YYYY-MM-DD, today, yesterday, N days back or N weeks back)");
  EXPECT_EQ(problem_for(ps, "end_date"),
            "must be a date: YYYY-MM-DD, today, yesterday, N days back or N weeks back (got 'next tuesday')");
  EXPECT_EQ(problem_for(ps, "username"), "must be a string");
  EXPECT_EQ(problem_for(ps, "password"), "missing: a required secret");
  EXPECT_EQ(problem_for(ps, "sample"), "must be a number");
  EXPECT_EQ(problem_for(ps, "dry_run"), "must be true or false");
  EXPECT_EQ(problem_for(ps, "colour"),
            "unknown setting (known: start_date, end_date, username, password, sample, dry_run, note, storage)");
  EXPECT_EQ(problem_for(ps, "storage.type"), "must be one of mysql, postgres, sqlite (got 'oracle')");
  EXPECT_EQ(problem_for(ps, "storage.settings.port"), "must be an integer between 1 and 65535 (got 70000)");
  EXPECT_EQ(problem_for(ps, "storage.settings.password"), "must be a string (a secret)");
  EXPECT_EQ(problem_for(ps, "storage.settings.table"), "missing: a required string");
  EXPECT_EQ(problem_for(ps, "storage.settings.tabel"),
            "unknown setting (known: hostname, port, db, username, password, table)");
  EXPECT_EQ(ps.size(), 12u);
}

TEST(JobsSettings, ShapesThatAreNotSettings) {
  const auto now = sys_days{year{2024} / 3 / 10};
  EXPECT_EQ(problem_for(problems_of("[1,2]", now), "settings"), "must be an object");
  EXPECT_EQ(problem_for(problems_of("{\"start_date\":", now), "settings"), "not valid JSON");
  EXPECT_EQ(problem_for(problems_of(R"({"storage": "mysql"})", now), "storage"), "must be an object");
  EXPECT_EQ(problem_for(problems_of(R"({"username": "a", "username": "b"})", now), "username"), "given more than once");
  EXPECT_EQ(problem_for(problems_of(R"({"storage": {"type": "mysql", "settings": {"port": 1.5}}})", now), "storage.settings.port"),
            "must be an integer between 1 and 65535");
}

TEST(JobsSettings, ASecretIsNeverInAMessageTheSchemaOrTheEcho) {
  const auto now = sys_days{year{2024} / 3 / 10};
  try {
    (void)jobs::parse_settings<coinis_settings>(R"({"password": ["CoinISPassword"], "start_date": "CoinISPassword"})", now);
    FAIL() << "accepted";
  } catch (const jobs::settings_error& e) {
    // The date's bad value is echoed (it is not a secret); the secret's is not.
    EXPECT_EQ(problem_for(e.problems(), "password"), "must be a string (a secret)");
  }
  const auto s = jobs::parse_settings<coinis_settings>(seed_body, now);
  const std::string echo = jobs::redacted_settings_json(s);
  EXPECT_EQ(echo.find("CoinISPassword"), std::string::npos) << echo;
  EXPECT_EQ(echo.find("iamapassword"), std::string::npos) << echo;
  EXPECT_EQ(echo,
            R"({"start_date":"4 days back","end_date":"yesterday","username":"CoinISUsername","password":"***","sample":0.5,)"
            R"("dry_run":false,"storage":{"type":"mysql","settings":{"hostname":"localhost","port":3306,)"
            R"("db":"selpy_legacy","username":"iamauser","password":"***","table":"mac_publishers"}}})");
  // The worker's copy parses back to the same settings, secrets included.
  const auto again = jobs::parse_settings<coinis_settings>(jobs::settings_json_with_secrets(s), now);
  EXPECT_EQ(again.password.reveal(), "CoinISPassword");
  EXPECT_EQ(again.storage.settings_.password.reveal(), "iamapassword");
  EXPECT_EQ(jobs::redacted_settings_json(again), echo);
}

TEST(JobsSettings, SchemaComesFromTheDeclaration) {
  const std::string schema = jobs::settings_schema<coinis_settings>();
  EXPECT_EQ(schema,
            R"({"start_date":{"type":"date","required":true,"description":"first day collected",)"
            R"("formats":["YYYY-MM-DD","today","yesterday","N days back","N weeks back"]},)"
            R"("end_date":{"type":"date","required":false,"formats":["YYYY-MM-DD","today","yesterday","N days back","N weeks back"],"default":"yesterday"},)"
            R"("username":{"type":"string","required":true},"password":{"type":"secret","required":true},)"
            R"("sample":{"type":"number","required":false,"default":0.5},"dry_run":{"type":"boolean","required":false,"default":false},)"
            R"("note":{"type":"string","required":false},)"
            R"("storage":{"type":"object","required":true,"settings":{"type":{"type":"enumeration","required":true,"values":["mysql","postgres","sqlite"]},)"
            R"("settings":{"type":"object","required":true,"settings":{"hostname":{"type":"string","required":true},)"
            R"("port":{"type":"integer","required":false,"minimum":1,"maximum":65535,"default":3306},)"
            R"("db":{"type":"string","required":true},"username":{"type":"string","required":true},)"
            R"("password":{"type":"secret","required":true},"table":{"type":"string","required":true}}}}}})");
  simdjson::dom::parser parser;
  EXPECT_EQ(parser.parse(simdjson::padded_string(schema)).error(), simdjson::SUCCESS);
}

}  // namespace

// Found by the jobs_settings fuzz target: optional settings left out were echoed at their initial
// values, which their own validation refuses (an enumeration's "", a bounded integer's 0, a nested
// object's empty members), so the worker could not parse again what the API had stored.
struct optional_parts {
  using settings_concept = jobs::settings_tag;
  std::string level;
  std::int64_t port = 0;
  jobs::secret token;
  storage_settings storage;
  std::int64_t retries = 3;
  static constexpr auto settings() {
    return std::tuple{jobs::enumeration("level", &optional_parts::level, {"low", "high"}).optional(),
                      jobs::setting("port", &optional_parts::port).between(1, 65535).optional(),
                      jobs::setting("token", &optional_parts::token).optional(),
                      jobs::setting("storage", &optional_parts::storage).optional(),
                      jobs::setting("retries", &optional_parts::retries).between(1, 9).optional()};
  }
};

TEST(JobsSettings, OptionalSettingsLeftOutAreLeftOutOfTheEchoAndParseAgain) {
  const auto now = sys_days{year{2024} / 3 / 10} + hours(12);
  const auto absent = jobs::parse_settings<optional_parts>("{}", now);
  EXPECT_EQ(jobs::redacted_settings_json(absent), "{}");
  const std::string stored = jobs::settings_json_with_secrets(absent);
  EXPECT_EQ(stored, "{}");
  const auto again = jobs::parse_settings<optional_parts>(stored, now);
  EXPECT_EQ(again.retries, 3);  // the initial value the struct gives
  EXPECT_EQ(again.port, 0);

  const auto given = jobs::parse_settings<optional_parts>(
    R"({"level": "high", "port": 8080, "token": "t0k", "retries": 5,
        "storage": {"type": "mysql", "settings": {"hostname": "h", "db": "d", "username": "u", "password": "p4ss", "table": "t"}}})",
    now);
  EXPECT_EQ(jobs::redacted_settings_json(given),
            R"({"level":"high","port":8080,"token":"***","storage":{"type":"mysql","settings":{"hostname":"h","port":3306,)"
            R"("db":"d","username":"u","password":"***","table":"t"}},"retries":5})");
  const auto given_again = jobs::parse_settings<optional_parts>(jobs::settings_json_with_secrets(given), now);
  EXPECT_EQ(given_again.token.reveal(), "t0k");
  EXPECT_EQ(given_again.storage.settings_.password.reveal(), "p4ss");
}
