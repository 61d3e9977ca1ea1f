#pragma once
// The job record: what a job store keeps about one job and what GET /execution/get answers.
//
// Statuses: queued -> started -> finished | failed | canceled | timed_out, and started -> queued when
// the worker running it was lost and the platform allows another attempt. A queued job may be canceled
// at once; a started one is asked to stop (cancel_requested) and ends canceled when its run sees it.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <tributary/detail/json_text.hpp>

namespace tributary::jobs {

enum class job_status { queued, started, finished, failed, canceled, timed_out };

inline constexpr job_status all_job_statuses[] = {job_status::queued,   job_status::started,  job_status::finished,
                                                  job_status::failed,   job_status::canceled, job_status::timed_out};

[[nodiscard]] constexpr std::string_view to_string(job_status s) noexcept {
  switch (s) {
    case job_status::queued: return "queued";
    case job_status::started: return "started";
    case job_status::finished: return "finished";
    case job_status::failed: return "failed";
    case job_status::canceled: return "canceled";
    case job_status::timed_out: return "timed out";
  }
  return "unknown";
}

/// The status named `text` ("timed out" or "timed_out" for the last); nullopt for anything else.
[[nodiscard]] constexpr std::optional<job_status> job_status_from(std::string_view text) noexcept {
  for (const auto s : all_job_statuses)
    if (to_string(s) == text) return s;
  if (text == "timed_out") return job_status::timed_out;
  return std::nullopt;
}

[[nodiscard]] constexpr bool is_terminal(job_status s) noexcept {
  return s != job_status::queued && s != job_status::started;
}

/// What POST /execution/run hands a store: everything a worker needs, and the redacted echo.
struct job_submission {
  std::string client_id;      ///< the seed's "_id": the client's name for the job (not unique)
  std::string platform;       ///< platform_id
  std::string settings;       ///< normalized settings with secrets: for the worker only
  std::string settings_echo;  ///< the same with every secret "***": for answers and logs
  unsigned max_attempts = 1;  ///< runs allowed when workers are lost (1: a lost worker fails the job)
  std::chrono::milliseconds time_limit{std::chrono::hours(1)};
};

/// One progress report: a phase ("login") and its state ("started", "done", "3/10").
struct job_phase {
  std::string phase;
  std::string state;
  std::chrono::system_clock::time_point at{};
};

struct job_record {
  using time_point = std::chrono::system_clock::time_point;
  std::string id;
  std::string client_id;
  std::string platform;
  job_status status = job_status::queued;
  std::string settings;       ///< with secrets; never answered
  std::string settings_echo;  ///< secrets "***"
  std::string result;         ///< JSON text the platform returned (finished)
  std::string error;          ///< why it failed, timed out or was canceled
  std::string worker;         ///< who runs or ran it
  std::string note;           ///< e.g. "retried after worker W was lost"
  unsigned attempts = 0;
  unsigned max_attempts = 1;
  std::chrono::milliseconds time_limit{0};
  bool cancel_requested = false;
  time_point enqueued_at{}, started_at{}, ended_at{};
  std::vector<job_phase> progress;              ///< every report, in order
  std::map<std::string, std::string> datasets;  ///< only when asked for in full
};

/// A fresh job id: 128 random bits in hex. random_device reads the kernel's generator on Linux.
[[nodiscard]] inline std::string new_job_id() {
  std::random_device rd;
  static constexpr char hex[] = "0123456789abcdef";
  std::string id;
  for (int i = 0; i < 4; ++i) {
    const std::uint32_t w = rd();
    for (int b = 0; b < 8; ++b) id += hex[(w >> (b * 4)) & 0xF];
  }
  return id;
}

[[nodiscard]] inline std::int64_t to_millis(std::chrono::system_clock::time_point t) noexcept {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}
[[nodiscard]] inline std::chrono::system_clock::time_point from_millis(std::int64_t ms) noexcept {
  return std::chrono::system_clock::time_point(std::chrono::milliseconds(ms));
}

/// The job as GET /execution/get answers it. Progress by phase: each phase once, in the order first
/// reported, with its latest state. Datasets only when `full`. Never the settings with secrets.
[[nodiscard]] inline std::string job_json(const job_record& j, bool full) {
  using tributary::detail::append_quoted;
  std::string o = "{\"job_id\":";
  append_quoted(o, j.id);
  o += ",\"_id\":";
  append_quoted(o, j.client_id);
  o += ",\"platform_id\":";
  append_quoted(o, j.platform);
  o += ",\"status\":";
  append_quoted(o, to_string(j.status));
  o += ",\"attempts\":" + std::to_string(j.attempts) + ",\"max_attempts\":" + std::to_string(j.max_attempts);
  auto time = [&](const char* name, job_record::time_point t) {
    o += ",\"";
    o += name;
    o += "\":";
    o += t == job_record::time_point{} ? "null" : std::to_string(to_millis(t));
  };
  time("enqueued_at_ms", j.enqueued_at);
  time("started_at_ms", j.started_at);
  time("ended_at_ms", j.ended_at);
  if (!j.worker.empty()) o += ",\"worker\":", append_quoted(o, j.worker);
  if (!j.note.empty()) o += ",\"note\":", append_quoted(o, j.note);
  if (j.cancel_requested) o += ",\"cancel_requested\":true";
  o += ",\"settings\":";
  o += j.settings_echo.empty() ? "{}" : j.settings_echo;
  o += ",\"progress\":{";
  std::vector<const job_phase*> latest;  // first-reported order, latest state
  for (const auto& p : j.progress) {
    bool found = false;
    for (auto& l : latest)
      if (l->phase == p.phase) l = &p, found = true;
    if (!found) latest.push_back(&p);
  }
  for (std::size_t i = 0; i < latest.size(); ++i) {
    if (i) o += ',';
    append_quoted(o, latest[i]->phase);
    o += ":{\"state\":";
    append_quoted(o, latest[i]->state);
    o += ",\"at_ms\":" + std::to_string(to_millis(latest[i]->at)) + "}";
  }
  o += '}';
  if (j.status == job_status::finished) o += ",\"result\":" + (j.result.empty() ? std::string("null") : j.result);
  if (!j.error.empty()) o += ",\"error\":", append_quoted(o, j.error);
  if (full) {
    o += ",\"datasets\":{";
    bool first = true;
    for (const auto& [tag, text] : j.datasets) {
      if (!first) o += ',';
      first = false;
      append_quoted(o, tag);
      o += ':';
      append_quoted(o, text);
    }
    o += '}';
  }
  o += '}';
  return o;
}

}  // namespace tributary::jobs
