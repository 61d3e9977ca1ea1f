// Copy-merge over documents read as text (text_record_model, text_merge_strategy) against the same
// merge over parsed documents: for every input, the same documents byte for byte, the same ids and
// counts, or the same error. The parsed path is the strategy itself with its text path hidden
// (parsed_only, in fuzz/targets/text_merge.hpp, whose fuzz target runs the same comparison on any
// pair of texts), so both run the code the collector runs.

#include <gtest/gtest.h>

#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <tributary/catalogue/merge/environment_union.hpp>
#include <tributary/catalogue/merge/prefer_local.hpp>
#include <tributary/catalogue/service_record.hpp>
#include <tributary/collector/peer_merge.hpp>

#include "../bench/catalogue_generator.hpp"
#include "../fuzz/targets/text_merge.hpp"

namespace tributary {
namespace {

using bench::generate_catalogue;
using bench::profile;

using fuzz::text_merge_detail::feed;
using fuzz::text_merge_detail::outcome;
using fuzz::text_merge_detail::parsed_only;
static_assert(text_merge_strategy<environment_union> && text_merge_strategy<prefer_local>);
static_assert(!text_merge_strategy<parsed_only<environment_union>>);

/// One page through take and merge (fuzz/targets/text_merge.hpp); `locals` by id, as a store's get gives them.
template <class Strategy>
outcome run(const Strategy& strategy, bool stale, const std::vector<stored_document>& page,
            const std::map<std::string, std::string>& locals, feed how, std::string_view environment = "staging") {
  const fuzz::text_merge_detail::local_lookup local_of = [&](const std::string& id) -> std::optional<std::string> {
    const auto it = locals.find(id);
    return it == locals.end() ? std::nullopt : std::optional<std::string>(it->second);
  };
  return fuzz::text_merge_detail::run(strategy, stale, page, local_of, how, environment);
}

std::map<std::string, std::string> by_id(const std::vector<stored_document>& docs) {
  std::map<std::string, std::string> out;
  for (const auto& d : docs) out.emplace(d.id, d.json);
  return out;
}

/// Runs the text and parsed paths over the same input in every mode and expects the same outcome.
/// Returns the text path's outcome for the last mode.
template <class Strategy>
outcome expect_same(const Strategy& strategy, const std::vector<stored_document>& page,
                    const std::map<std::string, std::string>& locals, const std::string& what,
                    std::string_view environment = "staging") {
  const parsed_only<Strategy> reference{strategy};
  outcome last;
  for (bool stale : {false, true}) {
    for (feed how : fuzz::text_merge_detail::every_feed) {
      const outcome text = run(strategy, stale, page, locals, how, environment);
      const outcome parsed = run(reference, stale, page, locals, how, environment);
      EXPECT_EQ(text.error, parsed.error) << what << (stale ? " (stale)" : "");
      EXPECT_EQ(text.read, parsed.read) << what;
      EXPECT_EQ(text.added, parsed.added) << what;
      EXPECT_EQ(text.merged, parsed.merged) << what;
      EXPECT_EQ(text.writes.size(), parsed.writes.size()) << what;
      for (std::size_t i = 0; i < std::min(text.writes.size(), parsed.writes.size()); ++i) {
        EXPECT_EQ(text.writes[i].id, parsed.writes[i].id) << what;
        EXPECT_EQ(text.writes[i].json, parsed.writes[i].json) << what << (stale ? " (stale)" : "");
      }
      last = text;
    }
  }
  return last;
}

prefer_local prefer(std::string local) {
  prefer_local p;
  p.local_environment = std::move(local);
  return p;
}

TEST(TextMerge, GeneratedCataloguesMergeByteForByteAsParsed) {
  for (profile p : {profile::compact, profile::realistic}) {
    const auto c = generate_catalogue(p, p == profile::compact ? 400 : 120);
    const auto locals = by_id(c.local);
    const std::string what(bench::profile_name(p));
    const auto o = expect_same(environment_union{}, c.peer, locals, what);
    EXPECT_TRUE(o.error.empty()) << o.error;
    EXPECT_GT(o.added, 0u);
    EXPECT_GT(o.merged, 0u);
    expect_same(prefer("dev"), c.peer, locals, what + ", prefer_local dev");
    expect_same(prefer("staging"), c.peer, locals, what + ", prefer_local staging");
    expect_same(prefer(""), c.peer, locals, what + ", prefer_local unset");
    expect_same(environment_union{environment_order({"dev", "staging"})}, c.peer, locals, what + ", dev first");
    // The realistic peer's documents also hold a prod entry: copying from prod takes that one.
    expect_same(environment_union{}, c.peer, locals, what + ", from prod", "prod");
    // Merging a catalogue into the output of a merge: local documents of two entries.
    expect_same(environment_union{}, c.peer, by_id(o.writes), what + ", into merged");
  }
}

TEST(TextMerge, GeneratedDocumentsAreReadAsText) {
  // The fast path applies to what our own writer writes: without it, the merge is only as fast as before.
  for (profile p : {profile::compact, profile::realistic}) {
    const auto c = generate_catalogue(p, 200);
    text_document d;
    for (const auto* side : {&c.peer, &c.local})
      for (const auto& doc : *side)
        EXPECT_TRUE(d.read(doc.json)) << doc.json.substr(0, 200);
  }
}

std::string replaced(std::string s, std::string_view from, std::string_view to) {
  const auto at = s.find(from);
  if (at != std::string::npos) s.replace(at, from.size(), to);
  return s;
}

TEST(TextMerge, DocumentsNotInCanonicalFormAreParsedAndMergeTheSame) {
  const auto c = generate_catalogue(profile::compact, 48);
  // A peer document that is merged with a local one, and has links and a public provider's access.
  const auto locals = by_id(c.local);
  std::size_t merged_at = 0;
  while (!(locals.contains(c.peer[merged_at].id) && c.peer[merged_at].json.find(R"("links")") != std::string::npos &&
           c.peer[merged_at].json.find("apigw") != std::string::npos))
    ++merged_at;
  const std::string doc = c.peer[merged_at].json;
  const std::string local = locals.at(c.peer[merged_at].id);
  const auto entry_access = [&](std::string_view access) {
    const auto from = doc.find(R"("access":[)", doc.find(R"({"environment")")) + 10;
    std::string out = doc;
    out.replace(from, doc.find(']', from) - from, access);
    return out;
  };
  const auto detail_title = [&](std::string_view prefix) {
    std::string out = doc;
    out.insert(doc.find(R"("title":")", doc.find(R"("details")")) + 9, prefix);
    return out;
  };
  text_document reader;
  const std::vector<std::pair<std::string, std::string>> variants = {
    {"whitespace", replaced(doc, R"("environments":[)", R"("environments": [)")},
    {"unknown field", replaced(doc, R"({"environment":"staging")", R"({"environment":"staging","x":1)")},
    {"escaped title", detail_title("\\u0041")},
    {"escaped quote in title", detail_title("\\\"")},
    {"escaped solidus in title", detail_title("\\/")},
    {"escaped id", replaced(doc, R"({"id":")", R"({"id":"\u0041)")},
    {"escaped quote in owner", replaced(doc, R"(,"owner":"Owner)", R"(,"owner":"\"Owner)")},
    {"unsorted access", entry_access(R"("xroad","apigw")")},
    {"duplicate access", entry_access(R"("apigw","xroad","xroad")")},
    {"escaped access", entry_access(R"("apigw","x\u0072oad")")},
    {"empty access", entry_access("")},
    {"unsorted pricing", replaced(doc, R"("pricing":["free"],"data")", R"("pricing":["paid","free"],"data")")},
    {"stale already", replaced(doc, R"(],"details")", R"(],"stale":true,"details")")},
    {"stale false", replaced(doc, R"(],"details")", R"(],"stale":false,"details")")},
    {"links not JSON", replaced(doc, R"("links":[{"name")", R"("links":[{name")")},
    {"links a number", replaced(doc, R"("links":[{"name":"docs","url":)", R"("links":1e999,"x":[{"url":)")},
    {"links with spaces", replaced(doc, R"("links":[{"name":"docs",)", R"("links":[ {"name" : "docs" , )")},
    {"links null", replaced(doc, R"("links":[{"name":"docs","url":)", R"("links":null,"l":[{"url":)")},
    {"two own entries", replaced(doc, R"("environments":[)",
                                 R"("environments":[{"environment":"staging","owner":"o","access":[],"details":[]},)")},
    {"prod entry", replaced(doc, R"("environments":[)",
                            R"("environments":[{"environment":"prod","owner":"p","access":["z"],"details":[]},)")},
    {"no entries", replaced(doc, doc.substr(doc.find(R"("environments":[)")), R"("environments":[]})")},
    {"control escape", replaced(doc, R"(,"summary":"Returns)", R"(,"summary":"\u001fReturns)")},
    {"short form as \\u", replaced(doc, R"(,"summary":"Returns)", R"(,"summary":"\u000aReturns)")},
    {"uppercase \\u", replaced(doc, R"(,"summary":"Returns)", R"(,"summary":"\u001FReturns)")},
    {"solidus escape in spec", replaced(doc, R"("openApiString":"openapi)", R"("openApiString":"\/openapi)")},
    {"trailing space", doc + " "},
  };
  for (const auto& [what, text] : variants) {
    ASSERT_NE(text, doc) << what << ": the variant did not apply";
    auto page = c.peer;
    page[merged_at].json = text;
    expect_same(environment_union{}, page, locals, "peer: " + what);
    expect_same(prefer("dev"), page, locals, "peer: " + what + ", prefer_local");
    // The same change on the local side.
    std::string local_variant = text;
    local_variant = replaced(local_variant, "staging", "dev");
    auto changed_locals = locals;
    changed_locals[c.peer[merged_at].id] = local_variant;
    expect_same(environment_union{}, c.peer, changed_locals, "local: " + what);
  }
  // A local document holding the same environment twice, or unsorted entries.
  auto twice = locals;
  twice[c.peer[merged_at].id] = replaced(local, R"("environments":[)",
                                         R"("environments":[{"environment":"dev","owner":"x","access":[],"details":[]},)");
  expect_same(environment_union{}, c.peer, twice, "local: dev twice");
  auto unsorted = locals;
  unsorted[c.peer[merged_at].id] = replaced(local, R"("environments":[)",
                                            R"("environments":[{"environment":"zeta","owner":"z","access":["q"],"details":[]},)");
  expect_same(environment_union{}, c.peer, unsorted, "local: an environment out of order");
  EXPECT_FALSE(reader.read(replaced(doc, R"("environments":[)", R"("environments": [)")));
}

TEST(TextMerge, SetsOfEverySizeAreUnitedSortedAndOnceAsParsed) {
  // The unions of a merge (type, pricing, data, access) are sorted and deduplicated across the
  // entries: sets of one string, of strings sharing their first bytes, and sets larger than the merge
  // keeps on the stack (32), overlapping between the local and the peer entry.
  const auto c = generate_catalogue(profile::compact, 48);
  const auto locals = by_id(c.local);
  std::size_t merged_at = 0;
  while (!locals.contains(c.peer[merged_at].id)) ++merged_at;
  const std::string& id = c.peer[merged_at].id;
  // Every detail's data set replaced by `values` (written sorted and unique, as the writer does).
  const auto with_data = [](std::string doc, const std::vector<std::string>& values) {
    std::string list;
    for (const auto& v : values) list += (list.empty() ? "\"" : ",\"") + v + "\"";
    for (std::size_t at = doc.find(R"("data":[)"); at != std::string::npos; at = doc.find(R"("data":[)", at + 1)) {
      const auto from = at + 8;
      doc.replace(from, doc.find(']', from) - from, list);
    }
    return doc;
  };
  const auto numbered = [](std::string_view prefix, int from, int to) {
    std::vector<std::string> out;
    for (int i = from; i < to; ++i) out.push_back(std::string(prefix) + (i < 10 ? "0" : "") + std::to_string(i));
    return out;
  };
  const std::vector<std::pair<std::vector<std::string>, std::vector<std::string>>> cases = {
    {{"public"}, {"public"}},
    {{"pa", "pab", "pb"}, {"p", "pa", "paa", "pac"}},
    {numbered("d", 0, 30), numbered("d", 20, 50)},  // 50 in the union, 10 on both sides
    {numbered("d", 0, 40), numbered("d", 0, 40)},   // 40 on both sides, the same
    {numbered("x", 0, 33), {"a", "x05", "z"}},
  };
  for (const auto& [theirs, ours] : cases) {
    auto page = c.peer;
    page[merged_at].json = with_data(page[merged_at].json, theirs);
    auto changed_locals = locals;
    changed_locals[id] = with_data(locals.at(id), ours);
    text_document reader;
    ASSERT_TRUE(reader.read(page[merged_at].json)) << page[merged_at].json;
    ASSERT_TRUE(reader.read(changed_locals[id])) << changed_locals[id];
    const auto o = expect_same(environment_union{}, page, changed_locals,
                               "sets of " + std::to_string(theirs.size()) + " and " + std::to_string(ours.size()));
    EXPECT_TRUE(o.error.empty()) << o.error;
  }
}

TEST(TextMerge, LinksOfEveryShapeMergeOrFailAsParsed) {
  // `links` is copied raw when it is one JSON value: arrays, objects and strings without escapes are
  // read by the text reader itself, anything else is the parser's to accept.
  const auto c = generate_catalogue(profile::compact, 48);
  const auto locals = by_id(c.local);
  std::size_t merged_at = 0;
  while (!(locals.contains(c.peer[merged_at].id) && c.peer[merged_at].json.find(R"("links")") != std::string::npos))
    ++merged_at;
  const std::string doc = c.peer[merged_at].json;
  const auto with_links = [&](std::string_view links) {
    const auto from = doc.find(R"("links":)") + 8;
    std::string out = doc;
    out.replace(from, doc.find(R"(,"openApiString")", from) - from, links);
    return out;
  };
  const std::vector<std::string> shapes = {
    "[]", "{}", R"("")", R"("docs")", R"({"a":["b",{"c":"d"}],"e":{}})",
    R"([[[[[[[["eight deep"]]]]]]]])", R"([[[[[[[[[["ten deep"]]]]]]]]]])",
    "[{\"name\":\"dokumentatsioon \xc3\xa4\",\"url\":\"u\"}]", "[{\"name\":\"broken \xc3\",\"url\":\"u\"}]",
    R"([{"name":"a\"b"}])", R"([{"name":"\u00e4"}])", R"([{"name":"\ud800"}])", R"([{"url":"https:\/\/x"}])",
    R"([{"a":"b",}])", R"([{"a" :"b"}])", R"([{"a":"b"})", R"(["a" "b"])", R"(["a",])", R"([1,"a"])",
    R"({"a"})", R"({"a":})", R"([true])", "[\"tab\there\"]", R"(["a"]])",
  };
  text_document reader;
  std::size_t read_as_text = 0;
  for (const auto& links : shapes) {
    auto page = c.peer;
    page[merged_at].json = with_links(links);
    ASSERT_NE(page[merged_at].json, doc);
    read_as_text += reader.read(page[merged_at].json);
    expect_same(environment_union{}, page, locals, "links " + links);
    auto changed_locals = locals;
    changed_locals[c.peer[merged_at].id] = replaced(with_links(links), "staging", "dev");
    expect_same(environment_union{}, c.peer, changed_locals, "local links " + links);
  }
  EXPECT_GE(read_as_text, 9u);  // the valid shapes above, escapes included
}

TEST(TextMerge, MalformedDocumentsFailWithTheParsersError) {
  const auto c = generate_catalogue(profile::compact, 24);
  const auto locals = by_id(c.local);
  const std::string doc = c.peer[1].json;
  const std::vector<std::pair<std::string, std::string>> broken = {
    {"truncated", doc.substr(0, doc.size() / 2)},
    {"no id", replaced(doc, R"({"id":")", R"({"di":")")},
    {"empty id", doc.substr(0, 7) + doc.substr(doc.find('"', 7))},
    {"invalid UTF-8", replaced(doc, "Returns", "Ret\xff\xfens")},
    {"not JSON", "this is not json"},
    {"raw control character", replaced(doc, "Returns", "Ret\x01urns")},
    {"entry without environment", replaced(doc, R"({"environment":"staging")", R"({"environment":"")")},
  };
  for (const auto& [what, text] : broken) {
    auto page = c.peer;
    page[1].json = text;
    const auto o = expect_same(environment_union{}, page, locals, "peer: " + what);
    if (what != "entry without environment") {
      EXPECT_FALSE(o.error.empty()) << what;
    }
    auto changed = locals;
    if (auto it = changed.find(c.peer[1].id); it != changed.end()) {
      it->second = replaced(text, "staging", "dev");
      expect_same(environment_union{}, c.peer, changed, "local: " + what);
    }
  }
}

TEST(TextMerge, EscapesAndMultiByteCharactersAtEveryAlignmentMergeOrFailAsParsed) {
  // The reader takes string bodies sixteen bytes at a time: an escape or a multi-byte character may
  // straddle two blocks, or end a body at a block's last byte. Each is put at 20 offsets into a raw body
  // (openApiString), a canonical one (a detail's title) and the last body of the document (where fewer
  // than sixteen bytes are left), in a peer and in a local document.
  const auto c = generate_catalogue(profile::compact, 24);
  const auto locals = by_id(c.local);
  std::size_t merged_at = 0;
  while (!locals.contains(c.peer[merged_at].id)) ++merged_at;
  const std::string doc = c.peer[merged_at].json;
  // A page of that one document, and its local one: 680 merges of it, each checked eight ways.
  const std::vector<stored_document> alone = {c.peer[merged_at]};
  const std::map<std::string, std::string> its_local = {{alone[0].id, locals.at(alone[0].id)}};
  const std::vector<std::pair<std::string, std::string>> pieces = {
    {"escaped quote", "\\\""},          {"escaped backslash", "\\\\"},
    {"backslash run", "\\\\\\\""},   {"newline escape", "\\n"},
    {"solidus escape", "\\/"},           {"\\u escape", "\\u0041"},
    {"control \\u escape", "\\u001f"},  {"bad escape", "\\x"},
    {"two-byte character", "\xc3\xa4"},    {"three-byte character", "\xe2\x80\x94"},
    {"four-byte character", "\xf0\x9f\x98\x80"},
    {"truncated character", "\xe2\x80"},  {"overlong form", "\xc0\xaf"},
    {"surrogate", "\xed\xa0\x80"},       {"past U+10FFFF", "\xf4\x90\x80\x80"},
    {"lone continuation byte", "\x80"},   {"raw control character", "\x1f"},
  };
  const std::size_t spec = doc.find(R"("openApiString":")") + 17;
  const std::size_t title = doc.find(R"("title":")", doc.find(R"("details")")) + 9;
  const std::size_t last = doc.rfind(R"("serviceCode":")") + 15;
  text_document reader;
  for (const auto& [what, piece] : pieces) {
    for (const auto& [where, from] : {std::pair{"openApiString", spec}, {"title", title}, {"last body", last}}) {
      for (std::size_t offset = 0; offset < 20; ++offset) {
        std::string text = doc;
        text.insert(from, std::string(24, 'x'));  // so that every offset is within the body
        text.insert(from + offset, piece);
        const std::string context = what + " in " + where + " at " + std::to_string(offset);
        // The text path is taken for what our writer could have written, and only for that.
        const bool raw = std::string_view(where) == "openApiString";
        const bool valid = !(what.starts_with("truncated") || what.starts_with("overlong") || what == "surrogate" ||
                             what.starts_with("past") || what.starts_with("lone") || what.starts_with("raw") ||
                             what == "bad escape");
        // A canonical body (append_escaped's) has no escaped solidus and no \u but for control characters.
        const bool canonical = what != "solidus escape" && what != "\\u escape";
        EXPECT_EQ(reader.read(text), valid && (raw || canonical)) << context;
        auto page = alone;
        page[0].json = text;
        expect_same(environment_union{}, page, its_local, "peer: " + context);
        auto changed = its_local;
        changed.begin()->second = replaced(text, "staging", "dev");
        expect_same(environment_union{}, alone, changed, "local: " + context);
        if (::testing::Test::HasFailure()) return;
      }
    }
  }
}

TEST(TextMerge, RandomlyDamagedDocumentsMergeOrFailAsParsed) {
  // Single-byte changes anywhere in a peer or local document: the text path either declines and the
  // parser decides, or it vouches for the text, and the result is the parsed path's either way.
  const auto c = generate_catalogue(profile::compact, 12);
  const auto locals = by_id(c.local);
  std::mt19937 rng(16);
  const std::string alphabet = "\"\\{}[],: atrue0uU\x7f\xc3";
  for (int round = 0; round < 300; ++round) {
    auto page = c.peer;
    auto changed = locals;
    std::string* target = nullptr;
    if (round % 2 == 0) {
      target = &page[rng() % page.size()].json;
    } else {
      auto it = changed.begin();
      std::advance(it, static_cast<long>(rng() % changed.size()));
      target = &it->second;
    }
    const std::size_t at = rng() % target->size();
    switch (rng() % 3) {
      case 0: (*target)[at] = alphabet[rng() % alphabet.size()]; break;
      case 1: target->insert(at, 1, alphabet[rng() % alphabet.size()]); break;
      default: target->erase(at, 1); break;
    }
    expect_same(environment_union{}, page, changed, "round " + std::to_string(round));
    if (::testing::Test::HasFailure()) break;
  }
}

}  // namespace
}  // namespace tributary
