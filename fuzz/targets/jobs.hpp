#pragma once
// The job executor's input (include/tributary/jobs/):
//   jobs_settings   a platform's settings as a client sends them: jobs::parse_settings of the text into
//                   a struct with every kind of setting (string, bounded integer, number, boolean,
//                   enumeration, date absolute and relative, secret, a nested object with its own secret)
//   jobs_run_body   a request to basic_job_api: the first line "METHOD TARGET", the rest its body; two
//                   platforms (the settings above, and one with a nested storage object); the store
//                   records what it is handed and answers a fixed job for get and cancel
//
// Properties beyond "no crash, only tributary::error":
//   jobs_settings: a refusal is a settings_error with at least one problem, each naming a setting (a
//   non-empty name) and why; accepted settings written out with secrets and parsed again give the same settings (both
//   echoes are fixed points), and the redacted echo shows every secret as "***".
//   jobs_run_body: every answer is 200, 400, 404, 405 or 413 (never a 5xx); its body is JSON (but
//   /metrics, Prometheus text, and /dashboard, HTML), and a refusal names its problem; a 400 from
//   /execution/run lists problems each naming a setting and why, unless the body itself was not a JSON
//   object; the store is handed a job only when /execution/run answers 200 with its id, for a known
//   platform, with settings that parse again, an echo whose secrets are "***", and nothing else stored.

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include <simdjson.h>

#include <tributary/clock/manual.hpp>
#include <tributary/jobs/api.hpp>
#include <tributary/jobs/settings.hpp>
#include <tributary/jobs/store.hpp>
#include <tributary/server/message.hpp>

#include "../harness.hpp"

namespace tributary::fuzz {

namespace jobs_detail {

struct target_settings {
  using settings_concept = jobs::settings_tag;
  std::string type, hostname;
  std::int64_t port = 0;
  jobs::secret password;
  static constexpr auto settings() {
    return std::tuple{jobs::enumeration("type", &target_settings::type, {"mysql", "postgres", "sqlite"}),
                      jobs::setting("hostname", &target_settings::hostname),
                      jobs::setting("port", &target_settings::port).between(1, 65535).defaults_to(5432),
                      jobs::setting("password", &target_settings::password).optional()};
  }
};

struct every_kind_settings {
  using settings_concept = jobs::settings_tag;
  std::string name, level;
  std::int64_t count = 0;
  int small = 0;
  double ratio = 0;
  bool verbose = false;
  jobs::date since, until;
  jobs::secret token;
  target_settings storage;
  static constexpr auto settings() {
    using S = every_kind_settings;
    return std::tuple{jobs::setting("name", &S::name).optional(),
                      jobs::enumeration("level", &S::level, {"low", "high"}).defaults_to("low"),
                      jobs::setting("count", &S::count).between(-5, 1'000'000).defaults_to(1),
                      jobs::setting("small", &S::small).optional(),
                      jobs::setting("ratio", &S::ratio).defaults_to(0.5),
                      jobs::setting("verbose", &S::verbose).defaults_to(false),
                      jobs::setting("since", &S::since),
                      jobs::setting("until", &S::until).defaults_to("yesterday"),
                      jobs::setting("token", &S::token).optional(),
                      jobs::setting("storage", &S::storage).optional()};
  }
};

struct every_kind_platform {
  using platform_concept = jobs::platform_tag;
  using settings_type = every_kind_settings;
  static constexpr std::string_view id = "every", display_name = "Every kind of setting";
  static constexpr unsigned max_attempts = 2;
  static constexpr std::chrono::seconds time_limit{60};
  std::string run(const every_kind_settings&, jobs::job_context&) { return "{}"; }
};

struct storage_only_settings {
  using settings_concept = jobs::settings_tag;
  target_settings storage;
  static constexpr auto settings() { return std::tuple{jobs::setting("storage", &storage_only_settings::storage)}; }
};

struct storage_platform {
  using platform_concept = jobs::platform_tag;
  using settings_type = storage_only_settings;
  static constexpr std::string_view id = "storage", display_name = "A nested object";
  static constexpr unsigned max_attempts = 1;
  static constexpr std::chrono::seconds time_limit{60};
  std::string run(const storage_only_settings&, jobs::job_context&) { return "{}"; }
};

using platforms = jobs::platform_list<every_kind_platform, storage_platform>;

inline const std::chrono::system_clock::time_point fixed_now =
  std::chrono::sys_days{std::chrono::year{2024} / 3 / 10} + std::chrono::hours(12);

/// A job store that records what it is handed and knows one job ("known"), queued.
struct recording_store {
  using job_store_concept = jobs::job_store_tag;
  std::vector<jobs::job_submission> submitted;
  std::string submit(const jobs::job_submission& s) {
    submitted.push_back(s);
    return "fuzz-job-" + std::to_string(submitted.size());
  }
  std::optional<jobs::job_record> take(std::string_view, std::chrono::milliseconds) { return std::nullopt; }
  bool progress(std::string_view, std::string_view, std::string_view, std::string_view) { return false; }
  bool dataset(std::string_view, std::string_view, std::string_view, std::string_view) { return false; }
  bool complete(std::string_view, std::string_view, jobs::job_status, std::string_view) { return false; }
  jobs::cancel_outcome cancel(std::string_view id) {
    return id == "known" ? jobs::cancel_outcome::canceled : jobs::cancel_outcome::unknown_job;
  }
  bool cancel_requested(std::string_view) { return false; }
  std::optional<jobs::job_record> get(std::string_view id, bool) {
    if (id != "known") return std::nullopt;
    jobs::job_record r;
    r.id = "known";
    r.platform = "every";
    r.settings_echo = R"({"token":"***"})";
    r.progress.push_back({"phase \"1\"", "state\n", fixed_now});
    return r;
  }
  std::vector<jobs::job_record> list(std::optional<jobs::job_status>, std::size_t) { return {}; }
  void heartbeat(std::string_view) {}
  std::vector<std::string> reap_lost_workers() { return {}; }
  jobs::job_store_counts counts() { return {}; }
  void ping() {}
  [[nodiscard]] std::string name() const { return "recording"; }
};

/// The value at `pointer` in `json` is the string "***" (or absent).
inline void require_redacted(std::string_view json, const char* pointer) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc, v;
  require(!parser.parse(simdjson::padded_string(json)).get(doc), "the echo is not JSON: " + std::string(json.substr(0, 200)));
  if (doc.at_pointer(pointer).get(v)) return;
  std::string_view s;
  require(!v.get(s) && s == "***", std::string("the echo shows the secret ") + pointer + ": " + std::string(json.substr(0, 200)));
}

/// Parses, and checks what an accepted or refused text must satisfy.
template <class T>
void settings_round_trip(std::string_view input, std::initializer_list<const char*> secrets) {
  std::optional<T> parsed;
  bool refused = false;
  const auto other = expect_errors("parse_settings", [&] {
    try {
      parsed = jobs::parse_settings<T>(input, fixed_now);
    } catch (const jobs::settings_error& e) {
      refused = true;
      require(e.code() == errc::invalid_config, std::string("refused with another code: ") + e.what());
      require(!e.problems().empty(), std::string("a refusal with no problem: ") + e.what());
      for (const auto& p : e.problems())
        require(!p.setting.empty() && !p.problem.empty(), std::string("a problem that names no setting or no reason: ") + e.what());
    }
  });
  require(!other, std::string("refused other than with a settings_error: ") + (other ? other->what() : ""));
  if (refused) return;
  const std::string with = jobs::settings_json_with_secrets(*parsed);
  const std::string echo = jobs::redacted_settings_json(*parsed);
  std::optional<T> again;
  const auto second = expect_errors("parse_settings again", [&] { again = jobs::parse_settings<T>(with, fixed_now); });
  require(!second, "settings written out with secrets are refused: " + with.substr(0, 200) + " (" + (second ? second->what() : "") + ")");
  require(jobs::settings_json_with_secrets(*again) == with, "not a fixed point: " + with.substr(0, 200));
  require(jobs::redacted_settings_json(*again) == echo, "the echo is not a fixed point: " + echo.substr(0, 200));
  for (const char* pointer : secrets) require_redacted(echo, pointer);
}

}  // namespace jobs_detail

inline void jobs_settings(std::string_view input) {
  jobs_detail::settings_round_trip<jobs_detail::every_kind_settings>(input, {"/token", "/storage/password"});
  jobs_detail::settings_round_trip<jobs_detail::storage_only_settings>(input, {"/storage/password"});
}

inline void jobs_run_body(std::string_view input) {
  const auto newline = input.find('\n');
  const std::string_view head = input.substr(0, newline);
  const std::string_view body = newline == std::string_view::npos ? std::string_view() : input.substr(newline + 1);
  const auto space = head.find(' ');
  if (space == std::string_view::npos) return;

  jobs_detail::recording_store store;
  manual_clock clock(jobs_detail::fixed_now);
  jobs::job_api_options options;
  options.max_body_bytes = 4096;
  jobs::basic_job_api<jobs_detail::recording_store, jobs_detail::platforms, manual_clock> api(store, clock, options);

  server_request request;
  request.method = std::string(head.substr(0, space));
  request.target = std::string(head.substr(space + 1));
  const auto question = request.target.find('?');
  request.path = request.target.substr(0, question);
  if (question != std::string::npos) {
    // name=value pairs split on '&', undecoded: the API reads them only through query_parameter.
    std::string_view q = std::string_view(request.target).substr(question + 1);
    while (!q.empty()) {
      const auto amp = q.find('&');
      const std::string_view pair = q.substr(0, amp);
      const auto eq = pair.find('=');
      request.query.emplace_back(std::string(pair.substr(0, eq)), eq == std::string_view::npos ? "" : std::string(pair.substr(eq + 1)));
      if (amp == std::string_view::npos) break;
      q.remove_prefix(amp + 1);
    }
  }
  request.body = std::string(body);
  const server_response res = api.handle(request);
  const int s = res.status;
  require(s == 200 || s == 400 || s == 404 || s == 405 || s == 413, "answered " + std::to_string(s) + ": " + res.body.substr(0, 200));
  if (request.path == "/execution/run" && s == 200) {
    require(store.submitted.size() == 1, "answered 200 without storing exactly one job");
  } else {
    require(store.submitted.empty(), "a job was stored, answered " + std::to_string(s) + ": " + res.body.substr(0, 200));
  }
  if (s == 200 && (request.path == "/metrics" || request.path == "/dashboard")) return;  // not JSON

  simdjson::dom::parser parser;
  simdjson::dom::element answer;
  require(!parser.parse(simdjson::padded_string(res.body)).get(answer), "the answer is not JSON: " + res.body.substr(0, 200));
  if (s != 200) {
    std::string_view message;
    require(!answer["error"].get(message) && !message.empty(), "a refusal without a message: " + res.body.substr(0, 200));
  }
  if (request.path != "/execution/run" || request.method != "POST") return;
  if (s == 400) {
    simdjson::dom::array problems;
    if (answer["problems"].get(problems)) {
      std::string_view message;
      if (answer["error"].get(message)) message = {};
      require(message == "the body is not valid JSON" || message == "the body must be a JSON object",
              "a 400 from /execution/run without problems: " + res.body.substr(0, 200));
      return;
    }
    require(problems.size() > 0, "a 400 listing no problem: " + res.body.substr(0, 200));
    for (const auto p : problems) {
      std::string_view setting, problem;
      require(!p["setting"].get(setting) && !setting.empty() && !p["problem"].get(problem) && !problem.empty(),
              "a problem that names no setting or no reason: " + res.body.substr(0, 200));
    }
    return;
  }
  if (s != 200) return;
  std::string_view job_id;
  require(!answer["job_id"].get(job_id) && job_id == "fuzz-job-1", "a 200 without the job id: " + res.body.substr(0, 200));
  const jobs::job_submission& sub = store.submitted.front();
  if (sub.platform == "every") {
    jobs_detail::settings_round_trip<jobs_detail::every_kind_settings>(sub.settings, {"/token", "/storage/password"});
    require(jobs::redacted_settings_json(jobs::parse_settings<jobs_detail::every_kind_settings>(sub.settings, jobs_detail::fixed_now)) ==
              sub.settings_echo, "the echo stored is not the settings' echo");
    jobs_detail::require_redacted(sub.settings_echo, "/token");
    jobs_detail::require_redacted(sub.settings_echo, "/storage/password");
  } else {
    require(sub.platform == "storage", "a job for an unknown platform: " + sub.platform);
    jobs_detail::settings_round_trip<jobs_detail::storage_only_settings>(sub.settings, {"/storage/password"});
    jobs_detail::require_redacted(sub.settings_echo, "/storage/password");
  }
}

}  // namespace tributary::fuzz
