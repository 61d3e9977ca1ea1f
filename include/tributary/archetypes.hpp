#pragma once
// Archetypes: the smallest types that model each engine concept. Tests static_assert them; users can
// start a new component from one. The collector's policies have theirs in
// <tributary/collector/archetypes.hpp>.

#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <tributary/concepts.hpp>
#include <tributary/index/archetypes.hpp>

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

struct clock {
  using clock_concept = clock_tag;
  [[nodiscard]] std::chrono::system_clock::time_point now() const { return {}; }
  void sleep_until(std::chrono::system_clock::time_point) {}
};

}  // namespace tributary::archetypes
