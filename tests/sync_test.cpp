// The write-enabled collector API (SYNC.md, seed 004): RFC 8785 canonical form and its SHA-256 against
// the RFC's own examples; API keys; and the sync server over real loopback HTTP with curl_transport as
// the client, on memory_index, sqlite_index and postgres_index (a live server from TRIBUTARY_POSTGRES_URL,
// skipped without one), holding SYNC.md's invariants: an item is stored once whatever the interleaving
// of collectors (threads; several API servers over their own connections to one database; servers in
// several processes), nothing stored is modified through the API, a tampered hash is never stored, and
// no request without a valid key or over a limit changes anything.

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <type_traits>
#include <vector>

#include <simdjson.h>

#include <tributary/clock/manual.hpp>
#include <tributary/execution/thread_pool.hpp>
#include <tributary/index/memory.hpp>
#include <tributary/index/postgres.hpp>
#include <tributary/index/sqlite.hpp>
#include <tributary/server/http_server.hpp>
#include <tributary/clock/wall.hpp>
#include <tributary/sync/canonical_json.hpp>
#include <tributary/sync/client.hpp>
#include <tributary/sync/keys.hpp>
#include <tributary/sync/server.hpp>
#include <tributary/transport/curl.hpp>

#include "support/common.hpp"
#include "support/postgres.hpp"
#include "../examples/sync/key_file.hpp"

namespace tributary {
namespace {

using namespace std::chrono_literals;
using tributary::testing::cat;
using tributary::testing::contains;
using tributary::testing::thrown_by;

// --- RFC 8785 ---------------------------------------------------------------------------------------

double from_bits(std::uint64_t bits) {
  double d;
  std::memcpy(&d, &bits, sizeof d);
  return d;
}
std::string es(double d) {
  std::string out;
  detail::append_ecmascript_number(out, d);
  return out;
}

TEST(CanonicalJson, WritesNumbersAsTheRfcsAppendixB) {
  // RFC 8785 Appendix B: IEEE 754 bit patterns and their canonical text.
  const std::pair<std::uint64_t, const char*> samples[] = {
    {0x0000000000000000, "0"},
    {0x8000000000000000, "0"},  // minus zero
    {0x0000000000000001, "5e-324"},
    {0x8000000000000001, "-5e-324"},
    {0x7fefffffffffffff, "1.7976931348623157e+308"},
    {0xffefffffffffffff, "-1.7976931348623157e+308"},
    {0x4340000000000000, "9007199254740992"},
    {0xc340000000000000, "-9007199254740992"},
    {0x4430000000000000, "295147905179352830000"},
    {0x44b52d02c7e14af5, "9.999999999999997e+22"},
    {0x44b52d02c7e14af6, "1e+23"},
    {0x44b52d02c7e14af7, "1.0000000000000001e+23"},
    {0x444b1ae4d6e2ef4e, "999999999999999700000"},
    {0x444b1ae4d6e2ef4f, "999999999999999900000"},
    {0x444b1ae4d6e2ef50, "1e+21"},
    {0x3eb0c6f7a0b5ed8c, "9.999999999999997e-7"},
    {0x3eb0c6f7a0b5ed8d, "0.000001"},
    {0x41b3de4355555553, "333333333.3333332"},
    {0x41b3de4355555554, "333333333.33333325"},
    {0x41b3de4355555555, "333333333.3333333"},
    {0x41b3de4355555556, "333333333.3333334"},
    {0x41b3de4355555557, "333333333.33333343"},
    {0xbecbf647612f3696, "-0.0000033333333333333333"},
    {0x43143ff3c1cb0959, "1424953923781206.2"},
  };
  for (const auto& [bits, text] : samples) {
    EXPECT_EQ(es(from_bits(bits)), text) << std::hex << bits;
    // Read from its own text, each canonicalizes to itself.
    EXPECT_EQ(canonical_json(text), text) << text;
  }
  // Appendix B's invalid ones (NaN, Infinity) cannot be written in JSON; a number that overflows to
  // infinity is refused instead, while one that underflows reads as 0, as JSON.parse reads it.
  EXPECT_TRUE(contains(thrown_by([] { (void)canonical_json("1e400"); }).what(), "too large for a double"));
  EXPECT_TRUE(contains(thrown_by([] { (void)canonical_json("-123456789e301"); }).what(), "too large for a double"));
  EXPECT_EQ(canonical_json("1e-400"), "0");
  EXPECT_EQ(canonical_json("-0.000000e-999999999999999999999"), "0");
  EXPECT_EQ(canonical_json("-0"), "0");
  EXPECT_EQ(canonical_json("-0.0"), "0");
}

TEST(CanonicalJson, MatchesTheRfcsMainExample) {
  // RFC 8785 section 3.2.2 (and its bytes in 3.2.4).
  const std::string input = R"({
    "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
    "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
    "literals": [null, true, false]
  })";
  EXPECT_EQ(canonical_json(input),
            "{\"literals\":[null,true,false],\"numbers\":[333333333.3333333,1e+30,4.5,0.002,1e-27],"
            "\"string\":\"\xE2\x82\xAC$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}");
}

TEST(CanonicalJson, SortsMembersByUtf16CodeUnits) {
  // RFC 8785 section 3.2.3: U+1F600 (a surrogate pair, 0xD83D...) sorts before U+FB33, though its UTF-8
  // bytes (F0 ...) sort after (EF ...).
  const std::string input = R"({
    "\u20ac": "Euro Sign",
    "\r": "Carriage Return",
    "\ufb33": "Hebrew Letter Dalet With Dagesh",
    "1": "One",
    "\ud83d\ude00": "Emoji: Grinning Face",
    "\u0080": "Control",
    "\u00f6": "Latin Small Letter O With Diaeresis"
  })";
  const std::string out = canonical_json(input);
  const char* order[] = {"Carriage Return", "One", "Control", "Latin Small Letter O With Diaeresis", "Euro Sign",
                         "Emoji: Grinning Face", "Hebrew Letter Dalet With Dagesh"};
  std::size_t last = 0;
  for (const char* name : order) {
    const auto at = out.find(name);
    ASSERT_NE(at, std::string::npos) << name;
    EXPECT_GT(at, last) << name << " out of order in " << out;
    last = at;
  }
  EXPECT_TRUE(out.starts_with("{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\xC2\x80\":\"Control\"")) << out;
  EXPECT_EQ(canonical_json(R"({"b":{"z":1,"y":[{"d":1,"c":2}]},"a":[]})"), R"({"a":[],"b":{"y":[{"c":2,"d":1}],"z":1}})")
      << "sorted recursively; arrays keep their order";
}

TEST(CanonicalJson, EscapesStringsAsEcmaScriptDoes) {
  EXPECT_EQ(canonical_json(R"("\u0000\u001F\b\t\n\f\r\u007f\u2028/\/")"),
            "\"\\u0000\\u001f\\b\\t\\n\\f\\r\x7F\xE2\x80\xA8//\"");
  EXPECT_EQ(canonical_json("\"\xF0\x9F\x98\x80 \\ud83d\\ude00\""), "\"\xF0\x9F\x98\x80 \xF0\x9F\x98\x80\"")
      << "an escaped pair and its UTF-8 are one character";
  EXPECT_EQ(canonical_json(" \t\r\n[ 1 , { } , [ ] , \"\" ]\n"), "[1,{},[],\"\"]");
  EXPECT_EQ(canonical_json("[100, 1.0e2, 0.5e-0, 12345678901234567890]"), "[100,100,0.5,12345678901234567000]");
}

TEST(CanonicalJson, RefusesWhatCannotBeCanonicalizedNamingTheProblem) {
  const std::pair<std::string, const char*> bad[] = {
    {R"({"a":1,"b":2,"a":3})", "duplicate member name \"a\""},
    {R"({"\u0061":1,"a":2})", "duplicate member name"},
    {R"("\udc00")", "lone low surrogate"},
    {R"("\ud800")", "lone high surrogate"},
    {R"("\ud800\u0041")", "not followed by a low one"},
    {"\"\xFF\"", "invalid UTF-8"},
    {"\"\xC0\xAF\"", "invalid UTF-8"},        // overlong '/'
    {"\"\xED\xA0\x80\"", "invalid UTF-8"},    // a surrogate in UTF-8
    {"\"\xF4\x90\x80\x80\"", "invalid UTF-8"},  // above U+10FFFF
    {"\"\xE2\x82\"", "UTF-8"},
    {"\"a\tb\"", "unescaped control character"},
    {"\"\\x\"", "bad escape"},
    {"[1,]", "unexpected character"},
    {"[1 2]", "expected ',' or ']'"},
    {"{\"a\" 1}", "expected ':'"},
    {"{1:2}", "expected a member name"},
    {"01", "leading zero"},
    {"1.", "a fraction needs digits"},
    {"1e+", "an exponent needs digits"},
    {"-", "a number needs digits"},
    {"+1", "unexpected character"},
    {"NaN", "unexpected character"},
    {"tru", "invalid literal"},
    {"nulll", "unexpected content after the JSON value"},
    {"[1] x", "unexpected content after the JSON value"},
    {"", "unexpected end"},
    {"\"abc", "unterminated string"},
  };
  for (const auto& [text, problem] : bad) {
    const error e = thrown_by([&text = text] { (void)canonical_json(text); });
    EXPECT_EQ(e.code(), errc::bad_document) << text;
    EXPECT_TRUE(contains(e.what(), problem)) << text << ": " << e.what();
    EXPECT_TRUE(contains(e.what(), "at byte ")) << e.what();
  }
  std::string deep(max_canonical_depth, '[');
  deep += std::string(max_canonical_depth, ']');
  EXPECT_EQ(canonical_json(deep), deep);
  const error e = thrown_by([&] { (void)canonical_json("[" + deep + "]"); });
  EXPECT_TRUE(contains(e.what(), "nesting deeper than 256")) << e.what();
}

TEST(CanonicalJson, HashesTheCanonicalFormWithSha256) {
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");  // FIPS 180-2
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  const auto a = canonicalize(R"({"b": [1.0, "x"], "a": null})");
  EXPECT_EQ(a.json, R"({"a":null,"b":[1,"x"]})");
  EXPECT_EQ(a.hash, sha256_hex(a.json));
  EXPECT_EQ(canonical_hash("{\"a\":null,\"b\":[1e0,\"\\u0078\"]}"), a.hash) << "one item, two spellings, one hash";
  EXPECT_NE(canonical_hash(R"({"a":null,"b":[1,"y"]})"), a.hash);
  EXPECT_TRUE(is_canonical_hash(a.hash));
  EXPECT_FALSE(is_canonical_hash(std::string(64, 'A')));
  EXPECT_FALSE(is_canonical_hash(std::string(63, 'a')));
  EXPECT_FALSE(is_canonical_hash(std::string(64, 'g')));
}

// --- keys --------------------------------------------------------------------------------------------

TEST(ApiKeys, AreStoredOnlyAsASaltedHashAndVerifiedUntilRevoked) {
  memory_index store;
  basic_key_store keys(store);
  const auto created = keys.create("collector one", {"collector"});
  ASSERT_TRUE(created.key.starts_with("trb_" + created.info.tag + "_")) << "the tag is public";
  EXPECT_EQ(created.key.size(), 4u + 16u + 1u + 64u);
  const std::string secret = created.key.substr(4 + 16 + 1);

  const auto record = store.get("sync-keys", std::vector<std::string>{created.info.tag});
  ASSERT_TRUE(record.front());
  EXPECT_FALSE(contains(*record.front(), secret)) << "the store never holds the secret";
  EXPECT_TRUE(contains(*record.front(), "\"salt\":\"")) << *record.front();

  const auto verified = keys.verify(created.key);
  ASSERT_TRUE(verified);
  EXPECT_EQ(verified->name, "collector one");
  EXPECT_TRUE(verified->has_scope(collector_scope));
  EXPECT_FALSE(verified->has_scope(admin_scope));

  std::string wrong = created.key;
  wrong.back() = wrong.back() == '0' ? '1' : '0';
  EXPECT_FALSE(keys.verify(wrong)) << "one digit of the secret off";
  EXPECT_FALSE(keys.verify("trb_0000000000000000_" + secret)) << "unknown tag";
  EXPECT_FALSE(keys.verify(created.key.substr(1))) << "malformed";
  EXPECT_FALSE(keys.verify(""));

  const auto second = keys.create("admin", {"admin", "collector"});
  EXPECT_NE(second.info.tag, created.info.tag);
  EXPECT_EQ(keys.list().size(), 2u);
  EXPECT_TRUE(keys.revoke(created.info.tag));
  EXPECT_FALSE(keys.verify(created.key)) << "revoked";
  EXPECT_TRUE(keys.verify(second.key));
  EXPECT_FALSE(keys.revoke("ffffffffffffffff"));
  const auto listed = keys.list();
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(std::count_if(listed.begin(), listed.end(), [](const api_key_info& k) { return k.revoked; }), 1);

  EXPECT_EQ(thrown_by([&] { (void)keys.create("x", {"root"}); }).code(), errc::invalid_config);
  EXPECT_EQ(thrown_by([&] { (void)keys.create("x", {}); }).code(), errc::invalid_config);
}

// --- the server over loopback -----------------------------------------------------------------------

const curl_library& curl() {
  static const curl_library library;  // one per test process, as curl_global_init wants
  return library;
}

/// An item of the collection: its data as a collector might write it, and its canonical hash.
struct test_item {
  std::string data;
  std::string hash;
};
test_item item(int n, std::string_view flavour = "") {
  test_item it;
  it.data = cat("{\"vorgang_id\": \"v", std::to_string(n), "\", \"titel\": \"Gesetz ", std::to_string(n), std::string(flavour),
                "\", \"stand\": ", std::to_string(n), ".50}");
  it.hash = canonical_hash(it.data);
  return it;
}
std::string hashes_body(const std::vector<std::string>& hashes) {
  std::string b = "{\"hashes\":[";
  for (std::size_t i = 0; i < hashes.size(); ++i) b += cat(i ? ",\"" : "\"", hashes[i], "\"");
  return b + "]}";
}
std::string data_body(const std::vector<test_item>& items) {
  std::string b = "{\"items\":[";
  for (std::size_t i = 0; i < items.size(); ++i) b += cat(i ? "," : "", "{\"hash\":\"", items[i].hash, "\",\"data\":", items[i].data, "}");
  return b + "]}";
}
std::vector<std::string> strings_at(const std::string& json, std::string_view key) {
  simdjson::dom::parser parser;
  std::vector<std::string> out;
  for (const simdjson::dom::element e : simdjson::dom::array(parser.parse(simdjson::padded_string(json))[key]))
    out.emplace_back(std::string_view(e));
  return out;
}
/// The "status" of each result of a /data answer.
std::vector<std::string> statuses(const std::string& json) {
  simdjson::dom::parser parser;
  std::vector<std::string> out;
  for (const simdjson::dom::element r : simdjson::dom::array(parser.parse(simdjson::padded_string(json))["results"]))
    out.emplace_back(std::string_view(r["status"]));
  return out;
}

// A backend opens the store, opens it again after a restart, and gives a second connection to the
// same data: what a second API server sharing the database has.
struct memory_store {
  using store_type = memory_index;
  static bool available() { return true; }
  std::unique_ptr<memory_index> open() { return std::make_unique<memory_index>(); }
  /// A restart keeps the store: memory is the process's, so only the server objects are new.
  void reopen(std::unique_ptr<memory_index>&) {}
  /// Memory has no second connection: nullptr, and the second server shares the first one's store.
  std::unique_ptr<memory_index> second_connection() { return nullptr; }
};
struct sqlite_store {
  using store_type = sqlite_index;
  tributary::testing::scratch_database db;
  static bool available() { return true; }
  std::unique_ptr<sqlite_index> open() { return std::make_unique<sqlite_index>(db.path()); }
  /// A restart opens the same file afresh: whatever survives is on disk.
  void reopen(std::unique_ptr<sqlite_index>& store) {
    store.reset();
    store = open();
  }
  std::unique_ptr<sqlite_index> second_connection() { return open(); }
};
/// A live PostgreSQL server (TRIBUTARY_POSTGRES_URL), in a schema of the test's own: skipped without one.
struct postgres_store {
  using store_type = postgres_index;
  std::optional<tributary::testing::scratch_schema> schema =
      tributary::testing::postgres_url() ? std::optional<tributary::testing::scratch_schema>(std::in_place, *tributary::testing::postgres_url())
                                         : std::nullopt;
  bool available() const { return schema.has_value(); }
  std::unique_ptr<postgres_index> open() { return std::make_unique<postgres_index>(schema->url(), schema->options()); }
  /// A restart is a new connection: whatever survives is in the database.
  void reopen(std::unique_ptr<postgres_index>& store) {
    store.reset();
    store = open();
  }
  std::unique_ptr<postgres_index> second_connection() { return open(); }
};

template <class Backend>
class SyncServer : public ::testing::Test {
 public:  // slu_collector calls in
  using store_type = typename Backend::store_type;
  using sync_server = basic_sync_server<store_type, manual_clock>;

  SyncServer() {
    if (!backend_.available()) {
      tributary::testing::skip_without_server();  // GoogleTest then skips the body
      return;
    }
    store_ = backend_.open();
    keys_.emplace(*store_);
  }

  void start(sync_limits limits = generous()) {
    limits_ = limits;
    listen();
    collector_key_ = keys_->create("collector", {"collector"}).key;
  }
  void listen() {
    sync_server_options o;
    o.limits = limits_;
    server_options http;
    http.max_body_bytes = 1 << 20;
    server_ = std::make_unique<basic_http_server<sync_server>>(pool_, sync_server(*store_, clock_, o), http);
    server_->start();
  }
  /// The server stopped and a new one started (on a new port) over the store opened again.
  void restart() {
    server_.reset();
    backend_.reopen(store_);
    keys_.emplace(*store_);
    listen();
  }
  static sync_limits generous() {
    sync_limits l;
    l.requests_per_second = 1000;
    l.burst = 1000;
    return l;
  }

  http_response call(std::string method, const std::string& path, std::string body, std::optional<std::string> key) {
    http_request r;
    r.method = std::move(method);
    r.url = server_->base_url() + path;
    r.body = std::move(body);
    r.idempotent = false;
    r.retry_on_status = false;
    r.headers.emplace_back("Content-Type", "application/json");
    if (key) r.headers.emplace_back("X-API-Key", *key);
    return client_.perform(std::move(r));
  }
  http_response put(const std::string& endpoint, std::string body) {
    return call("PUT", "/api/v1/collector/" + endpoint, std::move(body), collector_key_);
  }

  /// Every document of both indices: what a refused request must leave as it was.
  std::vector<stored_document> snapshot() const {
    std::vector<stored_document> out;
    for (const char* index : {"sync-items", "sync-keys"}) {
      std::string after;
      for (;;) {
        auto page = store_->scan(index, after, 1000);
        out.insert(out.end(), page.documents.begin(), page.documents.end());
        if (page.done) break;
        after = page.next_after;
      }
    }
    return out;
  }
  std::size_t stored_items() const {
    std::size_t n = 0;
    std::string after;
    for (;;) {
      auto page = store_->scan("sync-items", after, 1000);
      n += page.documents.size();
      if (page.done) return n;
      after = page.next_after;
    }
  }

  static curl_options one_attempt() {
    curl_options o;
    o.max_attempts = 1;
    o.connect_timeout = 5s;
    o.total_timeout = 30s;
    return o;
  }

  sync_limits limits_;
  Backend backend_;
  std::unique_ptr<store_type> store_;
  std::optional<basic_key_store<store_type>> keys_;
  manual_clock clock_;
  thread_pool pool_{4, 64};
  std::unique_ptr<basic_http_server<sync_server>> server_;
  curl_transport client_{curl(), one_attempt()};
  std::string collector_key_;
};

using backends = ::testing::Types<memory_store, sqlite_store, postgres_store>;
TYPED_TEST_SUITE(SyncServer, backends);

TYPED_TEST(SyncServer, NegotiatesHashesThenStoresOnlyTheUnknownData) {
  this->start();
  const auto a = item(1), b = item(2);
  auto res = this->put("data", data_body({a}));
  ASSERT_EQ(res.status, 200) << res.error << res.body;
  EXPECT_EQ(statuses(res.body), std::vector<std::string>{"stored"});

  // CUP steps 1-3: the database answers the hashes it does not know.
  res = this->put("hashes", hashes_body({a.hash, b.hash, b.hash}));
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(res.header("Content-Type"), "application/json");
  EXPECT_EQ(strings_at(res.body, "unknown"), std::vector<std::string>{b.hash}) << "known ones left out, a repeat answered once";

  // Step 4: the data for them.
  res = this->put("data", data_body({b}));
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(statuses(res.body), std::vector<std::string>{"stored"});
  EXPECT_TRUE(contains(res.body, "\"stored\":1,\"exists\":0,\"rejected\":0,\"failed\":0")) << res.body;
  EXPECT_EQ(strings_at(this->put("hashes", hashes_body({a.hash, b.hash})).body, "unknown"), std::vector<std::string>{});

  // Stored under the hash, as the canonical form.
  const auto docs = this->store_->get("sync-items", std::vector<std::string>{a.hash, b.hash});
  ASSERT_TRUE(docs[0] && docs[1]);
  EXPECT_EQ(*docs[0], canonical_json(a.data));
  EXPECT_EQ(sha256_hex(*docs[1]), b.hash) << "every stored document hashes to its id";

  // The data accepts any JSON object, integers beyond 64 bits included (RFC 8785 reads them as doubles).
  test_item big{R"({"n": 295147905179352830000, "m": [1E30]})", ""};
  big.hash = canonical_hash(big.data);
  res = this->put("data", data_body({big}));
  EXPECT_EQ(statuses(res.body), std::vector<std::string>{"stored"}) << res.body;
}

/// What a collector told by /data: `other` counts every answer that was neither stored nor exists.
struct push_counts {
  int stored = 0, exists = 0, other = 0;
};

/// One collector pushing `items` (shuffled by `seed`) with key `key`, in batches of 1 to 7: hashes, then
/// the data of the unknown ones, each request to a server picked at random from `base_urls` (so that a
/// batch's /hashes and /data may go to different servers); a third of the time the data of the whole
/// batch without asking (a collector that skipped the negotiation, or lost the race to another).
push_counts push_interleaved(const std::vector<std::string>& base_urls, const std::string& key,
                             std::vector<test_item> items, unsigned seed) {
  curl_options o;
  o.max_attempts = 1;
  o.connect_timeout = 5s;
  o.total_timeout = 30s;
  curl_transport client(curl(), o);
  std::mt19937 rng(seed);
  std::shuffle(items.begin(), items.end(), rng);
  push_counts counts;
  auto send = [&](const std::string& endpoint, std::string body) {
    http_request r;
    r.method = "PUT";
    r.url = base_urls[rng() % base_urls.size()] + "/api/v1/collector/" + endpoint;
    r.body = std::move(body);
    r.idempotent = false;
    r.headers.emplace_back("X-API-Key", key);
    return client.perform(std::move(r));
  };
  for (std::size_t at = 0; at < items.size();) {
    const std::size_t n = std::min<std::size_t>(1 + rng() % 7, items.size() - at);
    const std::vector<test_item> batch(items.begin() + static_cast<long>(at), items.begin() + static_cast<long>(at + n));
    at += n;
    std::vector<test_item> send_now = batch;
    if (rng() % 3 != 0) {
      std::vector<std::string> hashes;
      for (const auto& it : batch) hashes.push_back(it.hash);
      const auto res = send("hashes", hashes_body(hashes));
      if (res.status != 200) {
        ++counts.other;
        continue;
      }
      const auto unknown = strings_at(res.body, "unknown");
      send_now.clear();
      for (const auto& it : batch)
        if (std::find(unknown.begin(), unknown.end(), it.hash) != unknown.end()) send_now.push_back(it);
      if (send_now.empty()) continue;
    }
    const auto res = send("data", data_body(send_now));
    if (res.status != 200) {
      ++counts.other;
      continue;
    }
    for (const auto& s : statuses(res.body)) ++(s == "stored" ? counts.stored : s == "exists" ? counts.exists : counts.other);
  }
  return counts;
}

TYPED_TEST(SyncServer, StoresAnItemOnceWhateverTheCollectorsAndTheirInterleaving) {
  this->start();
  constexpr int collectors = 6, items_count = 40;
  std::vector<test_item> items;
  for (int i = 0; i < items_count; ++i) items.push_back(item(i));
  std::vector<std::string> keys;
  for (int c = 0; c < collectors; ++c) keys.push_back(this->keys_->create(cat("c", std::to_string(c)), {"collector"}).key);

  std::atomic<int> stored{0}, exists{0}, other{0};
  std::vector<std::thread> threads;
  for (int c = 0; c < collectors; ++c) {
    threads.emplace_back([&, c] {
      const auto n = push_interleaved({this->server_->base_url()}, keys[static_cast<std::size_t>(c)], items, static_cast<unsigned>(c));
      stored += n.stored, exists += n.exists, other += n.other;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(stored.load(), items_count) << "each item told `stored` exactly once, across all collectors";
  EXPECT_EQ(this->stored_items(), static_cast<std::size_t>(items_count));
  for (const auto& it : items) {
    const auto doc = this->store_->get("sync-items", std::vector<std::string>{it.hash});
    ASSERT_TRUE(doc.front());
    EXPECT_EQ(*doc.front(), canonical_json(it.data));
  }
}

TYPED_TEST(SyncServer, SeveralServersOnOneDatabaseStoreEachItemOnce) {
  // Two API servers, each over its own connection to the same database (PostgreSQL: two sessions;
  // SQLite: two connections to one file; memory: one store, two servers), and collectors whose
  // /hashes and /data go to either.
  this->start();
  auto second = this->backend_.second_connection();
  auto& second_store = second ? *second : *this->store_;
  sync_server_options o;
  o.limits = this->limits_;
  basic_http_server<typename SyncServer<TypeParam>::sync_server> other_server(
      this->pool_, typename SyncServer<TypeParam>::sync_server(second_store, this->clock_, o), {});
  other_server.start();
  const std::vector<std::string> urls{this->server_->base_url(), other_server.base_url()};

  constexpr int collectors = 6, items_count = 60;
  std::vector<test_item> items;
  for (int i = 0; i < items_count; ++i) items.push_back(item(i));
  std::vector<std::string> keys;
  for (int c = 0; c < collectors; ++c) keys.push_back(this->keys_->create(cat("s", std::to_string(c)), {"collector"}).key);
  std::atomic<int> stored{0}, exists{0}, other{0};
  std::vector<std::thread> threads;
  for (int c = 0; c < collectors; ++c) {
    threads.emplace_back([&, c] {
      const auto n = push_interleaved(urls, keys[static_cast<std::size_t>(c)], items, 100u + static_cast<unsigned>(c));
      stored += n.stored, exists += n.exists, other += n.other;
    });
  }
  for (auto& t : threads) t.join();
  other_server.stop();
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(stored.load(), items_count) << "each item told `stored` exactly once, across both servers";
  EXPECT_EQ(this->stored_items(), static_cast<std::size_t>(items_count));
  // Each connection sees every item, stored once under its hash, as its canonical form.
  std::vector<std::string> hashes;
  for (const auto& it : items) hashes.push_back(it.hash);
  for (auto* store : {this->store_.get(), &second_store}) {
    const auto docs = store->get("sync-items", hashes);
    for (std::size_t i = 0; i < items.size(); ++i) {
      ASSERT_TRUE(docs[i]) << i;
      EXPECT_EQ(*docs[i], canonical_json(items[i].data));
    }
  }
}

// --- API servers in several processes on one database -------------------------------------------

/// A pipe with a line protocol, between the test and one forked child.
class line_pipe {
 public:
  line_pipe() {
    if (::pipe(fds_) != 0) throw std::runtime_error("pipe failed");
  }
  line_pipe(const line_pipe&) = delete;
  line_pipe& operator=(const line_pipe&) = delete;
  ~line_pipe() {
    for (int fd : fds_)
      if (fd >= 0) ::close(fd);
  }
  void close_read() { close_end(0); }
  void close_write() { close_end(1); }
  /// False when the pipe is broken.
  bool send(const std::string& line) {
    const std::string text = line + "\n";
    std::size_t done = 0;
    while (done < text.size()) {
      const ssize_t n = ::write(fds_[1], text.data() + done, text.size() - done);
      if (n <= 0) return false;
      done += static_cast<std::size_t>(n);
    }
    return true;
  }
  /// One line without its newline; nullopt at end of file (the other side closed or died).
  std::optional<std::string> receive() {
    std::string line;
    char c;
    while (::read(fds_[0], &c, 1) == 1) {
      if (c == '\n') return line;
      line += c;
    }
    return std::nullopt;
  }

 private:
  void close_end(int end) {
    if (fds_[end] >= 0) ::close(fds_[end]);
    fds_[end] = -1;
  }
  int fds_[2]{-1, -1};
};

/// The backends whose data several processes can share.
template <class Backend>
class SyncProcesses : public ::testing::Test {
 protected:
  SyncProcesses() {
    if (!backend_.available()) tributary::testing::skip_without_server();
  }
  Backend backend_;
};
using shared_backends = ::testing::Types<sqlite_store, postgres_store>;
TYPED_TEST_SUITE(SyncProcesses, shared_backends);

TYPED_TEST(SyncProcesses, ServersInSeveralProcessesStoreAnItemOnce) {
  // Each child process opens its own connection, serves the API on a port of its own, then pushes the
  // whole collection as two collectors with their /hashes and /data spread over every child's server,
  // and keeps serving until the test says all have finished.
  constexpr int processes = 3, collectors_each = 2, items_count = 60;
  std::vector<test_item> items;
  for (int i = 0; i < items_count; ++i) items.push_back(item(i, " (process)"));
  std::string key;
  {  // the key and the indices, made and closed before forking: no connection crosses a fork
    auto store = this->backend_.open();
    manual_clock clock;
    basic_sync_server<typename TypeParam::store_type, manual_clock> setup(*store, clock, {});
    key = setup.keys().create("processes", {"collector"}).key;
  }

  struct child {
    pid_t pid = -1;
    std::unique_ptr<line_pipe> up = std::make_unique<line_pipe>(), down = std::make_unique<line_pipe>();
  };
  std::vector<child> children(processes);
  for (int p = 0; p < processes; ++p) {
    child& me = children[static_cast<std::size_t>(p)];
    me.pid = ::fork();
    ASSERT_GE(me.pid, 0) << "fork failed";
    if (me.pid > 0) {
      me.up->close_write();
      me.down->close_read();
      continue;
    }
    // The child: no gtest assertions here; the exit status and the lines say how it went.
    int code = 0;
    try {
      me.up->close_read();
      me.down->close_write();
      auto store = this->backend_.open();
      manual_clock clock;
      sync_server_options o;
      o.limits = SyncServer<TypeParam>::generous();
      thread_pool pool(3, 64);
      basic_http_server<basic_sync_server<typename TypeParam::store_type, manual_clock>> http(
          pool, basic_sync_server<typename TypeParam::store_type, manual_clock>(*store, clock, o), {});
      http.start();
      if (!me.up->send(http.base_url())) ::_exit(3);
      std::vector<std::string> urls;
      for (int i = 0; i < processes; ++i) {
        auto url = me.down->receive();
        if (!url) ::_exit(4);
        urls.push_back(*url);
      }
      std::atomic<int> stored{0}, exists{0}, other{0};
      std::vector<std::thread> threads;
      for (int c = 0; c < collectors_each; ++c)
        threads.emplace_back([&, c] {
          const auto n = push_interleaved(urls, key, items, static_cast<unsigned>(p * 10 + c));
          stored += n.stored, exists += n.exists, other += n.other;
        });
      for (auto& t : threads) t.join();
      if (!me.up->send(cat(std::to_string(stored.load()), " ", std::to_string(exists.load()), " ", std::to_string(other.load()))))
        code = 5;
      (void)me.down->receive();  // "stop": every child has finished pushing
      http.stop();
    } catch (...) {
      code = 1;
    }
    ::_exit(code);
  }

  std::vector<std::string> urls;
  for (auto& c : children) {
    const auto url = c.up->receive();
    ASSERT_TRUE(url) << "a child died before serving";
    urls.push_back(*url);
  }
  for (auto& c : children)
    for (const auto& url : urls) ASSERT_TRUE(c.down->send(url));
  int stored = 0, exists = 0, other = 0;
  for (auto& c : children) {
    const auto line = c.up->receive();
    ASSERT_TRUE(line) << "a child died while pushing";
    std::istringstream in(*line);
    int s = 0, e = 0, o = 0;
    in >> s >> e >> o;
    stored += s, exists += e, other += o;
  }
  for (auto& c : children) (void)c.down->send("stop");
  for (auto& c : children) {
    int status = 0;
    ASSERT_EQ(::waitpid(c.pid, &status, 0), c.pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;
  }
  EXPECT_EQ(other, 0);
  EXPECT_EQ(stored, items_count) << "each item told `stored` exactly once, across every process";
  EXPECT_LE(stored + exists, processes * collectors_each * items_count) << "no item answered twice to one collector";

  auto store = this->backend_.open();  // the test's own connection, opened after every fork
  std::vector<std::string> hashes;
  for (const auto& it : items) hashes.push_back(it.hash);
  const auto docs = store->get("sync-items", hashes);
  for (std::size_t i = 0; i < items.size(); ++i) {
    ASSERT_TRUE(docs[i]) << i;
    EXPECT_EQ(*docs[i], canonical_json(items[i].data));
  }
  const auto page = store->scan("sync-items", "", 1000);
  EXPECT_EQ(page.documents.size(), static_cast<std::size_t>(items_count)) << "nothing else stored";
}

TYPED_TEST(SyncServer, NeverModifiesOrDeletesAStoredItem) {
  this->start();
  const auto a = item(1);
  ASSERT_EQ(statuses(this->put("data", data_body({a})).body), std::vector<std::string>{"stored"});
  const auto before = this->snapshot();

  // The same item spelled another way: the same hash, nothing written.
  const test_item respelled{R"({ "stand": 1.5, "titel": "Gesetz 1", "vorgang_id": "\u0076\u0031" })", a.hash};
  auto res = this->put("data", data_body({respelled}));
  EXPECT_EQ(statuses(res.body), std::vector<std::string>{"exists"}) << res.body;
  // Other data under the stored hash: refused, the stored item untouched.
  const test_item changed{item(1, " (amended)").data, a.hash};
  res = this->put("data", data_body({changed}));
  EXPECT_EQ(statuses(res.body), std::vector<std::string>{"rejected"}) << res.body;
  // No method deletes or replaces.
  for (const char* method : {"DELETE", "POST", "PATCH"}) {
    res = this->call(method, "/api/v1/collector/data", data_body({changed}), this->collector_key_);
    EXPECT_EQ(res.status, 405) << method;
    EXPECT_EQ(res.header("Allow"), "PUT");
  }
  EXPECT_EQ(this->snapshot(), before);
}

TYPED_TEST(SyncServer, NeverStoresAnItemWhoseDataDoesNotHashToItsHash) {
  this->start();
  const auto good = item(1), original = item(2);
  const test_item tampered{item(2, " tampered").data, original.hash};
  const test_item made_up{item(3).data, std::string(64, 'a')};
  test_item duplicate_names{R"({"a": 1, "a": 2})", std::string(64, 'b')};
  const std::string no_data = "{\"items\":[{\"hash\":\"" + std::string(64, 'c') + "\"},{\"hash\":\"" + std::string(64, 'd') +
                              "\",\"data\":[1]}]}";

  auto res = this->put("data", data_body({good, tampered, made_up}));
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(statuses(res.body), (std::vector<std::string>{"stored", "rejected", "rejected"}));
  EXPECT_TRUE(contains(res.body, "hash mismatch: the data hashes to " + canonical_hash(tampered.data))) << res.body;
  res = this->put("data", no_data);
  EXPECT_EQ(statuses(res.body), (std::vector<std::string>{"rejected", "rejected"}));
  EXPECT_TRUE(contains(res.body, "malformed: no \\\"data\\\"")) << res.body;
  EXPECT_TRUE(contains(res.body, "malformed: \\\"data\\\" must be an object")) << res.body;
  res = this->put("data", data_body({duplicate_names}));
  EXPECT_EQ(res.status, 400) << "a body that is not I-JSON is not read at all";
  EXPECT_TRUE(contains(res.body, "duplicate member name")) << res.body;

  EXPECT_EQ(this->stored_items(), 1u);
  const auto present = this->store_->exists("sync-items", std::vector<std::string>{original.hash, canonical_hash(tampered.data),
                                                                                   made_up.hash, canonical_hash(made_up.data)});
  EXPECT_EQ(present, (std::vector<bool>{false, false, false, false}));
}

TYPED_TEST(SyncServer, RefusesEveryRequestWithoutAValidKeyChangingNothing) {
  this->start();
  const auto a = item(1);
  const auto admin = this->keys_->create("admin", {"admin"});
  const auto revoked = this->keys_->create("gone", {"collector"});
  ASSERT_TRUE(this->keys_->revoke(revoked.info.tag));
  std::string wrong_secret = this->collector_key_;
  wrong_secret.back() = wrong_secret.back() == 'a' ? 'b' : 'a';
  const auto before = this->snapshot();

  const std::pair<std::optional<std::string>, int> callers[] = {
    {std::nullopt, 401}, {"", 401}, {"not a key", 401}, {wrong_secret, 401}, {revoked.key, 401}, {admin.key, 403},
  };
  for (const auto& [key, status] : callers) {
    for (const char* endpoint : {"hashes", "data"}) {
      const auto res = this->call("PUT", cat("/api/v1/collector/", endpoint),
                                  std::string_view(endpoint) == "data" ? data_body({a}) : hashes_body({a.hash}), key);
      EXPECT_EQ(res.status, status) << endpoint << " with " << (key ? "a bad key" : "no key");
      if (key && !key->empty()) {
        EXPECT_FALSE(contains(res.body, *key)) << "a presented key is never echoed";
      }
    }
  }
  EXPECT_TRUE(contains(this->call("PUT", "/api/v1/collector/data", "{}", admin.key).body, "lacks the collector scope"));
  EXPECT_EQ(this->snapshot(), before);
  EXPECT_EQ(this->call("GET", "/api/v1/collector/limits", "", admin.key).status, 200) << "any valid key reads the limits";
  EXPECT_EQ(this->call("GET", "/api/v1/collector/limits", "", std::nullopt).status, 401);
}

TYPED_TEST(SyncServer, RefusesRequestsOverTheRateWithRetryAfterChangingNothing) {
  sync_limits limits;
  limits.requests_per_second = 0.5;
  limits.burst = 2;
  this->start(limits);
  const auto a = item(1), b = item(2);
  EXPECT_EQ(this->put("hashes", hashes_body({a.hash})).status, 200);
  EXPECT_EQ(this->put("data", data_body({a})).status, 200);
  const auto before = this->snapshot();

  auto res = this->put("data", data_body({b}));
  EXPECT_EQ(res.status, 429) << res.body;
  EXPECT_EQ(res.header("Retry-After"), "2") << "one token at 0.5 per second";
  EXPECT_TRUE(contains(res.body, "burst 2")) << res.body;
  EXPECT_EQ(this->snapshot(), before) << "over the rate, nothing stored";

  // The bucket is the key's: another key has its own.
  const auto other = this->keys_->create("other", {"collector"}).key;
  EXPECT_EQ(this->call("PUT", "/api/v1/collector/hashes", hashes_body({b.hash}), other).status, 200);

  this->clock_.advance(1s);
  EXPECT_EQ(this->put("data", data_body({b})).status, 429) << "half a token";
  this->clock_.advance(1s);
  res = this->put("data", data_body({b}));
  EXPECT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(statuses(res.body), std::vector<std::string>{"stored"});
  EXPECT_EQ(this->put("hashes", hashes_body({b.hash})).status, 429);
}

TYPED_TEST(SyncServer, AnswersMalformedRequestsWith400NamingTheProblem) {
  sync_limits limits = SyncServer<TypeParam>::generous();
  limits.max_hashes_per_request = 3;
  limits.max_items_per_request = 2;
  limits.max_body_bytes = 4000;
  this->start(limits);
  const std::string h(64, 'e');
  const std::string upper(64, 'E');
  const std::tuple<const char*, std::string, int, const char*> cases[] = {
    {"hashes", "", 400, "body is not valid JSON"},
    {"hashes", "{\"hashes\": [", 400, "body is not valid JSON"},
    {"hashes", "[\"" + h + "\"]", 400, "the body must be a JSON object"},
    {"hashes", "{}", 400, "missing \\\"hashes\\\""},
    {"hashes", "{\"hashes\": \"" + h + "\"}", 400, "\\\"hashes\\\" must be an array"},
    {"hashes", "{\"hashes\": [\"" + h + "\", 5]}", 400, "hashes[1] must be a string"},
    {"hashes", "{\"hashes\": [\"" + h.substr(1) + "\"]}", 400, "hashes[0] must be 64 lowercase hex digits"},
    {"hashes", "{\"hashes\": [\"" + upper + "\"]}", 400, "hashes[0] must be 64 lowercase hex digits"},
    {"hashes", "{\"hashes\": [\"" + std::string(64, 'x') + "\"]}", 400, "hashes[0] must be 64 lowercase hex digits"},
    {"hashes", "{\"hashes\": [\"" + h + "\"], \"hashes\": []}", 400, "duplicate member name"},
    {"hashes", hashes_body({h, h, h, h}), 413, "at most 3 per request (max_hashes_per_request)"},
    {"data", "{\"items\": {}}", 400, "\\\"items\\\" must be an array"},
    {"data", "{\"items\": [5]}", 400, "items[0] must be an object"},
    {"data", "{\"items\": [{\"data\": {}}]}", 400, "items[0] has no \\\"hash\\\""},
    {"data", "{\"items\": [{\"hash\": 7, \"data\": {}}]}", 400, "items[0].hash must be a string"},
    {"data", "{\"items\": [{\"hash\": \"" + upper + "\", \"data\": {}}]}", 400, "items[0].hash must be 64 lowercase hex"},
    {"data", data_body({item(1), item(2), item(3)}), 413, "at most 2 per request (max_items_per_request)"},
    {"data", "{\"items\": [], \"pad\": \"" + std::string(4000, ' ') + "\"}", 413, "max_body_bytes 4000"},
  };
  const auto before = this->snapshot();
  for (const auto& [endpoint, body, status, problem] : cases) {
    const auto res = this->put(endpoint, body);
    EXPECT_EQ(res.status, status) << endpoint << " " << body.substr(0, 80) << ": " << res.body;
    EXPECT_TRUE(contains(res.body, problem)) << problem << " in " << res.body;
    EXPECT_EQ(res.header("Content-Type"), "application/json");
  }
  EXPECT_EQ(this->snapshot(), before) << "a refused request changes nothing";
  // Unknown members are ignored, so later versions of a client can add some.
  EXPECT_EQ(this->put("hashes", "{\"hashes\": [], \"client\": \"x\"}").status, 200);
}

TYPED_TEST(SyncServer, AnswersAnUnsupportedVersionWith404ListingTheSupportedOnes) {
  this->start();
  auto res = this->call("PUT", "/api/v2/collector/hashes", hashes_body({}), this->collector_key_);
  EXPECT_EQ(res.status, 404);
  EXPECT_TRUE(contains(res.body, "\"supported_versions\":[1]")) << res.body;
  EXPECT_TRUE(contains(res.body, "API version 2 is not supported")) << res.body;
  EXPECT_EQ(this->call("PUT", "/api/v0/collector/hashes", "", std::nullopt).status, 404) << "before the key is asked";
  EXPECT_EQ(this->call("PUT", "/api/v1/collector/nothing", "", this->collector_key_).status, 404);
  EXPECT_EQ(this->call("PUT", "/api/vx/collector/hashes", "", this->collector_key_).status, 404);
  EXPECT_EQ(this->call("GET", "/", "", this->collector_key_).status, 404);

  res = this->call("GET", "/api/v1/collector/limits", "", this->collector_key_);
  ASSERT_EQ(res.status, 200);
  simdjson::dom::parser parser;
  const simdjson::dom::element limits = parser.parse(simdjson::padded_string(res.body));
  EXPECT_EQ(std::uint64_t(limits["max_hashes_per_request"]), 10'000u);
  EXPECT_EQ(std::uint64_t(limits["max_items_per_request"]), 1'000u);
  EXPECT_EQ(std::uint64_t(limits["max_body_bytes"]), std::uint64_t{8} << 20);
  EXPECT_EQ(double(limits["requests_per_second"]), 1000.0);
  EXPECT_EQ(std::string_view(limits["hash"]), "sha256");
}

// --- metrics and health --------------------------------------------------------------------------

/// The value of the Prometheus sample `series` (name and labels as written) in `text`; -1 when absent.
long long sample(const std::string& text, const std::string& series) {
  const auto at = text.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stoll(text.substr(at + 1 + series.size() + 1));
}

TYPED_TEST(SyncServer, ServesMetricsAndHealthWithoutAKey) {
  sync_limits limits;
  limits.requests_per_second = 0.001;
  limits.burst = 5;
  this->start(limits);
  const auto a = item(1), b = item(2);
  const test_item tampered{item(3, " tampered").data, item(3).hash};
  const auto admin = this->keys_->create("admin", {"admin"}).key;
  ASSERT_EQ(statuses(this->put("data", data_body({a})).body), std::vector<std::string>{"stored"});
  ASSERT_EQ(strings_at(this->put("hashes", hashes_body({a.hash, b.hash})).body, "unknown"), std::vector<std::string>{b.hash});
  ASSERT_EQ(statuses(this->put("data", data_body({b, a, tampered})).body), (std::vector<std::string>{"stored", "exists", "rejected"}));
  EXPECT_EQ(this->call("PUT", "/api/v1/collector/data", data_body({a}), std::nullopt).status, 401);
  EXPECT_EQ(this->call("PUT", "/api/v1/collector/data", data_body({a}), admin).status, 403);
  EXPECT_EQ(this->call("PUT", "/api/v2/collector/data", "", this->collector_key_).status, 404);
  EXPECT_EQ(this->call("GET", "/api/v1/collector/limits", "", this->collector_key_).status, 200);
  EXPECT_EQ(this->call("GET", "/api/v1/collector/limits", "", this->collector_key_).status, 200);
  EXPECT_EQ(this->call("GET", "/api/v1/collector/limits", "", this->collector_key_).status, 429)
      << "the burst of 5 is spent (a 401, 403 or 404 takes no token)";

  auto res = this->call("GET", "/metrics", "", std::nullopt);
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(res.header("Content-Type"), "text/plain; version=0.0.4");
  const std::string m = res.body;
  EXPECT_EQ(sample(m, "tributary_sync_requests_total{endpoint=\"data\",method=\"PUT\",status=\"200\"}"), 2) << m;
  EXPECT_EQ(sample(m, "tributary_sync_requests_total{endpoint=\"hashes\",method=\"PUT\",status=\"200\"}"), 1) << m;
  EXPECT_EQ(sample(m, "tributary_sync_requests_total{endpoint=\"data\",method=\"PUT\",status=\"401\"}"), 1) << m;
  EXPECT_EQ(sample(m, "tributary_sync_requests_total{endpoint=\"data\",method=\"PUT\",status=\"403\"}"), 1) << m;
  EXPECT_EQ(sample(m, "tributary_sync_requests_total{endpoint=\"other\",method=\"PUT\",status=\"404\"}"), 1) << m;
  EXPECT_EQ(sample(m, "tributary_sync_requests_total{endpoint=\"limits\",method=\"GET\",status=\"200\"}"), 2) << m;
  EXPECT_EQ(sample(m, "tributary_sync_requests_total{endpoint=\"limits\",method=\"GET\",status=\"429\"}"), 1) << m;
  EXPECT_EQ(sample(m, "tributary_sync_refused_total{status=\"401\"}"), 1) << m;
  EXPECT_EQ(sample(m, "tributary_sync_refused_total{status=\"403\"}"), 1) << m;
  EXPECT_EQ(sample(m, "tributary_sync_refused_total{status=\"429\"}"), 1) << m;
  EXPECT_EQ(sample(m, "tributary_sync_hashes_negotiated_total"), 2) << m;
  EXPECT_EQ(sample(m, "tributary_sync_hashes_unknown_total"), 1) << m;
  EXPECT_EQ(sample(m, "tributary_sync_items_total{result=\"stored\"}"), 2) << m;
  EXPECT_EQ(sample(m, "tributary_sync_items_total{result=\"exists\"}"), 1) << m;
  EXPECT_EQ(sample(m, "tributary_sync_items_total{result=\"rejected\"}"), 1) << m;
  EXPECT_EQ(sample(m, "tributary_sync_items_total{result=\"failed\"}"), 0) << m;
  EXPECT_TRUE(contains(m, "# TYPE tributary_sync_requests_total counter\n")) << m;
  EXPECT_FALSE(contains(m, this->collector_key_.substr(4, 16))) << "no key tag in a label";
  EXPECT_FALSE(contains(m, "metrics")) << "neither /metrics nor /health counts as a request";
  EXPECT_EQ(this->call("POST", "/metrics", "", std::nullopt).status, 405);

  res = this->call("GET", "/health", "", std::nullopt);
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.body, "{\"status\":\"ok\"}");
  EXPECT_EQ(this->call("GET", "/metrics", "", std::nullopt).body, this->call("GET", "/metrics", "", std::nullopt).body)
      << "reading the metrics or the health changes no counter";
  if constexpr (std::is_same_v<TypeParam, postgres_store>) {
    // The database lost the API's tables: unhealthy, without saying why.
    tributary::testing::raw_connection(this->backend_.schema->url()).exec("DROP SCHEMA \"" + this->backend_.schema->name() + "\" CASCADE");
    res = this->call("GET", "/health", "", std::nullopt);
    EXPECT_EQ(res.status, 503) << res.body;
    EXPECT_EQ(res.body, "{\"status\":\"unavailable\"}");
  }
}

TEST(SyncServerOptions, MetricsAndHealthPathsAreCheckedAndCanBeTurnedOff) {
  memory_index store;
  manual_clock clock;
  sync_server_options o;
  o.metrics_path = "metrics";
  EXPECT_EQ(thrown_by([&] { basic_sync_server s(store, clock, o); }).code(), errc::invalid_config);
  o.metrics_path = "/api/v1/collector/metrics";
  EXPECT_EQ(thrown_by([&] { basic_sync_server s(store, clock, o); }).code(), errc::invalid_config);
  o.metrics_path = "";
  o.health_path = "";
  basic_sync_server server(store, clock, o);
  for (const char* path : {"/metrics", "/health"}) {
    server_request r;
    r.method = "GET";
    r.path = path;
    EXPECT_EQ(server.handle(r).status, 404) << path;
  }
  EXPECT_TRUE(contains(server.metrics_text(), "tributary_sync_requests_total{endpoint=\"other\",method=\"GET\",status=\"404\"} 2"))
      << server.metrics_text();
}

TEST(SyncServerKeyFile, CreatesACollectorKeyOnceAndThenOnlyAcceptsAKeyTheStoreKnows) {
  memory_index store;
  basic_key_store keys(store);
  keys.ensure_index();
  const tributary::testing::scratch_database dir;  // a fresh path; the key file goes beside it
  const std::string path = dir.path() + ".key";
  struct remove_after {
    std::string p;
    ~remove_after() { std::remove(p.c_str()); }
  } cleanup{path};
  std::ostringstream log;

  examples::sync::ensure_key_file(keys, path, log);
  const auto key = examples::sync::read_key_file(path);
  ASSERT_TRUE(key && !key->empty());
  const auto info = keys.verify(*key);
  ASSERT_TRUE(info);
  EXPECT_TRUE(info->has_scope(collector_scope));
  EXPECT_FALSE(info->has_scope(admin_scope)) << "the least a file on a collector's machine needs";
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_TRUE(contains(log.str(), "created collector key " + info->tag)) << log.str();
  EXPECT_FALSE(contains(log.str(), key->substr(21))) << "the secret is never logged";

  examples::sync::ensure_key_file(keys, path, log);  // a restart: the same key, no new one
  EXPECT_EQ(*examples::sync::read_key_file(path), *key);
  EXPECT_EQ(keys.list().size(), 1u);

  ASSERT_TRUE(keys.revoke(info->tag));
  auto refused = [&] {
    try {
      examples::sync::ensure_key_file(keys, path, log);
    } catch (const examples::sync::usage_error& e) {
      return e.message;
    }
    return std::string("(accepted)");
  };
  EXPECT_TRUE(contains(refused(), "is not one this store accepts")) << refused();
  EXPECT_FALSE(contains(refused(), key->substr(21)));
  {
    std::ofstream(path, std::ios::trunc) << "  \n";
  }
  EXPECT_TRUE(contains(refused(), "holds no key")) << refused();
  EXPECT_EQ(keys.list().size(), 1u) << "an existing file is never replaced";
}

// --- source locator updates ---------------------------------------------------------------------

/// A publication: vorgang `id` moved locator `locator` to `value`.
std::string publication(std::string_view id, std::string_view locator, std::string_view value) {
  return cat("{\"vorgang_id\":\"", std::string(id), "\",\"updates\":[{\"", std::string(locator), "\":\"", std::string(value), "\"}]}");
}
/// The vorgang_ids of a /slu-update answer, in order.
std::vector<std::string> vorgang_ids(const std::string& json) {
  simdjson::dom::parser parser;
  std::vector<std::string> out;
  for (const simdjson::dom::element e : simdjson::dom::array(parser.parse(simdjson::padded_string(json))))
    out.emplace_back(std::string_view(e["vorgang_id"]));
  return out;
}

template <class Fixture>
struct slu_collector {
  Fixture* f;
  std::string key;
  std::vector<std::string> seen;
  /// One collecting operation's SLU: every page read, applied (recorded) and acknowledged.
  void catch_up() {
    for (;;) {
      const auto res = f->call("GET", "/api/v1/collector/slu-update", "", key);
      ASSERT_EQ(res.status, 200) << res.body;
      const auto ids = vorgang_ids(res.body);
      seen.insert(seen.end(), ids.begin(), ids.end());
      const auto ack = f->call("PUT", "/api/v1/collector/slu-update", cat("{\"acknowledge\":", std::string(res.header("SLU-Cursor")), "}"), key);
      ASSERT_EQ(ack.status, 200) << ack.body;
      if (res.header("SLU-More") != "true") return;
    }
  }
};

TYPED_TEST(SyncServer, SluUpdateMissesAndRepeatsNothingAcrossARestart) {
  sync_limits limits = SyncServer<TypeParam>::generous();
  limits.max_updates_per_response = 2;  // so that paging is part of it
  this->start(limits);
  const auto admin = this->keys_->create("admin", {"admin"}).key;
  auto publish = [&](std::vector<std::string> entries) {
    std::string body = "[";
    for (std::size_t i = 0; i < entries.size(); ++i) body += (i ? "," : "") + entries[i];
    const auto res = this->call("POST", "/api/v1/collector/slu-publish", body + "]", admin);
    ASSERT_EQ(res.status, 200) << res.body;
    EXPECT_EQ(res.body, cat("{\"published\":", std::to_string(entries.size()), "}"));
  };
  publish({publication("v1", "url", "https://a/1"), publication("v2", "url", "https://a/2"), publication("v3", "url", "https://a/3")});

  // Read, not acknowledged: the same page again (a lost answer loses nothing).
  auto first = this->call("GET", "/api/v1/collector/slu-update", "", this->collector_key_);
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(vorgang_ids(first.body), (std::vector<std::string>{"v1", "v2"}));
  EXPECT_EQ(first.header("SLU-More"), "true");
  EXPECT_TRUE(contains(first.body, "{\"updates\":[{\"url\":\"https://a/1\"}],\"vorgang_id\":\"v1\"}")) << first.body;
  const auto again = this->call("GET", "/api/v1/collector/slu-update", "", this->collector_key_);
  EXPECT_EQ(again.body, first.body);
  EXPECT_EQ(again.header("SLU-Cursor"), first.header("SLU-Cursor"));

  slu_collector<SyncServer<TypeParam>> c{this, this->collector_key_, {}};
  c.catch_up();
  EXPECT_EQ(c.seen, (std::vector<std::string>{"v1", "v2", "v3"}));

  this->restart();
  const auto stale = std::string(first.header("SLU-Cursor"));
  c.catch_up();
  EXPECT_EQ(c.seen.size(), 3u) << "nothing repeated after the restart";
  publish({publication("v4", "url", "https://b/4")});
  this->restart();
  publish({publication("v2", "pdf", "https://b/2.pdf"), publication("v5", "url", "https://b/5")});
  // A late, repeated acknowledgement of an older position moves nothing back.
  const auto late = this->call("PUT", "/api/v1/collector/slu-update", "{\"acknowledge\":" + stale + "}", this->collector_key_);
  EXPECT_EQ(late.status, 200) << late.body;
  EXPECT_FALSE(contains(late.body, "{\"acknowledged\":" + stale + "}")) << late.body;
  c.catch_up();
  EXPECT_EQ(c.seen, (std::vector<std::string>{"v1", "v2", "v3", "v4", "v2", "v5"})) << "in publication order, each once";
  this->restart();
  c.catch_up();
  EXPECT_EQ(c.seen.size(), 6u);
}

TYPED_TEST(SyncServer, SluUpdateGivesTwoCollectorsEveryUpdateOnceEach) {
  sync_limits limits = SyncServer<TypeParam>::generous();
  limits.max_updates_per_response = 3;
  this->start(limits);
  const auto admin = this->keys_->create("admin", {"admin"}).key;
  slu_collector<SyncServer<TypeParam>> a{this, this->collector_key_, {}};
  slu_collector<SyncServer<TypeParam>> b{this, this->keys_->create("second", {"collector"}).key, {}};
  std::vector<std::string> published;
  for (int round = 0; round < 5; ++round) {
    std::string body = "[";
    for (int i = 0; i <= round; ++i) {
      published.push_back(cat("v", std::to_string(round), "-", std::to_string(i)));
      body += (i ? "," : "") + publication(published.back(), "url", "https://x/" + published.back());
    }
    ASSERT_EQ(this->call("POST", "/api/v1/collector/slu-publish", body + "]", admin).status, 200);
    a.catch_up();  // a every round, b every other: their positions are their own
    if (round % 2) b.catch_up();
  }
  b.catch_up();
  EXPECT_EQ(a.seen, published);
  EXPECT_EQ(b.seen, published);
}

TYPED_TEST(SyncServer, SluPublishIsForAdminKeysAndRefusesBadInputNamingIt) {
  this->start();
  const auto admin = this->keys_->create("admin", {"admin"}).key;
  const std::string one = "[" + publication("v1", "url", "https://a") + "]";
  const auto refused = this->call("POST", "/api/v1/collector/slu-publish", one, this->collector_key_);
  EXPECT_EQ(refused.status, 403);
  EXPECT_TRUE(contains(refused.body, "lacks the admin scope")) << refused.body;
  EXPECT_EQ(this->call("POST", "/api/v1/collector/slu-publish", one, std::nullopt).status, 401);
  EXPECT_EQ(this->call("PUT", "/api/v1/collector/slu-publish", one, admin).status, 405);
  EXPECT_EQ(this->call("GET", "/api/v1/collector/slu-update", "", admin).status, 403) << "admin is not collector";
  EXPECT_EQ(this->call("DELETE", "/api/v1/collector/slu-update", "", this->collector_key_).header("Allow"), "GET, PUT");
  EXPECT_EQ(this->store_->changes_since("sync-slu", 0, 10).documents.size(), 0u) << "nothing published by a collector";

  const std::pair<std::string, const char*> bad[] = {
    {"{}", "must be a JSON array"},
    {"[5]", "[0] must be an object"},
    {"[{\"updates\":[{\"a\":\"b\"}]}]", "[0] has no \\\"vorgang_id\\\""},
    {"[{\"vorgang_id\":1.5,\"updates\":[{\"a\":\"b\"}]}]", "vorgang_id must be a string or an integer"},
    {"[{\"vorgang_id\":\"v\"}]", "[0].updates must be an array"},
    {"[{\"vorgang_id\":\"v\",\"updates\":[]}]", "[0].updates must not be empty"},
    {"[{\"vorgang_id\":\"v\",\"updates\":[{}]}]", "[0].updates[0] must be an object"},
    {"[{\"vorgang_id\":\"v\",\"updates\":[{\"url\":7}]}]", "[0].updates[0].url must be a string"},
    {"[{\"vorgang_id\":\"v\",\"updates\":[{\"url\":\"a\",\"url\":\"b\"}]}]", "duplicate member name"},
  };
  for (const auto& [body, problem] : bad) {
    const auto res = this->call("POST", "/api/v1/collector/slu-publish", body, admin);
    EXPECT_EQ(res.status, 400) << body;
    EXPECT_TRUE(contains(res.body, problem)) << problem << " in " << res.body;
  }
  EXPECT_EQ(this->store_->changes_since("sync-slu", 0, 10).documents.size(), 0u);

  // An integer vorgang_id is kept as one.
  ASSERT_EQ(this->call("POST", "/api/v1/collector/slu-publish", "[{\"vorgang_id\":42,\"updates\":[{\"u\":\"x\"}],\"extra\":1}]", admin).status, 200);
  const auto res = this->call("GET", "/api/v1/collector/slu-update", "", this->collector_key_);
  EXPECT_EQ(res.body, "[{\"updates\":[{\"u\":\"x\"}],\"vorgang_id\":42}]");
  const std::string cursor(res.header("SLU-Cursor"));
  const std::pair<std::string, const char*> bad_acks[] = {
    {"{}", "missing \\\"acknowledge\\\""},
    {"{\"acknowledge\":-1}", "must be a non-negative integer"},
    {"{\"acknowledge\":\"1\"}", "must be a non-negative integer"},
    {"{\"acknowledge\":" + std::to_string(std::stoull(cursor) + 1) + "}", "is not a position GET /slu-update hands out"},
  };
  for (const auto& [body, problem] : bad_acks) {
    const auto ack = this->call("PUT", "/api/v1/collector/slu-update", body, this->collector_key_);
    EXPECT_EQ(ack.status, 400) << body;
    EXPECT_TRUE(contains(ack.body, problem)) << problem << " in " << ack.body;
  }
  EXPECT_EQ(this->call("GET", "/api/v1/collector/slu-update", "", this->collector_key_).body, res.body) << "still unacknowledged";
}

// --- the client over loopback -------------------------------------------------------------------

/// Passes requests to curl_transport, counting them; `tamper` may change a /data body on the way (a
/// middlebox, or a buggy client build), so that the server has something to reject.
struct counting_transport {
  using transport_concept = transport_tag;
  curl_transport* inner;
  std::function<void(std::string&)> tamper;
  std::size_t requests = 0;
  http_response perform(http_request r) {
    ++requests;
    if (tamper && r.url.ends_with("/data")) tamper(r.body);
    return inner->perform(std::move(r));
  }
  template <class F>
  void perform_all(std::vector<http_request> rs, F on_done) {
    for (std::size_t i = 0; i < rs.size(); ++i) on_done(i, perform(std::move(rs[i])));
  }
};

std::vector<std::string> collection(int n, int changed_every = 0, std::size_t padding = 0) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) {
    out.push_back(item(i, changed_every && i % changed_every == 0 ? " (amended)" : "").data);
    if (padding) out.back().insert(1, "\"text\": \"" + std::string(padding, 'x') + "\", ");
  }
  return out;
}

TYPED_TEST(SyncServer, ClientSendsOnlyTheChangedItemsOnASecondPush) {
  sync_limits limits = SyncServer<TypeParam>::generous();
  limits.max_hashes_per_request = 300;
  limits.max_items_per_request = 64;
  limits.max_body_bytes = 12'000;  // about 170 hashes or 20 items: it binds before the counts do
  this->start(limits);
  counting_transport t{&this->client_, {}, 0};
  // The seed's JSON form of the hashes (the binary one has a test of its own below).
  basic_sync_client client(t, {.base_url = this->server_->base_url(), .api_key = this->collector_key_, .binary_hashes = false});

  // Items of about 300 bytes, a record's size, so that a hash (64 bytes) is not most of one.
  const auto first = client.push(collection(1000, 0, 250));
  EXPECT_EQ(first.items, 1000u);
  EXPECT_EQ(first.sent, 1000u);
  EXPECT_EQ(first.stored, 1000u);
  EXPECT_EQ(first.hash_requests, 6u) << "1000 hashes, at most 178 in 12000 bytes";
  EXPECT_GE(first.data_requests, 1000u / 30) << "within max_body_bytes";
  EXPECT_TRUE(first.rejections.empty());

  const auto second = client.push(collection(1000, 100, 250));  // 1 % changed
  EXPECT_EQ(second.sent, 10u);
  EXPECT_EQ(second.stored, 10u);
  EXPECT_EQ(second.skipped_known, 990u);
  EXPECT_EQ(second.data_requests, 6u) << "the changed ones of each /hashes batch, one /data each";
  EXPECT_LT(second.bytes_sent * 5, first.bytes_sent) << second.bytes_sent << " of " << first.bytes_sent;
  EXPECT_EQ(this->stored_items(), 1010u);
  EXPECT_EQ(t.requests, 1 + first.hash_requests + first.data_requests + second.hash_requests + second.data_requests)
      << "limits read once";

  const auto third = client.push(collection(1000, 100, 250));
  EXPECT_EQ(third.sent, 0u);
  EXPECT_EQ(third.data_requests, 0u);
}

TYPED_TEST(SyncServer, AcceptsHashesAsRawDigestsAndAnswersTheSame) {
  sync_limits limits = SyncServer<TypeParam>::generous();
  limits.max_hashes_per_request = 3;
  this->start(limits);
  const auto a = item(1), b = item(2);
  ASSERT_EQ(statuses(this->put("data", data_body({a})).body), std::vector<std::string>{"stored"});
  auto binary = [&](std::string body) {
    http_request r;
    r.method = "PUT";
    r.url = this->server_->base_url() + "/api/v1/collector/hashes";
    r.body = std::move(body);
    r.idempotent = false;
    r.retry_on_status = false;
    r.headers.emplace_back("Content-Type", "Application/Octet-Stream; x=1");
    r.headers.emplace_back("X-API-Key", this->collector_key_);
    return this->client_.perform(std::move(r));
  };
  auto raw = [](const std::string& hex) {
    const auto bytes = detail::from_hex(hex);
    return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  };
  auto res = binary(raw(a.hash) + raw(b.hash) + raw(b.hash));
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(strings_at(res.body, "unknown"), std::vector<std::string>{b.hash}) << "the JSON form's answer";
  EXPECT_EQ(res.body, this->put("hashes", hashes_body({a.hash, b.hash, b.hash})).body);
  EXPECT_EQ(strings_at(binary("").body, "unknown"), std::vector<std::string>{});

  const auto before = this->snapshot();
  res = binary(raw(a.hash).substr(1));
  EXPECT_EQ(res.status, 400);
  EXPECT_TRUE(contains(res.body, "whole 32-byte SHA-256 digests; 31 bytes is not")) << res.body;
  res = binary(raw(a.hash) + raw(b.hash) + raw(a.hash) + raw(b.hash));
  EXPECT_EQ(res.status, 413);
  EXPECT_TRUE(contains(res.body, "at most 3 per request (max_hashes_per_request)")) << res.body;
  EXPECT_EQ(this->snapshot(), before);
  EXPECT_TRUE(contains(this->call("GET", "/api/v1/collector/limits", "", this->collector_key_).body,
                       "\"hash_encodings\":[\"hex\",\"binary\"]"));
}

TYPED_TEST(SyncServer, ClientSendsRawDigestsWhenTheServerOffersThem) {
  sync_limits limits = SyncServer<TypeParam>::generous();
  limits.max_hashes_per_request = 300;
  limits.max_items_per_request = 64;
  limits.max_body_bytes = 12'000;  // 375 digests: the count binds first now
  this->start(limits);
  counting_transport t{&this->client_, {}, 0};
  basic_sync_client client(t, {.base_url = this->server_->base_url(), .api_key = this->collector_key_});
  const auto first = client.push(collection(1000, 0, 250));
  EXPECT_EQ(first.stored, 1000u);
  EXPECT_EQ(first.hash_requests, 4u) << "1000 hashes, 300 a request";
  const auto second = client.push(collection(1000, 100, 250));  // 1 % changed
  EXPECT_EQ(second.sent, 10u);
  EXPECT_EQ(second.stored, 10u);
  EXPECT_EQ(second.skipped_known, 990u);
  std::size_t changed_bytes = 0;
  for (int i = 0; i < 1000; i += 100) changed_bytes += canonical_json(collection(1000, 100, 250)[static_cast<std::size_t>(i)]).size();
  EXPECT_LE(second.bytes_sent, 1000u * 32 + changed_bytes + 10 * 84 + second.data_requests * 12)
      << "32 bytes a hash, then the changed items";
  EXPECT_EQ(this->stored_items(), 1010u);

  // A server that does not offer the binary form gets JSON hashes from the same client.
  this->server_.reset();
  sync_limits hex_only = limits;
  hex_only.accept_binary_hashes = false;
  this->limits_ = hex_only;
  this->listen();
  basic_sync_client other(t, {.base_url = this->server_->base_url(), .api_key = this->collector_key_});
  const auto third = other.push(collection(1000, 50, 250));
  EXPECT_EQ(third.stored, 10u) << "the ones changed every 50th and not every 100th";
  EXPECT_EQ(third.hash_requests, 6u) << "1000 hashes at 67 bytes each, 178 in 12000 bytes";
  EXPECT_GT(third.bytes_sent, 1000u * 67);
}

TYPED_TEST(SyncServer, ClientReportsEveryRejectedItemWithItsReason) {
  sync_limits limits = SyncServer<TypeParam>::generous();
  limits.max_body_bytes = 2000;
  this->start(limits);
  counting_transport t{&this->client_, [](std::string& body) {
                         const auto at = body.find("Gesetz 3");
                         if (at != std::string::npos) body.replace(at, 8, "Gesetz X");
                       },
                       0};
  basic_sync_client client(t, {.base_url = this->server_->base_url(), .api_key = this->collector_key_});
  std::vector<std::string> items = collection(5);
  items.push_back("[1, 2]");                                                // 5: not an object
  items.push_back("{\"a\": 1, \"a\": 2}");                                   // 6: not I-JSON
  items.push_back("{\"big\": \"" + std::string(3000, 'x') + "\"}");         // 7: over max_body_bytes
  items.push_back(items[1]);                                                // 8: a repeat
  const auto r = client.push(items);
  EXPECT_EQ(r.items, 9u);
  EXPECT_EQ(r.stored, 4u);
  EXPECT_EQ(r.rejected, 1u);
  EXPECT_EQ(r.invalid, 3u);
  EXPECT_EQ(r.duplicates, 1u);
  EXPECT_EQ(r.duplicates + r.invalid + r.skipped_known + r.sent, r.items) << "every item accounted for";
  ASSERT_EQ(r.rejections.size(), 4u);
  auto reason_of = [&](std::size_t position) {
    for (const auto& x : r.rejections)
      if (x.position == position) return x.reason;
    return std::string("(not reported)");
  };
  EXPECT_TRUE(contains(reason_of(3), "rejected: hash mismatch")) << reason_of(3);
  EXPECT_TRUE(contains(reason_of(5), "must be a JSON object")) << reason_of(5);
  EXPECT_TRUE(contains(reason_of(6), "duplicate member name")) << reason_of(6);
  EXPECT_TRUE(contains(reason_of(7), "larger than the server's max_body_bytes 2000")) << reason_of(7);
  EXPECT_EQ(this->stored_items(), 4u);
}

TYPED_TEST(SyncServer, ClientHandsLocatorUpdatesOverAndAcknowledgesOnlyAfterTheCallerReturned) {
  sync_limits limits = SyncServer<TypeParam>::generous();
  limits.max_updates_per_response = 2;
  this->start(limits);
  const auto admin = this->keys_->create("admin", {"admin"}).key;
  ASSERT_EQ(this->call("POST", "/api/v1/collector/slu-publish",
                       "[" + publication("v1", "url", "https://a/1") + "," + publication("v2", "url", "https://a/2") + "," +
                           "{\"vorgang_id\":7,\"updates\":[{\"url\":\"https://a/7\",\"pdf\":\"https://a/7.pdf\"}]}]",
                       admin)
                .status,
            200);
  basic_sync_client client(this->client_, {.base_url = this->server_->base_url(), .api_key = this->collector_key_});
  EXPECT_THROW(client.pull_locator_updates([](const locator_update&) { throw std::runtime_error("collector busy"); }),
               std::runtime_error);
  std::vector<locator_update> got;
  EXPECT_EQ(client.pull_locator_updates([&](const locator_update& u) { got.push_back(u); }), 3u);
  ASSERT_EQ(got.size(), 3u) << "a caller that threw acknowledged nothing";
  EXPECT_EQ(got[0].vorgang_id, "\"v1\"");
  EXPECT_EQ(got[0].updates, (std::vector<std::pair<std::string, std::string>>{{"url", "https://a/1"}}));
  EXPECT_EQ(got[2].vorgang_id, "7");
  EXPECT_EQ(got[2].updates.size(), 2u);
  EXPECT_EQ(client.pull_locator_updates([&](const locator_update& u) { got.push_back(u); }), 0u);
}

TEST(SyncClient, HonoursRetryAfterThroughTheTransport) {
  memory_index store;
  wall_clock clock;
  sync_server_options o;
  o.limits.requests_per_second = 4;
  o.limits.burst = 2;
  o.limits.max_items_per_request = 10;
  basic_sync_server server(store, clock, o);
  const auto key = server.keys().create("c", {"collector"}).key;
  thread_pool pool(2, 16);
  basic_http_server http(pool, std::move(server), {});
  http.start();
  curl_options co;
  co.max_attempts = 6;
  curl_transport transport(curl(), co);
  basic_sync_client client(transport, {.base_url = http.base_url(), .api_key = key});
  const auto r = client.push(collection(40));  // 1 + 1 + 4 requests against a burst of 2
  EXPECT_EQ(r.stored, 40u);
  EXPECT_GT(transport.stats().retries, 0u) << "the 429s were retried by the transport, after Retry-After";
}

TEST(SyncClient, AServerThatFailsOrIsDownIsAClearError) {
  const std::string key = "trb_0123456789abcdef_" + std::string(64, 'a');
  thread_pool pool(2, 16);
  basic_http_server failing(pool, handler_from([](server_request&) {
                              return server_response::json(500, "{\"error\":\"disk on fire\"}");
                            }),
                            {});
  failing.start();
  curl_options co;
  co.max_attempts = 2;
  co.backoff_base = 1ms;
  co.backoff_cap = 1ms;
  curl_transport transport(curl(), co);
  {
    basic_sync_client client(transport, {.base_url = failing.base_url(), .api_key = key});
    const error e = thrown_by([&] { (void)client.push(collection(3)); });
    EXPECT_EQ(e.code(), errc::transport_failed);
    EXPECT_TRUE(contains(e.what(), "GET " + failing.base_url() + "/api/v1/collector/limits: HTTP 500: disk on fire")) << e.what();
    EXPECT_FALSE(contains(e.what(), key.substr(4))) << "the key is never in a message";
  }
  std::string down_url;
  {
    basic_http_server gone(pool, handler_from([](server_request&) { return server_response::json(200, "{}"); }), {});
    gone.start();
    down_url = gone.base_url();
  }
  basic_sync_client client(transport, {.base_url = down_url, .api_key = key});
  const error e = thrown_by([&] { (void)client.pull_locator_updates([](const locator_update&) {}); });
  EXPECT_EQ(e.code(), errc::transport_failed);
  EXPECT_TRUE(contains(e.what(), "no answer")) << e.what();
  EXPECT_FALSE(contains(e.what(), key.substr(4)));
  EXPECT_EQ(thrown_by([&] { basic_sync_client c(transport, {.base_url = "localhost:1", .api_key = key}); }).code(),
            errc::invalid_config);
}

}  // namespace
}  // namespace tributary
