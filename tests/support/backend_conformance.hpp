#pragma once
// The conformance suite every store passes: the semantics of memory_index, written once. The core
// (IndexConformance: documents and aliases) and one suite per capability (exists many, insert if
// absent, per-document delete, change cursor, padded text, moving write), whose tests run where the
// backend models the capability's concept and are skipped where it does not.
//
// A backend joins with a factory type and one instantiation, inside namespace tributary::testing:
//
//   struct my_factory {
//     using backend = my_index;
//     // A handle on this test's own store, empty when the factory is constructed. Each call may return
//     // a new connection to the same store (preferred: concurrency tests then use two connections) or
//     // the same object. The factory outlives every handle and cleans the store up in its destructor.
//     std::shared_ptr<my_index> open();
//   };
//   namespace tributary::testing {
//   TRIBUTARY_STORE_CONFORMANCE(My, ::testing::Types<my_factory>);
//   }

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <exception>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <random>
#include <set>
#include <span>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <tributary/concepts.hpp>
#include <tributary/detail/json_text.hpp>
#include <tributary/error.hpp>
#include <tributary/index/types.hpp>

#include "support/common.hpp"

namespace tributary::testing {

/// Runs `f` and returns the errc it threw, or nullopt when it threw nothing.
template <class F>
std::optional<errc> error_of(F&& f) {
  try {
    f();
  } catch (const error& e) {
    return e.code();
  }
  return std::nullopt;
}

inline std::vector<std::string> names(std::initializer_list<const char*> list) { return {list.begin(), list.end()}; }

/// What every suite below holds: the factory, a handle on its store, and helpers.
template <class Factory>
class StoreFixture : public ::testing::Test {
 protected:
  using backend = typename Factory::backend;
  static_assert(document_store<backend>, "the factory's backend must model tributary::document_store");

  /// Every document of `index`, scanning in pages of `page_size`.
  std::vector<stored_document> everything(backend& store, const std::string& index, std::size_t page_size = 100) {
    std::vector<stored_document> out;
    std::string after;
    while (true) {
      auto page = store.scan(index, after, page_size);
      out.insert(out.end(), page.documents.begin(), page.documents.end());
      if (page.done) return out;
      after = page.next_after;
    }
  }

  bulk_result write(backend& store, const std::string& index, std::vector<stored_document> docs) {
    return store.bulk_write(index, std::span<const stored_document>(docs));
  }

  void update(backend& store, std::vector<alias_action> actions) {
    store.update_aliases(std::span<const alias_action>(actions));
  }

  void remove(backend& store, std::vector<std::string> victims) {
    store.delete_indices(std::span<const std::string>(victims));
  }

  // Declared in this order so that the handle closes before the factory removes the store.
  Factory factory_;
  std::shared_ptr<backend> store_ = factory_.open();
};

template <class Factory>
class IndexConformance : public StoreFixture<Factory> {
 protected:
  static_assert(index_backend<typename Factory::backend>, "the factory's backend must model tributary::index_backend");
};

TYPED_TEST_SUITE_P(IndexConformance);

TYPED_TEST_P(IndexConformance, WrittenDocumentsReadBackInTheOrderAsked) {
  auto& s = *this->store_;
  s.create_index("docs");
  auto result = this->write(s, "docs", {{"b", R"({"n":2})"}, {"a", R"({"n":1})"}, {"c", R"({"n":3})"}});
  EXPECT_TRUE(result.ok());
  EXPECT_EQ(result.written, 3u);

  const auto ids = names({"c", "missing", "a", "b", "a"});
  const auto got = s.get("docs", ids);
  ASSERT_EQ(got.size(), 5u);
  EXPECT_EQ(got[0], std::optional<std::string>(R"({"n":3})"));
  EXPECT_EQ(got[1], std::nullopt);
  EXPECT_EQ(got[2], std::optional<std::string>(R"({"n":1})"));
  EXPECT_EQ(got[3], std::optional<std::string>(R"({"n":2})"));
  EXPECT_EQ(got[4], std::optional<std::string>(R"({"n":1})"));
  EXPECT_TRUE(s.get("docs", std::span<const std::string>()).empty());
}

TYPED_TEST_P(IndexConformance, GetAndUpsertAgreeWithAMapWhateverTheOrderOfTheIds) {
  // Ids asked and written in order, in reverse, shuffled with repeats, and in order with wide gaps:
  // a backend that follows the order of a batch (as memory_index does) must not depend on it.
  auto& s = *this->store_;
  s.create_index("docs");
  auto key = [](int i) { return cat("k", std::to_string(1000 + i)); };
  std::map<std::string, std::string> expected;
  std::vector<stored_document> first;
  for (int i = 0; i < 120; i += 2) first.push_back({key(i), "{\"v\":" + std::to_string(i) + "}"});
  ASSERT_TRUE(this->write(s, "docs", first).ok());
  for (const auto& d : first) expected[d.id] = d.json;

  std::vector<int> ascending(130);
  for (int i = 0; i < 130; ++i) ascending[static_cast<std::size_t>(i)] = i;
  std::vector<int> descending(ascending.rbegin(), ascending.rend());
  std::vector<int> shuffled = ascending;
  shuffled.insert(shuffled.end(), ascending.begin(), ascending.begin() + 40);
  std::shuffle(shuffled.begin(), shuffled.end(), std::mt19937(7));
  std::vector<int> gaps;
  for (int i = 3; i < 130; i += 23) gaps.push_back(i), gaps.push_back(i + 1);
  int round = 0;
  for (const auto* order : {&ascending, &descending, &shuffled, &gaps}) {
    std::vector<std::string> ids;
    for (int i : *order) ids.push_back(key(i));
    const auto got = s.get("docs", ids);
    ASSERT_EQ(got.size(), ids.size());
    for (std::size_t k = 0; k < ids.size(); ++k) {
      const auto it = expected.find(ids[k]);
      EXPECT_EQ(got[k], it == expected.end() ? std::nullopt : std::optional<std::string>(it->second)) << ids[k];
    }
    // The same order written: some ids new, some replaced, repeats last-wins.
    std::vector<stored_document> batch;
    for (int i : *order) batch.push_back({key(i), "{\"round\":" + std::to_string(round) + ",\"i\":" + std::to_string(i) + "}"});
    ++round;
    ASSERT_TRUE(this->write(s, "docs", batch).ok());
    for (const auto& d : batch) expected[d.id] = d.json;
    std::vector<stored_document> want;
    for (const auto& [id, json] : expected) want.push_back({id, json});
    ASSERT_EQ(this->everything(s, "docs", 37), want) << "after round " << round;
  }
}

TYPED_TEST_P(IndexConformance, UpsertReplacesByIdAndKeepsOthers) {
  auto& s = *this->store_;
  s.create_index("docs");
  this->write(s, "docs", {{"a", R"({"v":1})"}, {"b", R"({"v":1})"}});
  auto result = this->write(s, "docs", {{"a", R"({"v":2})"}, {"c", R"({"v":2})"}, {"c", R"({"v":3})"}});
  EXPECT_TRUE(result.ok());
  EXPECT_EQ(result.written, 3u);
  const std::vector<stored_document> expected{{"a", R"({"v":2})"}, {"b", R"({"v":1})"}, {"c", R"({"v":3})"}};
  EXPECT_EQ(this->everything(s, "docs"), expected);
}

TYPED_TEST_P(IndexConformance, BulkWriteReportsEachFailedItem) {
  auto& s = *this->store_;
  s.create_index("docs");
  auto result = this->write(s, "docs", {{"a", "{}"}, {"", "{}"}, {"b", "{}"}});
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(result.written, 2u);
  ASSERT_EQ(result.failures.size(), 1u);
  EXPECT_EQ(result.failures[0].position, 1u);
  EXPECT_FALSE(result.failures[0].reason.empty());
  const std::vector<stored_document> expected{{"a", "{}"}, {"b", "{}"}};
  EXPECT_EQ(this->everything(s, "docs"), expected);
}

TYPED_TEST_P(IndexConformance, ScanPagesPastTenThousandDocumentsInIdOrder) {
  auto& s = *this->store_;
  s.create_index("big");
  // Ids of different lengths and non-ASCII bytes: the order is bytewise, as std::string compares.
  std::vector<std::string> ids;
  for (int i = 0; i < 10'003; ++i) ids.push_back("doc-" + std::to_string(i));
  for (const char* extra : {"a", "a-", "a0", "aa", "Z", "doc-", "\xc3\xa9t\xc3\xa9", "\xe2\x82\xac", "~"})
    ids.emplace_back(extra);
  std::vector<std::string> write_order = ids;
  std::shuffle(write_order.begin(), write_order.end(), std::mt19937(42));
  for (std::size_t from = 0; from < write_order.size(); from += 1000) {
    std::vector<stored_document> batch;
    for (std::size_t i = from; i < std::min(write_order.size(), from + 1000); ++i)
      batch.push_back({write_order[i], "{\"id\":\"" + write_order[i] + "\"}"});
    auto result = this->write(s, "big", std::move(batch));
    ASSERT_TRUE(result.ok());
  }
  std::sort(ids.begin(), ids.end());

  constexpr std::size_t page_size = 997;
  std::vector<std::string> seen;
  std::string after;
  std::size_t pages = 0;
  while (true) {
    auto page = s.scan("big", after, page_size);
    ++pages;
    ASSERT_LE(pages, ids.size() / page_size + 1) << "the scan does not end";
    for (const auto& d : page.documents) {
      EXPECT_EQ(d.json, "{\"id\":\"" + d.id + "\"}");
      seen.push_back(d.id);
    }
    const bool more = seen.size() < ids.size();
    ASSERT_EQ(page.done, !more) << "page " << pages << " after '" << after << "'";
    if (page.done) break;
    ASSERT_EQ(page.documents.size(), page_size);
    ASSERT_EQ(page.next_after, page.documents.back().id);
    after = page.next_after;
  }
  EXPECT_EQ(pages, ids.size() / page_size + 1);
  EXPECT_EQ(seen, ids);  // every document exactly once, in id order

  // Resuming after an id that is not stored continues at the next stored one.
  auto page = s.scan("big", "doc-9999x", 2);
  ASSERT_EQ(page.documents.size(), 2u);
  const auto pos = std::upper_bound(ids.begin(), ids.end(), std::string("doc-9999x")) - ids.begin();
  EXPECT_EQ(page.documents[0].id, ids[pos]);
  EXPECT_EQ(page.documents[1].id, ids[pos + 1]);
}

TYPED_TEST_P(IndexConformance, ScanIsDoneExactlyWhenNothingFollows) {
  auto& s = *this->store_;
  s.create_index("empty");
  auto page = s.scan("empty", "", 10);
  EXPECT_TRUE(page.documents.empty());
  EXPECT_TRUE(page.done);
  EXPECT_EQ(page.next_after, "");

  s.create_index("four");
  this->write(s, "four", {{"1", "{}"}, {"2", "{}"}, {"3", "{}"}, {"4", "{}"}});
  page = s.scan("four", "", 2);
  EXPECT_EQ(page.documents.size(), 2u);
  EXPECT_FALSE(page.done);
  page = s.scan("four", page.next_after, 2);  // ends exactly at a page boundary
  EXPECT_EQ(page.documents.size(), 2u);
  EXPECT_TRUE(page.done);
  EXPECT_EQ(page.next_after, "4");
  page = s.scan("four", "4", 2);
  EXPECT_TRUE(page.documents.empty());
  EXPECT_TRUE(page.done);
  EXPECT_EQ(error_of([&] { (void)s.scan("four", "", 0); }), errc::invalid_config);
}

TYPED_TEST_P(IndexConformance, ListIndicesByPrefixTreatsNoCharacterAsAWildcard) {
  auto& s = *this->store_;
  for (const char* n : {"app-dev_1", "app-dev_2", "app-devx", "app-de", "app-dev", "appdev", "app%x", "other", "app-dew"})
    s.create_index(n);
  this->update(s, {alias_action::add("other", "app-dev_alias")});

  EXPECT_EQ(s.list_indices("app-dev_"), names({"app-dev_1", "app-dev_2"}));
  EXPECT_EQ(s.list_indices("app-dev"), names({"app-dev", "app-dev_1", "app-dev_2", "app-devx"}));
  EXPECT_EQ(s.list_indices("app%"), names({"app%x"}));
  EXPECT_EQ(s.list_indices("app-dev_1"), names({"app-dev_1"}));
  EXPECT_EQ(s.list_indices("app-dev_10"), names({}));
  EXPECT_EQ(s.list_indices("zzz"), names({}));
  EXPECT_EQ(s.list_indices(""),
            names({"app%x", "app-de", "app-dev", "app-dev_1", "app-dev_2", "app-devx", "app-dew", "appdev", "other"}));
}

TYPED_TEST_P(IndexConformance, AliasFlipIsAtomicForAConcurrentReader) {
  auto& s = *this->store_;
  s.create_index("blue");
  s.create_index("green");
  this->update(s, {alias_action::add("blue", "live")});

  auto writer_store = this->factory_.open();
  auto reader_store = this->factory_.open();
  // The writer starts once the reader has read, and flips at least `flips` times and until the reader
  // has read `min_reads` times, stopping after an even number: every run reads while the aliases flip,
  // however fast the backend (memory_index made its 2000 flips before a late reader's first look).
  constexpr int flips = 2000;
  constexpr std::size_t min_reads = 50;
  std::atomic<std::size_t> reads{0};
  std::atomic<bool> writer_done{false};
  std::exception_ptr writer_failure;
  std::thread writer([&] {
    try {
      while (reads.load() == 0) std::this_thread::yield();
      std::string from = "blue", to = "green";
      for (int i = 0; i < flips || reads.load() < min_reads || i % 2 != 0; ++i) {
        const std::vector<alias_action> flip{alias_action::remove(from, "live", true), alias_action::add(to, "live")};
        writer_store->update_aliases(std::span<const alias_action>(flip));
        std::swap(from, to);
      }
    } catch (...) {
      writer_failure = std::current_exception();
    }
    writer_done = true;
  });

  std::size_t violations = 0;
  std::set<std::string> seen;
  std::string first_violation;
  do {
    const auto targets = reader_store->alias_targets("live");
    std::size_t in_table = 0;
    for (const auto& e : reader_store->aliases()) in_table += e.alias == "live";
    ++reads;
    if (targets.size() != 1 || in_table != 1) {
      if (violations++ == 0)
        first_violation = std::to_string(targets.size()) + " targets, " + std::to_string(in_table) + " table rows";
    } else {
      seen.insert(targets.front());
    }
  } while (!writer_done);
  writer.join();
  if (writer_failure) std::rethrow_exception(writer_failure);
  EXPECT_EQ(violations, 0u) << "first seen: " << first_violation << " (of " << reads.load() << " reads)";
  EXPECT_GE(reads.load(), min_reads);
  for (const auto& t : seen) EXPECT_TRUE(t == "blue" || t == "green") << t;
  EXPECT_EQ(s.alias_targets("live"), names({"blue"}));  // an even number of flips
}

TYPED_TEST_P(IndexConformance, FailedMultiActionUpdateChangesNothing) {
  auto& s = *this->store_;
  for (const char* n : {"blue", "green", "red"}) s.create_index(n);
  this->update(s, {alias_action::add("blue", "live"), alias_action::add("blue", "env"), alias_action::add("red", "old")});
  const auto before = s.aliases();
  ASSERT_EQ(before.size(), 3u);

  // Each update does real work first and fails in its last action.
  EXPECT_EQ(error_of([&] {
              this->update(s, {alias_action::remove_everywhere("live"), alias_action::add("green", "live"),
                               alias_action::remove("red", "old"), alias_action::remove("blue", "absent", true)});
            }),
            errc::conflict);
  EXPECT_EQ(s.aliases(), before);
  EXPECT_EQ(error_of([&] {
              this->update(s, {alias_action::remove("blue", "live", true), alias_action::add("green", "live"),
                               alias_action::add("missing", "live")});
            }),
            errc::not_found);
  EXPECT_EQ(s.aliases(), before);
  EXPECT_EQ(error_of([&] {
              this->update(s, {alias_action::add("green", "fresh"), alias_action::add("green", "red")});
            }),
            errc::conflict);
  EXPECT_EQ(s.aliases(), before);
  EXPECT_EQ(error_of([&] {
              this->update(s, {alias_action::add("green", "fresh"), alias_action::add("green", "bad alias")});
            }),
            errc::invalid_name);
  EXPECT_EQ(s.aliases(), before);
  EXPECT_EQ(error_of([&] { this->update(s, {}); }), errc::invalid_config);
  EXPECT_EQ(s.aliases(), before);

  // The same kind of update succeeds whole when every action holds.
  this->update(s, {alias_action::remove("blue", "live", true), alias_action::add("green", "live"),
                   alias_action::remove_everywhere("old")});
  const std::vector<alias_entry> after{{"env", "blue"}, {"live", "green"}};
  EXPECT_EQ(s.aliases(), after);
}

TYPED_TEST_P(IndexConformance, RemoveMustExistFailsWhenTheAliasIsAbsent) {
  auto& s = *this->store_;
  s.create_index("blue");
  s.create_index("green");
  this->update(s, {alias_action::add("blue", "live")});
  EXPECT_EQ(error_of([&] { this->update(s, {alias_action::remove("green", "live", true)}); }), errc::conflict);
  EXPECT_EQ(error_of([&] { this->update(s, {alias_action::remove("blue", "nope", true)}); }), errc::conflict);
  EXPECT_EQ(s.alias_targets("live"), names({"blue"}));
  this->update(s, {alias_action::remove("green", "live")});  // without must_exist an absent pair is fine
  EXPECT_EQ(s.alias_targets("live"), names({"blue"}));
  this->update(s, {alias_action::remove("blue", "live", true)});
  EXPECT_TRUE(s.alias_targets("live").empty());
  EXPECT_TRUE(s.aliases().empty());
}

// Activation's compare-and-set: "while env is on blue, move live to blue" is one update that removes
// (must_exist) and re-adds env on blue; it keeps env where it is, or fails whole once env has moved.
TYPED_TEST_P(IndexConformance, RemovingAndReAddingAPairIsACompareAndSet) {
  auto& s = *this->store_;
  for (const char* n : {"blue", "green", "old"}) s.create_index(n);
  this->update(s, {alias_action::add("blue", "env"), alias_action::add("old", "live")});
  const std::vector<alias_action> move_live_if_env_on_blue{
      alias_action::remove("blue", "env", true), alias_action::add("blue", "env"),
      alias_action::remove_everywhere("live"), alias_action::add("blue", "live")};
  this->update(s, move_live_if_env_on_blue);
  EXPECT_EQ(s.aliases(), (std::vector<alias_entry>{{"env", "blue"}, {"live", "blue"}}));
  this->update(s, {alias_action::remove("blue", "env", true), alias_action::add("green", "env"),
                   alias_action::remove_everywhere("live"), alias_action::add("old", "live")});
  EXPECT_EQ(error_of([&] { this->update(s, move_live_if_env_on_blue); }), errc::conflict);
  EXPECT_EQ(s.aliases(), (std::vector<alias_entry>{{"env", "green"}, {"live", "old"}}));
}

TYPED_TEST_P(IndexConformance, RemoveEverywhereTakesTheAliasOffEveryIndex) {
  auto& s = *this->store_;
  for (const char* n : {"a1", "a2", "a3"}) s.create_index(n);
  this->update(s, {alias_action::add("a1", "working"), alias_action::add("a2", "working"),
                   alias_action::add("a3", "working"), alias_action::add("a1", "keep")});
  EXPECT_EQ(s.alias_targets("working"), names({"a1", "a2", "a3"}));
  this->update(s, {alias_action::remove_everywhere("working"), alias_action::add("a3", "working")});
  EXPECT_EQ(s.alias_targets("working"), names({"a3"}));
  this->update(s, {alias_action::remove_everywhere("working")});
  EXPECT_TRUE(s.alias_targets("working").empty());
  this->update(s, {alias_action::remove_everywhere("working")});  // none left is fine
  const std::vector<alias_entry> left{{"keep", "a1"}};
  EXPECT_EQ(s.aliases(), left);
}

TYPED_TEST_P(IndexConformance, AliasAddNeedsAnIndexAndNeverShadowsOne) {
  auto& s = *this->store_;
  s.create_index("blue");
  s.create_index("green");
  EXPECT_EQ(error_of([&] { this->update(s, {alias_action::add("missing", "live")}); }), errc::not_found);
  EXPECT_EQ(error_of([&] { this->update(s, {alias_action::add("blue", "green")}); }), errc::conflict);
  this->update(s, {alias_action::add("blue", "apicatalogue-devCollectorWorking")});  // uppercase is fine in aliases
  this->update(s, {alias_action::add("blue", "apicatalogue-devCollectorWorking")});  // adding twice is one pair
  EXPECT_EQ(s.alias_targets("apicatalogue-devCollectorWorking"), names({"blue"}));
  EXPECT_FALSE(s.index_exists("apicatalogue-devCollectorWorking"));  // an alias is not an index
  EXPECT_TRUE(s.index_exists("blue"));
  this->update(s, {alias_action::add("green", "live"), alias_action::add("blue", "live")});
  const std::vector<alias_entry> table{{"apicatalogue-devCollectorWorking", "blue"}, {"live", "blue"}, {"live", "green"}};
  EXPECT_EQ(s.aliases(), table);
  EXPECT_EQ(s.alias_targets("live"), names({"blue", "green"}));
}

TYPED_TEST_P(IndexConformance, DeletionIsByExplicitNameOnly) {
  auto& s = *this->store_;
  for (const char* n : {"logs", "logs-1", "logs2", "logsx", "aliased"}) s.create_index(n);
  this->write(s, "logs", {{"x", R"({"old":true})"}});
  this->update(s, {alias_action::add("aliased", "live")});

  this->remove(s, {"logs"});
  EXPECT_FALSE(s.index_exists("logs"));
  EXPECT_EQ(s.list_indices("logs"), names({"logs-1", "logs2", "logsx"}));
  EXPECT_EQ(error_of([&] { (void)s.get("logs", names({"x"})); }), errc::not_found);
  s.create_index("logs");  // the documents went with the index
  EXPECT_TRUE(this->everything(s, "logs").empty());

  EXPECT_EQ(error_of([&] { this->remove(s, {"aliased"}); }), errc::conflict);
  EXPECT_EQ(error_of([&] { this->remove(s, {"nothing"}); }), errc::not_found);
  EXPECT_EQ(error_of([&] { this->remove(s, {"logs-1", "nothing"}); }), errc::not_found);
  EXPECT_EQ(error_of([&] { this->remove(s, {"logs2", "aliased", "logsx"}); }), errc::conflict);
  EXPECT_EQ(error_of([&] { this->remove(s, {"logs*"}); }), errc::invalid_name);
  EXPECT_EQ(s.list_indices(""), names({"aliased", "logs", "logs-1", "logs2", "logsx"}));  // nothing deleted

  this->remove(s, {"logs2", "logs2"});  // a name listed twice is deleted once
  this->update(s, {alias_action::remove_everywhere("live")});
  this->remove(s, {"aliased", "logsx"});
  this->remove(s, {});
  EXPECT_EQ(s.list_indices(""), names({"logs", "logs-1"}));
}

TYPED_TEST_P(IndexConformance, RejectsInvalidNames) {
  auto& s = *this->store_;
  s.create_index("good");
  s.create_index(std::string(255, 'a'));  // the longest valid name
  const std::vector<std::string> bad_anywhere{"",     "a*b", "a,b", "a b", "_a",  "-a",  "+a",  ".",   "..",   "a:b",
                                              "a#b",  "a/b", "a\\b", "a?b", "a\"b", "a<b", "a>b", "a|b", "a\tb",
                                              "*",    std::string(256, 'a')};
  std::vector<std::string> bad_index = bad_anywhere;
  bad_index.insert(bad_index.end(), {"Upper", "apicatalogue-devCollectorWorking"});

  for (const auto& name : bad_index) {
    EXPECT_EQ(error_of([&] { s.create_index(name); }), errc::invalid_name) << "create '" << name << "'";
    EXPECT_EQ(error_of([&] { this->update(s, {alias_action::add(name, "alias")}); }), errc::invalid_name)
      << "alias on '" << name << "'";
    EXPECT_EQ(error_of([&] { this->remove(s, {"good", name}); }), errc::invalid_name) << "delete '" << name << "'";
  }
  for (const auto& name : bad_anywhere)
    EXPECT_EQ(error_of([&] { this->update(s, {alias_action::add("good", name)}); }), errc::invalid_name)
      << "alias '" << name << "'";
  EXPECT_EQ(s.list_indices(""), names({std::string(255, 'a').c_str(), "good"}));
  EXPECT_TRUE(s.aliases().empty());
}

TYPED_TEST_P(IndexConformance, CreateRefusesATakenName) {
  auto& s = *this->store_;
  s.create_index("blue");
  this->write(s, "blue", {{"a", "{}"}});
  EXPECT_EQ(error_of([&] { s.create_index("blue"); }), errc::already_exists);
  this->update(s, {alias_action::add("blue", "live")});
  EXPECT_EQ(error_of([&] { s.create_index("live"); }), errc::already_exists);
  EXPECT_EQ(s.list_indices(""), names({"blue"}));
  EXPECT_EQ(this->everything(s, "blue").size(), 1u);  // the failed create touched nothing
}

TYPED_TEST_P(IndexConformance, DocumentOperationsOnAMissingIndexFail) {
  auto& s = *this->store_;
  s.create_index("blue");
  this->update(s, {alias_action::add("blue", "live")});
  for (const char* missing : {"missing", "live"}) {  // an alias is not an index for document operations
    EXPECT_EQ(error_of([&] { this->write(s, missing, {{"a", "{}"}}); }), errc::not_found) << missing;
    EXPECT_EQ(error_of([&] { (void)s.get(missing, names({"a"})); }), errc::not_found) << missing;
    EXPECT_EQ(error_of([&] { (void)s.scan(missing, "", 10); }), errc::not_found) << missing;
    EXPECT_FALSE(s.index_exists(missing));
  }
  EXPECT_TRUE(s.alias_targets("missing").empty());
  EXPECT_TRUE(this->everything(s, "blue").empty());
}

TYPED_TEST_P(IndexConformance, ConcurrentWritersOnSharedAndSeparateHandles) {
  auto& s = *this->store_;
  s.create_index("shared");
  constexpr int threads = 4, batches = 25, per_batch = 8;
  std::vector<std::thread> pool;
  std::vector<std::exception_ptr> failures(threads);
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      try {
        // Even threads share the fixture's handle, odd ones open their own.
        auto own = t % 2 == 0 ? this->store_ : this->factory_.open();
        for (int b = 0; b < batches; ++b) {
          std::vector<stored_document> batch;
          for (int i = 0; i < per_batch; ++i) {
            batch.push_back({cat("t", std::to_string(t), "-", std::to_string(b * per_batch + i)),
                             cat("{\"by\":", std::to_string(t), "}")});
          }
          auto result = own->bulk_write("shared", std::span<const stored_document>(batch));
          if (!result.ok() || result.written != batch.size()) throw std::runtime_error("a write was not acknowledged");
        }
      } catch (...) {
        failures[t] = std::current_exception();
      }
    });
  }
  for (auto& th : pool) th.join();
  for (auto& f : failures)
    if (f) std::rethrow_exception(f);
  const auto all = this->everything(s, "shared", 64);
  EXPECT_EQ(all.size(), static_cast<std::size_t>(threads * batches * per_batch));
  for (const auto& d : all) EXPECT_EQ(d.json, "{\"by\":" + d.id.substr(1, d.id.find('-') - 1) + "}") << d.id;
}

TYPED_TEST_P(IndexConformance, QuotesAndSqlInNamesAndIdsAreData) {
  auto& s = *this->store_;
  const std::string index = "a');drop-table-indices;--";  // a valid index name
  const std::string alias = "b';DELETE-FROM-aliases;--";
  s.create_index(index);
  s.create_index("bystander");
  const std::vector<stored_document> docs{{"'; DELETE FROM documents; --", R"({"q":"it's \"quoted\""})"},
                                          {"%", "{}"},
                                          {"_", "{}"}};
  EXPECT_TRUE(s.bulk_write(index, std::span<const stored_document>(docs)).ok());
  this->update(s, {alias_action::add(index, alias)});
  EXPECT_EQ(s.list_indices(""), names({index.c_str(), "bystander"}));
  EXPECT_EQ(s.list_indices("a')"), names({index.c_str()}));
  EXPECT_EQ(s.alias_targets(alias), names({index.c_str()}));
  auto sorted = docs;
  std::sort(sorted.begin(), sorted.end(), [](const auto& x, const auto& y) { return x.id < y.id; });
  EXPECT_EQ(this->everything(s, index), sorted);
  EXPECT_EQ(s.get(index, names({"'; DELETE FROM documents; --"}))[0], std::optional<std::string>(docs[0].json));
  EXPECT_EQ(s.get(index, names({"'"}))[0], std::nullopt);
}

REGISTER_TYPED_TEST_SUITE_P(IndexConformance, WrittenDocumentsReadBackInTheOrderAsked,
                            GetAndUpsertAgreeWithAMapWhateverTheOrderOfTheIds, UpsertReplacesByIdAndKeepsOthers,
                            BulkWriteReportsEachFailedItem, ScanPagesPastTenThousandDocumentsInIdOrder,
                            ScanIsDoneExactlyWhenNothingFollows, ListIndicesByPrefixTreatsNoCharacterAsAWildcard,
                            AliasFlipIsAtomicForAConcurrentReader, FailedMultiActionUpdateChangesNothing,
                            RemoveMustExistFailsWhenTheAliasIsAbsent, RemovingAndReAddingAPairIsACompareAndSet,
                            RemoveEverywhereTakesTheAliasOffEveryIndex,
                            AliasAddNeedsAnIndexAndNeverShadowsOne, DeletionIsByExplicitNameOnly, RejectsInvalidNames,
                            CreateRefusesATakenName, DocumentOperationsOnAMissingIndexFail,
                            ConcurrentWritersOnSharedAndSeparateHandles, QuotesAndSqlInNamesAndIdsAreData);

// ---- capabilities ----------------------------------------------------------------------------------
// One suite per refinement concept. Each test runs where the factory's backend models the concept and
// is skipped (saying so) where it does not; TRIBUTARY_STORE_CONFORMANCE instantiates every suite, so a
// backend that starts to claim a capability is tested for it at once.

/// The test body follows when the backend models `Concept`; otherwise the test is skipped.
#define TRIBUTARY_WHEN_MODELS(Concept)                                                     \
  if constexpr (!Concept<typename TestFixture::backend>) {                                 \
    GTEST_SKIP() << "the backend does not model tributary::" #Concept;                     \
  } else

template <class Factory>
class ExistsManyConformance : public StoreFixture<Factory> {};
template <class Factory>
class InsertIfAbsentConformance : public StoreFixture<Factory> {};
template <class Factory>
class DocumentDeleteConformance : public StoreFixture<Factory> {};
template <class Factory>
class ChangeCursorConformance : public StoreFixture<Factory> {
 protected:
  /// Every change after `after`, paging by `page_size`; checks positions increase and `next`.
  std::vector<stored_document> changes(typename Factory::backend& store, const std::string& index, std::uint64_t& after,
                                       std::size_t page_size = 100) {
    std::vector<stored_document> out;
    for (int pages = 0;; ++pages) {
      EXPECT_LT(pages, 100000) << "the change feed does not end";
      auto page = store.changes_since(index, after, page_size);
      EXPECT_LE(page.documents.size(), page_size);
      if (page.documents.empty()) EXPECT_EQ(page.next, after) << "an empty page stays where it was";
      else EXPECT_GT(page.next, after) << "positions only grow";
      after = page.next;
      out.insert(out.end(), page.documents.begin(), page.documents.end());
      if (page.done || pages >= 100000) return out;
    }
  }
};
template <class Factory>
class PaddedTextConformance : public StoreFixture<Factory> {};
template <class Factory>
class MovingWriteConformance : public StoreFixture<Factory> {};
template <class Factory>
class RewriteConformance : public StoreFixture<Factory> {};

TYPED_TEST_SUITE_P(ExistsManyConformance);
TYPED_TEST_SUITE_P(InsertIfAbsentConformance);
TYPED_TEST_SUITE_P(DocumentDeleteConformance);
TYPED_TEST_SUITE_P(ChangeCursorConformance);
TYPED_TEST_SUITE_P(PaddedTextConformance);
TYPED_TEST_SUITE_P(MovingWriteConformance);
TYPED_TEST_SUITE_P(RewriteConformance);

inline std::vector<std::string> ids_of(const std::vector<stored_document>& docs) {
  std::vector<std::string> out;
  for (const auto& d : docs) out.push_back(d.id);
  return out;
}

/// `threads` functions started together; rethrows the first failure.
template <class F>
void run_together(int threads, F&& f) {
  std::atomic<int> ready{0};
  std::vector<std::thread> pool;
  std::vector<std::exception_ptr> failures(static_cast<std::size_t>(threads));
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      try {
        ++ready;
        while (ready.load() < threads) std::this_thread::yield();
        f(t);
      } catch (...) {
        failures[static_cast<std::size_t>(t)] = std::current_exception();
      }
    });
  }
  for (auto& th : pool) th.join();
  for (auto& e : failures)
    if (e) std::rethrow_exception(e);
}

// ---- exists many

TYPED_TEST_P(ExistsManyConformance, SaysWhichIdsArePresentInTheOrderAsked) {
  TRIBUTARY_WHEN_MODELS(exists_many_store) {
    auto& s = *this->store_;
    s.create_index("docs");
    ASSERT_TRUE(this->write(s, "docs", {{"b", "{}"}, {"a", R"({"n":1})"}, {"c", "{}"}}).ok());
    EXPECT_EQ(s.exists("docs", names({"c", "missing", "a", "", "a", "b", "'"})),
              (std::vector<bool>{true, false, true, false, true, true, false}));
    EXPECT_TRUE(s.exists("docs", std::span<const std::string>()).empty());
    s.create_index("empty");
    EXPECT_EQ(s.exists("empty", names({"a"})), std::vector<bool>{false});
  }
}

TYPED_TEST_P(ExistsManyConformance, AgreesWithGetForManyIds) {
  TRIBUTARY_WHEN_MODELS(exists_many_store) {
    auto& s = *this->store_;
    s.create_index("docs");
    std::vector<stored_document> docs;
    for (int i = 0; i < 2500; i += 3) docs.push_back({cat("k", std::to_string(i)), "{}"});
    ASSERT_TRUE(this->write(s, "docs", docs).ok());
    std::vector<std::string> ids;
    for (int i = 2499; i >= 0; --i) ids.push_back(cat("k", std::to_string(i)));
    const auto present = s.exists("docs", ids);
    const auto got = s.get("docs", ids);
    ASSERT_EQ(present.size(), ids.size());
    for (std::size_t k = 0; k < ids.size(); ++k) EXPECT_EQ(present[k], got[k].has_value()) << ids[k];
  }
}

TYPED_TEST_P(ExistsManyConformance, AMissingIndexOrAnAliasIsNotFound) {
  TRIBUTARY_WHEN_MODELS(exists_many_store) {
    auto& s = *this->store_;
    s.create_index("blue");
    EXPECT_EQ(error_of([&] { (void)s.exists("missing", names({"a"})); }), errc::not_found);
    EXPECT_EQ(error_of([&] { (void)s.exists("missing", std::span<const std::string>()); }), errc::not_found);
    if constexpr (alias_store<typename TestFixture::backend>) {
      this->update(s, {alias_action::add("blue", "live")});
      EXPECT_EQ(error_of([&] { (void)s.exists("live", names({"a"})); }), errc::not_found);
    }
  }
}

// ---- insert if absent

TYPED_TEST_P(InsertIfAbsentConformance, InsertsOnlyAbsentIdsAndNeverOverwrites) {
  TRIBUTARY_WHEN_MODELS(insert_if_absent_store) {
    auto& s = *this->store_;
    s.create_index("docs");
    ASSERT_TRUE(this->write(s, "docs", {{"a", R"({"v":1})"}}).ok());
    const std::vector<stored_document> batch{{"a", R"({"v":2})"}, {"b", R"({"v":2})"}, {"b", R"({"v":3})"},
                                             {"", "{}"},          {"c", R"({"v":2})"}};
    const auto result = s.insert_if_absent("docs", batch);
    using outcome = insert_result::outcome;
    EXPECT_EQ(result.items,
              (std::vector<outcome>{outcome::existed, outcome::inserted, outcome::existed, outcome::failed, outcome::inserted}));
    EXPECT_EQ(result.inserted(), 2u);
    ASSERT_EQ(result.failures.size(), 1u);
    EXPECT_EQ(result.failures[0].position, 3u);
    EXPECT_FALSE(result.ok());
    const std::vector<stored_document> expected{{"a", R"({"v":1})"}, {"b", R"({"v":2})"}, {"c", R"({"v":2})"}};
    EXPECT_EQ(this->everything(s, "docs"), expected);

    const auto again = s.insert_if_absent("docs", batch);  // everything exists now
    EXPECT_EQ(again.inserted(), 0u);
    EXPECT_EQ(this->everything(s, "docs"), expected);
    EXPECT_TRUE(s.insert_if_absent("docs", std::span<const stored_document>()).items.empty());
  }
}

TYPED_TEST_P(InsertIfAbsentConformance, OfConcurrentInsertsOfOneIdExactlyOneInserts) {
  TRIBUTARY_WHEN_MODELS(insert_if_absent_store) {
    auto& s = *this->store_;
    s.create_index("docs");
    constexpr int threads = 4, rounds = 40;
    std::vector<std::shared_ptr<typename TestFixture::backend>> handles;
    for (int t = 0; t < threads; ++t) handles.push_back(t == 0 ? this->store_ : this->factory_.open());
    // inserted[round][thread]: what each writer was told, for each id.
    std::vector<std::vector<int>> inserted(rounds, std::vector<int>(threads, 0));
    run_together(threads, [&](int t) {
      for (int r = 0; r < rounds; ++r) {
        // Every thread inserts every round's id, in a batch with an id of its own.
        const std::vector<stored_document> batch{{cat("shared-", std::to_string(r)), cat("{\"by\":", std::to_string(t), "}")},
                                                 {cat("own-", std::to_string(t), "-", std::to_string(r)), "{}"}};
        const auto result = handles[static_cast<std::size_t>(t)]->insert_if_absent("docs", batch);
        if (!result.ok() || result.items.size() != 2 || result.items[1] != insert_result::outcome::inserted)
          throw std::runtime_error("an insert of a fresh id was not acknowledged");
        inserted[static_cast<std::size_t>(r)][static_cast<std::size_t>(t)] = result.items[0] == insert_result::outcome::inserted;
      }
    });
    for (int r = 0; r < rounds; ++r) {
      const auto& told = inserted[static_cast<std::size_t>(r)];
      ASSERT_EQ(std::count(told.begin(), told.end(), 1), 1) << "round " << r;
      const auto winner = std::find(told.begin(), told.end(), 1) - told.begin();
      EXPECT_EQ(s.get("docs", names({cat("shared-", std::to_string(r)).c_str()}))[0],
                std::optional<std::string>(cat("{\"by\":", std::to_string(winner), "}")))
        << "the stored document is the winner's";
    }
    EXPECT_EQ(this->everything(s, "docs").size(), static_cast<std::size_t>(rounds * (threads + 1)));
  }
}

TYPED_TEST_P(InsertIfAbsentConformance, AMissingIndexOrAnAliasIsNotFound) {
  TRIBUTARY_WHEN_MODELS(insert_if_absent_store) {
    auto& s = *this->store_;
    s.create_index("blue");
    const std::vector<stored_document> one{{"a", "{}"}};
    EXPECT_EQ(error_of([&] { (void)s.insert_if_absent("missing", one); }), errc::not_found);
    if constexpr (alias_store<typename TestFixture::backend>) {
      this->update(s, {alias_action::add("blue", "live")});
      EXPECT_EQ(error_of([&] { (void)s.insert_if_absent("live", one); }), errc::not_found);
    }
    EXPECT_TRUE(this->everything(s, "blue").empty());
  }
}

// ---- per-document delete

TYPED_TEST_P(DocumentDeleteConformance, DeletesByIdAndSaysWhichWerePresent) {
  TRIBUTARY_WHEN_MODELS(document_delete_store) {
    auto& s = *this->store_;
    s.create_index("docs");
    s.create_index("other");
    ASSERT_TRUE(this->write(s, "docs", {{"a", "{}"}, {"b", R"({"v":1})"}, {"c", "{}"}, {"d", "{}"}}).ok());
    ASSERT_TRUE(this->write(s, "other", {{"b", "{}"}}).ok());
    const auto result = s.delete_documents("docs", names({"b", "missing", "b", "d", ""}));
    EXPECT_EQ(result.present, (std::vector<bool>{true, false, false, true, false}));
    EXPECT_EQ(result.deleted(), 2u);
    EXPECT_EQ(ids_of(this->everything(s, "docs")), names({"a", "c"}));
    EXPECT_EQ(s.get("docs", names({"b", "a"}))[0], std::nullopt);
    EXPECT_EQ(ids_of(this->everything(s, "other")), names({"b"}));  // another index's document stays
    EXPECT_TRUE(s.delete_documents("docs", std::span<const std::string>()).present.empty());

    ASSERT_TRUE(this->write(s, "docs", {{"b", R"({"v":2})"}}).ok());  // a deleted id can be written again
    EXPECT_EQ(s.get("docs", names({"b"}))[0], std::optional<std::string>(R"({"v":2})"));
  }
}

TYPED_TEST_P(DocumentDeleteConformance, AMissingIndexOrAnAliasIsNotFound) {
  TRIBUTARY_WHEN_MODELS(document_delete_store) {
    auto& s = *this->store_;
    s.create_index("blue");
    ASSERT_TRUE(this->write(s, "blue", {{"a", "{}"}}).ok());
    EXPECT_EQ(error_of([&] { (void)s.delete_documents("missing", names({"a"})); }), errc::not_found);
    if constexpr (alias_store<typename TestFixture::backend>) {
      this->update(s, {alias_action::add("blue", "live")});
      EXPECT_EQ(error_of([&] { (void)s.delete_documents("live", names({"a"})); }), errc::not_found);
    }
    EXPECT_EQ(ids_of(this->everything(s, "blue")), names({"a"}));
  }
}

// ---- change cursor

TYPED_TEST_P(ChangeCursorConformance, PagesEveryWriteOnceInWriteOrder) {
  TRIBUTARY_WHEN_MODELS(change_cursor_store) {
    auto& s = *this->store_;
    s.create_index("docs");
    std::uint64_t at = 0;
    auto page = s.changes_since("docs", 0, 10);
    EXPECT_TRUE(page.documents.empty());
    EXPECT_TRUE(page.done);
    EXPECT_EQ(page.next, 0u);

    ASSERT_TRUE(this->write(s, "docs", {{"b", R"({"n":1})"}, {"a", R"({"n":2})"}, {"c", R"({"n":3})"}}).ok());
    ASSERT_TRUE(this->write(s, "docs", {{"0", R"({"n":4})"}}).ok());
    page = s.changes_since("docs", 0, 2);
    EXPECT_EQ(page.documents, (std::vector<stored_document>{{"b", R"({"n":1})"}, {"a", R"({"n":2})"}}));
    EXPECT_FALSE(page.done);
    page = s.changes_since("docs", page.next, 2);  // ends exactly at a page boundary
    EXPECT_EQ(ids_of(page.documents), names({"c", "0"}));
    EXPECT_TRUE(page.done);
    const auto end = page.next;
    page = s.changes_since("docs", end, 2);
    EXPECT_TRUE(page.documents.empty());
    EXPECT_TRUE(page.done);
    EXPECT_EQ(page.next, end);
    EXPECT_EQ(ids_of(this->changes(s, "docs", at, 1)), names({"b", "a", "c", "0"}));
    EXPECT_EQ(at, end);
    EXPECT_EQ(error_of([&] { (void)s.changes_since("docs", 0, 0); }), errc::invalid_config);
  }
}

TYPED_TEST_P(ChangeCursorConformance, AnUpdatedDocumentComesAgainAtItsLatestWrite) {
  TRIBUTARY_WHEN_MODELS(change_cursor_store) {
    auto& s = *this->store_;
    s.create_index("docs");
    s.create_index("other");
    ASSERT_TRUE(this->write(s, "docs", {{"a", R"({"v":1})"}, {"b", R"({"v":1})"}, {"c", R"({"v":1})"}}).ok());
    std::uint64_t seen = 0;
    EXPECT_EQ(ids_of(this->changes(s, "docs", seen)), names({"a", "b", "c"}));
    const auto before = seen;
    ASSERT_TRUE(this->write(s, "docs", {{"a", R"({"v":2})"}}).ok());
    ASSERT_TRUE(this->write(s, "other", {{"x", "{}"}}).ok());  // another index's writes are not this feed's
    EXPECT_EQ(this->changes(s, "docs", seen), (std::vector<stored_document>{{"a", R"({"v":2})"}}));
    EXPECT_GT(seen, before);
    std::uint64_t from_start = 0;
    EXPECT_EQ(this->changes(s, "docs", from_start, 2),
              (std::vector<stored_document>{{"b", R"({"v":1})"}, {"c", R"({"v":1})"}, {"a", R"({"v":2})"}}));
    std::uint64_t other = 0;
    EXPECT_EQ(ids_of(this->changes(s, "other", other)), names({"x"}));
  }
}

TYPED_TEST_P(ChangeCursorConformance, AFeedAfterManyRewritesAndDeletionsHoldsEachDocumentOnceAtItsLatestWrite) {
  TRIBUTARY_WHEN_MODELS(change_cursor_store) {
    auto& s = *this->store_;
    using backend = typename TestFixture::backend;
    s.create_index("docs");
    // Far more writes than documents: a store that keeps a log of writes drops the superseded ones on
    // the way, and each document must still find its latest write afterwards.
    std::map<std::string, std::string> model;
    std::vector<std::string> order;  // ids by latest write
    auto wrote = [&](const std::string& id, const std::string& json) {
      model[id] = json;
      std::erase(order, id);
      order.push_back(id);
    };
    for (int round = 0; round < 150; ++round) {
      const std::string id = std::string(1, static_cast<char>('a' + round % 4));
      const std::string json = R"({"v":)" + std::to_string(round) + "}";
      ASSERT_TRUE(this->write(s, "docs", {{id, json}, {"z", json}}).ok());
      wrote(id, json);
      wrote("z", json);
      if constexpr (document_delete_store<backend>) {
        if (round == 70 || round == 120) {
          (void)s.delete_documents("docs", names({"b"}));
          model.erase("b");
          std::erase(order, "b");
        }
      }
    }
    std::vector<stored_document> expected;
    for (const auto& id : order) expected.push_back({id, model[id]});
    std::uint64_t from_start = 0;
    EXPECT_EQ(this->changes(s, "docs", from_start, 3), expected);
  }
}

TYPED_TEST_P(ChangeCursorConformance, EveryWriteOperationIsAChangeAndDeletionsLeaveTheFeed) {
  TRIBUTARY_WHEN_MODELS(change_cursor_store) {
    auto& s = *this->store_;
    using backend = typename TestFixture::backend;
    s.create_index("docs");
    ASSERT_TRUE(this->write(s, "docs", {{"a", "{}"}, {"b", "{}"}}).ok());
    std::uint64_t seen = 0;
    (void)this->changes(s, "docs", seen);
    std::vector<std::string> expected;
    if constexpr (insert_if_absent_store<backend>) {
      const std::vector<stored_document> batch{{"a", R"({"v":9})"}, {"n", "{}"}};
      ASSERT_EQ(s.insert_if_absent("docs", batch).inserted(), 1u);
      expected.push_back("n");  // what existed was not written
    }
    if constexpr (document_delete_store<backend>) {
      (void)s.delete_documents("docs", names({"b"}));
      std::uint64_t from_start = 0;
      EXPECT_EQ(ids_of(this->changes(s, "docs", from_start)), expected.empty() ? names({"a"}) : names({"a", "n"}));
    }
    if constexpr (moving_write_store<backend>) {
      ASSERT_TRUE(s.bulk_write("docs", std::vector<stored_document>{{"m", "{}"}}).ok());
      expected.push_back("m");
    }
    EXPECT_EQ(ids_of(this->changes(s, "docs", seen)), expected);
  }
}

TYPED_TEST_P(ChangeCursorConformance, AReaderFollowingConcurrentWritersMissesNothingAndSeesNothingTwice) {
  TRIBUTARY_WHEN_MODELS(change_cursor_store) {
    auto& s = *this->store_;
    s.create_index("docs");
    constexpr int writers = 3, batches = 30, per_batch = 5, keys = 40;
    std::atomic<int> running{writers};
    std::map<std::string, std::string> followed;  // the reader's copy, built from the feed alone
    std::uint64_t at = 0;
    auto reader = this->factory_.open();
    run_together(writers + 1, [&](int t) {
      if (t == writers) {  // the reader
        while (running.load() > 0) {
          for (const auto& d : this->changes(*reader, "docs", at, 7)) followed[d.id] = d.json;
        }
        return;
      }
      auto own = this->factory_.open();
      std::mt19937 rng(static_cast<unsigned>(t));
      for (int b = 0; b < batches; ++b) {
        std::vector<stored_document> batch;
        for (int i = 0; i < per_batch; ++i)  // overlapping keys: documents are rewritten by other writers
          batch.push_back({cat("k", std::to_string(rng() % keys)), cat("{\"by\":", std::to_string(t), ",\"b\":", std::to_string(b), "}")});
        const auto result = own->bulk_write("docs", std::span<const stored_document>(batch));
        if (!result.ok()) throw std::runtime_error("a write failed");
      }
      --running;
    });
    for (const auto& d : this->changes(s, "docs", at, 7)) followed[d.id] = d.json;
    std::map<std::string, std::string> stored;
    for (const auto& d : this->everything(s, "docs")) stored[d.id] = d.json;
    EXPECT_EQ(followed, stored) << "following the feed gives the store's content";
    std::uint64_t from_start = 0;
    const auto all = this->changes(s, "docs", from_start, 13);
    EXPECT_EQ(all.size(), stored.size()) << "each document once, at its latest write";
  }
}

TYPED_TEST_P(ChangeCursorConformance, AMissingIndexOrAnAliasIsNotFound) {
  TRIBUTARY_WHEN_MODELS(change_cursor_store) {
    auto& s = *this->store_;
    s.create_index("blue");
    EXPECT_EQ(error_of([&] { (void)s.changes_since("missing", 0, 10); }), errc::not_found);
    if constexpr (alias_store<typename TestFixture::backend>) {
      this->update(s, {alias_action::add("blue", "live")});
      EXPECT_EQ(error_of([&] { (void)s.changes_since("live", 0, 10); }), errc::not_found);
    }
  }
}

// ---- padded text

TYPED_TEST_P(PaddedTextConformance, EveryTextHandedOutHasRoomForAParsersPadding) {
  TRIBUTARY_WHEN_MODELS(padded_text_store) {
    auto& s = *this->store_;
    s.create_index("docs");
    std::vector<stored_document> docs;
    for (std::size_t n : {0u, 1u, 15u, 16u, 63u, 64u, 1000u, 100000u})
      docs.push_back({cat("d", std::to_string(n)), "{\"t\":\"" + std::string(n, 'x') + "\"}"});
    ASSERT_TRUE(this->write(s, "docs", docs).ok());
    auto padded = [](const std::string& text) { return text.capacity() >= text.size() + detail::parse_padding; };
    for (const auto& got : s.get("docs", ids_of(docs))) {
      ASSERT_TRUE(got.has_value());
      EXPECT_TRUE(padded(*got)) << "get: " << got->size() << " bytes, capacity " << got->capacity();
    }
    for (const auto& d : s.scan("docs", "", 100).documents)
      EXPECT_TRUE(padded(d.json)) << "scan: " << d.id << " capacity " << d.json.capacity();
    if constexpr (change_cursor_store<typename TestFixture::backend>) {
      for (const auto& d : s.changes_since("docs", 0, 100).documents)
        EXPECT_TRUE(padded(d.json)) << "changes_since: " << d.id << " capacity " << d.json.capacity();
    }
  }
}

// ---- moving write

TYPED_TEST_P(MovingWriteConformance, WritesWhatItMovesLikeTheSpanOverload) {
  TRIBUTARY_WHEN_MODELS(moving_write_store) {
    auto& s = *this->store_;
    s.create_index("docs");
    const std::string big = "{\"t\":\"" + std::string(4096, 'y') + "\"}";
    std::vector<stored_document> batch{{"a", big}, {"", "{}"}, {"b", R"({"v":1})"}, {"a", R"({"v":2})"}};
    const auto result = s.bulk_write("docs", std::move(batch));
    EXPECT_EQ(result.written, 3u);
    ASSERT_EQ(result.failures.size(), 1u);
    EXPECT_EQ(result.failures[0].position, 1u);
    EXPECT_EQ(this->everything(s, "docs"), (std::vector<stored_document>{{"a", R"({"v":2})"}, {"b", R"({"v":1})"}}));
    std::vector<stored_document> one{{"c", big}};
    ASSERT_TRUE(s.bulk_write("docs", std::move(one)).ok());
    EXPECT_EQ(s.get("docs", names({"c"}))[0], std::optional<std::string>(big));
    EXPECT_EQ(error_of([&] { (void)s.bulk_write("missing", std::vector<stored_document>{{"a", "{}"}}); }), errc::not_found);
  }
}

// ---- rewrite

TYPED_TEST_P(RewriteConformance, HandsOutEachCurrentTextAndStoresWhatItIsGiven) {
  TRIBUTARY_WHEN_MODELS(rewrite_store) {
    auto& s = *this->store_;
    s.create_index("docs");
    const std::string big = "{\"t\":\"" + std::string(4096, 'y') + "\"}";
    ASSERT_TRUE(this->write(s, "docs", {{"a", big}, {"c", R"({"v":"c"})"}}).ok());
    std::vector<std::string> seen;       // what next was shown, "-" for no document
    std::vector<std::string> replacements{R"({"v":"a2"})", R"({"v":"b1"})"};
    const auto ids = names({"a", "b", "", "c"});
    const auto result = s.rewrite("docs", ids, [&](std::size_t i, const std::string* current) -> const std::string* {
      seen.push_back(current ? *current : "-");
      return i < replacements.size() ? &replacements[i] : nullptr;  // c is left as it is
    });
    EXPECT_EQ(result.written, 2u);
    ASSERT_EQ(result.failures.size(), 1u) << "the empty id";
    EXPECT_EQ(result.failures[0].position, 2u);
    EXPECT_EQ(seen, (std::vector<std::string>{big, "-", R"({"v":"c"})"})) << "next is not called for the empty id";
    EXPECT_EQ(replacements[0], R"({"v":"a2"})") << "the text is copied in: the caller keeps its string";
    EXPECT_EQ(this->everything(s, "docs"),
              (std::vector<stored_document>{{"a", R"({"v":"a2"})"}, {"b", R"({"v":"b1"})"}, {"c", R"({"v":"c"})"}}));
    EXPECT_EQ(error_of([&] { (void)s.rewrite("missing", ids, [](std::size_t, const std::string*) -> const std::string* { return nullptr; }); }),
              errc::not_found);
  }
}

TYPED_TEST_P(RewriteConformance, ARewriteIsAChangeAndWhatWasRewrittenBeforeAThrowStays) {
  TRIBUTARY_WHEN_MODELS(rewrite_store) {
    auto& s = *this->store_;
    s.create_index("docs");
    ASSERT_TRUE(this->write(s, "docs", {{"a", "{}"}, {"b", "{}"}, {"c", "{}"}}).ok());
    constexpr bool has_cursor = change_cursor_store<typename TestFixture::backend>;
    std::uint64_t seen = 0;
    if constexpr (has_cursor) seen = s.changes_since("docs", 0, 100).next;
    std::string next_text = R"({"v":1})";
    EXPECT_THROW((void)s.rewrite("docs", names({"a", "c", "b"}),
                                 [&](std::size_t i, const std::string*) -> const std::string* {
                                   if (i == 2) throw std::runtime_error("the caller failed");
                                   next_text = R"({"v":)" + std::to_string(i) + "}";
                                   return &next_text;
                                 }),
                 std::runtime_error);
    EXPECT_EQ(this->everything(s, "docs"),
              (std::vector<stored_document>{{"a", R"({"v":0})"}, {"b", "{}"}, {"c", R"({"v":1})"}}));
    if constexpr (has_cursor) {
      EXPECT_EQ(ids_of(s.changes_since("docs", seen, 100).documents), names({"a", "c"}))
          << "each rewrite is a change, in order";
    }
    // The store is usable after the throw: its lock was released.
    EXPECT_TRUE(this->write(s, "docs", {{"d", "{}"}}).ok());
  }
}

REGISTER_TYPED_TEST_SUITE_P(ExistsManyConformance, SaysWhichIdsArePresentInTheOrderAsked, AgreesWithGetForManyIds,
                            AMissingIndexOrAnAliasIsNotFound);
REGISTER_TYPED_TEST_SUITE_P(InsertIfAbsentConformance, InsertsOnlyAbsentIdsAndNeverOverwrites,
                            OfConcurrentInsertsOfOneIdExactlyOneInserts, AMissingIndexOrAnAliasIsNotFound);
REGISTER_TYPED_TEST_SUITE_P(DocumentDeleteConformance, DeletesByIdAndSaysWhichWerePresent,
                            AMissingIndexOrAnAliasIsNotFound);
REGISTER_TYPED_TEST_SUITE_P(ChangeCursorConformance, PagesEveryWriteOnceInWriteOrder,
                            AnUpdatedDocumentComesAgainAtItsLatestWrite,
                            AFeedAfterManyRewritesAndDeletionsHoldsEachDocumentOnceAtItsLatestWrite,
                            EveryWriteOperationIsAChangeAndDeletionsLeaveTheFeed,
                            AReaderFollowingConcurrentWritersMissesNothingAndSeesNothingTwice,
                            AMissingIndexOrAnAliasIsNotFound);
REGISTER_TYPED_TEST_SUITE_P(PaddedTextConformance, EveryTextHandedOutHasRoomForAParsersPadding);
REGISTER_TYPED_TEST_SUITE_P(MovingWriteConformance, WritesWhatItMovesLikeTheSpanOverload);
REGISTER_TYPED_TEST_SUITE_P(RewriteConformance, HandsOutEachCurrentTextAndStoresWhatItIsGiven,
                            ARewriteIsAChangeAndWhatWasRewrittenBeforeAThrowStays);

/// The whole suite for the factories of a ::testing::Types<...> (and an optional name generator): the
/// core (IndexConformance) and every capability, each test skipped where the backend does not model it.
#define TRIBUTARY_STORE_CONFORMANCE(Prefix, ...)                                             \
  INSTANTIATE_TYPED_TEST_SUITE_P(Prefix, IndexConformance, __VA_ARGS__);           \
  INSTANTIATE_TYPED_TEST_SUITE_P(Prefix, ExistsManyConformance, __VA_ARGS__);      \
  INSTANTIATE_TYPED_TEST_SUITE_P(Prefix, InsertIfAbsentConformance, __VA_ARGS__);  \
  INSTANTIATE_TYPED_TEST_SUITE_P(Prefix, DocumentDeleteConformance, __VA_ARGS__);  \
  INSTANTIATE_TYPED_TEST_SUITE_P(Prefix, ChangeCursorConformance, __VA_ARGS__);    \
  INSTANTIATE_TYPED_TEST_SUITE_P(Prefix, PaddedTextConformance, __VA_ARGS__);      \
  INSTANTIATE_TYPED_TEST_SUITE_P(Prefix, MovingWriteConformance, __VA_ARGS__);      \
  INSTANTIATE_TYPED_TEST_SUITE_P(Prefix, RewriteConformance, __VA_ARGS__)


}  // namespace tributary::testing
