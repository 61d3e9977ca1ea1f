#pragma once
// Archetypes of the execution concepts: the smallest types that model them. Tests static_assert them.

#include <tributary/execution/concepts.hpp>

namespace tributary::archetypes {

struct executor {
  using executor_concept = executor_tag;
  bool execute(task) { return false; }
};

}  // namespace tributary::archetypes
