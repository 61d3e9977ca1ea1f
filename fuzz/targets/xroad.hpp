#pragma once
// The X-Road source's parsers of what a security server answers, driven through xroad_source itself
// over fake transports (no sockets):
//   xroad_list_clients   the body of GET /listClients            (list_providers, then collect)
//   xroad_list_methods   the body of GET .../listMethods          (collect)
//   xroad_openapi        the body of GET .../getOpenAPI, YAML or JSON (collect)
// Properties: collecting over a plain transport (waves) and over a streaming one (sliding window, answers
// out of order) gives the same outcomes; every document the source builds survives to_json and
// document_parser unchanged; providers are listed once each and never as client or private subsystems.

#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <tributary/catalogue/document_json.hpp>
#include <tributary/catalogue/source/xroad.hpp>

#include "../harness.hpp"

namespace tributary::fuzz {

namespace xroad_detail {

inline constexpr std::string_view base_url = "http://ss.fuzz";
inline constexpr std::string_view small_spec =
  "openapi: 3.0.0\ninfo:\n  title: Fuzz\n  summary: A service\n  x-category: open\n  x-pricing: [free]\n"
  "  x-links: {docs: 'https://docs.example/a'}\npaths: {}\n";

inline xroad_source make_source() {
  xroad_source_config c;
  c.base_url = std::string(base_url);
  c.client = {"EE-DEV", "GOV", "70000310", "catalogue-client"};
  c.environment = "dev";
  c.member_codes.add("dev", "10421629", "70421629");
  c.collected = [] { return std::string("2026-01-01T00:00:00.000Z"); };
  c.on_note = [](const provider&, std::string_view) {};
  return xroad_source(std::move(c));
}

/// Every provider's outcome, in the order collect reported them.
struct collected {
  std::vector<provider> order;
  std::vector<provider_outcome> outcomes;
};

template <class Transport>
collected collect_with(Transport& transport, std::span<const provider> providers, std::size_t concurrency) {
  xroad_source source = make_source();
  collected out;
  expect_errors("xroad_source::collect", [&] {
    source.collect(transport, providers, concurrency, [&](const provider& p, provider_outcome&& o) {
      out.order.push_back(p);
      out.outcomes.push_back(std::move(o));
    });
  });
  return out;
}

/// The documents a source builds are what the collector stores: they must read back as they were.
inline void check_round_trip(const service& s) {
  const std::string json = to_json(s);
  service back;
  const auto refused = expect_errors("document_parser on a document the X-Road source built",
                                     [&] { back = document_parser{}.parse(json); });
  if (refused) finding("a document the X-Road source built does not parse back: " + std::string(refused->what()) +
                       "\n" + json);
  require(back == s, "a document the X-Road source built reads back different:\n" + json + "\n" + to_json(back));
}

/// Collects `providers` over both kinds of transport and checks the properties above.
inline void collect_and_check(const fake_transport::handler& answer, std::span<const provider> providers) {
  fake_transport waves(answer);
  fake_streaming_transport stream(answer);
  const collected a = collect_with(waves, providers, 2);
  const collected b = collect_with(stream, providers, 2);
  require(a.order.size() == providers.size(), "collect (waves) reported " + std::to_string(a.order.size()) +
                                                  " outcomes for " + std::to_string(providers.size()) + " providers");
  require(b.order.size() == providers.size(), "collect (streaming) reported " + std::to_string(b.order.size()) +
                                                  " outcomes for " + std::to_string(providers.size()) + " providers");
  for (std::size_t i = 0; i < providers.size(); ++i) {
    require(a.order[i] == providers[i] && b.order[i] == providers[i], "outcomes not reported in the order given");
    const provider_outcome& x = a.outcomes[i];
    const provider_outcome& y = b.outcomes[i];
    require(x.failure == y.failure, "waves and streaming disagree on the failure: '" + x.failure + "' vs '" + y.failure + "'");
    require(x.warnings == y.warnings, "waves and streaming disagree on the warnings");
    require(x.records == y.records, "waves and streaming built different documents");
    require(x.ok() || x.records.empty(), "a failed provider has documents");
    for (const service& s : x.records) check_round_trip(s);
  }
}

inline bool is_get(const http_request& r, std::string_view path_part) {
  return r.method == "GET" && r.url.starts_with(base_url) && r.url.find(path_part) != std::string::npos;
}

}  // namespace xroad_detail

/// The body of GET /listClients.
inline void xroad_list_clients(std::string_view input) {
  using namespace xroad_detail;
  xroad_source source = make_source();
  fake_transport transport([&](const http_request& r) {
    require(r.url == std::string(base_url) + "/listClients", "unexpected request " + r.url);
    return answer(200, std::string(input));
  });
  std::vector<provider> providers;
  expect_errors("list_providers", [&] { providers = source.list_providers(transport); });
  std::set<std::string> seen;
  for (const provider& p : providers) {
    require(seen.insert(p.id).second, "provider '" + p.id + "' listed twice");
    const auto slash = p.id.rfind('/');
    const std::string_view subsystem = std::string_view(p.id).substr(slash == std::string::npos ? 0 : slash + 1);
    const auto kind = classify_subsystem(subsystem);
    require(kind != subsystem_kind::client && kind != subsystem_kind::private_provider,
            "client or private subsystem '" + p.id + "' listed as a provider");
  }
  // Then collect what was listed (ids of any shape), each provider's listMethods answering one code.
  if (providers.size() > 8) providers.resize(8);
  collect_and_check(
    [](const http_request& r) {
      if (is_get(r, "/listMethods")) return answer(200, R"({"service":[{"object_type":"SERVICE","service_code":"get-v1"}]})");
      if (is_get(r, "/getOpenAPI")) return answer(200, std::string(small_spec));
      return answer(404, "{}");
    },
    providers);
}

/// The body of GET /r1/{provider}/listMethods; every getOpenAPI answers a small valid document, a 500 or
/// an invalid one, by service code.
inline void xroad_list_methods(std::string_view input) {
  using namespace xroad_detail;
  const std::vector<provider> providers = {{"EE-DEV/COM/10421629/energia-public", "Energia"},
                                           {"EE-DEV/COM/10421629/energia-protected", "Energia"}};
  collect_and_check(
    [&](const http_request& r) {
      if (is_get(r, "/listMethods")) return answer(200, std::string(input));
      if (is_get(r, "/getOpenAPI")) {
        switch (r.url.size() % 3) {
          case 0: return answer(200, std::string(small_spec));
          case 1: return answer(500, R"({"type":"Server.ServerProxy.Failure","message":"boom"})");
          default: return answer(200, "openapi: 3.0.0\ninfo: {description: no title}\n");
        }
      }
      return answer(404, "{}");
    },
    providers);
}

/// The body of GET .../getOpenAPI?serviceCode=..., as YAML or JSON, for two versions of one service.
inline void xroad_openapi(std::string_view input) {
  using namespace xroad_detail;
  const std::vector<provider> providers = {{"EE-DEV/COM/10421629/energia-public", "Energia"}};
  collect_and_check(
    [&](const http_request& r) {
      if (is_get(r, "/listMethods"))
        return answer(200, R"({"service":[{"object_type":"SERVICE","service_code":"meterReadings-v1"},)"
                           R"({"object_type":"SERVICE","service_code":"meterReadings-v2"}]})");
      if (is_get(r, "/getOpenAPI")) return answer(200, std::string(input));
      return answer(404, "{}");
    },
    providers);
}

}  // namespace tributary::fuzz
