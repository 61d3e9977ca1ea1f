// End to end, with the real executables: three X-Road simulators (one per environment, serving
// examples/xroad/fixtures), the three per-environment collectors as separate processes on one store,
// and catalogue_query. Every test runs on each store the executables take by URL that can run here: a
// SQLite file, and a PostgreSQL schema of the test's own on the server TRIBUTARY_POSTGRES_URL names
// (skipped without it). The expected catalogue is computed here from the fixture files themselves
// (nlohmann for JSON, yaml-cpp for YAML), independently of xroad_source, and compared field by field
// with what `apicatalogue` serves.
//
// Timing: no outcome depends on one process being faster than another. To make an environment finish
// last, its simulator is stopped (SIGSTOP) while the three collectors start together: the kernel still
// accepts its collector's connection, so that collector sits in listClients, before it has a worker,
// until the other two have exited; then the simulator is continued. The only waits on the clock are
// the ones the protocol defines (the stale bound, in the killed-collector test), and every wait for a
// process has a generous timeout.

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <type_traits>
#include <tributary/index/postgres.hpp>
#include <tributary/index/sqlite.hpp>
#include <tributary/transport/curl.hpp>
#include <tributary/collector/naming.hpp>
#include <utility>
#include <vector>

#include "support/common.hpp"
#include "support/postgres.hpp"
#include "support/process.hpp"

#if !defined(TRIBUTARY_E2E_SIMULATOR)

TEST(XroadEndToEnd, NeedsTheExamples) {
  GTEST_SKIP() << "configure with -DTRIBUTARY_BUILD_EXAMPLES=ON to run the end-to-end test against the executables";
}

#else

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace std::chrono_literals;
using tributary::test::child_process;
using tributary::test::read_text_file;

constexpr const char* read_alias = "apicatalogue";
// Generous: three sanitizer-built collectors and simulators share two loaded cores.
constexpr auto start_timeout = 60s;
constexpr auto run_timeout = 120s;

struct environment_info {
  std::string name, instance, collector;
};

const std::vector<environment_info>& environments() {
  static const std::vector<environment_info> envs{{"dev", "EE-DEV", TRIBUTARY_E2E_COLLECTOR_DEV},
                                                  {"staging", "EE-TEST", TRIBUTARY_E2E_COLLECTOR_STAGING},
                                                  {"prod", "EE", TRIBUTARY_E2E_COLLECTOR_PROD}};
  return envs;
}

const fs::path fixtures_dir{TRIBUTARY_E2E_FIXTURES};

// ---- the expected catalogue, from the fixture files --------------------------------------------------

struct expected_version {
  std::string version, title, spec_text;
  std::string instance, member_class, member_code, subsystem_code, service_code;
};

struct expected_entry {
  std::string owner;
  std::vector<std::string> access;
  std::vector<expected_version> versions;  ///< in numeric version order
};

/// id → environment → entry.
using expected_catalogue = std::map<std::string, std::map<std::string, expected_entry>>;

std::string lowercase(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

/// `getPerson-v10` → {getPerson, v10}; `searchPersons-v1.2` → {searchPersons, v1.2}; no suffix → {code, ""}.
std::pair<std::string, std::string> split_version(const std::string& code) {
  const auto dash = code.rfind("-v");
  if (dash == std::string::npos || dash == 0) return {code, ""};
  const std::string suffix = code.substr(dash + 2);
  std::size_t dots = 0;
  bool digits = false;
  for (char c : suffix) {
    if (std::isdigit(static_cast<unsigned char>(c))) {
      digits = true;
    } else if (c == '.' && digits) {
      digits = false;
      ++dots;
    } else {
      return {code, ""};
    }
  }
  if (!digits || dots > 2) return {code, ""};
  return {code.substr(0, dash), code.substr(dash + 1)};
}

/// v2 < v10 < v10.1; the unversioned code first.
bool version_less(const std::string& a, const std::string& b) {
  auto parts = [](const std::string& v) {
    std::vector<unsigned long> out;
    if (v.empty()) return out;
    std::size_t pos = 1;  // after the 'v'
    while (pos <= v.size()) {
      const auto dot = v.find('.', pos);
      out.push_back(std::stoul(v.substr(pos, dot - pos)));
      if (dot == std::string::npos) break;
      pos = dot + 1;
    }
    return out;
  };
  return parts(a) < parts(b);
}

const std::set<std::string> allowed_categories{"open", "public", "official", "personal", "health", "financial"};
const std::set<std::string> allowed_pricing{"free", "paid"};

bool all_allowed(const std::vector<std::string>& values, const std::set<std::string>& allowed) {
  return std::all_of(values.begin(), values.end(), [&](const auto& v) { return allowed.contains(lowercase(v)); });
}

/// The catalogue title of an OpenAPI document in JSON, or nullopt when the catalogue leaves it out.
std::optional<std::string> title_of_json_spec(const std::string& text) {
  const json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("info") || !doc["info"].is_object()) return std::nullopt;
  const json& info = doc["info"];
  if (info.value("x-hide-api-catalogue", false)) return std::nullopt;
  if (!info.contains("title") || !info["title"].is_string() || info["title"].get<std::string>().empty())
    return std::nullopt;
  auto strings = [&](const char* key) -> std::optional<std::vector<std::string>> {
    if (!info.contains(key) || info[key].is_null()) return std::vector<std::string>{};
    if (info[key].is_string()) return std::vector<std::string>{info[key].get<std::string>()};
    if (!info[key].is_array()) return std::nullopt;
    std::vector<std::string> out;
    for (const auto& v : info[key]) {
      if (!v.is_string()) return std::nullopt;
      out.push_back(v.get<std::string>());
    }
    return out;
  };
  const auto categories = strings("x-category"), pricing = strings("x-pricing");
  if (!categories || !pricing || !all_allowed(*categories, allowed_categories) ||
      !all_allowed(*pricing, allowed_pricing))
    return std::nullopt;
  return info["title"].get<std::string>();
}

/// The same for YAML.
std::optional<std::string> title_of_yaml_spec(const std::string& text) {
  try {
    const YAML::Node doc = YAML::Load(text);
    if (!doc.IsMap() || !doc["info"] || !doc["info"].IsMap()) return std::nullopt;
    const YAML::Node info = doc["info"];
    if (info["x-hide-api-catalogue"] && info["x-hide-api-catalogue"].as<bool>(false)) return std::nullopt;
    if (!info["title"] || !info["title"].IsScalar() || info["title"].Scalar().empty()) return std::nullopt;
    auto strings = [&](const char* key) -> std::optional<std::vector<std::string>> {
      const YAML::Node n = info[key];
      if (!n || n.IsNull()) return std::vector<std::string>{};
      if (n.IsScalar()) return std::vector<std::string>{n.Scalar()};
      if (!n.IsSequence()) return std::nullopt;
      std::vector<std::string> out;
      for (const auto& v : n) {
        if (!v.IsScalar()) return std::nullopt;
        out.push_back(v.Scalar());
      }
      return out;
    };
    const auto categories = strings("x-category"), pricing = strings("x-pricing");
    if (!categories || !pricing || !all_allowed(*categories, allowed_categories) ||
        !all_allowed(*pricing, allowed_pricing))
      return std::nullopt;
    return info["title"].Scalar();
  } catch (const YAML::Exception&) {
    return std::nullopt;  // neither YAML nor JSON
  }
}

expected_catalogue load_expected_catalogue() {
  const json member_codes = json::parse(read_text_file(fixtures_dir / "member-codes.json"));
  expected_catalogue out;
  for (const auto& env : environments()) {
    const fs::path root = fixtures_dir / env.name;
    const json clients = json::parse(read_text_file(root / "clients.json"));
    std::set<std::string> seen;
    for (const auto& member : clients.at("member")) {
      const json& id = member.at("id");
      if (id.value("object_type", "") != "SUBSYSTEM") continue;
      const std::string instance = id.at("xroad_instance"), cls = id.at("member_class"), code = id.at("member_code"),
                        subsystem = id.at("subsystem_code");
      const std::string kind = lowercase(subsystem);
      // Consumers and private providers are not catalogued.
      if (kind.ends_with("client") || kind.ends_with("private")) continue;
      if (!seen.insert(instance + '/' + cls + '/' + code + '/' + subsystem).second) continue;
      const fs::path provider = root / "providers" / instance / cls / code / subsystem;
      // No directory: listMethods answers 404. Malformed methods.json: the provider fails. Both leave it out.
      if (!fs::is_regular_file(provider / "methods.json")) continue;
      const json methods = json::parse(read_text_file(provider / "methods.json"), nullptr, false);
      if (methods.is_discarded()) continue;
      std::string canonical = code;
      if (member_codes.contains(env.name) && member_codes[env.name].contains(code))
        canonical = member_codes[env.name][code].get<std::string>();
      std::set<std::string> codes_seen;
      for (const auto& s : methods.at("service")) {
        if (s.value("object_type", "SERVICE") != "SERVICE") continue;
        const std::string service_code = s.at("service_code");
        if (!codes_seen.insert(service_code).second) continue;
        std::optional<std::string> title;
        std::string text;
        for (const char* ext : {".yaml", ".yml", ".json"}) {  // no file: 404; a .500 file: getOpenAPI fails
          const fs::path spec = provider / "specs" / (service_code + ext);
          if (!fs::is_regular_file(spec)) continue;
          text = read_text_file(spec);
          title = std::string(ext) == ".json" ? title_of_json_spec(text) : title_of_yaml_spec(text);
          break;
        }
        if (!title) continue;
        const auto [base, version] = split_version(service_code);
        auto& entry = out[cls + '/' + canonical + '/' + subsystem + '/' + base][env.name];
        entry.owner = member.at("name");
        entry.access =
            kind.ends_with("public") ? std::vector<std::string>{"apigw", "xroad"} : std::vector<std::string>{"xroad"};
        entry.versions.push_back({version, *title, text, instance, cls, code, subsystem, service_code});
      }
    }
  }
  for (auto& [id, envs] : out)
    for (auto& [env, entry] : envs)
      std::sort(entry.versions.begin(), entry.versions.end(),
                [](const auto& a, const auto& b) { return version_less(a.version, b.version); });
  return out;
}

std::vector<std::string> versions_of(const expected_catalogue& c, const std::string& id, const std::string& env) {
  std::vector<std::string> out;
  auto it = c.find(id);
  if (it == c.end() || !it->second.contains(env)) return out;
  for (const auto& v : it->second.at(env).versions) out.push_back(v.version);
  return out;
}

std::set<std::string> environments_of(const expected_catalogue& c, const std::string& id) {
  std::set<std::string> out;
  if (auto it = c.find(id); it != c.end())
    for (const auto& [env, entry] : it->second) out.insert(env);
  return out;
}

// ---- what the store serves ------------------------------------------------------------------------

struct served_catalogue {
  std::string index;                      ///< what `apicatalogue` points to
  std::map<std::string, json> documents;  ///< by id
};

template <class Backend>
served_catalogue read_catalogue(const Backend& store) {
  served_catalogue out;
  const auto targets = store.alias_targets(read_alias);
  if (targets.size() != 1) {
    ADD_FAILURE() << read_alias << " points to " << targets.size() << " indices";
    return out;
  }
  out.index = targets.front();
  std::string after;
  while (true) {
    const auto page = store.scan(out.index, after, 25);
    for (const auto& d : page.documents) out.documents.emplace(d.id, json::parse(d.json));
    if (page.done) break;
    after = page.next_after;
  }
  return out;
}

/// The environment whose worker `index` is, or empty.
std::string environment_of_worker(const std::string& index) {
  for (const auto& env : environments())
    if (tributary::protocol_names{read_alias, env.name}.worker_time(index)) return env.name;
  return {};
}

/// The catalogue without the `collected` stamps, which differ from run to run by design.
std::map<std::string, json> without_collected(std::map<std::string, json> docs) {
  for (auto& [id, doc] : docs)
    for (auto& e : doc["environments"])
      for (auto& d : e["details"]) d.erase("collected");
  return docs;
}

std::vector<std::string> sorted_strings(const json& array) {
  std::vector<std::string> out;
  for (const auto& v : array) out.push_back(v.get<std::string>());
  std::sort(out.begin(), out.end());
  return out;
}

int precedence(const std::string& env) { return env == "prod" ? 0 : env == "staging" ? 1 : env == "dev" ? 2 : 3; }

/// Field by field: the ids; per document the environments (in precedence order) and the document-level
/// owner and title; per environment owner, access and the versions in order, each with its title,
/// `openApiString` (the spec file's text) and X-Road identifier.
void expect_catalogue_matches(const expected_catalogue& expected, const served_catalogue& served) {
  std::vector<std::string> missing, unexpected;
  for (const auto& [id, envs] : expected)
    if (!served.documents.contains(id)) missing.push_back(id);
  for (const auto& [id, doc] : served.documents)
    if (!expected.contains(id)) unexpected.push_back(id);
  EXPECT_TRUE(missing.empty()) << "missing from " << served.index << ": " << testing::PrintToString(missing);
  EXPECT_TRUE(unexpected.empty()) << "not expected in " << served.index << ": " << testing::PrintToString(unexpected);

  for (const auto& [id, envs] : expected) {
    auto it = served.documents.find(id);
    if (it == served.documents.end()) continue;
    SCOPED_TRACE("document " + id);
    const json& doc = it->second;
    EXPECT_EQ(doc.value("id", ""), id);
    std::vector<std::string> served_envs, expected_envs;
    for (const auto& [env, entry] : envs) expected_envs.push_back(env);
    std::sort(expected_envs.begin(), expected_envs.end(),
              [](const auto& a, const auto& b) { return precedence(a) < precedence(b); });
    for (const auto& e : doc.at("environments")) served_envs.push_back(e.at("environment"));
    EXPECT_EQ(served_envs, expected_envs);

    const auto& top = envs.at(expected_envs.front());
    EXPECT_EQ(doc.value("owner", ""), top.owner);
    EXPECT_EQ(doc.value("title", ""), top.versions.back().title) << "the newest version of the highest environment";

    for (const auto& e : doc.at("environments")) {
      const std::string env = e.at("environment");
      auto want = envs.find(env);
      if (want == envs.end()) continue;
      SCOPED_TRACE("environment " + env);
      const expected_entry& x = want->second;
      EXPECT_EQ(e.value("owner", ""), x.owner);
      EXPECT_EQ(sorted_strings(e.at("access")), x.access);
      EXPECT_FALSE(e.value("stale", false)) << "no collector timed out, so nothing may be marked stale";
      std::vector<std::string> served_versions, expected_versions;
      for (const auto& d : e.at("details")) served_versions.push_back(d.at("version"));
      for (const auto& v : x.versions) expected_versions.push_back(v.version);
      EXPECT_EQ(served_versions, expected_versions);
      if (served_versions != expected_versions) continue;
      for (std::size_t i = 0; i < x.versions.size(); ++i) {
        const json& d = e.at("details")[i];
        const expected_version& v = x.versions[i];
        SCOPED_TRACE("version '" + v.version + "'");
        EXPECT_EQ(d.value("title", ""), v.title);
        EXPECT_TRUE(d.value("openApiString", "") == v.spec_text) << "openApiString differs from the spec file's text";
        const json& xi = d.at("xroadIdentifier");
        EXPECT_EQ(xi.value("instance", ""), v.instance);
        EXPECT_EQ(xi.value("memberClass", ""), v.member_class);
        EXPECT_EQ(xi.value("memberCode", ""), v.member_code);
        EXPECT_EQ(xi.value("subsystemCode", ""), v.subsystem_code);
        EXPECT_EQ(xi.value("serviceCode", ""), v.service_code);
      }
    }
  }
}

/// The first difference between two catalogues, for a readable failure; empty when equal.
std::string first_difference(const std::map<std::string, json>& a, const std::map<std::string, json>& b) {
  for (const auto& [id, doc] : a) {
    auto it = b.find(id);
    if (it == b.end()) return "'" + id + "' only in the first";
    if (it->second != doc)
      return "'" + id + "' differs:\n" + doc.dump().substr(0, 2000) + "\n" + it->second.dump().substr(0, 2000);
  }
  for (const auto& [id, doc] : b)
    if (!a.contains(id)) return "'" + id + "' only in the second";
  return {};
}

std::string tail(const std::string& text, std::size_t n = 6000) {
  return text.size() <= n ? text : "..." + text.substr(text.size() - n);
}

// ---- the stores the executables run on -----------------------------------------------------------------

/// One SQLite file in the test's directory.
struct sqlite_store {
  fs::path file;
  void prepare(const fs::path& dir) { file = dir / "catalogue.db"; }
  [[nodiscard]] std::string url() const { return "sqlite://" + file.string(); }
  [[nodiscard]] tributary::sqlite_index open() const { return tributary::sqlite_index(file.string()); }
};

/// A schema of the test's own on the PostgreSQL test server, named in the URL, dropped at the end.
struct postgres_store {
  std::optional<tributary::testing::scratch_schema> schema;
  void prepare(const fs::path&) {
    const auto server = tributary::testing::postgres_url();
    if (!server) GTEST_SKIP() << tributary::testing::no_server_message;
    schema.emplace(*server);
  }
  [[nodiscard]] std::string url() const {
    return schema->url() + (schema->url().find('?') == std::string::npos ? "?" : "&") + "schema=" + schema->name();
  }
  [[nodiscard]] tributary::postgres_index open() const { return tributary::postgres_index(url()); }
};

struct store_name {
  template <class Store>
  static std::string GetName(int) {
    return std::is_same_v<Store, sqlite_store> ? "Sqlite" : "Postgres";
  }
};

// ---- the fixture: processes and files ---------------------------------------------------------------

/// Whether `pid` is stopped (by SIGSTOP), from /proc/<pid>/stat.
bool is_stopped(pid_t pid) {
  const auto stat = read_text_file("/proc/" + std::to_string(pid) + "/stat");
  const auto paren = stat.rfind(')');
  return paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] == 'T';
}

template <class Store>
class XroadEndToEnd : public ::testing::Test {
 protected:
  struct simulator {
    child_process process;
    std::string url;
  };

  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() / ("tributary-e2e-" + std::to_string(::getpid()) + "-" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    store_.prepare(dir_);
  }

  void TearDown() override {
    for (auto& [tag, sim] : simulators_) sim.process.terminate();
    simulators_.clear();
    if (HasFailure())
      std::cerr << "end-to-end files kept in " << dir_ << "\n";
    else
      fs::remove_all(dir_);
  }

  /// Starts a simulator of `env`'s fixtures on an ephemeral port and waits until it listens.
  simulator& start_simulator(const std::string& tag, const std::string& env, std::vector<std::string> extra = {}) {
    std::vector<std::string> argv{
        TRIBUTARY_E2E_SIMULATOR, "--fixtures", (fixtures_dir / env).string(), "--port", "0", "--threads", "16"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    auto process =
        child_process::spawn(argv, dir_ / ("simulator-" + tag + ".out"), dir_ / ("simulator-" + tag + ".err"));
    const auto port = process.wait_for_output_line("listening on 127.0.0.1:", start_timeout);
    if (!port) throw std::runtime_error("the " + tag + " simulator did not start: " + process.errors());
    return simulators_.insert_or_assign(tag, simulator{std::move(process), "http://127.0.0.1:" + *port}).first->second;
  }

  static const environment_info& info_of(const std::string& env) {
    for (const auto& e : environments())
      if (e.name == env) return e;
    throw std::logic_error("no environment " + env);
  }

  /// Starts `env`'s collector against the simulator `sim_tag`; its report goes to report-<tag>.json.
  child_process start_collector(const std::string& tag, const std::string& env, const std::string& sim_tag,
                                std::vector<std::string> extra = {}) {
    const auto& e = info_of(env);
    std::vector<std::string> argv{e.collector};
    auto option = [&](std::string flag, std::string value) {
      argv.push_back(std::move(flag));
      argv.push_back(std::move(value));
    };
    option("--store", store_.url());
    option("--xroad", simulators_.at(sim_tag).url);
    option("--client", e.instance + "/GOV/70000310/kmais-client");
    option("--member-codes", (fixtures_dir / "member-codes.json").string());
    option("--poll-interval", "1");
    option("--timeout-ms", "300000");  // a stopped simulator holds its collector in listClients: no timeout
    option("--report-json", report_path(tag).string());
    argv.insert(argv.end(), extra.begin(), extra.end());
    return child_process::spawn(argv, dir_ / ("collector-" + tag + ".out"), dir_ / ("collector-" + tag + ".err"));
  }

  /// As start_collector, the collector stopping itself (SIGSTOP) where `phase` begins
  /// (TRIBUTARY_TEST_PAUSE_AT_PHASE); returned once it is stopped there, or has ended, or after
  /// start_timeout: the caller asserts is_stopped.
  child_process start_collector_paused_at(const std::string& phase, const std::string& tag, const std::string& env,
                                          const std::string& sim_tag, std::vector<std::string> extra = {}) {
    ::setenv("TRIBUTARY_TEST_PAUSE_AT_PHASE", phase.c_str(), 1);
    auto c = start_collector(tag, env, sim_tag, std::move(extra));
    ::unsetenv("TRIBUTARY_TEST_PAUSE_AT_PHASE");
    const auto until = std::chrono::steady_clock::now() + start_timeout;
    while (!is_stopped(c.pid()) && c.running() && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(2ms);
    return c;
  }

  [[nodiscard]] fs::path report_path(const std::string& tag) const { return dir_ / ("report-" + tag + ".json"); }
  [[nodiscard]] json report(const std::string& tag) const {
    return json::parse(read_text_file(report_path(tag)), nullptr, false);
  }

  /// Waits for a collector; a failure names it and shows its log.
  static ::testing::AssertionResult finishes_ok(child_process& c, const std::string& what) {
    const auto status = c.wait_for(run_timeout);
    if (!status)
      return ::testing::AssertionFailure()
             << what << " did not finish within " << run_timeout.count() << " s; its log:\n"
             << tail(c.errors());
    if (!status->success())
      return ::testing::AssertionFailure() << what << " " << status->describe() << "; its log:\n" << tail(c.errors());
    return ::testing::AssertionSuccess();
  }

  /// Starts the three collectors at once against simulators tagged by environment, waits for all.
  void run_round(const std::string& round) {
    std::vector<std::pair<std::string, child_process>> running;
    for (const auto& e : environments())
      running.emplace_back(e.name, start_collector(round + "-" + e.name, e.name, e.name));
    for (auto& [env, c] : running) EXPECT_TRUE(finishes_ok(c, env + " collector (" + round + ")"));
  }

  /// The catalogue behind `apicatalogue` now.
  [[nodiscard]] served_catalogue read_catalogue() const { return ::read_catalogue(store_.open()); }

  fs::path dir_;
  Store store_;
  std::map<std::string, simulator> simulators_;
};

using stores = ::testing::Types<sqlite_store, postgres_store>;
TYPED_TEST_SUITE(XroadEndToEnd, stores, store_name);

// ---- 1. the merged catalogue, whichever environment finishes last -------------------------------------

TYPED_TEST(XroadEndToEnd, ThreeCollectorsMergeTheFixtureCatalogueWhicheverEnvironmentFinishesLast) {
  const auto expected = load_expected_catalogue();

  // The expectation itself covers the fixture cases (fixtures/README.md), so a model that read nothing
  // or misread the fixtures cannot pass.
  ASSERT_GE(expected.size(), 30u);
  EXPECT_EQ(versions_of(expected, "GOV/70000562/rr-public/getPerson", "prod"),
            (std::vector<std::string>{"v1", "v2", "v10"}));
  EXPECT_EQ(versions_of(expected, "GOV/70000740/mnt-public/vehicleRegistry", "prod"),
            (std::vector<std::string>{"v1", "v2", "v11"}));
  EXPECT_EQ(environments_of(expected, "GOV/70000562/rr-public/getPerson"),
            (std::set<std::string>{"dev", "staging", "prod"}))
      << "member codes differ between environments; the mapping makes one id";
  EXPECT_EQ(versions_of(expected, "GOV/70000562/rr-public/deathRecords", "prod"), (std::vector<std::string>{"v2"}))
      << "v1 answers 500";
  EXPECT_EQ(environments_of(expected, "COM/14000222/ht-public/appointmentBooking"),
            (std::set<std::string>{"dev", "staging"}));
  EXPECT_EQ(environments_of(expected, "GOV/70008440/tervis-protected/pharmacies"), (std::set<std::string>{"prod"}));
  for (const auto& absent : {"GOV/70000562/rr-public/internalAudit", "GOV/70000562/rr-public/addressBook",
                             "GOV/70000562/rr-public/untitled", "GOV/70000562/rr-public/secretData"})
    EXPECT_FALSE(expected.contains(absent)) << absent;
  for (const auto& [id, envs] : expected) {
    EXPECT_EQ(id.find("-private/"), std::string::npos) << id;
    EXPECT_FALSE(id.starts_with("COM/11254567/tracking-public/")) << id << ": its listMethods is malformed";
  }

  for (const auto& e : environments()) this->start_simulator(e.name, e.name);

  std::optional<std::map<std::string, json>> first;
  std::set<std::string> finished_last;
  for (const auto& last : environments()) {
    SCOPED_TRACE("round in which " + last.name + " finishes last");
    // Hold `last` in listClients, before it has a worker, so its peers neither see it nor wait for it.
    auto& held = this->simulators_.at(last.name).process;
    ASSERT_TRUE(held.signal(SIGSTOP));
    std::vector<std::pair<std::string, child_process>> others;
    child_process last_collector;
    for (const auto& e : environments()) {
      auto c = this->start_collector(last.name + "-last-" + e.name, e.name, e.name);
      if (e.name == last.name)
        last_collector = std::move(c);
      else
        others.emplace_back(e.name, std::move(c));
    }
    for (auto& [env, c] : others) EXPECT_TRUE(this->finishes_ok(c, env + " collector"));
    EXPECT_TRUE(last_collector.running()) << "the held collector ended early: " << last_collector.errors();
    ASSERT_TRUE(held.signal(SIGCONT));
    ASSERT_TRUE(this->finishes_ok(last_collector, last.name + " collector"));

    const auto served = this->read_catalogue();
    EXPECT_EQ(environment_of_worker(served.index), last.name) << served.index;
    finished_last.insert(environment_of_worker(served.index));
    expect_catalogue_matches(expected, served);

    // The last one found both peers finished and copied them, none stale.
    const json r = this->report(last.name + "-last-" + last.name);
    ASSERT_TRUE(r.is_object());
    ASSERT_EQ(r.at("peers").size(), 2u);
    for (const auto& p : r.at("peers")) EXPECT_EQ(p.value("outcome", ""), "copied") << p.dump();

    auto snapshot = without_collected(served.documents);
    if (!first)
      first = std::move(snapshot);
    else
      EXPECT_EQ(first_difference(*first, snapshot), "") << "the catalogue differs between rounds";

    // catalogue_query reads the same store and agrees.
    auto query = child_process::spawn({TRIBUTARY_E2E_CATALOGUE_QUERY, "--store", this->store_.url(), "summary"},
                                      this->dir_ / ("query-" + last.name + ".out"), this->dir_ / ("query-" + last.name + ".err"));
    ASSERT_TRUE(this->finishes_ok(query, "catalogue_query summary"));
    const json summary = json::parse(query.output(), nullptr, false);
    ASSERT_TRUE(summary.is_object()) << query.output();
    std::map<std::string, std::size_t> by_env;
    std::size_t in_several = 0;
    for (const auto& [id, envs] : expected) {
      for (const auto& [env, entry] : envs) ++by_env[env];
      if (envs.size() > 1) ++in_several;
    }
    EXPECT_EQ(summary.value("catalogue", 0u), expected.size());
    for (const auto& e : environments())
      EXPECT_EQ(summary.at("by_environment").value(e.name, 0u), by_env[e.name]) << e.name;
    EXPECT_EQ(summary.value("in_several", 0u), in_several);
    EXPECT_EQ(summary.value("activated_by", ""), last.name);
  }
  EXPECT_EQ(finished_last, (std::set<std::string>{"dev", "staging", "prod"}));
}

// ---- 2. a collector killed mid-run ------------------------------------------------------------------

TYPED_TEST(XroadEndToEnd, AKilledCollectorIsCleanedUpByItsNextRunAndDoesNotHoldUpItsPeers) {
  const auto expected = load_expected_catalogue();
  for (const auto& e : environments()) this->start_simulator(e.name, e.name);
  // Every answer 5 s late: the dead run's worker is 5 s old before it exists, and once it exists the
  // staging collector is collecting for many seconds more.
  this->start_simulator("staging-slow", "staging", {"--latency-ms", "5000"});

  // A complete round first, so every environment has published data to copy.
  this->run_round("baseline");
  if (this->HasFailure()) return;
  auto store = this->store_.open();
  const auto staging = tributary::protocol_names{read_alias, "staging"};
  const auto published_staging = store.alias_targets(staging.environment_alias());
  ASSERT_EQ(published_staging.size(), 1u);

  // The staging collector, killed with SIGKILL as soon as it has created its worker.
  auto doomed = this->start_collector("doomed-staging", "staging", "staging-slow");
  std::string dead;
  for (auto until = std::chrono::steady_clock::now() + run_timeout; dead.empty();) {
    const auto working = store.alias_targets(staging.working_alias());
    if (!working.empty())
      dead = working.front();
    else if (!doomed.running() || std::chrono::steady_clock::now() > until)
      break;
    else
      std::this_thread::sleep_for(5ms);
  }
  ASSERT_FALSE(dead.empty()) << "the staging collector never created its worker: " << doomed.errors();
  ASSERT_TRUE(doomed.signal(SIGKILL));
  const auto killed = doomed.wait_for(run_timeout);
  ASSERT_TRUE(killed && !killed->exited && killed->signal == SIGKILL)
      << "it should have died mid-run, not " << (killed ? killed->describe() : "kept running");

  // What the dead run left: its worker, still carrying the working alias, never published.
  EXPECT_TRUE(store.index_exists(dead));
  EXPECT_EQ(store.alias_targets(staging.working_alias()), std::vector<std::string>{dead});
  EXPECT_EQ(store.alias_targets(staging.environment_alias()), published_staging);
  const auto dead_time = staging.worker_time(dead);
  ASSERT_TRUE(dead_time) << dead;

  // dev and prod with a stale bound S = 20 s and a wait deadline D = 3 s (D < S, as the collector
  // demands), started once the dead worker is older than S - D: their deadline then cannot come before
  // the dead run's working alias is stale, and they look at peers before they check the deadline. So
  // "copied" rather than "copied_stale" shows they stopped waiting for the dead run at the stale bound.
  // (A run must itself finish within S, or it refuses to activate: started S - D after the dead worker,
  // each has S - D = 17 s left after the stale bound to copy and activate, room for a sanitizer build.)
  constexpr auto stale_after = 20s, wait_deadline = 3s;
  static_assert(wait_deadline < stale_after);
  // The dead run's lease (it never released it) is taken over once silent for --lease-ttl.
  const std::vector<std::string> bounded{"--stale-after", std::to_string(stale_after.count()), "--wait-deadline",
                                         std::to_string(wait_deadline.count()), "--lease-ttl", "10"};
  // The slow listClients took 5 s of the wait already.
  std::this_thread::sleep_until(*dead_time + (stale_after - wait_deadline) + 300ms);
  std::vector<std::pair<std::string, child_process>> peers;
  for (const std::string env : {"dev", "prod"})
    peers.emplace_back(env, this->start_collector("bounded-" + env, env, env, bounded));
  for (auto& [env, c] : peers) ASSERT_TRUE(this->finishes_ok(c, env + " collector with a stale bound"));
  for (const std::string env : {"dev", "prod"}) {
    SCOPED_TRACE(env);
    const json r = this->report("bounded-" + env);
    ASSERT_TRUE(r.is_object());
    bool saw_staging = false;
    for (const auto& p : r.at("peers")) {
      if (p.value("environment", "") != "staging") continue;
      saw_staging = true;
      EXPECT_EQ(p.value("outcome", ""), "copied") << p.dump();
      EXPECT_EQ(p.value("source_index", ""), published_staging.front()) << "the last published staging data";
    }
    EXPECT_TRUE(saw_staging);
    bool stale_note = false;
    for (const auto& n : r.at("notes"))
      stale_note = stale_note || (n.get<std::string>().find(dead) != std::string::npos &&
                                  n.get<std::string>().find("stale") != std::string::npos);
    EXPECT_TRUE(stale_note) << "the dead run's working alias should be reported as stale: " << r.at("notes").dump();
  }
  EXPECT_TRUE(store.index_exists(dead)) << "a peer must never delete another environment's worker";

  // The next staging run, with the same bound and started after it, takes the working alias away from
  // the dead worker and deletes the worker.
  this->simulators_.at("staging-slow").process.terminate();
  std::this_thread::sleep_until(*dead_time + stale_after);  // already past: dev and prod waited for the bound
  auto next = this->start_collector("next-staging", "staging", "staging", bounded);
  ASSERT_TRUE(this->finishes_ok(next, "the next staging collector"));
  const json r = this->report("next-staging");
  ASSERT_TRUE(r.is_object());
  const std::string fresh = r.value("worker", "");
  EXPECT_FALSE(store.index_exists(dead)) << dead << " survived the next run";
  EXPECT_TRUE(store.alias_targets(staging.working_alias()).empty());
  EXPECT_NE(std::find(r.at("deleted").begin(), r.at("deleted").end(), dead), r.at("deleted").end()) << r.at("deleted");
  EXPECT_EQ(store.alias_targets(staging.environment_alias()), std::vector<std::string>{fresh});
  bool took_over = false;
  for (const auto& n : r.at("notes")) took_over = took_over || n.get<std::string>().find("took over the lease of staging") == 0;
  EXPECT_TRUE(took_over) << "the killed run's lease is taken over, and the report says so: " << r.at("notes").dump();
  for (const std::string env : {"dev", "prod"})
    EXPECT_TRUE(store.alias_targets(tributary::protocol_names{read_alias, env}.working_alias()).empty()) << env;

  const auto served = this->read_catalogue();
  EXPECT_EQ(served.index, fresh);
  expect_catalogue_matches(expected, served);
}

// ---- 3. a reader throughout ---------------------------------------------------------------------------

TYPED_TEST(XroadEndToEnd, AReaderNeverSeesAnErrorOrAnEmptyCatalogueAcrossTwoRounds) {
  const auto expected = load_expected_catalogue();
  for (const auto& e : environments()) this->start_simulator(e.name, e.name);

  std::atomic<bool> stop{false};
  std::atomic<std::size_t> reads{0}, looks{0};
  std::vector<std::string> problems;  // the reader's; read after join
  std::set<std::string> indices_seen;
  bool looked_before_activation = false;
  std::thread reader([&] {
    try {
      auto reader_store = this->store_.open();  // its own connection to the same store
      bool activated = false;
      auto problem = [&](std::string what) {
        if (problems.size() < 20) problems.push_back(std::move(what));
      };
      while (!stop.load()) {
        try {
          const auto targets = reader_store.alias_targets(read_alias);
          if (targets.empty()) {
            if (activated)
              problem("apicatalogue vanished after it had been activated");
            else
              looked_before_activation = true;
          } else if (targets.size() != 1) {
            problem("apicatalogue points to " + std::to_string(targets.size()) + " indices");
          } else {
            activated = true;
            std::size_t documents = 0;
            std::string after;
            while (true) {
              const auto page = reader_store.scan(targets.front(), after, 16);
              for (const auto& d : page.documents) {
                const json doc = json::parse(d.json, nullptr, false);
                if (doc.is_discarded() || doc.value("id", "") != d.id) problem("unreadable document '" + d.id + "'");
                ++documents;
              }
              if (page.done) break;
              after = page.next_after;
            }
            if (documents == 0) problem("empty catalogue behind " + targets.front());
            indices_seen.insert(targets.front());
            reads.fetch_add(1);
          }
        } catch (const std::exception& e) {
          problem(e.what());
        }
        looks.fetch_add(1);
        std::this_thread::sleep_for(2ms);  // leave the two cores to the collectors
      }
    } catch (const std::exception& e) {
      problems.push_back(std::string("the reader could not open the store: ") + e.what());
    }
  });
  auto reads_after = [&](std::size_t n) {
    const auto from = reads.load();
    const auto until = std::chrono::steady_clock::now() + run_timeout;
    while (reads.load() < from + n && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(5ms);
    return reads.load() >= from + n;
  };
  // The reader has looked at least once before any collector starts, so it reads from before the
  // first activation to after the last.
  while (looks.load() == 0) std::this_thread::sleep_for(1ms);

  this->run_round("first");
  EXPECT_TRUE(reads_after(3)) << "the reader stopped reading";
  this->run_round("second");
  EXPECT_TRUE(reads_after(3)) << "the reader stopped reading";
  stop = true;
  reader.join();

  EXPECT_TRUE(problems.empty()) << testing::PrintToString(problems);
  EXPECT_TRUE(looked_before_activation);
  EXPECT_GE(reads.load(), 6u);
  EXPECT_GE(indices_seen.size(), 2u) << "each round activates a new index, and the reader saw both";
  expect_catalogue_matches(expected, this->read_catalogue());
}

// ---- signals: SIGINT and SIGTERM at each step of the protocol -----------------------------------------

TYPED_TEST(XroadEndToEnd, ASignalAtAnyStepStopsTheRunAtItsNextSafePointAndLosesNothing) {
  this->start_simulator("dev", "dev");
  auto baseline = this->start_collector("baseline", "dev", "dev", {"--peers", ""});
  ASSERT_TRUE(this->finishes_ok(baseline, "the baseline dev collector"));
  auto store = this->store_.open();
  const tributary::protocol_names dev{read_alias, "dev"};
  // A staging run in progress (a fresh worker carrying its working alias), so that dev waits for it.
  const tributary::protocol_names staging{read_alias, "staging"};
  const auto staging_worker = staging.worker_name(std::chrono::system_clock::now());
  store.create_index(staging_worker);
  store.update_aliases(std::vector{tributary::alias_action::add(staging_worker, staging.working_alias())});

  // The collector stops itself (SIGSTOP) where the phase begins (TRIBUTARY_TEST_PAUSE_AT_PHASE); the
  // signal is sent while it is stopped, then it is continued: the signal lands inside that step.
  const std::vector<std::string> phases{"name_worker",         "fetch_providers", "create_worker",
                                        "collect_services",    "publish_environment", "wait_for_peers",
                                        "activate",            "clean_up"};
  for (const int sig : {SIGTERM, SIGINT}) {
    for (const auto& phase : phases) {
      SCOPED_TRACE(std::string(sig == SIGTERM ? "SIGTERM" : "SIGINT") + " in " + phase);
      const auto read_before = store.alias_targets(read_alias);
      const auto env_before = store.alias_targets(dev.environment_alias());
      const std::string tag = phase + "-" + std::to_string(sig);
      // Waiting for staging would take 100 s; in other steps the deadline is 0 (staging copied as stale).
      auto c = this->start_collector_paused_at(
          phase, tag, "dev", "dev", {"--peers", "staging", "--wait-deadline", phase == "wait_for_peers" ? "100" : "0"});
      ASSERT_TRUE(is_stopped(c.pid())) << "it never reached " << phase << ": " << tail(c.errors());
      ASSERT_TRUE(c.signal(sig));
      ASSERT_TRUE(c.signal(SIGCONT));
      // Bounded, not hung: a run that ignored the signal would wait 100 s for staging or finish normally.
      const auto status = c.wait_for(60s);
      ASSERT_TRUE(status) << "still running a minute after the signal: " << tail(c.errors());
      const json r = this->report(tag);
      ASSERT_TRUE(r.is_object()) << tail(c.errors());
      const std::string worker = r.value("worker", "");
      EXPECT_TRUE(store.alias_targets(dev.working_alias()).empty()) << "the working alias must not outlive the run";
      if (phase == "clean_up") {
        // Activation is done: the run completes its clean-up and succeeds.
        EXPECT_TRUE(status->success()) << status->describe();
        EXPECT_EQ(r.value("outcome", ""), "succeeded");
        EXPECT_EQ(store.alias_targets(read_alias), std::vector{worker});
        continue;
      }
      EXPECT_TRUE(status->exited && status->code == 128 + sig) << status->describe() << "\n" << tail(c.errors());
      EXPECT_EQ(r.value("outcome", ""), "interrupted") << r.dump();
      EXPECT_EQ(store.alias_targets(read_alias), read_before) << "the live catalogue must not move";
      const bool published = phase == "publish_environment" || phase == "wait_for_peers" || phase == "activate";
      if (published) {
        EXPECT_EQ(store.alias_targets(dev.environment_alias()), std::vector{worker});
        EXPECT_TRUE(store.index_exists(worker));
      } else {
        EXPECT_EQ(store.alias_targets(dev.environment_alias()), env_before);
        if (!worker.empty()) {
          EXPECT_FALSE(store.index_exists(worker)) << "an unpublished worker is removed";
        }
      }
    }
  }
}

// ---- one run per environment at a time (the lease) ------------------------------------------------------

TYPED_TEST(XroadEndToEnd, ASecondRunOfAnEnvironmentFindsTheLeaseHeldSaysWhoseAndExits75) {
  this->start_simulator("dev", "dev");
  auto first = this->start_collector_paused_at("collect_services", "first", "dev", "dev", {"--peers", ""});
  ASSERT_TRUE(is_stopped(first.pid())) << tail(first.errors());

  auto second = this->start_collector("second", "dev", "dev", {"--peers", ""});
  const auto status = second.wait_for(run_timeout);
  ASSERT_TRUE(status);
  EXPECT_TRUE(status->exited && status->code == 75) << status->describe() << "\n" << tail(second.errors());
  const auto said = second.errors();
  EXPECT_NE(said.find("another run of dev is in progress ("), std::string::npos) << said;
  EXPECT_NE(said.find(":" + std::to_string(first.pid()) + ", since "), std::string::npos) << "names the holder: " << said;
  auto store = this->store_.open();
  EXPECT_TRUE(store.alias_targets(read_alias).empty()) << "the second run touched nothing";

  ASSERT_TRUE(first.signal(SIGCONT));
  ASSERT_TRUE(this->finishes_ok(first, "the first dev collector"));
  auto third = this->start_collector("third", "dev", "dev", {"--peers", ""});
  EXPECT_TRUE(this->finishes_ok(third, "a dev collector after the first released the lease"));
}

// ---- --every: a scheduled service ------------------------------------------------------------------------

TYPED_TEST(XroadEndToEnd, WithEveryItServesMetricsWritesTheMetricsFileAndExitsAtOnceOnSigtermBetweenRuns) {
  this->start_simulator("dev", "dev");
  const int port = tributary::testing::closed_port();
  const auto metrics_file = this->dir_ / "dev.prom";
  auto c = this->start_collector("every", "dev", "dev",
                                 {"--peers", "", "--every", "1h", "--jitter", "1s", "--metrics-listen",
                                  "127.0.0.1:" + std::to_string(port), "--metrics-file", metrics_file.string()});
  tributary::curl_library curl;
  tributary::curl_transport http(curl, {});
  auto get = [&](const std::string& path) {
    tributary::http_request request;
    request.url = "http://127.0.0.1:" + std::to_string(port) + path;
    return http.perform(std::move(request));
  };
  std::string metrics;
  // The first run happens at once; then the process waits an hour for the next.
  for (auto until = std::chrono::steady_clock::now() + run_timeout; std::chrono::steady_clock::now() < until;) {
    const auto r = get("/metrics");
    if (r.status == 200 && r.body.find(R"(tributary_collector_runs_total{environment="dev",outcome="succeeded"} 1)") !=
                               std::string::npos) {
      metrics = r.body;
      break;
    }
    ASSERT_TRUE(c.running()) << tail(c.errors());
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_FALSE(metrics.empty()) << "no successful run in the metrics: " << tail(c.errors());
  EXPECT_NE(metrics.find("# TYPE tributary_collector_runs_total counter"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find(R"(tributary_collector_last_run_services{environment="dev"} 23)"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("tributary_collector_last_activation_timestamp_seconds{"), std::string::npos) << metrics;
  EXPECT_NE(read_text_file(metrics_file).find(R"(outcome="succeeded"} 1)"), std::string::npos) << "the textfile too";
  EXPECT_EQ(get("/other").status, 404);

  const auto signalled = std::chrono::steady_clock::now();
  ASSERT_TRUE(c.signal(SIGTERM));
  const auto status = c.wait_for(10s);
  ASSERT_TRUE(status) << "SIGTERM between runs must end the process at once";
  EXPECT_LT(std::chrono::steady_clock::now() - signalled, 2s);
  EXPECT_TRUE(status->success()) << status->describe() << "\n" << tail(c.errors());
}

// The metrics file is checked at start (an unwritable path is a usage error then: see the probe tests)
// without replacing an earlier process's; one that cannot be written after a run is said, and the
// run's outcome and exit status stand.
TYPED_TEST(XroadEndToEnd, AMetricsFileThatCannotBeWrittenAfterARunIsSaidAndTheRunStands) {
  this->start_simulator("dev", "dev");
  const auto metrics_file = this->dir_ / "dev.prom";
  const std::string earlier = "tributary_collector_last_activation_timestamp_seconds{environment=\"dev\"} 1.000\n";
  std::ofstream(metrics_file) << earlier;
  auto c = this->start_collector_paused_at("collect_services", "metrics", "dev", "dev",
                                           {"--peers", "", "--metrics-file", metrics_file.string()});
  ASSERT_TRUE(is_stopped(c.pid())) << tail(c.errors());
  EXPECT_EQ(read_text_file(metrics_file), earlier) << "an earlier process's metrics stay until a run's replace them";
  EXPECT_FALSE(fs::exists(metrics_file.string() + ".tmp")) << "the check at start leaves nothing behind";
  // The file is written beside itself and renamed: a directory in the way makes the next write fail.
  fs::create_directory(metrics_file.string() + ".tmp");
  ASSERT_TRUE(c.signal(SIGCONT));
  EXPECT_TRUE(this->finishes_ok(c, "the dev collector whose metrics cannot be written"));
  const auto said = c.errors();
  EXPECT_NE(said.find("--metrics-file: cannot write '" + metrics_file.string() + "'"), std::string::npos) << said;
  EXPECT_NE(said.find("the run's outcome stands"), std::string::npos) << said;
  EXPECT_EQ(this->report("metrics").value("outcome", ""), "succeeded");
  auto store = this->store_.open();
  EXPECT_EQ(store.alias_targets(read_alias).size(), 1u) << "the run activated its catalogue";
}

// ---- --dry-run: the plan a run would take, and nothing changed ------------------------------------------

TYPED_TEST(XroadEndToEnd, ADryRunPrintsTheAliasPlanAndLeavesTheStoreUnchanged) {
  this->start_simulator("dev", "dev");
  auto baseline = this->start_collector("baseline", "dev", "dev", {"--peers", ""});
  ASSERT_TRUE(this->finishes_ok(baseline, "the baseline dev collector"));
  auto store = this->store_.open();
  const tributary::protocol_names dev{read_alias, "dev"};
  const auto live = store.alias_targets(dev.environment_alias());
  ASSERT_EQ(live.size(), 1u);
  const auto aliases_before = store.aliases();
  const auto indices_before = store.list_indices("");
  std::string bytes_before;
  if constexpr (std::is_same_v<TypeParam, sqlite_store>) bytes_before = read_text_file(this->store_.file);

  auto dry = this->start_collector("dry", "dev", "dev", {"--dry-run"});
  const auto status = dry.wait_for(run_timeout);
  ASSERT_TRUE(status && status->success()) << (status ? status->describe() : "still running") << tail(dry.errors());
  const json plan = json::parse(dry.output(), nullptr, false);
  ASSERT_TRUE(plan.is_object()) << dry.output();
  const std::string worker = plan.value("worker", "");
  EXPECT_TRUE(dev.worker_time(worker)) << worker;
  // Publishing moves A-E from the live worker (must_exist) and takes the working alias off in one update.
  const json publish = plan.at("publish_environment");
  ASSERT_EQ(publish.size(), 3u) << publish.dump();
  EXPECT_EQ(publish[0], json::parse(R"({"op":"remove","alias":"apicatalogue-dev","index":")" + live.front() +
                                    R"(","must_exist":true})"));
  EXPECT_EQ(publish[2].value("alias", ""), dev.working_alias());
  // Activation is the compare-and-set on A-E, then A.
  const json activate = plan.at("activate");
  ASSERT_EQ(activate.size(), 4u) << activate.dump();
  EXPECT_TRUE(activate[0].value("must_exist", false));
  EXPECT_EQ(activate[3], json::parse(R"({"op":"add","alias":"apicatalogue","index":")" + worker + R"("})"));
  EXPECT_TRUE(plan.at("clean_up").empty()) << "nothing is past the stale bound";

  EXPECT_EQ(store.aliases(), aliases_before);
  EXPECT_EQ(store.list_indices(""), indices_before);
  EXPECT_FALSE(fs::exists(this->report_path("dry"))) << "a dry run writes no report";
  if constexpr (std::is_same_v<TypeParam, sqlite_store>) {
    EXPECT_TRUE(read_text_file(this->store_.file) == bytes_before) << "the database file changed";
    const fs::path wal = this->store_.file.string() + "-wal";
    EXPECT_TRUE(!fs::exists(wal) || fs::file_size(wal) == 0) << "a dry run wrote to the write-ahead log";
  }
}

}  // namespace

#endif

// ---- 4. credentials in URL options never reach the output or the report ----------------------------------

#if defined(TRIBUTARY_E2E_SIMULATOR)


namespace {

/// The fixture's store URL with a password, and a peer-store URL of the same kind with another one,
/// where the store kind takes one; the passwords are the secrets that must not show.
struct credentialed_stores {
  std::string store, peer;
  std::vector<std::string> secrets;
};

credentialed_stores with_passwords(const sqlite_store& s, const fs::path& dir) {
  // A SQLite URL names a file: there is no password to give.
  return {s.url(), "sqlite://" + (dir / "peer.db").string(), {}};
}

credentialed_stores with_passwords(const postgres_store& s, const fs::path&) {
  credentialed_stores out{s.url(), s.url(), {}};
  const auto authority_at = out.store.find("://") + 3;
  const auto authority = out.store.substr(authority_at, out.store.find('/', authority_at) - authority_at);
  const auto at = authority.rfind('@');
  const auto colon = at == std::string::npos ? std::string::npos : authority.substr(0, at).find(':');
  if (colon != std::string::npos) {
    // The server wants this password: it is the secret, in both URLs.
    out.secrets.push_back(authority.substr(colon + 1, at - colon - 1));
    return out;
  }
  // The test server trusts loopback, so a password it never asks for does no harm. The store's goes in
  // the userinfo (as a parameter when the URL names no user), the peer's as a libpq parameter.
  if (at != std::string::npos)
    out.store.insert(authority_at + at, ":pgstoresecret");
  else
    out.store += "&password=pgstoresecret";
  out.peer += "&password=pgpeersecret";
  out.secrets = {"pgstoresecret", "pgpeersecret"};
  return out;
}

/// Runs one executable to its end; returns stdout + stderr (+ the report, when `report` names one).
std::string run_and_collect(const std::vector<std::string>& argv, const fs::path& dir, const std::string& tag,
                            const fs::path& report = {}) {
  auto process = child_process::spawn(argv, dir / (tag + ".out"), dir / (tag + ".err"));
  const auto status = process.wait_for(run_timeout);
  EXPECT_TRUE(status.has_value()) << tag << " did not finish; its log:\n" << tail(process.errors());
  if (!status) process.terminate();
  std::string all = process.output() + "\n" + process.errors();
  if (!report.empty()) all += "\n" + read_text_file(report);
  return all;
}

void expect_no_secret(const std::string& text, const std::vector<std::string>& secrets, const std::string& what) {
  for (const auto& secret : secrets)
    EXPECT_EQ(text.find(secret), std::string::npos) << secret << " shows in " << what << ":\n" << tail(text);
}

TYPED_TEST(XroadEndToEnd, CredentialsInEveryUrlOptionNeverShowInOutputOrReport) {
  const auto stores = with_passwords(this->store_, this->dir_);
  std::vector<std::string> secrets = stores.secrets;
  secrets.push_back("xroadsecret");

  // Seven in ten provider metaservice requests answered 500, on every attempt: some providers fail after
  // their retries, and their failure reasons name the URL requested.
  auto& sim = this->start_simulator("dev", "dev", {"--error-rate", "0.7", "--seed", "3"});
  const std::string port = sim.url.substr(sim.url.rfind(':') + 1);
  const auto& dev = this->info_of("dev");
  auto collector = [&](const std::string& store, const std::string& peer, const std::string& xroad,
                       const fs::path& report) {
    return std::vector<std::string>{dev.collector, "--store", store, "--peer-store", "staging=" + peer,
                                    "--xroad", xroad, "--client", dev.instance + "/GOV/70000310/kmais-client",
                                    "--member-codes", (fixtures_dir / "member-codes.json").string(),
                                    "--wait-deadline", "0", "--poll-interval", "1", "--report-json",
                                    report.string()};
  };
  {
    SCOPED_TRACE("providers fail");
    const auto report_file = this->dir_ / "report-failing.json";
    const auto all = run_and_collect(collector(stores.store, stores.peer, "http://u:xroadsecret@127.0.0.1:" + port,
                                               report_file),
                                     this->dir_, "collector-failing", report_file);
    expect_no_secret(all, secrets, "the failing-providers run");
    const json report = json::parse(read_text_file(report_file), nullptr, false);
    ASSERT_TRUE(report.is_object()) << tail(all);
    const auto& failed = report["providers"]["failed"];
    ASSERT_FALSE(failed.empty()) << "the simulator's errors failed no provider: the run proves nothing\n" << tail(all);
    bool named = false;
    for (const auto& f : failed) named = named || f.value("reason", "").find("http://u:***@127.0.0.1:" + port + "/r1/") != std::string::npos;
    EXPECT_TRUE(named) << "the failure reasons name the URL, redacted: " << failed.dump();
  }
  {
    SCOPED_TRACE("the security server is unreachable");
    const std::string closed = std::to_string(tributary::testing::closed_port());
    const auto report_file = this->dir_ / "report-unreachable.json";
    const auto all = run_and_collect(collector(stores.store, stores.peer, "http://u:xroadsecret@127.0.0.1:" + closed,
                                               report_file),
                                     this->dir_, "collector-unreachable", report_file);
    expect_no_secret(all, secrets, "the unreachable-source run");
    const json report = json::parse(read_text_file(report_file), nullptr, false);
    ASSERT_TRUE(report.is_object()) << tail(all);
    EXPECT_NE(report.value("failure", "").find("http://u:***@127.0.0.1:" + closed + "/listClients"), std::string::npos)
        << report.value("failure", "");
  }
  {
    SCOPED_TRACE("catalogue_query");
    const auto all = run_and_collect({TRIBUTARY_E2E_CATALOGUE_QUERY, "--store", stores.store, "summary"}, this->dir_,
                                     "query-store");
    expect_no_secret(all, secrets, "catalogue_query on the store");
  }

  if constexpr (std::is_same_v<TypeParam, sqlite_store>) {
    // Store kinds that do not depend on the fixture's store: run once.
    const std::string closed = std::to_string(tributary::testing::closed_port());
    const std::vector<std::string> more{"esstoresecret", "espeersecret", "schemesecret"};
    secrets.insert(secrets.end(), more.begin(), more.end());
    {
      SCOPED_TRACE("an unreachable Elasticsearch store and peer store");
      const auto report_file = this->dir_ / "report-es.json";
      const auto all = run_and_collect(collector("http://elastic:esstoresecret@127.0.0.1:" + closed,
                                                 "http://elastic:espeersecret@127.0.0.1:" + closed,
                                                 "http://u:xroadsecret@127.0.0.1:" + port, report_file),
                                       this->dir_, "collector-es", report_file);
      expect_no_secret(all, secrets, "the Elasticsearch run");
      expect_no_secret(run_and_collect({TRIBUTARY_E2E_CATALOGUE_QUERY, "--store",
                                        "http://elastic:esstoresecret@127.0.0.1:" + closed, "summary"},
                                       this->dir_, "query-es"),
                       secrets, "catalogue_query on Elasticsearch");
    }
    {
      SCOPED_TRACE("a store URL of an unknown kind");
      const auto all = run_and_collect(collector("ftp://u:schemesecret@127.0.0.1/x", "ftp://u:schemesecret@127.0.0.1/y",
                                                 "http://u:xroadsecret@127.0.0.1:" + port, this->dir_ / "none.json"),
                                       this->dir_, "collector-scheme");
      expect_no_secret(all, secrets, "the unknown-scheme run");
      EXPECT_NE(all.find("ftp://u:***@127.0.0.1/x"), std::string::npos) << all;
      expect_no_secret(run_and_collect({TRIBUTARY_E2E_CATALOGUE_QUERY, "--store", "ftp://u:schemesecret@127.0.0.1/x", "summary"},
                                       this->dir_, "query-scheme"),
                       secrets, "catalogue_query on an unknown scheme");
    }
  }
}

/// Runs collector_dev with `extra` after valid options; stdout and stderr.
std::string usage_run(const std::string& tag, const std::vector<std::string>& extra) {
  const auto dir = fs::temp_directory_path() / ("tributary-e2e-" + std::to_string(::getpid()) + "-" + tag);
  fs::create_directories(dir);
  std::vector<std::string> argv{TRIBUTARY_E2E_COLLECTOR_DEV, "--store", "sqlite://" + (dir / "c.db").string(), "--xroad",
                                "http://u:xroadsecret@127.0.0.1:1", "--client", "EE-DEV/GOV/70000310/kmais-client"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  const auto all = run_and_collect(argv, dir, tag);
  fs::remove_all(dir);
  return all;
}

// A usage error names a malformed value it quotes redacted.
TEST(XroadEndToEndCredentials, AMalformedPeerStoreOptionDoesNotEchoItsPassword) {
  const auto all = usage_run("usage-peer-store", {"--peer-store", "http://u:usagesecret@127.0.0.1:9200"});
  EXPECT_NE(all.find("--peer-store needs ENV=URL"), std::string::npos) << all;
  EXPECT_EQ(all.find("usagesecret"), std::string::npos) << all;
  EXPECT_EQ(all.find("xroadsecret"), std::string::npos) << all;
  EXPECT_NE(all.find("http://u:***@127.0.0.1:9200"), std::string::npos) << all;
}

// The command-line parser's own errors (CLI11) quote the offending argument or value.
TEST(XroadEndToEndCredentials, ParserErrorsDoNotEchoAPassword) {
  const auto stray = usage_run("usage-stray", {"http://u:straysecret@127.0.0.1:9200"});
  const auto value = usage_run("usage-value", {"--timeout-ms", "http://u:valuesecret@127.0.0.1:9200"});
  for (const auto* all : {&stray, &value}) EXPECT_EQ(all->find("xroadsecret"), std::string::npos) << *all;
  EXPECT_EQ(stray.find("straysecret"), std::string::npos) << stray;
  EXPECT_EQ(value.find("valuesecret"), std::string::npos) << value;
  EXPECT_NE(stray.find("http://u:***@127.0.0.1:9200"), std::string::npos) << stray;
  EXPECT_NE(value.find("http://u:***@127.0.0.1:9200"), std::string::npos) << value;
}

}  // namespace

#endif

// ---- 5. what the user probe of issue 12 found (items 6-11), through the real executables ----------------

#if defined(TRIBUTARY_E2E_SIMULATOR)

#include <sqlite3.h>

namespace {

/// A directory of the test's own, removed at the end unless the test failed.
class probe_dir {
 public:
  probe_dir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = fs::temp_directory_path() /
            ("tributary-e2e-" + std::to_string(::getpid()) + "-" + info->test_suite_name() + "-" + info->name());
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  probe_dir(const probe_dir&) = delete;
  probe_dir& operator=(const probe_dir&) = delete;
  ~probe_dir() {
    if (::testing::Test::HasFailure())
      std::cerr << "end-to-end files kept in " << path_ << "\n";
    else
      fs::remove_all(path_);
  }
  [[nodiscard]] const fs::path& path() const { return path_; }
  [[nodiscard]] fs::path operator/(const std::string& name) const { return path_ / name; }
  /// The names of the files in the directory (the runs' captured output excluded).
  [[nodiscard]] std::set<std::string> files() const {
    std::set<std::string> out;
    for (const auto& e : fs::directory_iterator(path_)) {
      const auto name = e.path().filename().string();
      if (!name.ends_with(".out") && !name.ends_with(".err")) out.insert(name);
    }
    return out;
  }

 private:
  fs::path path_;
};

struct finished_run {
  tributary::test::exit_status status;
  std::string out, err;
};

/// Runs `argv` to its end (a test failure if it does not end within run_timeout).
finished_run run_to_end(const std::vector<std::string>& argv, const fs::path& dir, const std::string& tag) {
  auto process = child_process::spawn(argv, dir / (tag + ".out"), dir / (tag + ".err"));
  auto status = process.wait_for(run_timeout);
  EXPECT_TRUE(status.has_value()) << tag << " did not finish; its log:\n" << tail(process.errors());
  if (!status) status = process.terminate();
  return {*status, process.output(), process.errors()};
}

/// collector_dev's options before `extra`: the store, the security server and the client.
std::vector<std::string> collector_dev_argv(const std::string& store, const std::string& xroad,
                                            const std::vector<std::string>& extra) {
  std::vector<std::string> argv{TRIBUTARY_E2E_COLLECTOR_DEV, "--store", store, "--xroad", xroad,
                                "--client", "EE-DEV/GOV/70000310/kmais-client"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return argv;
}

std::string closed_xroad() { return "http://127.0.0.1:" + std::to_string(tributary::testing::closed_port()); }

::testing::AssertionResult exited_with(const finished_run& r, int code) {
  if (r.status.exited && r.status.code == code) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << r.status.describe() << ", not exit status " << code << "; stderr:\n"
                                       << tail(r.err) << "\nstdout:\n" << tail(r.out);
}

// Item 6: a second simulator on a port in use fails, naming it, instead of sharing it (SO_REUSEPORT):
// a collector would otherwise collect two environments mixed together.
TEST(XroadEndToEndProbe, TheSimulatorRefusesAPortAlreadyInUse) {
  const probe_dir dir;
  auto first = child_process::spawn(
      {TRIBUTARY_E2E_SIMULATOR, "--fixtures", (fixtures_dir / "dev").string(), "--port", "0", "--threads", "4"},
      dir / "first.out", dir / "first.err");
  const auto port = first.wait_for_output_line("listening on 127.0.0.1:", start_timeout);
  ASSERT_TRUE(port) << "the first simulator did not start: " << first.errors();

  const auto second = run_to_end({TRIBUTARY_E2E_SIMULATOR, "--fixtures", (fixtures_dir / "prod").string(), "--port",
                                  *port, "--threads", "4"},
                                 dir.path(), "second");
  EXPECT_TRUE(second.status.exited && second.status.code != 0) << second.status.describe();
  EXPECT_NE(second.err.find("127.0.0.1:" + *port + " is already in use"), std::string::npos) << second.err;
  EXPECT_EQ(second.out.find("listening on"), std::string::npos) << second.out;
  EXPECT_TRUE(first.running()) << "the first simulator must go on serving: " << first.errors();

  // --port 0 still picks a free port.
  auto third = child_process::spawn(
      {TRIBUTARY_E2E_SIMULATOR, "--fixtures", (fixtures_dir / "staging").string(), "--port", "0", "--threads", "4"},
      dir / "third.out", dir / "third.err");
  const auto other = third.wait_for_output_line("listening on 127.0.0.1:", start_timeout);
  ASSERT_TRUE(other) << "a simulator on --port 0 did not start: " << third.errors();
  EXPECT_NE(*other, *port);
  EXPECT_TRUE(third.terminate().exited);
  EXPECT_TRUE(first.terminate().exited);
}

// Item 7: --quiet hides progress, never why a run failed.
TEST(XroadEndToEndProbe, AQuietFailingRunStillPrintsWhy) {
  const probe_dir dir;
  const auto xroad = closed_xroad();
  const auto r = run_to_end(collector_dev_argv("sqlite://" + (dir / "c.db").string(), xroad,
                                               {"--quiet", "--peers", "", "--timeout-ms", "5000"}),
                            dir.path(), "quiet");
  EXPECT_TRUE(exited_with(r, 1));
  EXPECT_NE(r.err.find("failed"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(xroad + "/listClients"), std::string::npos) << "the reason, naming what failed:\n" << r.err;
  EXPECT_EQ(r.err.find("fetch_providers:"), std::string::npos) << "no progress lines with --quiet:\n" << r.err;
}

// Item 8: a member-codes file whose environment key is misspelt is a usage error, before any store.
TEST(XroadEndToEndProbe, AMisspeltEnvironmentInMemberCodesIsRejectedBeforeTheStoreIsCreated) {
  const probe_dir dir;
  std::ofstream(dir / "member-codes.json") << R"({"dve": {"10000562": "70000562"}})";
  const auto r = run_to_end(collector_dev_argv("sqlite://" + (dir / "c.db").string(), closed_xroad(),
                                               {"--member-codes", (dir / "member-codes.json").string(),
                                                "--report-json", (dir / "report.json").string()}),
                            dir.path(), "member-codes");
  EXPECT_TRUE(exited_with(r, 2));
  EXPECT_NE(r.err.find("'dve'"), std::string::npos) << r.err;
  EXPECT_EQ(dir.files(), (std::set<std::string>{"member-codes.json"})) << "neither a store nor a report";
}

// Item 10: an unwritable --report-json is a usage error found before the store is created...
TEST(XroadEndToEndProbe, AnUnwritableReportPathIsRejectedBeforeTheStoreIsCreated) {
  const probe_dir dir;
  const auto report = dir / "no-such-dir" / "report.json";
  const auto r = run_to_end(collector_dev_argv("sqlite://" + (dir / "c.db").string(), closed_xroad(),
                                               {"--report-json", report.string()}),
                            dir.path(), "report");
  EXPECT_TRUE(exited_with(r, 2));
  EXPECT_NE(r.err.find(report.string()), std::string::npos) << r.err;
  EXPECT_TRUE(dir.files().empty()) << testing::PrintToString(dir.files());
}

// So is a --metrics-file that cannot be written, or names a directory (checked at start, as the report
// file is opened).
TEST(XroadEndToEndProbe, AnUnwritableMetricsFileIsRejectedBeforeTheStoreIsCreated) {
  const probe_dir dir;
  auto run_with = [&](const fs::path& metrics, const std::string& tag) {
    return run_to_end(collector_dev_argv("sqlite://" + (dir / "c.db").string(), closed_xroad(),
                                         {"--metrics-file", metrics.string()}),
                      dir.path(), tag);
  };
  const auto metrics = dir / "no-such-dir" / "dev.prom";
  const auto r = run_with(metrics, "metrics");
  EXPECT_TRUE(exited_with(r, 2));
  EXPECT_NE(r.err.find("--metrics-file: cannot write '" + metrics.string() + "'"), std::string::npos) << r.err;
  EXPECT_TRUE(dir.files().empty()) << testing::PrintToString(dir.files());

  fs::create_directory(dir / "prom");
  const auto a_directory = run_with(dir / "prom", "metrics-directory");
  EXPECT_TRUE(exited_with(a_directory, 2));
  EXPECT_NE(a_directory.err.find("'" + (dir / "prom").string() + "' is a directory"), std::string::npos) << a_directory.err;
  EXPECT_EQ(dir.files(), (std::set<std::string>{"prom"})) << "neither a store nor a temporary file";
}

// ...and a store that cannot be opened still gets a report that says why.
TEST(XroadEndToEndProbe, AStoreThatCannotBeOpenedStillGetsAReportSayingWhy) {
  const probe_dir dir;
  const auto missing = dir / "no-such-dir" / "c.db";
  const std::string closed = std::to_string(tributary::testing::closed_port());
  const std::vector<std::pair<std::string, std::string>> stores{
      {"sqlite", "sqlite://" + missing.string()},
      {"postgres", "postgres://tributary@127.0.0.1:" + closed + "/catalogue"}};
  for (const auto& [tag, store] : stores) {
    SCOPED_TRACE(store);
    const auto report_file = dir / ("report-" + tag + ".json");
    const auto r = run_to_end(collector_dev_argv(store, closed_xroad(), {"--quiet", "--report-json", report_file.string()}),
                              dir.path(), "store-" + tag);
    EXPECT_TRUE(exited_with(r, 1));
    const json report = json::parse(read_text_file(report_file), nullptr, false);
    ASSERT_TRUE(report.is_object()) << "no report: " << read_text_file(report_file) << "\n" << r.err;
    EXPECT_EQ(report.value("outcome", ""), "failed");
    EXPECT_FALSE(report.value("ok", true));
    const std::string failure = report.value("failure", "");
    EXPECT_NE(failure.find("store"), std::string::npos) << failure;
    EXPECT_NE(failure.find(tag == "sqlite" ? missing.string() : "127.0.0.1:" + closed), std::string::npos) << failure;
    EXPECT_NE(r.err.find(failure.substr(0, 40)), std::string::npos) << "--quiet still says why:\n" << r.err;
  }
  EXPECT_FALSE(fs::exists(missing.parent_path()));
}

// Item 11: a malformed store URL or --client, or an out-of-range number, is a usage error and
// creates no store file.
TEST(XroadEndToEndProbe, MalformedOptionsAreUsageErrorsThatCreateNoStore) {
  const probe_dir dir;
  const std::string store = "sqlite://" + (dir / "c.db").string();
  struct bad_options {
    std::string what;
    std::vector<std::string> argv;
    std::string named;  ///< what the message must name
  };
  const std::vector<bad_options> cases{
      {"store with a query", collector_dev_argv(store + "?mode=ro", closed_xroad(), {}), "query"},
      {"store with a fragment", collector_dev_argv(store + "#x", closed_xroad(), {}), "fragment"},
      {"store naming no file", collector_dev_argv("sqlite://", closed_xroad(), {}), "names no file"},
      {"store of an unknown kind", collector_dev_argv("ftp://127.0.0.1/c.db", closed_xroad(), {}), "ftp://127.0.0.1/c.db"},
      {"client of three parts",
       {TRIBUTARY_E2E_COLLECTOR_DEV, "--store", store, "--xroad", closed_xroad(), "--client", "EE-DEV/GOV/kmais-client"},
       "--client"},
      {"client of five parts",
       {TRIBUTARY_E2E_COLLECTOR_DEV, "--store", store, "--xroad", closed_xroad(), "--client", "EE-DEV/GOV/1/a/b"},
       "--client"},
      {"stale bound out of range", collector_dev_argv(store, closed_xroad(), {"--stale-after", "99999999999999"}),
       "--stale-after"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    const auto r = run_to_end(c.argv, dir.path(), "usage");
    EXPECT_TRUE(exited_with(r, 2));
    EXPECT_NE(r.err.find(c.named), std::string::npos) << r.err;
    EXPECT_TRUE(dir.files().empty()) << testing::PrintToString(dir.files());
  }
  const auto range = run_to_end(collector_dev_argv(store, closed_xroad(), {"--stale-after", "99999999999999"}),
                                dir.path(), "range");
  EXPECT_NE(range.err.find("range"), std::string::npos) << "the message says the value is out of range:\n" << range.err;
}

// Item 9: catalogue_query is a reader and never writes: a mistyped path is an error and no file appears;
// another application's SQLite file keeps its journal mode and its bytes.
TEST(XroadEndToEndProbe, CatalogueQueryNeverWritesToTheStore) {
  const probe_dir dir;
  const auto missing = dir / "mistyped.db";
  const auto query = run_to_end({TRIBUTARY_E2E_CATALOGUE_QUERY, "--store", "sqlite://" + missing.string(), "summary"},
                                dir.path(), "query-missing");
  EXPECT_TRUE(exited_with(query, 1));
  EXPECT_NE(query.err.find(missing.string()), std::string::npos) << query.err;
  EXPECT_NE(query.err.find("does not exist"), std::string::npos) << query.err;
  EXPECT_TRUE(dir.files().empty()) << testing::PrintToString(dir.files());

  const auto foreign = dir / "accounts.db";
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(foreign.string().c_str(), &db), SQLITE_OK);
    const char* sql = "PRAGMA journal_mode = DELETE; CREATE TABLE accounts (id INTEGER PRIMARY KEY, name TEXT);"
                      "INSERT INTO accounts(name) VALUES ('alice'), ('bob');";
    EXPECT_EQ(sqlite3_exec(db, sql, nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
    sqlite3_close(db);
  }
  const std::string before = read_text_file(foreign);
  ASSERT_FALSE(before.empty());
  const auto other = run_to_end({TRIBUTARY_E2E_CATALOGUE_QUERY, "--store", "sqlite://" + foreign.string(), "list"},
                                dir.path(), "query-foreign");
  EXPECT_TRUE(exited_with(other, 1));
  EXPECT_NE(other.err.find("not a tributary store"), std::string::npos) << other.err;
  EXPECT_EQ(read_text_file(foreign), before) << "catalogue_query changed another application's file";
  EXPECT_EQ(dir.files(), (std::set<std::string>{"accounts.db"})) << "no -wal or -shm file either";
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2(foreign.string().c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &stmt, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)), "delete");
  sqlite3_finalize(stmt);
  sqlite3_close(db);
}

// A security server whose every provider fails: the run is refused by the publish guard (exit 1), says
// so with --quiet too, and the live catalogue stays on the previous run's index.
TYPED_TEST(XroadEndToEnd, EveryProviderFailingIsRefusedAndTheLiveCatalogueStays) {
  this->start_simulator("dev", "dev");
  auto good = this->start_collector("good", "dev", "dev", {"--peers", ""});
  ASSERT_TRUE(this->finishes_ok(good, "the good dev collector"));
  auto store = this->store_.open();
  const tributary::protocol_names dev{read_alias, "dev"};
  const auto live = store.alias_targets(read_alias);
  const auto published = store.alias_targets(dev.environment_alias());
  ASSERT_EQ(live.size(), 1u);
  ASSERT_EQ(published, live);
  const auto before = this->read_catalogue();
  ASSERT_FALSE(before.documents.empty());

  this->start_simulator("failing", "dev", {"--error-rate", "1"});
  auto failing = this->start_collector("failing", "dev", "failing", {"--peers", "", "--quiet"});
  const auto status = failing.wait_for(run_timeout);
  ASSERT_TRUE(status) << "did not finish: " << tail(failing.errors());
  EXPECT_TRUE(status->exited && status->code == 1) << status->describe() << "\n" << tail(failing.errors());
  const json r = this->report("failing");
  ASSERT_TRUE(r.is_object()) << tail(failing.errors());
  EXPECT_EQ(r.value("outcome", ""), "refused") << r.dump();
  EXPECT_FALSE(r.value("ok", true));
  EXPECT_EQ(r["providers"].value("succeeded", 1u), 0u) << r["providers"].dump();
  EXPECT_FALSE(r["providers"]["failed"].empty());
  EXPECT_NE(failing.errors().find("refused"), std::string::npos) << "--quiet still says why:\n" << failing.errors();

  EXPECT_EQ(store.alias_targets(read_alias), live) << "apicatalogue must stay on the previous run's index";
  EXPECT_EQ(store.alias_targets(dev.environment_alias()), published) << "nothing is published";
  EXPECT_TRUE(store.alias_targets(dev.working_alias()).empty());
  const std::string worker = r.value("worker", "");
  if (!worker.empty()) {
    EXPECT_FALSE(store.index_exists(worker)) << "the refused run's worker is removed";
  }
  const auto after = this->read_catalogue();
  EXPECT_EQ(after.index, before.index);
  EXPECT_EQ(first_difference(before.documents, after.documents), "") << "the live catalogue must not change";
}

}  // namespace

#endif

// ---- 6. the metrics a scheduled collector serves and writes -------------------------------------------------

#include "../examples/collector/metrics.hpp"

namespace {

/// The count of succeeded runs in a Prometheus text (0 when absent).
std::uint64_t succeeded_runs(const std::string& text) {
  const std::string key = R"(outcome="succeeded"} )";
  const auto at = text.find(key);
  return at == std::string::npos ? 0 : std::stoull(text.substr(at + key.size()));
}

// A scrape of /metrics that shows a run while the textfile does not hold it yet made the end-to-end
// --every test fail now and then: the file must be written before a scrape can see the record.
TEST(CollectorMetrics, AScrapeNeverShowsARunTheTextfileDoesNotHoldYet) {
  namespace fs = std::filesystem;
  using tributary::test::read_text_file;
  const auto dir = fs::temp_directory_path() / ("tributary-metrics-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const auto file = (dir / "dev.prom").string();
  tributary::examples::collector_metrics metrics("dev", file);
  tributary::run_report ok;
  ok.ok = true;
  ok.outcome = tributary::run_outcome::succeeded;
  constexpr std::uint64_t runs = 300;
  std::atomic<bool> done{false};
  std::uint64_t scrapes = 0, ahead = 0;
  std::thread scraper([&] {
    while (!done.load()) {
      const auto seen = succeeded_runs(metrics.prometheus());
      if (seen == 0) continue;
      ++scrapes;
      if (succeeded_runs(read_text_file(fs::path(file))) < seen) ++ahead;
    }
  });
  for (std::uint64_t i = 0; i < runs; ++i) metrics.record(ok, std::chrono::system_clock::now());
  done = true;
  scraper.join();
  EXPECT_GT(scrapes, 0u);
  EXPECT_EQ(ahead, 0u) << "scrapes that showed a run the textfile did not hold, of " << scrapes;
  EXPECT_EQ(succeeded_runs(read_text_file(fs::path(file))), runs);
  fs::remove_all(dir);
}

}  // namespace
