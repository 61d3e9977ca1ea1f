// Regression tests for what the fuzz targets (fuzz/) found: each input that crashed a target or broke
// one of its properties is fed again to the same parsing code (through the target's own function, with
// any compiler) and to the library directly, asserting the clear error it gets now. Also: every seed of
// fuzz/corpus passes its target.

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <string_view>

#include <tributary/all.hpp>
#include <tributary/redact.hpp>
#include <tributary/catalogue/source/xroad.hpp>

#include "../fuzz/targets/document_json.hpp"
#include "../fuzz/targets/elasticsearch.hpp"
#include "../fuzz/targets/http1.hpp"
#include "../fuzz/targets/member_codes.hpp"
#include "../fuzz/targets/postgres_documents.hpp"
#include "../fuzz/targets/urls.hpp"
#include "../fuzz/targets/xroad.hpp"

namespace tributary {
namespace {

namespace fs = std::filesystem;
using namespace std::string_literals;

/// Runs a fuzz target on `input`; a finding fails the test (with the target's description of it).
void expect_no_finding(const std::function<void(std::string_view)>& target, std::string_view input) {
  fuzz::finding_handler() = [](const std::string& what) { throw fuzz::finding_reported{what}; };
  try {
    target(input);
  } catch (const fuzz::finding_reported& f) {
    ADD_FAILURE() << "fuzz finding: " << f.what;
  }
  fuzz::finding_handler() = nullptr;
}

/// The message of the tributary::error `f` throws (a test failure when it throws none).
template <class F>
std::string error_of(F&& f, errc expected) {
  try {
    f();
  } catch (const error& e) {
    EXPECT_EQ(e.code(), expected) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no tributary::error thrown";
  return {};
}

// ---- xroad_openapi: an OpenAPI document that is not UTF-8 -------------------------------------------

// Found by xroad_openapi: one byte of a key replaced by 0xD9 (not UTF-8). yaml-cpp read the document, the
// source built a catalogue document holding the byte, and document_parser (like any JSON reader, which
// needs UTF-8) refused that document when it was read back: "The input is not valid UTF-8". A provider
// serving its spec in Latin-1 did the same. Fixed in include/tributary/source/xroad.hpp (read_openapi):
// such a document is skipped with a warning.
const std::string openapi_not_utf8 =
  "openapi: 3.0.3\ninfo:\n  title: Internal audit\n  version: 1.0.0\n  description: |-\n    Internal audit by "
  "Population Register (dev).\n    Served over X-Road.\n  x-category:\n  - public\n  x-pricing:\n  - free\n  "
  "x-links:\n  - name: Documentation\n    url: https://docs.example.ee/internalAudit-v1\n  - name: Terms of "
  "use\n    url: https://docs.example.ee/terms\n    weight: 2\n  x-hide-api-catalo\xd9gue: true\nservers:\n- "
  "url: https://api.example.ee/dev\npaths:\n  /internalAudit:\n    get:\n      summary: Internal audit\n      "
  "operationId: internalAudit\n      responses:\n        '200':\n          description: OK\n";

TEST(FuzzRegression, AnOpenApiDocumentThatIsNotUtf8IsSkippedWithAWarning) {
  expect_no_finding(fuzz::xroad_openapi, openapi_not_utf8);

  const std::string latin1 = "openapi: 3.0.0\ninfo:\n  title: Maa-amet \xf5igusaktid\n  x-category: open\n";
  for (const std::string& spec : {openapi_not_utf8, latin1}) {
    const auto reading = detail::read_openapi(spec);
    EXPECT_EQ(reading.what, detail::openapi_reading::verdict::skip_warning);
    EXPECT_EQ(reading.message, "the OpenAPI document is not valid UTF-8");
  }

  // Through the source: the version is a warning, the provider's other version is kept.
  xroad_source_config c;
  c.base_url = "http://ss.test";
  c.client = {"EE", "GOV", "70000310", "catalogue-client"};
  c.environment = "dev";
  c.collected = [] { return "2026-01-01T00:00:00.000Z"s; };
  xroad_source source(std::move(c));
  loopback_transport transport;
  transport.route("http://ss.test", [&](const http_request& r) {
    http_response res;
    res.status = 200;
    if (r.url.ends_with("/listMethods"))
      res.body = R"({"service":[{"service_code":"cadastre-v1"},{"service_code":"cadastre-v2"}]})";
    else
      res.body = r.url.ends_with("v1") ? latin1 : "openapi: 3.0.0\ninfo:\n  title: Cadastre\n";
    return res;
  });
  const std::vector<provider> providers = {{"EE/GOV/70001484/maaamet-public", "Land Board"}};
  std::vector<provider_outcome> outcomes;
  source.collect(transport, std::span<const provider>(providers), 1,
                 [&](const provider&, provider_outcome&& o) { outcomes.push_back(std::move(o)); });
  ASSERT_EQ(outcomes.size(), 1u);
  EXPECT_TRUE(outcomes[0].ok()) << outcomes[0].failure;
  ASSERT_EQ(outcomes[0].warnings.size(), 1u);
  EXPECT_EQ(outcomes[0].warnings[0], "getOpenAPI cadastre-v1: the OpenAPI document is not valid UTF-8");
  ASSERT_EQ(outcomes[0].records.size(), 1u);
  const service& s = outcomes[0].records[0];
  ASSERT_EQ(s.environments.size(), 1u);
  ASSERT_EQ(s.environments[0].details.size(), 1u);
  EXPECT_EQ(s.environments[0].details[0].version, "v2");
  EXPECT_EQ(document_parser{}.parse(to_json(s)), s);
}

// Found by xroad_openapi after that fix: the document was UTF-8, but yaml-cpp reads the YAML escapes \N
// (next line) and \_ (no-break space) as the single bytes 0x85 and 0xA0, so the description it gave was
// not, and the stored document did not read back. Fixed in include/tributary/source/xroad.hpp
// (read_openapi): title, summary and description must be UTF-8 once read, or the version is skipped with
// a warning. (An x-links holding them is dropped by the check that x-links is valid JSON.)
TEST(FuzzRegression, AYamlEscapeThatYamlCppReadsAsNonUtf8SkipsTheVersion) {
  const char found[] =
    "openapi: 3.0*0\ninfo:\n  title: &t \"Anchored: title\"\n  summary: ''\n  description: \"\\NULL first line "
    "\x00\x00\x00\x00\x00\x08\x00\x00""after blanks\\nsecond\"\n  x-category): [OPEN, Public]\n  x-pricing: paid\n  "
    "x-links:\n    same: *t\n    numbers: [0, -13, 01, .5, 1e, 0x1F, ~, null, Null, TRUE, yes, '1', \"true\"]\n    "
    "nestopenapi: 3.0+.0\ninfo:\ned ";
  expect_no_finding(fuzz::xroad_openapi, std::string(found, sizeof found - 1));
  expect_no_finding(fuzz::xroad_openapi, "openapi: 3.0.0\ninfo:\n  title: T\n  x-links: {\"a\\N\": \"b\\_\"}\n");

  for (const std::string spec : {"openapi: 3.0.0\ninfo:\n  title: \"Rahvastikuregister\\_API\"\n",
                                 "openapi: 3.0.0\ninfo:\n  title: T\n  description: \"first\\Nsecond\"\n",
                                 "openapi: 3.0.0\ninfo:\n  title: T\n  summary: \"\\_\"\n"}) {
    const auto reading = detail::read_openapi(spec);
    EXPECT_EQ(reading.what, detail::openapi_reading::verdict::skip_warning) << spec;
    EXPECT_NE(reading.message.find("not valid UTF-8 once read"), std::string::npos) << reading.message;
  }
  // The escapes yaml-cpp spells as UTF-8 are fine.
  const auto fine = detail::read_openapi("openapi: 3.0.0\ninfo:\n  title: \"caf\\xe9 \\u00e9 \\L\"\n");
  EXPECT_EQ(fine.what, detail::openapi_reading::verdict::keep) << fine.message;
  EXPECT_EQ(fine.title, "caf\xc3\xa9 \xc3\xa9 \xe2\x80\xa8");
}

// ---- member_codes: text after the mapping ----------------------------------------------------------

// Found by member_codes: two objects one after the other were accepted, the second ignored (on-demand
// parsing stops after the first value). Fixed in include/tributary/source/xroad.hpp
// (parse_member_code_mapping): trailing content is an error.
TEST(FuzzRegression, AMemberCodeMappingWithTextAfterItIsRefused) {
  const std::string found = R"({"90005304GgGGGGGGGGd":{}}{"90005304GgGGGGGGGGd":{}})";
  expect_no_finding(fuzz::member_codes, found);
  for (const std::string& text : {found, R"({"dev":{"1":"2"}} {"prod":{"3":"4"}})"s, R"({"dev":{"1":"2"}}])"s,
                                 R"({"dev":{"1":"2"}} x)"s}) {
    const std::string message = error_of([&] { (void)parse_member_code_mapping(text); }, errc::invalid_config);
    EXPECT_NE(message.find("member code mapping: expected"), std::string::npos) << message;
  }
  // White space after the object is still fine.
  EXPECT_EQ(parse_member_code_mapping("{\"dev\":{\"1\":\"2\"}}\n\t ").canonical("dev", "1"), "2");
}

// ---- store_url: the password in libpq's parse errors -----------------------------------------------

// Found by store_url: libpq's error quoted the whole string, and redact_urls_in, which ends a URL at a
// control character (here one in the user name), hid the part of the password before it; the scrub of
// the whole password after that no longer matched, and the rest showed. Fixed in
// include/tributary/index/postgres/target.hpp (pg_parse_target): the secrets are scrubbed first, then URLs redacted.
TEST(FuzzRegression, LibpqParseErrorsNeverShowThePassword) {
  const std::string found = "ttps\nco:lollec\x07""ctor\np%4s:w0rd\ns\xff\xff\xff\xff\xff\xff""a";
  expect_no_finding(fuzz::store_url, found);
  const std::string message = error_of([] { (void)detail::pg_parse_target("ttps://co:lollec\x07""ctor:p%4s:w0rd@sa"); },
                                       errc::invalid_config);
  EXPECT_EQ(message.find("w0rd"), std::string::npos) << message;
  EXPECT_NE(message.find("missing \"=\""), std::string::npos) << message;

  // A password with | (or { } \ ^ ` " < >) in a URL libpq cannot parse: before, "***|w0rd".
  for (const std::string url : {"postgres://alice:Pa55|w0rd@[::1/catalogue", "postgre://alice:Pa55|w0rd@db/catalogue"}) {
    const std::string m = error_of([&] { (void)detail::pg_parse_target(url); }, errc::invalid_config);
    EXPECT_EQ(m.find("w0rd"), std::string::npos) << m;
    EXPECT_NE(m.find("alice:***@"), std::string::npos) << m;
  }
}

// Found by store_url: libpq ends the user info at the first @ (before any /), pg_url_secrets at the last
// @ of the authority; with an @ after the password, libpq quoted the password it read ("invalid
// percent-encoded token") and nothing scrubbed it. Fixed in include/tributary/index/postgres/target.hpp
// (pg_url_secrets): libpq's password is a secret too.
TEST(FuzzRegression, ThePasswordLibpqReadsIsScrubbedToo) {
  const std::string found =
    "postgresql\n\n%zzsecret\n[::1]:t@5432/db?appli#ation_name=x&password=otheron\ncnecting to";
  expect_no_finding(fuzz::store_url, found);
  const std::string url = "postgresql://:%zzsecret@[::1]:t@5432/db?application_name=x";
  // The password as written, libpq's, what libpq reads as the host while it ends the password as written,
  // and what it reads as the port (ThePortLibpqReadsInAPasswordIsScrubbed).
  EXPECT_EQ(detail::pg_url_secrets(url), (std::vector<std::string>{"%zzsecret@[::1]:t", "%zzsecret", "[::1]:t", "t@5432"}));
  const std::string message = error_of([&] { (void)detail::pg_parse_target(url); }, errc::invalid_config);
  EXPECT_EQ(message.find("zzsecret"), std::string::npos) << message;
  // A password with % and @ in it as typed: libpq reads "p%zz" and quotes it.
  const std::string m = error_of([] { (void)detail::pg_parse_target("postgres://u:p%zz@ss@db/x"); }, errc::invalid_config);
  EXPECT_EQ(m.find("p%zz"), std::string::npos) << m;
  // Unchanged where both agree.
  EXPECT_EQ(detail::pg_url_secrets("postgres://me:hun%40ter2@h/db?password=q2"),
            (std::vector<std::string>{"hun%40ter2", "q2"}));
}

// ---- redact: URLs in text whose password holds | { } \ ^ ` " < > -------------------------------------

// Found by redact once its free-text check took passwords with characters that end a URL in text: the
// URL ended inside the password, redact_url hid the part before, and the rest showed
// ("https://alice:***|w0rd@..."). A first fix extended the URL to the next @ once; the fuzzer then found
// a password whose " and @ and a host with another " and @ still ended it early. Fixed in
// include/tributary/redact.hpp (redact_urls_in): while the authority is not over, an @ before the next
// white space continues the URL, as often as needed.
TEST(FuzzRegression, RedactUrlsInHidesPasswordsWithCharactersThatEndUrlsInText) {
  const std::string found =
    "postgres\ncollector\ns3c\xf2""butqry\"ssl@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@mode=requllector\n"
    "s3c\xf2""butqry\"ssl@@@@@@ire";
  expect_no_finding(fuzz::redact, found);
  expect_no_finding(fuzz::redact, "https\nalice\nPa55|w0rd\nss.example:8443/listClients\nlistClients failed:");

  EXPECT_EQ(redact_urls_in("listClients https://alice:Pa55|w0rd@ss.example:8443/listClients failed: GET "
                           "https://alice:Pa55|w0rd@ss.example:8443/listClients: Couldn't connect"),
            "listClients https://alice:***@ss.example:8443/listClients failed: GET "
            "https://alice:***@ss.example:8443/listClients: Couldn't connect");
  for (const std::string password : {"a{b}c", "a\\b", "a^b", "a`b", "a\"b", "a<b>", "a|b|c", "a\"b@c|d"})
    EXPECT_EQ(redact_urls_in("at http://u:" + password + "@h:1/x."), "at http://u:***@h:1/x.") << password;
  // What ended URLs before still does when no user info goes on after it.
  EXPECT_EQ(redact_urls_in("<https://u:pw@h>"), "<https://u:***@h>");
  EXPECT_EQ(redact_urls_in("in URI: \"postgresql://me:hunter2@[::1/db\""), "in URI: \"postgresql://me:***@[::1/db\"");
  EXPECT_EQ(redact_urls_in("\"http://a\" and \"b@c\""), "\"http://a\" and \"b@c\"");
  EXPECT_EQ(redact_urls_in("see \"http://host/x\"<alice@example.com>"), "see \"http://host/x\"<alice@example.com>");
}

// ---- elasticsearch_responses: what a cluster answers ------------------------------------------------

// Found by elasticsearch_responses (UndefinedBehaviorSanitizer): a version part of ten or more digits in
// GET / overflowed an int in search_server::parse. Fixed in include/tributary/index/elasticsearch.hpp: such a
// number is not a version, errc::store_unavailable.
TEST(FuzzRegression, AVersionNumberTooLongForAnIntIsNotAServer) {
  const std::string found =
    "k2{\"version\":{\"number\":\"7.7777777777777777777777777777777777777777710.2\"}}\x1e"
    "2{\"docs\":{\"aliases\":{\"stale\":{}}},\"old\":{\"aliases\":{\"live\":{}}}}";
  expect_no_finding(fuzz::elasticsearch_responses, found);
  for (const std::string number : {"7.7777777777777777777777777777777777777777710.2", "99999999999", "8.2147483648"}) {
    const std::string message = error_of([&] { (void)search_server::parse(R"({"version":{"number":")" + number + "\"}}"); },
                                         errc::store_unavailable);
    EXPECT_NE(message.find("is not a version"), std::string::npos) << message;
  }
  const auto s = search_server::parse(R"({"version":{"number":"999999999.11.1"}})");
  EXPECT_EQ(s.major, 999999999);
  EXPECT_EQ(s.minor, 11);
}

// Found while checking that elasticsearch_responses reaches the _bulk parser (and then by the target on
// that input, under AddressSanitizer): a _bulk item that is an empty object left the item's outcome a
// default simdjson element, whose use dereferenced null. Fixed in include/tributary/index/elasticsearch.hpp
// (take_bulk_items): such an item is a malformed answer, errc::store_unavailable.
TEST(FuzzRegression, ABulkItemThatNamesNoActionIsAMalformedAnswer) {
  const std::string found = "i2[{\"index\":\"docs\"}]\x1e" "2{\"errors\":true,\"items\":[{},{}]}";
  expect_no_finding(fuzz::elasticsearch_responses, found);

  fuzz::fake_transport transport([](const http_request& r) {
    if (r.url.find("/_cat/indices/") != std::string::npos) return fuzz::answer(200, R"([{"index":"docs"}])");
    return fuzz::answer(200, R"({"took":1,"errors":true,"items":[{"index":{"_index":"docs","status":201}},{}]})");
  });
  elasticsearch_options options;
  options.url = "http://es.test:9200";
  elasticsearch_index<fuzz::fake_transport> es(transport, options);
  const std::vector<stored_document> docs = {{"a", "{}"}, {"b", "{}"}};
  const std::string message = error_of([&] { (void)es.bulk_write("docs", docs); }, errc::store_unavailable);
  EXPECT_EQ(message, "elasticsearch: malformed _bulk response: an item names no action");
}

// Found by elasticsearch_responses: a point-in-time search answered three hits for a page of two, and
// for_each_page handed them on as one page, against its contract (pages of at most page_size). Fixed in
// include/tributary/index/elasticsearch.hpp (pit_pages, scroll_pages): such a page is a malformed answer.
TEST(FuzzRegression, APageWithMoreHitsThanAskedForIsAMalformedAnswer) {
  const auto hit = [](const std::string& id) {
    return R"({"_index":"docs","_id":")" + id + R"(","_source":{"tributary_id":")" + id + R"("},"sort":[")" + id + "\"]}";
  };
  const std::string three = R"({"pit_id":"pit-2","_scroll_id":"s1","hits":{"hits":[)" + hit("a") + "," + hit("b") + "," +
                            hit("c") + "]}}";
  expect_no_finding(fuzz::elasticsearch_responses, "h2[{\"index\":\"docs\"}]\x1e" "2{\"version\":{\"number\":\"8.11.1\"}}\x1e"
                                                   "2{\"id\":\"pit-1\"}\x1e" "2" + three + "\x1e" "2{\"succeeded\":true}");
  // Elasticsearch 8 pages in a point in time, OpenSearch 1.3 in a scroll.
  for (const std::string version : {R"({"number":"8.11.1"})", R"({"distribution":"opensearch","number":"1.3.0"})"}) {
    fuzz::fake_transport transport([&](const http_request& r) {
      if (r.url.find("/_cat/indices/") != std::string::npos) return fuzz::answer(200, R"([{"index":"docs"}])");
      if (r.url.ends_with(":9200/")) return fuzz::answer(200, R"({"version":)" + version + "}");
      if (r.url.find("/_pit?") != std::string::npos) return fuzz::answer(200, R"({"id":"pit-1"})");
      if (r.method == "DELETE") return fuzz::answer(200, R"({"succeeded":true})");
      return fuzz::answer(200, three);
    });
    elasticsearch_options options;
    options.url = "http://es.test:9200/";
    elasticsearch_index<fuzz::fake_transport> es(transport, options);
    std::size_t pages = 0;
    const std::string message = error_of([&] { es.for_each_page("docs", 2, [&](std::vector<stored_document>&&) { ++pages; }); },
                                         errc::store_unavailable);
    EXPECT_EQ(message, "elasticsearch: asked for a page of 2 hits, the server answered 3") << version;
    EXPECT_EQ(pages, 0u);
  }
}

// Found by store_url: with an @ in the user name (Azure's user@server form, unescaped), libpq reads the
// user up to that @, the rest as host and port, and has no password; the password as written then showed
// in the store's description (postgres://c@llectorert3:cs@db...) and in libpq's "invalid integer value
// ... for connection option port". Fixed in include/tributary/index/postgres/target.hpp (pg_target::scrub):
// descriptions and every libpq message are scrubbed of the URL's secrets as written too.
TEST(FuzzRegression, APasswordAfterAnAtInTheUserNameNeverShows) {
  const std::string found = "postgres\nc@llectorert3\ncs\ndb.\xe5""ataloind='sc bname=ca\xff""t\xff""a";
  expect_no_finding(fuzz::store_url, found);
  const std::string url = "postgres://myadmin@mydemoserver:Passw0rd@127.0.0.1/catalogue";
  const auto target = detail::pg_parse_target(url);
  EXPECT_EQ(target.description, "postgres://myadmin@mydemoserver:***@127.0.0.1/catalogue");
  // libpq refuses the port "Passw0rd@127.0.0.1" before it connects to anything.
  const std::string message = error_of([&] { (void)postgres_index::open_url(url); }, errc::store_unavailable);
  EXPECT_EQ(message.find("Passw0rd"), std::string::npos) << message;
  EXPECT_NE(message.find("***@127.0.0.1"), std::string::npos) << message;
}

// Found by store_url (CI, session 15): an @ and then a colon in the password as typed
// (postgres://me:pa55@h:w0rd%zz@db). libpq reads the user info up to the first @, "h" as the host and
// "w0rd%zz@db" as the port, and its parse error quoted that port whole: the end of the password. Fixed in
// include/tributary/index/postgres/target.hpp (pg_url_secrets): the port libpq reads there is a secret too.
TEST(FuzzRegression, ThePortLibpqReadsInAPasswordIsScrubbed) {
  const std::string found = "postgres\nc\xb1\xb1\xb1\xb1\xb1\xb1\x9f\xb1\xb1\xb1t:toor@d\ns3cret\ndb.ina=%=require";
  expect_no_finding(fuzz::store_url, found);
  const std::string url = "postgres://me:pa55@h:w0rd%zz@db.internal/x";
  EXPECT_EQ(detail::pg_url_secrets(url), (std::vector<std::string>{"pa55@h:w0rd%zz", "pa55", "h:w0rd%zz", "w0rd%zz@db.internal"}));
  const std::string message = error_of([&] { (void)detail::pg_parse_target(url); }, errc::invalid_config);
  EXPECT_EQ(message.find("w0rd"), std::string::npos) << message;
  EXPECT_EQ(message.find("pa55"), std::string::npos) << message;
  // Where the colon comes after the last @, what libpq reads as the port is not the password's.
  EXPECT_EQ(detail::pg_url_secrets("postgres://me:pa55@h@db:5432/x"), (std::vector<std::string>{"pa55@h", "pa55", "h"}));
}

// Found by store_url (CI, stop 21): an @ in the password and a colon in the user name as typed
// (postgres://user::@]...r@s). libpq reads the user info up to the first @ (password ":") and the rest as
// the host, so the description built from its parse showed "@]...r", the password as typed. Fixed in
// include/tributary/index/postgres/target.hpp: a URL whose user info libpq reads otherwise than RFC 3986 is
// described as written, redacted, and the part libpq takes for the host is scrubbed from its messages.
TEST(FuzzRegression, APasswordHoldingAnAtNeverShowsInTheDescription) {
  const std::string found = "postgres\ns0cre4[postgbecDD\x97""Dl:\n@]\x89""\x89""\x89""\x89""\x89""\x89""\x89""\x89""r\ns\n"
                            "\x89""%equ\xff""\xff""re";
  expect_no_finding(fuzz::store_url, found);
  const std::string url = "postgres://me:pa55@w0rd@db.internal/catalogue";
  EXPECT_EQ(detail::pg_parse_target(url).description, "postgres://me:***@db.internal/catalogue");
  // libpq connects to the host "w0rd@db.internal": its error must quote neither part of the password.
  const std::string message = error_of([&] { (void)postgres_index::open_url(url); }, errc::store_unavailable);
  EXPECT_EQ(message.find("w0rd"), std::string::npos) << message;
  EXPECT_EQ(message.find("pa55"), std::string::npos) << message;
  EXPECT_NE(message.find("***@db.internal"), std::string::npos) << message;
}

// Found by store_url (CI, session 22): libpq cuts the token it quotes ("missing "=" after "..."") at white
// space, so a password with a tab in it was quoted only up to the tab; a control character in the user
// name kept redact_urls_in from taking the text for a URL, and no scrub of the whole password matched its
// beginning. Fixed in include/tributary/index/postgres/target.hpp (pg_mask_quoted_input): every piece of
// the input a message quotes is shown with the input's secret bytes in it masked, wherever libpq cut it.
TEST(FuzzRegression, ThePartOfAPasswordLibpqQuotesNeverShows) {
  const std::string found = "h\n\x0e\x01\x01\x01\x01\x01\x01\x01@\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01~"
                            "\x01\x01!s\nqsqlte:\nastic:tchga%em@\xff\tn\xff\x08""e56w@h/dpostgrec";
  expect_no_finding(fuzz::store_url, found);
  for (const std::string url : {"pg://m\x01""e:s3cret\tw0rd@db/x", "h://\x01me:s3cret w0rd@db/x"}) {
    const std::string message = error_of([&] { (void)detail::pg_parse_target(url); }, errc::invalid_config);
    EXPECT_EQ(message.find("s3cret"), std::string::npos) << message;
    EXPECT_NE(message.find("e:***\" in connection info string"), std::string::npos) << message;
  }
}

// ---- http1_request: edge cases of the server's request syntax ----------------------------------------

// Not findings: inputs at the edges the target's properties speak of (a malformed escape kept as sent,
// '+' and %2B, an unfinished head, leading empty lines, a Transfer-Encoding other than chunked).
TEST(FuzzRegression, Http1RequestEdgeCasesHoldTheTargetsProperties) {
  for (const char* input : {"GET /p?%zz+%41=%2&%=&a+b=c%2Bd#x&y=1 HTTP/1.1\r\nHost: h\r\n\r\n",
                            "GET /?a=%C3%A4%00 HTTP/1.1\r\nHost: h\r\nContent-Length: 007\r\n\r\n",
                            "\r\n\r\nGET / HTTP/1.0\r\n\r\n",
                            "GET / HTTP/1.1\r\nHost: h\r\n",
                            "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n",
                            "GET / HTTP/2.0\r\n\r\n",
                            "/only?a=1&&b"})
    expect_no_finding(fuzz::http1_request, input);
}

// ---- the seeds ---------------------------------------------------------------------------------------

TEST(FuzzRegression, EverySeedPassesItsTarget) {
  // From ctest's environment (ccache's base_dir makes __FILE__ relative); __FILE__ when run by hand.
  const char* source_dir = std::getenv("TRIBUTARY_SOURCE_DIR");
  const fs::path corpus =
      (source_dir ? fs::path(source_dir) : fs::path(__FILE__).parent_path().parent_path()) / "fuzz" / "corpus";
  const std::map<std::string, std::function<void(std::string_view)>> targets = {
    {"xroad_list_clients", fuzz::xroad_list_clients},
    {"xroad_list_methods", fuzz::xroad_list_methods},
    {"xroad_openapi", fuzz::xroad_openapi},
    {"document_json", fuzz::document_json},
    {"elasticsearch_responses", fuzz::elasticsearch_responses},
    {"store_url", fuzz::store_url},
    {"redact", fuzz::redact},
    {"member_codes", fuzz::member_codes},
    {"http1_request", fuzz::http1_request},
    {"postgres_documents", fuzz::postgres_documents},
  };
  for (const auto& [name, target] : targets) {
    ASSERT_TRUE(fs::is_directory(corpus / name)) << corpus / name;
    int seeds = 0;
    for (const auto& entry : fs::directory_iterator(corpus / name)) {
      std::ifstream in(entry.path(), std::ios::binary);
      std::ostringstream text;
      text << in.rdbuf();
      SCOPED_TRACE(entry.path().string());
      expect_no_finding(target, text.str());
      ++seeds;
    }
    EXPECT_GE(seeds, 3) << name;
  }
}

}  // namespace
}  // namespace tributary
