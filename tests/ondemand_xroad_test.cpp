// The X-Road datasource (examples/ondemand_xroad.hpp) against the X-Road simulator over real loopback
// HTTP (curl_transport): get_all answers one event per service the simulator serves and one per
// provider; get_changes answers nothing when nothing changed, then the updates and deletes after the
// simulator's data changes while it runs; a provider that fails is told and its services are not
// taken for gone; a simulator answering errors or no server at all fails the call with the reason,
// and no password; the decisions of get_changes as a pure function. End to end: an ondemand_collector
// process with --xroad answering get_all over JSON-RPC, and its wrong input told (exit 2, or 1 for a
// server that cannot be reached).

#include <gtest/gtest.h>

#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <span>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <simdjson.h>

#include <tributary/ondemand/datasource.hpp>
#include <tributary/transport/curl.hpp>
#include <tributary/transport/loopback.hpp>

#include "../examples/ondemand_xroad.hpp"
#include "../examples/xroad/simulator_server.hpp"
#include "support/common.hpp"
#include "support/process.hpp"

namespace tributary {
namespace {

namespace fs = std::filesystem;
namespace od = tributary::examples::ondemand;
using namespace std::chrono_literals;
using tributary::testing::contains;

static_assert(datasource<od::xroad_datasource>, "the X-Road datasource models tributary::datasource");
static_assert(datasource<od::basic_xroad_datasource<loopback_transport>>);

fs::path source_dir() {
  const char* s = std::getenv("TRIBUTARY_SOURCE_DIR");
  return s ? fs::path(s) : fs::path(__FILE__).parent_path().parent_path();
}
fs::path fixtures() { return source_dir() / "examples" / "xroad" / "fixtures"; }

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

// ---- a small security server of our own, written as simulator fixtures --------------------------------

constexpr const char* instance = "EE-T";
constexpr const char* member = "70000001";

struct fixture_provider {
  std::string subsystem, name;
  std::map<std::string, std::string> titles;  ///< service code → its OpenAPI title
  bool served = true;                         ///< false: listed, but listMethods answers 404 (it fails)
};

std::string openapi(const std::string& title) {
  return R"({"openapi":"3.0.3","info":{"title":")" + title +
         R"(","version":"1.0.0","x-category":["open"],"x-pricing":["free"]},"paths":{}})";
}

/// Writes one environment's fixture directory (examples/xroad/fixtures/README.md) under `dir`.
fs::path write_fixture(const fs::path& dir, const std::vector<fixture_provider>& providers) {
  std::string clients = R"({"member":[)";
  for (std::size_t i = 0; i < providers.size(); ++i) {
    const auto& p = providers[i];
    clients += (i ? "," : "") + std::string(R"({"name":")") + p.name + R"(","id":{"object_type":"SUBSYSTEM","xroad_instance":")" +
               instance + R"(","member_class":"GOV","member_code":")" + member + R"(","subsystem_code":")" + p.subsystem + "\"}}";
  }
  // A client subsystem: listed, never a provider.
  clients += std::string(providers.empty() ? "" : ",") + std::string(R"({"name":"Us","id":{"object_type":"SUBSYSTEM","xroad_instance":")") + instance +
             R"(","member_class":"GOV","member_code":")" + member + R"(","subsystem_code":"portal-client"}}]})";
  fs::create_directories(dir);
  std::ofstream(dir / "clients.json") << clients;
  for (const auto& p : providers) {
    if (!p.served) continue;
    const fs::path at = dir / "providers" / instance / "GOV" / member / p.subsystem;
    fs::create_directories(at / "specs");
    std::string methods = R"({"service":[)";
    bool first = true;
    for (const auto& [code, title] : p.titles) {
      methods += (first ? "" : ",") + std::string(R"({"object_type":"SERVICE","xroad_instance":")") + instance +
                 R"(","member_class":"GOV","member_code":")" + member + R"(","subsystem_code":")" + p.subsystem +
                 R"(","service_code":")" + code + "\"}";
      first = false;
      std::ofstream(at / "specs" / (code + ".json")) << openapi(title);
    }
    std::ofstream(at / "methods.json") << methods + "]}";
  }
  return dir;
}

/// The simulator's data, switched while it serves: the same server before and after a change.
class switchable_model final : public xroad_sim::model {
 public:
  explicit switchable_model(const fs::path& dir) { use(dir); }
  void use(const fs::path& dir) {
    auto next = std::make_shared<xroad_sim::fixture_model>(dir);
    std::lock_guard lock(mu_);
    now_ = std::move(next);
  }
  [[nodiscard]] std::string clients() const override { return current()->clients(); }
  [[nodiscard]] std::optional<std::string> methods(const std::string& provider) const override {
    return current()->methods(provider);
  }
  [[nodiscard]] std::optional<xroad_sim::spec_answer> spec(const std::string& provider, const std::string& code) const override {
    return current()->spec(provider, code);
  }

 private:
  std::shared_ptr<const xroad_sim::model> current() const {
    std::lock_guard lock(mu_);
    return now_;
  }
  mutable std::mutex mu_;
  std::shared_ptr<const xroad_sim::model> now_;
};

const curl_library& curl() {
  static const curl_library library;
  return library;
}

std::shared_ptr<curl_transport> transport() {
  curl_options o;
  o.max_attempts = 1;  // a 500 is an answer here, not something to wait out
  o.total_timeout = 10s;
  o.logger = [](curl_log_level, std::string_view) {};
  return std::make_shared<curl_transport>(curl(), o);
}

/// Options for a server at `base_url`; the sample times are 1, 2, 3, ... seconds, one per provider.
od::xroad_datasource_options options_for(std::string base_url, std::string env = "test") {
  od::xroad_datasource_options o;
  o.source.base_url = std::move(base_url);
  o.source.client = {instance, "GOV", member, "portal-client"};
  o.source.environment = std::move(env);
  auto tick = std::make_shared<std::int64_t>(0);
  o.now = [tick] { return sample_time(std::chrono::seconds(++*tick)); };
  return o;
}

std::string sid(const std::string& subsystem, const std::string& base) {
  return std::string(instance) + "/GOV/" + member + "/" + subsystem + "/" + base;
}
std::string pid(const std::string& subsystem) { return std::string(instance) + "/GOV/" + member + "/" + subsystem; }

/// "type id" of every event, sorted, with its action for get_changes.
std::multiset<std::string> keys(const std::vector<entity_event>& events, bool with_action = false) {
  std::multiset<std::string> out;
  for (const auto& e : events)
    out.insert((with_action ? std::string(to_string(e.action)) + " " : "") + e.entity_type + " " + e.entity_id);
  return out;
}

const entity_event* find(const std::vector<entity_event>& events, const std::string& type, const std::string& id) {
  for (const auto& e : events)
    if (e.entity_type == type && e.entity_id == id) return &e;
  return nullptr;
}

/// A string member of a JSON object text; "" when absent.
std::string member_of(const std::string& json, const char* key) {
  simdjson::dom::parser parser;
  std::string_view v;
  if (parser.parse(simdjson::padded_string(json))[key].get(v)) return {};
  return std::string(v);
}

const std::vector<fixture_provider> before = {
    {"alpha-public", "Alpha", {{"getThing-v1", "Thing"}, {"getThing-v2", "Thing v2"}, {"listStuff", "Stuff"}}},
    {"beta", "Beta", {{"report-v1", "Report"}}},
};

struct served {
  scratch_dir dir;
  std::shared_ptr<switchable_model> model;
  xroad_sim::simulator_server server;
  explicit served(const std::vector<fixture_provider>& providers, xroad_sim::fault_options faults = {})
      : model(std::make_shared<switchable_model>(write_fixture(dir.path / "v0", providers))),
        server(xroad_sim::simulator(model), faults, 8) {
    server.start();
  }
  void change_to(const std::vector<fixture_provider>& providers) {
    static int version = 0;
    model->use(write_fixture(dir.path / ("v" + std::to_string(++version)), providers));
  }
};

// ---- get_all -----------------------------------------------------------------------------------------

TEST(OndemandXroad, GetAllAnswersOneEventPerServiceAndPerProvider) {
  served sim(before);
  od::xroad_datasource source(transport(), options_for(sim.server.base_url()));
  EXPECT_EQ(source.name(), "xroad");
  const auto events = source.get_all(event_action::init_snapshot);
  EXPECT_EQ(keys(events), (std::multiset<std::string>{"service " + sid("alpha-public", "getThing"),
                                                      "service " + sid("alpha-public", "listStuff"),
                                                      "service " + sid("beta", "report"), "provider " + pid("alpha-public"),
                                                      "provider " + pid("beta")}));
  for (const auto& e : events) {
    EXPECT_EQ(e.datasource, "xroad");
    EXPECT_EQ(e.action, event_action::init_snapshot);
    EXPECT_GT(e.sampled.time_since_epoch().count(), 0) << e.entity_id;
  }
  // The payload is the catalogue's document: both versions of getThing in it.
  const auto* thing = find(events, "service", sid("alpha-public", "getThing"));
  ASSERT_TRUE(thing);
  EXPECT_EQ(member_of(thing->payload, "id"), "GOV/70000001/alpha-public/getThing");
  EXPECT_EQ(member_of(thing->payload, "title"), "Thing v2");
  EXPECT_TRUE(contains(thing->payload, R"("serviceCode":"getThing-v1")")) << thing->payload;
  EXPECT_TRUE(contains(thing->payload, R"("serviceCode":"getThing-v2")")) << thing->payload;
  EXPECT_TRUE(contains(thing->payload, R"("environment":"test")")) << thing->payload;
  const auto* beta = find(events, "provider", pid("beta"));
  ASSERT_TRUE(beta);
  EXPECT_EQ(member_of(beta->payload, "status"), "ok");
  EXPECT_EQ(member_of(beta->payload, "name"), "Beta");
  // Each payload is JSON that the event's strict reader takes back.
  for (const auto& e : events) EXPECT_EQ(parse_event(event_json(e)), e);
}

TEST(OndemandXroad, GetAllOverTheBundledFixturesHasEveryDocumentTheSourceMakes) {
  // What xroad_source makes of dev, in process: the documents the datasource must each answer once.
  loopback_transport loop;
  loop.route("http://xroad.dev", xroad_sim::simulator::from_fixtures(fixtures() / "dev"));
  xroad_source_config c = options_for("http://xroad.dev", "dev").source;
  xroad_source direct(c);
  const auto providers = direct.list_providers(loop);
  std::set<std::string> documents;
  std::size_t failed = 0;
  direct.collect(loop, std::span<const provider>(providers), 4, [&](const provider&, provider_outcome&& o) {
    failed += !o.ok();
    for (const auto& s : o.records) documents.insert(s.id);
  });
  ASSERT_GT(documents.size(), 10u);
  ASSERT_EQ(failed, 1u) << "the dev fixtures have one provider whose listMethods is cut off";

  xroad_sim::simulator_server server(xroad_sim::simulator::from_fixtures(fixtures() / "dev"), {}, 8);
  server.start();
  od::xroad_datasource source(transport(), options_for(server.base_url(), "dev"));
  const auto events = source.get_all(event_action::snapshot);
  std::multiset<std::string> ids;
  std::size_t provider_events = 0;
  for (const auto& e : events) {
    if (e.entity_type == "service") ids.insert(member_of(e.payload, "id"));
    provider_events += e.entity_type == "provider";
  }
  EXPECT_EQ(ids, std::multiset<std::string>(documents.begin(), documents.end()));
  EXPECT_EQ(provider_events, providers.size());
  // 1 of 19 failed: the call answers the others, and the failed provider's entity says why.
  const auto* broken = find(events, "provider", "EE-DEV/COM/11254567/tracking-public");
  ASSERT_TRUE(broken);
  EXPECT_EQ(member_of(broken->payload, "status"), "failed");
  EXPECT_TRUE(contains(member_of(broken->payload, "failure"), "tracking-public/listMethods answered malformed JSON"))
      << broken->payload;
}

// ---- get_changes -------------------------------------------------------------------------------------

TEST(OndemandXroad, GetChangesAnswersNothingWhenUnchangedThenWhatChanged) {
  served sim(before);
  od::xroad_datasource source(transport(), options_for(sim.server.base_url()));
  const auto all = source.get_all(event_action::snapshot);
  ASSERT_EQ(all.size(), 5u);
  EXPECT_TRUE(source.get_changes().empty()) << "unchanged (the collected stamps differ, the services do not)";

  // getThing-v2 retitled, listStuff gone, report unchanged, a new provider with one service.
  sim.change_to({{"alpha-public", "Alpha", {{"getThing-v1", "Thing"}, {"getThing-v2", "Thing, second edition"}}},
                 {"beta", "Beta", {{"report-v1", "Report"}}},
                 {"gamma-public", "Gamma", {{"newThing-v1", "New"}}}});
  const auto changes = source.get_changes();
  EXPECT_EQ(keys(changes, true), (std::multiset<std::string>{"update service " + sid("alpha-public", "getThing"),
                                                             "delete service " + sid("alpha-public", "listStuff"),
                                                             "update service " + sid("gamma-public", "newThing"),
                                                             "update provider " + pid("gamma-public")}));
  const auto* thing = find(changes, "service", sid("alpha-public", "getThing"));
  ASSERT_TRUE(thing);
  EXPECT_EQ(member_of(thing->payload, "title"), "Thing, second edition");
  const auto* gone = find(changes, "service", sid("alpha-public", "listStuff"));
  ASSERT_TRUE(gone);
  for (const auto& e : all) EXPECT_GT(gone->sampled, e.sampled) << "a delete is newer news than what it deletes";
  EXPECT_TRUE(source.get_changes().empty()) << "the changes were answered once";

  // A provider gone from the listing: it and its services are deleted.
  sim.change_to({{"alpha-public", "Alpha", {{"getThing-v1", "Thing"}, {"getThing-v2", "Thing, second edition"}}},
                 {"beta", "Beta", {{"report-v1", "Report"}}}});
  EXPECT_EQ(keys(source.get_changes(), true), (std::multiset<std::string>{"delete service " + sid("gamma-public", "newThing"),
                                                                          "delete provider " + pid("gamma-public")}));
}

TEST(OndemandXroad, AnEmptyListingFailsTheCallAndDeletesNothing) {
  served sim(before);
  od::xroad_datasource source(transport(), options_for(sim.server.base_url()));
  ASSERT_EQ(source.get_all(event_action::snapshot).size(), 5u);
  sim.change_to({});
  try {
    (void)source.get_changes();
    ADD_FAILURE() << "a listing of no providers was answered";
  } catch (const error& e) {
    EXPECT_EQ(e.code(), errc::source_failed);
    EXPECT_TRUE(contains(e.what(), "lists no providers")) << e.what();
  }
  EXPECT_THROW((void)source.get_all(event_action::snapshot), error);
  sim.change_to(before);
  EXPECT_TRUE(source.get_changes().empty()) << "the failed calls left the previous state as it was";

  // Allowed, an empty listing is an answer: every service and provider is deleted.
  auto options = options_for(sim.server.base_url());
  options.allow_no_providers = true;
  od::xroad_datasource allowing(transport(), options);
  ASSERT_EQ(allowing.get_all(event_action::snapshot).size(), 5u);
  sim.change_to({});
  const auto changes = allowing.get_changes();
  EXPECT_EQ(changes.size(), 5u);
  for (const auto& e : changes) EXPECT_EQ(e.action, event_action::delete_entity) << e.entity_id;
}

TEST(OndemandXroad, AFailedProviderIsToldAndItsServicesAreNotTakenForGone) {
  const std::vector<fixture_provider> three = {before[0], before[1], {"gamma-public", "Gamma", {{"newThing-v1", "New"}}}};
  served sim(three);
  od::xroad_datasource source(transport(), options_for(sim.server.base_url()));
  ASSERT_EQ(source.get_all(event_action::snapshot).size(), 7u);

  auto alpha_down = three;
  alpha_down[0].served = false;  // listed, but its listMethods answers 404
  sim.change_to(alpha_down);
  const auto changes = source.get_changes();
  EXPECT_EQ(keys(changes, true), (std::multiset<std::string>{"update provider " + pid("alpha-public")})) << "no deletes";
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(member_of(changes[0].payload, "status"), "failed");
  EXPECT_TRUE(contains(member_of(changes[0].payload, "failure"), "HTTP 404")) << changes[0].payload;
  // get_all answers what it collected, and the failed provider's entity.
  const auto all = source.get_all(event_action::snapshot);
  EXPECT_FALSE(find(all, "service", sid("alpha-public", "getThing")));
  ASSERT_TRUE(find(all, "provider", pid("alpha-public")));
  EXPECT_EQ(member_of(find(all, "provider", pid("alpha-public"))->payload, "status"), "failed");

  // Back: only its entity changes, since its services are as they were.
  sim.change_to(three);
  EXPECT_EQ(keys(source.get_changes(), true), (std::multiset<std::string>{"update provider " + pid("alpha-public")}));

  // Two of three failing is below min_provider_success (0.5): the call fails, and the state stays.
  auto two_down = alpha_down;
  two_down[1].served = false;
  sim.change_to(two_down);
  try {
    (void)source.get_changes();
    ADD_FAILURE() << "expected the call to fail";
  } catch (const error& e) {
    EXPECT_EQ(e.code(), errc::source_failed);
    EXPECT_TRUE(contains(e.what(), "only 1 of 3 providers collected (min_provider_success 50%)")) << e.what();
    EXPECT_TRUE(contains(e.what(), pid("alpha-public") + ": listMethods")) << e.what();
    EXPECT_TRUE(contains(e.what(), pid("beta") + ": listMethods")) << e.what();
  }
  sim.change_to(three);
  EXPECT_TRUE(source.get_changes().empty()) << "a failed call changed the state";
}

// ---- failures ----------------------------------------------------------------------------------------

TEST(OndemandXroad, ASimulatorAnsweringErrorsFailsTheCallWithTheReason) {
  xroad_sim::fault_options errors;
  errors.error_rate = 1;  // every provider metaservice answers 500
  served sim(before, errors);
  auto o = options_for(sim.server.base_url());
  o.source.base_url.insert(7, "collector:hush@");  // basic authentication: never shown
  od::xroad_datasource source(transport(), o);
  for (const bool all : {true, false}) {
    try {
      (void)(all ? source.get_all(event_action::snapshot) : source.get_changes());
      ADD_FAILURE() << "expected the call to fail";
    } catch (const error& e) {
      EXPECT_EQ(e.code(), errc::source_failed);
      EXPECT_TRUE(contains(e.what(), "only 0 of 2 providers collected")) << e.what();
      EXPECT_TRUE(contains(e.what(), "listMethods failed: HTTP 500")) << e.what();
      EXPECT_TRUE(contains(e.what(), "injected error")) << e.what();
      EXPECT_FALSE(contains(e.what(), "hush")) << e.what();
    }
  }

  // No server at all: the listing fails, with the reason, through the type-erased datasource the
  // service holds.
  sim.server.stop();
  o.source.base_url = "http://collector:hush@127.0.0.1:" + std::to_string(sim.server.port());
  od::xroad_datasource down(transport(), o);
  any_datasource erased(std::move(down));
  try {
    (void)erased.get_all(event_action::snapshot);
    ADD_FAILURE() << "expected the call to fail";
  } catch (const error& e) {
    EXPECT_TRUE(contains(e.what(), "listClients http://collector:***@127.0.0.1:")) << e.what();
    EXPECT_TRUE(contains(e.what(), "connection refused")) << e.what();
    EXPECT_FALSE(contains(e.what(), "hush")) << e.what();
  }
}

TEST(OndemandXroad, OptionsThatCannotWorkAreRefused) {
  auto refused = [](od::xroad_datasource_options o, const std::string& says) {
    try {
      od::xroad_datasource source(transport(), std::move(o));
      ADD_FAILURE() << "accepted; expected: " << says;
    } catch (const error& e) {
      EXPECT_EQ(e.code(), errc::invalid_config);
      EXPECT_TRUE(contains(e.what(), says)) << e.what();
      EXPECT_FALSE(contains(e.what(), "hush")) << e.what();
    }
  };
  refused(options_for("ftp://u:hush@ss"), "must be an http:// or https:// URL, not 'ftp://u:***@ss'");
  refused(options_for("http://"), "must be an http:// or https:// URL");
  auto o = options_for("http://127.0.0.1:1");
  o.min_provider_success = 1.5;
  refused(o, "min_provider_success must be between 0 and 1");
  o = options_for("http://127.0.0.1:1");
  o.concurrency = 0;
  refused(o, "concurrency must be at least 1");
  o = options_for("http://127.0.0.1:1");
  o.source.client.subsystem_code.clear();
  refused(o, "the client id needs");
  o = options_for("http://127.0.0.1:1");
  o.name.clear();
  refused(o, "the name is empty");
}

// ---- the decisions of get_changes --------------------------------------------------------------------

TEST(OndemandXroad, PlanChangesKeepsAFailedProvidersServices) {
  using namespace od::xroad_detail;
  auto known = [](unsigned char d, std::string provider) {
    known_entity k;
    k.digest[0] = d;
    k.provider = std::move(provider);
    return k;
  };
  const known_entities previous = {{{"service", "p1/a"}, known(1, "p1")}, {{"service", "p1/b"}, known(1, "p1")},
                                   {{"service", "p2/c"}, known(1, "p2")}, {{"provider", "p1"}, known(1, "p1")},
                                   {{"provider", "p2"}, known(1, "p2")}};
  collection now;
  now.entities = {{{"service", "p1/a"}, known(2, "p1")}, {{"provider", "p1"}, known(1, "p1")}, {{"provider", "p2"}, known(3, "p2")}};
  now.failed_providers = {"p2"};
  const auto after = next_state(previous, now);
  EXPECT_TRUE(after.contains({"service", "p2/c"})) << "p2 failed: its service is not gone";
  EXPECT_FALSE(after.contains({"service", "p1/b"}));
  const auto plan = plan_changes(previous, after);
  EXPECT_EQ(plan.updated, (std::vector<entity_key>{{"provider", "p2"}, {"service", "p1/a"}}));
  EXPECT_EQ(plan.deleted, (std::vector<entity_key>{{"service", "p1/b"}}));
  EXPECT_TRUE(plan_changes(after, after).updated.empty());
  EXPECT_TRUE(plan_changes(after, after).deleted.empty());
}

// ---- ondemand_collector --xroad, end to end ------------------------------------------------------------

fs::path examples_dir() {
  const char* from_ctest = std::getenv("TRIBUTARY_TEST_BINARY_DIR");
  const fs::path tests = from_ctest ? fs::path(from_ctest) : fs::read_symlink("/proc/self/exe").parent_path();
  const fs::path dir = tests.parent_path() / "examples";
  return fs::exists(dir / "ondemand_collector") ? dir : fs::path();
}

http_response post(const std::string& url, std::string body) {
  curl_options o;
  o.max_attempts = 1;
  curl_transport t(curl(), o);
  http_request r;
  r.method = "POST";
  r.url = url;
  r.headers = {{"Content-Type", "application/json"}};
  r.body = std::move(body);
  return t.perform(std::move(r));
}

http_response get(const std::string& url) {
  curl_options o;
  o.max_attempts = 1;
  curl_transport t(curl(), o);
  http_request r;
  r.url = url;
  return t.perform(std::move(r));
}

TEST(OndemandXroad, TheCollectorServesTheXroadDatasourceOverJsonRpc) {
  const fs::path bin = examples_dir();
  if (bin.empty()) GTEST_SKIP() << "the example executables are not built (--target ondemand_collector)";
  served sim(before);
  scratch_dir d;
  const std::string collector = (bin / "ondemand_collector").string();
  auto c = test::child_process::spawn({collector, "--store", "sqlite:" + (d.path / "events.db").string(), "--rpc",
                                       "http://127.0.0.1:0/rpc", "--xroad", sim.server.base_url(), "--client",
                                       std::string(instance) + "/GOV/" + member + "/portal-client", "--synthetic", "2"},
                                      d.path / "out", d.path / "err");
  const auto url = c.wait_for_output_line("listening on ", 10s);
  ASSERT_TRUE(url) << test::read_text_file(d.path / "err");
  const auto r = post(*url + "/rpc", R"({"jsonrpc":"2.0","id":7,"method":"get_all","params":{"datasource_names":["xroad"],)"
                                     R"("action":"snapshot","retry_on_fault":false}})");
  ASSERT_EQ(r.status, 200) << r.error << r.body;
  simdjson::dom::parser parser;
  const simdjson::dom::element answer = parser.parse(r.body);
  std::multiset<std::string> got;
  for (simdjson::dom::element e : answer["result"]["events"].get_array()) {
    const auto event = parse_event(e);
    EXPECT_EQ(event.datasource, "xroad");
    EXPECT_EQ(event.action, event_action::snapshot);
    got.insert(event.entity_type + " " + event.entity_id);
  }
  EXPECT_EQ(got, (std::multiset<std::string>{"service " + sid("alpha-public", "getThing"), "service " + sid("alpha-public", "listStuff"),
                                             "service " + sid("beta", "report"), "provider " + pid("alpha-public"),
                                             "provider " + pid("beta")}));
  const simdjson::dom::array outcomes = answer["result"]["outcomes"];
  ASSERT_EQ(outcomes.size(), 1u);
  EXPECT_EQ(std::string_view(outcomes.at(0)["status"]), "ok");
  const auto healthy = get(*url + "/health");
  EXPECT_EQ(healthy.status, 200) << healthy.body;
  EXPECT_TRUE(contains(healthy.body, R"("xroad_security_server":"ok")")) << healthy.body;

  // The server answering errors now: the call answers the datasource failed, with the reason.
  sim.change_to({{"alpha-public", "Alpha", {{"getThing-v1", "Thing"}}, false}, {"beta", "Beta", {{"report-v1", "Report"}}, false}});
  const auto failed = post(*url + "/rpc", R"({"jsonrpc":"2.0","id":8,"method":"get_changes","params":{"datasource_names":["xroad"]}})");
  EXPECT_TRUE(contains(failed.body, R"("status":"failed","reason":"only 0 of 2 providers collected)")) << failed.body;
  // /health names the security server as the dependency that is down, and why.
  const auto unhealthy = get(*url + "/health");
  EXPECT_EQ(unhealthy.status, 503) << unhealthy.body;
  EXPECT_TRUE(contains(unhealthy.body, R"("xroad_security_server":"down: only 0 of 2 providers collected)")) << unhealthy.body;
  EXPECT_TRUE(contains(unhealthy.body, R"("store":"ok")")) << unhealthy.body;
  const auto end = c.terminate();
  EXPECT_TRUE(end.success()) << end.describe() << test::read_text_file(d.path / "err");
}

TEST(OndemandXroad, TheCollectorStopsAtOnceWhileItsSecurityServerHangs) {
  const fs::path bin = examples_dir();
  if (bin.empty()) GTEST_SKIP() << "the example executables are not built (--target ondemand_collector)";
  xroad_sim::fault_options hangs;
  hangs.hang_rate = 1.0;  // every provider's metaservice request (listClients answers)
  served sim(before, hangs);
  scratch_dir d;
  auto c = test::child_process::spawn({(bin / "ondemand_collector").string(), "--store", "sqlite:" + (d.path / "events.db").string(),
                                       "--rpc", "http://127.0.0.1:0/rpc", "--xroad", sim.server.base_url(), "--client",
                                       std::string(instance) + "/GOV/" + member + "/portal-client", "--timeout-ms", "60000",
                                       "--time-limit", "60000"},
                                      d.path / "out", d.path / "err");
  const auto url = c.wait_for_output_line("listening on ", 10s);
  ASSERT_TRUE(url) << test::read_text_file(d.path / "err");
  std::thread call([&] {
    (void)post(*url + "/rpc", R"({"jsonrpc":"2.0","id":1,"method":"get_all","params":{"datasource_names":["xroad"]}})");
  });
  std::this_thread::sleep_for(1s);  // the collection's requests are in flight, unanswered
  c.signal(SIGTERM);
  // The requests in flight end at once (curl_options::stop): the shutdown does not wait for the
  // security server, which would take the 60 s of --timeout-ms.
  const auto ended = c.wait_for(15s);
  EXPECT_TRUE(ended) << "still running 15 s after SIGTERM: " << test::read_text_file(d.path / "err");
  if (!ended) (void)c.terminate();
  else EXPECT_TRUE(ended->success()) << ended->describe() << test::read_text_file(d.path / "err");
  call.join();
}

TEST(OndemandXroad, TheCollectorTellsWrongXroadInput) {
  const fs::path bin = examples_dir();
  if (bin.empty()) GTEST_SKIP() << "the example executables are not built (--target ondemand_collector)";
  scratch_dir d;
  const std::string collector = (bin / "ondemand_collector").string();
  const std::string store = "sqlite:" + (d.path / "e.db").string(), rpc = "http://127.0.0.1:0/rpc";
  const std::string client = std::string(instance) + "/GOV/" + member + "/portal-client";

  auto help = test::child_process::spawn({collector, "--help"}, d.path / "out", d.path / "err").wait_for(10s);
  ASSERT_TRUE(help && help->success());
  const auto usage = test::read_text_file(d.path / "out");
  EXPECT_TRUE(contains(usage, "--xroad URL")) << usage;
  EXPECT_TRUE(contains(usage, "--client ID")) << usage;
  EXPECT_TRUE(contains(usage, "--min-provider-success R")) << usage;

  struct bad {
    std::vector<std::string> argv;
    int code;
    std::string says;
  };
  const bad cases[] = {
      {{collector, "--store", store, "--rpc", rpc, "--xroad", "ftp://u:hush@ss", "--client", client}, 2,
       "must be an http:// or https:// URL, not 'ftp://u:***@ss'"},
      {{collector, "--store", store, "--rpc", rpc, "--xroad", "http://127.0.0.1:1"}, 2, "--xroad needs --client"},
      {{collector, "--store", store, "--rpc", rpc, "--xroad", "http://127.0.0.1:1", "--client", "EE/GOV/1"}, 2,
       "--client 'EE/GOV/1' is not {instance}/{class}/{code}/{subsystem}"},
      {{collector, "--store", store, "--rpc", rpc, "--synthetic", "1", "--client", client}, 2, "--client applies only with --xroad"},
      {{collector, "--store", store, "--rpc", rpc, "--xroad", "http://127.0.0.1:1", "--client", client, "--min-provider-success", "2"},
       2, "--min-provider-success wants a number between 0 and 1"},
      {{collector, "--store", store, "--rpc", rpc, "--xroad", "http://u:hush@127.0.0.1:1", "--client", client, "--timeout-ms", "2000"},
       1, "--xroad: cannot list the security server's providers: listClients http://u:***@127.0.0.1:1/listClients failed"},
  };
  for (const auto& c : cases) {
    auto child = test::child_process::spawn(c.argv, d.path / "out", d.path / "err");
    const auto status = child.wait_for(30s);
    ASSERT_TRUE(status) << c.says;
    const auto err = test::read_text_file(d.path / "err");
    EXPECT_TRUE(status->exited && status->code == c.code) << c.says << ": " << status->describe() << "\n" << err;
    EXPECT_TRUE(contains(err, c.says)) << err;
    EXPECT_FALSE(contains(err, "hush")) << "a password printed: " << err;
  }
}

}  // namespace
}  // namespace tributary
