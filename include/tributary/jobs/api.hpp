#pragma once
// basic_job_api<Store, Platforms, Clock, Sealer>: the job executor's HTTP API (JOBS.md, seed 003), a request
// handler for basic_http_server.
//
//   wall_clock clock;
//   jobs::sqlite_job_store store("/var/lib/jobs.db", clock);
//   jobs::basic_job_api<jobs::sqlite_job_store, jobs::platform_list<sleep_platform, report_platform>> api(store, clock);
//   thread_pool pool(4, 64);
//   basic_http_server http(pool, std::move(api), {.port = 8080});
//
// Routes (answers are JSON; errors are {"error": "...", ...}):
//   GET  /system/alive                 200 {"alive":true}, without touching the store
//   POST /system/alive                 the store pinged: 200 {"alive":true,"services":{"job_store":{...}}},
//                                      503 naming the store when it does not answer
//   GET  /platforms/get                {"platforms":[{"id","display_name","max_attempts","time_limit_s","settings":<schema>}]}
//   POST /execution/run                body {"_id": "...", "platform_id": "...", "settings": {...}} -> {"job_id": "..."}
//                                      400 naming every problem of the body and of the settings at once;
//                                      404 for an unknown platform, listing the known ones
//   GET  /execution/get?job_id=ID[&full]  the job (jobs::job_json); datasets only with &full; 404 unknown
//   POST /execution/cancel?job_id=ID   (or body {"job_id": ID}) -> {"job_id","outcome"}: "canceled" (it
//                                      was queued), "cancel requested" (it is running), "already over"
//   GET  /execution/list[?status=S][&limit=N]   {"jobs":[...]}, newest first, at most N (default 100)
//   GET  /metrics                      Prometheus text (0.0.4): jobs by status, queue depth, workers alive, and
//                                      by platform: jobs active, jobs ended (counters), a run duration histogram
//   GET  /dashboard                    one HTML page polling the routes above (jobs/dashboard.hpp)
// A wrong method is 405 with Allow; an unknown path 404 listing the routes. A store that fails is 503
// naming the store (its credentials redacted) with Retry-After; bad input is always a 4xx, never a 500.
//
// Settings are validated at submission against the Clock (relative dates included), and stored twice:
// normalized with secrets for the worker, sealed by the Sealer (jobs/seal.hpp: aes_gcm_sealer with the
// key file the workers have too), and redacted for every answer. Store: a jobs::job_store
// shared by the server's worker threads (the shipped stores guard themselves).

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <simdjson.h>

#include <tributary/clock/wall.hpp>
#include <tributary/concepts.hpp>
#include <tributary/detail/json_text.hpp>
#include <tributary/error.hpp>
#include <tributary/jobs/dashboard.hpp>
#include <tributary/jobs/job.hpp>
#include <tributary/jobs/platform.hpp>
#include <tributary/jobs/seal.hpp>
#include <tributary/jobs/settings.hpp>
#include <tributary/jobs/store.hpp>
#include <tributary/server/concepts.hpp>
#include <tributary/server/message.hpp>

namespace tributary::jobs {

struct job_api_options {
  std::size_t max_body_bytes = std::size_t{1} << 20;  ///< larger POST bodies are answered 413
  std::size_t default_list_limit = 100;
  std::size_t max_list_limit = 1000;
};

namespace detail {

using tributary::detail::append_quoted;

inline server_response api_error(int status, std::string_view message, std::string_view extra = {}) {
  std::string body = "{\"error\":";
  append_quoted(body, message);
  body += extra;
  body += '}';
  return server_response::json(status, std::move(body));
}

/// A Prometheus label value: backslash, double quote and newline escaped.
inline std::string prometheus_label(std::string_view v) {
  std::string out;
  for (const char c : v) {
    if (c == '\\' || c == '"') out += '\\', out += c;
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

/// A number as Prometheus reads it (shortest round-trip form).
inline std::string prometheus_number(double v) {
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

/// A request refused for its content, answered before the store is touched.
struct api_refusal {
  server_response response;
};

inline constexpr std::string_view api_routes =
  "GET|POST /system/alive, GET /platforms/get, POST /execution/run, GET /execution/get, POST /execution/cancel, "
  "GET /execution/list, GET /metrics, GET /dashboard";

}  // namespace detail

template <class Store, class Platforms, class Clock = wall_clock, class Sealer = no_sealing>
class basic_job_api {
  static_assert(job_store<Store>, "basic_job_api: Store does not model tributary::jobs::job_store (see jobs/store.hpp)");
  static_assert(clock<Clock>, "basic_job_api: Clock does not model tributary::clock (see concepts.hpp)");
  static_assert(settings_sealer<Sealer>, "basic_job_api: Sealer does not model tributary::jobs::settings_sealer (see jobs/seal.hpp)");
  static_assert(Platforms::size > 0, "basic_job_api: Platforms must be a non-empty jobs::platform_list (see jobs/platform.hpp)");

 public:
  using request_handler_concept = request_handler_tag;

  /// `store` and `clock` are the caller's and must outlive the API.
  basic_job_api(Store& store, Clock& clock, job_api_options options = {}, Sealer sealer = {})
      : store_(&store), clock_(&clock), options_(options), sealer_(std::move(sealer)) {}

  server_response handle(server_request& request) {
    try {
      return route(request);
    } catch (const detail::api_refusal& refusal) {
      return refusal.response;
    } catch (const error&) {
      // Only the store gets here: input is checked before it is touched. Its text may name internals;
      // the store's own (redacted) name is what the client is told.
      auto res = detail::api_error(503, "the job store is unavailable: " + store_->name());
      res.headers.emplace_back("Retry-After", "1");
      return res;
    }
  }

 private:
  server_response route(server_request& request) {
    const std::string_view path = request.path;
    const std::string_view m = request.method;
    if (path == "/system/alive") {
      if (m == "GET" || m == "HEAD") return server_response::json(200, "{\"alive\":true}");
      if (m == "POST") return diagnostics();
      return method_not_allowed("GET, POST");
    }
    if (path == "/platforms/get") return m == "GET" || m == "HEAD" ? platforms() : method_not_allowed("GET");
    if (path == "/execution/run") return m == "POST" ? run(request) : method_not_allowed("POST");
    if (path == "/execution/get") return m == "GET" || m == "HEAD" ? get(request) : method_not_allowed("GET");
    if (path == "/execution/cancel") return m == "POST" ? cancel(request) : method_not_allowed("POST");
    if (path == "/execution/list") return m == "GET" || m == "HEAD" ? list(request) : method_not_allowed("GET");
    if (path == "/metrics") return m == "GET" || m == "HEAD" ? metrics() : method_not_allowed("GET");
    if (path == "/dashboard") return m == "GET" || m == "HEAD" ? dashboard() : method_not_allowed("GET");
    return detail::api_error(404, "no such route; there are " + std::string(detail::api_routes));
  }

  static server_response method_not_allowed(std::string_view allow) {
    auto res = detail::api_error(405, "use " + std::string(allow));
    res.headers.emplace_back("Allow", std::string(allow));
    return res;
  }

  // POST /system/alive: every connected service answers, or the answer names the one that does not.
  server_response diagnostics() {
    std::string service = "{\"job_store\":{\"name\":";
    detail::append_quoted(service, store_->name());
    try {
      store_->ping();
    } catch (const error&) {
      auto res = detail::api_error(503, "the job store is unavailable: " + store_->name(),
                                   ",\"services\":" + service + ",\"ok\":false}}");
      res.headers.emplace_back("Retry-After", "1");
      return res;
    }
    return server_response::json(200, "{\"alive\":true,\"services\":" + service + ",\"ok\":true}}}");
  }

  // The store's counts, read at each scrape, so every API process over one store agrees.
  server_response metrics() {
    const job_store_counts c = store_->counts();
    auto status_label = [](job_status s) { return std::string(s == job_status::timed_out ? "timed_out" : to_string(s)); };
    std::string o = "# HELP tributary_jobs Jobs the store keeps (ended ones until their TTL), by status.\n# TYPE tributary_jobs gauge\n";
    for (std::size_t i = 0; i < std::size(all_job_statuses); ++i)
      o += "tributary_jobs{status=\"" + status_label(all_job_statuses[i]) + "\"} " + std::to_string(c.by_status[i]) + "\n";
    o += "# HELP tributary_jobs_queue_depth Jobs waiting for a worker.\n# TYPE tributary_jobs_queue_depth gauge\n";
    o += "tributary_jobs_queue_depth " + std::to_string(c.queue_depth) + "\n";
    o += "# HELP tributary_jobs_workers_alive Workers whose last heartbeat is within the heartbeat timeout.\n"
         "# TYPE tributary_jobs_workers_alive gauge\n";
    o += "tributary_jobs_workers_alive " + std::to_string(c.workers_alive) + "\n";
    if (!c.by_platform.empty()) {
      o += "# HELP tributary_jobs_active Jobs queued or running now, by platform.\n# TYPE tributary_jobs_active gauge\n";
      for (const auto& [platform, p] : c.by_platform) {
        const std::string label = "platform=\"" + detail::prometheus_label(platform) + "\"";
        o += "tributary_jobs_active{" + label + ",status=\"queued\"} " + std::to_string(p.queued) + "\n";
        o += "tributary_jobs_active{" + label + ",status=\"started\"} " + std::to_string(p.started) + "\n";
      }
      o += "# HELP tributary_jobs_ended_total Jobs that ended, by platform and how.\n# TYPE tributary_jobs_ended_total counter\n";
      for (const auto& [platform, p] : c.by_platform)
        for (std::size_t i = 0; i < std::size(all_job_statuses); ++i)
          if (is_terminal(all_job_statuses[i]))
            o += "tributary_jobs_ended_total{platform=\"" + detail::prometheus_label(platform) + "\",status=\"" +
                 status_label(all_job_statuses[i]) + "\"} " + std::to_string(p.ended[i]) + "\n";
      o += "# HELP tributary_job_duration_seconds How long runs ran, from their last start to their end, by platform.\n"
           "# TYPE tributary_job_duration_seconds histogram\n";
      for (const auto& [platform, p] : c.by_platform) {
        const std::string label = "platform=\"" + detail::prometheus_label(platform) + "\"";
        std::uint64_t cumulative = 0;
        for (std::size_t b = 0; b < p.durations.size(); ++b) {
          cumulative += p.durations[b];
          o += "tributary_job_duration_seconds_bucket{" + label + ",le=\"" +
               (b < std::size(job_duration_buckets_s) ? detail::prometheus_number(job_duration_buckets_s[b]) : std::string("+Inf")) +
               "\"} " + std::to_string(cumulative) + "\n";
        }
        o += "tributary_job_duration_seconds_sum{" + label + "} " + detail::prometheus_number(p.duration_sum_s) + "\n";
        o += "tributary_job_duration_seconds_count{" + label + "} " + std::to_string(cumulative) + "\n";
      }
    }
    auto res = server_response::text(200, std::move(o), "text/plain; version=0.0.4");
    res.headers.emplace_back("Cache-Control", "no-store");
    return res;
  }

  // The page polls this API from its own origin; nothing else may be loaded or reached from it.
  static server_response dashboard() {
    auto res = server_response::text(200, std::string(dashboard_html), "text/html; charset=utf-8");
    res.headers.emplace_back("Content-Security-Policy",
                             "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; "
                             "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'");
    res.headers.emplace_back("Cache-Control", "no-store");
    res.headers.emplace_back("X-Content-Type-Options", "nosniff");
    return res;
  }

  server_response platforms() const {
    std::string out = "{\"platforms\":[";
    bool first = true;
    Platforms::each([&]<class P>() {
      if (!first) out += ',';
      first = false;
      out += "{\"id\":";
      detail::append_quoted(out, P::id);
      out += ",\"display_name\":";
      detail::append_quoted(out, P::display_name);
      out += ",\"max_attempts\":" + std::to_string(static_cast<unsigned>(P::max_attempts));
      out += ",\"time_limit_s\":" + std::to_string(std::chrono::seconds(P::time_limit).count());
      out += ",\"settings\":" + settings_schema<typename P::settings_type>() + "}";
    });
    out += "]}";
    return server_response::json(200, std::move(out));
  }

  std::string known_platforms_json() const {
    std::string out = "[";
    bool first = true;
    Platforms::each([&]<class P>() {
      if (!first) out += ',';
      first = false;
      detail::append_quoted(out, P::id);
    });
    return out + "]";
  }

  simdjson::dom::element parse_body(simdjson::dom::parser& parser, const server_request& request) const {
    if (request.body.size() > options_.max_body_bytes)
      throw detail::api_refusal{detail::api_error(413, "body larger than max_body_bytes " + std::to_string(options_.max_body_bytes))};
    simdjson::dom::element doc;
    if (parser.parse(simdjson::padded_string(request.body)).get(doc) != simdjson::SUCCESS)
      throw detail::api_refusal{detail::api_error(400, "the body is not valid JSON")};
    if (!doc.is_object()) throw detail::api_refusal{detail::api_error(400, "the body must be a JSON object")};
    return doc;
  }

  static std::string problems_json(const std::vector<setting_problem>& problems) {
    std::string out = ",\"problems\":[";
    for (std::size_t i = 0; i < problems.size(); ++i) {
      out += i ? ",{\"setting\":" : "{\"setting\":";
      detail::append_quoted(out, problems[i].setting);
      out += ",\"problem\":";
      detail::append_quoted(out, problems[i].problem);
      out += '}';
    }
    return out + "]";
  }

  // POST /execution/run: the body's own fields first (all of their problems at once), then the
  // platform, then its settings (all of theirs at once); only a valid job reaches the store.
  server_response run(const server_request& request) {
    simdjson::dom::parser parser;
    const simdjson::dom::object body = parse_body(parser, request).get_object().value_unsafe();
    std::vector<setting_problem> problems;
    std::string client_id, platform_id;
    simdjson::dom::element settings, v;
    if (body["_id"].get(v) == simdjson::SUCCESS) {
      if (v.is_string()) client_id = std::string(v.get_string().value_unsafe());
      else problems.push_back({"_id", "must be a string"});
    }
    if (body["platform_id"].get(v) != simdjson::SUCCESS) problems.push_back({"platform_id", "missing: a required string"});
    else if (!v.is_string()) problems.push_back({"platform_id", "must be a string"});
    else platform_id = std::string(v.get_string().value_unsafe());
    const bool has_settings = body["settings"].get(settings) == simdjson::SUCCESS;
    if (!has_settings) problems.push_back({"settings", "missing: a required object"});
    for (const auto member : body)
      if (member.key != "_id" && member.key != "platform_id" && member.key != "settings")
        problems.push_back({detail::key_name(member.key), "unknown field (the body has _id, platform_id and settings)"});
    if (!problems.empty()) return detail::api_error(400, "invalid request", problems_json(problems));

    std::optional<server_response> answer;
    const bool known = Platforms::visit(platform_id, [&]<class P>() {
      try {
        const auto parsed = parse_settings<typename P::settings_type>(settings, clock_->now());
        job_submission s;
        s.client_id = client_id;
        s.platform = std::string(P::id);
        s.settings = sealer_.seal(P::id, settings_json_with_secrets(parsed));
        s.settings_echo = redacted_settings_json(parsed);
        s.max_attempts = static_cast<unsigned>(P::max_attempts);
        s.time_limit = std::chrono::seconds(P::time_limit);
        std::string out = "{\"job_id\":";
        detail::append_quoted(out, store_->submit(s));
        answer = server_response::json(200, out + "}");
      } catch (const settings_error& e) {
        std::vector<setting_problem> named = e.problems();
        for (auto& p : named) p.setting = p.setting == "settings" ? p.setting : "settings." + p.setting;
        answer = detail::api_error(400, "invalid settings for platform " + std::string(P::id), problems_json(named));
      }
    });
    if (!known)
      return detail::api_error(404, "unknown platform '" + detail::excerpt(platform_id) + "'", ",\"platforms\":" + known_platforms_json());
    return std::move(*answer);
  }

  static std::string job_id_of(const server_request& request, const simdjson::dom::object* body) {
    if (const auto q = request.query_parameter("job_id"); q && !q->empty()) return std::string(*q);
    simdjson::dom::element v;
    if (body && (*body)["job_id"].get(v) == simdjson::SUCCESS && v.is_string() && !v.get_string().value_unsafe().empty())
      return std::string(v.get_string().value_unsafe());
    throw detail::api_refusal{detail::api_error(400, "missing job_id (a query parameter: ?job_id=ID)")};
  }

  server_response get(const server_request& request) {
    const std::string id = job_id_of(request, nullptr);
    const bool full = request.query_parameter("full").has_value();
    const auto job = store_->get(id, full);
    if (!job) return unknown_job(id);
    auto res = server_response::json(200, job_json(*job, full));
    res.headers.emplace_back("Cache-Control", "no-store");
    return res;
  }

  static server_response unknown_job(std::string_view id) {
    return detail::api_error(404, "unknown job '" + detail::excerpt(id) + "' (never submitted, or forgotten after its TTL)");
  }

  server_response cancel(const server_request& request) {
    std::string id;
    if (request.body.empty()) {
      id = job_id_of(request, nullptr);
    } else {
      simdjson::dom::parser parser;
      const simdjson::dom::object body = parse_body(parser, request).get_object().value_unsafe();
      id = job_id_of(request, &body);
    }
    const cancel_outcome outcome = store_->cancel(id);
    if (outcome == cancel_outcome::unknown_job) return unknown_job(id);
    std::string out = "{\"job_id\":";
    detail::append_quoted(out, id);
    out += ",\"outcome\":";
    out += outcome == cancel_outcome::canceled ? "\"canceled\"" : outcome == cancel_outcome::requested ? "\"cancel requested\"" : "\"already over\"";
    return server_response::json(200, out + "}");
  }

  server_response list(const server_request& request) {
    std::optional<job_status> status;
    if (const auto s = request.query_parameter("status"); s && !s->empty()) {
      status = job_status_from(*s);
      if (!status) {
        std::string known;
        for (const auto st : all_job_statuses) known += (known.empty() ? "" : ", ") + std::string(to_string(st));
        return detail::api_error(400, "unknown status '" + detail::excerpt(*s) + "'; there are " + known);
      }
    }
    std::size_t limit = options_.default_list_limit;
    if (const auto l = request.query_parameter("limit")) {
      const auto [end, ec] = std::from_chars(l->data(), l->data() + l->size(), limit);
      if (ec != std::errc() || end != l->data() + l->size() || limit == 0 || limit > options_.max_list_limit)
        return detail::api_error(400, "limit must be an integer from 1 to " + std::to_string(options_.max_list_limit));
    }
    std::string out = "{\"jobs\":[";
    const auto jobs = store_->list(status, limit);
    for (std::size_t i = 0; i < jobs.size(); ++i) {
      if (i) out += ',';
      out += job_json(jobs[i], false);
    }
    auto res = server_response::json(200, out + "]}");
    res.headers.emplace_back("Cache-Control", "no-store");
    return res;
  }

  Store* store_;
  Clock* clock_;
  job_api_options options_;
  Sealer sealer_;
};

}  // namespace tributary::jobs
