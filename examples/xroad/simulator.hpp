#pragma once
// The core of the X-Road security-server simulator: a function object from http_request to
// http_response that answers the metaservices (listClients, listMethods, allowedMethods, getOpenAPI)
// from one environment's fixture directory or from a synthetic instance computed on the fly.
// It is pure (no sleeping, no randomness), so tests use it in-process through loopback_transport;
// simulator_server.hpp puts it behind tributary's http_server and adds latency, errors, hangs and
// malformed bodies decided by fault_injector below.

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <tributary/detail/json_text.hpp>
#include <tributary/detail/percent.hpp>
#include <tributary/error.hpp>
#include <tributary/transport/http.hpp>

namespace xroad_sim {

using tributary::http_request;
using tributary::http_response;

/// What getOpenAPI answers for one service code.
struct spec_answer {
  int status = 200;
  std::string content_type;  ///< text/yaml or application/json
  std::string body;
};

/// The data behind one simulated security server. Provider keys are `{instance}/{class}/{code}/{subsystem}`.
class model {
 public:
  virtual ~model() = default;
  [[nodiscard]] virtual std::string clients() const = 0;
  [[nodiscard]] virtual std::optional<std::string> methods(const std::string& provider) const = 0;
  [[nodiscard]] virtual std::optional<spec_answer> spec(const std::string& provider, const std::string& code) const = 0;
};

namespace detail {

inline std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw tributary::error(tributary::errc::invalid_config, "xroad simulator: cannot read '" + p.string() + "'");
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline std::string xroad_error_body(std::string_view type, std::string_view message) {
  std::string out = "{\"type\":";
  tributary::detail::append_quoted(out, type);
  out += ",\"message\":";
  tributary::detail::append_quoted(out, message);
  out += ",\"detail\":\"xroad-simulator\"}";
  return out;
}

inline std::string percent_decode(std::string_view s) {
  return *tributary::detail::percent_decode(s, {.plus_as_space = true, .keep_malformed = true});
}

/// splitmix64: a small, good mixer; the synthetic instance and the fault decisions hash with it.
[[nodiscard]] inline std::uint64_t mix(std::uint64_t x) noexcept {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}
[[nodiscard]] inline std::uint64_t mix(std::uint64_t a, std::uint64_t b, std::uint64_t c = 0) noexcept {
  return mix(mix(mix(a) ^ b) ^ c);
}
[[nodiscard]] inline std::uint64_t fnv1a(std::string_view s) noexcept {
  std::uint64_t h = 1469598103934665603ULL;
  for (char c : s) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
  return h;
}

inline std::string json_identifier(std::string_view type, std::string_view instance, std::string_view cls,
                                   std::string_view code, std::string_view subsystem = {},
                                   std::string_view service = {}) {
  using tributary::detail::append_quoted;
  std::string out = "{\"object_type\":";
  append_quoted(out, type);
  out += ",\"xroad_instance\":", append_quoted(out, instance);
  out += ",\"member_class\":", append_quoted(out, cls);
  out += ",\"member_code\":", append_quoted(out, code);
  if (!subsystem.empty()) out += ",\"subsystem_code\":", append_quoted(out, subsystem);
  if (!service.empty()) out += ",\"service_code\":", append_quoted(out, service);
  out += '}';
  return out;
}

inline constexpr const char* synthetic_categories[] = {"open", "public", "official", "personal", "health", "financial"};
inline constexpr const char* synthetic_classes[] = {"GOV", "COM", "NGO", "NEE"};
inline constexpr const char* synthetic_suffixes[] = {"-public", "-protected", ""};
inline constexpr const char* synthetic_words[] = {"getRecord",   "listItems",   "searchRegistry", "submitForm",
                                                  "getStatus",   "fetchReport", "verifyDocument", "lookupAddress"};

}  // namespace detail

/// One environment's fixture directory (format in fixtures/README.md), read once into memory.
class fixture_model final : public model {
 public:
  explicit fixture_model(const std::filesystem::path& dir) {
    namespace fs = std::filesystem;
    if (!fs::is_regular_file(dir / "clients.json"))
      throw tributary::error(tributary::errc::invalid_config,
                             "xroad simulator: '" + dir.string() +
                                 "' is not an environment fixture directory (no clients.json); use e.g. fixtures/dev");
    clients_ = detail::read_text(dir / "clients.json");
    const fs::path root = dir / "providers";
    if (!fs::is_directory(root)) return;
    for (const auto& entry : fs::recursive_directory_iterator(root)) {
      if (!entry.is_regular_file() || entry.path().filename() != "methods.json") continue;
      const fs::path rel = fs::relative(entry.path().parent_path(), root);
      std::vector<std::string> parts;
      for (const auto& p : rel) parts.push_back(p.string());
      if (parts.size() != 4) continue;  // not providers/{instance}/{class}/{code}/{subsystem}
      const std::string key = parts[0] + '/' + parts[1] + '/' + parts[2] + '/' + parts[3];
      auto& prov = providers_[key];
      prov.methods = detail::read_text(entry.path());
      const fs::path specs = entry.path().parent_path() / "specs";
      if (!fs::is_directory(specs)) continue;
      for (const auto& f : fs::directory_iterator(specs)) {
        if (!f.is_regular_file()) continue;
        const auto ext = f.path().extension().string();
        const auto code = f.path().stem().string();
        spec_answer a;
        a.body = detail::read_text(f.path());
        if (ext == ".yaml" || ext == ".yml") a.content_type = "text/yaml";
        else if (ext == ".json") a.content_type = "application/json";
        else if (ext == ".500") a.status = 500, a.content_type = "application/json";
        else continue;
        prov.specs[code] = std::move(a);
      }
    }
  }

  [[nodiscard]] std::string clients() const override { return clients_; }
  [[nodiscard]] std::optional<std::string> methods(const std::string& provider) const override {
    auto it = providers_.find(provider);
    if (it == providers_.end()) return std::nullopt;
    return it->second.methods;
  }
  [[nodiscard]] std::optional<spec_answer> spec(const std::string& provider, const std::string& code) const override {
    auto it = providers_.find(provider);
    if (it == providers_.end()) return std::nullopt;
    auto s = it->second.specs.find(code);
    if (s == it->second.specs.end()) return std::nullopt;
    return s->second;
  }
  [[nodiscard]] std::size_t provider_directories() const noexcept { return providers_.size(); }

 private:
  struct provider_data {
    std::string methods;
    std::map<std::string, spec_answer> specs;
  };
  std::string clients_;
  std::map<std::string, provider_data> providers_;
};

struct synthetic_options {
  std::size_t providers = 1000;  ///< catalogued providers (public or protected subsystems)
  std::size_t services = 10000;  ///< service codes over all of them
  std::uint64_t seed = 1;
  std::string instance = "EE-SYN";
};

/// A large instance computed on the fly, deterministic from the seed. Besides the `providers`
/// catalogued subsystems, listClients holds one MEMBER entry per member, a `client` subsystem for
/// every fifth member and a `private` one for every seventh; these have no services.
class synthetic_model final : public model {
 public:
  explicit synthetic_model(synthetic_options o) : o_(std::move(o)) {
    if (o_.providers == 0) throw tributary::error(tributary::errc::invalid_config, "synthetic instance: no providers");
  }

  [[nodiscard]] const synthetic_options& options() const noexcept { return o_; }

  [[nodiscard]] std::string clients() const override {
    std::string out = "{\"member\":[";
    bool first = true;
    auto entry = [&](const std::string& name, const std::string& id) {
      if (!first) out += ',';
      first = false;
      out += "{\"name\":";
      tributary::detail::append_quoted(out, name);
      out += ",\"id\":" + id + '}';
    };
    for (std::size_t m = 0; m * 2 < o_.providers; ++m) {
      const auto cls = member_class(m), code = member_code(m), name = member_name(m);
      entry(name, detail::json_identifier("MEMBER", o_.instance, cls, code));
      for (std::size_t i = m * 2; i < std::min(o_.providers, m * 2 + 2); ++i)
        entry(name, detail::json_identifier("SUBSYSTEM", o_.instance, cls, code, subsystem(i)));
      if (m % 5 == 0) entry(name, detail::json_identifier("SUBSYSTEM", o_.instance, cls, code, "portal" + std::to_string(m) + "-client"));
      if (m % 7 == 0) entry(name, detail::json_identifier("SUBSYSTEM", o_.instance, cls, code, "vault" + std::to_string(m) + "-private"));
    }
    out += "]}";
    return out;
  }

  [[nodiscard]] std::optional<std::string> methods(const std::string& provider) const override {
    const auto i = provider_index(provider);
    if (!i) return private_or_client(provider) ? std::optional<std::string>("{\"service\":[]}") : std::nullopt;
    const auto m = *i / 2;
    std::string out = "{\"service\":[";
    const auto n = services_of(*i);
    for (std::size_t k = 0; k < n; ++k) {
      if (k) out += ',';
      out += detail::json_identifier("SERVICE", o_.instance, member_class(m), member_code(m), subsystem(*i),
                                     service_code(*i, k));
    }
    out += "]}";
    return out;
  }

  [[nodiscard]] std::optional<spec_answer> spec(const std::string& provider, const std::string& code) const override {
    const auto i = provider_index(provider);
    if (!i) return std::nullopt;
    const auto n = services_of(*i);
    for (std::size_t k = 0; k < n; ++k) {
      if (service_code(*i, k) != code) continue;
      const auto h = detail::mix(o_.seed, *i, k + 0x5bd1e995);
      const std::string title = "Synthetic " + code + " of " + member_name(*i / 2);
      const std::string category = detail::synthetic_categories[h % 6];
      const std::string pricing = (h >> 8) % 4 == 0 ? "paid" : "free";
      spec_answer a;
      if ((h >> 16) % 2 == 0) {
        a.content_type = "text/yaml";
        a.body = "openapi: 3.0.3\ninfo:\n  title: \"" + title + "\"\n  version: 1.0.0\n  description: |\n    " + title +
                 ".\n    Generated from seed " + std::to_string(o_.seed) + ".\n  x-category: [" + category +
                 "]\n  x-pricing: " + pricing + "\n  x-links:\n    - name: Documentation\n      url: https://docs.example/" +
                 code + "\npaths:\n  /" + code + ":\n    get:\n      responses:\n        '200':\n          description: OK\n";
      } else {
        a.content_type = "application/json";
        a.body = "{\"openapi\":\"3.0.3\",\"info\":{\"title\":\"" + title + "\",\"version\":\"1.0.0\",\"description\":\"" +
                 title + ".\\nGenerated from seed " + std::to_string(o_.seed) + ".\",\"x-category\":[\"" + category +
                 "\"],\"x-pricing\":\"" + pricing + "\",\"x-links\":[{\"name\":\"Documentation\",\"url\":\"https://docs.example/" +
                 code + "\"}]},\"paths\":{\"/" + code + "\":{\"get\":{\"responses\":{\"200\":{\"description\":\"OK\"}}}}}}";
      }
      return a;
    }
    return std::nullopt;
  }

  /// Service codes of provider i: `services / providers` each, the remainder spread over the first ones.
  [[nodiscard]] std::size_t services_of(std::size_t i) const noexcept {
    return o_.services / o_.providers + (i < o_.services % o_.providers ? 1 : 0);
  }

 private:
  [[nodiscard]] std::string member_class(std::size_t m) const {
    return detail::synthetic_classes[detail::mix(o_.seed, m, 1) % 4];
  }
  [[nodiscard]] std::string member_code(std::size_t m) const { return std::to_string(70000000 + m); }
  [[nodiscard]] std::string member_name(std::size_t m) const { return "Synthetic member " + std::to_string(m); }
  [[nodiscard]] std::string subsystem(std::size_t i) const {
    return "sub" + std::to_string(i) + detail::synthetic_suffixes[detail::mix(o_.seed, i, 2) % 3];
  }
  /// Pairs of codes share a base: `{word}{k/2}-v1` and `{word}{k/2}-v{2..11}` (so v2 and v10 both occur).
  [[nodiscard]] std::string service_code(std::size_t i, std::size_t k) const {
    const auto h = detail::mix(o_.seed, i, k / 2);
    std::string code = detail::synthetic_words[h % 8] + std::to_string(k / 2);
    if (k % 2 == 0) return code + "-v1";
    return code + "-v" + std::to_string(2 + (h >> 8) % 10);
  }
  [[nodiscard]] std::optional<std::size_t> provider_index(const std::string& key) const {
    // {instance}/{class}/{code}/sub{i}[-suffix]: recompute the key of i and compare.
    const auto last = key.rfind('/');
    if (last == std::string::npos || key.compare(last + 1, 3, "sub") != 0) return std::nullopt;
    std::size_t i = 0, p = last + 4;
    if (p >= key.size() || key[p] < '0' || key[p] > '9') return std::nullopt;
    while (p < key.size() && key[p] >= '0' && key[p] <= '9') i = i * 10 + static_cast<std::size_t>(key[p++] - '0');
    if (i >= o_.providers) return std::nullopt;
    const auto m = i / 2;
    if (key != o_.instance + '/' + member_class(m) + '/' + member_code(m) + '/' + subsystem(i)) return std::nullopt;
    return i;
  }
  [[nodiscard]] bool private_or_client(const std::string& key) const {
    return key.starts_with(o_.instance + '/') && (key.ends_with("-client") || key.ends_with("-private"));
  }

  synthetic_options o_;
};

/// The metaservices over a model. Copyable and cheap to copy (the model is shared and immutable), so it
/// can be handed to loopback_transport::route directly.
class simulator {
 public:
  explicit simulator(std::shared_ptr<const model> m) : model_(std::move(m)) {}

  [[nodiscard]] static simulator from_fixtures(const std::filesystem::path& environment_dir) {
    return simulator(std::make_shared<fixture_model>(environment_dir));
  }
  [[nodiscard]] static simulator synthetic(synthetic_options o) {
    return simulator(std::make_shared<synthetic_model>(std::move(o)));
  }

  [[nodiscard]] const model& data() const noexcept { return *model_; }

  http_response operator()(const http_request& req) const {
    std::string_view url = req.url;
    if (auto scheme = url.find("://"); scheme != std::string_view::npos) {
      url.remove_prefix(scheme + 3);
      const auto slash = url.find('/');
      url = slash == std::string_view::npos ? std::string_view{} : url.substr(slash);
    }
    std::string_view path = url, query;
    if (auto q = url.find('?'); q != std::string_view::npos) path = url.substr(0, q), query = url.substr(q + 1);
    if (req.method != "GET") return answer(405, error_json("Client.MethodNotAllowed", "metaservices answer GET only"));

    std::vector<std::string> seg;
    for (std::size_t pos = 1; pos <= path.size();) {
      auto end = path.find('/', pos);
      if (end == std::string_view::npos) end = path.size();
      seg.push_back(detail::percent_decode(path.substr(pos, end - pos)));
      pos = end + 1;
    }
    if (seg.size() == 1 && seg[0] == "listClients") return answer(200, model_->clients(), "application/json");
    const bool metaservice = seg.size() == 6 && seg[0] == "r1" &&
                             (seg[5] == "listMethods" || seg[5] == "allowedMethods" || seg[5] == "getOpenAPI");
    if (!metaservice) return answer(404, error_json("Client.NotFound", "no such metaservice: " + std::string(path)));

    const auto client = header(req, "X-Road-Client");
    if (client.empty())
      return answer(400, error_json("Client.InvalidClientIdentifier", "the X-Road-Client header is missing"));
    if (!well_formed_client(client))
      return answer(400, error_json("Client.InvalidClientIdentifier",
                                    "the X-Road-Client header is not {instance}/{class}/{code}/{subsystem}: " + client));

    const std::string provider = seg[1] + '/' + seg[2] + '/' + seg[3] + '/' + seg[4];
    auto methods = model_->methods(provider);
    if (!methods) return answer(404, error_json("Server.ServerProxy.UnknownService", "unknown service provider " + provider));
    if (seg[5] != "getOpenAPI") return answer(200, std::move(*methods), "application/json");

    const auto code = query_value(query, "serviceCode");
    if (!code || code->empty()) return answer(400, error_json("Client.InvalidRequest", "the serviceCode parameter is missing"));
    auto spec = model_->spec(provider, *code);
    if (!spec)
      return answer(404, error_json("Server.ServerProxy.UnknownService", "unknown service " + provider + '/' + *code));
    return answer(spec->status, std::move(spec->body), spec->content_type);
  }

 private:
  static http_response answer(int status, std::string body, std::string content_type = "application/json") {
    http_response r;
    r.status = status;
    r.body = std::move(body);
    r.headers.emplace_back("Content-Type", std::move(content_type));
    return r;
  }
  static std::string error_json(std::string_view type, std::string_view message) {
    return detail::xroad_error_body(type, message);
  }
  static std::string header(const http_request& req, std::string_view name) {
    for (const auto& [k, v] : req.headers) {
      if (k.size() != name.size()) continue;
      if (std::equal(k.begin(), k.end(), name.begin(), [](char a, char b) {
            return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
          }))
        return v;
    }
    return {};
  }
  static bool well_formed_client(std::string_view c) {
    int parts = 0;
    std::size_t start = 0;
    while (true) {
      const auto slash = c.find('/', start);
      const auto len = (slash == std::string_view::npos ? c.size() : slash) - start;
      if (len == 0) return false;
      ++parts;
      if (slash == std::string_view::npos) break;
      start = slash + 1;
    }
    return parts == 4;
  }
  static std::optional<std::string> query_value(std::string_view query, std::string_view name) {
    while (!query.empty()) {
      auto amp = query.find('&');
      auto pair = query.substr(0, amp);
      query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
      auto eq = pair.find('=');
      if (detail::percent_decode(pair.substr(0, eq)) == name)
        return eq == std::string_view::npos ? std::string{} : detail::percent_decode(pair.substr(eq + 1));
    }
    return std::nullopt;
  }

  std::shared_ptr<const model> model_;
};

// ---- fault injection -------------------------------------------------------------------------------

struct fault_options {
  std::chrono::milliseconds latency{0};  ///< added to every answer
  double error_rate = 0;                 ///< share of provider metaservice requests answered 500
  double hang_rate = 0;                  ///< share never answered (until the server stops)
  double malformed_rate = 0;             ///< share whose 200 body is cut and garbled
  std::uint64_t seed = 1;
};

enum class fault { none, error, hang, malformed };

/// Decides the fault of each request. Only the per-provider metaservices (`/r1/...`) fail: a broken
/// listClients would only ever test the "stop before touching anything" path. Decisions depend on the
/// seed, the URL and how often that URL was asked before, not on arrival order, so concurrent runs
/// see the same faults and a retry may succeed.
class fault_injector {
 public:
  explicit fault_injector(fault_options o = {}) : o_(o) {}
  [[nodiscard]] const fault_options& options() const noexcept { return o_; }

  fault decide(const http_request& req) {
    if (o_.error_rate <= 0 && o_.hang_rate <= 0 && o_.malformed_rate <= 0) return fault::none;
    if (req.url.find("/r1/") == std::string::npos) return fault::none;
    std::uint64_t attempt;
    {
      std::lock_guard lock(mu_);
      attempt = attempts_[req.url]++;
    }
    const double u =
        static_cast<double>(detail::mix(o_.seed, detail::fnv1a(req.url), attempt) >> 11) * 0x1.0p-53;
    if (u < o_.error_rate) return fault::error;
    if (u < o_.error_rate + o_.hang_rate) return fault::hang;
    if (u < o_.error_rate + o_.hang_rate + o_.malformed_rate) return fault::malformed;
    return fault::none;
  }

  /// Applies an error or malformed fault to an answer.
  static void apply(fault f, http_response& r) {
    if (f == fault::error) {
      r.status = 500;
      r.body = detail::xroad_error_body("Server.ServerProxy.InternalError", "injected error");
      r.headers = {{"Content-Type", "application/json"}};
    } else if (f == fault::malformed && r.status == 200) {
      // An unclosed object around half the body: neither JSON nor YAML.
      r.body = "{\"truncated\": " + r.body.substr(0, r.body.size() / 2) + "\x01<<<";
    }
  }

 private:
  fault_options o_;
  std::mutex mu_;
  std::unordered_map<std::string, std::uint64_t> attempts_;
};

}  // namespace xroad_sim
