#pragma once
// fake_elasticsearch: an in-process stand-in for an Elasticsearch 7.10 / 8.x or OpenSearch 2.x cluster
// behind loopback_transport. It implements the subset of the REST API that elasticsearch_index uses,
// with the request and response bodies, status codes and error bodies the products document:
//   GET /                                   version.number, version.distribution ("opensearch")
//   PUT /{index}                            resource_already_exists_exception, "already exists as alias"
//   DELETE /{a,b}                           wildcards refused (action.destructive_requires_name), aliases refused
//   GET /_cat/indices[/{expr}]?format=json  rows {"index": name}; 404 index_not_found_exception
//   POST [/{index}]/_bulk                   NDJSON; index, create (409 version_conflict_engine_exception
//                                           when the id exists) and delete (404, result "not_found", no error,
//                                           when it does not) actions; per-item status and error; index and
//                                           create auto-create a missing index (as the real servers do with
//                                           default settings), delete does not; refresh=true|wait_for
//   POST /{index}/_mget[?_source=false]     realtime; per-doc index_not_found_exception error
//   POST /{index}/_search[?scroll=]         only what the last refresh made visible; sort on a keyword field,
//                                           search_after; POST /_search with "pit"; /_search/scroll
//   POST /{index}/_pit (ES), POST /{index}/_search/point_in_time (OpenSearch 2.4+); DELETE /_pit,
//   DELETE /_search/point_in_time, DELETE /_search/scroll
//   POST /_aliases                          atomic; must_exist parsed by ES 7.11+ / OpenSearch 2.12+ only;
//                                           aliases_not_found_exception, invalid_alias_name_exception
//   GET /_alias, GET /_alias/{name}         404 {"error":"alias [x] missing","status":404}
//   POST /{index}/_refresh
// Switches inject item-level 429s, whole-request 429/503 and a required Authorization header.
// Every request is recorded for the unit tests. Thread-safe: one lock around the whole state.

#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include <tributary/detail/percent.hpp>
#include <tributary/index/alias_table.hpp>
#include <tributary/index/names.hpp>
#include <tributary/transport/http.hpp>
#include <tributary/transport/loopback.hpp>

namespace tributary::testing {

enum class es_flavour { elasticsearch_7, elasticsearch_8, opensearch_2 };

struct recorded_request {
  std::string method;
  std::string path;  ///< decoded, without the query
  std::string raw_path;  ///< as sent, %-escapes included
  std::map<std::string, std::string> query;
  http_headers headers;
  std::string body;
  bool idempotent = true;

  [[nodiscard]] std::string header(std::string_view name) const {
    http_response r;
    r.headers = headers;
    return std::string(r.header(name));
  }
  [[nodiscard]] bool has_query(const std::string& key) const { return query.contains(key); }
};

class fake_elasticsearch {
 public:
  static constexpr const char* origin = "http://es.test:9200";

  explicit fake_elasticsearch(es_flavour flavour = es_flavour::elasticsearch_8, std::string version = {})
      : flavour_(flavour) {
    if (version.empty()) {
      version = flavour == es_flavour::elasticsearch_7 ? "7.10.2" : flavour == es_flavour::elasticsearch_8 ? "8.11.1" : "2.11.1";
    }
    set_version(std::move(version));
  }

  /// Routes `origin` of `transport` to this server. The server must outlive the route's use.
  void attach(loopback_transport& transport) {
    transport.route(origin, [this](const http_request& r) { return handle(r); });
  }

  // ---- switches ----
  void set_version(std::string version) {
    std::lock_guard lock(mu_);
    version_ = std::move(version);
    int parts[3] = {0, 0, 0};
    std::size_t at = 0;
    for (int& p : parts) {
      while (at < version_.size() && version_[at] >= '0' && version_[at] <= '9') p = p * 10 + (version_[at++] - '0');
      if (at < version_.size() && version_[at] == '.') ++at;
    }
    major_ = parts[0], minor_ = parts[1];
  }
  /// Every request must then carry exactly this Authorization header, or gets a 401.
  void require_authorization(std::string value) {
    std::lock_guard lock(mu_);
    authorization_ = std::move(value);
  }
  /// The next `times` bulk items for `id` are rejected with 429 es_rejected_execution_exception.
  void reject_items(const std::string& id, int times) {
    std::lock_guard lock(mu_);
    rejected_items_[id] = times;
  }
  /// The next `times` requests whose path contains `path_part` get `status` (429 or 503) as a whole.
  void fail_requests(int status, int times, std::string path_part = {}) {
    std::lock_guard lock(mu_);
    fail_status_ = status, fail_times_ = times, fail_path_ = std::move(path_part);
  }
  /// Whether requests are recorded (the large conformance tests switch it off).
  void record(bool on) {
    std::lock_guard lock(mu_);
    recording_ = on;
  }

  // ---- inspection ----
  [[nodiscard]] std::vector<recorded_request> requests() const {
    std::lock_guard lock(mu_);
    return requests_;
  }
  void clear_requests() {
    std::lock_guard lock(mu_);
    requests_.clear();
  }
  /// PITs and scrolls not closed yet.
  [[nodiscard]] std::size_t open_contexts() const {
    std::lock_guard lock(mu_);
    return contexts_.size();
  }
  [[nodiscard]] std::size_t contexts_opened() const {
    std::lock_guard lock(mu_);
    return contexts_opened_;
  }
  /// The body an index was created with; nullopt for a missing index, "" for an auto-created one.
  [[nodiscard]] std::optional<std::string> create_body(const std::string& index) const {
    std::lock_guard lock(mu_);
    auto it = indices_.find(index);
    if (it == indices_.end()) return std::nullopt;
    return it->second.create_body;
  }
  /// The _source bytes stored for a document.
  [[nodiscard]] std::optional<std::string> raw_source(const std::string& index, const std::string& id) const {
    std::lock_guard lock(mu_);
    auto it = indices_.find(index);
    if (it == indices_.end()) return std::nullopt;
    auto d = it->second.docs.find(id);
    if (d == it->second.docs.end()) return std::nullopt;
    return d->second->raw;
  }
  [[nodiscard]] bool has_index(const std::string& index) const {
    std::lock_guard lock(mu_);
    return indices_.contains(index);
  }

  http_response handle(const http_request& req) {
    std::lock_guard lock(mu_);
    recorded_request rec = parse(req);
    if (recording_) requests_.push_back(rec);
    if (!authorization_.empty() && rec.header("Authorization") != authorization_)
      return error_response(401, "security_exception", "missing authentication credentials for REST request [" + rec.raw_path + "]");
    if (fail_times_ > 0 && rec.path.find(fail_path_) != std::string::npos) {
      --fail_times_;
      if (fail_status_ == 429)
        return error_response(429, "es_rejected_execution_exception",
                              "rejected execution of coordinating operation [coordinating_and_primary_bytes=0, "
                              "replica_bytes=0, all_bytes=0, coordinating_operation_bytes=1, max_coordinating_and_primary_bytes=0]");
      return error_response(fail_status_, "cluster_block_exception",
                            "blocked by: [SERVICE_UNAVAILABLE/1/state not recovered / initialized];");
    }
    if (!rec.body.empty()) {
      const std::string type = rec.header("Content-Type");
      if (type.rfind("application/json", 0) != 0 && type.rfind("application/x-ndjson", 0) != 0)
        return error_string(406, "Content-Type header [" + type + "] is not supported");
    }
    try {
      return route(rec);
    } catch (const nlohmann::json::exception& e) {
      return error_response(400, "parse_exception", std::string("request body is not valid JSON: ") + e.what());
    }
  }

 private:
  struct document {
    std::string raw;
    nlohmann::json parsed;
    long version = 1;
  };
  using doc_ptr = std::shared_ptr<const document>;
  using doc_map = std::map<std::string, doc_ptr>;
  struct index_data {
    doc_map docs;        // realtime (get, _mget)
    doc_map searchable;  // as of the last refresh (search)
    std::string create_body;
    long seq_no = 0;
  };
  struct context {  // a PIT or a scroll
    std::vector<std::pair<std::string, doc_map>> snapshot;  // index name, documents
    nlohmann::json sort;
    std::size_t size = 10;
    std::size_t position = 0;  // scrolls
  };

  [[nodiscard]] bool is_opensearch() const { return flavour_ == es_flavour::opensearch_2; }
  [[nodiscard]] bool at_least(int ma, int mi) const { return major_ > ma || (major_ == ma && minor_ >= mi); }
  [[nodiscard]] bool has_pit() const { return is_opensearch() ? at_least(2, 4) : at_least(7, 10); }
  [[nodiscard]] bool parses_must_exist() const { return is_opensearch() ? at_least(2, 12) : at_least(7, 11); }

  // The backend escapes every name (detail::percent_encode); a malformed escape would be its bug, kept
  // as sent so that the request fails to match rather than the fake.
  static std::string decode(std::string_view s) {
    return *tributary::detail::percent_decode(s, {.keep_malformed = true});
  }

  static recorded_request parse(const http_request& req) {
    recorded_request rec;
    rec.method = req.method;
    rec.headers = req.headers;
    rec.body = req.body;
    rec.idempotent = req.idempotent;
    std::string_view url = req.url;
    url.remove_prefix(std::string_view(origin).size());
    const auto q = url.find('?');
    rec.raw_path = std::string(url.substr(0, q));
    if (rec.raw_path.empty()) rec.raw_path = "/";
    rec.path = decode(rec.raw_path);
    if (q != std::string_view::npos) {
      std::string_view query = url.substr(q + 1);
      while (!query.empty()) {
        const auto amp = query.find('&');
        const std::string_view pair = query.substr(0, amp);
        const auto eq = pair.find('=');
        rec.query[decode(pair.substr(0, eq))] = eq == std::string_view::npos ? "" : decode(pair.substr(eq + 1));
        if (amp == std::string_view::npos) break;
        query.remove_prefix(amp + 1);
      }
    }
    return rec;
  }

  // ---- responses ----
  http_response json_response(int status, const std::string& body) const {
    http_response r;
    r.status = status;
    r.body = body;
    r.headers.emplace_back("content-type", "application/json; charset=UTF-8");
    if (!is_opensearch() && major_ >= 8) r.headers.emplace_back("X-elastic-product", "Elasticsearch");
    return r;
  }
  http_response json_response(int status, const nlohmann::json& j) const { return json_response(status, j.dump()); }

  /// {"error":{"root_cause":[{...}],"type":..,"reason":..},"status":..} as both products send it.
  http_response error_response(int status, const std::string& type, const std::string& reason,
                               const nlohmann::json& extra = nlohmann::json::object()) const {
    nlohmann::json cause = {{"type", type}, {"reason", reason}};
    for (auto it = extra.begin(); it != extra.end(); ++it) cause[it.key()] = it.value();
    nlohmann::json e = cause;
    e["root_cause"] = nlohmann::json::array({cause});
    return json_response(status, nlohmann::json{{"error", e}, {"status", status}});
  }
  /// Some APIs answer with the error as a plain string.
  http_response error_string(int status, const std::string& text) const {
    return json_response(status, nlohmann::json{{"error", text}, {"status", status}});
  }
  http_response index_not_found(const std::string& name) const {
    return error_response(404, "index_not_found_exception", "no such index [" + name + "]",
                          {{"resource.type", "index_or_alias"}, {"resource.id", name}, {"index_uuid", "_na_"}, {"index", name}});
  }
  http_response no_handler(const recorded_request& rec) const {
    return error_string(400, "no handler found for uri [" + rec.raw_path + "] and method [" + rec.method + "]");
  }

  // ---- names ----
  static bool matches(std::string_view pattern, std::string_view name) {
    const auto star = pattern.find('*');
    if (star == std::string_view::npos) return pattern == name;
    if (!name.starts_with(pattern.substr(0, star))) return false;
    return matches(pattern.substr(star + 1), name.substr(star)) ||
           (!name.substr(star).empty() && matches(pattern.substr(star), name.substr(star + 1)));
  }
  [[nodiscard]] std::vector<std::string> targets_of_alias(const std::string& alias) const {
    std::vector<std::string> out;
    for (const auto& [a, i] : aliases_)
      if (a == alias) out.push_back(i);
    return out;
  }
  [[nodiscard]] bool is_alias(const std::string& name) const { return !targets_of_alias(name).empty(); }
  /// A comma-separated expression of names, aliases and wildcards, as concrete indices; the name of the
  /// first missing concrete name when there is one.
  std::optional<std::string> resolve(const std::string& expression, std::vector<std::string>& out) const {
    std::set<std::string> seen;
    std::size_t from = 0;
    while (from <= expression.size()) {
      const auto comma = expression.find(',', from);
      const std::string part = expression.substr(from, comma == std::string::npos ? std::string::npos : comma - from);
      if (part.find('*') != std::string::npos) {
        for (const auto& [name, data] : indices_)
          if (matches(part, name)) seen.insert(name);
      } else if (indices_.contains(part)) {
        seen.insert(part);
      } else if (is_alias(part)) {
        for (auto& i : targets_of_alias(part)) seen.insert(i);
      } else {
        return part;
      }
      if (comma == std::string::npos) break;
      from = comma + 1;
    }
    out.assign(seen.begin(), seen.end());
    return std::nullopt;
  }

  static std::vector<std::string> segments(const std::string& raw_path) {
    std::vector<std::string> out;
    std::size_t from = 1;
    while (from <= raw_path.size()) {
      const auto slash = raw_path.find('/', from);
      const std::string part = raw_path.substr(from, slash == std::string::npos ? std::string::npos : slash - from);
      if (!part.empty()) out.push_back(decode(part));
      if (slash == std::string::npos) break;
      from = slash + 1;
    }
    return out;
  }

  // ---- routing ----
  http_response route(recorded_request& rec) {
    const auto seg = segments(rec.raw_path);
    const std::string& m = rec.method;
    if (seg.empty()) return m == "GET" ? root() : no_handler(rec);
    if (seg[0] == "_cat" && seg.size() >= 2 && seg[1] == "indices" && m == "GET") return cat_indices(rec, seg);
    if (seg[0] == "_alias" && m == "GET") return get_alias(seg);
    if (seg[0] == "_aliases" && seg.size() == 1 && m == "POST") return update_aliases(rec);
    if (seg[0] == "_bulk" && seg.size() == 1 && (m == "POST" || m == "PUT")) return bulk(rec, {});
    if (seg[0] == "_search" && seg.size() == 1 && (m == "POST" || m == "GET")) return pit_search(rec);
    if (seg[0] == "_search" && seg.size() == 2 && seg[1] == "scroll") {
      if (m == "POST" || m == "GET") return scroll_next(rec);
      if (m == "DELETE") return scroll_clear(rec);
    }
    if (seg[0] == "_search" && seg.size() == 2 && seg[1] == "point_in_time" && m == "DELETE" && is_opensearch() && has_pit())
      return os_pit_delete(rec);
    if (seg[0] == "_pit" && seg.size() == 1 && m == "DELETE" && !is_opensearch()) return es_pit_delete(rec);
    if (seg[0].front() == '_') return no_handler(rec);
    const std::string& index = seg[0];
    if (seg.size() == 1) {
      if (m == "PUT") return create(index, rec);
      if (m == "DELETE") return remove(index, rec);
      return no_handler(rec);
    }
    if (seg.size() == 2 && seg[1] == "_bulk" && (m == "POST" || m == "PUT")) return bulk(rec, index);
    if (seg.size() == 2 && seg[1] == "_mget" && (m == "POST" || m == "GET")) return mget(rec, index);
    if (seg.size() == 2 && seg[1] == "_search" && (m == "POST" || m == "GET")) return search(rec, index);
    if (seg.size() == 2 && seg[1] == "_refresh" && (m == "POST" || m == "GET")) return refresh(index);
    if (seg.size() == 2 && seg[1] == "_pit" && m == "POST" && !is_opensearch()) return pit_open(rec, index);
    if (seg.size() == 3 && seg[1] == "_search" && seg[2] == "point_in_time" && m == "POST" && is_opensearch() && has_pit())
      return pit_open(rec, index);
    return no_handler(rec);
  }

  http_response root() const {
    nlohmann::json version = {{"number", version_}, {"build_type", "tar"}, {"lucene_version", "9.7.0"}};
    if (is_opensearch()) version["distribution"] = "opensearch";
    else version["build_flavor"] = "default";
    return json_response(200, nlohmann::json{{"name", "node-1"},
                                             {"cluster_name", "tributary-test"},
                                             {"cluster_uuid", "Vd0sxuSmQ6OoVYAHBqY3Fg"},
                                             {"version", version},
                                             {"tagline", is_opensearch() ? "The OpenSearch Project: https://opensearch.org/"
                                                                         : "You Know, for Search"}});
  }

  http_response create(const std::string& index, const recorded_request& rec) {
    if (auto problem = tributary::detail::name_problem(index, true))
      return error_response(400, "invalid_index_name_exception", "Invalid index name [" + index + "], " + *problem,
                            {{"index_uuid", "_na_"}, {"index", index}});
    if (indices_.contains(index))
      return error_response(400, "resource_already_exists_exception", "index [" + index + "/kdGWZcTaQ0yT4x8p9T6Z4A] already exists",
                            {{"index_uuid", "kdGWZcTaQ0yT4x8p9T6Z4A"}, {"index", index}});
    if (is_alias(index))
      return error_response(400, "invalid_index_name_exception", "Invalid index name [" + index + "], already exists as alias",
                            {{"index_uuid", "_na_"}, {"index", index}});
    if (!rec.body.empty()) {
      [[maybe_unused]] const auto settings = nlohmann::json::parse(rec.body);  // a 400 when malformed
    }
    indices_[index].create_body = rec.body.empty() ? "{}" : rec.body;
    return json_response(200, nlohmann::json{{"acknowledged", true}, {"shards_acknowledged", true}, {"index", index}});
  }

  http_response remove(const std::string& expression, const recorded_request& rec) {
    std::vector<std::string> names;
    std::size_t from = 0;
    while (true) {
      const auto comma = expression.find(',', from);
      names.push_back(expression.substr(from, comma == std::string::npos ? std::string::npos : comma - from));
      if (comma == std::string::npos) break;
      from = comma + 1;
    }
    const bool no_wildcards = rec.query.contains("expand_wildcards") && rec.query.at("expand_wildcards") == "none";
    std::vector<std::string> victims;
    for (const auto& n : names) {
      if (n.find('*') != std::string::npos || n == "_all") {
        // action.destructive_requires_name defaults to true in 8.x; we hold every flavour to it.
        return error_response(400, "illegal_argument_exception", "Wildcard expressions or all indices are not allowed");
      }
      if (indices_.contains(n)) {
        victims.push_back(n);
      } else if (is_alias(n)) {
        return error_response(400, "illegal_argument_exception",
                              "The provided expression [" + n + "] matches an alias, specify the corresponding concrete indices instead.");
      } else {
        return index_not_found(n);
      }
    }
    (void)no_wildcards;
    for (const auto& v : victims) {
      indices_.erase(v);
      std::erase_if(aliases_, [&](const auto& p) { return p.second == v; });
    }
    return json_response(200, nlohmann::json{{"acknowledged", true}});
  }

  http_response cat_indices(const recorded_request& rec, const std::vector<std::string>& seg) const {
    std::vector<std::string> names;
    if (seg.size() >= 3) {
      if (auto missing = resolve(seg[2], names)) return index_not_found(*missing);
    } else {
      for (const auto& [n, d] : indices_) names.push_back(n);
    }
    if (rec.query.contains("format") && rec.query.at("format") == "json") {
      nlohmann::json rows = nlohmann::json::array();
      for (const auto& n : names) {
        if (rec.query.contains("h") && rec.query.at("h") == "index") {
          rows.push_back({{"index", n}});
        } else {
          rows.push_back({{"health", "yellow"}, {"status", "open"}, {"index", n}, {"docs.count", std::to_string(indices_.at(n).docs.size())}});
        }
      }
      return json_response(200, rows);
    }
    std::string text;
    for (const auto& n : names) text += n + "\n";
    http_response r;
    r.status = 200;
    r.body = text;
    r.headers.emplace_back("content-type", "text/plain; charset=UTF-8");
    return r;
  }

  http_response get_alias(const std::vector<std::string>& seg) const {
    nlohmann::json out = nlohmann::json::object();
    if (seg.size() == 1) {
      for (const auto& [n, d] : indices_) out[n]["aliases"] = nlohmann::json::object();
      for (const auto& [a, i] : aliases_) out[i]["aliases"][a] = nlohmann::json::object();
      return json_response(200, out);
    }
    const std::string& pattern = seg[1];
    for (const auto& [a, i] : aliases_)
      if (matches(pattern, a)) out[i]["aliases"][a] = nlohmann::json::object();
    if (out.empty()) return error_string(404, "alias [" + pattern + "] missing");
    return json_response(200, out);
  }

  // The cluster's semantics are tributary's (plan_alias_update, the backends' one source of truth),
  // spoken in Elasticsearch's words: a remove is always must_exist on the wire (404 when the pair is
  // absent; for an action naming several aliases Elasticsearch answers 404 only when none is there,
  // which the backend never sends), and a remove on a missing index is index_not_found.
  http_response update_aliases(const recorded_request& rec) {
    const auto body = nlohmann::json::parse(rec.body);
    std::vector<tributary::alias_action> actions;
    std::optional<std::string> missing_index;  // of a remove: the actions before it are planned first
    for (const auto& entry : body.at("actions")) {
      const auto first = entry.begin();
      const std::string verb = first.key();
      const nlohmann::json& spec = first.value();  // a reference, not a binding: clang 14 lambdas cannot capture bindings
      auto list = [&](const char* one, const char* many) {
        std::vector<std::string> out;
        if (spec.contains(one)) out.push_back(spec.at(one).get<std::string>());
        if (spec.contains(many))
          for (const auto& v : spec.at(many)) out.push_back(v.get<std::string>());
        return out;
      };
      if (verb == "add") {
        for (const auto& key : spec.items())
          if (key.key() != "index" && key.key() != "indices" && key.key() != "alias" && key.key() != "aliases")
            return error_response(400, "x_content_parse_exception", "[add] unknown field [" + key.key() + "]");
        for (const auto& index : list("index", "indices"))
          for (const auto& alias : list("alias", "aliases")) actions.push_back(tributary::alias_action::add(index, alias));
      } else if (verb == "remove") {
        if (spec.contains("must_exist") && !parses_must_exist())
          return error_response(400, "x_content_parse_exception", "[remove] unknown field [must_exist]");
        for (const auto& index : list("index", "indices")) {
          if (!indices_.contains(index) && !missing_index) missing_index = index;
          if (missing_index) break;
          for (const auto& alias : list("alias", "aliases"))
            actions.push_back(tributary::alias_action::remove(index, alias, true));
        }
      } else {
        return error_response(400, "x_content_parse_exception", "[alias_action] unknown field [" + verb + "]");
      }
      if (missing_index) break;
    }
    std::vector<tributary::alias_entry> rows;
    for (const auto& [a, i] : aliases_) rows.push_back({a, i});
    std::vector<std::string> indices;
    for (const auto& [name, unused] : indices_) indices.push_back(name);
    const auto plan = tributary::plan_alias_update(actions, rows, indices);
    if (plan.refused) {
      const auto& a = actions[plan.refused->action];
      switch (plan.refused->why) {
        case tributary::alias_refusal::reason::missing_index: return index_not_found(a.index);
        case tributary::alias_refusal::reason::shadows_index:
          return error_response(400, "invalid_alias_name_exception",
                                "Invalid alias name [" + a.alias + "]: an index or data stream exists with the same name as the alias");
        case tributary::alias_refusal::reason::not_on_index:
          return error_response(404, "aliases_not_found_exception", "aliases [" + a.alias + "] missing",
                                {{"resource.type", "aliases"}, {"resource.id", a.alias}});
      }
    }
    if (missing_index) return index_not_found(*missing_index);
    for (const auto& r : plan.deletes) aliases_.erase({r.alias, r.index});
    for (const auto& r : plan.inserts) aliases_.insert({r.alias, r.index});
    return json_response(200, nlohmann::json{{"acknowledged", true}});
  }

  http_response refresh(const std::string& expression) {
    std::vector<std::string> names;
    if (auto missing = resolve(expression, names)) return index_not_found(*missing);
    for (const auto& n : names) indices_[n].searchable = indices_[n].docs;
    return json_response(200, nlohmann::json{{"_shards", {{"total", 2}, {"successful", 1}, {"failed", 0}}}});
  }

  http_response bulk(const recorded_request& rec, const std::string& path_index) {
    const std::string refresh = rec.query.contains("refresh") ? rec.query.at("refresh") : "false";
    nlohmann::json items = nlohmann::json::array();
    bool errors = false;
    std::set<std::string> touched;
    std::size_t from = 0;
    const std::string& body = rec.body;
    auto next_line = [&](std::string& line) {
      if (from >= body.size()) return false;
      const auto nl = body.find('\n', from);
      if (nl == std::string::npos) throw std::runtime_error("the bulk request must be terminated by a newline [\\n]");
      line = body.substr(from, nl - from);
      from = nl + 1;
      return true;
    };
    std::string action_line, source_line;
    try {
      while (next_line(action_line)) {
        const auto action = nlohmann::json::parse(action_line);
        if (!action.is_object() || action.empty()) throw std::runtime_error("malformed action/metadata line");
        const auto first = action.begin();
        const std::string verb = first.key();
        const nlohmann::json& meta = first.value();
        if (verb != "index" && verb != "create" && verb != "delete")
          return error_response(400, "illegal_argument_exception", "Malformed action/metadata line [1], expected one of [create, delete, index, update] but found [" + verb + "]");
        // A delete has no source line.
        if (verb != "delete" && !next_line(source_line))
          throw std::runtime_error("the bulk request must be terminated by a newline [\\n]");
        std::string target = meta.contains("_index") ? meta.at("_index").get<std::string>() : path_index;
        const std::string id = meta.at("_id").get<std::string>();
        nlohmann::json item = {{"_index", target}, {"_id", id}};
        if (is_alias(target)) {
          auto t = targets_of_alias(target);
          if (t.size() != 1) {
            item["status"] = 400;
            item["error"] = {{"type", "illegal_argument_exception"},
                             {"reason", "no write index is defined for alias [" + target + "]."}};
            errors = true;
            items.push_back({{verb, item}});
            continue;
          }
          target = t.front();
          item["_index"] = target;
        }
        if (auto it = rejected_items_.find(id); it != rejected_items_.end() && it->second > 0) {
          --it->second;
          item["status"] = 429;
          item["error"] = {{"type", "es_rejected_execution_exception"},
                           {"reason", "rejected execution of primary operation [coordinating_and_primary_bytes=0, "
                                      "replica_bytes=0, all_bytes=0, primary_operation_bytes=1, max_coordinating_and_primary_bytes=0]"}};
          errors = true;
          items.push_back({{verb, item}});
          continue;
        }
        auto shards = [&] {
          if (refresh == "true" || refresh.empty()) item["forced_refresh"] = true;
          item["_shards"] = {{"total", 2}, {"successful", 1}, {"failed", 0}};
          item["_primary_term"] = 1;
        };
        if (verb == "delete") {
          if (!indices_.contains(target)) {
            item["status"] = 404;
            item["error"] = {{"type", "index_not_found_exception"}, {"reason", "no such index [" + target + "]"},
                             {"resource.type", "index_expression"}, {"resource.id", target}, {"index_uuid", "_na_"},
                             {"index", target}};
            errors = true;
            items.push_back({{verb, item}});
            continue;
          }
          auto& data = indices_[target];
          auto existing = data.docs.find(id);
          // Not found is no error: the item says so in `result` and `status`, and "errors" stays false.
          item["_version"] = existing == data.docs.end() ? 1 : existing->second->version + 1;
          item["result"] = existing == data.docs.end() ? "not_found" : "deleted";
          shards();
          item["_seq_no"] = data.seq_no++;
          item["status"] = existing == data.docs.end() ? 404 : 200;
          if (existing != data.docs.end()) data.docs.erase(existing);
          touched.insert(target);
          items.push_back({{verb, item}});
          continue;
        }
        if (verb == "create" && indices_.contains(target) && indices_.at(target).docs.contains(id)) {
          const auto version = indices_.at(target).docs.at(id)->version;
          item["status"] = 409;
          item["error"] = {{"type", "version_conflict_engine_exception"},
                           {"reason", "[" + id + "]: version conflict, document already exists (current version [" +
                                        std::to_string(version) + "])"},
                           {"index_uuid", "kdGWZcTaQ0yT4x8p9T6Z4A"}, {"shard", "0"}, {"index", target}};
          errors = true;
          items.push_back({{verb, item}});
          continue;
        }
        nlohmann::json parsed;
        try {
          parsed = nlohmann::json::parse(source_line);
          if (!parsed.is_object()) throw std::runtime_error("not an object");
        } catch (const std::exception&) {
          item["status"] = 400;
          item["error"] = {{"type", "mapper_parsing_exception"}, {"reason", "failed to parse"}};
          errors = true;
          items.push_back({{verb, item}});
          continue;
        }
        auto& data = indices_[target];  // auto-creates a missing index, as the servers do by default
        auto existing = data.docs.find(id);
        const long version = existing == data.docs.end() ? 1 : existing->second->version + 1;
        data.docs[id] = std::make_shared<const document>(document{source_line, std::move(parsed), version});
        touched.insert(target);
        item["_version"] = version;
        item["result"] = version == 1 ? "created" : "updated";
        if (refresh == "true" || refresh.empty()) item["forced_refresh"] = true;
        item["_shards"] = {{"total", 2}, {"successful", 1}, {"failed", 0}};
        item["_seq_no"] = data.seq_no++;
        item["_primary_term"] = 1;
        item["status"] = version == 1 ? 201 : 200;
        items.push_back({{verb, item}});
      }
    } catch (const std::runtime_error& e) {
      return error_response(400, "illegal_argument_exception", e.what());
    }
    if (refresh == "true" || refresh == "wait_for" || refresh.empty())
      for (const auto& t : touched) indices_[t].searchable = indices_[t].docs;
    return json_response(200, nlohmann::json{{"took", 3}, {"errors", errors}, {"items", items}});
  }

  /// A found doc of `_mget`; without `source` (`_source=false`) the answer has no `_source` at all.
  static void append_doc(std::string& out, const std::string& index, const std::string& id, const document& d, bool source) {
    out += R"({"_index":)" + nlohmann::json(index).dump() + R"(,"_id":)" + nlohmann::json(id).dump() +
           R"(,"_version":)" + std::to_string(d.version) + R"(,"_seq_no":0,"_primary_term":1,"found":true)";
    if (source) out += R"(,"_source":)" + d.raw;
    out += "}";
  }

  http_response mget(const recorded_request& rec, const std::string& index) const {
    const auto body = nlohmann::json::parse(rec.body);
    const bool with_source = !rec.query.contains("_source") || rec.query.at("_source") != "false";
    std::vector<std::string> ids;
    if (body.contains("ids"))
      for (const auto& v : body.at("ids")) ids.push_back(v.get<std::string>());
    if (body.contains("docs"))
      for (const auto& v : body.at("docs")) ids.push_back(v.at("_id").get<std::string>());
    std::vector<std::string> concrete;
    const auto missing = resolve(index, concrete);
    std::string out = R"({"docs":[)";
    for (std::size_t k = 0; k < ids.size(); ++k) {
      if (k) out += ',';
      if (missing) {
        out += R"({"_index":)" + nlohmann::json(index).dump() + R"(,"_id":)" + nlohmann::json(ids[k]).dump() +
               R"(,"error":{"root_cause":[{"type":"index_not_found_exception","reason":"no such index [)" + index +
               R"(]","index":)" + nlohmann::json(index).dump() + R"(}],"type":"index_not_found_exception","reason":"no such index [)" +
               index + R"(]","resource.type":"index_expression","resource.id":)" + nlohmann::json(index).dump() + "}}";
        continue;
      }
      if (concrete.size() != 1) {
        out += R"({"_index":)" + nlohmann::json(index).dump() + R"(,"_id":)" + nlohmann::json(ids[k]).dump() +
               R"(,"error":{"type":"illegal_argument_exception","reason":"alias has more than one index associated with it"}})";
        continue;
      }
      const auto& data = indices_.at(concrete.front());
      auto it = data.docs.find(ids[k]);
      if (it == data.docs.end()) {
        out += R"({"_index":)" + nlohmann::json(concrete.front()).dump() + R"(,"_id":)" + nlohmann::json(ids[k]).dump() +
               R"(,"found":false})";
      } else {
        append_doc(out, concrete.front(), ids[k], *it->second, with_source);
      }
    }
    out += "]}";
    return json_response(200, out);
  }

  /// Hits of `snapshot` sorted by the keyword field of `sort` (missing values last), after `after`.
  static std::vector<std::tuple<std::string, std::string, std::string, doc_ptr>> sorted_hits(
    const std::vector<std::pair<std::string, doc_map>>& snapshot, const nlohmann::json& sort,
    const std::optional<std::string>& after) {
    std::string field;
    if (sort.is_array() && !sort.empty()) {
      const auto& first = sort.front();
      field = first.is_string() ? first.get<std::string>() : first.begin().key();
    }
    std::vector<std::tuple<std::string, std::string, std::string, doc_ptr>> hits;  // key, index, id, doc
    for (const auto& [index, docs] : snapshot) {
      for (const auto& [id, d] : docs) {
        std::string key = "\xff\xff\xff\xff";  // missing: _last
        if (!field.empty() && d->parsed.contains(field) && d->parsed.at(field).is_string())
          key = d->parsed.at(field).get<std::string>();
        if (field.empty()) key = id;
        if (after && key <= *after) continue;
        hits.emplace_back(std::move(key), index, id, d);
      }
    }
    std::sort(hits.begin(), hits.end(),
              [](const auto& a, const auto& b) { return std::tie(std::get<0>(a), std::get<1>(a)) < std::tie(std::get<0>(b), std::get<1>(b)); });
    return hits;
  }

  static std::string hits_json(const std::vector<std::tuple<std::string, std::string, std::string, doc_ptr>>& hits,
                               std::size_t from, std::size_t size, const std::string& cursor_field, const std::string& cursor) {
    std::string out = "{";
    if (!cursor_field.empty()) out += nlohmann::json(cursor_field).dump() + ":" + nlohmann::json(cursor).dump() + ",";
    out += R"("took":2,"timed_out":false,"_shards":{"total":1,"successful":1,"skipped":0,"failed":0},"hits":{"max_score":null,"hits":[)";
    for (std::size_t k = from; k < std::min(hits.size(), from + size); ++k) {
      const auto& [key, index, id, d] = hits[k];
      if (k > from) out += ',';
      out += R"({"_index":)" + nlohmann::json(index).dump() + R"(,"_id":)" + nlohmann::json(id).dump() +
             R"(,"_score":null,"_source":)" + d->raw + R"(,"sort":[)" + nlohmann::json(key).dump() + "]}";
    }
    out += "]}}";
    return out;
  }

  http_response search(const recorded_request& rec, const std::string& index) {
    const auto body = rec.body.empty() ? nlohmann::json::object() : nlohmann::json::parse(rec.body);
    if (body.contains("pit"))
      return error_response(400, "action_request_validation_exception",
                            "Validation Failed: 1: [indices] cannot be used with point in time. Do not specify any index with point in time.;");
    std::vector<std::string> concrete;
    if (auto missing = resolve(index, concrete)) return index_not_found(*missing);
    const std::size_t size = body.value("size", 10);
    if (size > 10000)
      return error_response(400, "search_phase_execution_exception",
                            "Result window is too large, from + size must be less than or equal to: [10000] but was [" +
                              std::to_string(size) + "].");
    std::vector<std::pair<std::string, doc_map>> snapshot;
    for (const auto& n : concrete) snapshot.emplace_back(n, indices_.at(n).searchable);
    std::optional<std::string> after;
    if (body.contains("search_after")) after = body.at("search_after").at(0).get<std::string>();
    const nlohmann::json sort = body.value("sort", nlohmann::json::array());
    if (rec.query.contains("scroll")) {
      context c{std::move(snapshot), sort, size, 0};
      const std::string id = next_context_id("scroll");
      auto hits = sorted_hits(c.snapshot, c.sort, std::nullopt);
      c.position = std::min(size, hits.size());
      contexts_[id] = std::move(c);
      ++contexts_opened_;
      return json_response(200, hits_json(hits, 0, size, "_scroll_id", id));
    }
    auto hits = sorted_hits(snapshot, sort, after);
    return json_response(200, hits_json(hits, 0, size, {}, {}));
  }

  std::string next_context_id(const std::string& kind) {
    return "FGluY2x1ZGVfY29udGV4dF91dWlk" + kind + "DXF1ZXJ5QW5kRmV0Y2gBFk" + std::to_string(++context_counter_) + "AAAAAAAAAAA==";
  }

  http_response pit_open(const recorded_request& rec, const std::string& index) {
    if (!rec.query.contains("keep_alive"))
      return error_response(400, "action_request_validation_exception", "Validation Failed: 1: [keep_alive] is not specified;");
    std::vector<std::string> concrete;
    if (auto missing = resolve(index, concrete)) return index_not_found(*missing);
    context c;
    for (const auto& n : concrete) c.snapshot.emplace_back(n, indices_.at(n).searchable);
    const std::string id = next_context_id("pit");
    contexts_[id] = std::move(c);
    ++contexts_opened_;
    if (is_opensearch())
      return json_response(200, nlohmann::json{{"pit_id", id},
                                               {"_shards", {{"total", 1}, {"successful", 1}, {"skipped", 0}, {"failed", 0}}},
                                               {"creation_time", 1658146050064LL}});
    return json_response(200, nlohmann::json{{"id", id}});
  }

  http_response pit_search(const recorded_request& rec) {
    const auto body = nlohmann::json::parse(rec.body.empty() ? "{}" : rec.body);
    if (!body.contains("pit")) return error_response(400, "illegal_argument_exception", "the fake searches all indices only with a pit");
    const std::string id = body.at("pit").at("id").get<std::string>();
    auto it = contexts_.find(id);
    if (it == contexts_.end())
      return error_response(404, "search_context_missing_exception", "No search context found for id [" + id + "]");
    std::optional<std::string> after;
    if (body.contains("search_after")) after = body.at("search_after").at(0).get<std::string>();
    const std::size_t size = body.value("size", 10);
    auto hits = sorted_hits(it->second.snapshot, body.value("sort", nlohmann::json::array()), after);
    return json_response(200, hits_json(hits, 0, size, "pit_id", id));
  }

  http_response es_pit_delete(const recorded_request& rec) {
    const auto body = nlohmann::json::parse(rec.body);
    const bool freed = contexts_.erase(body.at("id").get<std::string>()) > 0;
    return json_response(freed ? 200 : 404, nlohmann::json{{"succeeded", true}, {"num_freed", freed ? 1 : 0}});
  }

  http_response os_pit_delete(const recorded_request& rec) {
    const auto body = nlohmann::json::parse(rec.body);
    nlohmann::json pits = nlohmann::json::array();
    for (const auto& id : body.at("pit_id")) {
      const bool freed = contexts_.erase(id.get<std::string>()) > 0;
      pits.push_back({{"successful", freed}, {"pit_id", id}});
    }
    return json_response(200, nlohmann::json{{"pits", pits}});
  }

  http_response scroll_next(const recorded_request& rec) {
    const auto body = nlohmann::json::parse(rec.body);
    const std::string id = body.at("scroll_id").get<std::string>();
    auto it = contexts_.find(id);
    if (it == contexts_.end())
      return error_response(404, "search_context_missing_exception", "No search context found for id [" + id + "]");
    auto& c = it->second;
    auto hits = sorted_hits(c.snapshot, c.sort, std::nullopt);
    const std::size_t from = c.position;
    c.position = std::min(hits.size(), from + c.size);
    return json_response(200, hits_json(hits, from, c.size, "_scroll_id", id));
  }

  http_response scroll_clear(const recorded_request& rec) {
    const auto body = nlohmann::json::parse(rec.body);
    std::size_t freed = 0;
    const auto& ids = body.at("scroll_id");
    if (ids.is_array()) {
      for (const auto& id : ids) freed += contexts_.erase(id.get<std::string>());
    } else {
      freed += contexts_.erase(ids.get<std::string>());
    }
    return json_response(freed ? 200 : 404, nlohmann::json{{"succeeded", true}, {"num_freed", freed}});
  }

  mutable std::mutex mu_;
  es_flavour flavour_;
  std::string version_;
  int major_ = 0, minor_ = 0;
  std::string authorization_;
  std::map<std::string, int> rejected_items_;
  int fail_status_ = 0, fail_times_ = 0;
  std::string fail_path_;
  bool recording_ = true;
  std::vector<recorded_request> requests_;
  std::map<std::string, index_data> indices_;
  std::set<std::pair<std::string, std::string>> aliases_;  // (alias, index)
  std::map<std::string, context> contexts_;
  std::size_t contexts_opened_ = 0;
  std::size_t context_counter_ = 0;
};

}  // namespace tributary::testing
