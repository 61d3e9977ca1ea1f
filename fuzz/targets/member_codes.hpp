#pragma once
// member_codes: parse_member_code_mapping (include/tributary/source/xroad.hpp), the --member-codes file.
// Property: what it accepts is what a validating parse of the same text reads: the text is one JSON
// object of objects of strings, and every (environment, code) pair maps to the last value given for it.
// Anything else is refused with errc::invalid_config.

#include <map>
#include <string>
#include <string_view>
#include <utility>

#include <simdjson.h>

#include <tributary/catalogue/source/xroad.hpp>

#include "../harness.hpp"

namespace tributary::fuzz {

inline void member_codes(std::string_view input) {
  std::optional<member_code_mapping> mapping;
  const auto refused = expect_errors("parse_member_code_mapping", [&] { mapping = parse_member_code_mapping(input); });
  if (refused) {
    require(refused->code() == errc::invalid_config,
            std::string("member code mapping refused with a code other than invalid_config: ") + refused->what());
    return;
  }

  // The same text through simdjson's DOM parser, which validates all of it.
  std::map<std::pair<std::string, std::string>, std::string> expected;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  const simdjson::padded_string padded(input);
  if (parser.parse(padded).get(doc) != simdjson::SUCCESS) finding("accepted a member code mapping that is not JSON");
  simdjson::dom::object environments;
  if (doc.get(environments) != simdjson::SUCCESS) finding("accepted a member code mapping that is not an object");
  for (auto [environment, codes] : environments) {
    simdjson::dom::object pairs;
    if (codes.get(pairs) != simdjson::SUCCESS) finding("accepted an environment whose value is not an object");
    for (auto [from, to] : pairs) {
      std::string_view canonical;
      if (to.get(canonical) != simdjson::SUCCESS) finding("accepted a member code mapped to something not a string");
      expected[{std::string(environment), std::string(from)}] = std::string(canonical);
    }
  }
  for (const auto& [key, canonical] : expected)
    require(mapping->canonical(key.first, key.second) == canonical,
            "member code '" + key.second + "' of '" + key.first + "' maps to '" +
              std::string(mapping->canonical(key.first, key.second)) + "', the text says '" + canonical + "'");
}

}  // namespace tributary::fuzz
