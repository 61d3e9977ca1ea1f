// elasticsearch_index against fake_elasticsearch (tests/support): the requests it builds, the responses
// it parses (documented bodies of Elasticsearch 7.10, 8.x and OpenSearch 2.x), and the backend
// conformance suite for all three flavours.

#include <gtest/gtest.h>
#include <httplib.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <tributary/all.hpp>
#include <tributary/catalogue/elasticsearch_mapping.hpp>
#include <tributary/index/elasticsearch.hpp>
#include <tributary/transport/curl.hpp>
#include <tributary/transport/loopback.hpp>

#include "support/common.hpp"
#include "support/backend_conformance.hpp"
#include "support/catalogue.hpp"
#include "support/fake_elasticsearch.hpp"
#include "support/tsan_httplib.hpp"

namespace tributary::testing {

using es_backend = elasticsearch_index<loopback_transport>;
static_assert(index_backend<es_backend>, "elasticsearch_index must model index_backend");
static_assert(exists_many_store<es_backend> && insert_if_absent_store<es_backend> && document_delete_store<es_backend> &&
              padded_text_store<es_backend>);
static_assert(!change_cursor_store<es_backend>, "Elasticsearch has no order of writes a reader can follow");
static_assert(!moving_write_store<es_backend>);

template <es_flavour Flavour>
struct fake_es_factory {
  using backend = es_backend;
  fake_elasticsearch server_{Flavour};
  loopback_transport transport_;  // after server_: destroyed first, it holds a handler into server_
  fake_es_factory() {
    server_.record(false);
    server_.attach(transport_);
  }
  std::shared_ptr<es_backend> open() {
    elasticsearch_options o;
    o.url = fake_elasticsearch::origin;
    o.sleep = [](std::chrono::milliseconds) {};
    return std::make_shared<es_backend>(transport_, std::move(o));
  }
};

struct flavour_names {
  template <class T>
  static std::string GetName(int) {
    if constexpr (std::is_same_v<T, fake_es_factory<es_flavour::elasticsearch_7>>) return "Elasticsearch7_10";
    else if constexpr (std::is_same_v<T, fake_es_factory<es_flavour::elasticsearch_8>>) return "Elasticsearch8";
    else return "OpenSearch2";
  }
};

using fake_es_flavours = ::testing::Types<fake_es_factory<es_flavour::elasticsearch_7>,
                                         fake_es_factory<es_flavour::elasticsearch_8>,
                                         fake_es_factory<es_flavour::opensearch_2>>;
TRIBUTARY_STORE_CONFORMANCE(Fake, fake_es_flavours, flavour_names);

namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

/// One fake server, a transport routed to it, and the waits the backend asked for.
struct rig {
  explicit rig(es_flavour flavour = es_flavour::elasticsearch_8, std::string version = {}) : server(flavour, std::move(version)) {
    server.attach(transport);
  }
  elasticsearch_options options() {
    elasticsearch_options o;
    o.url = fake_elasticsearch::origin;
    o.sleep = [this](std::chrono::milliseconds d) { sleeps.push_back(d); };
    return o;
  }
  es_backend backend() { return es_backend(transport, options()); }
  es_backend backend(elasticsearch_options o) { return es_backend(transport, std::move(o)); }
  /// Requests recorded since the last clear, as "METHOD /raw/path".
  std::vector<std::string> lines() const {
    std::vector<std::string> out;
    for (const auto& r : server.requests()) out.push_back(r.method + " " + r.raw_path);
    return out;
  }
  std::vector<recorded_request> matching(const std::string& method, const std::string& path_part) const {
    std::vector<recorded_request> out;
    for (auto& r : server.requests())
      if (r.method == method && r.raw_path.find(path_part) != std::string::npos) out.push_back(r);
    return out;
  }

  fake_elasticsearch server;
  loopback_transport transport;
  std::vector<std::chrono::milliseconds> sleeps;
};

std::vector<stored_document> docs(std::initializer_list<std::pair<const char*, const char*>> list) {
  std::vector<stored_document> out;
  for (auto& [id, body] : list) out.push_back({id, body});
  return out;
}

/// A transport whose answers are scripted per "METHOD /path" (query excluded); records what it got.
struct scripted {
  std::vector<http_request> seen;
  std::function<http_response(const http_request&)> answer;
  loopback_transport transport;
  scripted() {
    transport.route(fake_elasticsearch::origin, [this](const http_request& r) {
      seen.push_back(r);
      return answer(r);
    });
  }
};

http_response reply(int status, std::string body) {
  http_response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

std::string path_of(const http_request& r) {
  std::string p = r.url.substr(std::string(fake_elasticsearch::origin).size());
  return r.method + " " + p.substr(0, p.find('?'));
}

// ---- options, names, authentication -----------------------------------------------------------------

TEST(ElasticsearchOptions, ValidateNamesTheProblem) {
  loopback_transport t;
  auto bad = [&](auto change) {
    elasticsearch_options o;
    o.url = "http://localhost:9200";
    change(o);
    return thrown_by([&] { es_backend b(t, o); });
  };
  EXPECT_TRUE(contains(bad([](auto& o) { o.url = "localhost:9200"; }).what(), "http://"));
  EXPECT_TRUE(contains(bad([](auto& o) { o.bulk_max_bytes = 10; }).what(), "bulk_max_bytes"));
  EXPECT_TRUE(contains(bad([](auto& o) { o.bulk_max_attempts = 0; }).what(), "bulk_max_attempts"));
  EXPECT_TRUE(contains(bad([](auto& o) { o.max_page = 10'000; }).what(), "max_page"));
  EXPECT_TRUE(contains(bad([](auto& o) { o.id_field = "_id"; }).what(), "id_field"));
  EXPECT_TRUE(contains(bad([](auto& o) { o.auth = elasticsearch_auth::bearer(""); }).what(), "secret"));
  EXPECT_EQ(bad([](auto& o) { o.backoff_cap = 1ms; }).code(), errc::invalid_config);
}

TEST(ElasticsearchOptions, FromUrlTakesBasicCredentialsFromUserInfo) {
  auto o = elasticsearch_options::from_url("https://collector:p%40ss%3Aw@search.example:9243/es/");
  EXPECT_EQ(o.url, "https://search.example:9243/es");
  EXPECT_EQ(o.auth.scheme, elasticsearch_auth::kind::basic);
  EXPECT_EQ(o.auth.user, "collector");
  EXPECT_EQ(o.auth.secret, "p@ss:w");
  EXPECT_EQ(elasticsearch_options::from_url("http://localhost:9200").auth.scheme, elasticsearch_auth::kind::none);
  for (const char* url : {"postgres://x", "http://", "http://u:p@", "https://h:9200?x=1", "http://u:%zz@h"})
    EXPECT_EQ(thrown_by([&] { (void)elasticsearch_options::from_url(url); }).code(), errc::invalid_config) << url;
}

TEST(ElasticsearchOptions, ErrorsNeverQuoteTheCredentialsOfTheUrl) {
  for (const char* url : {"http://elastic:essecret@", "ftp://elastic:essecret@search.example:9200",
                          "https://elastic:essecret@search.example:9200?token=qsecret",
                          "https://elastic:essecret@h:9200#access_token=qsecret"}) {
    const auto e = thrown_by([&] { (void)elasticsearch_options::from_url(url); });
    EXPECT_EQ(e.code(), errc::invalid_config) << url;
    EXPECT_FALSE(contains(e.what(), "essecret")) << e.what();
    EXPECT_FALSE(contains(e.what(), "qsecret")) << e.what();
  }
  EXPECT_TRUE(contains(thrown_by([] { (void)elasticsearch_options::from_url("ftp://elastic:essecret@h"); }).what(),
                       "ftp://elastic:***@h"));
  // The URL set directly, credentials and all: validation names it redacted.
  loopback_transport t;
  elasticsearch_options o;
  o.url = "http://elastic:essecret@localhost:9200/?api_key=qsecret";
  const auto e = thrown_by([&] { es_backend b(t, o); });
  EXPECT_EQ(e.code(), errc::invalid_config);
  EXPECT_FALSE(contains(e.what(), "essecret")) << e.what();
  EXPECT_FALSE(contains(e.what(), "qsecret")) << e.what();
  EXPECT_TRUE(contains(e.what(), "http://elastic:***@localhost:9200/?api_key=***")) << e.what();
}

TEST(ElasticsearchErrors, TransportFailuresNeverQuoteTheCredentialsOfTheUrl) {
  // curl_transport's error text quotes the request's URL; with credentials in elasticsearch_options::url
  // (curl then sends them as basic authentication) that URL carries the password.
  const std::string origin = "http://elastic:essecret@es.test:9200";
  loopback_transport t;
  t.route(origin, [](const http_request& req) {
    http_response r;
    r.error = req.method + " " + req.url + ": Couldn't connect to server (3 attempts)";
    return r;
  });
  elasticsearch_options o;
  o.url = origin;
  o.sleep = [](std::chrono::milliseconds) {};
  es_backend b(t, o);
  const auto e = thrown_by([&] { (void)b.list_indices(""); });
  EXPECT_EQ(e.code(), errc::store_unavailable);
  EXPECT_FALSE(contains(e.what(), "essecret")) << e.what();
  EXPECT_TRUE(contains(e.what(), "http://elastic:***@es.test:9200/")) << e.what();
  EXPECT_TRUE(contains(e.what(), "Couldn't connect")) << e.what();
}

// ---- one owner for retries -------------------------------------------------------------------------

/// The fake cluster over real HTTP on 127.0.0.1, so that curl_transport (and its retries) is in the path.
class fake_elasticsearch_over_http {
 public:
  explicit fake_elasticsearch_over_http(fake_elasticsearch& fake) {
    const auto bridge = [&fake](const httplib::Request& req, httplib::Response& res) {
      http_request r;
      r.method = req.method;
      r.url = std::string(fake_elasticsearch::origin) + req.target;  // the fake reads the path after its origin
      r.body = req.body;
      for (const auto& [k, v] : req.headers) r.headers.emplace_back(k, v);
      const auto answer = fake.handle(r);
      res.status = answer.status;
      std::string content_type = "application/json";
      for (const auto& [k, v] : answer.headers)
        if (k == "Content-Type") content_type = v;
        else res.set_header(k, v);
      res.set_content(answer.body, content_type);
    };
    // Handlers by method (a pre-routing handler would run before the body is read).
    server_.Get(".*", bridge).Post(".*", bridge).Put(".*", bridge).Delete(".*", bridge);
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });  // bound and listening already
  }
  ~fake_elasticsearch_over_http() {
    server_.stop();
    thread_.join();
  }
  [[nodiscard]] std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
};

TEST(RetryOwnership, OneBatchUnderSustained429sCausesBulkMaxAttemptsRequests) {
  // The documented bound: the backend sends a bulk chunk bulk_max_attempts times; the transport adds no
  // retries of the 429s (retry_on_status = false) and the collector none (bulk_retries = 0). Before
  // one owner, curl (3 attempts) x the backend (6) x the collector (1 + 3) made 72 requests.
  fake_elasticsearch fake;
  fake_elasticsearch_over_http server(fake);
  curl_library curl;
  curl_options transport_options;
  transport_options.backoff_base = std::chrono::milliseconds(1);
  transport_options.backoff_cap = std::chrono::milliseconds(1);
  curl_transport transport(curl, transport_options);
  elasticsearch_options store_options;
  store_options.url = server.url();
  store_options.sleep = [](std::chrono::milliseconds) {};
  elasticsearch_index<curl_transport> store(transport, store_options);
  fake.fail_requests(429, 1000, "_bulk");
  fake.record(true);

  collector_config config;
  config.environment = "dev";
  config.bulk_batch = 1000;  // the whole collection is one batch
  auto source = testing::make_source("dev", 2, 3);
  manual_clock clock;
  basic_collector<curl_transport, elasticsearch_index<curl_transport>> collector(config, transport, store);
  const auto report = collector.run(source, clock);
  EXPECT_FALSE(report.ok);
  EXPECT_TRUE(contains(report.failure, "gave up after 6 attempts")) << report.failure;
  std::size_t bulk_requests = 0;
  for (const auto& r : fake.requests()) bulk_requests += contains(r.path, "/_bulk");
  EXPECT_EQ(bulk_requests, store_options.bulk_max_attempts * (1 + config.bulk_retries));
  EXPECT_EQ(bulk_requests, 6u);
}

TEST(ElasticsearchAuth, HeadersForBasicApiKeyAndBearer) {
  EXPECT_EQ(elasticsearch_auth::basic("user", "pass").header_value(), "Basic dXNlcjpwYXNz");
  EXPECT_EQ(elasticsearch_auth::api_key("id", "key").header_value(), "ApiKey aWQ6a2V5");
  EXPECT_EQ(elasticsearch_auth::api_key("VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw==").header_value(),
            "ApiKey VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw==");
  EXPECT_EQ(elasticsearch_auth::bearer("tok.en").header_value(), "Bearer tok.en");
  EXPECT_EQ(elasticsearch_auth{}.header_value(), "");
  // base64 padding of every remainder
  EXPECT_EQ(elasticsearch_auth::basic("a", "").header_value(), "Basic YTo=");
  EXPECT_EQ(elasticsearch_auth::basic("ab", "").header_value(), "Basic YWI6");
  EXPECT_EQ(elasticsearch_auth::basic("abc", "").header_value(), "Basic YWJjOg==");
}

TEST(ElasticsearchAuth, EveryRequestCarriesTheHeaderAndA401IsNamed) {
  for (auto auth : {elasticsearch_auth::basic("elastic", "changeme"), elasticsearch_auth::api_key("id", "key"),
                    elasticsearch_auth::bearer("token")}) {
    rig r;
    r.server.require_authorization(auth.header_value());
    auto o = r.options();
    o.auth = auth;
    o.headers.emplace_back("X-Opaque-Id", "tributary-test");
    auto b = r.backend(o);
    b.create_index("docs");
    ASSERT_TRUE(b.bulk_write("docs", docs({{"a", "{}"}})).ok());
    EXPECT_EQ(b.scan("docs", "", 10).documents.size(), 1u);
    for (const auto& req : r.server.requests()) {
      EXPECT_EQ(req.header("Authorization"), auth.header_value()) << req.method << " " << req.raw_path;
      EXPECT_EQ(req.header("X-Opaque-Id"), "tributary-test");
      EXPECT_EQ(req.header("Accept"), "application/json");
    }
    auto wrong = r.options();
    wrong.auth = elasticsearch_auth::basic("elastic", "wrong");
    auto e = thrown_by([&] { r.backend(wrong).create_index("other"); });
    EXPECT_EQ(e.code(), errc::store_unavailable);
    EXPECT_TRUE(contains(e.what(), "HTTP 401")) << e.what();
    EXPECT_TRUE(contains(e.what(), "authentication failed")) << e.what();
    EXPECT_TRUE(contains(e.what(), "security_exception")) << e.what();
  }
}

TEST(ElasticsearchIndex, UnreachableServerIsStoreUnavailable) {
  loopback_transport nothing;  // no route: the transport reports an error
  elasticsearch_options o;
  o.url = "http://nowhere.test:9200";
  es_backend b(nothing, o);
  auto e = thrown_by([&] { (void)b.list_indices(""); });
  EXPECT_EQ(e.code(), errc::store_unavailable);
  EXPECT_TRUE(contains(e.what(), "GET /_cat/indices")) << e.what();
}

// ---- product detection ----------------------------------------------------------------------------

TEST(ElasticsearchServer, ParsesRootOfBothProducts) {
  auto es = search_server::parse(
    R"({"name":"n","cluster_name":"c","version":{"number":"8.11.1","build_flavor":"default","lucene_version":"9.8.0"},"tagline":"You Know, for Search"})");
  EXPECT_EQ(es.engine, search_engine::elasticsearch);
  EXPECT_EQ(es.major, 8);
  EXPECT_EQ(es.minor, 11);
  EXPECT_EQ(es.patch, 1);
  EXPECT_TRUE(es.has_point_in_time());
  EXPECT_TRUE(es.has_must_exist());
  auto os = search_server::parse(
    R"({"name":"n","version":{"distribution":"opensearch","number":"2.3.0","minimum_wire_compatibility_version":"7.10.0"},"tagline":"The OpenSearch Project: https://opensearch.org/"})");
  EXPECT_EQ(os.engine, search_engine::opensearch);
  EXPECT_FALSE(os.has_point_in_time());
  EXPECT_FALSE(os.has_must_exist());
  EXPECT_TRUE(search_server::parse(R"({"version":{"distribution":"opensearch","number":"2.4.0"}})").has_point_in_time());
  EXPECT_TRUE(search_server::parse(R"({"version":{"distribution":"opensearch","number":"2.12.0"}})").has_must_exist());
  EXPECT_FALSE(search_server::parse(R"({"version":{"number":"7.10.2"}})").has_must_exist());
  EXPECT_TRUE(search_server::parse(R"({"version":{"number":"7.10.2"}})").has_point_in_time());
  EXPECT_EQ(thrown_by([] { (void)search_server::parse("<html>proxy error</html>"); }).code(), errc::store_unavailable);
}

TEST(ElasticsearchServer, AskedOnceAndOldVersionsRefused) {
  rig r(es_flavour::elasticsearch_7);
  auto b = r.backend();
  EXPECT_EQ(b.server().number, "7.10.2");
  EXPECT_EQ(b.server().engine, search_engine::elasticsearch);
  EXPECT_EQ(r.lines(), std::vector<std::string>{"GET /"});  // asked once, then kept

  rig old(es_flavour::elasticsearch_7, "6.8.23");
  auto e = thrown_by([&] { (void)old.backend().server(); });
  EXPECT_EQ(e.code(), errc::store_unavailable);
  EXPECT_TRUE(contains(e.what(), "6.8.23")) << e.what();

  rig configured(es_flavour::opensearch_2);
  auto o = configured.options();
  o.server = search_server{search_engine::opensearch, 2, 11, 0, "2.11.0"};
  EXPECT_EQ(configured.backend(o).server().engine, search_engine::opensearch);
  EXPECT_TRUE(configured.server.requests().empty());  // no GET / when the options say it
}

// ---- create, exists, list, delete -------------------------------------------------------------------

TEST(ElasticsearchIndex, CreateSendsTheSettingsAndByDefaultMapsOnlyTheIdField) {
  rig r;
  auto o = r.options();
  o.number_of_shards = 1;
  o.number_of_replicas = 0;
  auto b = r.backend(o);
  b.create_index("apicatalogue-dev20210219_121308620");
  const auto puts = r.matching("PUT", "/");
  ASSERT_EQ(puts.size(), 1u);
  EXPECT_EQ(puts[0].raw_path, "/apicatalogue-dev20210219_121308620");
  EXPECT_FALSE(puts[0].idempotent);  // a repeated create would answer already_exists
  EXPECT_EQ(puts[0].header("Content-Type"), "application/json");
  const auto body = json::parse(puts[0].body);
  EXPECT_EQ(body["settings"]["index"]["number_of_shards"], 1);
  EXPECT_EQ(body["settings"]["index"]["number_of_replicas"], 0);
  // The engine knows no document shape: the id field, which scans sort on, and nothing else.
  EXPECT_EQ(body["mappings"], json::parse(R"({"properties":{"tributary_id":{"type":"keyword"}}})"));
  EXPECT_EQ(r.server.create_body("apicatalogue-dev20210219_121308620"), puts[0].body);

  auto renamed = r.options();
  renamed.id_field = "doc_id";
  r.backend(renamed).create_index("renamed");
  EXPECT_EQ(json::parse(*r.server.create_body("renamed")),
            json::parse(R"({"mappings":{"properties":{"doc_id":{"type":"keyword"}}}})"));

  auto custom = r.options();
  custom.create_body = R"({"mappings":{"properties":{"tributary_id":{"type":"keyword"}}}})";
  r.backend(custom).create_index("custom");
  EXPECT_EQ(r.server.create_body("custom"), custom.create_body);
}

TEST(ElasticsearchIndex, CreateSendsTheMappingOfTheOptions) {
  rig r;
  auto o = r.options();
  o.mappings = catalogue_elasticsearch_mapping();
  r.backend(o).create_index("catalogue");
  const auto body = json::parse(*r.server.create_body("catalogue"));
  EXPECT_EQ(body["mappings"], json::parse(o.mappings));
  EXPECT_FALSE(body.contains("settings"));
}

TEST(ElasticsearchOptions, MappingsMustBeAnObjectMappingTheIdFieldAsAKeyword) {
  loopback_transport t;
  auto refused = [&](std::string mappings, std::string id_field = "tributary_id") {
    elasticsearch_options o;
    o.url = "http://localhost:9200";
    o.id_field = std::move(id_field);
    o.mappings = std::move(mappings);
    return thrown_by([&] { es_backend b(t, o); });
  };
  EXPECT_TRUE(contains(refused("{").what(), "not valid JSON"));
  EXPECT_TRUE(contains(refused("[]").what(), "JSON object"));
  EXPECT_TRUE(contains(refused(R"({"properties":{}})").what(), "tributary_id"));
  EXPECT_TRUE(contains(refused(R"({"properties":{"tributary_id":{"type":"text"}}})").what(), "keyword"));
  EXPECT_EQ(refused(catalogue_elasticsearch_mapping(), "doc_id").code(), errc::invalid_config);
  elasticsearch_options accepted;
  accepted.url = "http://localhost:9200";
  accepted.id_field = "doc_id";
  accepted.mappings = catalogue_elasticsearch_mapping("doc_id");
  EXPECT_NO_THROW(es_backend(t, accepted));
}

// The catalogue's mapping (include/tributary/catalogue/elasticsearch_mapping.hpp), which the executables
// pass when they open an Elasticsearch store.
TEST(CatalogueElasticsearchMapping, MapsTheCatalogueDocument) {
  const auto m = json::parse(catalogue_elasticsearch_mapping());
  EXPECT_EQ(m["dynamic"], false);
  const auto& p = m["properties"];
  EXPECT_EQ(p["tributary_id"]["type"], "keyword");
  EXPECT_EQ(p["id"]["type"], "keyword");
  for (const char* f : {"type", "pricing", "data", "access"}) EXPECT_EQ(p[f]["type"], "keyword") << f;
  for (const char* f : {"title", "summary", "description"}) EXPECT_EQ(p[f]["type"], "text") << f;
  EXPECT_EQ(p["environments"]["type"], "nested");
  const auto& e = p["environments"]["properties"];
  EXPECT_EQ(e["environment"]["type"], "keyword");
  EXPECT_EQ(e["stale"]["type"], "boolean");
  const auto& d = e["details"]["properties"];
  EXPECT_EQ(e["details"]["type"], "nested");
  EXPECT_EQ(d["openApiString"]["index"], false);
  EXPECT_EQ(d["links"]["enabled"], false);
  EXPECT_EQ(d["version"]["type"], "keyword");
  EXPECT_EQ(d["xroadIdentifier"]["properties"]["memberCode"]["type"], "keyword");
  EXPECT_EQ(json::parse(catalogue_elasticsearch_mapping("doc_id"))["properties"]["doc_id"]["type"], "keyword");
}

TEST(ElasticsearchIndex, CreateMapsBothRefusalsToAlreadyExists) {
  scripted s;
  s.answer = [](const http_request&) {
    return reply(400, R"({"error":{"root_cause":[{"type":"resource_already_exists_exception","reason":"index [docs/kdGWZcTaQ0yT4x8p9T6Z4A] already exists","index_uuid":"kdGWZcTaQ0yT4x8p9T6Z4A","index":"docs"}],"type":"resource_already_exists_exception","reason":"index [docs/kdGWZcTaQ0yT4x8p9T6Z4A] already exists","index_uuid":"kdGWZcTaQ0yT4x8p9T6Z4A","index":"docs"},"status":400})");
  };
  elasticsearch_options o;
  o.url = fake_elasticsearch::origin;
  es_backend b(s.transport, o);
  auto e = thrown_by([&] { b.create_index("docs"); });
  EXPECT_EQ(e.code(), errc::already_exists);
  EXPECT_TRUE(contains(e.what(), "resource_already_exists_exception")) << e.what();

  s.answer = [](const http_request&) {
    return reply(400, R"({"error":{"root_cause":[{"type":"invalid_index_name_exception","reason":"Invalid index name [live], already exists as alias","index_uuid":"_na_","index":"live"}],"type":"invalid_index_name_exception","reason":"Invalid index name [live], already exists as alias","index_uuid":"_na_","index":"live"},"status":400})");
  };
  EXPECT_EQ(thrown_by([&] { b.create_index("live"); }).code(), errc::already_exists);

  s.answer = [](const http_request&) {
    return reply(400, R"({"error":{"type":"mapper_parsing_exception","reason":"Failed to parse mapping"},"status":400})");
  };
  auto other = thrown_by([&] { b.create_index("bad"); });
  EXPECT_EQ(other.code(), errc::store_unavailable);
  EXPECT_TRUE(contains(other.what(), "Failed to parse mapping")) << other.what();
  EXPECT_EQ(s.seen.size(), 3u);
}

TEST(ElasticsearchIndex, InvalidNamesNeverReachTheServer) {
  rig r;
  auto b = r.backend();
  const std::vector<alias_action> bad_alias{alias_action::add("good", "a*b")};
  const std::vector<std::string> wildcard{"logs*"};
  const std::vector<stored_document> one{{"a", "{}"}};
  EXPECT_EQ(thrown_by([&] { b.create_index("Upper"); }).code(), errc::invalid_name);
  EXPECT_EQ(thrown_by([&] { b.update_aliases(bad_alias); }).code(), errc::invalid_name);
  EXPECT_EQ(thrown_by([&] { b.delete_indices(wildcard); }).code(), errc::invalid_name);
  EXPECT_EQ(thrown_by([&] { (void)b.bulk_write("a,b", one); }).code(), errc::invalid_name);
  EXPECT_EQ(thrown_by([&] { (void)b.scan("*", "", 1); }).code(), errc::invalid_name);
  EXPECT_FALSE(b.index_exists("a*"));
  EXPECT_TRUE(b.alias_targets("a*").empty());
  EXPECT_TRUE(b.list_indices("App").empty());
  EXPECT_TRUE(b.list_indices("a,b").empty());
  EXPECT_TRUE(b.list_indices("_x").empty());
  EXPECT_TRUE(r.server.requests().empty());
}

TEST(ElasticsearchIndex, NamesArePercentEncodedPathSegments) {
  rig r;
  auto b = r.backend();
  const std::string name = "a');drop-table;--%é";
  b.create_index(name);
  EXPECT_TRUE(b.index_exists(name));
  const auto lines = r.lines();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], "PUT /a%27%29%3Bdrop-table%3B--%25%C3%A9");
  EXPECT_EQ(lines[1], "GET /_cat/indices/a%27%29%3Bdrop-table%3B--%25%C3%A9");
}

TEST(ElasticsearchIndex, ExistsDistinguishesIndicesFromAliases) {
  rig r;
  auto b = r.backend();
  b.create_index("blue");
  const std::vector<alias_action> add{alias_action::add("blue", "live")};
  b.update_aliases(add);
  r.server.clear_requests();
  EXPECT_TRUE(b.index_exists("blue"));
  EXPECT_FALSE(b.index_exists("live"));  // _cat/indices/live answers the index behind it
  EXPECT_FALSE(b.index_exists("missing"));  // 404 index_not_found_exception
  const auto gets = r.matching("GET", "/_cat/indices/");
  ASSERT_EQ(gets.size(), 3u);
  EXPECT_EQ(gets[1].raw_path, "/_cat/indices/live");
  EXPECT_EQ(gets[1].query.at("format"), "json");
  EXPECT_EQ(gets[1].query.at("h"), "index");
}

TEST(ElasticsearchIndex, ListIndicesAsksForThePrefixAndFiltersLocally) {
  scripted s;
  // _cat is a pattern match on the server; a server may answer more than the prefix (a hidden index,
  // a proxy's rewrite): only names that start with the prefix are ours.
  s.answer = [](const http_request&) {
    return reply(200, R"([{"index":"app-dev_2"},{"index":"app-dev_1"},{"index":"app-devx"},{"index":"app-dev_1"}])");
  };
  elasticsearch_options o;
  o.url = fake_elasticsearch::origin;
  es_backend b(s.transport, o);
  EXPECT_EQ(b.list_indices("app-dev_"), names({"app-dev_1", "app-dev_2"}));
  ASSERT_EQ(s.seen.size(), 1u);
  EXPECT_EQ(s.seen[0].url, std::string(fake_elasticsearch::origin) +
                             "/_cat/indices/app-dev_*?format=json&h=index&expand_wildcards=open,closed");
  (void)b.list_indices("");
  EXPECT_EQ(s.seen[1].url,
            std::string(fake_elasticsearch::origin) + "/_cat/indices?format=json&h=index&expand_wildcards=open,closed");
}

TEST(ElasticsearchIndex, DeleteNamesEveryIndexAndChecksAliasesFirst) {
  rig r;
  auto b = r.backend();
  for (const char* n : {"logs", "logs-1", "aliased"}) b.create_index(n);
  const std::vector<alias_action> add{alias_action::add("aliased", "live")};
  b.update_aliases(add);
  r.server.clear_requests();

  const std::vector<std::string> victims{"logs", "logs-1", "logs"};
  b.delete_indices(victims);
  const auto deletes = r.matching("DELETE", "/");
  ASSERT_EQ(deletes.size(), 1u);
  EXPECT_EQ(deletes[0].raw_path, "/logs,logs-1");  // each name once, explicitly
  EXPECT_EQ(deletes[0].query.at("expand_wildcards"), "none");
  EXPECT_FALSE(deletes[0].idempotent);
  EXPECT_FALSE(r.server.has_index("logs"));

  r.server.clear_requests();
  const std::vector<std::string> aliased{"aliased"};
  auto e = thrown_by([&] { b.delete_indices(aliased); });
  EXPECT_EQ(e.code(), errc::conflict);
  EXPECT_TRUE(contains(e.what(), "'live'")) << e.what();
  EXPECT_TRUE(r.matching("DELETE", "/").empty());  // refused before any delete was sent
  EXPECT_TRUE(r.server.has_index("aliased"));
}

// ---- bulk writes ------------------------------------------------------------------------------------

TEST(ElasticsearchBulk, SendsNdjsonWithTheIdInTheDocumentAndWaitsForRefresh) {
  rig r;
  auto b = r.backend();
  b.create_index("docs");
  r.server.clear_requests();
  auto result = b.bulk_write("docs", docs({{"a", R"({"n":1})"}, {"q\"", "{ }"}, {"c", "{\n  \"multi\": \"line\"\n}"}}));
  EXPECT_TRUE(result.ok());
  EXPECT_EQ(result.written, 3u);
  const auto lines = r.lines();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], "GET /_cat/indices/docs");  // a bulk would auto-create a missing index
  const auto bulk = r.matching("POST", "/_bulk");
  ASSERT_EQ(bulk.size(), 1u);
  EXPECT_EQ(bulk[0].raw_path, "/docs/_bulk");
  EXPECT_EQ(bulk[0].query.at("refresh"), "wait_for");
  EXPECT_EQ(bulk[0].header("Content-Type"), "application/x-ndjson");
  EXPECT_EQ(bulk[0].body,
            "{\"index\":{\"_id\":\"a\"}}\n{\"tributary_id\":\"a\",\"n\":1}\n"
            "{\"index\":{\"_id\":\"q\\\"\"}}\n{\"tributary_id\":\"q\\\"\" }\n"
            "{\"index\":{\"_id\":\"c\"}}\n{\"tributary_id\":\"c\",   \"multi\": \"line\" }\n");
  EXPECT_EQ(r.server.raw_source("docs", "a"), std::optional<std::string>(R"({"tributary_id":"a","n":1})"));
  // Read back as written (the raw line breaks became spaces).
  const std::vector<std::string> ids{"a", "q\"", "c"};
  const auto got = b.get("docs", ids);
  EXPECT_EQ(got[0], std::optional<std::string>(R"({"n":1})"));
  EXPECT_EQ(got[1], std::optional<std::string>("{ }"));
  EXPECT_EQ(got[2], std::optional<std::string>("{   \"multi\": \"line\" }"));
}

TEST(ElasticsearchBulk, RefusesLocallyWhatTheServerWouldRejectWhole) {
  rig r;
  auto b = r.backend();
  b.create_index("docs");
  r.server.clear_requests();
  auto result = b.bulk_write("docs", docs({{"", "{}"}, {"ok", "{}"}, {"arr", "[1,2]"}}));
  std::vector<stored_document> long_id{{std::string(513, 'x'), "{}"}};
  auto too_long = b.bulk_write("docs", long_id);
  EXPECT_EQ(result.written, 1u);
  ASSERT_EQ(result.failures.size(), 2u);
  EXPECT_EQ(result.failures[0].position, 0u);
  EXPECT_EQ(result.failures[1].position, 2u);
  EXPECT_TRUE(contains(result.failures[1].reason, "not a JSON object"));
  ASSERT_EQ(too_long.failures.size(), 1u);
  EXPECT_TRUE(contains(too_long.failures[0].reason, "512 bytes")) << too_long.failures[0].reason;
  const auto bulks = r.matching("POST", "/_bulk");
  ASSERT_EQ(bulks.size(), 1u);  // the second call had nothing left to send
  EXPECT_EQ(bulks[0].body, "{\"index\":{\"_id\":\"ok\"}}\n{\"tributary_id\":\"ok\"}\n");
}

TEST(ElasticsearchBulk, DoesNotAutoCreateAMissingIndexOrWriteThroughAnAlias) {
  rig r;
  auto b = r.backend();
  EXPECT_EQ(thrown_by([&] { (void)b.bulk_write("missing", docs({{"a", "{}"}})); }).code(), errc::not_found);
  EXPECT_FALSE(r.server.has_index("missing"));
  b.create_index("blue");
  const std::vector<alias_action> add{alias_action::add("blue", "live")};
  b.update_aliases(add);
  EXPECT_EQ(thrown_by([&] { (void)b.bulk_write("live", docs({{"a", "{}"}})); }).code(), errc::not_found);
  EXPECT_TRUE(r.matching("POST", "/_bulk").empty());
}

TEST(ElasticsearchBulk, BatchesByBytes) {
  rig r;
  auto o = r.options();
  o.bulk_max_bytes = 4096;
  auto b = r.backend(o);
  b.create_index("docs");
  std::vector<stored_document> batch;
  for (int i = 0; i < 100; ++i) batch.push_back({"doc-" + std::to_string(i), R"({"pad":")" + std::string(150, 'x') + "\"}"});
  batch.push_back({"huge", R"({"pad":")" + std::string(6000, 'y') + "\"}"});  // larger than a batch: goes alone
  r.server.clear_requests();
  auto result = b.bulk_write("docs", batch);
  EXPECT_TRUE(result.ok());
  EXPECT_EQ(result.written, batch.size());
  const auto bulks = r.matching("POST", "/_bulk");
  ASSERT_GE(bulks.size(), 5u);
  std::vector<std::string> order;
  for (const auto& req : bulks) {
    if (!contains(req.body, "\"huge\"")) {
      EXPECT_LE(req.body.size(), 4096u);
    } else {
      EXPECT_EQ(std::count(req.body.begin(), req.body.end(), '\n'), 2);
    }
    const std::string action = "{\"index\":{\"_id\":\"";
    for (std::size_t at = 0; (at = req.body.find(action, at)) != std::string::npos;) {
      at += action.size();
      order.push_back(req.body.substr(at, req.body.find('"', at) - at));
    }
  }
  ASSERT_EQ(order.size(), batch.size());
  for (std::size_t i = 0; i < batch.size(); ++i) EXPECT_EQ(order[i], batch[i].id);  // in the caller's order
}

TEST(ElasticsearchBulk, ErrorsTrueIsNotSuccessAndEachItemIsTriaged) {
  // A documented partial failure: HTTP 200, "errors": true, one status per item.
  scripted s;
  s.answer = [](const http_request& r) {
    if (path_of(r) == "GET /_cat/indices/docs") return reply(200, R"([{"index":"docs"}])");
    return reply(200, R"({"took":30,"errors":true,"items":[
      {"index":{"_index":"docs","_id":"a","_version":1,"result":"created","_shards":{"total":2,"successful":1,"failed":0},"status":201,"_seq_no":0,"_primary_term":1}},
      {"index":{"_index":"docs","_id":"b","status":400,"error":{"type":"mapper_parsing_exception","reason":"failed to parse field [collected] of type [date] in document with id 'b'","caused_by":{"type":"illegal_argument_exception","reason":"failed to parse date field [x]"}}}},
      {"index":{"_index":"docs","_id":"c","_version":4,"result":"updated","_shards":{"total":2,"successful":1,"failed":0},"status":200,"_seq_no":3,"_primary_term":1}}
    ]})");
  };
  elasticsearch_options o;
  o.url = fake_elasticsearch::origin;
  es_backend b(s.transport, o);
  auto result = b.bulk_write("docs", docs({{"a", "{}"}, {"b", "{}"}, {"c", "{}"}}));
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(result.written, 2u);
  ASSERT_EQ(result.failures.size(), 1u);
  EXPECT_EQ(result.failures[0].position, 1u);
  EXPECT_EQ(result.failures[0].id, "b");
  EXPECT_FALSE(result.failures[0].retryable);
  EXPECT_EQ(result.failures[0].reason,
            "mapper_parsing_exception: failed to parse field [collected] of type [date] in document with id 'b'");
  EXPECT_EQ(s.seen.size(), 2u);  // not retried

  // A response that does not account for every item is not trusted.
  s.answer = [](const http_request& r) {
    if (path_of(r) == "GET /_cat/indices/docs") return reply(200, R"([{"index":"docs"}])");
    return reply(200, R"({"took":1,"errors":false,"items":[]})");
  };
  EXPECT_EQ(thrown_by([&] { (void)b.bulk_write("docs", docs({{"a", "{}"}})); }).code(), errc::store_unavailable);
}

TEST(ElasticsearchBulk, ItemsRejectedWith429AreRetriedWithFullJitter) {
  rig r;
  auto o = r.options();
  o.backoff_base = 100ms;
  o.backoff_cap = 150ms;
  auto b = r.backend(o);
  b.create_index("docs");
  r.server.reject_items("b", 3);
  r.server.reject_items("d", 1);
  r.server.clear_requests();
  auto result = b.bulk_write("docs", docs({{"a", "{}"}, {"b", R"({"v":"b"})"}, {"c", "{}"}, {"d", "{}"}}));
  EXPECT_TRUE(result.ok());
  EXPECT_EQ(result.written, 4u);
  const auto bulks = r.matching("POST", "/_bulk");
  ASSERT_EQ(bulks.size(), 4u);
  EXPECT_EQ(bulks[1].body, "{\"index\":{\"_id\":\"b\"}}\n{\"tributary_id\":\"b\",\"v\":\"b\"}\n"
                           "{\"index\":{\"_id\":\"d\"}}\n{\"tributary_id\":\"d\"}\n");
  EXPECT_EQ(bulks[3].body, "{\"index\":{\"_id\":\"b\"}}\n{\"tributary_id\":\"b\",\"v\":\"b\"}\n");
  ASSERT_EQ(r.sleeps.size(), 3u);
  EXPECT_LE(r.sleeps[0], 100ms);  // uniform in [0, base]
  EXPECT_LE(r.sleeps[1], 150ms);  // [0, min(cap, 2 * base)]
  EXPECT_LE(r.sleeps[2], 150ms);
  EXPECT_EQ(b.get("docs", names({"b"}))[0], std::optional<std::string>(R"({"v":"b"})"));
}

TEST(ElasticsearchBulk, PersistentRejectionsAreReportedAsRetryable) {
  rig r;
  auto o = r.options();
  o.bulk_max_attempts = 3;
  auto b = r.backend(o);
  b.create_index("docs");
  r.server.reject_items("b", 100);
  auto result = b.bulk_write("docs", docs({{"a", "{}"}, {"b", "{}"}, {"c", "{}"}}));
  EXPECT_EQ(result.written, 2u);
  ASSERT_EQ(result.failures.size(), 1u);
  EXPECT_EQ(result.failures[0].position, 1u);
  EXPECT_TRUE(result.failures[0].retryable);
  EXPECT_TRUE(contains(result.failures[0].reason, "es_rejected_execution_exception")) << result.failures[0].reason;
  EXPECT_TRUE(contains(result.failures[0].reason, "after 3 attempts")) << result.failures[0].reason;
  EXPECT_EQ(r.sleeps.size(), 2u);
}

TEST(ElasticsearchBulk, WholeRequest429And503AreRetried) {
  for (int status : {429, 503}) {
    rig r;
    auto b = r.backend();
    b.create_index("docs");
    r.server.fail_requests(status, 2, "/_bulk");
    r.server.clear_requests();
    auto result = b.bulk_write("docs", docs({{"a", "{}"}, {"b", "{}"}}));
    EXPECT_TRUE(result.ok()) << status;
    EXPECT_EQ(result.written, 2u);
    EXPECT_EQ(r.matching("POST", "/_bulk").size(), 3u);
    EXPECT_EQ(r.sleeps.size(), 2u);
    EXPECT_EQ(b.scan("docs", "", 10).documents.size(), 2u);

    r.server.fail_requests(status, 100, "/_bulk");
    auto gave_up = b.bulk_write("docs", docs({{"c", "{}"}}));
    ASSERT_EQ(gave_up.failures.size(), 1u);
    EXPECT_TRUE(gave_up.failures[0].retryable);
    EXPECT_TRUE(contains(gave_up.failures[0].reason, "HTTP " + std::to_string(status))) << gave_up.failures[0].reason;
  }
}

TEST(ElasticsearchBulk, RefreshPolicyNoneNeedsAnExplicitRefresh) {
  rig r;
  auto o = r.options();
  o.refresh = refresh_policy::none;
  auto b = r.backend(o);
  b.create_index("docs");
  ASSERT_TRUE(b.bulk_write("docs", docs({{"a", "{}"}})).ok());
  EXPECT_FALSE(r.matching("POST", "/_bulk")[0].has_query("refresh"));
  EXPECT_TRUE(b.scan("docs", "", 10).documents.empty());  // not searchable yet
  EXPECT_EQ(b.get("docs", names({"a"}))[0], std::optional<std::string>("{}"));  // _mget is realtime
  b.refresh("docs");
  EXPECT_EQ(r.matching("POST", "/docs/_refresh").size(), 1u);
  EXPECT_EQ(b.scan("docs", "", 10).documents.size(), 1u);
  EXPECT_EQ(thrown_by([&] { b.refresh("missing"); }).code(), errc::not_found);

  o.refresh = refresh_policy::immediate;
  ASSERT_TRUE(r.backend(o).bulk_write("docs", docs({{"b", "{}"}})).ok());
  EXPECT_EQ(r.matching("POST", "/_bulk").back().query.at("refresh"), "true");
}

// ---- reads ------------------------------------------------------------------------------------------

// ---- exists, insert if absent, per-document delete -------------------------------------------------

TEST(ElasticsearchExists, MgetWithoutSourceInBatches) {
  rig r;
  auto o = r.options();
  o.mget_batch = 2;
  auto b = r.backend(o);
  b.create_index("docs");
  ASSERT_TRUE(b.bulk_write("docs", docs({{"a", R"({"n":1})"}, {"b", R"({"n":2})"}})).ok());
  r.server.clear_requests();
  EXPECT_EQ(b.exists("docs", names({"b", "missing", "a", ""})), (std::vector<bool>{true, false, true, false}));
  const auto mgets = r.matching("POST", "/docs/_mget");
  ASSERT_EQ(mgets.size(), 2u);
  for (const auto& m : mgets) EXPECT_EQ(m.query.at("_source"), "false") << "no document is read";
  EXPECT_EQ(json::parse(mgets[0].body), json::parse(R"({"ids":["b","missing"]})"));
  EXPECT_EQ(json::parse(mgets[1].body), json::parse(R"({"ids":["a"]})"));
}

TEST(ElasticsearchExists, ParsesDocsWithoutSourceAsTheServersSendThem) {
  scripted s;
  s.answer = [](const http_request& req) {
    if (path_of(req) == "GET /_cat/indices/docs") return reply(200, R"([{"index":"docs"}])");
    return reply(200, R"({"docs":[{"_index":"docs","_id":"a","_version":1,"_seq_no":0,"_primary_term":1,"found":true},)"
                      R"({"_index":"docs","_id":"z","found":false}]})");
  };
  elasticsearch_options o;
  o.url = fake_elasticsearch::origin;
  es_backend b(s.transport, o);
  EXPECT_EQ(b.exists("docs", names({"a", "z"})), (std::vector<bool>{true, false}));
}

TEST(ElasticsearchInsertIfAbsent, SendsCreateActionsNotIdempotentAnd409MeansExisted) {
  rig r;
  auto b = r.backend();
  b.create_index("docs");
  ASSERT_TRUE(b.bulk_write("docs", docs({{"a", R"({"v":1})"}})).ok());
  r.server.reject_items("c", 1);  // a 429 for one item is retried; the item is then inserted
  r.server.clear_requests();
  const auto result = b.insert_if_absent("docs", docs({{"a", R"({"v":2})"}, {"b", "{}"}, {"c", "{}"}, {"b", R"({"v":3})"}}));
  using outcome = insert_result::outcome;
  EXPECT_EQ(result.items, (std::vector<outcome>{outcome::existed, outcome::inserted, outcome::inserted, outcome::existed}));
  EXPECT_TRUE(result.ok());
  const auto bulks = r.matching("POST", "/docs/_bulk");
  ASSERT_EQ(bulks.size(), 2u);
  for (const auto& bulk : bulks) EXPECT_FALSE(bulk.idempotent) << "a repeated create would report inserted as existed";
  EXPECT_EQ(bulks[0].body, "{\"create\":{\"_id\":\"a\"}}\n{\"tributary_id\":\"a\",\"v\":2}\n"
                           "{\"create\":{\"_id\":\"b\"}}\n{\"tributary_id\":\"b\"}\n"
                           "{\"create\":{\"_id\":\"c\"}}\n{\"tributary_id\":\"c\"}\n"
                           "{\"create\":{\"_id\":\"b\"}}\n{\"tributary_id\":\"b\",\"v\":3}\n");
  EXPECT_EQ(bulks[1].body, "{\"create\":{\"_id\":\"c\"}}\n{\"tributary_id\":\"c\"}\n");
  EXPECT_EQ(b.get("docs", names({"a", "b"})), (std::vector<std::optional<std::string>>{R"({"v":1})", "{}"}));

  r.server.reject_items("d", 100);  // rejected past bulk_max_attempts: a retryable failure
  const auto gave_up = b.insert_if_absent("docs", docs({{"d", "{}"}, {"e", "not json"}}));
  EXPECT_EQ(gave_up.items, (std::vector<outcome>{outcome::failed, outcome::failed}));
  ASSERT_EQ(gave_up.failures.size(), 2u);
  EXPECT_TRUE(gave_up.failures[0].retryable);
  EXPECT_TRUE(contains(gave_up.failures[0].reason, "gave up after 6 attempts")) << gave_up.failures[0].reason;
  EXPECT_FALSE(gave_up.failures[1].retryable);
}

TEST(ElasticsearchDelete, SendsDeleteActionsWithoutSourceAndNotFoundIsAbsent) {
  rig r;
  auto b = r.backend();
  b.create_index("docs");
  ASSERT_TRUE(b.bulk_write("docs", docs({{"a", "{}"}, {"b", "{}"}})).ok());
  r.server.clear_requests();
  const auto result = b.delete_documents("docs", names({"a", "missing", "a", "", "b"}));
  EXPECT_EQ(result.present, (std::vector<bool>{true, false, false, false, true}));
  const auto bulks = r.matching("POST", "/docs/_bulk");
  ASSERT_EQ(bulks.size(), 1u);
  EXPECT_FALSE(bulks[0].idempotent);
  EXPECT_EQ(bulks[0].query.at("refresh"), "wait_for");
  // Each id once (a repeated one was present at most once), the empty id never: it was never stored.
  EXPECT_EQ(bulks[0].body, "{\"delete\":{\"_id\":\"a\"}}\n{\"delete\":{\"_id\":\"missing\"}}\n{\"delete\":{\"_id\":\"b\"}}\n");
  EXPECT_TRUE(b.scan("docs", "", 10).documents.empty());

  ASSERT_TRUE(b.bulk_write("docs", docs({{"c", "{}"}})).ok());
  r.server.reject_items("c", 100);
  const auto e = thrown_by([&] { (void)b.delete_documents("docs", names({"c"})); });
  EXPECT_EQ(e.code(), errc::store_unavailable);
  EXPECT_TRUE(contains(e.what(), "gave up")) << e.what();
}

TEST(ElasticsearchDelete, ReadsEveryItemWhenTheResponseSaysNoErrors) {
  // A delete of an absent id is no error ("errors": false), yet its item says 404 "not_found".
  scripted s;
  s.answer = [](const http_request& req) {
    if (path_of(req) == "GET /_cat/indices/docs") return reply(200, R"([{"index":"docs"}])");
    return reply(200, R"({"took":2,"errors":false,"items":[)"
                      R"({"delete":{"_index":"docs","_id":"a","_version":2,"result":"deleted","_shards":{"total":2,"successful":1,"failed":0},"_seq_no":3,"_primary_term":1,"status":200}},)"
                      R"({"delete":{"_index":"docs","_id":"z","_version":1,"result":"not_found","_shards":{"total":2,"successful":1,"failed":0},"_seq_no":4,"_primary_term":1,"status":404}}]})");
  };
  elasticsearch_options o;
  o.url = fake_elasticsearch::origin;
  es_backend b(s.transport, o);
  EXPECT_EQ(b.delete_documents("docs", names({"a", "z"})).present, (std::vector<bool>{true, false}));
}

TEST(ElasticsearchGet, MgetByIdsInBatches) {
  rig r;
  auto o = r.options();
  o.mget_batch = 2;
  auto b = r.backend(o);
  b.create_index("docs");
  ASSERT_TRUE(b.bulk_write("docs", docs({{"a", R"({"n":1})"}, {"b", R"({"n":2})"}})).ok());
  r.server.clear_requests();
  const auto got = b.get("docs", names({"b", "missing", "a", ""}));
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[0], std::optional<std::string>(R"({"n":2})"));
  EXPECT_EQ(got[1], std::nullopt);
  EXPECT_EQ(got[2], std::optional<std::string>(R"({"n":1})"));
  EXPECT_EQ(got[3], std::nullopt);
  const auto mgets = r.matching("POST", "/docs/_mget");
  ASSERT_EQ(mgets.size(), 2u);
  EXPECT_EQ(json::parse(mgets[0].body), json::parse(R"({"ids":["b","missing"]})"));
  EXPECT_EQ(json::parse(mgets[1].body), json::parse(R"({"ids":["a"]})"));  // the empty id is never asked for
}

TEST(ElasticsearchGet, PerDocumentIndexNotFoundAndAliasesAreNotFound) {
  scripted s;
  // _mget answers a missing index per document, with HTTP 200.
  s.answer = [](const http_request&) {
    return reply(200, R"({"docs":[{"_index":"missing","_id":"a","error":{"root_cause":[{"type":"index_not_found_exception","reason":"no such index [missing]","resource.type":"index_expression","resource.id":"missing","index_uuid":"_na_","index":"missing"}],"type":"index_not_found_exception","reason":"no such index [missing]","resource.type":"index_expression","resource.id":"missing","index_uuid":"_na_","index":"missing"}}]})");
  };
  elasticsearch_options o;
  o.url = fake_elasticsearch::origin;
  es_backend b(s.transport, o);
  EXPECT_EQ(thrown_by([&] { (void)b.get("missing", names({"a"})); }).code(), errc::not_found);
  s.answer = [](const http_request&) {
    return reply(200, R"({"docs":[{"_index":"blue","_id":"a","found":false}]})");
  };
  auto e = thrown_by([&] { (void)b.get("live", names({"a"})); });
  EXPECT_EQ(e.code(), errc::not_found);
  EXPECT_TRUE(contains(e.what(), "alias")) << e.what();
}

TEST(ElasticsearchScan, OnePlainSearchSortedByTheIdField) {
  rig r;
  auto b = r.backend();
  b.create_index("docs");
  ASSERT_TRUE(b.bulk_write("docs", docs({{"b", "{}"}, {"a", "{}"}, {"c", "{}"}})).ok());
  r.server.clear_requests();
  auto page = b.scan("docs", "a", 1);
  ASSERT_EQ(page.documents.size(), 1u);
  EXPECT_EQ(page.documents[0].id, "b");
  EXPECT_FALSE(page.done);
  const auto lines = r.lines();
  ASSERT_EQ(lines.size(), 1u);  // no PIT per page, no existence check when hits came back
  EXPECT_EQ(lines[0], "POST /docs/_search");
  const auto body = json::parse(r.server.requests()[0].body);
  EXPECT_EQ(body["size"], 2);  // one more than asked tells whether anything follows
  EXPECT_EQ(body["sort"], json::parse(R"([{"tributary_id":{"order":"asc"}}])"));
  EXPECT_EQ(body["search_after"], json::parse(R"(["a"])"));
  EXPECT_EQ(body["track_total_hits"], false);

  r.server.clear_requests();
  (void)b.scan("docs", "", 50'000);
  const auto first = json::parse(r.server.requests()[0].body);
  EXPECT_EQ(first["size"], 10'000);  // capped below index.max_result_window
  EXPECT_FALSE(first.contains("search_after"));
}

TEST(ElasticsearchScan, AnAliasIsNotAnIndexEvenWhenEmpty) {
  rig r;
  auto b = r.backend();
  b.create_index("full");
  b.create_index("empty");
  ASSERT_TRUE(b.bulk_write("full", docs({{"a", "{}"}})).ok());
  const std::vector<alias_action> add{alias_action::add("full", "to-full"), alias_action::add("empty", "to-empty")};
  b.update_aliases(add);
  EXPECT_EQ(thrown_by([&] { (void)b.scan("to-full", "", 10); }).code(), errc::not_found);
  EXPECT_EQ(thrown_by([&] { (void)b.scan("to-empty", "", 10); }).code(), errc::not_found);
  EXPECT_EQ(thrown_by([&] { (void)b.scan("missing", "", 10); }).code(), errc::not_found);
  EXPECT_TRUE(b.scan("empty", "", 10).done);
}

/// Writes n documents d000.. into `index` and returns their ids in order.
std::vector<std::string> fill(es_backend& b, const std::string& index, int n) {
  std::vector<stored_document> batch;
  std::vector<std::string> ids;
  for (int i = 0; i < n; ++i) {
    char id[16];
    std::snprintf(id, sizeof id, "d%03d", i);
    ids.emplace_back(id);
    batch.push_back({id, std::string("{\"i\":") + std::to_string(i) + "}"});
  }
  b.create_index(index);
  EXPECT_TRUE(b.bulk_write(index, batch).ok());
  return ids;
}

TEST(ElasticsearchScan, ElasticsearchPointInTimeIsOneConsistentViewAndIsClosed) {
  rig r(es_flavour::elasticsearch_8);
  auto b = r.backend();
  const auto ids = fill(b, "big", 25);
  r.server.clear_requests();
  std::vector<std::string> seen;
  int pages = 0;
  b.for_each_page("big", 10, [&](std::vector<stored_document>&& page) {
    if (pages++ == 0) {  // written after the PIT opened
      ASSERT_TRUE(b.bulk_write("big", docs({{"d000x", "{}"}, {"zzz", "{}"}})).ok());
    }
    for (auto& d : page) seen.push_back(d.id);
    EXPECT_EQ(page.front().json, "{\"i\":" + std::to_string(std::stoi(page.front().id.substr(1))) + "}");
  });
  EXPECT_EQ(seen, ids);  // nothing written after the PIT opened
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(r.server.open_contexts(), 0u);
  const auto opens = r.matching("POST", "/big/_pit");
  ASSERT_EQ(opens.size(), 1u);
  EXPECT_EQ(opens[0].query.at("keep_alive"), "1m");
  const auto searches = r.matching("POST", "/_search");
  ASSERT_EQ(searches.size(), 3u);
  const auto second = json::parse(searches[1].raw_path == "/_search" ? searches[1].body : "{}");
  EXPECT_EQ(second["pit"]["keep_alive"], "1m");
  EXPECT_FALSE(second["pit"]["id"].get<std::string>().empty());
  EXPECT_EQ(second["search_after"], json::parse(R"(["d009"])"));
  const auto closes = r.matching("DELETE", "/_pit");
  ASSERT_EQ(closes.size(), 1u);
  EXPECT_EQ(json::parse(closes[0].body)["id"], second["pit"]["id"]);
}

TEST(ElasticsearchScan, OpenSearchPointInTimeUsesItsOwnPathsAndFields) {
  rig r(es_flavour::opensearch_2);
  auto b = r.backend();
  const auto ids = fill(b, "big", 12);
  r.server.clear_requests();
  std::vector<std::string> seen;
  b.for_each_page("big", 5, [&](std::vector<stored_document>&& page) {
    for (auto& d : page) seen.push_back(d.id);
  });
  EXPECT_EQ(seen, ids);
  EXPECT_EQ(r.server.open_contexts(), 0u);
  EXPECT_EQ(r.server.contexts_opened(), 1u);
  ASSERT_EQ(r.matching("POST", "/big/_search/point_in_time").size(), 1u);
  EXPECT_TRUE(r.matching("POST", "/_pit").empty());
  const auto closes = r.matching("DELETE", "/_search/point_in_time");
  ASSERT_EQ(closes.size(), 1u);
  const auto body = json::parse(closes[0].body);
  ASSERT_TRUE(body["pit_id"].is_array());  // {"pit_id": [...]}, where Elasticsearch has {"id": ...}
  EXPECT_EQ(body["pit_id"].size(), 1u);
}

TEST(ElasticsearchScan, OpenSearchWithoutPointInTimeFallsBackToAScroll) {
  rig r(es_flavour::opensearch_2, "2.3.0");
  auto b = r.backend();
  const auto ids = fill(b, "big", 12);
  r.server.clear_requests();
  std::vector<std::string> seen;
  b.for_each_page("big", 5, [&](std::vector<stored_document>&& page) {
    for (auto& d : page) seen.push_back(d.id);
  });
  EXPECT_EQ(seen, ids);
  EXPECT_EQ(r.server.open_contexts(), 0u);
  EXPECT_TRUE(r.matching("POST", "point_in_time").empty());
  const auto first = r.matching("POST", "/big/_search");
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].query.at("scroll"), "1m");
  EXPECT_EQ(json::parse(first[0].body)["sort"], json::parse(R"([{"tributary_id":{"order":"asc"}}])"));
  EXPECT_EQ(r.matching("POST", "/_search/scroll").size(), 2u);
  const auto clears = r.matching("DELETE", "/_search/scroll");
  ASSERT_EQ(clears.size(), 1u);
  EXPECT_TRUE(json::parse(clears[0].body).contains("scroll_id"));
}

TEST(ElasticsearchScan, ABuildWithoutThePitEndpointFallsBackToAScroll) {
  // The version says PIT, the server answers "no handler found" (a proxy that does not pass /_pit).
  rig r(es_flavour::opensearch_2, "2.11.0");
  auto o = r.options();
  o.server = search_server{search_engine::elasticsearch, 8, 11, 0, "8.11.0"};
  auto b = r.backend(o);
  const auto ids = fill(b, "big", 7);
  std::vector<std::string> seen;
  b.for_each_page("big", 3, [&](std::vector<stored_document>&& page) {
    for (auto& d : page) seen.push_back(d.id);
  });
  EXPECT_EQ(seen, ids);
  EXPECT_EQ(r.matching("POST", "/big/_pit").size(), 1u);
  EXPECT_EQ(r.matching("DELETE", "/_search/scroll").size(), 1u);
  EXPECT_EQ(r.server.open_contexts(), 0u);
}

TEST(ElasticsearchScan, ContextsAreClosedWhenTheCallerThrows) {
  for (const auto& [flavour, version] : {std::pair{es_flavour::elasticsearch_8, std::string()},
                                         std::pair{es_flavour::opensearch_2, std::string()},
                                         std::pair{es_flavour::opensearch_2, std::string("2.0.1")}}) {
    rig r(flavour, version);
    auto b = r.backend();
    fill(b, "big", 12);
    EXPECT_THROW(b.for_each_page("big", 5, [](std::vector<stored_document>&&) { throw std::runtime_error("stop"); }),
                 std::runtime_error);
    EXPECT_EQ(r.server.contexts_opened(), 1u) << version;
    EXPECT_EQ(r.server.open_contexts(), 0u) << version;
  }
}

TEST(ElasticsearchScan, ForEachPageRefusesAliasesAndMissingIndices) {
  rig r;
  auto b = r.backend();
  fill(b, "blue", 3);
  const std::vector<alias_action> add{alias_action::add("blue", "live")};
  b.update_aliases(add);
  auto ignore = [](std::vector<stored_document>&&) {};
  EXPECT_EQ(thrown_by([&] { b.for_each_page("live", 10, ignore); }).code(), errc::not_found);
  EXPECT_EQ(thrown_by([&] { b.for_each_page("missing", 10, ignore); }).code(), errc::not_found);
  EXPECT_EQ(r.server.contexts_opened(), 0u);
}

// ---- aliases ----------------------------------------------------------------------------------------

TEST(ElasticsearchAliases, MissingAliasIs404AndNoTargets) {
  rig r;
  auto b = r.backend();
  EXPECT_TRUE(b.alias_targets("missing").empty());
  const auto gets = r.matching("GET", "/_alias/missing");
  ASSERT_EQ(gets.size(), 1u);
  // The documented body of that 404 carries the error as a string.
  scripted s;
  s.answer = [](const http_request&) { return reply(404, R"({"error":"alias [missing] missing","status":404})"); };
  elasticsearch_options o;
  o.url = fake_elasticsearch::origin;
  EXPECT_TRUE(es_backend(s.transport, o).alias_targets("missing").empty());
  s.answer = [](const http_request&) { return reply(500, R"({"error":"boom","status":500})"); };
  auto e = thrown_by([&] { (void)es_backend(s.transport, o).alias_targets("x"); });
  EXPECT_EQ(e.code(), errc::store_unavailable);
  EXPECT_TRUE(contains(e.what(), "boom")) << e.what();
}

TEST(ElasticsearchAliases, TableParsesEveryIndexAndSkipsEmptyOnes) {
  scripted s;
  s.answer = [](const http_request&) {
    return reply(200, R"({"green":{"aliases":{"live":{}}},"blue":{"aliases":{"env":{"is_write_index":true},"live":{}}},"red":{"aliases":{}}})");
  };
  elasticsearch_options o;
  o.url = fake_elasticsearch::origin;
  const std::vector<alias_entry> expected{{"env", "blue"}, {"live", "blue"}, {"live", "green"}};
  EXPECT_EQ(es_backend(s.transport, o).aliases(), expected);
  EXPECT_EQ(s.seen[0].url, std::string(fake_elasticsearch::origin) + "/_alias?expand_wildcards=open,closed");
}

TEST(ElasticsearchAliases, MustExistIsSentWhereTheServerParsesIt) {
  for (const auto& [flavour, version] : {std::pair{es_flavour::elasticsearch_8, std::string()},
                                         std::pair{es_flavour::opensearch_2, std::string("2.12.0")}}) {
    rig r(flavour, version);
    auto b = r.backend();
    b.create_index("blue");
    b.create_index("green");
    const std::vector<alias_action> add{alias_action::add("blue", "live")};
    b.update_aliases(add);
    const auto before = r.lines();
    EXPECT_EQ(std::count(before.begin(), before.end(), "GET /"), 0);  // adds alone need no product detection
    (void)b.server();
    r.server.clear_requests();
    const std::vector<alias_action> flip{alias_action::remove("blue", "live", true), alias_action::add("green", "live")};
    b.update_aliases(flip);
    const auto lines = r.lines();
    ASSERT_EQ(lines.size(), 1u) << version;  // no read first: the server checks must_exist atomically
    const auto sent = r.server.requests();
    const auto& post = sent[0];
    EXPECT_FALSE(post.idempotent);
    EXPECT_EQ(json::parse(post.body), json::parse(R"({"actions":[
      {"remove":{"index":"blue","alias":"live","must_exist":true}},{"add":{"index":"green","alias":"live"}}]})"));
    // The server's 404 for a must_exist removal is a conflict.
    auto e = thrown_by([&] { b.update_aliases(flip); });
    EXPECT_EQ(e.code(), errc::conflict);
    EXPECT_EQ(b.alias_targets("live"), names({"green"}));
  }
}

TEST(ElasticsearchAliases, MustExistIsEmulatedWhereTheServerRejectsIt) {
  for (const auto& [flavour, version] : {std::pair{es_flavour::elasticsearch_7, std::string("7.10.2")},
                                         std::pair{es_flavour::opensearch_2, std::string("2.11.1")}}) {
    rig r(flavour, version);
    auto b = r.backend();
    b.create_index("blue");
    b.create_index("green");
    const std::vector<alias_action> add{alias_action::add("blue", "live")};
    b.update_aliases(add);
    r.server.clear_requests();
    const std::vector<alias_action> flip{alias_action::remove("blue", "live", true), alias_action::add("green", "live")};
    b.update_aliases(flip);
    const auto posts = r.matching("POST", "/_aliases");
    ASSERT_EQ(posts.size(), 1u);
    EXPECT_FALSE(contains(posts[0].body, "must_exist")) << posts[0].body;  // the server would answer 400 unknown field
    EXPECT_EQ(r.matching("GET", "/_alias").size(), 1u);
    r.server.clear_requests();
    auto e = thrown_by([&] { b.update_aliases(flip); });
    EXPECT_EQ(e.code(), errc::conflict);
    EXPECT_TRUE(r.matching("POST", "/_aliases").empty());  // refused from the table that was read
  }
}

TEST(ElasticsearchAliases, RemovalsOfAbsentPairsAreNotSentAndRemoveEverywhereNamesEachIndex) {
  rig r;
  auto b = r.backend();
  for (const char* n : {"a1", "a2", "a3"}) b.create_index(n);
  const std::vector<alias_action> setup{alias_action::add("a1", "working"), alias_action::add("a2", "working")};
  b.update_aliases(setup);
  r.server.clear_requests();
  const std::vector<alias_action> move{alias_action::remove_everywhere("working"), alias_action::remove("a3", "old"),
                                       alias_action::add("a3", "working")};
  b.update_aliases(move);
  const auto posts = r.matching("POST", "/_aliases");
  ASSERT_EQ(posts.size(), 1u);
  EXPECT_EQ(json::parse(posts[0].body), json::parse(R"({"actions":[
    {"remove":{"index":"a1","alias":"working"}},{"remove":{"index":"a2","alias":"working"}},
    {"add":{"index":"a3","alias":"working"}}]})"));
  EXPECT_EQ(b.alias_targets("working"), names({"a3"}));

  r.server.clear_requests();
  const std::vector<alias_action> nothing{alias_action::remove_everywhere("gone"), alias_action::remove("a1", "gone")};
  b.update_aliases(nothing);
  EXPECT_TRUE(r.matching("POST", "/_aliases").empty());  // nothing left to do; sending it would be a 404
}

TEST(ElasticsearchAliases, AConcurrentChangeIsReplannedFromAFreshRead) {
  rig r;
  auto b = r.backend();
  b.create_index("a1");
  b.create_index("a2");
  const std::vector<alias_action> setup{alias_action::add("a1", "working")};
  b.update_aliases(setup);
  // Another collector moves the alias between our read and our update, once.
  scripted s;
  bool interfered = false;
  s.answer = [&](const http_request& req) {
    if (!interfered && path_of(req) == "POST /_aliases") {
      interfered = true;
      const std::vector<alias_action> other{alias_action::remove("a1", "working"), alias_action::add("a2", "working")};
      b.update_aliases(other);
    }
    return r.server.handle(req);
  };
  auto mine = es_backend(s.transport, r.options());
  const std::vector<alias_action> move{alias_action::remove_everywhere("working"), alias_action::add("a1", "working")};
  mine.update_aliases(move);
  EXPECT_TRUE(interfered);
  EXPECT_EQ(mine.alias_targets("working"), names({"a1"}));
  int reads = 0, posts = 0;
  for (const auto& req : s.seen) {
    reads += path_of(req) == "GET /_alias";
    posts += path_of(req) == "POST /_aliases";
  }
  EXPECT_EQ(reads, 2);  // the first plan removed a1's pair, which was gone: 404, read again
  EXPECT_EQ(posts, 2);
}

TEST(ElasticsearchAliases, ServerRefusalsMapToTheBackendErrors) {
  rig r;
  auto b = r.backend();
  b.create_index("blue");
  b.create_index("green");
  const std::vector<alias_action> missing{alias_action::add("nope", "live")};
  auto e = thrown_by([&] { b.update_aliases(missing); });
  EXPECT_EQ(e.code(), errc::not_found);
  EXPECT_TRUE(contains(e.what(), "index_not_found_exception")) << e.what();
  const std::vector<alias_action> shadow{alias_action::add("blue", "green")};
  e = thrown_by([&] { b.update_aliases(shadow); });
  EXPECT_EQ(e.code(), errc::conflict);
  EXPECT_TRUE(contains(e.what(), "same name as the alias")) << e.what();
  EXPECT_TRUE(b.aliases().empty());
}

}  // namespace
}  // namespace tributary::testing
