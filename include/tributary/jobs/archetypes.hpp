#pragma once
// Archetypes of the job executor's concepts: the smallest types that model them. Tests static_assert them.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include <tributary/jobs/platform.hpp>
#include <tributary/jobs/store.hpp>

namespace tributary::jobs::archetypes {

struct platform_settings {
  using settings_concept = settings_tag;
  std::string value;
  static constexpr auto settings() { return std::tuple{jobs::setting("value", &platform_settings::value)}; }
};

struct platform {
  using platform_concept = platform_tag;
  using settings_type = platform_settings;
  static constexpr std::string_view id = "archetype", display_name = "Archetype";
  static constexpr unsigned max_attempts = 1;
  static constexpr std::chrono::seconds time_limit{1};
  std::string run(const settings_type&, job_context&) { return "null"; }
};

struct job_store {
  using job_store_concept = job_store_tag;
  std::string submit(const job_submission&) { return {}; }
  std::optional<job_record> take(std::string_view, std::chrono::milliseconds) { return std::nullopt; }
  bool progress(std::string_view, std::string_view, std::string_view, std::string_view) { return false; }
  bool dataset(std::string_view, std::string_view, std::string_view, std::string_view) { return false; }
  bool complete(std::string_view, std::string_view, job_status, std::string_view) { return false; }
  cancel_outcome cancel(std::string_view) { return cancel_outcome::unknown_job; }
  bool cancel_requested(std::string_view) { return false; }
  std::optional<job_record> get(std::string_view, bool) { return std::nullopt; }
  std::vector<job_record> list(std::optional<job_status>, std::size_t) { return {}; }
  void heartbeat(std::string_view) {}
  std::vector<std::string> reap_lost_workers() { return {}; }
  job_store_counts counts() { return {}; }
  void ping() {}
  [[nodiscard]] std::string name() const { return "archetype"; }
};

}  // namespace tributary::jobs::archetypes
