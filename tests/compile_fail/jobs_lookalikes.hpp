#pragma once
// Look-alikes of the job executor's policies for its negative compile tests: every member the concept
// lists, but no opt-in tag. basic_job_api and platform_list must refuse each of them.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <tributary/clock/manual.hpp>
#include <tributary/jobs/api.hpp>
#include <tributary/jobs/archetypes.hpp>

namespace jobs_lookalikes {

namespace jobs = tributary::jobs;

struct job_store {  // jobs::archetypes::job_store without `using job_store_concept = jobs::job_store_tag;`
  std::string submit(const jobs::job_submission&) { return {}; }
  std::optional<jobs::job_record> take(std::string_view, std::chrono::milliseconds) { return std::nullopt; }
  bool progress(std::string_view, std::string_view, std::string_view, std::string_view) { return false; }
  bool dataset(std::string_view, std::string_view, std::string_view, std::string_view) { return false; }
  bool complete(std::string_view, std::string_view, jobs::job_status, std::string_view) { return false; }
  jobs::cancel_outcome cancel(std::string_view) { return jobs::cancel_outcome::unknown_job; }
  bool cancel_requested(std::string_view) { return false; }
  std::optional<jobs::job_record> get(std::string_view, bool) { return std::nullopt; }
  std::vector<jobs::job_record> list(std::optional<jobs::job_status>, std::size_t) { return {}; }
  void heartbeat(std::string_view) {}
  std::vector<std::string> reap_lost_workers() { return {}; }
  jobs::job_store_counts counts() { return {}; }
  void ping() {}
  [[nodiscard]] std::string name() const { return "lookalike"; }
};

struct settings_sealer {  // jobs::no_sealing's members without its tag
  [[nodiscard]] std::string seal(std::string_view, std::string_view clear) const { return std::string(clear); }
  [[nodiscard]] std::string open(std::string_view, std::string_view sealed) const { return std::string(sealed); }
};

struct platform {  // jobs::archetypes::platform without `using platform_concept = jobs::platform_tag;`
  using settings_type = jobs::archetypes::platform_settings;
  static constexpr std::string_view id = "lookalike", display_name = "Look-alike";
  static constexpr unsigned max_attempts = 1;
  static constexpr std::chrono::seconds time_limit{1};
  std::string run(const settings_type&, jobs::job_context&) { return "null"; }
};

}  // namespace jobs_lookalikes

#ifdef TRIBUTARY_COMPILE_FAIL_CONTROL
#define TRIBUTARY_JOBS_PICK(shipped, lookalike) shipped
#else
#define TRIBUTARY_JOBS_PICK(shipped, lookalike) lookalike
#endif
