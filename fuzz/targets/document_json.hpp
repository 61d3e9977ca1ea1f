#pragma once
// document_json: the stored-document parser (document_parser) on any text a store or a peer may hand
// it. Properties, for every input that parses:
//   - round trip: to_json of the document parses again, to the same document, and serialises to the
//     same text (to_json is a fixed point after one parse);
//   - reuse: parsing into a service that held a larger document (spare entries and details, slices of
//     an earlier buffer) and through parse_owned gives the same document as a fresh parse;
// and an input that is refused is refused with tributary::error whichever way it is parsed.

#include <string>
#include <string_view>

#include <tributary/catalogue/document_json.hpp>

#include "../harness.hpp"

namespace tributary::fuzz {

namespace document_json_detail {

/// A document with more entries and details than most inputs, and a shared (long) openApiString, parsed
/// into a service before the input is: the input's parse must not be affected by what it leaves behind.
inline std::string larger_document() {
  std::string spec(2 * document_parser::shared_slice_min, 'x');
  std::string d = R"({"version":"v1","title":"T","summary":"S","description":"D","type":"rest","pricing":["free"],)"
                  R"("data":["open"],"links":{"a":1},"openApiString":")" + spec +
                  R"(","collected":"2026-01-01T00:00:00.000Z","xroadIdentifier":{"instance":"EE","memberClass":"GOV",)"
                  R"("memberCode":"1","subsystemCode":"s","serviceCode":"x-v1"}})";
  std::string entry = R"({"environment":"dev","owner":"O","access":["xroad"],"stale":true,"details":[)" + d + "," + d +
                      "," + d + "]}";
  return R"({"id":"GOV/1/s/x","title":"T","type":["rest"],"environments":[)" + entry + "," + entry + "," + entry + "]}";
}

}  // namespace document_json_detail

inline void document_json(std::string_view input) {
  document_parser parser;
  service first;
  const auto refused = expect_errors("document_parser::parse", [&] { first = parser.parse(input); });

  // The same input into a service that held a larger document, with the same parser.
  document_parser reused;
  service s = reused.parse(document_json_detail::larger_document());
  const auto refused_reused = expect_errors("document_parser::parse into a used service", [&] { reused.parse(input, s); });
  require(refused.has_value() == refused_reused.has_value(),
          "parsing into a used service and into a fresh one disagree on whether the input is a document");
  if (refused) {
    require(refused->code() == errc::bad_document,
            std::string("document refused with a code other than bad_document: ") + refused->what());
    return;
  }
  require(s == first, "parsing into a used service gives a different document than a fresh parse");

  // Round trip.
  const std::string json = to_json(first);
  service second;
  const auto refused_again = expect_errors("document_parser::parse of to_json", [&] { second = parser.parse(json); });
  if (refused_again)
    finding("to_json of a parsed document does not parse: " + std::string(refused_again->what()) + "\n" + json);
  require(second == first, "a parsed document changed through to_json and parse:\n" + json + "\n" + to_json(second));
  require(to_json(second) == json, "to_json is not a fixed point after one parse:\n" + json + "\n" + to_json(second));

  // parse_owned of the same text, into the reused service again.
  std::string owned = json;
  if (const auto e = expect_errors("document_parser::parse_owned", [&] { reused.parse_owned(std::move(owned), s); }))
    finding("parse_owned refuses to_json of a parsed document: " + std::string(e->what()) + "\n" + json);
  require(s == first, "parse_owned of to_json gives a different document");
}

}  // namespace tributary::fuzz
