#pragma once
// Policy look-alikes for the negative compile tests: every member a policy needs, but no opt-in tag.
// basic_collector must refuse each of them with the static_assert of its axis.

#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <tributary/collector/collector.hpp>
#include <tributary/index/memory.hpp>
#include <tributary/catalogue/merge/environment_union.hpp>
#include <tributary/transport/loopback.hpp>
#include <tributary/collector/wait/fixed_interval.hpp>

namespace lookalikes {

struct transport {
  tributary::http_response perform(tributary::http_request) { return {}; }
  template <class F>
  void perform_all(std::vector<tributary::http_request>, F&&) {}
};

struct index_backend {
  void create_index(std::string_view) {}
  [[nodiscard]] bool index_exists(std::string_view) const { return false; }
  tributary::bulk_result bulk_write(std::string_view, std::span<const tributary::stored_document>) { return {}; }
  [[nodiscard]] std::vector<std::optional<std::string>> get(std::string_view, std::span<const std::string>) const {
    return {};
  }
  [[nodiscard]] tributary::scan_page scan(std::string_view, std::string_view, std::size_t) const { return {}; }
  [[nodiscard]] std::vector<std::string> list_indices(std::string_view) const { return {}; }
  [[nodiscard]] std::vector<std::string> alias_targets(std::string_view) const { return {}; }
  [[nodiscard]] std::vector<tributary::alias_entry> aliases() const { return {}; }
  void update_aliases(std::span<const tributary::alias_action>) {}
  void delete_indices(std::span<const std::string>) {}
};

struct merge_strategy {
  using record_model = tributary::service_record;
  void merge(tributary::service&, const tributary::environment_entry&) const {}
  [[nodiscard]] std::optional<tributary::service> adopt(const tributary::service&,
                                                        const tributary::environment_entry&) const {
    return {};
  }
};

struct wait_strategy {
  struct schedule {
    [[nodiscard]] std::optional<std::chrono::system_clock::time_point> next(std::chrono::system_clock::time_point) const {
      return {};
    }
  };
  [[nodiscard]] schedule start(std::chrono::system_clock::time_point) const { return {}; }
};

}  // namespace lookalikes

// Each test source defines one of these to the look-alike, or to the shipped policy for the control
// compile (TRIBUTARY_COMPILE_FAIL_CONTROL), which must succeed: the failure is the look-alike's alone.
#ifdef TRIBUTARY_COMPILE_FAIL_CONTROL
#define TRIBUTARY_PICK(shipped, lookalike) shipped
#else
#define TRIBUTARY_PICK(shipped, lookalike) lookalike
#endif
