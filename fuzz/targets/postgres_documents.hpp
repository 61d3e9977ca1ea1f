#pragma once
// Documents the PostgreSQL store checks before writing them (index/postgres/storable.hpp, pg_jsonb_problem):
//   postgres_documents   detail::json_syntax_problem, the grammar check behind numbers simdjson refuses,
//                        held against simdjson's parser; and pg_numeric_may_refuse, the scan that decides
//                        whether a text simdjson took needs numeric's bounds checked.
//
// Input: any text. Properties, for UTF-8 text without NUL bytes (what the store's text column takes):
// - a text simdjson takes follows the grammar;
// - a text that follows the grammar is one simdjson takes, or refuses only for a number or for depth;
// - a text simdjson refuses for anything but a number or depth breaks the grammar;
// - a text simdjson takes and that is within numeric's bounds needs no scan to say so: when the scan says
//   no number can be out of bounds, the grammar check with numeric's bounds agrees.

#include <cstddef>
#include <limits>
#include <string>
#include <string_view>

#include <simdjson.h>

#include <tributary/detail/json_syntax.hpp>
#include <tributary/index/postgres/storable.hpp>

#include "../harness.hpp"

namespace tributary::fuzz {

inline void postgres_documents(std::string_view input) {
  if (!detail::pg_storable_text(input)) return;
  static simdjson::dom::parser parser;
  const auto error = parser.parse(input.data(), input.size(), true).error();
  constexpr detail::decimal_limits unbounded{std::numeric_limits<std::int64_t>::max(),
                                             std::numeric_limits<std::int64_t>::max(),
                                             std::numeric_limits<std::int64_t>::max()};
  constexpr detail::decimal_limits numeric{1'073'741'822, 131'072, 16'383};
  const auto grammar = detail::json_syntax_problem(input, parser.max_depth(), unbounded);
  const std::string shown(input.substr(0, 200));
  if (!error) require(!grammar, "simdjson takes a text the grammar refuses (" + grammar.value_or("") + "): " + shown);
  if (!grammar)
    require(!error || error == simdjson::NUMBER_ERROR || error == simdjson::DEPTH_ERROR,
            std::string("the grammar takes a text simdjson refuses (") + simdjson::error_message(error) + "): " + shown);
  if (!error && !detail::pg_numeric_may_refuse(input)) {
    const auto bounded = detail::json_syntax_problem(input, parser.max_depth(), numeric);
    require(!bounded, "a number beyond numeric's bounds the scan missed (" + bounded.value_or("") + "): " + shown);
  }
}

}  // namespace tributary::fuzz
