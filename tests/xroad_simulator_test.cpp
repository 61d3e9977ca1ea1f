// The X-Road simulator over real HTTP: its server (tributary's http_server) on 127.0.0.1, checked with
// cpp-httplib's client, an implementation independent of ours (metaservices, fault injection,
// stopping while requests hang, a port in use), and the synthetic generator.

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include <httplib.h>
#include <simdjson.h>

#include <tributary/catalogue/source/xroad.hpp>

#include "../examples/xroad/simulator_server.hpp"

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

// From ctest's environment (a path compiled in would key every object on the checkout's location,
// which defeats ccache's base_dir across clones); __FILE__ when run by hand from the source tree.
const fs::path fixtures = (std::getenv("TRIBUTARY_SOURCE_DIR") ? fs::path(std::getenv("TRIBUTARY_SOURCE_DIR"))
                                                               : fs::path(__FILE__).parent_path().parent_path()) /
                          "examples" / "xroad" / "fixtures";
const httplib::Headers client_header{{"X-Road-Client", "EE-DEV/GOV/70000310/kmais-client"}};
constexpr const char* rr_public = "/r1/EE-DEV/GOV/10000562/rr-public";

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

httplib::Client client_for(const xroad_sim::simulator_server& server) {
  httplib::Client c("127.0.0.1", server.port());
  c.set_connection_timeout(2s);
  c.set_read_timeout(5s);
  return c;
}

/// Catalogued providers (SUBSYSTEM, not client, not private) in a listClients body.
std::vector<std::string> providers_in(const std::string& body) {
  simdjson::dom::parser parser;
  std::vector<std::string> out;
  for (simdjson::dom::element m : parser.parse(body)["member"].get_array()) {
    const auto id = m["id"];
    if (std::string_view(id["object_type"].get_string()) != "SUBSYSTEM") continue;
    const std::string sub(std::string_view(id["subsystem_code"].get_string()));
    if (sub.ends_with("client") || sub.ends_with("private")) continue;
    out.push_back(std::string(std::string_view(id["xroad_instance"].get_string())) + '/' +
                  std::string(std::string_view(id["member_class"].get_string())) + '/' +
                  std::string(std::string_view(id["member_code"].get_string())) + '/' + sub);
  }
  return out;
}

std::size_t services_in(const std::string& body) {
  simdjson::dom::parser parser;
  return simdjson::dom::array(parser.parse(body)["service"].get_array()).size();
}

TEST(XroadSimulator, ServesListClientsOverHttp) {
  xroad_sim::simulator_server server(xroad_sim::simulator::from_fixtures(fixtures / "dev"));
  const int port = server.start();
  ASSERT_GT(port, 0);
  auto c = client_for(server);
  auto res = c.Get("/listClients", {{"Accept", "application/json"}});
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
  EXPECT_EQ(res->body, read_file(fixtures / "dev" / "clients.json"));
  const auto providers = providers_in(res->body);
  EXPECT_EQ(providers.size(), 19u);
  EXPECT_NE(std::find(providers.begin(), providers.end(), "EE-DEV/GOV/10000562/rr-public"), providers.end());
}

TEST(XroadSimulator, ServesListMethodsAndRequiresTheClientHeader) {
  xroad_sim::simulator_server server(xroad_sim::simulator::from_fixtures(fixtures / "dev"));
  server.start();
  auto c = client_for(server);
  auto res = c.Get(std::string(rr_public) + "/listMethods", client_header);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(services_in(res->body), 10u);  // personHistory is not in dev
  EXPECT_NE(res->body.find("\"getPerson-v10\""), std::string::npos);

  res = c.Get(std::string(rr_public) + "/listMethods");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  EXPECT_NE(res->body.find("X-Road-Client"), std::string::npos) << res->body;

  res = c.Get("/r1/EE-DEV/GOV/99999999/nobody-public/listMethods", client_header);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
}

TEST(XroadSimulator, ServesYamlAndJsonOpenApiDocumentsAndA500) {
  xroad_sim::simulator_server server(xroad_sim::simulator::from_fixtures(fixtures / "dev"));
  server.start();
  auto c = client_for(server);
  const fs::path specs = fixtures / "dev/providers/EE-DEV/GOV/10000562/rr-public/specs";

  auto res = c.Get(std::string(rr_public) + "/getOpenAPI?serviceCode=getPerson-v2", client_header);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"), "text/yaml");
  EXPECT_EQ(res->body, read_file(specs / "getPerson-v2.yaml"));

  res = c.Get(std::string(rr_public) + "/getOpenAPI?serviceCode=searchPersons-v1.2", client_header);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
  EXPECT_EQ(res->body, read_file(specs / "searchPersons-v1.2.json"));

  res = c.Get(std::string(rr_public) + "/getOpenAPI?serviceCode=deathRecords-v1", client_header);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 500);
  EXPECT_NE(res->body.find("Server.ServerProxy.InternalError"), std::string::npos) << res->body;

  res = c.Get(std::string(rr_public) + "/getOpenAPI", client_header);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400) << "serviceCode is required";
}

TEST(XroadSimulator, InjectsMeasurableLatency) {
  xroad_sim::fault_options faults;
  faults.latency = 150ms;
  xroad_sim::simulator_server slow(xroad_sim::simulator::from_fixtures(fixtures / "dev"), faults);
  slow.start();
  auto c = client_for(slow);
  const auto t0 = clock_type::now();
  auto res = c.Get("/listClients");
  const auto elapsed = clock_type::now() - t0;
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_GE(elapsed, 150ms);
  EXPECT_LT(elapsed, 5s);  // bounded: the latency, not a hang
}

TEST(XroadSimulator, InjectsErrorsAndMalformedBodiesIntoProviderMetaservices) {
  xroad_sim::fault_options errors;
  errors.error_rate = 1.0;
  xroad_sim::simulator_server failing(xroad_sim::simulator::from_fixtures(fixtures / "dev"), errors);
  failing.start();
  auto c = client_for(failing);
  auto res = c.Get("/listClients");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << "listClients is never failed on purpose";
  res = c.Get(std::string(rr_public) + "/listMethods", client_header);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 500);

  xroad_sim::fault_options garbled;
  garbled.malformed_rate = 1.0;
  xroad_sim::simulator_server malformed(xroad_sim::simulator::from_fixtures(fixtures / "dev"), garbled);
  malformed.start();
  auto m = client_for(malformed);
  res = m.Get(std::string(rr_public) + "/listMethods", client_header);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  simdjson::dom::parser parser;
  EXPECT_TRUE(parser.parse(res->body).error()) << "the body must not be valid JSON: " << res->body;
}

TEST(XroadSimulator, FaultDecisionsAreDeterministicFromTheSeed) {
  xroad_sim::fault_options o;
  o.error_rate = 0.3;
  o.hang_rate = 0.1;
  o.malformed_rate = 0.2;
  o.seed = 42;
  auto decisions = [&](xroad_sim::fault_options opts) {
    xroad_sim::fault_injector f(opts);
    std::vector<xroad_sim::fault> out;
    for (int i = 0; i < 200; ++i) {
      tributary::http_request r;
      r.url = "http://x/r1/EE/GOV/" + std::to_string(i % 50) + "/s-public/listMethods";
      out.push_back(f.decide(r));
    }
    return out;
  };
  const auto a = decisions(o), b = decisions(o);
  EXPECT_EQ(a, b);
  std::map<xroad_sim::fault, int> counts;
  for (auto f : a) ++counts[f];
  EXPECT_GT(counts[xroad_sim::fault::error], 30);
  EXPECT_GT(counts[xroad_sim::fault::hang], 5);
  EXPECT_GT(counts[xroad_sim::fault::malformed], 15);
  EXPECT_GT(counts[xroad_sim::fault::none], 40);
  o.seed = 43;
  EXPECT_NE(decisions(o), a);
}

TEST(XroadSimulator, HangingRequestsTimeOutAndStopReleasesThem) {
  xroad_sim::fault_options faults;
  faults.hang_rate = 1.0;
  auto server = std::make_unique<xroad_sim::simulator_server>(xroad_sim::simulator::from_fixtures(fixtures / "dev"), faults);
  server->start();
  httplib::Client c("127.0.0.1", server->port());
  c.set_read_timeout(200ms);
  const auto t0 = clock_type::now();
  auto res = c.Get(std::string(rr_public) + "/listMethods", client_header);
  EXPECT_FALSE(res) << "a hanging request never answers";
  EXPECT_EQ(res.error(), httplib::Error::Read);
  EXPECT_LT(clock_type::now() - t0, 10s);  // the 200 ms read timeout, not the hour-long hang

  // Another request is left hanging while the server stops: stop() must not wait it out.
  std::thread hanging([port = server->port()] {
    httplib::Client h("127.0.0.1", port);
    h.set_read_timeout(10s);
    (void)h.Get(std::string(rr_public) + "/listMethods", client_header);
  });
  while (server->requests() < 2) std::this_thread::sleep_for(1ms);
  const auto s0 = clock_type::now();
  server->stop();
  EXPECT_LT(clock_type::now() - s0, 5s);  // released, not waited out (a hang lasts an hour)
  hanging.join();
}

// Issue 12, item 6: a second simulator on a port in use must not share it (cpp-httplib's default socket
// options set SO_REUSEPORT, and the kernel then spreads connections over both: a collector would
// collect two environments mixed together). It fails, naming the port; port 0 still picks a free one.
TEST(XroadSimulator, RefusesAPortAlreadyInUse) {
  xroad_sim::simulator_server first(xroad_sim::simulator::from_fixtures(fixtures / "dev"));
  const int port = first.start();
  ASSERT_GT(port, 0);
  xroad_sim::simulator_server second(xroad_sim::simulator::from_fixtures(fixtures / "prod"));
  try {
    (void)second.start(port);
    FAIL() << "a second simulator started on 127.0.0.1:" << port << ", already in use";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("127.0.0.1:" + std::to_string(port) + " is already in use"), std::string::npos)
        << e.what();
  }
  // The first one still serves alone: every answer is dev's.
  auto c = client_for(first);
  for (int i = 0; i < 8; ++i) {
    c.set_keep_alive(false);
    auto res = c.Get("/listClients", {{"Accept", "application/json"}});
    ASSERT_TRUE(res) << httplib::to_string(res.error());
    EXPECT_EQ(res->body, read_file(fixtures / "dev" / "clients.json"));
  }
  // Port 0 still picks a free port, and so does a later simulator on the port once it is free.
  xroad_sim::simulator_server third(xroad_sim::simulator::from_fixtures(fixtures / "staging"));
  const int other = third.start(0);
  EXPECT_GT(other, 0);
  EXPECT_NE(other, port);
  first.stop();
  xroad_sim::simulator_server again(xroad_sim::simulator::from_fixtures(fixtures / "dev"));
  EXPECT_EQ(again.start(port), port) << "a port freed by a stopped simulator can be bound again at once";
}

TEST(XroadSimulator, SyntheticInstanceHasTheRequestedCounts) {
  // In-process at full size: 1000 providers, 10 000 service codes.
  xroad_sim::synthetic_options big;
  big.providers = 1000;
  big.services = 10000;
  big.seed = 7;
  const auto sim = xroad_sim::simulator::synthetic(big);
  tributary::http_request req;
  req.url = "http://sim/listClients";
  const auto clients = sim(req);
  ASSERT_EQ(clients.status, 200);
  const auto providers = providers_in(clients.body);
  EXPECT_EQ(providers.size(), 1000u);
  EXPECT_EQ(std::set<std::string>(providers.begin(), providers.end()).size(), 1000u);
  std::size_t services = 0;
  req.headers = {{"X-Road-Client", "EE-SYN/GOV/1/x-client"}};
  for (const auto& p : providers) {
    req.url = "http://sim/r1/" + p + "/listMethods";
    const auto res = sim(req);
    ASSERT_EQ(res.status, 200) << p;
    services += services_in(res.body);
  }
  EXPECT_EQ(services, 10000u);
  // Deterministic from the seed.
  EXPECT_EQ(xroad_sim::simulator::synthetic(big)(tributary::http_request{"GET", "http://sim/listClients", {}, {}}).body,
            clients.body);
  big.seed = 8;
  EXPECT_NE(xroad_sim::simulator::synthetic(big)(tributary::http_request{"GET", "http://sim/listClients", {}, {}}).body,
            clients.body);
}

TEST(XroadSimulator, SyntheticInstanceOverHttp) {
  xroad_sim::synthetic_options o;
  o.providers = 40;
  o.services = 333;
  o.seed = 3;
  xroad_sim::simulator_server server(xroad_sim::simulator::synthetic(o));
  server.start();
  auto c = client_for(server);
  auto res = c.Get("/listClients");
  ASSERT_TRUE(res);
  const auto providers = providers_in(res->body);
  ASSERT_EQ(providers.size(), 40u);
  std::size_t services = 0, yaml = 0, json = 0;
  for (const auto& p : providers) {
    res = c.Get("/r1/" + p + "/listMethods", {{"X-Road-Client", "EE-SYN/GOV/1/x-client"}});
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200);
    services += services_in(res->body);
    simdjson::dom::parser parser;
    for (simdjson::dom::element s : parser.parse(res->body)["service"].get_array()) {
      const std::string code(std::string_view(s["service_code"].get_string()));
      auto spec = c.Get("/r1/" + p + "/getOpenAPI?serviceCode=" + code, {{"X-Road-Client", "EE-SYN/GOV/1/x-client"}});
      ASSERT_TRUE(spec);
      ASSERT_EQ(spec->status, 200) << code;
      (spec->get_header_value("Content-Type") == "text/yaml" ? yaml : json) += 1;
      EXPECT_EQ(tributary::detail::read_openapi(spec->body).what, tributary::detail::openapi_reading::verdict::keep)
          << spec->body;
      break;  // one spec per provider is enough over HTTP
    }
  }
  EXPECT_EQ(services, 333u);
  EXPECT_GT(yaml, 0u);
  EXPECT_GT(json, 0u);
}

}  // namespace
