// xroad_source against the X-Road simulator core, in-process through loopback_transport: every
// fixture case (classification, version grouping and order, YAML and JSON, invalid specs, 500s,
// opt-outs, ids across environments) and the failure paths (malformed listClients and listMethods,
// timeouts), deterministic and clock-free.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <simdjson.h>

#include <tributary/all.hpp>
#include <tributary/redact.hpp>
#include <tributary/catalogue/source/xroad.hpp>

#include "../examples/collector/store_url.hpp"
#include "../examples/xroad/simulator.hpp"

namespace tributary {
namespace {

namespace fs = std::filesystem;

static_assert(source<xroad_source, loopback_transport>, "xroad_source models tributary::source");

// From ctest's environment (a path compiled in would key every object on the checkout's location,
// which defeats ccache's base_dir across clones); __FILE__ when run by hand from the source tree.
const fs::path fixtures = (std::getenv("TRIBUTARY_SOURCE_DIR") ? fs::path(std::getenv("TRIBUTARY_SOURCE_DIR"))
                                                               : fs::path(__FILE__).parent_path().parent_path()) /
                          "examples" / "xroad" / "fixtures";
constexpr const char* stamp = "2021-02-19T12:13:08.620Z";

std::string instance_of(const std::string& env) {
  return env == "dev" ? "EE-DEV" : env == "staging" ? "EE-TEST" : "EE";
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

xroad_source_config config_for(const std::string& env, member_code_mapping mapping = {}) {
  xroad_source_config c;
  c.base_url = "http://xroad." + env + "/";
  c.client = {instance_of(env), "GOV", "70000310", "kmais-client"};
  c.environment = env;
  c.member_codes = std::move(mapping);
  c.collected = [] { return std::string(stamp); };
  return c;
}

member_code_mapping fixture_mapping() { return load_member_code_mapping(fixtures / "member-codes.json"); }

/// Routes every environment's origin to its simulator.
void simulate(loopback_transport& t) {
  for (const std::string env : {"dev", "staging", "prod"})
    t.route("http://xroad." + env, xroad_sim::simulator::from_fixtures(fixtures / env));
}

struct collected_run {
  std::vector<provider> providers;
  std::vector<std::string> order;                   // providers in on_outcome order
  std::map<std::string, provider_outcome> outcomes;  // by provider id
  std::map<std::string, service> services;          // by document id

  [[nodiscard]] const provider_outcome& outcome(const std::string& id) const {
    auto it = outcomes.find(id);
    if (it == outcomes.end()) throw std::runtime_error("no outcome for " + id);
    return it->second;
  }
  [[nodiscard]] bool has(const std::string& id) const { return services.count(id) != 0; }
  [[nodiscard]] const service& doc(const std::string& id) const {
    auto it = services.find(id);
    if (it == services.end()) throw std::runtime_error("no document " + id);
    return it->second;
  }
};

template <class Transport>
collected_run run(xroad_source& source, Transport& transport, std::size_t concurrency = 4) {
  collected_run r;
  r.providers = source.list_providers(transport);
  source.collect(transport, std::span<const provider>(r.providers), concurrency,
                 [&](const provider& p, provider_outcome&& o) {
                   r.order.push_back(p.id);
                   for (const auto& s : o.records) r.services.emplace(s.id, s);
                   r.outcomes.emplace(p.id, std::move(o));
                 });
  return r;
}

collected_run run_env(const std::string& env, member_code_mapping mapping = fixture_mapping()) {
  loopback_transport transport;
  simulate(transport);
  xroad_source source(config_for(env, std::move(mapping)));
  return run(source, transport);
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

std::string warning_about(const provider_outcome& o, const std::string& code) {
  for (const auto& w : o.warnings)
    if (contains(w, code)) return w;
  return {};
}

// ---- providers -------------------------------------------------------------------------------------

TEST(XroadSource, ListsPublicAndProtectedSubsystemsOnly) {
  loopback_transport transport;
  simulate(transport);
  xroad_source source(config_for("dev"));
  const auto providers = source.list_providers(transport);
  std::set<std::string> ids;
  for (const auto& p : providers) ids.insert(p.id);
  EXPECT_EQ(ids.size(), providers.size()) << "no duplicates";
  EXPECT_EQ(providers.size(), 19u);  // 26 subsystems in dev, minus 5 client and 2 private ones
  EXPECT_TRUE(ids.count("EE-DEV/GOV/10000562/rr-public"));
  EXPECT_TRUE(ids.count("EE-DEV/GOV/10000562/rr-protected"));
  EXPECT_TRUE(ids.count("EE-DEV/GOV/10003158/emta")) << "no suffix: protected";
  EXPECT_FALSE(ids.count("EE-DEV/GOV/10000562/rr-private"));
  EXPECT_FALSE(ids.count("EE-DEV/GOV/10003158/emta-private"));
  EXPECT_FALSE(ids.count("EE-DEV/GOV/10000562/rr-portal-client"));
  for (const auto& p : providers) {
    EXPECT_FALSE(p.id.ends_with("client")) << p.id;
    EXPECT_FALSE(p.id.ends_with("private")) << p.id;
    EXPECT_TRUE(xroad_subsystem_id::parse(p.id).has_value()) << "MEMBER entries are not providers: " << p.id;
  }
  const auto rr = std::find_if(providers.begin(), providers.end(),
                               [](const provider& p) { return p.id == "EE-DEV/GOV/10000562/rr-public"; });
  ASSERT_NE(rr, providers.end());
  EXPECT_EQ(rr->name, "Population Register");
}

TEST(XroadSource, ClassifiesSubsystemCodes) {
  EXPECT_EQ(classify_subsystem("rr-public"), subsystem_kind::public_provider);
  EXPECT_EQ(classify_subsystem("rr-protected"), subsystem_kind::protected_provider);
  EXPECT_EQ(classify_subsystem("registry"), subsystem_kind::protected_provider);
  EXPECT_EQ(classify_subsystem("rr-private"), subsystem_kind::private_provider);
  EXPECT_EQ(classify_subsystem("portal-client"), subsystem_kind::client);
  EXPECT_EQ(classify_subsystem("portalclient"), subsystem_kind::client);
  EXPECT_EQ(classify_subsystem("Portal-CLIENT"), subsystem_kind::client);
}

// ---- services --------------------------------------------------------------------------------------

TEST(XroadSource, GroupsVersionsAndOrdersThemNumerically) {
  const auto r = run_env("dev");
  const auto& s = r.doc("GOV/70000562/rr-public/getPerson");
  ASSERT_EQ(s.environments.size(), 1u);
  const auto& e = s.environments.front();
  std::vector<std::string> versions;
  for (const auto& d : e.details) versions.push_back(d.version);
  EXPECT_EQ(versions, (std::vector<std::string>{"v1", "v2", "v10"}));
  EXPECT_EQ(e.details.back().xroad.service_code, "getPerson-v10");
  // Document-level fields come from the newest version.
  EXPECT_EQ(s.title, "Person v10");

  const auto prod = run_env("prod");
  const auto& vehicles = prod.doc("GOV/70000740/mnt-public/vehicleRegistry");
  versions.clear();
  for (const auto& d : vehicles.environments.front().details) versions.push_back(d.version);
  EXPECT_EQ(versions, (std::vector<std::string>{"v1", "v2", "v11"}));
}

TEST(XroadSource, ReadsYamlAndJsonDocumentsIntoDetails) {
  const auto r = run_env("dev");
  const auto& e = r.doc("GOV/70000562/rr-public/getPerson").environments.front();
  ASSERT_EQ(e.details.size(), 3u);
  const auto& yaml = e.details[0];  // getPerson-v1.yaml
  const auto& json = e.details[2];  // getPerson-v10.json
  const fs::path specs = fixtures / "dev/providers/EE-DEV/GOV/10000562/rr-public/specs";

  EXPECT_EQ(yaml.title, "Person v1");
  EXPECT_EQ(yaml.summary, "Returns a person from the population register.") << "first line of the description";
  EXPECT_EQ(yaml.description, "Returns a person from the population register.\nOnly current data.");
  EXPECT_EQ(yaml.type, "rest");
  EXPECT_EQ(yaml.data, (std::vector<std::string>{"official", "personal"}));
  EXPECT_EQ(yaml.pricing, (std::vector<std::string>{"free"}));
  EXPECT_EQ(yaml.collected, stamp);
  EXPECT_EQ(yaml.openapi.text(), read_file(specs / "getPerson-v1.yaml")) << "the spec text as received";
  EXPECT_EQ(yaml.xroad, (xroad_identifier{"EE-DEV", "GOV", "10000562", "rr-public", "getPerson-v1"}));

  EXPECT_EQ(json.title, "Person v10");
  EXPECT_EQ(json.summary, "Person with residence permits") << "info.summary wins over the description";
  EXPECT_EQ(json.openapi.text(), read_file(specs / "getPerson-v10.json"));
  EXPECT_EQ(json.xroad.service_code, "getPerson-v10");

  // x-links is stored as JSON: parse it back.
  simdjson::dom::parser parser;
  const simdjson::dom::element links = parser.parse(json.links);
  const simdjson::dom::array list = links.get_array();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(std::string_view(list.at(0)["name"].get_string()), "Documentation");
  EXPECT_EQ(std::string_view(list.at(0)["url"].get_string()), "https://docs.example.ee/getPerson-v10");
  EXPECT_EQ(int64_t(list.at(1)["weight"].get_int64()), 2) << "numbers stay numbers";
  EXPECT_FALSE(parser.parse(yaml.links).error()) << yaml.links;

  // Paid JSON service with a minor version; unversioned service code.
  const auto& search = r.doc("GOV/70000562/rr-public/searchPersons").environments.front().details;
  ASSERT_EQ(search.size(), 1u);
  EXPECT_EQ(search[0].version, "v1.2");
  EXPECT_EQ(search[0].pricing, (std::vector<std::string>{"paid"}));
  const auto staging = run_env("staging");
  const auto& history = staging.doc("GOV/70000562/rr-public/personHistory").environments.front().details;
  ASSERT_EQ(history.size(), 1u);
  EXPECT_EQ(history[0].version, "");
  EXPECT_EQ(history[0].xroad.service_code, "personHistory");
}

TEST(XroadSource, EnvironmentEntryCarriesOwnerAndAccess) {
  const auto r = run_env("dev");
  const auto& pub = r.doc("GOV/70000562/rr-public/getPerson").environments.front();
  EXPECT_EQ(pub.environment, "dev");
  EXPECT_EQ(pub.owner, "Population Register");
  EXPECT_EQ(pub.access, (std::vector<std::string>{"apigw", "xroad"})) << "public providers are behind the gateway too";
  const auto& prot = r.doc("GOV/70000562/rr-protected/getAddress").environments.front();
  EXPECT_EQ(prot.access, (std::vector<std::string>{"xroad"}));
  const auto& bare = r.doc("GOV/70003158/emta/incomeStatements").environments.front();
  EXPECT_EQ(bare.access, (std::vector<std::string>{"xroad"}));
  EXPECT_FALSE(r.has("GOV/70003158/emta-private/internalRisk")) << "private providers are not catalogued";
  EXPECT_FALSE(r.has("GOV/70000562/rr-private/exportAll"));
}

TEST(XroadSource, InvalidSpecsAnd500sAreWarningsAndTheRestIsCollected) {
  const auto r = run_env("dev");
  const auto& o = r.outcome("EE-DEV/GOV/10000562/rr-public");
  ASSERT_TRUE(o.ok()) << o.failure;
  EXPECT_EQ(o.warnings.size(), 4u);
  EXPECT_TRUE(contains(warning_about(o, "addressBook-v1"), "malformed")) << warning_about(o, "addressBook-v1");
  EXPECT_TRUE(contains(warning_about(o, "deathRecords-v1"), "HTTP 500")) << warning_about(o, "deathRecords-v1");
  EXPECT_TRUE(contains(warning_about(o, "untitled-v1"), "info.title")) << warning_about(o, "untitled-v1");
  EXPECT_TRUE(contains(warning_about(o, "secretData-v1"), "'secret'")) << warning_about(o, "secretData-v1");
  EXPECT_FALSE(r.has("GOV/70000562/rr-public/addressBook"));
  EXPECT_FALSE(r.has("GOV/70000562/rr-public/untitled"));
  EXPECT_FALSE(r.has("GOV/70000562/rr-public/secretData"));
  // deathRecords-v1 answered 500, v2 is fine: one document with one detail.
  const auto& death = r.doc("GOV/70000562/rr-public/deathRecords").environments.front().details;
  ASSERT_EQ(death.size(), 1u);
  EXPECT_EQ(death[0].version, "v2");
  // The provider's other services are all there: getPerson, searchPersons, deathRecords.
  EXPECT_EQ(o.records.size(), 3u);
}

TEST(XroadSource, OptedOutVersionIsANoteNotAWarning) {
  loopback_transport transport;
  simulate(transport);
  auto config = config_for("dev", fixture_mapping());
  std::vector<std::string> notes;
  config.on_note = [&](const provider& p, std::string_view note) { notes.push_back(p.id + ": " + std::string(note)); };
  xroad_source source(std::move(config));
  const auto r = run(source, transport);
  EXPECT_FALSE(r.has("GOV/70000562/rr-public/internalAudit"));
  EXPECT_TRUE(warning_about(r.outcome("EE-DEV/GOV/10000562/rr-public"), "internalAudit").empty());
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_TRUE(contains(notes[0], "EE-DEV/GOV/10000562/rr-public: internalAudit-v1")) << notes[0];
  EXPECT_TRUE(contains(notes[0], "x-hide-api-catalogue")) << notes[0];
}

TEST(XroadSource, IdsAreEqualAcrossEnvironmentsWhenMemberCodesAreMapped) {
  std::map<std::string, collected_run> runs;
  for (const std::string env : {"dev", "staging", "prod"}) runs.emplace(env, run_env(env));
  // Member codes differ in every environment for the Population Register and the police.
  for (const std::string id : {"GOV/70000562/rr-public/getPerson", "GOV/70005303/ppa-protected/wantedPersons",
                               "COM/12345678/pank-protected/accountStatements", "NGO/80000001/redcross-public/bloodDonationCentres"}) {
    for (const auto& [env, r] : runs) EXPECT_TRUE(r.has(id)) << id << " in " << env;
  }
  EXPECT_EQ(runs.at("dev").doc("GOV/70000562/rr-public/getPerson").environments.front().details.front().xroad.member_code,
            "10000562")
      << "the identifier keeps the environment's own code";
  EXPECT_EQ(runs.at("staging").doc("GOV/70000562/rr-public/getPerson").environments.front().details.front().xroad.instance,
            "EE-TEST");
  // Services present in one or two environments only.
  EXPECT_TRUE(runs.at("prod").has("GOV/70008440/tervis-protected/pharmacies"));
  EXPECT_FALSE(runs.at("dev").has("GOV/70008440/tervis-protected/pharmacies"));
  EXPECT_FALSE(runs.at("staging").has("GOV/70008440/tervis-protected/pharmacies"));
  EXPECT_TRUE(runs.at("dev").has("COM/14000222/ht-public/appointmentBooking"));
  EXPECT_TRUE(runs.at("staging").has("COM/14000222/ht-public/appointmentBooking"));
  EXPECT_FALSE(runs.at("prod").has("COM/14000222/ht-public/appointmentBooking"));

  // Without the mapping, the same service gets a different id in dev: the mapping is what matches them.
  const auto unmapped = run_env("dev", member_code_mapping{});
  EXPECT_FALSE(unmapped.has("GOV/70000562/rr-public/getPerson"));
  EXPECT_TRUE(unmapped.has("GOV/10000562/rr-public/getPerson"));
}

TEST(XroadSource, MemberCodeMappingFileLoadsAndRejectsGarbage) {
  const auto mapping = fixture_mapping();
  EXPECT_EQ(mapping.canonical("dev", "10000562"), "70000562");
  EXPECT_EQ(mapping.canonical("staging", "92345678"), "12345678");
  EXPECT_EQ(mapping.canonical("prod", "70000562"), "70000562");
  EXPECT_EQ(mapping.canonical("dev", "90000562"), "90000562") << "mappings are per environment";
  try {
    (void)parse_member_code_mapping(R"({"dev": ["not", "an", "object"]})");
    FAIL() << "expected invalid_config";
  } catch (const error& e) {
    EXPECT_EQ(e.code(), errc::invalid_config);
  }
  EXPECT_THROW((void)load_member_code_mapping(fixtures / "no-such-file.json"), error);
}

// ---- requests --------------------------------------------------------------------------------------

TEST(XroadSource, SendsTheClientHeaderAndAcceptOnEveryRequest) {
  auto sim = xroad_sim::simulator::from_fixtures(fixtures / "dev");
  std::vector<http_request> seen;
  loopback_transport transport;
  transport.route("http://xroad.dev", [&](const http_request& req) {
    seen.push_back(req);
    return sim(req);
  });
  xroad_source source(config_for("dev"));
  const auto r = run(source, transport);
  ASSERT_GT(seen.size(), 30u);
  EXPECT_EQ(seen.front().url, "http://xroad.dev/listClients");
  std::size_t list_methods = 0, get_openapi = 0;
  for (const auto& req : seen) {
    http_response view;
    view.headers = req.headers;
    EXPECT_EQ(view.header("X-Road-Client"), "EE-DEV/GOV/70000310/kmais-client") << req.url;
    EXPECT_EQ(view.header("Accept"), "application/json") << req.url;
    list_methods += req.url.ends_with("/listMethods");
    get_openapi += contains(req.url, "/getOpenAPI?serviceCode=");
  }
  EXPECT_EQ(list_methods, r.providers.size());
  EXPECT_TRUE(std::any_of(seen.begin(), seen.end(), [](const http_request& q) {
    return q.url == "http://xroad.dev/r1/EE-DEV/GOV/10000562/rr-public/getOpenAPI?serviceCode=searchPersons-v1.2";
  }));
  // One getOpenAPI per spec file of the catalogued providers, except the one whose listMethods is broken.
  std::size_t spec_files = 0;
  for (const auto& f : fs::recursive_directory_iterator(fixtures / "dev")) {
    const auto provider_dir = f.path().parent_path().parent_path().filename().string();
    if (f.is_regular_file() && f.path().parent_path().filename() == "specs" && !provider_dir.ends_with("private") &&
        provider_dir != "tracking-public")
      ++spec_files;
  }
  EXPECT_GT(spec_files, 30u);
  EXPECT_EQ(get_openapi, spec_files);
}

TEST(XroadSource, SimulatorRefusesRequestsWithoutAValidClientHeader) {
  auto sim = xroad_sim::simulator::from_fixtures(fixtures / "dev");
  http_request req;
  req.url = "http://xroad.dev/r1/EE-DEV/GOV/10000562/rr-public/listMethods";
  auto res = sim(req);
  EXPECT_EQ(res.status, 400);
  EXPECT_TRUE(contains(res.body, "X-Road-Client")) << res.body;
  req.headers = {{"X-Road-Client", "EE-DEV/GOV/70000310"}};
  EXPECT_EQ(sim(req).status, 400) << "three parts are not a subsystem";
  req.headers = {{"x-road-client", "EE-DEV/GOV/70000310/kmais-client"}};
  res = sim(req);
  EXPECT_EQ(res.status, 200) << res.body;
  EXPECT_TRUE(contains(res.body, "getPerson-v10"));
}

TEST(XroadSource, PercentEncodesPathSegmentsAndTheServiceCode) {
  std::vector<std::string> urls;
  loopback_transport transport;
  transport.route("http://xroad.dev", [&](const http_request& req) {
    urls.push_back(req.url);
    http_response r;
    r.status = 200;
    if (req.url.ends_with("/listMethods"))
      r.body = R"({"service":[{"object_type":"SERVICE","service_code":"odd code/x&y-v1"}]})";
    else
      r.body = "openapi: 3.0.0\ninfo:\n  title: Odd\n";
    return r;
  });
  xroad_source source(config_for("dev"));
  const std::vector<provider> ps{{"EE-DEV/GOV/70 00/a b-public", "Spaces"}};
  std::vector<provider_outcome> outcomes;
  source.collect(transport, std::span<const provider>(ps), 1,
                 [&](const provider&, provider_outcome&& o) { outcomes.push_back(std::move(o)); });
  ASSERT_EQ(urls.size(), 2u);
  EXPECT_EQ(urls[0], "http://xroad.dev/r1/EE-DEV/GOV/70%2000/a%20b-public/listMethods");
  EXPECT_EQ(urls[1], "http://xroad.dev/r1/EE-DEV/GOV/70%2000/a%20b-public/getOpenAPI?serviceCode=odd%20code%2Fx%26y-v1");
  ASSERT_EQ(outcomes.size(), 1u);
  ASSERT_EQ(outcomes[0].records.size(), 1u);
  EXPECT_EQ(outcomes[0].records[0].id, "GOV/70 00/a b-public/odd code/x&y");
}

// ---- failures --------------------------------------------------------------------------------------

error listing_error(loopback_transport::handler h) {
  loopback_transport transport;
  transport.route("http://xroad.dev", std::move(h));
  xroad_source source(config_for("dev"));
  try {
    (void)source.list_providers(transport);
  } catch (const error& e) {
    return e;
  }
  return error(errc::invalid_config, "list_providers did not throw");
}

TEST(XroadSource, FailedOrMalformedListClientsThrowsSourceFailed) {
  auto answering = [](int status, std::string body) {
    return [status, body](const http_request&) {
      http_response r;
      r.status = status;
      r.body = body;
      return r;
    };
  };
  for (const std::string body : {R"({"member": [ {"name": "x", "id": {)", "<html>502 Bad Gateway</html>",
                                 R"({"member": 42})", R"({"members": []})", R"({"member": []} trailing)", ""}) {
    const auto e = listing_error(answering(200, body));
    EXPECT_EQ(e.code(), errc::source_failed) << body << ": " << e.what();
    EXPECT_TRUE(contains(e.what(), "http://xroad.dev/listClients")) << e.what();
    EXPECT_TRUE(contains(e.what(), "malformed JSON")) << e.what();
  }
  auto e = listing_error(answering(503, "maintenance"));
  EXPECT_EQ(e.code(), errc::source_failed);
  EXPECT_TRUE(contains(e.what(), "HTTP 503")) << e.what();
  e = listing_error([](const http_request&) {
    http_response r;
    r.error = "connection refused";
    return r;
  });
  EXPECT_EQ(e.code(), errc::source_failed);
  EXPECT_TRUE(contains(e.what(), "connection refused")) << e.what();
}

TEST(XroadSource, MalformedListMethodsFailsThatProviderOnly) {
  const auto r = run_env("dev");  // tracking-public's dev listMethods is cut off mid-body
  ASSERT_EQ(r.outcomes.size(), r.providers.size());
  const auto& broken = r.outcome("EE-DEV/COM/11254567/tracking-public");
  EXPECT_FALSE(broken.ok());
  EXPECT_TRUE(contains(broken.failure, "malformed JSON")) << broken.failure;
  EXPECT_TRUE(contains(broken.failure, "/r1/EE-DEV/COM/11254567/tracking-public/listMethods")) << broken.failure;
  std::size_t failed = 0;
  for (const auto& [id, o] : r.outcomes) failed += o.ok() ? 0 : 1;
  EXPECT_EQ(failed, 1u);
  EXPECT_TRUE(r.has("COM/11254567/logistics-protected/customsDeclarations")) << "same member, other subsystem";
}

TEST(XroadSource, TimedOutProviderFailsAndTheRunGoesOn) {
  auto sim = xroad_sim::simulator::from_fixtures(fixtures / "prod");
  loopback_transport transport;
  transport.route("http://xroad.prod", [&](const http_request& req) {
    http_response r;
    if (contains(req.url, "/rr-protected/listMethods")) {
      r.error = "timed out after 5000 ms (operation timed out)";
      return r;
    }
    if (contains(req.url, "serviceCode=cadastre-v2")) {
      r.error = "timed out after 5000 ms (operation timed out)";
      return r;
    }
    return sim(req);
  });
  xroad_source source(config_for("prod", fixture_mapping()));
  const auto r = run(source, transport, 3);
  const auto& timed_out = r.outcome("EE/GOV/70000562/rr-protected");
  EXPECT_FALSE(timed_out.ok());
  EXPECT_TRUE(contains(timed_out.failure, "timed out")) << timed_out.failure;
  EXPECT_TRUE(timed_out.records.empty());
  // A timed-out getOpenAPI is a warning: cadastre keeps v1.
  const auto& land = r.outcome("EE/GOV/70001484/maaamet-public");
  EXPECT_TRUE(land.ok());
  EXPECT_TRUE(contains(warning_about(land, "cadastre-v2"), "timed out"));
  ASSERT_TRUE(r.has("GOV/70001484/maaamet-public/cadastre"));
  EXPECT_EQ(r.doc("GOV/70001484/maaamet-public/cadastre").environments.front().details.size(), 1u);
  // Everyone else was collected.
  std::size_t ok = 0;
  for (const auto& [id, o] : r.outcomes) ok += o.ok() ? 1 : 0;
  EXPECT_EQ(ok, r.providers.size() - 1);
  EXPECT_TRUE(r.has("GOV/70000562/rr-public/getPerson"));
}

TEST(XroadSource, ProviderWithAMalformedIdFails) {
  loopback_transport transport;
  simulate(transport);
  xroad_source source(config_for("dev"));
  const std::vector<provider> ps{{"EE-DEV/GOV/10000562", "three parts"}, {"EE-DEV/GOV/10000562/rr-protected", "ok"}};
  std::vector<provider_outcome> outcomes;
  source.collect(transport, std::span<const provider>(ps), 8,
                 [&](const provider&, provider_outcome&& o) { outcomes.push_back(std::move(o)); });
  ASSERT_EQ(outcomes.size(), 2u);
  EXPECT_FALSE(outcomes[0].ok());
  EXPECT_TRUE(contains(outcomes[0].failure, "EE-DEV/GOV/10000562")) << outcomes[0].failure;
  EXPECT_TRUE(outcomes[1].ok()) << outcomes[1].failure;
  EXPECT_EQ(outcomes[1].records.size(), 1u);
}

TEST(XroadSource, RejectsAnIncompleteConfiguration) {
  auto expect_invalid = [](xroad_source_config c) {
    try {
      xroad_source s(std::move(c));
      ADD_FAILURE() << "expected invalid_config";
    } catch (const error& e) {
      EXPECT_EQ(e.code(), errc::invalid_config) << e.what();
    }
  };
  auto c = config_for("dev");
  c.base_url = "/";
  expect_invalid(c);
  c = config_for("dev");
  c.environment.clear();
  expect_invalid(c);
  c = config_for("dev");
  c.client.subsystem_code.clear();
  expect_invalid(c);
}

// ---- concurrency -----------------------------------------------------------------------------------

/// Records each perform_all batch, and answers through the simulator.
struct recording_transport {
  using transport_concept = transport_tag;
  loopback_transport inner;
  std::vector<std::vector<std::string>> batches;
  http_response perform(http_request req) { return inner.perform(std::move(req)); }
  template <class F>
  void perform_all(std::vector<http_request> reqs, F&& on_done) {
    batches.emplace_back();
    for (const auto& r : reqs) batches.back().push_back(r.url);
    // Complete in reverse order: the source must not depend on completion order.
    for (std::size_t i = reqs.size(); i-- > 0;) on_done(i, inner.perform(std::move(reqs[i])));
  }
};
static_assert(transport<recording_transport>);

// Over a transport without perform_stream the source goes in waves.
TEST(XroadSource, CollectsInBoundedWavesAndReportsInOrder) {
  recording_transport transport;
  transport.inner.route("http://xroad.dev", xroad_sim::simulator::from_fixtures(fixtures / "dev"));
  xroad_source source(config_for("dev", fixture_mapping()));
  const auto r = run(source, transport, 4);
  std::vector<std::string> expected;
  for (const auto& p : r.providers) expected.push_back(p.id);
  EXPECT_EQ(r.order, expected) << "one outcome per provider, in the order given";
  std::size_t list_batches = 0, listed = 0;
  for (const auto& batch : transport.batches) {
    std::set<std::string> providers;
    for (const auto& url : batch) {
      const auto r1 = url.find("/r1/");
      const auto tail = url.rfind('/');
      providers.insert(url.substr(r1, tail - r1));
    }
    EXPECT_LE(providers.size(), 4u) << "at most `concurrency` providers in flight";
    if (!batch.empty() && batch.front().ends_with("/listMethods")) ++list_batches, listed += batch.size();
  }
  EXPECT_EQ(listed, r.providers.size());
  EXPECT_EQ(list_batches, (r.providers.size() + 3) / 4);
  // Same documents as with a concurrency of one.
  recording_transport serial;
  serial.inner.route("http://xroad.dev", xroad_sim::simulator::from_fixtures(fixtures / "dev"));
  xroad_source again(config_for("dev", fixture_mapping()));
  const auto one = run(again, serial, 1);
  EXPECT_EQ(one.services, r.services);
}

std::string provider_of(const std::string& url) {
  const auto r1 = url.find("/r1/");
  if (r1 == std::string::npos) return {};
  return url.substr(r1 + 4, url.rfind('/') - r1 - 4);
}

/// A streaming transport with at most `slots` requests outstanding, answering them out of order: the
/// newest first, except that requests `held` selects wait until nothing else is outstanding. It logs
/// every request asked for and answered, and the most providers it ever had requests outstanding for.
struct scheduled_stream_transport {
  using transport_concept = transport_tag;
  loopback_transport inner;
  std::size_t slots = 4;
  std::function<bool(const std::string&)> held = [](const std::string&) { return false; };
  std::vector<std::string> log;  // "ask <url>" and "answer <url>", in order
  std::size_t peak_providers = 0;

  http_response perform(http_request req) { return inner.perform(std::move(req)); }
  template <class F>
  void perform_all(std::vector<http_request> reqs, F&& on_done) {
    inner.perform_all(std::move(reqs), on_done);
  }
  template <class G, class F>
  void perform_stream(G&& next, F&& on_done) {
    struct outstanding_request {
      std::size_t ticket;
      http_request req;
    };
    std::vector<outstanding_request> outstanding;
    std::size_t tickets = 0;
    bool asking = true;
    while (true) {
      while (asking && outstanding.size() < slots) {
        std::optional<http_request> req = next();
        if (!req) {
          asking = false;
          break;
        }
        log.push_back("ask " + req->url);
        outstanding.push_back({tickets++, std::move(*req)});
      }
      std::set<std::string> providers;
      for (const auto& o : outstanding) providers.insert(provider_of(o.req.url));
      peak_providers = std::max(peak_providers, providers.size());
      if (outstanding.empty()) return;
      auto pick = outstanding.begin();  // the oldest held one when all are held
      for (auto it = outstanding.end(); it != outstanding.begin();) {
        --it;
        if (!held(it->req.url)) {
          pick = it;
          break;
        }
      }
      outstanding_request o = std::move(*pick);
      outstanding.erase(pick);
      log.push_back("answer " + o.req.url);
      on_done(o.ticket, inner.perform(std::move(o.req)));
      asking = true;
    }
  }
};
static_assert(streaming_transport<scheduled_stream_transport>);

xroad_sim::simulator synthetic_sixty() {
  xroad_sim::synthetic_options o;
  o.providers = 60;
  o.services = 500;
  o.seed = 7;
  return xroad_sim::simulator::synthetic(o);
}

TEST(XroadSource, SlidingWindowKeepsTheBoundAndReportsInOrder) {
  scheduled_stream_transport transport;
  transport.slots = 8;
  transport.inner.route("http://xroad.dev", synthetic_sixty());
  xroad_source source(config_for("dev"));
  const auto r = run(source, transport, 3);
  std::vector<std::string> expected;
  for (const auto& p : r.providers) expected.push_back(p.id);
  EXPECT_EQ(r.order, expected) << "one outcome per provider, in the order given, whatever the answer order";
  EXPECT_EQ(transport.peak_providers, 3u) << "at most `concurrency` providers in flight, and the window is used";
  std::vector<std::string> asked, answered;
  for (const auto& entry : transport.log) (entry.starts_with("ask ") ? asked : answered).push_back(entry.substr(entry.find(' ') + 1));
  EXPECT_EQ(asked.size(), r.providers.size() + 500);
  EXPECT_NE(asked, answered) << "answers really came out of order";
  // The same documents as one provider at a time in order.
  loopback_transport serial;
  serial.route("http://xroad.dev", synthetic_sixty());
  xroad_source again(config_for("dev"));
  EXPECT_EQ(run(again, serial, 1).services, r.services);
}

TEST(XroadSource, SlowProviderDoesNotHoldBackTheOthers) {
  scheduled_stream_transport transport;
  transport.slots = 2;
  transport.inner.route("http://xroad.dev", synthetic_sixty());
  xroad_source source(config_for("dev"));
  const auto providers = source.list_providers(transport);
  ASSERT_EQ(providers.size(), 60u);
  const std::string slow = providers.front().id;
  transport.held = [&](const std::string& url) { return provider_of(url) == slow; };
  std::vector<std::string> order;
  source.collect(transport, std::span<const provider>(providers), 2, [&](const provider& p, provider_outcome&& o) {
    EXPECT_TRUE(o.ok()) << p.id << ": " << o.failure;
    order.push_back(p.id);
  });
  ASSERT_EQ(order.size(), providers.size());
  EXPECT_EQ(order.front(), slow) << "reported first all the same";
  // Providers started while the slow one's listMethods was outstanding: the window slid on past it
  // (waves of two would have stopped at one more) until the outcomes held for it reached their bound.
  std::set<std::string> started;
  for (const auto& entry : transport.log) {
    if (entry == "answer " + transport.log.front().substr(4)) break;
    if (entry.starts_with("ask ") && entry.ends_with("/listMethods")) started.insert(provider_of(entry.substr(4)));
  }
  ASSERT_TRUE(transport.log.front().ends_with(slow + "/listMethods")) << transport.log.front();
  EXPECT_EQ(started.size(), 2 * xroad_source::held_outcomes_per_slot);
}

TEST(XroadSource, ManyMalformedProviderIdsDoNotStallTheWindow) {
  loopback_transport transport;
  simulate(transport);
  xroad_source source(config_for("dev"));
  std::vector<provider> ps;
  for (int i = 0; i < 12; ++i) ps.push_back({"EE-DEV/GOV/bad" + std::to_string(i), "three parts"});
  ps.push_back({"EE-DEV/GOV/10000562/rr-protected", "ok"});
  for (int i = 12; i < 15; ++i) ps.push_back({"EE-DEV/GOV/bad" + std::to_string(i), "three parts"});
  std::vector<std::string> order;
  std::size_t failed = 0, documents = 0;
  source.collect(transport, std::span<const provider>(ps), 1, [&](const provider& p, provider_outcome&& o) {
    order.push_back(p.id);
    failed += o.ok() ? 0 : 1;
    documents += o.records.size();
  });
  ASSERT_EQ(order.size(), ps.size());
  for (std::size_t i = 0; i < ps.size(); ++i) EXPECT_EQ(order[i], ps[i].id);
  EXPECT_EQ(failed, 15u);
  EXPECT_EQ(documents, 1u);
}

TEST(XroadSource, CollectsASyntheticInstance) {
  xroad_sim::synthetic_options o;
  o.providers = 60;
  o.services = 500;
  o.seed = 7;
  loopback_transport transport;
  transport.route("http://xroad.dev", xroad_sim::simulator::synthetic(o));
  auto config = config_for("dev");
  xroad_source source(std::move(config));
  const auto r = run(source, transport, 16);
  EXPECT_EQ(r.providers.size(), 60u);
  std::size_t details = 0, warnings = 0;
  for (const auto& [id, outcome] : r.outcomes) {
    EXPECT_TRUE(outcome.ok()) << id << ": " << outcome.failure;
    warnings += outcome.warnings.size();
    for (const auto& s : outcome.records) details += s.environments.front().details.size();
  }
  EXPECT_EQ(warnings, 0u);
  EXPECT_EQ(details, 500u) << "every synthetic service code becomes one detail";
  // 500 codes over 60 providers: 20 providers have 9 (four pairs of versions and a single), 40 have 8.
  EXPECT_EQ(r.services.size(), 20u * 5 + 40u * 4) << "codes come in pairs of versions";
}

// ---- end to end ------------------------------------------------------------------------------------

TEST(XroadSource, ThreeCollectorsOverTheSimulatorConverge) {
  memory_index store;
  loopback_transport transport;
  simulate(transport);
  manual_clock clock;
  const auto mapping = fixture_mapping();
  for (const std::string env : {"dev", "staging", "prod"}) {
    collector_config c;
    c.environment = env;
    for (const std::string peer : {"dev", "staging", "prod"})
      if (peer != env) c.peers.push_back({peer, ""});
    xroad_source source(config_for(env, mapping));
    in_process_collector collector(c, transport, store);
    const auto report = collector.run(source, clock);
    ASSERT_TRUE(report.ok) << report.summary();
    EXPECT_EQ(report.providers_failed(), env == "dev" ? 1u : 0u) << report.summary();
    clock.advance(std::chrono::seconds(1));
  }
  const auto targets = store.alias_targets("apicatalogue");
  ASSERT_EQ(targets.size(), 1u);
  const auto got = store.get(targets.front(), std::vector<std::string>{"GOV/70000562/rr-public/getPerson",
                                                                       "GOV/70008440/tervis-protected/pharmacies"});
  ASSERT_TRUE(got[0].has_value());
  ASSERT_TRUE(got[1].has_value());
  document_parser parser;
  const auto person = parser.parse(*got[0]);
  ASSERT_EQ(person.environments.size(), 3u) << "one document, three environments, thanks to the member-code mapping";
  EXPECT_EQ(person.environments[0].environment, "prod");
  EXPECT_EQ(parser.parse(*got[1]).environments.size(), 1u);
}


// ---- credentials in URLs never reach a message -------------------------------------------------------

TEST(RedactUrl, HidesTheUserinfoPasswordAndKeepsTheUser) {
  EXPECT_EQ(redact_url("http://u:secret@host"), "http://u:***@host");
  EXPECT_EQ(redact_url("http://u:secret@127.0.0.1:8080/listClients"), "http://u:***@127.0.0.1:8080/listClients");
  EXPECT_EQ(redact_url("HTTPS://Admin:s3cr3t@Search.Example:9243/es/"), "HTTPS://Admin:***@Search.Example:9243/es/");
  EXPECT_EQ(redact_url("postgres://tributary:sekrit@127.0.0.1:5432/catalogue?schema=e2e"),
            "postgres://tributary:***@127.0.0.1:5432/catalogue?schema=e2e");
  EXPECT_EQ(redact_url("postgresql://me:pw@db.internal/catalogue"), "postgresql://me:***@db.internal/catalogue");
  // A user without a password, an empty password, no userinfo: nothing to hide.
  EXPECT_EQ(redact_url("http://collector@host:9200/x"), "http://collector@host:9200/x");
  EXPECT_EQ(redact_url("http://u:@host/"), "http://u:@host/");
  EXPECT_EQ(redact_url("http://host:9200"), "http://host:9200");
  EXPECT_EQ(redact_url("https://search.internal:9200/prefix/_search?q=a:b"), "https://search.internal:9200/prefix/_search?q=a:b");
}

TEST(RedactUrl, PasswordsWithEscapesOrReservedCharactersAreHiddenWhole) {
  EXPECT_EQ(redact_url("https://collector:p%40ss%3Aw@search.example:9243/es/"), "https://collector:***@search.example:9243/es/");
  EXPECT_EQ(redact_url("http://us%3Aer:p%2Fw@h/"), "http://us%3Aer:***@h/");
  EXPECT_EQ(redact_url("http://u:p@ss:w@host:80/x"), "http://u:***@host:80/x") << "the userinfo ends at the last @";
  // Not escaped as they should be: a password with / ? or # still does not show.
  EXPECT_EQ(redact_url("http://u:pa/ss@host/x"), "http://u:***@host/x");
  EXPECT_EQ(redact_url("http://u:pa?ss@host/x"), "http://u:***@host/x");
  EXPECT_EQ(redact_url("http://u:pa#ss@host"), "http://u:***@host");
  // ...while an @ in the path of a URL with a valid port is left alone.
  EXPECT_EQ(redact_url("http://host:9200/users/@me:x"), "http://host:9200/users/@me:x");
  EXPECT_EQ(redact_url("https://registry.example/@scope/pkg"), "https://registry.example/@scope/pkg");
}

TEST(RedactUrl, Ipv6HostsAndPorts) {
  EXPECT_EQ(redact_url("http://u:pw@[::1]:8080/listClients"), "http://u:***@[::1]:8080/listClients");
  EXPECT_EQ(redact_url("http://u:pw@[fe80::1%25eth0]/"), "http://u:***@[fe80::1%25eth0]/");
  EXPECT_EQ(redact_url("http://[::1]:8080/x"), "http://[::1]:8080/x");
  EXPECT_EQ(redact_url("http://[2001:db8::7]"), "http://[2001:db8::7]");
  EXPECT_EQ(redact_url("postgresql://me:hunter2@[::1/db"), "postgresql://me:***@[::1/db") << "unclosed bracket";
}

TEST(RedactUrl, QueryParametersNamedAsSecretsAreHidden) {
  EXPECT_EQ(redact_url("postgres://h/db?sslmode=require&password=hunter2&application_name=x"),
            "postgres://h/db?sslmode=require&password=***&application_name=x");
  EXPECT_EQ(redact_url("https://h/x?token=a&Access_Token=b&api_key=c&apikey=d&api-key=e&key=f&secret=g&pwd=h&passwd=i"),
            "https://h/x?token=***&Access_Token=***&api_key=***&apikey=***&api-key=***&key=***&secret=***&pwd=***&passwd=***");
  EXPECT_EQ(redact_url("https://h/x?client_secret=a&refresh_token=b&sslpassword=c&X-Api-Key=d"),
            "https://h/x?client_secret=***&refresh_token=***&sslpassword=***&X-Api-Key=***");
  // Names that only look alike, and parameters without a value, stay.
  EXPECT_EQ(redact_url("https://h/x?keyword=a&monkey=b&sslkey=/etc/k.pem&tokenizer=std&token&password="),
            "https://h/x?keyword=a&monkey=b&sslkey=/etc/k.pem&tokenizer=std&token&password=");
  EXPECT_EQ(redact_url("https://h/cb#access_token=abc&state=1"), "https://h/cb#access_token=***&state=1");
  EXPECT_EQ(redact_url("http://u:p@h/x?token=t#frag"), "http://u:***@h/x?token=***#frag");
  // A URL inside a parameter's value is redacted too.
  EXPECT_EQ(redact_url("http://h/login?next=https://u:pw@x/y&lang=et"), "http://h/login?next=https://u:***@x/y&lang=et");
}

TEST(RedactUrl, SqliteUrlsAndNonUrlsAreUnchanged) {
  EXPECT_EQ(redact_url("sqlite:///tmp/catalogue.db"), "sqlite:///tmp/catalogue.db");
  EXPECT_EQ(redact_url("sqlite:///tmp/odd:name@x.db"), "sqlite:///tmp/odd:name@x.db");
  for (const std::string text : {"", "not a url", "u:secret@host", "://u:p@h", "1http://u:p@h", "host=h password=x",
                                 "/var/lib/catalogue.db", "mailto:someone@example.org"})
    EXPECT_EQ(redact_url(text), text);
}

TEST(RedactUrl, IsIdempotent) {
  for (const std::string url : {"http://u:secret@host", "postgres://a:b@h/db?password=c", "https://h/x?token=t"})
    EXPECT_EQ(redact_url(redact_url(url)), redact_url(url)) << url;
}

TEST(RedactUrlsIn, RedactsEveryUrlInATextAndNothingElse) {
  EXPECT_EQ(redact_urls_in("listClients http://u:xs@127.0.0.1:8080/listClients failed: GET "
                           "http://u:xs@127.0.0.1:8080/listClients: Couldn't connect to server (1 attempt)"),
            "listClients http://u:***@127.0.0.1:8080/listClients failed: GET "
            "http://u:***@127.0.0.1:8080/listClients: Couldn't connect to server (1 attempt)");
  EXPECT_EQ(redact_urls_in("sqlite:///tmp/x.db and postgres://a:b@h/db\nhttps://e:f@[::1]:9200"),
            "sqlite:///tmp/x.db and postgres://a:***@h/db\nhttps://e:***@[::1]:9200");
  // Quoted or bracketed, the closing character stays.
  EXPECT_EQ(redact_urls_in("store URL 'postgres://me:hunter2@h/db?password=pw2' does not start with"),
            "store URL 'postgres://me:***@h/db?password=***' does not start with");
  EXPECT_EQ(redact_urls_in("in URI: \"postgresql://me:hunter2@[::1/db\""), "in URI: \"postgresql://me:***@[::1/db\"");
  EXPECT_EQ(redact_urls_in("(see http://u:pw@h/x?token=t)."), "(see http://u:***@h/x?token=***).");
  EXPECT_EQ(redact_urls_in("<https://u:pw@h>"), "<https://u:***@h>");
  for (const std::string text : {"", "connection refused", "ratio 3:1 at 12:00, user@host", "a :// b", "://",
                                 "x://", "HTTP 503: maintenance"})
    EXPECT_EQ(redact_urls_in(text), text);
}

TEST(XroadSource, AnErrorPageIsToldOnOneLineOfWholeCharacters) {
  // A provider's failure goes to logs and JSON reports: a proxy's HTML page as one line, cut at whole
  // UTF-8 characters.
  http_response r;
  r.status = 502;
  r.body = "<html>\r\n<body>\n\tBad Gateway\n" + std::string(200, 'x') + "</body></html>";
  EXPECT_EQ(detail::describe_failure(r), "HTTP 502: <html> <body> Bad Gateway " + std::string(200 - 26, 'x') + "...");
  r.body = std::string(199, 'y') + "\xe2\x80\x94";  // an em dash across byte 200
  EXPECT_EQ(detail::describe_failure(r), "HTTP 502: " + std::string(199, 'y') + "...");
}

TEST(RedactUrl, AStoreUrlOfUnknownKindIsNamedRedacted) {
  try {
    (void)examples::store_scheme_of("ftp://u:storesecret@files.example/x?token=qsecret");
    ADD_FAILURE() << "store_scheme_of did not throw";
  } catch (const error& e) {
    EXPECT_EQ(e.code(), errc::invalid_config);
    EXPECT_TRUE(contains(e.what(), "'ftp://u:***@files.example/x?token=***'")) << e.what();
    EXPECT_FALSE(contains(e.what(), "storesecret")) << e.what();
    EXPECT_FALSE(contains(e.what(), "qsecret")) << e.what();
  }
  // Not a URL at all: shown when it cannot hold a password.
  for (const auto& [value, shown] : std::vector<std::pair<std::string, bool>>{
           {"host=db password=kwsecret", false}, {"u:kwsecret@db", false}, {"we:ird:kwsecret://x", false},
           {"/var/lib/catalogue.db", true}}) {
    try {
      (void)examples::store_scheme_of(value);
      ADD_FAILURE() << "store_scheme_of did not throw";
    } catch (const error& e) {
      EXPECT_FALSE(contains(e.what(), "kwsecret")) << e.what();
      EXPECT_EQ(contains(e.what(), "'" + value + "'"), shown) << e.what();
    }
  }
}

/// A transport that fails every request the way curl_transport does: its error quotes the URL.
http_response refused(const http_request& req) {
  http_response r;
  r.error = req.method + " " + req.url + ": Couldn't connect to server (1 attempt)";
  return r;
}

TEST(XroadSource, FailuresAndWarningsNeverCarryTheCredentialsOfTheBaseUrl) {
  const std::string base = "http://u:xroadsecret@xroad.dev";
  auto config = config_for("dev", fixture_mapping());
  config.base_url = base + "/";

  loopback_transport down;
  down.route(base, refused);
  try {
    (void)xroad_source(config).list_providers(down);
    ADD_FAILURE() << "list_providers did not throw";
  } catch (const error& e) {
    EXPECT_EQ(e.code(), errc::source_failed);
    EXPECT_FALSE(contains(e.what(), "xroadsecret")) << e.what();
    EXPECT_TRUE(contains(e.what(), "http://u:***@xroad.dev/listClients")) << e.what();
  }
  down.route(base, [](const http_request&) {
    http_response r;
    r.status = 200;
    r.body = "{\"member\": [";
    return r;
  });
  try {
    (void)xroad_source(config).list_providers(down);
    ADD_FAILURE() << "list_providers did not throw";
  } catch (const error& e) {
    EXPECT_FALSE(contains(e.what(), "xroadsecret")) << e.what();
    EXPECT_TRUE(contains(e.what(), "malformed JSON")) << e.what();
  }

  // listMethods refused for one provider, getOpenAPI for one version, a malformed listMethods elsewhere;
  // in waves (perform_all) and through the sliding window (perform_stream).
  auto sim = xroad_sim::simulator::from_fixtures(fixtures / "dev");
  auto answer = [&](const http_request& req) {
    if (contains(req.url, "/rr-protected/listMethods") || contains(req.url, "serviceCode=getPerson-v2")) return refused(req);
    http_request plain = req;
    plain.url = "http://xroad.dev" + req.url.substr(base.size());
    return sim(plain);
  };
  auto check = [&](const collected_run& r) {
    std::size_t failures = 0, warnings = 0;
    for (const auto& [id, o] : r.outcomes) {
      failures += o.ok() ? 0 : 1;
      EXPECT_FALSE(contains(o.failure, "xroadsecret")) << o.failure;
      for (const auto& w : o.warnings) {
        ++warnings;
        EXPECT_FALSE(contains(w, "xroadsecret")) << w;
      }
    }
    EXPECT_EQ(failures, 2u);
    EXPECT_GE(warnings, 1u);
    for (const std::string id : {"EE-DEV/GOV/10000562/rr-protected", "EE-DEV/COM/11254567/tracking-public"})
      EXPECT_TRUE(contains(r.outcome(id).failure, "http://u:***@xroad.dev/r1/")) << r.outcome(id).failure;
    EXPECT_TRUE(contains(warning_about(r.outcome("EE-DEV/GOV/10000562/rr-public"), "getPerson-v2"), "http://u:***@xroad.dev/r1/"))
        << warning_about(r.outcome("EE-DEV/GOV/10000562/rr-public"), "getPerson-v2");
  };
  recording_transport waves;
  waves.inner.route(base, answer);
  xroad_source in_waves(config);
  check(run(in_waves, waves));
  loopback_transport streaming;
  streaming.route(base, answer);
  static_assert(streaming_transport<loopback_transport>);
  xroad_source streamed(config);
  check(run(streamed, streaming));
}

// ---- x-links (issue 12, item 12): what a run writes is valid JSON ----------------------------------------

/// A strict reader of a whole document: every number in range, every string UTF-8, nothing trailing
/// (document_parser skips the raw `links` without looking inside; Elasticsearch, PostgreSQL's jsonb and
/// other readers do not).
bool strictly_valid_json(const std::string& text) {
  simdjson::dom::parser parser;
  return !parser.parse(text).error();
}

/// A security server with one provider whose service codes answer the given OpenAPI documents.
loopback_transport::handler one_provider_serving(std::map<std::string, std::string> specs) {
  return [specs = std::move(specs)](const http_request& req) {
    http_response r;
    r.status = 200;
    const std::string id = R"("xroad_instance":"EE-DEV","member_class":"GOV","member_code":"12345678")";
    if (req.url.ends_with("/listClients")) {
      r.body = R"({"member":[{"name":"Links Office","id":{"object_type":"SUBSYSTEM",)" + id +
               R"(,"subsystem_code":"links-public"}}]})";
    } else if (req.url.ends_with("/listMethods")) {
      r.body = R"({"service":[)";
      for (const auto& [code, spec] : specs)
        r.body += (r.body.back() == '[' ? "" : ",") + std::string(R"({"object_type":"SERVICE",)") + id +
                  R"(,"subsystem_code":"links-public","service_code":")" + code + "\"}";
      r.body += "]}";
    } else if (const auto at = req.url.find("serviceCode="); at != std::string::npos && specs.count(req.url.substr(at + 12))) {
      r.body = specs.at(req.url.substr(at + 12));
      r.headers = {{"Content-Type", r.body.front() == '{' ? "application/json" : "text/yaml"}};
    } else {
      r.status = 404;
    }
    return r;
  };
}

const service_detail& detail_of(const collected_run& r, const std::string& id, std::size_t at = 0) {
  return r.doc(id).environments.front().details.at(at);
}

TEST(XroadSource, XLinksAreStoredAsValidJsonOrDroppedWithAWarning) {
  // YAML anchors make a few hundred bytes of YAML into megabytes of JSON.
  std::string bomb = "openapi: 3.0.0\ninfo:\n  title: Bomb\n  x-links:\n    a: &a [x, x, x, x, x, x, x, x]\n";
  for (const char* level : {"b", "c", "d", "e", "f"}) {
    const std::string previous(1, static_cast<char>(level[0] - 1));
    bomb += std::string("    ") + level + ": &" + level + " [";
    for (int i = 0; i < 8; ++i) bomb += (i ? ", *" : "*") + previous;
    bomb += "]\n";
  }
  loopback_transport transport;
  transport.route("http://xroad.dev",
                  one_provider_serving({
                      // YAML numbers JSON cannot carry (out of double range, beyond 64 bits) next to ones it can.
                      {"yamlNumbers-v1", "openapi: 3.0.0\ninfo:\n  title: Yaml numbers\n  x-links:\n"
                                         "    - 1e999\n    - 123456789012345678901234567890\n    - -0\n    - 2.5\n"
                                         "    - {name: Docs, url: 'https://docs.example/a', weight: 2}\n"},
                      // The same from a JSON document.
                      {"jsonNumbers-v1", R"({"openapi":"3.0.0","info":{"title":"Json numbers","x-links":)"
                                         R"([1e400,18446744073709551616,-12,{"url":"https://docs.example/b"}]}})"},
                      {"bomb-v1", bomb},
                      {"plain-v1", "openapi: 3.0.0\ninfo:\n  title: Plain\n  x-links: [{name: Home, url: 'https://x.example'}]\n"},
                  }));
  xroad_source source(config_for("dev"));
  const auto r = run(source, transport);
  const auto& o = r.outcome("EE-DEV/GOV/12345678/links-public");
  ASSERT_TRUE(o.ok()) << o.failure;

  const auto& yaml = detail_of(r, "GOV/12345678/links-public/yamlNumbers");
  EXPECT_TRUE(strictly_valid_json(yaml.links)) << yaml.links;
  EXPECT_EQ(yaml.links, R"(["1e999","123456789012345678901234567890",-0,2.5,)"
                        R"({"name":"Docs","url":"https://docs.example/a","weight":2}])")
      << "numbers JSON cannot carry stay as written, as strings; the others stay numbers";
  const auto& json = detail_of(r, "GOV/12345678/links-public/jsonNumbers");
  EXPECT_TRUE(strictly_valid_json(json.links)) << json.links;
  EXPECT_EQ(json.links, R"(["1e400","18446744073709551616",-12,{"url":"https://docs.example/b"}])");
  EXPECT_TRUE(warning_about(o, "yamlNumbers-v1").empty()) << warning_about(o, "yamlNumbers-v1");

  // The expansion is dropped, the service kept, and the warning names the service (the report names
  // the provider with each warning).
  ASSERT_TRUE(r.has("GOV/12345678/links-public/bomb"));
  const auto& bombed = detail_of(r, "GOV/12345678/links-public/bomb");
  EXPECT_EQ(bombed.title, "Bomb");
  EXPECT_TRUE(bombed.links.empty()) << bombed.links.size() << " bytes of links stored";
  const auto warning = warning_about(o, "bomb-v1");
  EXPECT_TRUE(contains(warning, "x-links")) << warning;
  EXPECT_TRUE(contains(warning, "dropped")) << warning;

  EXPECT_EQ(detail_of(r, "GOV/12345678/links-public/plain").links, R"([{"name":"Home","url":"https://x.example"}])");

  // Whatever was built, its document reads back, strictly too.
  for (const auto& [id, s] : r.services) {
    const std::string text = to_json(s);
    EXPECT_TRUE(strictly_valid_json(text)) << text.substr(0, 400);
    EXPECT_EQ(document_parser{}.parse(text), s) << id;
  }
}

TEST(XroadSource, XLinksThatAreNotJsonAfterConversionAreDropped) {
  // A YAML x-links whose map keys are not strings: JSON keys are strings, so a sequence key has no
  // faithful JSON spelling. And x-links given as a YAML string holding invalid JSON stays a string.
  loopback_transport transport;
  transport.route("http://xroad.dev",
                  one_provider_serving({
                      {"complexKey-v1", "openapi: 3.0.0\ninfo:\n  title: Complex key\n  x-links:\n"
                                        "    ? [a, b]\n    : https://x.example\n"},
                      {"stringLinks-v1", R"({"openapi":"3.0.0","info":{"title":"String links","x-links":"[1, 2"}})"},
                  }));
  xroad_source source(config_for("dev"));
  const auto r = run(source, transport);
  const auto& o = r.outcome("EE-DEV/GOV/12345678/links-public");
  ASSERT_TRUE(o.ok()) << o.failure;
  const auto& complex = detail_of(r, "GOV/12345678/links-public/complexKey");
  EXPECT_TRUE(complex.links.empty() || strictly_valid_json(complex.links)) << complex.links;
  EXPECT_EQ(complex.links, "") << "a key with no JSON spelling is not made up";
  EXPECT_TRUE(contains(warning_about(o, "complexKey-v1"), "x-links")) << warning_about(o, "complexKey-v1");
  EXPECT_EQ(detail_of(r, "GOV/12345678/links-public/stringLinks").links, R"("[1, 2")");
  for (const auto& [id, s] : r.services) EXPECT_TRUE(strictly_valid_json(to_json(s))) << id;
}

// The last line: whatever a service's `links` holds, what to_json writes is valid JSON and reads back
// with document_parser; links that are not a JSON value are left out, valid ones kept as written.
TEST(DocumentJson, ToJsonNeverWritesMalformedLinks) {
  const std::vector<std::string> malformed{"{", "not json", "[1,]", "[1 2]", "\"open", "{}x", "1e999", "[1e400]",
                                           "[18446744073709551616]", "{\"a\":}", "[\"\xff\"]", "]", "{\"a\" 1}",
                                           "nul", std::string("[1]\0", 4), "  ", "[1]]"};
  const std::vector<std::string> valid{"[]", "{}", R"({"a":[1,2,{"b":null}]})", R"("s")", "null", "true", "12", "-0.5e3",
                                       R"([{"name":"Docs","url":"https://d.example"}])"};
  document_parser parser;
  auto with_links = [](const std::string& links) {
    service s;
    s.id = "GOV/1/a-public/x";
    s.title = "X";
    environment_entry e;
    e.environment = "dev";
    service_detail d;
    d.version = "v1";
    d.title = "X";
    d.links = links;
    e.details.push_back(d);
    s.environments.push_back(e);
    return s;
  };
  for (const auto& links : malformed) {
    SCOPED_TRACE(::testing::PrintToString(links));
    const std::string text = to_json(with_links(links));
    EXPECT_TRUE(strictly_valid_json(text)) << text;
    service back;
    ASSERT_NO_THROW(back = parser.parse(text)) << text;
    EXPECT_EQ(back.environments.at(0).details.at(0).links, "") << text;
  }
  for (const auto& links : valid) {
    SCOPED_TRACE(links);
    const std::string text = to_json(with_links(links));
    EXPECT_TRUE(strictly_valid_json(text)) << text;
    service back;
    ASSERT_NO_THROW(back = parser.parse(text)) << text;
    EXPECT_EQ(back.environments.at(0).details.at(0).links, links);
  }
}

// A stored document whose `links` a strict reader refuses (written before the writer checked them):
// document_parser reads it as absent, so the document reads, and writes back, as to_json would write it.
TEST(DocumentJson, ParserReadsLinksThatAreNotJsonAsAbsent) {
  const std::string head = R"({"id":"GOV/1/a-public/x","environments":[{"environment":"dev","details":[{"version":"v1",)"
                           R"("links":)";
  const std::string rest = R"(,"openApiString":"","collected":"c"}]}]})";
  document_parser parser;
  for (const std::string links : {"[1e999]", "[18446744073709551616,-1e400]", R"({"a":1e999})"}) {
    SCOPED_TRACE(links);
    service s;
    ASSERT_NO_THROW(s = parser.parse(head + links + rest));
    EXPECT_EQ(s.environments.at(0).details.at(0).links, "");
    const std::string text = to_json(s);
    EXPECT_TRUE(strictly_valid_json(text)) << text;
    EXPECT_EQ(parser.parse(text), s);
  }
  const service kept = parser.parse(head + R"([{"url":"https://d.example","weight":2}])" + rest);
  EXPECT_EQ(kept.environments.at(0).details.at(0).links, R"([{"url":"https://d.example","weight":2}])");
}

}  // namespace
}  // namespace tributary
