// The reader API (collector/reader.hpp): open the records behind an alias or a concrete index, iterate
// them in id order in pages, look them up by id and count them; clear errors for an alias that is
// missing or points to several indices, and for a stored document the model cannot parse. Typed over
// memory_index and sqlite_index.

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <simdjson.h>

#include <tributary/collector/reader.hpp>
#include <tributary/index/memory.hpp>
#include <tributary/index/sqlite.hpp>

#include "support/common.hpp"

namespace {

using namespace tributary;
using tributary::testing::cat;
using tributary::testing::contains;
using tributary::testing::thrown_by;

// A record model of its own, not the catalogue's: the reader must not need anything of X-Road.
struct note_record {
  using record_model_concept = record_model_tag;
  struct entry {
    std::string environment;
  };
  struct document {
    std::string id;
    std::string text;
    std::vector<entry> entries;
  };
  struct parser {
    parser() = default;  // not an aggregate: dom::parser's default constructor is explicit
    simdjson::dom::parser dom;
    void parse(std::string_view json, document& into) {
      simdjson::dom::element root;
      if (dom.parse(json.data(), json.size()).get(root)) throw error(errc::bad_document, "not JSON");
      std::string_view id, text;
      if (root["id"].get(id) || root["text"].get(text)) throw error(errc::bad_document, "needs id and text");
      into.id = std::string(id);
      into.text = std::string(text);
      into.entries = {{"dev"}};
    }
    void parse_owned(std::string&& json, document& into) { parse(json, into); }
  };
  static std::string_view id(const document& d) { return d.id; }
  static std::vector<entry>& entries(document& d) { return d.entries; }
  static const std::vector<entry>& entries(const document& d) { return d.entries; }
  static std::string_view environment(const entry& e) { return e.environment; }
  static void mark_stale(entry&) {}
  static void write(std::string& out, const document& d) {
    out += cat("{\"id\":\"", d.id, "\",\"text\":\"", d.text, "\"}");
  }
};
static_assert(record_model<note_record>);

stored_document note(const std::string& id, const std::string& text) {
  return {id, cat("{\"id\":\"", id, "\",\"text\":\"", text, "\"}")};
}

struct memory_factory {
  std::unique_ptr<memory_index> make() { return std::make_unique<memory_index>(); }
};
struct sqlite_factory {
  tributary::testing::scratch_database db;
  std::unique_ptr<sqlite_index> make() { return std::make_unique<sqlite_index>(db.path()); }
};

template <class Factory>
class RecordReader : public ::testing::Test {
 protected:
  Factory factory;
  std::unique_ptr<std::remove_reference_t<decltype(*factory.make())>> store = factory.make();

  /// `n` notes k00..k(n-1) in a fresh index `name`, written in reverse so that id order is the reader's.
  void fill(const std::string& name, int n) {
    store->create_index(name);
    std::vector<stored_document> docs;
    for (int i = n - 1; i >= 0; --i) docs.push_back(note(cat("k", i < 10 ? "0" : "", std::to_string(i)), cat("t", std::to_string(i))));
    ASSERT_TRUE(store->bulk_write(name, docs).ok());
  }
};
using Factories = ::testing::Types<memory_factory, sqlite_factory>;
TYPED_TEST_SUITE(RecordReader, Factories);

TYPED_TEST(RecordReader, ReadsEveryRecordBehindAnAliasInIdOrderAcrossPages) {
  this->fill("notes-1", 10);
  this->store->update_aliases(std::vector{alias_action::add("notes-1", "notes")});
  const auto reader = open_records<note_record>(*this->store, "notes", reader_options{.page_size = 3});
  EXPECT_EQ(reader.index(), "notes-1");
  std::vector<std::string> ids;
  const auto visited = reader.for_each([&](const note_record::document& d) { ids.push_back(d.id); });
  EXPECT_EQ(visited, 10u);
  ASSERT_EQ(ids.size(), 10u);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(ids[static_cast<std::size_t>(i)], cat("k0", std::to_string(i)));
  EXPECT_EQ(reader.count(), 10u);
}

TYPED_TEST(RecordReader, StopsWhenTheCallbackSaysSo) {
  this->fill("notes-1", 10);
  const auto reader = open_records<note_record>(*this->store, "notes-1", reader_options{.page_size = 4});
  std::vector<std::string> ids;
  const auto visited = reader.for_each([&](note_record::document& d) {
    ids.push_back(d.id);
    return ids.size() < 5;  // false: stop
  });
  EXPECT_EQ(visited, 5u);
  EXPECT_EQ(ids, (std::vector<std::string>{"k00", "k01", "k02", "k03", "k04"}));
}

TYPED_TEST(RecordReader, LooksUpRecordsByIdInTheOrderAsked) {
  this->fill("notes-1", 5);
  this->store->update_aliases(std::vector{alias_action::add("notes-1", "notes")});
  const auto reader = open_records<note_record>(*this->store, "notes");
  const std::vector<std::string> ids{"k03", "missing", "k00"};
  const auto docs = reader.get(ids);
  ASSERT_EQ(docs.size(), 3u);
  ASSERT_TRUE(docs[0]);
  EXPECT_EQ(docs[0]->text, "t3");
  EXPECT_FALSE(docs[1]);
  ASSERT_TRUE(docs[2]);
  EXPECT_EQ(docs[2]->id, "k00");
  EXPECT_EQ(reader.get("k01")->text, "t1");
  EXPECT_FALSE(reader.get("nope"));
  // The stored text as it is, for a caller that prints it unchanged.
  const auto texts = reader.get_json(ids);
  ASSERT_TRUE(texts[0]);
  EXPECT_EQ(*texts[0], note("k03", "t3").json);
  EXPECT_FALSE(texts[1]);
}

TYPED_TEST(RecordReader, ReadsAnEmptyIndex) {
  this->store->create_index("notes-1");
  const auto reader = open_records<note_record>(*this->store, "notes-1");
  EXPECT_EQ(reader.count(), 0u);
  EXPECT_EQ(reader.for_each([](const note_record::document&) { ADD_FAILURE(); }), 0u);
}

TYPED_TEST(RecordReader, NamesAMissingAlias) {
  const auto e = thrown_by([&] { (void)open_records<note_record>(*this->store, "datasets"); });
  EXPECT_EQ(e.code(), errc::not_found);
  EXPECT_TRUE(contains(e.what(), "'datasets'")) << e.what();
}

TYPED_TEST(RecordReader, RefusesAnAliasOnSeveralIndices) {
  this->fill("notes-1", 1);
  this->fill("notes-2", 1);
  this->store->update_aliases(std::vector{alias_action::add("notes-1", "notes"), alias_action::add("notes-2", "notes")});
  const auto e = thrown_by([&] { (void)open_records<note_record>(*this->store, "notes"); });
  EXPECT_EQ(e.code(), errc::conflict);
  EXPECT_TRUE(contains(e.what(), "'notes' points to 2 indices (notes-1, notes-2)")) << e.what();
}

TYPED_TEST(RecordReader, NamesTheRecordItCannotParse) {
  this->store->create_index("notes-1");
  ASSERT_TRUE(this->store->bulk_write("notes-1", std::vector{note("a", "fine"), stored_document{"b", "{\"id\":\"b\"}"}}).ok());
  const auto reader = open_records<note_record>(*this->store, "notes-1");
  const auto e = thrown_by([&] { reader.for_each([](const note_record::document&) {}); });
  EXPECT_EQ(e.code(), errc::bad_document);
  EXPECT_TRUE(contains(e.what(), "record 'b' in index 'notes-1'")) << e.what();
  EXPECT_TRUE(contains(e.what(), "needs id and text")) << e.what();
  EXPECT_EQ(thrown_by([&] { (void)reader.get("b"); }).code(), errc::bad_document);
}

TYPED_TEST(RecordReader, RefusesAPageSizeOfZero) {
  this->fill("notes-1", 1);
  EXPECT_EQ(thrown_by([&] { (void)open_records<note_record>(*this->store, "notes-1", reader_options{.page_size = 0}); }).code(),
            errc::invalid_config);
}

}  // namespace
