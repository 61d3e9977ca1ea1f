#pragma once
// The dataset record model: what the datasets example collects, stores and merges. A `dataset` holds
// one `dataset_entry` per environment that lists it, plus the fields derived from them by the merge
// rules (merge.hpp). Its JSON holds dataset fields only; nothing of the X-Road catalogue.
//
//   {"id":"stats/wages-2023","title":"Average wages 2023","tags":["official","wages"],
//    "license":"CC-BY-4.0","rows":120,
//    "environments":[{"environment":"dev","title":"...","tags":[...],"license":"...","rows":120,
//                     "updated":"2024-03-01T08:00:00Z","stale":false}, ...]}

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <simdjson.h>

#include <tributary/collector/concepts.hpp>
#include <tributary/detail/json_text.hpp>
#include <tributary/error.hpp>

namespace datasets {

/// What one environment's listing says about a dataset.
struct dataset_entry {
  std::string environment;
  std::string title;
  std::vector<std::string> tags;
  std::string license;
  std::int64_t rows = 0;
  std::string updated;  ///< ISO 8601 UTC, as the listing gives it: compares as text
  bool stale = false;   ///< copied from a peer whose run had not finished
  friend bool operator==(const dataset_entry&, const dataset_entry&) = default;
};

/// A dataset across environments: the derived fields, then every environment's entry.
struct dataset {
  std::string id;  ///< `publisher/name`, the same in every environment
  std::string title;
  std::vector<std::string> tags;
  std::string license;
  std::int64_t rows = 0;
  std::vector<dataset_entry> environments;
  friend bool operator==(const dataset&, const dataset&) = default;
};

namespace detail {
inline void append_strings(std::string& out, const std::vector<std::string>& items) {
  out += '[';
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i) out += ',';
    tributary::detail::append_quoted(out, items[i]);
  }
  out += ']';
}
}  // namespace detail

inline void append_json(std::string& out, const dataset_entry& e) {
  using tributary::detail::append_quoted;
  out += "{\"environment\":", append_quoted(out, e.environment);
  out += ",\"title\":", append_quoted(out, e.title);
  out += ",\"tags\":", detail::append_strings(out, e.tags);
  out += ",\"license\":", append_quoted(out, e.license);
  out += ",\"rows\":" + std::to_string(e.rows);
  out += ",\"updated\":", append_quoted(out, e.updated);
  out += ",\"stale\":", out += e.stale ? "true}" : "false}";
}

inline void append_json(std::string& out, const dataset& d) {
  using tributary::detail::append_quoted;
  out += "{\"id\":", append_quoted(out, d.id);
  out += ",\"title\":", append_quoted(out, d.title);
  out += ",\"tags\":", detail::append_strings(out, d.tags);
  out += ",\"license\":", append_quoted(out, d.license);
  out += ",\"rows\":" + std::to_string(d.rows);
  out += ",\"environments\":[";
  for (std::size_t i = 0; i < d.environments.size(); ++i) {
    if (i) out += ',';
    append_json(out, d.environments[i]);
  }
  out += "]}";
}

/// Reads a dataset document; throws tributary::error(errc::bad_document) naming what is wrong. Fields
/// it does not know are ignored, so that a newer writer's documents still read.
class dataset_parser {
 public:
  dataset_parser() = default;  // not an aggregate: dom::parser's default constructor is explicit

  void parse(std::string_view json, dataset& into) {
    simdjson::dom::element root;
    if (auto err = dom_.parse(json.data(), json.size()).get(root))
      throw tributary::error(tributary::errc::bad_document, std::string("not JSON: ") + simdjson::error_message(err));
    into = dataset{};
    into.id = required_string(root, "id");
    into.title = optional_string(root, "title");
    into.tags = strings(root, "tags");
    into.license = optional_string(root, "license");
    into.rows = optional_int(root, "rows");
    simdjson::dom::array envs;
    if (root["environments"].get(envs)) bad("'environments' must be an array");
    for (simdjson::dom::element e : envs) {
      dataset_entry entry;
      entry.environment = required_string(e, "environment");
      entry.title = optional_string(e, "title");
      entry.tags = strings(e, "tags");
      entry.license = optional_string(e, "license");
      entry.rows = optional_int(e, "rows");
      entry.updated = optional_string(e, "updated");
      bool stale = false;
      if (e["stale"].get(stale) == simdjson::INCORRECT_TYPE) bad("'stale' must be a boolean");
      entry.stale = stale;
      into.environments.push_back(std::move(entry));
    }
  }
  // The documents are small: a copy costs less than keeping padded text alive.
  void parse_owned(std::string&& json, dataset& into) { parse(json, into); }

 private:
  [[noreturn]] static void bad(const std::string& what) {
    throw tributary::error(tributary::errc::bad_document, "dataset document: " + what);
  }
  static std::string required_string(simdjson::dom::element e, const char* key) {
    std::string_view v;
    if (e[key].get(v) || v.empty()) bad(std::string("'") + key + "' must be a non-empty string");
    return std::string(v);
  }
  static std::string optional_string(simdjson::dom::element e, const char* key) {
    std::string_view v;
    const auto err = e[key].get(v);
    if (err == simdjson::INCORRECT_TYPE) bad(std::string("'") + key + "' must be a string");
    return err ? std::string() : std::string(v);
  }
  static std::int64_t optional_int(simdjson::dom::element e, const char* key) {
    std::int64_t v = 0;
    const auto err = e[key].get(v);
    if (err && err != simdjson::NO_SUCH_FIELD) bad(std::string("'") + key + "' must be an integer");
    return err ? 0 : v;
  }
  static std::vector<std::string> strings(simdjson::dom::element e, const char* key) {
    std::vector<std::string> out;
    simdjson::dom::array items;
    const auto err = e[key].get(items);
    if (err == simdjson::NO_SUCH_FIELD) return out;
    if (err) bad(std::string("'") + key + "' must be an array of strings");
    for (simdjson::dom::element item : items) {
      std::string_view v;
      if (item.get(v)) bad(std::string("'") + key + "' must be an array of strings");
      out.emplace_back(v);
    }
    return out;
  }
  simdjson::dom::parser dom_;
};

/// The record model the collector is given (tributary::record_model, collector/concepts.hpp).
struct dataset_record {
  using record_model_concept = tributary::record_model_tag;
  using document = dataset;
  using entry = dataset_entry;
  using parser = dataset_parser;

  [[nodiscard]] static std::string_view id(const dataset& d) noexcept { return d.id; }
  [[nodiscard]] static std::vector<dataset_entry>& entries(dataset& d) noexcept { return d.environments; }
  [[nodiscard]] static const std::vector<dataset_entry>& entries(const dataset& d) noexcept { return d.environments; }
  [[nodiscard]] static std::string_view environment(const dataset_entry& e) noexcept { return e.environment; }
  static void mark_stale(dataset_entry& e) noexcept { e.stale = true; }
  static void write(std::string& out, const dataset& d) { append_json(out, d); }
};
static_assert(tributary::record_model<dataset_record>);

}  // namespace datasets
