// The copy-saving paths of parse, merge and write: json_string shares its escaped text, a parsed
// document's openApiString is a slice of the document that outlives the parser's next document and the
// caller's text, document_parser::parse_owned takes the text over, the merge strategies' rvalue
// overloads and peer_page_merger's rvalue locals give exactly what the copying paths give, and
// memory_index moves documents in and hands them out (get and scan) with room for the parser's padding,
// and peer_page_merger takes a scanned page over instead of copying it.

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <tributary/all.hpp>

#include "support/catalogue.hpp"
#include "support/common.hpp"

namespace tributary {
namespace {

std::string document_with_spec(std::string_view id, std::string_view spec_escaped) {
  return R"({"id":")" + std::string(id) +
         R"(","environments":[{"environment":"staging","owner":"o","access":["xroad"],"details":[{"version":"v1",)"
         R"("title":"t","openApiString":")" +
         std::string(spec_escaped) + R"(","xroadIdentifier":{"instance":"EE","serviceCode":"s-v1"}}]}]})";
}

/// JSON escaping spelled out a character at a time: the reference for the block-at-a-time one.
std::string plain_escape(std::string_view s) {
  std::string out;
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"') out += "\\\"";
    else if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else if (c == '\t') out += "\\t";
    else if (c == '\b') out += "\\b";
    else if (c == '\f') out += "\\f";
    else if (c < 0x20) {
      static constexpr char hex[] = "0123456789abcdef";
      out += "\\u00";
      out += hex[c >> 4];
      out += hex[c & 0xF];
    } else out += ch;
  }
  return out;
}

TEST(JsonText, EscapingAgreesWithAPlainOneForEveryByteAtEveryPosition) {
  // Lengths across the 16- and 8-byte blocks and their tails; every byte value at every position,
  // with and without a second escape after it.
  for (std::size_t length : {1u, 7u, 8u, 9u, 15u, 16u, 17u, 31u, 33u, 40u}) {
    for (std::size_t at = 0; at < length; ++at) {
      for (int byte = 0; byte < 256; ++byte) {
        std::string text(length, 'a');
        text[at] = static_cast<char>(byte);
        std::string out;
        detail::append_escaped(out, text);
        ASSERT_EQ(out, plain_escape(text)) << "length " << length << ", byte " << byte << " at " << at;
        const bool needs = byte < 0x20 || byte == '"' || byte == '\\';
        ASSERT_EQ(detail::find_escape(text, 0), needs ? at : length) << "length " << length << ", byte " << byte << " at " << at;
        if (at + 1 < length) {
          text[length - 1] = '"';
          out.clear();
          detail::append_escaped(out, text);
          ASSERT_EQ(out, plain_escape(text)) << "length " << length << ", byte " << byte << " at " << at << " and a quote last";
        }
      }
    }
  }
  std::string out = "kept:";
  detail::append_escaped(out, "");
  EXPECT_EQ(out, "kept:");
  EXPECT_EQ(detail::find_escape("abc\"def", 4), 7u) << "from a position past the first escape";
}

TEST(JsonString, CopiesShareTheTextAndAMovedFromStringIsEmpty) {
  const auto a = json_string::from_text("line \"one\"\nline two");
  EXPECT_EQ(a.escaped(), R"(line \"one\"\nline two)");
  const json_string b = a;  // NOLINT(performance-unnecessary-copy-initialization): the copy is the point
  EXPECT_EQ(b.escaped().data(), a.escaped().data()) << "a copy shares the escaped text";
  EXPECT_EQ(b, a);
  json_string c = b;
  json_string d = std::move(c);
  EXPECT_TRUE(c.empty());  // NOLINT(bugprone-use-after-move): moved-from state is specified
  EXPECT_EQ(c.escaped(), "");
  EXPECT_EQ(d.text(), "line \"one\"\nline two");
  d = json_string::from_escaped("x");
  EXPECT_EQ(b.text(), "line \"one\"\nline two") << "reassigning a copy leaves the others alone";
  EXPECT_TRUE(json_string::from_escaped("").empty());
  EXPECT_TRUE(json_string::from_text("").empty());
}

TEST(JsonString, AParsedSpecOutlivesTheParsersNextDocumentAndTheCallersText) {
  document_parser parser;
  std::optional<service> first;
  {
    std::string json = document_with_spec("a", R"(first \"spec\"\n\u00e9)");
    first = parser.parse(json);
    json.assign(json.size(), 'x');  // the caller's text is overwritten, then destroyed
  }
  // The same parser, reused: its buffer must not be the one `first` still points into.
  const service second = parser.parse(document_with_spec("b", "second spec"));
  EXPECT_EQ(first->environments.at(0).details.at(0).openapi.escaped(), R"(first \"spec\"\n\u00e9)");
  EXPECT_EQ(first->environments.at(0).details.at(0).openapi.text(), "first \"spec\"\né");
  EXPECT_EQ(second.environments.at(0).details.at(0).openapi.text(), "second spec");

  // Parsing into the same service again releases the old document and keeps the new one whole.
  service reused = second;
  parser.parse(document_with_spec("c", "third"), reused);
  EXPECT_EQ(reused.id, "c");
  EXPECT_EQ(reused.environments.at(0).details.at(0).openapi.text(), "third");
  EXPECT_EQ(second.environments.at(0).details.at(0).openapi.text(), "second spec");
}

TEST(DocumentParser, ParseOwnedGivesWhatParseGivesWithOrWithoutSpareCapacity) {
  // A spec long enough to be kept as a slice of the document (see ShortSpecsAreCopied for short ones).
  service s = testing::make_service("dev", "1", "s", "owned");
  s.environments.at(0).details.at(0).openapi =
      json_string::from_text("openapi: 3.0.0\n" + std::string(document_parser::shared_slice_min, 'y'));
  const std::string json = to_json(s);
  document_parser parser;
  const service copied = parser.parse(json);

  std::string exact = json;
  exact.shrink_to_fit();
  service from_exact;
  parser.parse_owned(std::move(exact), from_exact);
  EXPECT_EQ(from_exact, copied);

  std::string roomy;
  roomy.reserve(json.size() + detail::parse_padding);
  roomy.assign(json);
  const char* const storage = roomy.data();
  service from_roomy;
  parser.parse_owned(std::move(roomy), from_roomy);
  EXPECT_EQ(from_roomy, copied);
  const auto& spec = from_roomy.environments.at(0).details.at(0).openapi.escaped();
  EXPECT_GE(spec.data(), storage) << "the spec is a slice of the text handed over, not a copy";
  EXPECT_LT(spec.data(), storage + json.size());
  EXPECT_EQ(to_json(from_roomy), json);
}

TEST(DocumentParser, ShortSpecsAreCopiedAndKeepNoDocumentAlive) {
  document_parser parser;
  const std::string long_spec(document_parser::shared_slice_min, 'L');
  std::string text = document_with_spec("short", R"(a \"short\" spec)");
  text.reserve(text.size() + detail::parse_padding);
  const char* const storage = text.data();
  const std::size_t size = text.size();
  service parsed;
  parser.parse_owned(std::move(text), parsed);
  const json_string& spec = parsed.environments.at(0).details.at(0).openapi;
  EXPECT_EQ(spec.escaped(), R"(a \"short\" spec)");
  EXPECT_FALSE(spec.shared()) << "a short spec is held by value";
  EXPECT_FALSE(spec.escaped().data() >= storage && spec.escaped().data() < storage + size)
      << "a short spec is a copy, not a slice of the document";

  // Copies and moves of a held-by-value spec (short enough to live inside the string object too) view
  // their own characters, never the source's.
  service copied = parsed;
  service moved = std::move(copied);
  service assigned;
  assigned = moved;
  parsed.environments.at(0).details.at(0).openapi.assign_copy("overwritten");
  EXPECT_EQ(moved.environments.at(0).details.at(0).openapi.text(), "a \"short\" spec");
  EXPECT_EQ(assigned.environments.at(0).details.at(0).openapi.text(), "a \"short\" spec");
  json_string tiny;
  tiny.assign_copy("t");
  json_string target;
  target.assign_copy("a longer text than any inline buffer holds, to be given back");
  target = std::move(tiny);
  EXPECT_EQ(target.escaped(), "t");
  EXPECT_TRUE(tiny.empty());  // NOLINT(bugprone-use-after-move): moved-from state is specified
  EXPECT_EQ(tiny.escaped(), "");

  // The long spec of a later document is a slice again, and parsing it into the same service drops
  // nothing the earlier copies hold.
  parser.parse(document_with_spec("long", long_spec), parsed);
  EXPECT_TRUE(parsed.environments.at(0).details.at(0).openapi.shared());
  EXPECT_EQ(parsed.environments.at(0).details.at(0).openapi.escaped(), long_spec);
  EXPECT_EQ(to_json(moved), to_json(parser.parse(document_with_spec("short", R"(a \"short\" spec)"))));
}

TEST(DocumentParser, ParseOwnedRejectsAMalformedDocumentAndStaysUsable) {
  document_parser parser;
  service out;
  try {
    parser.parse_owned(std::string(R"({"id": "a", "environments": [)"), out);
    FAIL() << "a truncated document was accepted";
  } catch (const error& e) {
    EXPECT_EQ(e.code(), errc::bad_document);
    EXPECT_NE(std::string(e.what()).find("malformed catalogue document"), std::string::npos) << e.what();
  }
  parser.parse_owned(document_with_spec("fine", "ok"), out);
  EXPECT_EQ(out.id, "fine");
}

template <class Strategy>
class RvalueMerge : public ::testing::Test {};
using strategies = ::testing::Types<environment_union, prefer_local>;
TYPED_TEST_SUITE(RvalueMerge, strategies);

TYPED_TEST(RvalueMerge, MovingTheEntryGivesWhatCopyingGives) {
  TypeParam strategy{};
  if constexpr (local_environment_merge_strategy<TypeParam>) strategy.local_environment = "dev";
  const service local = testing::make_service("dev", "1", "s", "moved");
  const service remote = testing::make_service("staging", "1", "s", "moved");
  const environment_entry& entry = remote.environments.at(0);

  service by_copy = local, by_move = local;
  strategy.merge(by_copy, entry);
  environment_entry moving = entry;
  strategy.merge(by_move, std::move(moving));
  EXPECT_EQ(by_move, by_copy);
  ASSERT_NE(by_move.entry("staging"), nullptr);
  EXPECT_EQ(*by_move.entry("staging"), entry);

  const auto adopted_by_copy = strategy.adopt(remote, entry);
  environment_entry adopting = entry;
  const auto adopted_by_move = strategy.adopt(remote, std::move(adopting));
  ASSERT_TRUE(adopted_by_copy && adopted_by_move);
  EXPECT_EQ(*adopted_by_move, *adopted_by_copy);
  EXPECT_EQ(adopted_by_move->id, remote.id);
}

TYPED_TEST(RvalueMerge, AdoptingIntoAUsedDocumentGivesWhatAdoptGives) {
  TypeParam strategy{};
  if constexpr (local_environment_merge_strategy<TypeParam>) strategy.local_environment = "dev";
  const service remote = testing::make_service("staging", "1", "s", "adopted");
  const auto expected = strategy.adopt(remote, remote.environments.at(0));
  ASSERT_TRUE(expected);
  // A document that held something else: more entries, other derived fields, another id.
  service used = testing::make_service("prod", "1", "s", "previous");
  strategy.merge(used, testing::make_service("dev", "1", "s", "previous").environments.at(0));
  ASSERT_EQ(used.environments.size(), 2u);
  environment_entry entry = remote.environments.at(0);
  EXPECT_TRUE(strategy.adopt_into(used, remote, std::move(entry)));
  EXPECT_EQ(used, *expected);
}

/// environment_union without adopt_into: peer_page_merger falls back to adopt.
struct adopt_only {
  using merge_strategy_concept = merge_strategy_tag;
  using record_model = service_record;
  environment_union inner;
  void merge(service& local, const environment_entry& remote) const { inner.merge(local, remote); }
  [[nodiscard]] std::optional<service> adopt(const service& doc, const environment_entry& remote) const {
    return inner.adopt(doc, remote);
  }
};

TEST(PeerPageMerger, AStrategyWithoutAdoptIntoGivesTheSameWrites) {
  std::vector<stored_document> page;
  std::vector<std::optional<std::string>> locals;
  for (const char* code : {"alpha", "beta", "gamma", "delta"}) {
    const service peer = testing::make_service("staging", "1", "s", code);
    page.push_back({peer.id, to_json(peer)});
    if (std::string_view(code) == "beta") locals.emplace_back(to_json(testing::make_service("dev", "1", "s", code)));
    else locals.emplace_back();
  }
  const environment_union with_adopt_into;
  const adopt_only without;
  peer_page_merger<environment_union> a(with_adopt_into, "staging", false);
  peer_page_merger<adopt_only> b(without, "staging", false);
  for (int round = 0; round < 2; ++round) {  // the second round adopts into the document the first left
    ASSERT_EQ(a.take(page), b.take(page));
    const std::vector<stored_document> from_a = a.merge(std::span<const std::optional<std::string>>(locals));
    const std::vector<stored_document> from_b = b.merge(std::span<const std::optional<std::string>>(locals));
    EXPECT_EQ(from_a, from_b);
    EXPECT_EQ(from_a.size(), 4u);
  }
  EXPECT_EQ(a.totals().added, 6u);
  EXPECT_EQ(b.totals().added, 6u);
}

TEST(PeerPageMerger, MovedLocalsGiveTheSameWritesAsCopiedLocals) {
  // Peer documents: two the local side has too, one it lacks; each peer document carries a prod entry
  // that is not the peer's to give.
  std::vector<stored_document> page;
  std::vector<std::optional<std::string>> locals;
  for (const char* code : {"alpha", "beta", "gamma"}) {
    service peer = testing::make_service("staging", "1", "s", code);
    peer.environments.push_back(testing::make_service("prod", "1", "s", code).environments.at(0));
    normalize(peer, environment_order{});
    page.push_back({peer.id, to_json(peer)});
    if (std::string_view(code) != "gamma") locals.emplace_back(to_json(testing::make_service("dev", "1", "s", code)));
    else locals.emplace_back();
  }
  const environment_union merge;
  peer_page_merger<environment_union> copying(merge, "staging", false), moving(merge, "staging", false);
  ASSERT_EQ(copying.take(page).size(), 3u);
  ASSERT_EQ(moving.take(page).size(), 3u);
  const std::vector<stored_document> copied = copying.merge(std::span<const std::optional<std::string>>(locals));
  auto moved_locals = locals;
  const std::vector<stored_document> moved = moving.merge(std::move(moved_locals));
  EXPECT_EQ(moved, copied);
  ASSERT_EQ(moved.size(), 3u);
  EXPECT_EQ(moving.totals().merged, 2u);
  EXPECT_EQ(moving.totals().added, 1u);
  document_parser parser;
  for (const auto& w : moved) {
    const service s = parser.parse(w.json);
    EXPECT_NE(s.entry("staging"), nullptr) << w.id;
    EXPECT_EQ(s.entry("prod"), nullptr) << w.id;
  }
  // A wrong number of locals is refused on the moving path too.
  (void)moving.take(page);
  std::vector<std::optional<std::string>> short_locals(2);
  EXPECT_THROW((void)moving.merge(std::move(short_locals)), error);
}

TEST(PeerPageMerger, ATakenOverPageGivesWhatACopiedPageGives) {
  // A page as a store's scan hands it out (room for the parser's padding); one document with a spec
  // long enough to be kept as a slice of its text, one with a short spec, one the peer has no entry in.
  const std::string spec(3000, 'y');
  std::vector<stored_document> page{{"a", detail::padded_text(document_with_spec("a", spec))},
                                    {"b", detail::padded_text(document_with_spec("b", "short"))}};
  service other = testing::make_service("prod", "1", "s", "c");
  page.push_back({other.id, detail::padded_text(to_json(other))});
  const char* const a_text = page[0].json.data();

  const environment_union merge;
  peer_page_merger<environment_union> copying(merge, "staging", false), taking(merge, "staging", false);
  const std::vector<std::string> copied_ids = copying.take(page);
  auto handed_over = page;
  const std::vector<std::string> taken_ids = taking.take(std::move(handed_over));
  EXPECT_EQ(taken_ids, copied_ids);
  EXPECT_EQ(taken_ids, (std::vector<std::string>{"a", "b"}));
  for (const auto& d : handed_over) EXPECT_TRUE(d.json.empty()) << "the page's text was taken over: " << d.id;
  EXPECT_EQ(page[0].json.data(), a_text) << "a copied page is left as it was";

  const std::vector<std::optional<std::string>> locals{std::nullopt, to_json(testing::make_service("dev", "1", "s", "b"))};
  const std::vector<stored_document> from_copy = copying.merge(std::span<const std::optional<std::string>>(locals));
  const std::vector<stored_document> from_taken = taking.merge(std::span<const std::optional<std::string>>(locals));
  EXPECT_EQ(from_taken, from_copy);
  ASSERT_EQ(from_taken.size(), 2u);
  EXPECT_NE(from_taken[0].json.find(spec), std::string::npos) << "the long spec is written whole";

  // A page without spare capacity is taken over too (the parser makes its own room).
  std::vector<stored_document> tight{{"a", document_with_spec("a", spec)}};
  tight[0].json.shrink_to_fit();
  EXPECT_EQ(taking.take(std::move(tight)), (std::vector<std::string>{"a"}));
  // A malformed document in a taken-over page is refused like in a copied one.
  std::vector<stored_document> bad{{"x", detail::padded_text(R"({"id":"x","environments":[)")}};
  EXPECT_EQ(testing::thrown_by([&] { (void)taking.take(std::move(bad)); }).code(), errc::bad_document);
}

TEST(PeerPageMerger, APageTakenOverInPartsGivesWhatItGivesWhole) {
  // Six peer documents: two with a local document, one the peer has no entry in.
  std::vector<stored_document> page;
  std::map<std::string, std::string> locals;
  for (const char* code : {"a", "b", "c", "d", "e", "f"}) {
    const service peer = testing::make_service(std::string_view(code) == "d" ? "prod" : "staging", "1", "s", code);
    page.push_back({peer.id, detail::padded_text(to_json(peer))});
    if (std::string_view(code) == "a" || std::string_view(code) == "c")
      locals[peer.id] = to_json(testing::make_service("dev", "1", "s", code));
  }
  const auto local_of = [&](const std::string& id) {
    const auto it = locals.find(id);
    return it == locals.end() ? std::optional<std::string>() : std::optional<std::string>(it->second);
  };
  const environment_union merge;
  peer_page_merger<environment_union> whole(merge, "staging", false), parts(merge, "staging", false);
  auto whole_page = page;
  const auto whole_ids = whole.take(std::move(whole_page));
  std::vector<std::optional<std::string>> whole_locals;
  for (const auto& id : whole_ids) whole_locals.push_back(local_of(id));
  const std::vector<stored_document> expected = whole.merge(std::move(whole_locals));
  ASSERT_EQ(expected.size(), 5u);

  std::vector<stored_document> written;
  std::span<stored_document> rest(page);
  for (const std::size_t n : {2u, 1u, 3u}) {
    const auto part = rest.first(n);
    rest = rest.subspan(n);
    std::vector<std::optional<std::string>> part_locals;
    for (const auto& id : parts.take_over(part)) part_locals.push_back(local_of(id));
    for (auto& w : parts.merge(std::move(part_locals))) written.push_back(std::move(w));
    for (const auto& d : part) EXPECT_TRUE(d.json.empty()) << "the part's text was taken over: " << d.id;
  }
  EXPECT_EQ(written, expected);
  EXPECT_EQ(parts.totals().read, 6u);
  EXPECT_EQ(parts.totals().merged, 2u);
  EXPECT_EQ(parts.totals().merged, whole.totals().merged);
  EXPECT_EQ(parts.totals().added, whole.totals().added);
}

TEST(MemoryIndex, ScanHandsOutTextWithRoomForTheParsersPadding) {
  memory_index store;
  store.create_index("docs");
  ASSERT_TRUE(store.bulk_write("docs", std::vector<stored_document>{{"a", R"({"n":1})"}, {"b", std::string(5000, ' ') + "{}"}}).ok());
  const auto page = store.scan("docs", "", 10);
  ASSERT_EQ(page.documents.size(), 2u);
  for (const auto& d : page.documents) EXPECT_GE(d.json.capacity(), d.json.size() + detail::parse_padding) << d.id;
  EXPECT_EQ(page.documents[1].json, std::string(5000, ' ') + "{}");
}

TEST(MemoryIndex, BulkWriteOfAnRvalueBatchMovesTheTextAndReportsPerItem) {
  memory_index store;
  store.create_index("docs");
  std::vector<stored_document> batch{{"a", R"({"n":1})"}, {"", "{}"}, {"b", std::string(4000, ' ') + "{}"}};
  const char* const b_text = batch[2].json.data();
  const auto result = store.bulk_write("docs", std::move(batch));
  EXPECT_EQ(result.written, 2u);
  ASSERT_EQ(result.failures.size(), 1u);
  EXPECT_EQ(result.failures[0].position, 1u);

  const std::vector<std::string> ids{"b", "missing", "a"};
  const auto got = store.get("docs", ids);
  ASSERT_EQ(got.size(), 3u);
  ASSERT_TRUE(got[0] && got[2]);
  EXPECT_FALSE(got[1]);
  EXPECT_EQ(*got[2], R"({"n":1})");
  EXPECT_EQ(*got[0], std::string(4000, ' ') + "{}");
  EXPECT_NE(got[0]->data(), b_text) << "get hands out a copy, never the stored text";
  EXPECT_GE(got[0]->capacity(), got[0]->size() + detail::parse_padding) << "room for the parser's padding";

  // An lvalue batch is copied: the caller's documents are left as they were.
  const std::vector<stored_document> kept{{"a", R"({"n":2})"}};
  EXPECT_TRUE(store.bulk_write("docs", kept).ok());
  EXPECT_EQ(kept[0].json, R"({"n":2})");
  EXPECT_EQ(*store.get("docs", std::vector<std::string>{"a"})[0], R"({"n":2})");
  EXPECT_EQ(testing::thrown_by([&] { (void)store.bulk_write("absent", std::vector<stored_document>{{"x", "{}"}}); }).code(),
            errc::not_found);
}

}  // namespace
}  // namespace tributary
