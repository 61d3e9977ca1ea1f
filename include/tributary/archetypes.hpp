#pragma once
// Archetypes: the smallest types that model each policy concept. Tests static_assert them; users can
// start a new policy from one.

#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <tributary/concepts.hpp>

namespace tributary::archetypes {

struct transport {
  using transport_concept = transport_tag;
  http_response perform(http_request) { return {}; }
  template <class F>
  void perform_all(std::vector<http_request>, F&&) {}
};

struct streaming_transport : transport {
  template <class G, class F>
  void perform_stream(G&&, F&&) {}
};

struct index_backend {
  using index_backend_concept = index_backend_tag;
  void create_index(std::string_view) {}
  [[nodiscard]] bool index_exists(std::string_view) const { return false; }
  bulk_result bulk_write(std::string_view, std::span<const stored_document>) { return {}; }
  [[nodiscard]] std::vector<std::optional<std::string>> get(std::string_view, std::span<const std::string>) const { return {}; }
  [[nodiscard]] scan_page scan(std::string_view, std::string_view, std::size_t) const { return {}; }
  [[nodiscard]] std::vector<std::string> list_indices(std::string_view) const { return {}; }
  [[nodiscard]] std::vector<std::string> alias_targets(std::string_view) const { return {}; }
  [[nodiscard]] std::vector<alias_entry> aliases() const { return {}; }
  void update_aliases(std::span<const alias_action>) {}
  void delete_indices(std::span<const std::string>) {}
};

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

struct clock {
  using clock_concept = clock_tag;
  [[nodiscard]] std::chrono::system_clock::time_point now() const { return {}; }
  void sleep_until(std::chrono::system_clock::time_point) {}
};

struct source {
  using source_concept = source_tag;
  template <class Transport>
  std::vector<provider> list_providers(Transport&) { return {}; }
  template <class Transport, class F>
  void collect(Transport&, std::span<const provider>, std::size_t, F&&) {}
};

}  // namespace tributary::archetypes
