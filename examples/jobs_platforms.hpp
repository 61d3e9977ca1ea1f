#pragma once
// The platforms the jobs examples serve and run, and the store chosen by --store. Shared by
// jobs_api.cpp and jobs_worker.cpp so both agree on the platform list.
//
//   xroad_collection  one environment's X-Road collection (jobs_xroad_collection.hpp)
//   http_to_store     JSON fetched over curl_transport into an index of a store (jobs_http_to_store.hpp)
//   sleep             sleeps `ms` in steps, reporting progress and seeing cancellation; `fail` makes it fail
//   report            the seed's example shape: a date range (relative dates), credentials, and a nested
//                     storage {type, settings}; it reports its phases (login, fetch, store) and returns counts

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>

#include <tributary/error.hpp>
#include <tributary/jobs/platform.hpp>
#include <tributary/jobs/settings.hpp>

#include "jobs_http_to_store.hpp"
#include "jobs_xroad_collection.hpp"

namespace tributary::examples::jobs_demo {

namespace jobs = tributary::jobs;

struct sleep_settings {
  using settings_concept = jobs::settings_tag;
  std::int64_t ms = 0;
  bool fail = false;
  static constexpr auto settings() {
    return std::tuple{jobs::setting("ms", &sleep_settings::ms).between(0, 3'600'000).defaults_to(1000).describe("how long to sleep"),
                      jobs::setting("fail", &sleep_settings::fail).defaults_to(false).describe("fail at the end")};
  }
};

struct sleep_platform {
  using platform_concept = jobs::platform_tag;
  using settings_type = sleep_settings;
  static constexpr std::string_view id = "sleep", display_name = "Sleep (tests and demos)";
  static constexpr unsigned max_attempts = 2;
  static constexpr std::chrono::seconds time_limit{600};
  std::string run(const sleep_settings& s, jobs::job_context& context) {
    const auto step = std::chrono::milliseconds(50);
    const auto start = std::chrono::steady_clock::now();
    std::int64_t done = 0;
    while (done < s.ms) {
      context.throw_if_canceled();
      std::this_thread::sleep_for(std::min<std::chrono::milliseconds>(step, std::chrono::milliseconds(s.ms - done)));
      done = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
      context.progress("sleep", std::to_string(std::min(done, s.ms)) + "/" + std::to_string(s.ms) + " ms");
    }
    if (s.fail) throw std::runtime_error("asked to fail (fail: true)");
    return "{\"slept_ms\":" + std::to_string(s.ms) + "}";
  }
};

struct storage_settings {
  using settings_concept = jobs::settings_tag;
  std::string hostname, db, username, table;
  jobs::secret password;
  static constexpr auto settings() {
    return std::tuple{jobs::setting("hostname", &storage_settings::hostname), jobs::setting("db", &storage_settings::db),
                      jobs::setting("username", &storage_settings::username),
                      jobs::setting("password", &storage_settings::password), jobs::setting("table", &storage_settings::table)};
  }
};
struct storage_choice {
  using settings_concept = jobs::settings_tag;
  std::string type;
  storage_settings target;
  static constexpr auto settings() {
    return std::tuple{jobs::enumeration("type", &storage_choice::type, {"mysql", "postgres", "sqlite"}),
                      jobs::setting("settings", &storage_choice::target)};
  }
};
struct report_settings {
  using settings_concept = jobs::settings_tag;
  jobs::date start_date, end_date;
  std::string username;
  jobs::secret password;
  storage_choice storage;
  static constexpr auto settings() {
    return std::tuple{jobs::setting("start_date", &report_settings::start_date).describe("first day reported"),
                      jobs::setting("end_date", &report_settings::end_date).defaults_to("yesterday"),
                      jobs::setting("username", &report_settings::username),
                      jobs::setting("password", &report_settings::password),
                      jobs::setting("storage", &report_settings::storage)};
  }
};

struct report_platform {
  using platform_concept = jobs::platform_tag;
  using settings_type = report_settings;
  static constexpr std::string_view id = "report", display_name = "Daily report (the seed's example shape)";
  static constexpr unsigned max_attempts = 1;
  static constexpr std::chrono::seconds time_limit{300};
  std::string run(const report_settings& s, jobs::job_context& context) {
    if (s.end_date.day < s.start_date.day) throw std::runtime_error("end_date is before start_date");
    context.progress("login", "started");
    context.progress("login", "done as " + s.username);
    const auto days = (s.end_date.day - s.start_date.day).count() + 1;
    std::string original;
    for (std::int64_t d = 0; d < days; ++d) {
      context.throw_if_canceled();
      original += jobs::iso_date(s.start_date.day + std::chrono::days(d)) + ",42\n";
      context.progress("fetch", std::to_string(d + 1) + "/" + std::to_string(days) + " days");
    }
    context.dataset("original", original);
    context.progress("store", "into " + s.storage.type + " " + s.storage.target.table);
    return "{\"days\":" + std::to_string(days) + ",\"from\":\"" + jobs::iso_date(s.start_date.day) + "\",\"to\":\"" +
           jobs::iso_date(s.end_date.day) + "\"}";
  }
};

using platforms = jobs::platform_list<xroad_collection_platform, http_to_store_platform, sleep_platform, report_platform>;

/// --store: sqlite:///absolute/path, sqlite:relative/path or redis://...; the kind it names.
enum class store_kind { sqlite, redis };
struct store_choice {
  store_kind kind;
  std::string where;  ///< the SQLite path or the Redis URL
};
inline store_choice parse_store(std::string_view text) {
  if (text.starts_with("redis://")) return {store_kind::redis, std::string(text)};
  if (text.starts_with("sqlite://")) return {store_kind::sqlite, std::string(text.substr(9))};
  if (text.starts_with("sqlite:")) return {store_kind::sqlite, std::string(text.substr(7))};
  throw error(errc::invalid_config, "--store wants sqlite:///PATH or redis://HOST:6379/DB (--help shows the forms)");
}

}  // namespace tributary::examples::jobs_demo
