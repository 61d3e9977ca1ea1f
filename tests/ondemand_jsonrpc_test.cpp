// The JSON-RPC parsers of both sides against seeded mutations of valid texts (byte flips, truncations,
// insertions of JSON punctuation): the service side answers every text with valid JSON-RPC 2.0 (a
// result or an error object, never an exception, never a call run from an invalid request); the client
// side reads every mutated answer into an answer or a tributary::error, never anything else. Until the
// fuzz targets take these parsers (fuzz/ is shared), this runs them on every build.

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <simdjson.h>

#include <tributary/execution/inline_executor.hpp>
#include <tributary/index/memory.hpp>
#include <tributary/ondemand/jsonrpc.hpp>
#include <tributary/ondemand/service.hpp>

#include "support/common.hpp"

namespace tributary {
namespace {

struct one_entity {
  using datasource_concept = datasource_tag;
  [[nodiscard]] std::string name() const { return "nova"; }
  std::vector<entity_event> get_all(event_action a) {
    entity_event e;
    e.datasource = "nova";
    e.entity_type = "instance";
    e.entity_id = "i-1";
    e.action = a;
    e.payload = R"({"name":"vm \"1\"","tags":["a"],"n":-1.5e3})";
    return {e};
  }
  std::vector<entity_event> get_changes() { return {}; }
};

std::string mutate(std::string s, std::mt19937_64& rng) {
  static constexpr char punctuation[] = "{}[]\":,\\ 0-e.tnfu";
  const int edits = 1 + static_cast<int>(rng() % 4);
  for (int k = 0; k < edits && !s.empty(); ++k) {
    const std::size_t at = rng() % s.size();
    switch (rng() % 4) {
      case 0: s[at] = static_cast<char>(rng() % 256); break;
      case 1: s.resize(at); break;
      case 2: s.insert(at, 1, punctuation[rng() % (sizeof punctuation - 1)]); break;
      default: s.erase(at, 1 + rng() % 8); break;
    }
  }
  return s;
}

/// A valid JSON-RPC 2.0 answer: an object with "jsonrpc":"2.0" and exactly one of result and error,
/// or an array of them.
void expect_valid_answer(const std::string& text, const std::string& request) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  ASSERT_FALSE(parser.parse(simdjson::padded_string(text)).get(root)) << request << " -> " << text;
  auto check = [&](simdjson::dom::element one) {
    std::string_view version;
    ASSERT_FALSE(one["jsonrpc"].get(version)) << text;
    EXPECT_EQ(version, "2.0");
    const bool result = one["result"].error() != simdjson::NO_SUCH_FIELD;
    const bool error = one["error"].error() != simdjson::NO_SUCH_FIELD;
    EXPECT_NE(result, error) << text;
    if (error) {
      std::int64_t code = 0;
      std::string_view message;
      EXPECT_FALSE(one["error"]["code"].get(code)) << text;
      EXPECT_FALSE(one["error"]["message"].get(message)) << text;
      EXPECT_FALSE(message.empty()) << text;
    }
  };
  simdjson::dom::array batch;
  if (!root.get(batch)) {
    for (auto one : batch) check(one);
  } else {
    check(root);
  }
}

TEST(JsonRpcRobustness, EveryMutatedRequestIsAnsweredWithValidJsonRpc) {
  memory_index store;
  basic_event_persistor<memory_index> persistor(store);
  inline_executor exec;
  basic_datasource_service<inline_executor, memory_index> service(exec, persistor, {.max_request_bytes = 2048});
  service.add(any_datasource(one_entity{}));
  const std::vector<std::string> corpus = {
    R"({"jsonrpc":"2.0","id":1,"method":"get_all","params":{"datasource_names":["nova"],"action":"init_snapshot","retry_on_fault":true}})",
    R"({"jsonrpc":"2.0","id":"x","method":"get_changes","params":{"datasource_names":[]}})",
    R"([{"jsonrpc":"2.0","id":1,"method":"get_all","params":[["nova"],"snapshot",false]},{"jsonrpc":"2.0","id":null,"method":"get_changes","params":[[]]}])",
  };
  std::size_t answered = 0, results = 0;
  for (std::uint64_t seed = 1; seed <= 3000; ++seed) {
    std::mt19937_64 rng(seed);
    const std::string request = mutate(corpus[seed % corpus.size()], rng);
    std::optional<std::string> answer;
    ASSERT_NO_THROW(answer = service.answer(request)) << "TRIBUTARY_SEED=" << seed << ": " << request;
    if (!answer) continue;  // notifications only
    ++answered;
    results += tributary::testing::contains(*answer, "\"result\"");
    expect_valid_answer(*answer, request);
    if (::testing::Test::HasFailure()) FAIL() << "TRIBUTARY_SEED=" << seed;
  }
  EXPECT_GT(answered, 2000u);
  EXPECT_GT(results, 0u);  // some mutations stay valid requests (a changed id, say)
}

TEST(JsonRpcRobustness, MutatedAnswersAreReadOrRefusedAsTributaryErrors) {
  ondemand_answer a;
  a.events.push_back(one_entity{}.get_all(event_action::snapshot)[0]);
  a.outcomes.push_back({"nova", outcome_status::ok, "", 1});
  a.outcomes.push_back({"neutron", outcome_status::failed, "refused \"x\"", 0});
  a.persisted = persisted_range{"collector_a", 42, 1};
  std::string result;
  append_answer_json(result, a);
  const std::string good = R"({"jsonrpc":"2.0","id":"7","result":)" + result + "}";
  EXPECT_EQ(parse_jsonrpc_answer(good, "7").outcomes, a.outcomes);
  EXPECT_EQ(parse_jsonrpc_answer(good, "7").persisted, a.persisted);
  // In place, as the HTTP client reads a body: with no room for simdjson's padding (made), and with it.
  jsonrpc_answer_reader reader;
  const ondemand_answer copied = parse_jsonrpc_answer(good, "7");
  for (const std::size_t room : {std::size_t{0}, std::size_t{64}}) {
    std::string body = good;
    body.shrink_to_fit();
    body.reserve(body.size() + room);
    const ondemand_answer b = reader.read_in_place(body, "7");
    EXPECT_EQ(b.events, copied.events);
    EXPECT_EQ(b.outcomes, a.outcomes);
    EXPECT_EQ(b.persisted, a.persisted);
    EXPECT_EQ(body, good);
  }
  std::string truncated = good.substr(0, good.size() / 2);
  EXPECT_THROW((void)reader.read_in_place(truncated, "7"), error);
  std::size_t read = 0, refused = 0;
  for (std::uint64_t seed = 1; seed <= 3000; ++seed) {
    std::mt19937_64 rng(seed);
    const std::string text = mutate(good, rng);
    try {
      (void)parse_jsonrpc_answer(text, "7");
      ++read;
    } catch (const error&) {
      ++refused;
    } catch (...) {
      FAIL() << "TRIBUTARY_SEED=" << seed << ": not a tributary::error for " << text;
    }
  }
  EXPECT_EQ(read + refused, 3000u);
  EXPECT_GT(refused, 0u);
}

// A client reads page after page of about one size: the reader's buffers (some thirteen bytes per byte
// of text) are allocated for the first with room to spare, not again at each new largest page.
TEST(JsonRpcAnswers, PagesOfAboutOneSizeAreReadWithTheBuffersOfTheFirst) {
  const std::string event = event_json(one_entity{}.get_all(event_action::snapshot)[0]);
  auto page = [&](std::size_t events) {
    std::string text = R"({"jsonrpc":"2.0","id":"7","result":{"events":[)";
    for (std::size_t i = 0; i < events; ++i) text += (i ? "," : "") + event;
    return text + R"(],"outcomes":[]}})";
  };
  jsonrpc_answer_reader reader;
  const std::string first = page(1000);
  EXPECT_EQ(reader.read(first, "7").events.size(), 1000u);
  const std::size_t capacity = reader.capacity();
  EXPECT_GE(capacity, first.size() + first.size() / 5) << "room to spare beyond the first page";
  for (std::size_t events = 1001; events <= 1200; events += 20) {  // each page the largest so far, by 2%
    std::string body = page(events);
    EXPECT_EQ(reader.read_in_place(body, "7").events.size(), events);
  }
  EXPECT_EQ(reader.capacity(), capacity) << "pages within a quarter of the first fit its buffers";
  std::string larger = page(2000);
  EXPECT_EQ(reader.read_in_place(larger, "7").events.size(), 2000u);
  EXPECT_GE(reader.capacity(), larger.size()) << "a page beyond the room grows the buffers";
}

// The persisted stamp tells a consumer which events a restart replays: a wrong one is refused, naming it.
TEST(JsonRpcAnswers, ABadPersistedStampIsRefusedNamingIt) {
  const std::string event = event_json(one_entity{}.get_all(event_action::snapshot)[0]);
  auto answer = [&](const std::string& persisted) {
    return R"({"jsonrpc":"2.0","id":"7","result":{"events":[)" + event + R"(],"outcomes":[],"persisted":)" + persisted + "}}";
  };
  EXPECT_EQ(parse_jsonrpc_answer(answer(R"({"instance":"c_1","first":9,"count":1})"), "7").persisted,
            (persisted_range{"c_1", 9, 1}));
  auto refused = [&](const std::string& persisted, const std::string& naming) {
    try {
      (void)parse_jsonrpc_answer(answer(persisted), "7");
      ADD_FAILURE() << "accepted " << persisted;
    } catch (const error& e) {
      EXPECT_TRUE(tributary::testing::contains(e.what(), naming)) << e.what();
    }
  };
  refused(R"({"instance":"c_1","first":9,"count":2})", "persisted.count");   // more than the events
  refused(R"({"instance":"c-1","first":9,"count":1})", "persisted.instance");  // would split an id wrongly
  refused(R"({"instance":"","first":9,"count":1})", "persisted.instance");
  refused(R"({"instance":"c_1","first":-1,"count":1})", "persisted.first");
  refused(R"({"instance":"c_1","first":18446744073709551615,"count":1})", "overflows");
}

}  // namespace
}  // namespace tributary
