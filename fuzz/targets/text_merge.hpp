#pragma once
// text_merge: copy-merge over documents read as text (catalogue/document_text.hpp, text_merge_strategy)
// against the same merge over parsed documents, on any pair of texts a peer and the local store may
// hold. Input: LOCAL \x1e PEER (no separator: PEER alone, adopted with no local document). The peer's
// document is one page; the local one is what the store answers for whatever id the merger asks.
// Property: for both strategies, stale or not, copied or taken over, the text path gives the parsed
// path's outcome: the same documents byte for byte, the same counts, or the same error. The parsed
// path is the strategy with its text path hidden (parsed_only), so both run the collector's code.
// tests/text_merge_test.cpp runs the same comparison over generated catalogues.

#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <tributary/catalogue/merge/environment_union.hpp>
#include <tributary/catalogue/merge/prefer_local.hpp>
#include <tributary/catalogue/service_record.hpp>
#include <tributary/collector/peer_merge.hpp>

#include "../harness.hpp"

namespace tributary::fuzz {

namespace text_merge_detail {

/// `Strategy` without its text path: peer_page_merger parses every document, as before text merging.
template <class Strategy>
struct parsed_only {
  using merge_strategy_concept = merge_strategy_tag;
  using record_model = service_record;
  using adopt_into_concept = adopt_into_tag;
  Strategy strategy;
  void merge(service& local, const environment_entry& remote) const { strategy.merge(local, remote); }
  void merge(service& local, environment_entry&& remote) const { strategy.merge(local, std::move(remote)); }
  [[nodiscard]] std::optional<service> adopt(const service& doc, const environment_entry& remote) const {
    return strategy.adopt(doc, remote);
  }
  bool adopt_into(service& out, const service& doc, environment_entry&& remote) const {
    return strategy.adopt_into(out, doc, std::move(remote));
  }
};

/// What one merger made of a page: the documents written, its counts, or the error it threw.
struct outcome {
  std::vector<stored_document> writes;
  std::size_t read = 0, added = 0, merged = 0;
  std::string error;
  bool operator==(const outcome&) const = default;
};

/// How the merger is fed: take and merge of copies, of texts taken over, or merge_one a document at a
/// time with each local text where a store keeps it (rewrite_store), unpadded.
enum class feed { copied, taken_over, one_at_a_time };
inline constexpr feed every_feed[] = {feed::copied, feed::taken_over, feed::one_at_a_time};
[[nodiscard]] inline const char* name_of(feed how) {
  return how == feed::copied ? "copied" : how == feed::taken_over ? "taken over" : "one at a time";
}

/// The local document of an id, as a store's get gives it (nullopt: none).
using local_lookup = std::function<std::optional<std::string>(const std::string& id)>;

/// One page through take and merge, twice through the same merger (the second page finds the pools
/// the first one left); the second round's outcome.
template <class Strategy>
outcome run(const Strategy& strategy, bool stale, const std::vector<stored_document>& page, const local_lookup& local_of,
            feed how, std::string_view environment = "staging") {
  peer_page_merger<Strategy> merger(strategy, std::string(environment), stale);
  outcome o;
  try {
    for (int round = 0; round < 2; ++round) {
      std::vector<stored_document> own_page = page;
      const auto& ids = how == feed::copied ? merger.take(std::span<const stored_document>(page))
                                            : merger.take_over(std::span<stored_document>(own_page));
      if (how == feed::one_at_a_time) {
        std::vector<stored_document> writes;
        for (std::size_t i = 0; i < ids.size(); ++i) {
          const auto local = local_of(ids[i]);
          if (const auto* w = merger.merge_one(i, local ? &*local : nullptr)) writes.push_back(*w);
        }
        if (round == 1) o.writes = std::move(writes);
        continue;
      }
      std::vector<std::optional<std::string>> got;
      for (const auto& id : ids) {
        auto local = local_of(id);
        got.push_back(local ? std::optional<std::string>(detail::padded_text(*local)) : std::nullopt);
      }
      auto& writes = how == feed::copied ? merger.merge(std::span<const std::optional<std::string>>(got))
                                         : merger.merge(std::move(got));
      if (round == 1) o.writes = writes;
    }
  } catch (const error& e) {
    o.error = std::string(e.what()) + " [" + std::to_string(static_cast<int>(e.code())) + "]";
  }
  o.read = merger.totals().read, o.added = merger.totals().added, o.merged = merger.totals().merged;
  return o;
}

/// Where the text path and the parsed path disagree, in words; empty when they agree.
[[nodiscard]] inline std::string difference(const outcome& text, const outcome& parsed) {
  if (text.error != parsed.error) return "error '" + text.error + "' as text, '" + parsed.error + "' parsed";
  if (text.read != parsed.read || text.added != parsed.added || text.merged != parsed.merged)
    return "counts (read, added, merged) differ";
  if (text.writes.size() != parsed.writes.size()) return "a different number of writes";
  for (std::size_t i = 0; i < text.writes.size(); ++i) {
    if (text.writes[i].id != parsed.writes[i].id) return "write " + std::to_string(i) + "'s id differs";
    if (text.writes[i].json != parsed.writes[i].json)
      return "write " + std::to_string(i) + " differs:\n" + text.writes[i].json + "\nparsed:\n" + parsed.writes[i].json;
  }
  return {};
}

/// Runs the text and parsed paths of `strategy` in every mode; calls report(mode, difference) for each
/// mode where they disagree.
template <class Strategy, class Report>
void compare(const Strategy& strategy, const std::vector<stored_document>& page, const local_lookup& local_of,
             std::string_view environment, Report&& report) {
  const parsed_only<Strategy> reference{strategy};
  for (bool stale : {false, true})
    for (feed how : every_feed) {
      const std::string d = difference(run(strategy, stale, page, local_of, how, environment),
                                       run(reference, stale, page, local_of, how, environment));
      if (!d.empty()) report(std::string(stale ? "stale, " : "") + name_of(how), d);
    }
}

}  // namespace text_merge_detail

inline void text_merge(std::string_view input) {
  using namespace text_merge_detail;
  const auto parts = split(input);
  const std::optional<std::string> local =
      parts.size() > 1 ? std::optional<std::string>(std::string(parts[0])) : std::nullopt;
  const std::vector<stored_document> page{{"peer-1", std::string(parts.size() > 1 ? parts[1] : parts[0])}};
  const local_lookup local_of = [&](const std::string&) { return local; };
  auto report = [&](const std::string& strategy) {
    return [&, strategy](const std::string& mode, const std::string& d) {
      finding("copy-merge as text and parsed disagree (" + strategy + ", " + mode + "): " + d);
    };
  };
  compare(environment_union{}, page, local_of, "staging", report("environment_union"));
  prefer_local prefer;
  prefer.local_environment = "dev";
  compare(prefer, page, local_of, "staging", report("prefer_local dev"));
}

}  // namespace tributary::fuzz
