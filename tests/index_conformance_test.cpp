// The index backend conformance suite for memory_index and sqlite_index, and what only sqlite_index
// has: a file that outlives the process, opening errors, the busy timeout, URLs, the schema version.

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include <tributary/index/archetypes.hpp>
#include <tributary/index/memory.hpp>
#include <tributary/index/sqlite.hpp>

#include "support/common.hpp"
#include "support/backend_conformance.hpp"

namespace tributary::testing {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// ---- the store concepts: archetypes, the tag hierarchy, and what each shipped store models -----------

static_assert(document_store<archetypes::document_store>);
static_assert(!alias_store<archetypes::document_store>, "aliases are not part of a document store");
static_assert(!index_backend<archetypes::document_store>);
static_assert(alias_store<archetypes::alias_store> && document_store<archetypes::alias_store>);
static_assert(index_backend<archetypes::alias_store>, "index_backend is exactly an alias store");
static_assert(index_backend<archetypes::index_backend> && alias_store<archetypes::index_backend> &&
              document_store<archetypes::index_backend>,
              "naming index_backend_tag models all three");
static_assert(exists_many_store<archetypes::exists_many_store>);
static_assert(insert_if_absent_store<archetypes::insert_if_absent_store>);
static_assert(document_delete_store<archetypes::document_delete_store>);
static_assert(change_cursor_store<archetypes::change_cursor_store>);
static_assert(padded_text_store<archetypes::padded_text_store>);
static_assert(moving_write_store<archetypes::moving_write_store>);
static_assert(rewrite_store<archetypes::rewrite_store>);
static_assert(!exists_many_store<archetypes::document_store> && !insert_if_absent_store<archetypes::document_store> &&
              !document_delete_store<archetypes::document_store> && !change_cursor_store<archetypes::document_store> &&
              !padded_text_store<archetypes::document_store> && !moving_write_store<archetypes::document_store> &&
                  !rewrite_store<archetypes::document_store>,
              "every refinement is opt-in");

namespace concept_checks {
// The members without the tag: a refinement is never taken from member names alone.
struct untagged_capabilities : archetypes::document_store {
  [[nodiscard]] std::vector<bool> exists(std::string_view, std::span<const std::string>) const { return {}; }
  insert_result insert_if_absent(std::string_view, std::span<const stored_document>) { return {}; }
  delete_result delete_documents(std::string_view, std::span<const std::string>) { return {}; }
  [[nodiscard]] change_page changes_since(std::string_view, std::uint64_t, std::size_t) const { return {}; }
};
static_assert(!exists_many_store<untagged_capabilities> && !insert_if_absent_store<untagged_capabilities> &&
              !document_delete_store<untagged_capabilities> && !change_cursor_store<untagged_capabilities>);
// A tag without the members is not enough either.
struct tag_without_members : archetypes::document_store {
  using exists_many_concept = exists_many_tag;
  using change_cursor_concept = change_cursor_tag;
  using moving_write_concept = moving_write_tag;
};
static_assert(!exists_many_store<tag_without_members> && !change_cursor_store<tag_without_members>);
// A refinement's tag on a type that is not a document store.
struct refinement_only {
  using exists_many_concept = exists_many_tag;
  [[nodiscard]] std::vector<bool> exists(std::string_view, std::span<const std::string>) const { return {}; }
};
static_assert(!exists_many_store<refinement_only>, "every refinement refines document_store");
}  // namespace concept_checks

static_assert(index_backend<sqlite_index> && exists_many_store<sqlite_index> && insert_if_absent_store<sqlite_index> &&
              document_delete_store<sqlite_index> && change_cursor_store<sqlite_index> && padded_text_store<sqlite_index>);
static_assert(!moving_write_store<sqlite_index>, "SQLite copies the text into the file anyway");
static_assert(!rewrite_store<sqlite_index>, "SQLite hands out copies of its text");
static_assert(index_backend<memory_index> && exists_many_store<memory_index> && insert_if_absent_store<memory_index> &&
              document_delete_store<memory_index> && change_cursor_store<memory_index> &&
              padded_text_store<memory_index> && moving_write_store<memory_index> && rewrite_store<memory_index>);

struct memory_factory {
  using backend = memory_index;
  std::shared_ptr<memory_index> store_ = std::make_shared<memory_index>();
  std::shared_ptr<memory_index> open() { return store_; }  // one process, one object
};

struct sqlite_factory {
  using backend = sqlite_index;
  scratch_database db_;
  std::shared_ptr<sqlite_index> open() { return std::make_shared<sqlite_index>(db_.path()); }  // a new connection
};

TRIBUTARY_STORE_CONFORMANCE(Memory, ::testing::Types<memory_factory>);
TRIBUTARY_STORE_CONFORMANCE(Sqlite, ::testing::Types<sqlite_factory>);

// ---- plan_alias_update: the alias semantics every backend applies, without a store -------------------

namespace {
using reason = alias_refusal::reason;
std::vector<alias_entry> rows(std::initializer_list<alias_entry> r) { return r; }
std::vector<std::string> idx(std::initializer_list<const char*> n) { return {n.begin(), n.end()}; }
}  // namespace

TEST(AliasPlan, AFlipDeletesTheOldRowAndInsertsTheNew) {
  const std::vector<alias_action> flip{alias_action::remove("blue", "live", true), alias_action::add("green", "live")};
  const auto plan = plan_alias_update(flip, rows({{"live", "blue"}, {"other", "blue"}}), idx({"blue", "green"}));
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan.deletes, rows({{"live", "blue"}}));
  EXPECT_EQ(plan.inserts, rows({{"live", "green"}}));  // rows of aliases the update does not name are left alone
}

TEST(AliasPlan, OnlyTheDifferenceIsWritten) {
  // Adding a pair that is there, removing one that is not, and removing then adding back change nothing.
  const std::vector<alias_action> same{alias_action::add("a", "x"), alias_action::remove("b", "x"),
                                       alias_action::remove_everywhere("x"), alias_action::add("a", "x")};
  const auto plan = plan_alias_update(same, rows({{"x", "a"}}), idx({"a", "b"}));
  ASSERT_TRUE(plan.ok());
  EXPECT_TRUE(plan.deletes.empty());
  EXPECT_TRUE(plan.inserts.empty());
}

TEST(AliasPlan, RemoveEverywhereTakesEveryTargetAndNoneIsFine) {
  const std::vector<alias_action> move{alias_action::remove_everywhere("w"), alias_action::remove_everywhere("gone"),
                                       alias_action::add("c", "w")};
  const auto plan = plan_alias_update(move, rows({{"w", "a"}, {"w", "b"}}), idx({"c"}));
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan.deletes, rows({{"w", "a"}, {"w", "b"}}));
  EXPECT_EQ(plan.inserts, rows({{"w", "c"}}));
}

TEST(AliasPlan, ActionsApplyInOrder) {
  // must_exist sees what the earlier actions of the same update did.
  const std::vector<alias_action> add_then_remove{alias_action::add("a", "x"), alias_action::remove("a", "x", true)};
  const auto plan = plan_alias_update(add_then_remove, {}, idx({"a"}));
  ASSERT_TRUE(plan.ok());
  EXPECT_TRUE(plan.inserts.empty());
  const std::vector<alias_action> remove_twice{alias_action::remove("a", "x", true), alias_action::remove("a", "x", true)};
  const auto refused = plan_alias_update(remove_twice, rows({{"x", "a"}}), idx({"a"}));
  ASSERT_TRUE(refused.refused);
  EXPECT_EQ(refused.refused->action, 1u);
}

TEST(AliasPlan, ARefusalNamesTheFirstFailingActionAndPlansNothing) {
  const std::vector<alias_action> actions{alias_action::remove_everywhere("x"), alias_action::add("a", "x"),
                                          alias_action::add("missing", "y"), alias_action::add("a", "b")};
  const auto plan = plan_alias_update(actions, rows({{"x", "old"}}), idx({"a", "b"}));
  ASSERT_TRUE(plan.refused);
  EXPECT_EQ(plan.refused->why, reason::missing_index);
  EXPECT_EQ(plan.refused->action, 2u);
  EXPECT_TRUE(plan.deletes.empty());
  EXPECT_TRUE(plan.inserts.empty());
  const auto e = plan.refused->to_error(actions);
  EXPECT_EQ(e.code(), errc::not_found);
  EXPECT_STREQ(e.what(), "cannot add alias 'y' to missing index 'missing'");
  EXPECT_THROW(plan.check(actions), error);
}

TEST(AliasPlan, AnAliasMayNotShadowAnIndex) {
  const std::vector<alias_action> shadow{alias_action::add("a", "b")};
  const auto plan = plan_alias_update(shadow, {}, idx({"a", "b"}));
  ASSERT_TRUE(plan.refused);
  EXPECT_EQ(plan.refused->why, reason::shadows_index);
  const auto e = plan.refused->to_error(shadow);
  EXPECT_EQ(e.code(), errc::conflict);
  EXPECT_STREQ(e.what(), "alias 'b' would shadow an index of the same name");
}

TEST(AliasPlan, MustExistRefusesAnAbsentPairAndOtherwiseAbsentIsFine) {
  const std::vector<alias_action> lenient{alias_action::remove("a", "x")};
  EXPECT_TRUE(plan_alias_update(lenient, {}, {}).ok());
  const std::vector<alias_action> strict{alias_action::remove("a", "x", true)};
  const auto plan = plan_alias_update(strict, rows({{"x", "b"}}), idx({"a", "b"}));
  ASSERT_TRUE(plan.refused);
  EXPECT_EQ(plan.refused->why, reason::not_on_index);
  const auto e = plan.refused->to_error(strict);
  EXPECT_EQ(e.code(), errc::conflict);
  EXPECT_STREQ(e.what(), "alias 'x' is not on index 'a'");
}

TEST(AliasPlan, NamesAreWhatABackendReadsBeforePlanning) {
  const std::vector<alias_action> actions{alias_action::add("a", "x"), alias_action::remove("b", "y"),
                                          alias_action::remove_everywhere("z"), alias_action::add("c", "x")};
  const auto names = names_of_alias_update(actions);
  EXPECT_EQ(names.aliases, idx({"x", "y", "z"}));
  EXPECT_EQ(names.indices, idx({"a", "c", "x"}));  // an add's index must exist, its alias must not be one
}

TEST(AliasPlan, ValidationRefusesBeforeAnythingIsRead) {
  EXPECT_THROW(validate_alias_actions({}), error);
  const std::vector<alias_action> bad{alias_action::add("Upper", "x")};
  EXPECT_THROW(validate_alias_actions(bad), error);
  const std::vector<alias_action> everywhere{alias_action::remove_everywhere("x")};
  EXPECT_NO_THROW(validate_alias_actions(everywhere));  // its index is unused, so not checked
}

namespace {

/// A raw SQLite connection to poke at the file behind sqlite_index's back.
class raw_connection {
 public:
  explicit raw_connection(const std::string& path) {
    if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK) throw std::runtime_error(sqlite3_errmsg(db_));
  }
  raw_connection(const raw_connection&) = delete;
  raw_connection& operator=(const raw_connection&) = delete;
  ~raw_connection() { sqlite3_close(db_); }
  void exec(const std::string& sql) {
    char* message = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
      std::string text = message ? message : "?";
      sqlite3_free(message);
      throw std::runtime_error(sql + ": " + text);
    }
  }
  std::string text(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) throw std::runtime_error(sqlite3_errmsg(db_));
    std::string out;
    if (sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_text(stmt, 0) != nullptr)
      out = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    sqlite3_finalize(stmt);
    return out;
  }

 private:
  sqlite3* db_ = nullptr;
};

// Alias atomicity against a concurrent reader, deterministically: triggers on the alias table call a
// function that only the writer's connection has (registered through sqlite3_auto_extension), so the
// reader reads in the middle of the writer's update, after each row it changes, every time.
struct mid_update_reader {
  static inline raw_connection* reader = nullptr;
  static inline std::vector<std::string> seen;  // what the reader saw at each changed row
  static void observe(sqlite3_context* ctx, int, sqlite3_value**) {
    seen.push_back(reader->text("SELECT group_concat(alias || '->' || idx, ',') FROM "
                                "(SELECT alias, idx FROM aliases ORDER BY alias, idx)"));
    sqlite3_result_null(ctx);
  }
  static int install(sqlite3* db, char**, const sqlite3_api_routines*) {
    return sqlite3_create_function(db, "tributary_test_observe", 0, SQLITE_UTF8, nullptr, &observe, nullptr, nullptr);
  }
};

TEST(SqliteIndex, AReaderInTheMiddleOfAnAliasUpdateSeesTheStateBeforeIt) {
  scratch_database db;
  {
    sqlite_index setup(db.path());
    for (const char* n : {"blue", "green"}) setup.create_index(n);
    setup.update_aliases(std::vector{alias_action::add("blue", "live"), alias_action::add("blue", "env")});
  }
  raw_connection reader(db.path());
  {
    raw_connection admin(db.path());
    admin.exec("CREATE TRIGGER observe_insert AFTER INSERT ON aliases BEGIN SELECT tributary_test_observe(); END;"
               "CREATE TRIGGER observe_delete AFTER DELETE ON aliases BEGIN SELECT tributary_test_observe(); END;");
  }
  mid_update_reader::reader = &reader;
  mid_update_reader::seen.clear();
  // void(*)(void) is SQLite's type for every entry point; the cast is the documented use.
  ASSERT_EQ(sqlite3_auto_extension(reinterpret_cast<void (*)()>(&mid_update_reader::install)), SQLITE_OK);
  {
    sqlite_index writer(db.path());
    writer.update_aliases(std::vector{alias_action::remove("blue", "live", true), alias_action::add("green", "live"),
                                      alias_action::remove_everywhere("env"), alias_action::add("green", "env")});
  }
  sqlite3_cancel_auto_extension(reinterpret_cast<void (*)()>(&mid_update_reader::install));
  mid_update_reader::reader = nullptr;
  ASSERT_EQ(mid_update_reader::seen.size(), 4u) << "the reader looked after each of the four changed rows";
  for (const auto& s : mid_update_reader::seen) EXPECT_EQ(s, "env->blue,live->blue") << "a half-applied update was visible";
  EXPECT_EQ(reader.text("SELECT group_concat(alias || '->' || idx, ',') FROM (SELECT alias, idx FROM aliases "
                        "ORDER BY alias, idx)"),
            "env->green,live->green");
}

TEST(SqliteIndex, ReopenedStoreSeesEverything) {
  scratch_database db;
  {
    sqlite_index store(db.path());
    store.create_index("blue");
    store.create_index("green");
    store.create_index("gone");
    const std::vector<stored_document> docs{{"a", R"({"n":1})"}, {"b", R"({"n":2})"}};
    ASSERT_TRUE(store.bulk_write("blue", docs).ok());
    const std::vector<alias_action> actions{alias_action::add("blue", "live"), alias_action::add("green", "env")};
    store.update_aliases(actions);
    const std::vector<std::string> victims{"gone"};
    store.delete_indices(victims);
  }
  sqlite_index reopened(db.path());
  EXPECT_EQ(reopened.list_indices(""), names({"blue", "green"}));
  EXPECT_EQ(reopened.scan("blue", "", 10).documents,
            (std::vector<stored_document>{{"a", R"({"n":1})"}, {"b", R"({"n":2})"}}));
  const std::vector<alias_entry> table{{"env", "green"}, {"live", "blue"}};
  EXPECT_EQ(reopened.aliases(), table);

  raw_connection raw(db.path());
  EXPECT_EQ(raw.text("PRAGMA journal_mode"), "wal");
  EXPECT_EQ(raw.text("PRAGMA user_version"), "2");
  EXPECT_EQ(raw.text("PRAGMA page_size"), "16384");
  EXPECT_EQ(raw.text("PRAGMA foreign_key_list(documents)").empty(), false);
}

TEST(SqliteIndex, DeletedIndexTakesItsDocumentsWithIt) {
  scratch_database db;
  sqlite_index store(db.path());
  store.create_index("blue");
  store.create_index("green");
  const std::vector<stored_document> docs{{"a", "{}"}, {"b", "{}"}};
  store.bulk_write("blue", docs);
  store.bulk_write("green", docs);
  const std::vector<std::string> victims{"blue"};
  store.delete_indices(victims);
  raw_connection raw(db.path());
  EXPECT_EQ(raw.text("SELECT count(*) FROM documents"), "2");
  EXPECT_EQ(raw.text("SELECT count(*) FROM documents WHERE idx = 'blue'"), "0");
}

TEST(SqliteIndex, MissingDirectoryIsStoreUnavailable) {
  scratch_database db;
  const std::string path = db.path() + "-no-such-dir/store.db";
  const auto e = thrown_by([&] { sqlite_index store(path); });
  EXPECT_EQ(e.code(), errc::store_unavailable);
  EXPECT_TRUE(contains(e.what(), path)) << e.what();
  EXPECT_TRUE(contains(e.what(), "unable to open database file")) << e.what();
  EXPECT_FALSE(fs::exists(fs::path(path).parent_path()));
}

TEST(SqliteIndex, FileThatIsNotADatabaseIsStoreUnavailable) {
  scratch_database db;
  const std::string garbage(8192, 'x');
  std::ofstream(db.path(), std::ios::binary) << garbage;
  const auto e = thrown_by([&] { sqlite_index store(db.path()); });
  EXPECT_EQ(e.code(), errc::store_unavailable);
  EXPECT_TRUE(contains(e.what(), db.path())) << e.what();
  EXPECT_TRUE(contains(e.what(), "file is not a database")) << e.what();
  std::ifstream in(db.path(), std::ios::binary);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), garbage);  // left untouched
}

TEST(SqliteIndex, AnotherApplicationsDatabaseIsRefused) {
  scratch_database db;
  raw_connection(db.path()).exec("CREATE TABLE accounts (id INTEGER PRIMARY KEY)");
  const auto e = thrown_by([&] { sqlite_index store(db.path()); });
  EXPECT_EQ(e.code(), errc::store_unavailable);
  EXPECT_TRUE(contains(e.what(), "not a tributary store")) << e.what();
}

TEST(SqliteIndex, NewerSchemaVersionIsRefusedClearly) {
  scratch_database db;
  { sqlite_index store(db.path()); }
  raw_connection(db.path()).exec("PRAGMA user_version = 7");
  const auto e = thrown_by([&] { sqlite_index store(db.path()); });
  EXPECT_EQ(e.code(), errc::store_unavailable);
  EXPECT_TRUE(contains(e.what(), "schema version 7")) << e.what();
  EXPECT_TRUE(contains(e.what(), "newer")) << e.what();
}

// The schema every store had before change positions (version 1), exactly as that version created it.
constexpr const char* version_1_schema = R"sql(
CREATE TABLE IF NOT EXISTS indices (
  name TEXT NOT NULL PRIMARY KEY
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS documents (
  idx  TEXT NOT NULL REFERENCES indices(name) ON DELETE CASCADE,
  id   TEXT NOT NULL,
  json TEXT NOT NULL,
  PRIMARY KEY (idx, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS aliases (
  alias TEXT NOT NULL,
  idx   TEXT NOT NULL REFERENCES indices(name) ON DELETE RESTRICT,
  PRIMARY KEY (alias, idx)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS aliases_by_index ON aliases(idx);
PRAGMA application_id = 1953655138;
PRAGMA user_version = 1;
)sql";

/// A store as version 1 left it: two indices with documents, and an alias.
void make_version_1_store(const std::string& path) {
  raw_connection raw(path);
  raw.exec("PRAGMA journal_mode = WAL");
  raw.exec(version_1_schema);
  raw.exec("INSERT INTO indices(name) VALUES ('blue'), ('green');"
           "INSERT INTO documents(idx, id, json) VALUES ('blue', 'b', '{\"v\":1}'), ('blue', 'a', '{\"v\":1}'), "
           "('blue', 'c', '{\"v\":1}'), ('green', 'x', '{}');"
           "INSERT INTO aliases(alias, idx) VALUES ('live', 'blue');");
}

TEST(SqliteIndex, AVersion1StoreIsMigratedInPlaceByTheFirstWriter) {
  scratch_database db;
  make_version_1_store(db.path());
  sqlite_index store(db.path());
  raw_connection raw(db.path());
  EXPECT_EQ(raw.text("PRAGMA user_version"), "2");
  EXPECT_EQ(store.list_indices(""), names({"blue", "green"}));
  EXPECT_EQ(store.aliases(), (std::vector<alias_entry>{{"live", "blue"}}));
  const std::vector<stored_document> before{{"a", R"({"v":1})"}, {"b", R"({"v":1})"}, {"c", R"({"v":1})"}};
  EXPECT_EQ(store.scan("blue", "", 10).documents, before);

  // The documents written before positions existed are all in the feed, once, in some order.
  auto page = store.changes_since("blue", 0, 10);
  EXPECT_TRUE(page.done);
  auto fed = page.documents;
  std::sort(fed.begin(), fed.end(), [](const auto& x, const auto& y) { return x.id < y.id; });
  EXPECT_EQ(fed, before);
  EXPECT_EQ(store.changes_since("green", 0, 10).documents, (std::vector<stored_document>{{"x", "{}"}}));

  // New writes come after them.
  ASSERT_TRUE(store.bulk_write("blue", std::vector<stored_document>{{"b", R"({"v":2})"}, {"d", "{}"}}).ok());
  const auto after = store.changes_since("blue", page.next, 10);
  EXPECT_EQ(after.documents, (std::vector<stored_document>{{"b", R"({"v":2})"}, {"d", "{}"}}));
  EXPECT_TRUE(after.done);
  EXPECT_EQ(store.exists("blue", names({"a", "z"})), (std::vector<bool>{true, false}));

  // Reopening finds version 2 and changes nothing.
  const auto schema = raw.text("SELECT group_concat(sql, ';') FROM sqlite_master");
  { sqlite_index again(db.path()); }
  EXPECT_EQ(raw.text("SELECT group_concat(sql, ';') FROM sqlite_master"), schema);
  EXPECT_EQ(raw.text("SELECT count(*) FROM documents"), "5");
}

TEST(SqliteIndex, AMigratedStoreHasTheSchemaOfANewOne) {
  scratch_database old_db, new_db;
  make_version_1_store(old_db.path());
  { sqlite_index migrated(old_db.path()); }
  { sqlite_index created(new_db.path()); }
  const std::string schema = "SELECT group_concat(type || ' ' || name || ': ' || sql, ';') FROM "
                             "(SELECT * FROM sqlite_master ORDER BY name)";
  EXPECT_EQ(raw_connection(old_db.path()).text(schema), raw_connection(new_db.path()).text(schema));
}

TEST(SqliteIndex, WritersOpeningAVersion1StoreAtOnceMigrateItOnce) {
  scratch_database db;
  make_version_1_store(db.path());
  std::vector<std::thread> openers;
  std::vector<std::exception_ptr> failures(4);
  for (std::size_t t = 0; t < failures.size(); ++t) {
    openers.emplace_back([&, t] {
      try {
        sqlite_index store(db.path());
        const std::vector<stored_document> one{{"t" + std::to_string(t), "{}"}};
        if (!store.bulk_write("green", one).ok()) throw std::runtime_error("write failed");
      } catch (...) {
        failures[t] = std::current_exception();
      }
    });
  }
  for (auto& t : openers) t.join();
  for (auto& f : failures)
    if (f) std::rethrow_exception(f);
  sqlite_index store(db.path());
  const auto page = store.changes_since("green", 0, 100);
  EXPECT_EQ(page.documents.size(), 5u);
  raw_connection raw(db.path());
  EXPECT_EQ(raw.text("SELECT count(DISTINCT seq) FROM documents WHERE idx = 'green'"), "5");
  EXPECT_EQ(raw.text("SELECT count(*) FROM documents"), "8");
}

TEST(SqliteIndex, ReadOnlyOpenOfAVersion1StoreReadsItAsItIs) {
  scratch_database db;
  make_version_1_store(db.path());
  sqlite_index reader(db.path(), {.read_only = true});
  EXPECT_EQ(reader.scan("blue", "", 10).documents.size(), 3u);
  EXPECT_EQ(reader.exists("blue", names({"a", "z"})), (std::vector<bool>{true, false}));
  const auto e = thrown_by([&] { (void)reader.changes_since("blue", 0, 10); });
  EXPECT_EQ(e.code(), errc::store_unavailable);
  EXPECT_TRUE(contains(e.what(), "version 1")) << e.what();
  EXPECT_EQ(raw_connection(db.path()).text("PRAGMA user_version"), "1");  // a reader changes nothing
}

TEST(SqliteIndex, BusyWriterTimesOutWhileReadersGoOn) {
  scratch_database db;
  sqlite_index store(db.path(), sqlite_options{.busy_timeout = 150ms});
  store.create_index("blue");
  raw_connection holder(db.path());
  holder.exec("BEGIN IMMEDIATE");  // another connection holds the write lock
  EXPECT_TRUE(store.index_exists("blue"));  // WAL: reads do not wait for the writer
  const auto start = std::chrono::steady_clock::now();
  const auto e = thrown_by([&] { store.create_index("green"); });
  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(e.code(), errc::timed_out);
  EXPECT_TRUE(contains(e.what(), "150 ms")) << e.what();
  EXPECT_GE(waited, 140ms);
  EXPECT_LT(waited, 5s);
  holder.exec("ROLLBACK");
  store.create_index("green");
  EXPECT_TRUE(store.index_exists("green"));
}

TEST(SqliteIndex, WriterWaitsForTheLockHolder) {
  scratch_database db;
  sqlite_index store(db.path());  // the default 10 s busy timeout
  raw_connection holder(db.path());
  holder.exec("BEGIN IMMEDIATE");
  holder.exec("INSERT INTO indices(name) VALUES ('from-holder')");
  // Taken before the releasing thread starts: the commit comes at least 200 ms after it, however late
  // this thread gets to create_index.
  const auto start = std::chrono::steady_clock::now();
  std::thread release([&] {
    std::this_thread::sleep_for(200ms);
    holder.exec("COMMIT");
  });
  store.create_index("blue");
  const auto waited = std::chrono::steady_clock::now() - start;
  release.join();
  EXPECT_GE(waited, 150ms);
  EXPECT_EQ(store.list_indices(""), names({"blue", "from-holder"}));
}

TEST(SqliteIndex, OpenUrlAcceptsAbsoluteAndRelativePaths) {
  EXPECT_EQ(sqlite_index::parse_url("sqlite:///var/lib/tributary/store.db"), "/var/lib/tributary/store.db");
  EXPECT_EQ(sqlite_index::parse_url("sqlite://data/store.db"), "data/store.db");
  EXPECT_EQ(sqlite_index::parse_url("SQLite:///tmp/a%20b%2Fc.db"), "/tmp/a b/c.db");

  scratch_database db;
  ASSERT_EQ(db.path().front(), '/');
  {
    auto store = sqlite_index::open_url("sqlite://" + db.path());
    store.create_index("blue");
  }
  sqlite_index reopened(db.path());
  EXPECT_TRUE(reopened.index_exists("blue"));
}

TEST(SqliteIndex, OpenUrlRefusesAnythingElse) {
  for (const std::string url :
       {"", "/tmp/store.db", "sqlite:/tmp/store.db", "postgres://localhost/db", "file:///tmp/store.db", "sqlite://",
        "sqlite:///", "sqlite:///tmp/store.db?mode=ro", "sqlite:///tmp/store.db#x", "sqlite://:memory:",
        "sqlite:///:memory:", "sqlite:///tmp/", "sqlite:///tmp/a%2", "sqlite:///tmp/a%zz.db", "sqlite:///tmp/a%00.db"}) {
    const auto e = thrown_by([&] { (void)sqlite_index::open_url(url); });
    EXPECT_EQ(e.code(), errc::invalid_config) << url;
    EXPECT_TRUE(contains(e.what(), "'" + url + "'")) << e.what();
  }
}

TEST(SqliteIndex, MovedStoreKeepsWorking) {
  scratch_database db;
  sqlite_index first(db.path());
  first.create_index("blue");
  sqlite_index second(std::move(first));
  EXPECT_TRUE(second.index_exists("blue"));
  EXPECT_EQ(thrown_by([&] { (void)first.index_exists("blue"); }).code(), errc::store_unavailable);  // NOLINT
  sqlite_index third(db.path());
  third = std::move(second);
  EXPECT_EQ(third.path(), db.path());
  EXPECT_TRUE(third.index_exists("blue"));
}

// ---- read-only opening (issue 12, item 9): a reader never writes -------------------------------------

std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

constexpr sqlite_options read_only{.read_only = true};

TEST(SqliteIndex, ReadOnlyOpenOfAMissingFileIsNotFoundAndCreatesNothing) {
  scratch_database db;
  const auto e = thrown_by([&] { sqlite_index store(db.path(), read_only); });
  EXPECT_EQ(e.code(), errc::not_found);
  EXPECT_TRUE(contains(e.what(), db.path())) << e.what();
  EXPECT_TRUE(contains(e.what(), "does not exist")) << e.what();
  for (const auto& f : db.files()) EXPECT_FALSE(fs::exists(f)) << f << " was created";
  // Through a URL, and in a directory that does not exist, alike.
  const auto missing_dir = db.path() + "-no-such-dir/store.db";
  const auto u = thrown_by([&] { (void)sqlite_index::open_url("sqlite://" + missing_dir, read_only); });
  EXPECT_EQ(u.code(), errc::not_found);
  EXPECT_TRUE(contains(u.what(), missing_dir)) << u.what();
  EXPECT_FALSE(fs::exists(fs::path(missing_dir).parent_path()));
}

TEST(SqliteIndex, ReadOnlyOpenLeavesAnotherApplicationsDatabaseAsItWas) {
  scratch_database db;
  {
    raw_connection raw(db.path());
    raw.exec("PRAGMA journal_mode = DELETE");
    raw.exec("CREATE TABLE accounts (id INTEGER PRIMARY KEY, name TEXT)");
    raw.exec("INSERT INTO accounts(name) VALUES ('alice'), ('bob')");
  }
  const std::string before = file_bytes(db.path());
  ASSERT_FALSE(before.empty());
  const auto e = thrown_by([&] { sqlite_index store(db.path(), read_only); });
  EXPECT_EQ(e.code(), errc::invalid_config);
  EXPECT_TRUE(contains(e.what(), db.path())) << e.what();
  EXPECT_TRUE(contains(e.what(), "not a tributary store")) << e.what();
  EXPECT_EQ(file_bytes(db.path()), before) << "a read-only open changed the file";
  EXPECT_FALSE(fs::exists(db.path() + "-wal"));
  EXPECT_FALSE(fs::exists(db.path() + "-shm"));
  EXPECT_EQ(raw_connection(db.path()).text("PRAGMA journal_mode"), "delete");
}

TEST(SqliteIndex, ReadOnlyOpenOfAnEmptyOrGarbageFileIsNotATributaryStore) {
  scratch_database db;
  { std::ofstream touch(db.path(), std::ios::binary); }  // an empty file: a new database to SQLite
  auto e = thrown_by([&] { sqlite_index store(db.path(), read_only); });
  EXPECT_EQ(e.code(), errc::invalid_config);
  EXPECT_TRUE(contains(e.what(), "not a tributary store")) << e.what();
  EXPECT_EQ(file_bytes(db.path()), "") << "no schema may be created";

  const std::string garbage(8192, 'x');
  std::ofstream(db.path(), std::ios::binary | std::ios::trunc) << garbage;
  e = thrown_by([&] { sqlite_index store(db.path(), read_only); });
  EXPECT_EQ(e.code(), errc::invalid_config);
  EXPECT_TRUE(contains(e.what(), db.path())) << e.what();
  EXPECT_TRUE(contains(e.what(), "not a tributary store")) << e.what();
  EXPECT_EQ(file_bytes(db.path()), garbage);
}

TEST(SqliteIndex, ReadOnlyReaderReadsAStoreWhileAWriterWrites) {
  scratch_database db;
  sqlite_index writer(db.path());
  writer.create_index("blue");
  const std::vector<stored_document> first{{"a", R"({"n":1})"}};
  ASSERT_TRUE(writer.bulk_write("blue", first).ok());
  writer.update_aliases(std::vector{alias_action::add("blue", "live")});

  sqlite_index reader(db.path(), read_only);
  EXPECT_EQ(reader.alias_targets("live"), names({"blue"}));
  EXPECT_EQ(reader.scan("blue", "", 10).documents, first);

  // The writer goes on; the reader sees each committed state.
  writer.create_index("green");
  const std::vector<stored_document> second{{"b", R"({"n":2})"}};
  ASSERT_TRUE(writer.bulk_write("green", second).ok());
  writer.update_aliases(std::vector{alias_action::remove("blue", "live"), alias_action::add("green", "live")});
  EXPECT_EQ(reader.alias_targets("live"), names({"green"}));
  EXPECT_EQ(reader.list_indices(""), names({"blue", "green"}));
  EXPECT_EQ(reader.get("green", std::vector<std::string>{"b"}).front(), std::optional<std::string>(R"({"n":2})"));

  // The reader never writes: each write is refused, naming the file, and changes nothing.
  const auto refused = thrown_by([&] { reader.create_index("red"); });
  EXPECT_EQ(refused.code(), errc::invalid_config);
  EXPECT_TRUE(contains(refused.what(), "read-only")) << refused.what();
  EXPECT_TRUE(contains(refused.what(), db.path())) << refused.what();
  EXPECT_EQ(thrown_by([&] { reader.update_aliases(std::vector{alias_action::remove_everywhere("live")}); }).code(),
            errc::invalid_config);
  EXPECT_EQ(thrown_by([&] { (void)reader.bulk_write("green", second); }).code(), errc::invalid_config);
  EXPECT_EQ(thrown_by([&] { reader.delete_indices(std::vector<std::string>{"blue"}); }).code(), errc::invalid_config);
  EXPECT_FALSE(writer.index_exists("red"));
  EXPECT_EQ(writer.alias_targets("live"), names({"green"}));
  EXPECT_TRUE(writer.index_exists("blue"));

  // And the writer still writes while the reader holds its connection.
  writer.create_index("red");
  EXPECT_TRUE(reader.index_exists("red"));
}

TEST(SqliteIndex, ReadOnlyOpenOfAClosedStoreReadsIt) {
  scratch_database db;
  {
    sqlite_index writer(db.path());
    writer.create_index("blue");
    writer.update_aliases(std::vector{alias_action::add("blue", "live")});
  }
  const std::string before = file_bytes(db.path());
  {
    sqlite_index reader(db.path(), read_only);
    EXPECT_EQ(reader.alias_targets("live"), names({"blue"}));
  }
  EXPECT_EQ(file_bytes(db.path()), before);
  EXPECT_EQ(raw_connection(db.path()).text("PRAGMA journal_mode"), "wal");
}

TEST(SqliteIndex, ScratchDatabaseLeavesNoFilesBehind) {
  std::vector<std::string> files;
  {
    scratch_database db;
    files = db.files();
    sqlite_index a(db.path());
    sqlite_index b(db.path());  // two connections keep the -wal and -shm files alive
    a.create_index("blue");
    EXPECT_TRUE(fs::exists(db.path() + "-wal"));
    EXPECT_TRUE(fs::exists(db.path() + "-shm"));
  }
  for (const auto& f : files) EXPECT_FALSE(fs::exists(f)) << f;
}

}  // namespace
}  // namespace tributary::testing
