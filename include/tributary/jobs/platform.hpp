#pragma once
// The platform concept: a kind of job with declared settings (jobs/settings.hpp), and job_context,
// what a running job reports to and asks. Archetype: jobs::archetypes::platform (jobs/archetypes.hpp).
//
//   struct sleep_platform {
//     using platform_concept = jobs::platform_tag;
//     using settings_type = sleep_settings;
//     static constexpr std::string_view id = "sleep", display_name = "Sleep (tests)";
//     static constexpr unsigned max_attempts = 2;                 runs allowed when a worker is lost
//     static constexpr std::chrono::seconds time_limit{60};       a run is killed after this
//     std::string run(const sleep_settings& s, jobs::job_context& context) {
//       context.progress("sleep", "started");
//       context.throw_if_canceled();
//       return "{\"slept_ms\":" + std::to_string(s.ms) + "}";   the job's result, JSON text
//     }
//   };

#include <array>
#include <chrono>
#include <cstddef>
#include <concepts>
#include <string>
#include <string_view>
#include <tuple>

#include <tributary/detail/opt_in.hpp>
#include <tributary/jobs/settings.hpp>

namespace tributary::jobs {

struct platform_tag {};

/// Thrown by job_context::throw_if_canceled: the run ends and the job is recorded canceled.
struct job_canceled {};

/// What a running job reports to (the worker implements it over the job store) and asks.
class job_context {
 public:
  /// Progress by phase: context.progress("login", "started"), later ("login", "done").
  virtual void progress(std::string_view phase, std::string_view state) = 0;
  /// A dataset kept with the job for debugging ("original", "processed"); answered only with &full.
  virtual void dataset(std::string_view tag, std::string_view text) = 0;
  /// Whether POST /execution/cancel asked this job to stop.
  [[nodiscard]] virtual bool cancel_requested() = 0;

  void throw_if_canceled() {
    if (cancel_requested()) throw job_canceled{};
  }

 protected:
  ~job_context() = default;
};

/// Platform:
///   using platform_concept = jobs::platform_tag;
///   using settings_type = S;                       a settings_struct
///   static constexpr std::string_view id, display_name;
///   static constexpr unsigned max_attempts;         1: a job whose worker is lost fails ("worker lost")
///   static constexpr std::chrono::seconds time_limit;
///   std::string run(const S&, job_context&)         the result as JSON text; throws to fail the job
template <class P>
concept platform = tributary::detail::opts_in<P, platform_tag, typename P::platform_concept> &&
  settings_struct<typename P::settings_type> && std::default_initializable<P> &&
  requires(P& p, const typename P::settings_type& s, job_context& context) {
    { P::id } -> std::convertible_to<std::string_view>;
    { P::display_name } -> std::convertible_to<std::string_view>;
    { P::max_attempts } -> std::convertible_to<unsigned>;
    { P::time_limit } -> std::convertible_to<std::chrono::seconds>;
    { p.run(s, context) } -> std::same_as<std::string>;
  };

/// The platforms one API or worker serves, as a type: platform_list<sleep_platform, xroad_platform>.
template <platform... Ps>
struct platform_list {
  static constexpr std::size_t size = sizeof...(Ps);

 private:
  static consteval bool unique_ids() {
    const std::array<std::string_view, sizeof...(Ps)> ids{std::string_view(Ps::id)...};
    for (std::size_t i = 0; i < ids.size(); ++i)
      for (std::size_t j = i + 1; j < ids.size(); ++j)
        if (ids[i] == ids[j]) return false;
    return true;
  }
  static_assert(unique_ids(), "platform_list: two platforms have the same id (jobs are routed by id)");

 public:

  /// Calls f.template operator()<P>() for the platform whose id is `id`; false when none is.
  template <class F>
  static bool visit(std::string_view id, F&& f) {
    return ((Ps::id == id ? (f.template operator()<Ps>(), true) : false) || ...);
  }
  /// Calls f.template operator()<P>() for each platform, in order.
  template <class F>
  static void each(F&& f) {
    (f.template operator()<Ps>(), ...);
  }
};

}  // namespace tributary::jobs
