#pragma once
// Archetypes of the collector's policies: the smallest merge strategy, wait strategy and source. Tests
// static_assert them; users can start a new policy from one.

#include <chrono>
#include <optional>
#include <span>
#include <vector>

#include <tributary/archetypes.hpp>
#include <tributary/catalogue/concepts.hpp>

namespace tributary::archetypes {

struct merge_strategy {
  using merge_strategy_concept = merge_strategy_tag;
  void merge(service&, const environment_entry&) const {}
  [[nodiscard]] std::optional<service> adopt(const service&, const environment_entry&) const { return std::nullopt; }
};

struct wait_strategy {
  using wait_strategy_concept = wait_strategy_tag;
  struct schedule {
    [[nodiscard]] std::optional<std::chrono::system_clock::time_point> next(std::chrono::system_clock::time_point) const {
      return std::nullopt;
    }
  };
  [[nodiscard]] schedule start(std::chrono::system_clock::time_point) const { return {}; }
};

struct source {
  using source_concept = source_tag;
  template <class Transport>
  std::vector<provider> list_providers(Transport&) { return {}; }
  template <class Transport, class F>
  void collect(Transport&, std::span<const provider>, std::size_t, F&&) {}
};

}  // namespace tributary::archetypes
