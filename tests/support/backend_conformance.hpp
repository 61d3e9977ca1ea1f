#pragma once
// The conformance suite every index backend passes: the semantics of memory_index, written once.
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
//   INSTANTIATE_TYPED_TEST_SUITE_P(My, IndexConformance, ::testing::Types<my_factory>);
//   }

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <tributary/concepts.hpp>
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

template <class Factory>
class IndexConformance : public ::testing::Test {
 protected:
  using backend = typename Factory::backend;
  static_assert(index_backend<backend>, "the factory's backend must model tributary::index_backend");

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

}  // namespace tributary::testing
