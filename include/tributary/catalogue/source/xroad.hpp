#pragma once
// xroad_source: catalogue documents from an X-Road security server's metaservices.
//
//   GET {base}/listClients                                         the providers (subsystems)
//   GET {base}/r1/{instance}/{class}/{code}/{subsystem}/listMethods the provider's REST service codes
//   GET {base}/r1/.../getOpenAPI?serviceCode={code}                one OpenAPI document per service code
//
// Service codes are grouped by their base (`getPerson-v2` → `getPerson`): one `service` document per
// group, one detail per version. A provider that fails is reported and skipped; a version whose
// OpenAPI document fails or is invalid becomes a warning and is skipped; the run goes on.
// Failures and warnings name the URL requested through redact_url: credentials in the base URL
// (`http://user:password@ss:8080`, sent as basic authentication by curl) never reach a report.
// Links against tributary::xroad (yaml-cpp: OpenAPI documents may be YAML or JSON; see openapi.hpp).

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <ctime>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <simdjson.h>
#include <yaml-cpp/yaml.h>

#include <tributary/catalogue/service_record.hpp>
#include <tributary/catalogue/source/openapi.hpp>
#include <tributary/detail/excerpt.hpp>
#include <tributary/detail/json_text.hpp>
#include <tributary/detail/percent.hpp>
#include <tributary/catalogue/document.hpp>
#include <tributary/catalogue/document_json.hpp>
#include <tributary/error.hpp>
#include <tributary/redact.hpp>
#include <tributary/transport/http.hpp>

namespace tributary {

/// An X-Road subsystem identifier: `{instance}/{class}/{code}/{subsystem}`.
struct xroad_subsystem_id {
  std::string instance, member_class, member_code, subsystem_code;

  [[nodiscard]] std::string str() const {
    return instance + '/' + member_class + '/' + member_code + '/' + subsystem_code;
  }
  /// Parses `{instance}/{class}/{code}/{subsystem}`; nullopt unless there are exactly four non-empty parts.
  [[nodiscard]] static std::optional<xroad_subsystem_id> parse(std::string_view text) {
    std::vector<std::string> parts;
    std::size_t start = 0;
    while (true) {
      const auto slash = text.find('/', start);
      parts.emplace_back(text.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
      if (slash == std::string_view::npos) break;
      start = slash + 1;
    }
    if (parts.size() != 4) return std::nullopt;
    for (const auto& p : parts)
      if (p.empty()) return std::nullopt;
    return xroad_subsystem_id{parts[0], parts[1], parts[2], parts[3]};
  }
  friend bool operator==(const xroad_subsystem_id&, const xroad_subsystem_id&) = default;
};

/// What a subsystem code says about the subsystem (DESIGN.md "Data model").
enum class subsystem_kind {
  client,               ///< code ends in `client`: consumes services, is not a provider
  private_provider,     ///< ends in `private`: a provider that is not catalogued
  protected_provider,   ///< ends in `protected`, or no suffix
  public_provider,      ///< ends in `public`: also reachable through the API gateway
};

namespace detail {
[[nodiscard]] inline bool ends_with_nocase(std::string_view s, std::string_view suffix) noexcept {
  if (s.size() < suffix.size()) return false;
  s = s.substr(s.size() - suffix.size());
  for (std::size_t i = 0; i < s.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[i])) != std::tolower(static_cast<unsigned char>(suffix[i])))
      return false;
  return true;
}
}  // namespace detail

[[nodiscard]] inline subsystem_kind classify_subsystem(std::string_view subsystem_code) noexcept {
  if (detail::ends_with_nocase(subsystem_code, "client")) return subsystem_kind::client;
  if (detail::ends_with_nocase(subsystem_code, "private")) return subsystem_kind::private_provider;
  if (detail::ends_with_nocase(subsystem_code, "public")) return subsystem_kind::public_provider;
  return subsystem_kind::protected_provider;
}

/// The current time as ISO 8601 UTC with milliseconds, e.g. `2021-02-19T12:13:08.620Z`.
[[nodiscard]] inline std::string utc_now_iso8601() {
  const auto now = std::chrono::system_clock::now();
  const auto secs = std::chrono::time_point_cast<std::chrono::seconds>(now);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now - secs).count();
  const std::time_t t = std::chrono::system_clock::to_time_t(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  const auto n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::string out(buf, n);
  char frac[8];
  std::snprintf(frac, sizeof frac, ".%03dZ", static_cast<int>(ms));
  return out + frac;
}

/// Reads `{"<environment>": {"<member code there>": "<canonical member code>"}, ...}`.
/// Throws errc::invalid_config when the text is not of that shape.
[[nodiscard]] inline member_code_mapping parse_member_code_mapping(std::string_view json) {
  member_code_mapping mapping;
  try {
    simdjson::ondemand::parser parser;
    const simdjson::padded_string padded(json);
    simdjson::ondemand::document doc = parser.iterate(padded);
    for (auto env : doc.get_object()) {
      const std::string environment(std::string_view(env.unescaped_key()));
      for (auto code : env.value().get_object()) {
        std::string from(std::string_view(code.unescaped_key()));
        std::string to(std::string_view(code.value().get_string()));
        mapping.add(environment, std::move(from), std::move(to));
      }
    }
    // On-demand parsing stops after the object: text after it (a second object) is an error too.
    if (doc.current_location().error() != simdjson::OUT_OF_BOUNDS) throw simdjson::simdjson_error(simdjson::TRAILING_CONTENT);
  } catch (const simdjson::simdjson_error& e) {
    throw error(errc::invalid_config, std::string("member code mapping: expected {\"<environment>\": "
                                                  "{\"<member code>\": \"<canonical code>\"}}: ") + e.what());
  }
  return mapping;
}

[[nodiscard]] inline member_code_mapping load_member_code_mapping(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw error(errc::invalid_config, "member code mapping: cannot read '" + file.string() + "'");
  std::ostringstream text;
  text << in.rdbuf();
  return parse_member_code_mapping(text.str());
}

struct xroad_source_config {
  std::string base_url;          ///< the security server, e.g. `https://ss.dev.example:8443`
  xroad_subsystem_id client;     ///< sent as `X-Road-Client` on every metaservice request
  std::string environment;       ///< dev, staging, prod, ...
  member_code_mapping member_codes;
  /// The `collected` stamp of each detail; injectable so tests are clock-free.
  std::function<std::string()> collected = utc_now_iso8601;
  /// Optional: things skipped on purpose (a version opted out of the catalogue). Not warnings.
  std::function<void(const provider&, std::string_view)> on_note;
};

namespace detail {

inline std::string describe_failure(const http_response& r) {
  if (!r.error.empty()) return r.error;
  std::string out = "HTTP " + std::to_string(r.status);
  // An error page's HTML, cut: one line of whole characters (it goes to logs and JSON reports).
  if (!r.body.empty()) out.append(": ").append(excerpt(r.body, 200, true));
  return out;
}

}  // namespace detail

/// The X-Road source. Models tributary::source for any transport.
class xroad_source {
 public:
  using source_concept = source_tag;
  using record_model = service_record;

  explicit xroad_source(xroad_source_config config) : config_(std::move(config)) {
    while (!config_.base_url.empty() && config_.base_url.back() == '/') config_.base_url.pop_back();
    if (config_.base_url.empty()) throw error(errc::invalid_config, "xroad_source: the security server base URL is empty");
    if (config_.environment.empty()) throw error(errc::invalid_config, "xroad_source: the environment name is empty");
    const auto& c = config_.client;
    if (c.instance.empty() || c.member_class.empty() || c.member_code.empty() || c.subsystem_code.empty())
      throw error(errc::invalid_config,
                  "xroad_source: the client id needs instance, member class, member code and subsystem code");
    if (!config_.collected) config_.collected = utc_now_iso8601;
    client_header_ = c.str();
  }

  [[nodiscard]] const xroad_source_config& config() const noexcept { return config_; }

  /// The catalogued providers: subsystems not ending in `client` and not private, in listing order.
  template <class Transport>
  std::vector<provider> list_providers(Transport& transport) {
    const std::string url = config_.base_url + "/listClients";
    http_request req;
    req.url = url;
    req.headers = {{"Accept", "application/json"}, {"X-Road-Client", client_header_}};
    const http_response res = transport.perform(std::move(req));
    if (!res.ok())
      throw error(errc::source_failed, redact_urls_in("listClients " + url + " failed: " + detail::describe_failure(res)));
    try {
      return parse_clients(res.body);
    } catch (const simdjson::simdjson_error& e) {
      throw error(errc::source_failed, redact_urls_in("listClients " + url + " answered malformed JSON: " + e.what()));
    }
  }

  /// Collects `providers`, at most `concurrency` of them in flight at once; `on_outcome(const provider&,
  /// provider_outcome&&)` runs on the calling thread once per provider, in the order given.
  /// Over a streaming_transport a provider starts as soon as another finishes (a sliding window);
  /// over any other transport providers go in waves of `concurrency`, each waiting for its slowest.
  template <class Transport, class F>
  void collect(Transport& transport, std::span<const provider> providers, std::size_t concurrency, F&& on_outcome) {
    const std::size_t window = std::max<std::size_t>(concurrency, 1);
    if constexpr (streaming_transport<Transport>) {
      collect_streaming(transport, providers, window, on_outcome);
    } else {
      for (std::size_t start = 0; start < providers.size(); start += window) {
        const auto batch = providers.subspan(start, std::min(window, providers.size() - start));
        collect_wave(transport, batch, on_outcome);
      }
    }
  }

  /// Over a streaming transport, how many providers may have finished and wait for an earlier, slower
  /// one to be reported first, as a multiple of the concurrency: a bound on the outcomes held in memory.
  static constexpr std::size_t held_outcomes_per_slot = 4;

 private:
  struct pending {
    const provider* who = nullptr;
    xroad_subsystem_id id;
    std::string prefix;  ///< {base}/r1/{instance}/{class}/{code}/{subsystem}
    std::vector<std::string> codes;
    std::vector<std::optional<http_response>> specs;  ///< by code
    provider_outcome outcome;
    std::size_t outstanding = 0;  ///< getOpenAPI answers still to come (streaming)
    bool done = false;            ///< outcome final, waiting to be reported (streaming)
  };

  http_request get(std::string url) const {
    http_request req;
    req.url = std::move(url);
    req.headers = {{"Accept", "application/json"}, {"X-Road-Client", client_header_}};
    return req;
  }

  /// Parses the provider's id and builds its URL prefix; false (with the failure recorded) when invalid.
  bool prepare(pending& w, const provider& p) const {
    w.who = &p;
    auto id = xroad_subsystem_id::parse(p.id);
    if (!id) {
      w.outcome.failure = "provider id '" + p.id + "' is not {instance}/{class}/{code}/{subsystem}";
      return false;
    }
    w.id = std::move(*id);
    w.prefix = config_.base_url + "/r1/" + detail::percent_encode(w.id.instance) + '/' +
               detail::percent_encode(w.id.member_class) + '/' + detail::percent_encode(w.id.member_code) + '/' +
               detail::percent_encode(w.id.subsystem_code);
    return true;
  }

  [[nodiscard]] http_request list_methods_request(const pending& w) const { return get(w.prefix + "/listMethods"); }
  [[nodiscard]] http_request spec_request(const pending& w, std::size_t k) const {
    return get(w.prefix + "/getOpenAPI?serviceCode=" + detail::percent_encode(w.codes[k]));
  }

  /// Reads a listMethods answer into w.codes, or records why the provider failed.
  static void take_methods(pending& w, const http_response& res) {
    if (!res.ok()) {
      w.outcome.failure = redact_urls_in("listMethods " + w.prefix + "/listMethods failed: " + detail::describe_failure(res));
      return;
    }
    try {
      w.codes = parse_methods(res.body);
    } catch (const simdjson::simdjson_error& e) {
      w.outcome.failure = redact_urls_in("listMethods " + w.prefix + "/listMethods answered malformed JSON: " + e.what());
    }
    w.specs.resize(w.codes.size());
  }

  template <class Transport, class F>
  void collect_wave(Transport& transport, std::span<const provider> batch, F& on_outcome) {
    std::vector<pending> work(batch.size());
    std::vector<http_request> requests;
    std::vector<std::size_t> owner;  // request position → index in work
    for (std::size_t i = 0; i < batch.size(); ++i) {
      if (!prepare(work[i], batch[i])) continue;
      requests.push_back(list_methods_request(work[i]));
      owner.push_back(i);
    }

    // Stage 1: every provider's listMethods at once.
    transport.perform_all(std::move(requests),
                          [&](std::size_t pos, http_response&& res) { take_methods(work[owner[pos]], res); });

    // Stage 2: every version's OpenAPI document of the wave at once.
    requests.clear();
    std::vector<std::pair<std::size_t, std::size_t>> spec_owner;  // request position → (work, code)
    for (std::size_t i = 0; i < work.size(); ++i) {
      auto& w = work[i];
      if (!w.outcome.ok()) continue;
      for (std::size_t k = 0; k < w.codes.size(); ++k) {
        requests.push_back(spec_request(w, k));
        spec_owner.emplace_back(i, k);
      }
    }
    if (!requests.empty())
      transport.perform_all(std::move(requests), [&](std::size_t pos, http_response&& res) {
        const auto [i, k] = spec_owner[pos];
        work[i].specs[k] = std::move(res);
      });

    // Stage 3: documents, then one outcome per provider in the order given.
    for (auto& w : work) {
      if (w.outcome.ok()) build_services(w);
      on_outcome(*w.who, std::move(w.outcome));
    }
  }

  /// The sliding window: a provider's getOpenAPI requests are made as soon as its listMethods answers,
  /// and a new provider starts as soon as one finishes. Its documents are built when its last answer
  /// arrives, while the others' requests are in flight.
  template <class Transport, class F>
  void collect_streaming(Transport& transport, std::span<const provider> providers, std::size_t concurrency,
                         F& on_outcome) {
    static constexpr std::size_t list_methods = static_cast<std::size_t>(-1);
    struct ticket {
      std::size_t provider;  // index into providers
      std::size_t code;      // into its codes, or list_methods
    };
    std::deque<pending> work;    // providers[reported ..] that have started; deque: references stay valid
    std::size_t reported = 0;    // providers whose outcome went to on_outcome
    std::size_t active = 0;      // started providers with requests outstanding
    std::deque<ticket> queue;    // requests not yet handed to the transport, oldest provider first
    std::vector<ticket> tickets; // by the transport's ticket number
    const std::size_t held = concurrency * held_outcomes_per_slot;
    auto at = [&](std::size_t p) -> pending& { return work[p - reported]; };
    auto report_ready = [&] {
      while (!work.empty() && work.front().done) {
        pending& w = work.front();
        on_outcome(*w.who, std::move(w.outcome));
        work.pop_front();
        ++reported;
      }
    };
    auto finish = [&](pending& w) {
      if (w.outcome.ok()) build_services(w);
      w.specs.clear();
      w.done = true;
      --active;
    };

    auto next = [&]() -> std::optional<http_request> {
      // A new provider only when none of the started ones has a request waiting.
      while (queue.empty() && active < concurrency && reported + work.size() < providers.size() &&
             work.size() < held) {
        const std::size_t p = reported + work.size();
        pending& w = work.emplace_back();
        if (!prepare(w, providers[p])) {
          w.done = true;
          report_ready();  // or enough of them would fill the held outcomes and stall the window
          continue;
        }
        ++active;
        queue.push_back({p, list_methods});
      }
      if (queue.empty()) return std::nullopt;
      const ticket t = queue.front();
      queue.pop_front();
      tickets.push_back(t);
      const pending& w = at(t.provider);
      return t.code == list_methods ? list_methods_request(w) : spec_request(w, t.code);
    };

    auto on_done = [&](std::size_t number, http_response&& res) {
      const ticket t = tickets[number];
      pending& w = at(t.provider);
      if (t.code == list_methods) {
        take_methods(w, res);
        if (!w.outcome.ok() || w.codes.empty()) {
          finish(w);
        } else {
          w.outstanding = w.codes.size();
          for (std::size_t k = 0; k < w.codes.size(); ++k) queue.push_back({t.provider, k});
        }
      } else {
        w.specs[t.code] = std::move(res);
        if (--w.outstanding == 0) finish(w);
      }
      report_ready();
    };

    transport.perform_stream(next, on_done);
    report_ready();
    if (reported != providers.size())
      throw error(errc::source_failed, "xroad_source: the transport's stream ended with " +
                                           std::to_string(providers.size() - reported) + " providers not collected");
  }

  void build_services(pending& w) const {
    const bool is_public = classify_subsystem(w.id.subsystem_code) == subsystem_kind::public_provider;
    std::map<std::string, service> by_base;  // ordered: documents come out in base-code order
    detail::openapi_parsers parsers;          // for the provider's OpenAPI documents that are JSON
    for (std::size_t k = 0; k < w.codes.size(); ++k) {
      const std::string& code = w.codes[k];
      const http_response& res = *w.specs[k];
      if (!res.ok()) {
        // The transport's error quotes the URL it requested.
        w.outcome.warnings.push_back(redact_urls_in("getOpenAPI " + code + " failed: " + detail::describe_failure(res)));
        continue;
      }
      auto reading = detail::read_openapi(res.body, parsers);
      if (reading.what == detail::openapi_reading::verdict::skip_warning) {
        w.outcome.warnings.push_back(redact_urls_in("getOpenAPI " + code + ": " + reading.message));
        continue;
      }
      if (reading.what == detail::openapi_reading::verdict::skip_note) {
        if (config_.on_note) config_.on_note(*w.who, code + ": " + reading.message);
        continue;
      }
      auto split = split_service_code(code);
      service_detail d;
      d.version = std::move(split.version);
      d.title = std::move(reading.title);
      d.summary = std::move(reading.summary);
      d.description = std::move(reading.description);
      d.type = "rest";
      d.pricing = std::move(reading.pricing);
      d.data = std::move(reading.data);
      d.links = std::move(reading.links);
      if (!reading.links_dropped.empty())
        w.outcome.warnings.push_back("getOpenAPI " + code + ": info.x-links dropped: " + reading.links_dropped);
      d.openapi = json_string::from_text(res.body);
      d.collected = config_.collected();
      d.xroad = {w.id.instance, w.id.member_class, w.id.member_code, w.id.subsystem_code, code};

      auto [it, fresh] = by_base.try_emplace(split.base);
      service& s = it->second;
      if (fresh) {
        s.id = service_id(d.xroad, config_.environment, config_.member_codes);
        environment_entry e;
        e.environment = config_.environment;
        e.owner = w.who->name;
        e.access = {"xroad"};
        if (is_public) e.access.emplace_back("apigw");
        s.environments.push_back(std::move(e));
      }
      s.environments.front().details.push_back(std::move(d));
    }
    for (auto& [base, s] : by_base) {
      // Numeric version order (v2 before v10), then the document-level fields.
      normalize(s, environment_order{});
      w.outcome.records.push_back(std::move(s));
    }
  }

  /// An optional string member of a JSON object: empty when absent; not a string is malformed.
  static std::string string_member(simdjson::dom::object o, std::string_view key) {
    auto v = o[key];
    if (v.error() == simdjson::NO_SUCH_FIELD) return {};
    return std::string(std::string_view(v.get_string()));
  }

  // DOM parsing validates the whole body, so trailing garbage is caught as well as truncation.
  static std::vector<provider> parse_clients(const std::string& body) {
    simdjson::dom::parser parser;
    const simdjson::dom::element doc = parser.parse(body);
    std::vector<provider> out;
    std::set<std::string> seen;
    for (simdjson::dom::object m : doc["member"].get_array()) {
      auto id_field = m["id"];
      if (id_field.error() == simdjson::NO_SUCH_FIELD) continue;
      const simdjson::dom::object ido = id_field.get_object();
      if (string_member(ido, "object_type") != "SUBSYSTEM") continue;
      xroad_subsystem_id id{string_member(ido, "xroad_instance"), string_member(ido, "member_class"),
                            string_member(ido, "member_code"), string_member(ido, "subsystem_code")};
      if (id.subsystem_code.empty()) continue;
      const auto kind = classify_subsystem(id.subsystem_code);
      if (kind == subsystem_kind::client || kind == subsystem_kind::private_provider) continue;
      auto key = id.str();
      if (!seen.insert(key).second) continue;
      out.push_back({std::move(key), string_member(m, "name")});
    }
    return out;
  }

  static std::vector<std::string> parse_methods(const std::string& body) {
    simdjson::dom::parser parser;
    const simdjson::dom::element doc = parser.parse(body);
    std::vector<std::string> codes;
    std::set<std::string> seen;
    for (simdjson::dom::object s : doc["service"].get_array()) {
      const auto type = string_member(s, "object_type");
      auto code = string_member(s, "service_code");
      if ((type.empty() || type == "SERVICE") && !code.empty() && seen.insert(code).second)
        codes.push_back(std::move(code));
    }
    return codes;
  }

  xroad_source_config config_;
  std::string client_header_;
};

}  // namespace tributary
