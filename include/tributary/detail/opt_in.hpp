#pragma once
// The opt-in check every concept starts with: a type models a concept only when it names the
// concept's tag (or a tag derived from it), never by having the right member names by accident.

#include <concepts>

namespace tributary::detail {
template <class T, class Tag, class Member>
concept opts_in = std::derived_from<Member, Tag>;
}  // namespace tributary::detail
