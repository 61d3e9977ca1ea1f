// postgres_index against a live PostgreSQL server: the index backend conformance suite (with both bulk
// write methods), and what only a server store has: dropped connections, unreachable servers, URLs,
// schemas, catalogue search, and processes racing on aliases.
//
// The server comes from TRIBUTARY_POSTGRES_URL (scripts/services start writes it to build/services/env;
// scripts/test exports it). Without it every test here is skipped. Each test works in a schema of its
// own, tributary_test_<pid>_<random>, dropped at the end, so parallel runs never meet.

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <new>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <tributary/catalogue/postgres_search.hpp>
#include <tributary/index/postgres.hpp>

#include "support/common.hpp"
#include "support/postgres.hpp"
#include "support/backend_conformance.hpp"

namespace tributary::testing {

using namespace std::chrono_literals;

namespace {

/// `appending`: every bulk write into an index not yet sealed appends (append_min_documents 0), so that
/// the suite reads indices whose tables hold older rows of ids and have no keys, as a large fill leaves
/// them; otherwise the suite's small writes seal each index at its first write.
template <postgres_bulk_method Method, bool Appending = false>
struct postgres_factory {
  using backend = postgres_index;
  std::optional<scratch_schema> schema_ = postgres_url() ? std::optional<scratch_schema>(std::in_place, *postgres_url())
                                                         : std::nullopt;
  std::shared_ptr<postgres_index> open() {
    if (!schema_) {
      skip_without_server();
      return nullptr;
    }
    auto options = schema_->options(Method);
    if (Appending) options.append_min_documents = 0;
    return std::make_shared<postgres_index>(schema_->url(), options);  // a new connection
  }
};

using postgres_copy_factory = postgres_factory<postgres_bulk_method::copy>;
using postgres_array_factory = postgres_factory<postgres_bulk_method::array_insert>;
using postgres_appending_factory = postgres_factory<postgres_bulk_method::copy, true>;

}  // namespace

TRIBUTARY_STORE_CONFORMANCE(PostgresCopy, ::testing::Types<postgres_copy_factory>);
TRIBUTARY_STORE_CONFORMANCE(PostgresArrayInsert, ::testing::Types<postgres_array_factory>);
TRIBUTARY_STORE_CONFORMANCE(PostgresAppending, ::testing::Types<postgres_appending_factory>);

namespace {

/// `url` with its database replaced through a query parameter (libpq applies those after the path).
std::string with_database(const std::string& url, const std::string& db) {
  return url + (url.find('?') == std::string::npos ? "?" : "&") + "dbname=" + db;
}

class PostgresIndex : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!url_) GTEST_SKIP() << no_server_message;
    schema_.emplace(*url_);
  }
  void TearDown() override { schema_.reset(); }

  [[nodiscard]] postgres_index open(postgres_bulk_method method = postgres_bulk_method::copy) const {
    return postgres_index(*url_, schema_->options(method));
  }
  /// As the collector executables open it: with the catalogue's search fields.
  [[nodiscard]] postgres_index open_catalogue() const {
    return postgres_index(*url_, catalogue_postgres_options(schema_->options()));
  }

  /// Waits until backend `pid` has left pg_stat_activity; false if it is still there after 5 s.
  bool wait_until_gone(raw_connection& raw, int pid) {
    for (int i = 0; i < 500; ++i) {
      if (raw.value("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", {std::to_string(pid)}) == "0") return true;
      std::this_thread::sleep_for(10ms);
    }
    return false;
  }

  std::optional<std::string> url_ = postgres_url();
  std::optional<scratch_schema> schema_;
};

TEST_F(PostgresIndex, ReadsAndWritesReconnectAfterTheBackendIsTerminated) {
  auto store = open();
  store.create_index("blue");
  const std::vector<stored_document> docs{{"a", R"({"n":1})"}, {"b", R"({"n":2})"}};
  ASSERT_TRUE(store.bulk_write("blue", docs).ok());
  const std::vector<alias_action> add{alias_action::add("blue", "live")};
  store.update_aliases(add);
  raw_connection raw(schema_->url());

  // Each kind of operation meets a connection that the server closed while it was idle.
  auto drop = [&]() -> int {
    const int pid = store.backend_pid();
    if (pid == 0) throw std::runtime_error("the store has no connection to drop");
    if (raw.value("SELECT pg_terminate_backend($1)", {std::to_string(pid)}) != "t")
      throw std::runtime_error("pg_terminate_backend refused");
    if (!wait_until_gone(raw, pid)) throw std::runtime_error("the terminated backend did not go away");
    return pid;
  };
  int old_pid = drop();
  const std::vector<std::string> ids{"b", "a"};
  const auto got = store.get("blue", ids);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], std::optional<std::string>(R"({"n":2})"));
  EXPECT_EQ(got[1], std::optional<std::string>(R"({"n":1})"));
  EXPECT_NE(store.backend_pid(), old_pid);  // a new server process

  old_pid = drop();
  EXPECT_EQ(store.scan("blue", "", 10).documents, docs);
  EXPECT_NE(store.backend_pid(), old_pid);
  drop();
  EXPECT_EQ(store.alias_targets("live"), names({"blue"}));
  drop();
  EXPECT_EQ(store.list_indices(""), names({"blue"}));
  drop();
  EXPECT_EQ(store.aliases(), (std::vector<alias_entry>{{"live", "blue"}}));

  // A write that found the connection gone before it committed anything runs again, once.
  drop();
  const std::vector<stored_document> more{{"c", R"({"n":3})"}};
  EXPECT_TRUE(store.bulk_write("blue", more).ok());
  drop();
  store.create_index("green");
  drop();
  const std::vector<alias_action> flip{alias_action::remove("blue", "live", true), alias_action::add("green", "live")};
  store.update_aliases(flip);
  EXPECT_EQ(store.alias_targets("live"), names({"green"}));
  EXPECT_EQ(store.scan("blue", "", 10).documents.size(), 3u);
  // Exactly one connection of this store is left on the server.
  EXPECT_EQ(raw.value("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", {schema_->name()}), "1");
}

TEST_F(PostgresIndex, UnreachableServerIsStoreUnavailableAtOnceWithoutThePassword) {
  const int port = closed_port();
  const std::string url = "postgres://tributary:sekrit-pw@127.0.0.1:" + std::to_string(port) + "/tributary";
  const auto start = std::chrono::steady_clock::now();
  const auto e = thrown_by([&] { (void)postgres_index::open_url(url, schema_->options()); });
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(e.code(), errc::store_unavailable);
  EXPECT_LT(took, 5s);  // refused, not timed out (the connect_timeout is 10 s)
  EXPECT_TRUE(contains(e.what(), "postgres://tributary@127.0.0.1:" + std::to_string(port) + "/tributary")) << e.what();
  EXPECT_TRUE(contains(e.what(), "Connection refused")) << e.what();
  EXPECT_FALSE(contains(e.what(), "sekrit")) << e.what();
}

TEST_F(PostgresIndex, UnknownDatabaseIsStoreUnavailableWithTheServersMessage) {
  const std::string db = "tributary_no_such_db_" + std::to_string(::getpid());
  const auto e = thrown_by([&] { postgres_index store(with_database(*url_, db), schema_->options()); });
  EXPECT_EQ(e.code(), errc::store_unavailable);
  EXPECT_TRUE(contains(e.what(), "database \"" + db + "\" does not exist")) << e.what();
}

TEST_F(PostgresIndex, MalformedAndForeignUrlsAndBadSchemasAreInvalidConfig) {
  for (const std::string url : {"", "mysql://localhost/db", "sqlite:///tmp/x.db", "http://localhost:9200", "postgres:/x"}) {
    const auto e = thrown_by([&] { (void)postgres_index::open_url(url); });
    EXPECT_EQ(e.code(), errc::invalid_config) << url;
  }
  const auto e = thrown_by([&] { (void)postgres_index::open_url("postgresql://me:hunter2@[::1/db"); });
  EXPECT_EQ(e.code(), errc::invalid_config);
  EXPECT_FALSE(contains(e.what(), "hunter2")) << e.what();
  EXPECT_TRUE(postgres_index::is_postgres_url("PostgreSQL://h/db"));
  EXPECT_TRUE(postgres_index::is_postgres_url("postgres://h/db"));
  EXPECT_FALSE(postgres_index::is_postgres_url("postgresx://h/db"));

  for (const std::string& schema : std::vector<std::string>{"", "Upper", "a-b", "pg_catalog", "1abc",
                                                             "x;drop schema public", "a\"b", std::string(64, 'a')}) {
    auto options = schema_->options();
    options.schema = schema;
    const auto bad = thrown_by([&] { postgres_index store(*url_, options); });
    EXPECT_EQ(bad.code(), errc::invalid_config) << schema;
  }
  postgres_index fine(*url_, schema_->options());  // the schema of this test is a valid name
  EXPECT_TRUE(fine.list_indices("").empty());
}

// No server needed: every message that names a URL names it redacted, by userinfo or by parameter.
TEST(PostgresUrl, ErrorsNeverQuoteAPasswordInTheUrl) {
  auto e = thrown_by([] { (void)postgres_index::open_url("mysql://me:hunter2@db.example/catalogue?password=qsecret"); });
  EXPECT_EQ(e.code(), errc::invalid_config);
  EXPECT_FALSE(contains(e.what(), "hunter2")) << e.what();
  EXPECT_FALSE(contains(e.what(), "qsecret")) << e.what();
  EXPECT_TRUE(contains(e.what(), "mysql://me:***@db.example/catalogue?password=***")) << e.what();

  e = thrown_by([] { (void)postgres_index::open_url("postgresql://me:hunter2@[::1/db?password=qsecret"); });
  EXPECT_EQ(e.code(), errc::invalid_config);
  EXPECT_FALSE(contains(e.what(), "hunter2")) << e.what();
  EXPECT_FALSE(contains(e.what(), "qsecret")) << e.what();

  // libpq quotes a malformed parameter value alone, without the URL around it.
  e = thrown_by([] { (void)postgres_index::open_url("postgres://me:hunter2@127.0.0.1:5432/db?password=q%zzsecret"); });
  EXPECT_EQ(e.code(), errc::invalid_config) << e.what();
  EXPECT_FALSE(contains(e.what(), "hunter2")) << e.what();
  EXPECT_FALSE(contains(e.what(), "zzsecret")) << e.what();

  // A password as a parameter, and one %-escaped in the userinfo, against a port nobody listens on.
  const std::string port = std::to_string(closed_port());
  for (const std::string& url : {"postgres://tributary@127.0.0.1:" + port + "/tributary?password=qsecret",
                                "postgres://tributary:hunter%232@127.0.0.1:" + port + "/tributary"}) {
    e = thrown_by([&] { (void)postgres_index::open_url(url); });
    EXPECT_EQ(e.code(), errc::store_unavailable) << e.what();
    EXPECT_FALSE(contains(e.what(), "qsecret")) << e.what();
    EXPECT_FALSE(contains(e.what(), "hunter")) << e.what();
    EXPECT_TRUE(contains(e.what(), "postgres://tributary@127.0.0.1:" + port + "/tributary")) << e.what();
  }
}

TEST(PostgresUrl, TheSecretsToScrubAreFoundInBothFormsOfConnectionString) {
  using secrets = std::vector<std::string>;
  EXPECT_EQ(detail::pg_url_secrets("postgres://me:hun%40ter2@h/db?sslmode=require&password=q2&sslpassword=q3"),
            (secrets{"hun%40ter2", "q2", "q3"}));
  EXPECT_EQ(detail::pg_url_secrets("postgres://me@h/db?password="), secrets{});
  EXPECT_EQ(detail::pg_url_secrets("host=h user=me password=k1 dbname=db"), secrets{"k1"});
  EXPECT_EQ(detail::pg_url_secrets("host = h password = 'k 2\\'s' sslpassword=k3 sslkey=/k.pem"), (secrets{"k 2\\'s", "k3"}));
  EXPECT_EQ(detail::pg_url_secrets("password='unterminated"), secrets{"unterminated"});
  EXPECT_EQ(detail::pg_url_secrets("host=h junk password"), secrets{});
}

TEST(PostgresUrl, TheSchemaParameterIsTributarysAndTheRestGoesToLibpq) {
  auto taken = [](std::string url) -> std::pair<std::optional<std::string>, std::string> {
    auto schema = detail::pg_take_schema_parameter(url);
    return {schema, url};
  };
  using result = std::pair<std::optional<std::string>, std::string>;
  EXPECT_EQ(taken("postgres://h/db"), result(std::nullopt, "postgres://h/db"));
  EXPECT_EQ(taken("postgres://h/db?schema=e2e"), result("e2e", "postgres://h/db"));
  EXPECT_EQ(taken("postgres://h/db?sslmode=require&schema=e2e&application_name=x"),
            result("e2e", "postgres://h/db?sslmode=require&application_name=x"));
  EXPECT_EQ(taken("postgres://h/db?connect_timeout=3&schema=e2e"), result("e2e", "postgres://h/db?connect_timeout=3"));
  EXPECT_EQ(taken("postgres://h/db?searchschema=x"), result(std::nullopt, "postgres://h/db?searchschema=x"));
  EXPECT_EQ(taken("host=h dbname=db"), result(std::nullopt, "host=h dbname=db"));  // keyword form: not a URL
  const auto twice = thrown_by([&] { (void)taken("postgres://h/db?schema=a&schema=b"); });
  EXPECT_EQ(twice.code(), errc::invalid_config);
  EXPECT_TRUE(contains(twice.what(), "twice")) << twice.what();
}

TEST_F(PostgresIndex, TheUrlChoosesTheSchema) {
  const std::string url = *url_ + (url_->find('?') == std::string::npos ? "?" : "&") +
                          "application_name=" + schema_->name() + "&schema=" + schema_->name();
  {
    auto store = postgres_index::open_url(url);  // default options: the schema comes from the URL alone
    store.create_index("from-url");
    raw_connection raw(schema_->url());
    EXPECT_EQ(raw.column("SELECT name FROM \"" + schema_->name() + "\".indices"), names({"from-url"}));
    // The other parameters reached libpq.
    EXPECT_EQ(raw.value("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", {schema_->name()}), "1");
  }
  const auto bad = thrown_by([&] { (void)postgres_index::open_url(*url_ + "?schema=Not-A-Name"); });
  EXPECT_EQ(bad.code(), errc::invalid_config);
  EXPECT_TRUE(contains(bad.what(), "Not-A-Name")) << bad.what();
}

TEST_F(PostgresIndex, SchemaOfAnotherApplicationOrNewerVersionIsRefused) {
  raw_connection raw(schema_->url());
  raw.exec("CREATE SCHEMA \"" + schema_->name() + "\"");
  raw.exec("CREATE TABLE \"" + schema_->name() + "\".accounts (id int PRIMARY KEY)");
  auto e = thrown_by([&] { (void)open(); });
  EXPECT_EQ(e.code(), errc::store_unavailable);
  EXPECT_TRUE(contains(e.what(), "another application")) << e.what();

  raw.exec("DROP TABLE \"" + schema_->name() + "\".accounts");
  { auto store = open(); }  // an empty schema is taken
  raw.exec("UPDATE \"" + schema_->name() + "\".meta SET value = '7' WHERE key = 'schema_version'");
  e = thrown_by([&] { (void)open(); });
  EXPECT_EQ(e.code(), errc::store_unavailable);
  EXPECT_TRUE(contains(e.what(), "schema version 7")) << e.what();
  EXPECT_TRUE(contains(e.what(), "newer")) << e.what();
}

/// The schema every store had before change positions (version 1), exactly as that version created
/// it (less the LZ4 compression it asked for), with two indices, documents and an alias.
void make_version_1_store(raw_connection& raw, const std::string& schema) {
  std::string ddl = R"sql(
CREATE SCHEMA {s};
CREATE TABLE {s}.meta (
  key   text COLLATE "C" PRIMARY KEY,
  value text NOT NULL
);
CREATE TABLE {s}.indices (
  name text COLLATE "C" PRIMARY KEY
);
CREATE TABLE {s}.documents (
  idx  text COLLATE "C" NOT NULL,
  id   text COLLATE "C" NOT NULL,
  json text NOT NULL,
  body jsonb GENERATED ALWAYS AS (json::jsonb) STORED,
  PRIMARY KEY (idx, id)
);
CREATE INDEX documents_search ON {s}.documents USING gin ((
  to_tsvector('simple'::regconfig, coalesce(body->>'title', '') || ' ' || coalesce(body->>'summary', '') || ' ' ||
                                   coalesce(body->>'description', ''))));
CREATE TABLE {s}.aliases (
  alias text COLLATE "C" NOT NULL,
  idx   text COLLATE "C" NOT NULL REFERENCES {s}.indices(name),
  PRIMARY KEY (alias, idx)
);
CREATE INDEX aliases_by_index ON {s}.aliases(idx);
INSERT INTO {s}.meta(key, value) VALUES ('schema_version', '1');
INSERT INTO {s}.indices(name) VALUES ('blue'), ('green');
INSERT INTO {s}.documents(idx, id, json) VALUES ('blue', 'b', '{"v":1}'), ('blue', 'a', '{"v":1}'),
  ('blue', 'c', '{"v":1}'), ('green', 'x', '{}');
INSERT INTO {s}.aliases(alias, idx) VALUES ('live', 'blue');
)sql";
  const std::string quoted = "\"" + schema + "\"";
  for (auto at = ddl.find("{s}"); at != std::string::npos; at = ddl.find("{s}", at)) ddl.replace(at, 3, quoted);
  for (std::size_t from = 0, end; (end = ddl.find(";\n", from)) != std::string::npos; from = end + 2)
    raw.exec(ddl.substr(from, end - from));  // one statement at a time: raw.exec sends parameters
}

TEST_F(PostgresIndex, AVersion1SchemaIsMigratedInPlace) {
  raw_connection raw(schema_->url());
  make_version_1_store(raw, schema_->name());
  auto store = open_catalogue();
  const std::string meta = "SELECT value FROM \"" + schema_->name() + "\".meta WHERE key = 'schema_version'";
  EXPECT_EQ(raw.value(meta), "4");
  EXPECT_EQ(store.list_indices(""), names({"blue", "green"}));
  EXPECT_EQ(store.aliases(), (std::vector<alias_entry>{{"live", "blue"}}));
  const std::vector<stored_document> before{{"a", R"({"v":1})"}, {"b", R"({"v":1})"}, {"c", R"({"v":1})"}};
  EXPECT_EQ(store.scan("blue", "", 10).documents, before);

  // The documents written before positions existed are in the feed once; new writes come after them.
  const auto page = store.changes_since("blue", 0, 10);
  EXPECT_TRUE(page.done);
  auto fed = page.documents;
  std::sort(fed.begin(), fed.end(), [](const auto& x, const auto& y) { return x.id < y.id; });
  EXPECT_EQ(fed, before);
  ASSERT_TRUE(store.bulk_write("blue", std::vector<stored_document>{{"b", R"({"v":2})"}, {"d", "{}"}}).ok());
  const auto after = store.changes_since("blue", page.next, 10);
  EXPECT_EQ(after.documents, (std::vector<stored_document>{{"b", R"({"v":2})"}, {"d", "{}"}}));
  EXPECT_EQ(store.changes_since("green", 0, 10).documents, (std::vector<stored_document>{{"x", "{}"}}));
  EXPECT_EQ(store.search("blue", "nothing", 10).size(), 0u);  // the search index survived

  // A second connection finds the current version and changes nothing.
  auto again = open();
  EXPECT_EQ(raw.value(meta), "4");
  EXPECT_EQ(again.changes_since("blue", 0, 10).documents.size(), 4u);
}

TEST_F(PostgresIndex, AReaderOfAVersion1SchemaReadsItAsItIs) {
  raw_connection raw(schema_->url());
  make_version_1_store(raw, schema_->name());
  auto options = schema_->options();
  options.create_schema = false;
  postgres_index reader(schema_->url(), options);
  EXPECT_EQ(reader.scan("blue", "", 10).documents.size(), 3u);
  EXPECT_EQ(reader.exists("blue", names({"a", "z"})), (std::vector<bool>{true, false}));
  const auto e = thrown_by([&] { (void)reader.changes_since("blue", 0, 10); });
  EXPECT_EQ(e.code(), errc::store_unavailable);
  EXPECT_TRUE(contains(e.what(), "version 1")) << e.what();
  // It writes nothing either: its statements are the current version's.
  const auto w = thrown_by([&] { (void)reader.bulk_write("blue", std::vector<stored_document>{{"d", "{}"}}); });
  EXPECT_EQ(w.code(), errc::store_unavailable);
  EXPECT_TRUE(contains(w.what(), "version 1")) << w.what();
  EXPECT_EQ(reader.scan("blue", "", 10).documents.size(), 3u);
  EXPECT_EQ(raw.value("SELECT value FROM \"" + schema_->name() + "\".meta WHERE key = 'schema_version'"), "1");
}

TEST_F(PostgresIndex, AMigratedSchemaHasTheTablesAndIndicesOfANewOne) {
  raw_connection raw(schema_->url());
  make_version_1_store(raw, schema_->name());
  { auto migrated = open_catalogue(); }
  scratch_schema fresh(*url_);
  {
    // The same indices, documents and alias as the version 1 store: the aliased one has its search
    // index, both have their keys (the other once it is read).
    postgres_index created(*url_, catalogue_postgres_options(fresh.options()));
    created.create_index("blue");
    created.create_index("green");
    ASSERT_TRUE(created.bulk_write("blue", std::vector<stored_document>{{"a", "{}"}, {"b", "{}"}, {"c", "{}"}}).ok());
    ASSERT_TRUE(created.bulk_write("green", std::vector<stored_document>{{"x", "{}"}}).ok());
    created.update_aliases(std::vector<alias_action>{alias_action::add("blue", "live")});
    EXPECT_EQ(created.get("green", names({"x"})).front(), std::optional<std::string>("{}"));
  }
  auto shape = [&](const std::string& schema) {
    std::string out;
    for (const auto& row : raw.column("SELECT table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable || ' ' || "
                                      "coalesce(column_default, '') FROM information_schema.columns WHERE table_schema = $1 "
                                      "ORDER BY table_name, column_name",
                                      {schema}))
      out += row + "\n";
    for (const auto& row : raw.column("SELECT replace(indexdef, $1, 's') FROM pg_indexes WHERE schemaname = $2 ORDER BY indexname",
                                      {schema, schema}))
      out += row + "\n";
    return out;
  };
  EXPECT_EQ(shape(schema_->name()), shape(fresh.name()));
}

/// The keys of index `index`'s table (its unique key of ids and its key of positions once sealed).
std::vector<std::string> keys_of(raw_connection& raw, const std::string& schema, const std::string& index) {
  return raw.column("SELECT indexname FROM pg_indexes WHERE schemaname = $1 AND tablename = 'documents_' || md5($2) "
                    "ORDER BY indexname",
                    {schema, index});
}

/// Documents k<from> .. k<to - 1> (three digits), each {"v":<version>}: enough of them that a bulk
/// write appends to an index without keys (a smaller one seals it first).
std::vector<stored_document> versioned(int from, int to, int version) {
  std::vector<stored_document> out;
  for (int k = from; k < to; ++k) {
    char id[16];
    std::snprintf(id, sizeof id, "k%03d", k);
    out.push_back({id, "{\"v\":" + std::to_string(version) + "}"});
  }
  return out;
}

TEST_F(PostgresIndex, AFreshIndexIsFilledWithoutKeysAndReadAsIfItHadThem) {
  for (const auto method : {postgres_bulk_method::copy, postgres_bulk_method::array_insert}) {
    SCOPED_TRACE(method == postgres_bulk_method::copy ? "copy" : "array_insert");
    auto store = open(method);
    const std::string index = method == postgres_bulk_method::copy ? "by-copy" : "by-insert";
    store.create_index(index);
    raw_connection raw(schema_->url());
    const std::string table = "\"" + schema_->name() + "\".documents_" + raw.value("SELECT md5($1)", {index});
    // k150..k299 written twice before anything reads the index: appended, the newer at the later
    // positions (1..300, then 301..600).
    ASSERT_TRUE(store.bulk_write(index, versioned(0, 300, 1)).ok());
    ASSERT_TRUE(store.bulk_write(index, versioned(150, 450, 2)).ok());
    EXPECT_TRUE(keys_of(raw, schema_->name(), index).empty());
    EXPECT_EQ(raw.value("SELECT count(*) FROM " + table), "600");

    // A connection that may not write the schema reads the newest row of each id and seals nothing.
    auto options = schema_->options(method);
    options.create_schema = false;
    postgres_index reader(schema_->url(), options);
    auto newest = versioned(0, 150, 1);
    for (auto& d : versioned(150, 450, 2)) newest.push_back(std::move(d));
    EXPECT_EQ(reader.scan(index, "", 1000).documents, newest);
    EXPECT_EQ(reader.scan(index, "k148", 3).documents, (std::vector<stored_document>(newest.begin() + 149, newest.begin() + 152)));
    EXPECT_EQ(reader.get(index, names({"k200", "k100", "z"})),
              (std::vector<std::optional<std::string>>{R"({"v":2})", R"({"v":1})", std::nullopt}));
    EXPECT_EQ(reader.exists(index, names({"k000", "k449", "k450"})), (std::vector<bool>{true, true, false}));
    const auto fed = reader.changes_since(index, 0, 1000);
    EXPECT_EQ(fed.documents, newest);  // in position order, which here is id order
    EXPECT_EQ(fed.next, 600u);
    EXPECT_EQ(reader.changes_since(index, 150, 1).documents, (std::vector<stored_document>{{"k150", R"({"v":2})"}}));
    EXPECT_TRUE(keys_of(raw, schema_->name(), index).empty());
    EXPECT_EQ(raw.value("SELECT count(*) FROM " + table), "600");

    // The writer's first read seals it: the older rows go, the keys are built, reads agree.
    EXPECT_EQ(store.scan(index, "", 1000).documents, newest);
    const auto md5 = raw.value("SELECT md5($1)", {index});
    EXPECT_EQ(keys_of(raw, schema_->name(), index),
              (std::vector<std::string>{"documents_" + md5 + "_id", "documents_" + md5 + "_seq"}));
    EXPECT_EQ(raw.value("SELECT count(*) FROM " + table), "450");
    EXPECT_EQ(reader.changes_since(index, 0, 1000).documents, newest);
    // Sealed, a write replaces the rows of its ids.
    ASSERT_TRUE(store.bulk_write(index, versioned(0, 300, 3)).ok());
    EXPECT_EQ(raw.value("SELECT count(*) FROM " + table), "450");
    EXPECT_EQ(reader.get(index, names({"k299", "k300"})),
              (std::vector<std::optional<std::string>>{R"({"v":3})", R"({"v":2})"}));
  }
}

TEST_F(PostgresIndex, DeletingFromAnIndexWithoutKeysDeletesEveryRowOfTheId) {
  auto store = open();
  store.create_index("i");
  ASSERT_TRUE(store.bulk_write("i", versioned(0, 300, 1)).ok());
  ASSERT_TRUE(store.bulk_write("i", versioned(0, 300, 2)).ok());
  raw_connection raw(schema_->url());
  EXPECT_TRUE(keys_of(raw, schema_->name(), "i").empty());
  EXPECT_EQ(store.delete_documents("i", names({"k005", "k005", "zz"})).present, (std::vector<bool>{true, false, false}));
  EXPECT_EQ(raw.value("SELECT count(*) FROM \"" + schema_->name() + "\".documents_" + raw.value("SELECT md5('i')")), "598");
  EXPECT_EQ(store.get("i", names({"k005", "k006"})), (std::vector<std::optional<std::string>>{std::nullopt, R"({"v":2})"}));
  EXPECT_EQ(store.scan("i", "", 1000).documents.size(), 299u);
}

TEST_F(PostgresIndex, ASmallBulkWriteSealsTheIndexSoRewritesDoNotPileUp) {
  // A ledger rewrites one document: without keys each write would add a row until the index is read.
  auto store = open();
  store.create_index("ledger");
  raw_connection raw(schema_->url());
  for (int i = 0; i < 300; ++i)
    ASSERT_TRUE(store.bulk_write("ledger", std::vector<stored_document>{{"me", "{\"n\":" + std::to_string(i) + "}"}}).ok());
  EXPECT_EQ(raw.value("SELECT count(*) FROM \"" + schema_->name() + "\".documents_" + raw.value("SELECT md5('ledger')")), "1");
  EXPECT_EQ(keys_of(raw, schema_->name(), "ledger").size(), 2u);
  EXPECT_EQ(store.get("ledger", names({"me"})).front(), std::optional<std::string>(R"({"n":299})"));
}

TEST_F(PostgresIndex, InsertIfAbsentSealsTheIndexFirstSoTheNewestRowDecides) {
  auto store = open();
  store.create_index("i");
  ASSERT_TRUE(store.bulk_write("i", versioned(0, 300, 1)).ok());
  ASSERT_TRUE(store.bulk_write("i", versioned(0, 300, 2)).ok());
  const auto r = store.insert_if_absent("i", std::vector<stored_document>{{"k000", R"({"v":3})"}, {"b", "{}"}});
  EXPECT_EQ(r.items, (std::vector<insert_result::outcome>{insert_result::outcome::existed, insert_result::outcome::inserted}));
  EXPECT_EQ(store.get("i", names({"k000", "b"})), (std::vector<std::optional<std::string>>{R"({"v":2})", "{}"}));
  // A name the server cannot hold is no index, before anything is sealed.
  const std::vector<stored_document> one{{"a", "{}"}};
  EXPECT_EQ(thrown_by([&] { (void)store.insert_if_absent("\xff", one); }).code(), errc::not_found);
}

TEST_F(PostgresIndex, AnAliasSealsAnIndexWithDocumentsAndLeavesAnEmptyOneToBeFilled) {
  auto store = open_catalogue();
  raw_connection raw(schema_->url());
  store.create_index("worker");
  // A collector's working alias goes on its worker before it is filled: nothing to seal yet.
  store.update_aliases(std::vector<alias_action>{alias_action::add("worker", "working")});
  EXPECT_TRUE(keys_of(raw, schema_->name(), "worker").empty());
  auto older = versioned(0, 300, 1), newer = versioned(0, 300, 2);
  older[7].json = R"({"title":"Tax"})";
  newer[7].json = R"({"title":"Vehicle Registry"})";
  ASSERT_TRUE(store.bulk_write("worker", older).ok());
  ASSERT_TRUE(store.bulk_write("worker", newer).ok());
  EXPECT_TRUE(keys_of(raw, schema_->name(), "worker").empty());
  // Published with documents: sealed and searchable before the alias is there.
  store.update_aliases(std::vector<alias_action>{alias_action::add("worker", "live")});
  const auto md5 = raw.value("SELECT md5('worker')");
  EXPECT_EQ(keys_of(raw, schema_->name(), "worker"),
            (std::vector<std::string>{"documents_" + md5 + "_id", "documents_" + md5 + "_seq", "documents_search_" + md5}));
  EXPECT_EQ(store.search("worker", "vehicle", 10).size(), 1u);
  EXPECT_TRUE(store.search("worker", "tax", 10).empty());
}

TEST_F(PostgresIndex, ADeletedIndexTakesItsTableAndANewOneOfItsNameStartsEmpty) {
  auto store = open_catalogue();
  raw_connection raw(schema_->url());
  store.create_index("old");
  ASSERT_TRUE(store.bulk_write("old", std::vector<stored_document>{{"a", R"({"title":"x"})"}}).ok());
  store.update_aliases(std::vector<alias_action>{alias_action::add("old", "live")});
  store.update_aliases(std::vector<alias_action>{alias_action::remove("old", "live")});
  store.delete_indices(names({"old"}));
  EXPECT_EQ(raw.value("SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                      "WHERE n.nspname = $1 AND c.relname LIKE 'documents\\_%'",
                      {schema_->name()}),
            "0");
  store.create_index("old");
  EXPECT_TRUE(store.scan("old", "", 10).documents.empty());
  EXPECT_TRUE(store.changes_since("old", 0, 10).documents.empty());
}

TEST_F(PostgresIndex, DocumentsTheServerRefusesAreReportedItemByItem) {
  for (const auto method : {postgres_bulk_method::copy, postgres_bulk_method::array_insert}) {
    auto store = open(method);
    const std::string index = method == postgres_bulk_method::copy ? "copy" : "array";
    store.create_index(index);
    const std::string spaced = "{ \"n\" : 1,\n  \"list\":[ ] }";  // JSONB would normalise this text
    const std::vector<stored_document> docs{{"a", spaced},
                                            {"b", "{not json"},
                                            {"c", R"({"x":"\u0000"})"},  // JSONB holds no NUL character
                                            {"d", "[1,2]"},
                                            {"e", std::string("{\"x\":\"a\0b\"}", 12)},
                                            {"\xff", "{}"},
                                            {"f", "5"},
                                            {"g", "{older"},  // refused, though a later write of g replaces it
                                            {"g", "{}"}};
    const auto result = store.bulk_write(index, docs);
    EXPECT_EQ(result.written, 4u) << index;
    ASSERT_EQ(result.failures.size(), 5u) << index;
    EXPECT_EQ(result.failures[0].position, 1u);
    EXPECT_EQ(result.failures[0].id, "b");
    EXPECT_TRUE(contains(result.failures[0].reason, "json")) << result.failures[0].reason;
    EXPECT_EQ(result.failures[1].position, 2u);
    EXPECT_EQ(result.failures[2].position, 4u);
    EXPECT_EQ(result.failures[3].position, 5u);
    EXPECT_EQ(result.failures[4].position, 7u);
    for (const auto& f : result.failures) EXPECT_FALSE(f.retryable);
    const std::vector<stored_document> stored{{"a", spaced}, {"d", "[1,2]"}, {"f", "5"}, {"g", "{}"}};
    EXPECT_EQ(store.scan(index, "", 10).documents, stored) << index;

    // The only refused document is one a later write of its id replaces: still reported.
    const auto older = store.bulk_write(index, std::vector<stored_document>{{"h", "{older"}, {"h", "{}"}});
    EXPECT_EQ(older.written, 1u) << index;
    ASSERT_EQ(older.failures.size(), 1u) << index;
    EXPECT_EQ(older.failures[0].position, 0u);
    EXPECT_EQ(store.get(index, names({"h"})).front(), std::optional<std::string>("{}"));
  }
}

TEST_F(PostgresIndex, ADocumentRefusedMegabytesIntoACopyStopsItAndTheOthersAreWritten) {
  // The copy method checks each document as it sends it: one refused after several megabytes were
  // sent ends that COPY, rolled back, and the documents are written again without it.
  auto store = open(postgres_bulk_method::copy);
  store.create_index("i");
  ASSERT_TRUE(store.bulk_write("i", std::vector<stored_document>{{"k0000", R"({"old":true})"}}).ok());
  std::vector<stored_document> docs;
  for (int k = 0; k < 4000; ++k) {
    char id[16];
    std::snprintf(id, sizeof id, "k%04d", k);
    docs.push_back({id, "{\"pad\":\"" + std::string(1000, 'x') + "\"}"});
  }
  docs[3500].json = "{not json";
  const int backend = store.backend_pid();
  const auto result = store.bulk_write("i", docs);
  EXPECT_EQ(store.backend_pid(), backend) << "the stopped COPY was ended, not the connection";
  EXPECT_EQ(result.written, 3999u);
  ASSERT_EQ(result.failures.size(), 1u);
  EXPECT_EQ(result.failures[0].position, 3500u);
  const auto page = store.changes_since("i", 0, 5000);
  EXPECT_EQ(page.documents.size(), 3999u);
  EXPECT_EQ(page.next, 1u + 3999u);  // the stopped COPY's 4000 positions were rolled back with it
  EXPECT_EQ(store.get("i", names({"k0000", "k3500", "k3999"})),
            (std::vector<std::optional<std::string>>{docs[0].json, std::nullopt, docs[3999].json}));
}

TEST_F(PostgresIndex, TheWriterRefusesTheDocumentsJsonbWouldRefuse) {
  // Documents are stored as text and parsed into JSONB when a search index is built: the writer must
  // refuse what the server's jsonb would, or a published index could not get its search index.
  const std::vector<std::string> texts{
    R"({"a":[1,2.5,-3e2,true,null,"x"]})", R"({"x":"\\u0000"})", R"({"x":"\u0000"})", R"({"x":"\\\u0000"})",
    R"({"x":"\ud83d\ude00"})", R"({"x":"\u00e9\n\t\""})", "{\"x\":\"\xc3\xa9\"}", R"({"x":1} x)", R"({"x":})",
    R"({"x":"a)", "[", "", "   ", "nul", R"({"x":"\q"})", "{\"x\":\"tab\there\"}", R"({"x":01})",
    std::string(500, '[') + std::string(500, ']'),
    // Numbers jsonb's numeric holds beyond 64-bit integers and doubles, up to its own bounds.
    R"({"n":295147905179352830000})", "[-9223372036854775809]", "[1e400]", "[1e131071]", "[1e131072]",
    "[0.001e131074]", "[0.5e131072]", "[1.5e131071]", "[1e-16383]", "[1e-16384]", "[0.000e-16380]",
    "[0.000e-16381]", "[0e1073741822]", "[0e1073741823]", "[0e-16384]", "[-0.0e5]", "[1E+5]",
    "[123456789012345678901234567890.5]",
    // What the grammar refuses, behind a number simdjson refuses, and surrogates.
    "[1e400, 01]", "[1e400, 1.]", "[1e400, .5]", "[1e400, -]", "[1e400, 1e]", "[1e400, +1]", "[1e400 1]",
    R"([1e400, "\ud83d"])", R"([1e400, "\ude00"])", R"([1e400, "\ud83d\ude00"])", R"([1e400, "\ud83dx"])",
    R"([1e400, "\u00"])", R"({"n":1e400,})", "{\"n\":1e400,\"x\":\"\\u0000\"}", "[1e400, \"\xc3\"]",
    "[1e400, \"a\tb\"]", "[1e400] x", "[1e400",
    // Numbers simdjson reads (as zero, or a double) beyond numeric's bounds: a long exponent, a long
    // fraction with a four-digit exponent, digits ending the text.
    "[0.5, " + std::string(6400, ' ') + "1." + std::string(6400, '0') + "e-9999]", "[0." + std::string(16384, '0') + "1]",
    "[0." + std::string(16382, '0') + "1]", R"({"note": "e-12345 and 1e+12345 in a string"})", "1e-16384", "1e-1638"};
  auto store = open();
  store.create_index("i");
  raw_connection raw(schema_->url());
  for (const auto& text : texts) {
    bool server_takes = true;
    try {
      raw.value("SELECT $1::jsonb IS NOT NULL", {text});
    } catch (const std::exception&) {
      server_takes = false;
    }
    const auto result = store.bulk_write("i", std::vector<stored_document>{{"d", text}});
    EXPECT_EQ(result.ok(), server_takes) << text;
    if (!result.ok()) {
      EXPECT_TRUE(contains(result.failures.at(0).reason, "json")) << result.failures.at(0).reason;
    }
  }
}

TEST_F(PostgresIndex, NamesAndIdsCompareAsBytes) {
  auto store = open();
  for (const char* n : {"\xc3\xa9t\xc3\xa9", "e", "\xe2\x82\xac"}) store.create_index(n);
  EXPECT_EQ(store.list_indices("\xc3"), names({"\xc3\xa9t\xc3\xa9"}));  // a prefix that ends inside a character
  EXPECT_EQ(store.list_indices(""), names({"e", "\xc3\xa9t\xc3\xa9", "\xe2\x82\xac"}));
  EXPECT_EQ(thrown_by([&] { store.create_index("\xff"); }).code(), errc::invalid_name);
  EXPECT_FALSE(store.index_exists("\xff"));
  EXPECT_EQ(thrown_by([&] { (void)store.scan("\xff", "", 1); }).code(), errc::not_found);

  const std::vector<stored_document> docs{{"a", "{}"}, {"\xc3\xa9", "{}"}, {"z", "{}"}};
  ASSERT_TRUE(store.bulk_write("e", docs).ok());
  // Resuming after ids that cannot be stored still follows byte order.
  auto page = store.scan("e", "\xc3", 10);
  ASSERT_EQ(page.documents.size(), 1u);
  EXPECT_EQ(page.documents[0].id, "\xc3\xa9");
  page = store.scan("e", std::string("a\0", 2), 10);
  ASSERT_EQ(page.documents.size(), 2u);
  EXPECT_EQ(page.documents[0].id, "z");
  EXPECT_EQ(store.get("e", names({"\xff", "a"})), (std::vector<std::optional<std::string>>{std::nullopt, "{}"}));
}

/// The names of the schema's search indexes (documents_search_<md5 of the index name>).
std::vector<std::string> search_indexes(raw_connection& raw, const std::string& schema) {
  return raw.column("SELECT indexname FROM pg_indexes WHERE schemaname = $1 AND indexname LIKE 'documents\\_search%' "
                    "ORDER BY indexname",
                    {schema});
}

TEST_F(PostgresIndex, SearchFindsDocumentsByTitleWords) {
  auto store = open_catalogue();
  store.create_index("catalogue");
  store.create_index("other");
  const std::vector<stored_document> docs{
    {"s1", R"({"id":"s1","title":"Vehicle Registry","description":"Cars and their owners"})"},
    {"s2", R"({"id":"s2","title":"Population register","summary":"persons","description":"Who lives where"})"},
    {"s3", R"({"id":"s3","title":"Vehicle inspections","description":"Vehicle roadworthiness; vehicle history"})"},
    {"s4", R"({"id":"s4","title":"Tax","description":"Vehicle tax is not here"})"},
    {"s5", "[1,2,3]"},
    {"s6", "\"just text\""},
  };
  ASSERT_TRUE(store.bulk_write("catalogue", docs).ok());
  const std::vector<stored_document> elsewhere{{"x1", R"({"title":"Vehicle elsewhere"})"}};
  ASSERT_TRUE(store.bulk_write("other", elsewhere).ok());

  auto ids = [](const std::vector<stored_document>& found) {
    std::vector<std::string> out;
    for (const auto& d : found) out.push_back(d.id);
    return out;
  };
  const auto vehicle = store.search("catalogue", "VEHICLE", 10);
  EXPECT_EQ(ids(vehicle), names({"s3", "s1", "s4"}));  // s3 says it three times
  EXPECT_EQ(vehicle[1].json, docs[0].json);
  EXPECT_EQ(ids(store.search("catalogue", "vehicle registry", 10)), names({"s1"}));  // words are ANDed
  EXPECT_EQ(ids(store.search("catalogue", "persons", 10)), names({"s2"}));           // the summary counts
  auto excluded = ids(store.search("catalogue", "vehicle -tax", 10));
  std::sort(excluded.begin(), excluded.end());  // ts_rank orders queries with negation its own way
  EXPECT_EQ(excluded, names({"s1", "s3"}));
  EXPECT_EQ(ids(store.search("catalogue", "vehicle", 1)), names({"s3"}));
  EXPECT_TRUE(store.search("catalogue", "nothing-like-this", 10).empty());
  EXPECT_TRUE(store.search("catalogue", "", 10).empty());
  EXPECT_EQ(ids(store.search("other", "vehicle", 10)), names({"x1"}));
  EXPECT_EQ(thrown_by([&] { (void)store.search("missing", "vehicle", 10); }).code(), errc::not_found);
  EXPECT_EQ(thrown_by([&] { (void)store.search("catalogue", "vehicle", 0); }).code(), errc::invalid_config);

  // Once an alias reaches the index, its GIN index serves the search expression as postgres_index
  // writes it; the same results as the scan before.
  store.update_aliases(std::vector<alias_action>{alias_action::add("catalogue", "live")});
  EXPECT_EQ(ids(store.search("catalogue", "VEHICLE", 10)), names({"s3", "s1", "s4"}));
  raw_connection raw(schema_->url());
  std::vector<stored_document> filler;  // enough rows that a b-tree on idx is not as good
  for (int i = 0; i < 3000; ++i)
    filler.push_back({"f" + std::to_string(i), R"({"title":"filler )" + std::to_string(i) + R"("})"});
  ASSERT_TRUE(store.bulk_write("catalogue", filler).ok());
  raw.exec("ANALYZE \"" + schema_->name() + "\".documents");
  raw.exec("SET enable_seqscan = off");
  const auto plan = raw.column("EXPLAIN SELECT id FROM \"" + schema_->name() + "\".documents WHERE idx = 'catalogue' AND " +
                               detail::pg_search_vector(catalogue_postgres_options().search_fields) +
                               " @@ websearch_to_tsquery('simple'::regconfig, 'vehicle')");
  std::string text;
  for (const auto& line : plan) text += line + "\n";
  EXPECT_TRUE(contains(text, "documents_search_")) << text;
}

TEST_F(PostgresIndex, AnIndexGetsItsSearchIndexBeforeAnAliasReachesIt) {
  auto options = catalogue_postgres_options(schema_->options());
  options.lock_timeout = 200ms;
  postgres_index store(*url_, options);
  store.create_index("worker");
  const std::vector<stored_document> docs{{"s1", R"({"title":"Vehicle Registry"})"}, {"s2", R"({"title":"Tax"})"}};
  ASSERT_TRUE(store.bulk_write("worker", docs).ok());
  raw_connection raw(schema_->url());
  const std::string worker_index = raw.value("SELECT 'documents_search_' || md5('worker')");
  // Written without one: its documents are parsed for the search index once, when it is published.
  EXPECT_TRUE(search_indexes(raw, schema_->name()).empty());

  // While the search index cannot be built (another transaction writes the documents table, so
  // CREATE INDEX waits past the lock timeout), the alias does not move.
  raw_connection writer(schema_->url());
  writer.exec("BEGIN");
  writer.exec("LOCK TABLE \"" + schema_->name() + "\".documents IN ROW EXCLUSIVE MODE");
  const auto blocked = thrown_by([&] {
    store.update_aliases(std::vector<alias_action>{alias_action::add("worker", "live")});
  });
  EXPECT_EQ(blocked.code(), errc::timed_out) << blocked.what();
  EXPECT_TRUE(store.aliases().empty());
  EXPECT_TRUE(search_indexes(raw, schema_->name()).empty());
  writer.exec("ROLLBACK");

  store.update_aliases(std::vector<alias_action>{alias_action::add("worker", "live")});
  EXPECT_EQ(store.aliases(), (std::vector<alias_entry>{{"live", "worker"}}));
  EXPECT_EQ(search_indexes(raw, schema_->name()), std::vector<std::string>{worker_index});
  EXPECT_EQ(store.search("worker", "vehicle", 10).size(), 1u);

  // A second alias to it finds the index built; the next worker gets its own when it is published,
  // and a deleted index's search index goes with it.
  store.update_aliases(std::vector<alias_action>{alias_action::add("worker", "other")});
  store.create_index("next");
  ASSERT_TRUE(store.bulk_write("next", docs).ok());
  store.update_aliases(std::vector<alias_action>{alias_action::remove("worker", "live"),
                                                 alias_action::remove("worker", "other"),
                                                 alias_action::add("next", "live")});
  store.delete_indices(names({"worker"}));
  EXPECT_EQ(search_indexes(raw, schema_->name()), std::vector<std::string>{raw.value("SELECT 'documents_search_' || md5('next')")});
  EXPECT_EQ(store.search("next", "tax", 10).size(), 1u);
}

TEST_F(PostgresIndex, AGenericStoreBuildsNoSearchIndexAndRefusesSearch) {
  auto store = open();
  store.create_index("i");
  EXPECT_EQ(thrown_by([&] { (void)store.search("i", "word", 10); }).code(), errc::invalid_config);
  store.update_aliases(std::vector<alias_action>{alias_action::add("i", "live")});
  raw_connection raw(schema_->url());
  EXPECT_TRUE(search_indexes(raw, schema_->name()).empty());
}

TEST_F(PostgresIndex, SearchReadsTheConfiguredFieldsOnly) {
  auto options = schema_->options();
  options.search_fields = {"name", "it's"};  // a quote in a field name is a literal's, not SQL
  postgres_index store(*url_, options);
  store.create_index("i");
  const std::vector<stored_document> docs{{"a", R"({"name":"red apple","title":"pear"})"},
                                          {"b", R"({"it's":"apple pie"})"},
                                          {"c", R"({"title":"apple"})"}};
  ASSERT_TRUE(store.bulk_write("i", docs).ok());
  std::vector<std::string> found;
  for (const auto& d : store.search("i", "apple", 10)) found.push_back(d.id);
  std::sort(found.begin(), found.end());
  EXPECT_EQ(found, names({"a", "b"}));
  EXPECT_TRUE(store.search("i", "pear", 10).empty());

  // Every user of a schema searches the same fields: another list is refused when it connects.
  options.search_fields = {"title"};
  const auto e = thrown_by([&] { postgres_index other(*url_, options); });
  EXPECT_EQ(e.code(), errc::invalid_config);
  EXPECT_TRUE(contains(e.what(), "search_fields")) << e.what();
  options.search_fields = {""};
  EXPECT_EQ(thrown_by([&] { postgres_index empty_field(*url_, options); }).code(), errc::invalid_config);
  // A connection without search fields leaves the index alone.
  { postgres_index generic(*url_, schema_->options()); }
  options.search_fields = {"name", "it's"};
  postgres_index again(*url_, options);
  EXPECT_EQ(again.search("i", "pie", 10).size(), 1u);
}

/// Forks a child that runs `body` with its own connection and exits 0, or 1 printing what it threw.
pid_t fork_child(const std::function<void()>& body) {
  const pid_t pid = ::fork();
  if (pid != 0) return pid;
  int code = 0;
  try {
    body();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "child %d: %s\n", static_cast<int>(::getpid()), e.what());
    code = 1;
  }
  std::fflush(stderr);
  ::_exit(code);  // no destructors: the parent's objects are not the child's to close
}

TEST_F(PostgresIndex, AliasFlipsInOtherProcessesNeverShowZeroOrTwoTargets) {
  {
    auto setup = open();
    for (const char* n : {"a0", "a1", "b0", "b1"}) setup.create_index(n);
    const std::vector<alias_action> first{alias_action::add("a0", "live")};
    setup.update_aliases(first);
  }
  // Two writers in two processes: one moves `live` with remove(must_exist)+add (and loses races with
  // errc::conflict, which is fine), the other with remove_everywhere+add, which read committed without
  // a lock would turn into two targets.
  //
  // The writers flip at least `flips` times each, and go on until the reader has seen the alias on three
  // of the four indices: a slow reader (under a sanitizer, on a busy machine) could otherwise look only
  // after the writers are done and prove nothing. `max_flips` bounds a reader that never gets there.
  struct shared_state {
    std::atomic<bool> reader_satisfied{false};
  };
  static_assert(std::atomic<bool>::is_always_lock_free, "the flag is shared between processes");
  void* const mapping = ::mmap(nullptr, sizeof(shared_state), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(mapping, MAP_FAILED) << std::strerror(errno);
  auto* const shared = new (mapping) shared_state;
  const auto keep_flipping = [shared](int i) {
    constexpr int flips = 150, max_flips = 20000;
    return i < flips || (i < max_flips && !shared->reader_satisfied.load());
  };
  const auto url = *url_;
  const auto options = schema_->options();
  std::vector<pid_t> children;
  children.push_back(fork_child([&] {
    postgres_index own(url, options);
    for (int i = 0; keep_flipping(i); ++i) {
      const auto targets = own.alias_targets("live");
      if (targets.size() != 1) throw std::runtime_error("child saw " + std::to_string(targets.size()) + " targets");
      const std::string to = i % 2 == 0 ? "b0" : "b1";
      const std::vector<alias_action> move{alias_action::remove(targets[0], "live", true), alias_action::add(to, "live")};
      try {
        own.update_aliases(move);
      } catch (const error& e) {
        if (e.code() != errc::conflict) throw;  // the other writer moved it first
      }
    }
  }));
  children.push_back(fork_child([&] {
    postgres_index own(url, options);
    for (int i = 0; keep_flipping(i); ++i) {
      const std::vector<alias_action> move{alias_action::remove_everywhere("live"),
                                           alias_action::add(i % 2 == 0 ? "a1" : "a0", "live")};
      own.update_aliases(move);
    }
  }));

  auto reader = open();
  std::size_t reads = 0, violations = 0;
  std::string first_violation;
  std::set<std::string> seen;
  std::vector<int> statuses;
  auto running = children;
  while (!running.empty()) {
    const auto targets = reader.alias_targets("live");
    std::size_t in_table = 0;
    for (const auto& e : reader.aliases()) in_table += e.alias == "live";
    ++reads;
    if (targets.size() != 1 || in_table != 1) {
      if (violations++ == 0)
        first_violation = std::to_string(targets.size()) + " targets, " + std::to_string(in_table) + " table rows";
    } else {
      seen.insert(targets.front());
      if (seen.size() >= 3) shared->reader_satisfied.store(true);
    }
    std::erase_if(running, [&](pid_t pid) {
      int status = 0;
      if (::waitpid(pid, &status, WNOHANG) != pid) return false;
      statuses.push_back(status);
      return true;
    });
  }
  shared->~shared_state();
  ::munmap(mapping, sizeof(shared_state));
  for (const int status : statuses) EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;
  EXPECT_EQ(violations, 0u) << "first seen: " << first_violation << " (of " << reads << " reads)";
  EXPECT_GE(seen.size(), 3u) << "the reader should have seen the alias move between the writers' targets";
  EXPECT_EQ(reader.alias_targets("live").size(), 1u);
}

// Alias atomicity against a concurrent reader, deterministically: a trigger on the alias table makes the
// writer wait for an advisory lock the test holds at its first insert, after both its removals; the test
// sees it waiting there (pg_locks), reads from another connection, then lets it go. A writer that made
// any of its statements visible early would show the removals.
TEST_F(PostgresIndex, AReaderInTheMiddleOfAnAliasUpdateSeesTheStateBeforeIt) {
  auto store = open();
  for (const char* n : {"blue", "green"}) store.create_index(n);
  store.update_aliases(std::vector{alias_action::add("blue", "live"), alias_action::add("blue", "env")});
  const std::string s = "\"" + schema_->name() + "\"";
  raw_connection admin(*url_), holder(*url_), reader(*url_);
  admin.exec("CREATE FUNCTION " + s + ".pause() RETURNS trigger LANGUAGE plpgsql AS "
             "$$ BEGIN PERFORM pg_advisory_xact_lock(4242); RETURN NULL; END $$");
  admin.exec("CREATE TRIGGER pause AFTER INSERT ON " + s + ".aliases FOR EACH STATEMENT EXECUTE FUNCTION " +
             s + ".pause()");
  holder.exec("SELECT pg_advisory_lock(4242)");
  const std::string table_sql = "SELECT string_agg(alias || '->' || idx, ',' ORDER BY alias, idx) FROM " + s + ".aliases";

  std::exception_ptr failure;
  std::thread writer([&] {
    try {
      store.update_aliases(std::vector{alias_action::remove("blue", "live", true), alias_action::remove_everywhere("env"),
                                       alias_action::add("green", "env"), alias_action::add("green", "live")});
    } catch (...) {
      failure = std::current_exception();
    }
  });
  bool waiting = false;
  for (int i = 0; i < 6000 && !waiting; ++i) {  // a minute: only to tell a hung writer from a waiting one
    waiting = reader.value("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 4242 AND NOT granted") == "1";
    if (!waiting) std::this_thread::sleep_for(10ms);
  }
  EXPECT_TRUE(waiting) << "the writer never reached the trigger";
  if (waiting) {
    EXPECT_EQ(reader.value(table_sql), "env->blue,live->blue") << "a half-applied update was visible";
  }
  holder.exec("SELECT pg_advisory_unlock(4242)");
  writer.join();
  if (failure) std::rethrow_exception(failure);
  EXPECT_EQ(reader.value(table_sql), "env->green,live->green");
}

TEST_F(PostgresIndex, MovedStoreKeepsWorking) {
  auto first = open();
  first.create_index("blue");
  postgres_index second(std::move(first));
  EXPECT_TRUE(second.index_exists("blue"));
  EXPECT_EQ(thrown_by([&] { (void)first.index_exists("blue"); }).code(), errc::store_unavailable);  // NOLINT
  EXPECT_EQ(second.schema(), schema_->name());
  EXPECT_TRUE(contains(second.description(), "postgres://")) << second.description();
}

}  // namespace
}  // namespace tributary::testing
