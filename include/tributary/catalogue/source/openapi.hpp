#pragma once
// Reading the catalogue's fields (info.title, summary, description, x-category, x-pricing, x-links,
// x-hide-api-catalogue) from an OpenAPI document, which may be YAML or JSON.
//
// Most documents arrive as JSON, and yaml-cpp was the largest user-space cost of a collection: a
// document that is JSON is parsed with simdjson (read_openapi_json), everything else with yaml-cpp
// (read_openapi_yaml), and the two give the same reading of a JSON document
// (tests/openapi_parse_test.cpp runs every fixture and a generated set through both), but for one
// thing: yaml-cpp refuses a character escaped as a UTF-16 surrogate pair (\ud83d\ude00, as Python's
// json.dumps writes every character past U+FFFF), calling the document malformed, where simdjson reads
// the character. Every document
// simdjson refuses (malformed, nested too deep, too large) goes to yaml-cpp, so bad input gets the
// errors it always got.

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <simdjson.h>
#include <yaml-cpp/yaml.h>

#include <tributary/catalogue/document_json.hpp>
#include <tributary/detail/json_text.hpp>

namespace tributary {

/// The values `info.x-category` and `info.x-pricing` may take; anything else skips the version.
inline constexpr std::string_view xroad_data_categories[] = {"open", "public", "official", "personal", "health", "financial"};
inline constexpr std::string_view xroad_pricing_values[] = {"free", "paid"};

namespace detail {

/// The most JSON an `x-links` may take. Real ones are a few links; YAML anchors and aliases can make a
/// few hundred bytes of YAML into gigabytes of JSON.
inline constexpr std::size_t xroad_max_links_bytes = 64 * 1024;

/// Why a YAML value has no JSON form that may be stored; thrown by yaml_to_json.
struct yaml_not_json {
  std::string why;
  static yaml_not_json too_large(std::size_t max_bytes) {
    return {"it is larger than " + std::to_string(max_bytes / 1024) + " KiB as JSON"};
  }
};

/// A plain (unquoted) YAML scalar as JSON: null, true and false where YAML core-schema reads them so,
/// a number as written where JSON can spell it and readers can hold it (not out of a double's range or
/// beyond 64 bits), anything else a string.
inline void append_plain_scalar(std::string& out, std::string_view s) {
  if (s == "~" || s == "null" || s == "Null" || s == "NULL") return void(out += "null");
  if (s == "true" || s == "True" || s == "TRUE") return void(out += "true");
  if (s == "false" || s == "False" || s == "FALSE") return void(out += "false");
  // A JSON number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
  std::size_t i = 0;
  auto digits = [&] {
    const auto from = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    return i - from;
  };
  bool number = true;
  if (i < s.size() && s[i] == '-') ++i;
  const auto int_start = i;
  const auto int_digits = digits();
  if (int_digits == 0 || (int_digits > 1 && s[int_start] == '0')) number = false;
  if (number && i < s.size() && s[i] == '.') {
    ++i;
    if (digits() == 0) number = false;
  }
  if (number && i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (digits() == 0) number = false;
  }
  if (number && i == s.size() && is_json_value(s)) return void(out += s);
  append_quoted(out, s);
}

/// Emits a YAML node as JSON. Quoted scalars stay strings; plain ones become null, booleans and
/// numbers where YAML core-schema would read them so and JSON can spell them (a number JSON readers
/// cannot hold, out of a double's range or beyond 64 bits, stays a string as written). Throws
/// yaml_not_json for a map key that is a sequence or a map, and once `out` exceeds `max_bytes`.
inline void yaml_to_json(const YAML::Node& node, std::string& out, std::size_t max_bytes = xroad_max_links_bytes) {
  if (out.size() > max_bytes) throw yaml_not_json::too_large(max_bytes);
  switch (node.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null: out += "null"; return;
    case YAML::NodeType::Sequence: {
      out += '[';
      bool first = true;
      for (const auto& item : node) {
        if (!first) out += ',';
        first = false;
        yaml_to_json(item, out, max_bytes);
      }
      out += ']';
      return;
    }
    case YAML::NodeType::Map: {
      out += '{';
      bool first = true;
      for (const auto& kv : node) {
        if (!first) out += ',';
        first = false;
        if (kv.first.IsSequence() || kv.first.IsMap())
          throw yaml_not_json{"a map key is a YAML sequence or map, which JSON cannot spell"};
        append_quoted(out, kv.first.Scalar());
        out += ':';
        yaml_to_json(kv.second, out, max_bytes);
      }
      out += '}';
      return;
    }
    case YAML::NodeType::Scalar: break;
  }
  if (node.Tag() == "!") return append_quoted(out, node.Scalar());  // "!" marks a quoted scalar: always a string
  append_plain_scalar(out, node.Scalar());
}

/// The result of reading one OpenAPI document.
struct openapi_reading {
  enum class verdict { keep, skip_warning, skip_note } what = verdict::keep;
  std::string message;  ///< why it was skipped
  std::string title, summary, description, links;
  std::string links_dropped;  ///< why `x-links` was left out of a document that is kept; empty when it was not
  std::vector<std::string> pricing, data;
};

inline std::vector<std::string> string_list(const YAML::Node& node) {
  std::vector<std::string> out;
  if (!node || node.IsNull()) return out;
  if (node.IsScalar()) {
    out.push_back(node.Scalar());
  } else if (node.IsSequence()) {
    for (const auto& item : node) {
      if (!item.IsScalar()) throw YAML::Exception(YAML::Mark::null_mark(), "expected a list of strings");
      out.push_back(item.Scalar());
    }
  } else {
    throw YAML::Exception(YAML::Mark::null_mark(), "expected a string or a list of strings");
  }
  for (auto& s : out)
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

inline std::string first_line(std::string_view text) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    auto line = text.substr(pos, end - pos);
    while (!line.empty() && std::isspace(static_cast<unsigned char>(line.front()))) line.remove_prefix(1);
    while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.remove_suffix(1);
    if (!line.empty()) return std::string(line);
    pos = end + 1;
  }
  return {};
}

/// Reads the catalogue fields of an OpenAPI document with yaml-cpp (YAML, or JSON, which is YAML's flow
/// style): the reading every document gets that read_openapi_json leaves alone.
inline openapi_reading read_openapi_yaml(const std::string& text) {
  using verdict = openapi_reading::verdict;
  const auto& data_values = xroad_data_categories;
  const auto& pricing_values = xroad_pricing_values;
  openapi_reading r;
  auto skip = [&](std::string message) {
    r.what = verdict::skip_warning;
    r.message = std::move(message);
    return r;
  };
  // yaml-cpp passes bytes that are not UTF-8 through, and the stored document (JSON, which must be UTF-8)
  // would then be refused by every reader, document_parser included.
  if (!simdjson::validate_utf8(text.data(), text.size())) return skip("the OpenAPI document is not valid UTF-8");
  try {
    const YAML::Node root = YAML::Load(text);
    if (!root.IsMap()) return skip("the OpenAPI document is not a YAML or JSON object");
    const YAML::Node info = root["info"];
    if (!info || !info.IsMap()) return skip("the OpenAPI document has no info object");
    if (const YAML::Node hide = info["x-hide-api-catalogue"]; hide && hide.IsScalar() && hide.as<bool>(false)) {
      r.what = verdict::skip_note;
      r.message = "opted out of the catalogue (info.x-hide-api-catalogue)";
      return r;
    }
    const YAML::Node title = info["title"];
    if (!title || !title.IsScalar() || title.Scalar().empty()) return skip("the OpenAPI document has no info.title");
    r.title = title.Scalar();
    if (const YAML::Node d = info["description"]; d && d.IsScalar()) r.description = d.Scalar();
    if (const YAML::Node s = info["summary"]; s && s.IsScalar() && !s.Scalar().empty()) r.summary = s.Scalar();
    else r.summary = first_line(r.description);
    // yaml-cpp spells the escapes \N and \_ as the single bytes 0x85 and 0xA0, not as UTF-8: a value read
    // from a document that is UTF-8 may still not be.
    for (const std::string* v : {&r.title, &r.summary, &r.description})
      if (!simdjson::validate_utf8(v->data(), v->size()))
        return skip("info.title, summary or description is not valid UTF-8 once read (a YAML escape \\N or \\_?)");
    try {
      r.data = string_list(info["x-category"]);
      r.pricing = string_list(info["x-pricing"]);
    } catch (const YAML::Exception& e) {
      return skip(std::string("x-category or x-pricing: ") + e.msg);
    }
    for (const auto& v : r.data)
      if (std::find(std::begin(data_values), std::end(data_values), v) == std::end(data_values))
        return skip("unknown x-category value '" + v + "' (expected open, public, official, personal, health or financial)");
    for (const auto& v : r.pricing)
      if (std::find(std::begin(pricing_values), std::end(pricing_values), v) == std::end(pricing_values))
        return skip("unknown x-pricing value '" + v + "' (expected free or paid)");
    if (const YAML::Node links = info["x-links"]; links && !links.IsNull()) {
      // What is stored must read back everywhere: anything that is not one valid JSON value is dropped.
      try {
        yaml_to_json(links, r.links);
        if (r.links.size() > xroad_max_links_bytes) throw yaml_not_json::too_large(xroad_max_links_bytes);
        if (!is_json_value(r.links)) r.links_dropped = "it is not valid JSON once converted";
      } catch (const yaml_not_json& e) {
        r.links_dropped = e.why;
      }
      if (!r.links_dropped.empty()) r.links.clear();
    }
  } catch (const YAML::Exception& e) {
    return skip(std::string("malformed OpenAPI document (neither YAML nor JSON): ") + e.what());
  }
  return r;
}


/// The parsers read_openapi reuses across documents.
struct openapi_parsers {
  simdjson::dom::parser validator;      ///< parses a JSON document whole: is it JSON at all?
  simdjson::ondemand::parser reader;    ///< reads it, with the numbers as they are written
};

/// yaml-cpp's `as<bool>` of a scalar: y, yes, true or on (n, no, false, off are false), each in lower
/// case, upper case or capitalised; anything else is not a boolean (false here).
[[nodiscard]] inline bool yaml_true(std::string_view s) {
  auto lower = [](char c) { return c >= 'a' && c <= 'z'; };
  auto upper = [](char c) { return c >= 'A' && c <= 'Z'; };
  auto none = [](std::string_view t, auto is) { return std::none_of(t.begin(), t.end(), is); };
  // yaml-cpp's IsFlexibleCase: no capital at all, or a capital first and then one case only.
  const bool flexible = none(s, upper) || (upper(s.front()) && (none(s.substr(1), upper) || none(s.substr(1), lower)));
  if (!flexible) return false;
  std::string folded(s);
  for (auto& c : folded) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return folded == "y" || folded == "yes" || folded == "true" || folded == "on";
}

/// A number's token as written (On-Demand's raw token runs on to the next structural character).
[[nodiscard]] inline std::string_view json_number_text(simdjson::ondemand::value& v) {
  std::string_view t = v.raw_json_token();
  while (!t.empty() && (t.back() == ' ' || t.back() == '\t' || t.back() == '\n' || t.back() == '\r')) t.remove_suffix(1);
  return t;
}

/// A JSON value as yaml-cpp's Scalar() reads it: a string's text, a boolean's word, a number as
/// written; nullopt for null, an object or an array (no scalar to yaml-cpp).
[[nodiscard]] inline std::optional<std::string> json_scalar(simdjson::ondemand::value v) {
  switch (v.type().value()) {
    case simdjson::ondemand::json_type::string: return std::string(std::string_view(v.get_string()));
    case simdjson::ondemand::json_type::boolean: return std::string(bool(v.get_bool()) ? "true" : "false");
    case simdjson::ondemand::json_type::number: return std::string(json_number_text(v));
    default: return std::nullopt;
  }
}

/// string_list over a JSON value: the list, or the message yaml-cpp's reading gives.
struct json_string_list {
  std::vector<std::string> items;
  std::string error;
};

inline json_string_list read_json_string_list(simdjson::ondemand::value v) {
  json_string_list out;
  const auto type = v.type().value();
  if (type == simdjson::ondemand::json_type::null) return out;
  if (type == simdjson::ondemand::json_type::array) {
    for (auto item : v.get_array()) {
      auto s = json_scalar(item.value());
      if (!s) return {{}, "expected a list of strings"};
      out.items.push_back(std::move(*s));
    }
  } else if (auto s = json_scalar(v)) {
    out.items.push_back(std::move(*s));
  } else {
    return {{}, "expected a string or a list of strings"};
  }
  for (auto& s : out.items)
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

/// yaml_to_json over a JSON value: the same text (strings re-escaped as append_quoted spells them,
/// numbers as written where JSON readers can hold them); throws yaml_not_json once `out` is too large.
inline void json_to_json(simdjson::ondemand::value v, std::string& out, std::size_t max_bytes = xroad_max_links_bytes) {
  if (out.size() > max_bytes) throw yaml_not_json::too_large(max_bytes);
  switch (v.type().value()) {
    case simdjson::ondemand::json_type::array: {
      out += '[';
      bool first = true;
      for (auto item : v.get_array()) {
        if (!first) out += ',';
        first = false;
        json_to_json(item.value(), out, max_bytes);
      }
      out += ']';
      return;
    }
    case simdjson::ondemand::json_type::object: {
      out += '{';
      bool first = true;
      for (auto field : v.get_object()) {
        if (!first) out += ',';
        first = false;
        append_quoted(out, std::string_view(field.unescaped_key()));
        out += ':';
        json_to_json(field.value(), out, max_bytes);
      }
      out += '}';
      return;
    }
    case simdjson::ondemand::json_type::null: out += "null"; return;
    case simdjson::ondemand::json_type::string: append_quoted(out, std::string_view(v.get_string())); return;
    case simdjson::ondemand::json_type::boolean: out += bool(v.get_bool()) ? "true" : "false"; return;
    case simdjson::ondemand::json_type::number: append_plain_scalar(out, json_number_text(v)); return;
  }
}

/// read_openapi_yaml's reading of a JSON document, with simdjson: the same verdicts, messages and
/// fields. nullopt when simdjson refuses the text: read_openapi_yaml then says why, as it always did.
/// The document is parsed whole first (On-Demand alone would not see an error in what it skips), then
/// info's members are read, the first of each name counting (as yaml-cpp's node[key] finds the first),
/// and judged in read_openapi_yaml's order.
inline std::optional<openapi_reading> read_openapi_json(const std::string& text, openapi_parsers& parsers) {
  using verdict = openapi_reading::verdict;
  using simdjson::ondemand::json_type;
  if (parsers.validator.parse(text.data(), text.size(), true).error() != simdjson::SUCCESS) return std::nullopt;
  openapi_reading r;
  auto skip = [&](std::string message) {
    r.what = verdict::skip_warning;
    r.message = std::move(message);
    return r;
  };
  try {
    const simdjson::padded_string padded(text);
    auto doc = parsers.reader.iterate(padded);
    if (doc.type().value() != json_type::object) return skip("the OpenAPI document is not a YAML or JSON object");
    bool info_found = false, has_title = false, has_summary = false, hidden = false, has_links = false;
    std::optional<std::string> title, summary;
    std::string description;
    std::optional<json_string_list> data, pricing;
    std::string links;
    std::string links_dropped;
    std::set<std::string, std::less<>> seen;
    for (auto member : doc.get_object()) {
      if (std::string_view(member.unescaped_key()) != "info") continue;
      simdjson::ondemand::value info = member.value();
      if (info.type().value() != json_type::object) return skip("the OpenAPI document has no info object");
      info_found = true;
      for (auto field : info.get_object()) {
        const std::string key(std::string_view(field.unescaped_key()));
        if (!seen.insert(key).second) continue;  // the first of a name counts
        simdjson::ondemand::value value = field.value();
        if (key == "title") has_title = true, title = json_scalar(value);
        else if (key == "description") description = json_scalar(value).value_or("");
        else if (key == "summary") has_summary = true, summary = json_scalar(value);
        else if (key == "x-hide-api-catalogue") hidden = value.type().value() != json_type::number && [&] {
          const auto word = json_scalar(value);
          return word && yaml_true(*word);
        }();
        else if (key == "x-category") data = read_json_string_list(value);
        else if (key == "x-pricing") pricing = read_json_string_list(value);
        else if (key == "x-links" && value.type().value() != json_type::null) {
          has_links = true;
          try {
            json_to_json(value, links);
          } catch (const yaml_not_json& e) {
            links_dropped = e.why;
          }
        }
      }
      break;  // the first info counts
    }
    if (!info_found) return skip("the OpenAPI document has no info object");
    if (hidden) {
      r.what = verdict::skip_note;
      r.message = "opted out of the catalogue (info.x-hide-api-catalogue)";
      return r;
    }
    if (!has_title || !title || title->empty()) return skip("the OpenAPI document has no info.title");
    r.title = std::move(*title);
    r.description = std::move(description);
    if (has_summary && summary && !summary->empty()) r.summary = std::move(*summary);
    else r.summary = first_line(r.description);
    for (auto [list, field] : {std::pair{&data, &r.data}, std::pair{&pricing, &r.pricing}}) {
      if (!*list) continue;
      if (!(*list)->error.empty()) return skip("x-category or x-pricing: " + (*list)->error);
      *field = std::move((*list)->items);
    }
    for (const auto& v : r.data)
      if (std::find(std::begin(xroad_data_categories), std::end(xroad_data_categories), v) == std::end(xroad_data_categories))
        return skip("unknown x-category value '" + v + "' (expected open, public, official, personal, health or financial)");
    for (const auto& v : r.pricing)
      if (std::find(std::begin(xroad_pricing_values), std::end(xroad_pricing_values), v) == std::end(xroad_pricing_values))
        return skip("unknown x-pricing value '" + v + "' (expected free or paid)");
    if (has_links) {
      r.links = std::move(links);
      r.links_dropped = std::move(links_dropped);
      if (r.links_dropped.empty() && r.links.size() > xroad_max_links_bytes)
        r.links_dropped = yaml_not_json::too_large(xroad_max_links_bytes).why;
      if (r.links_dropped.empty() && !is_json_value(r.links)) r.links_dropped = "it is not valid JSON once converted";
      if (!r.links_dropped.empty()) r.links.clear();
    }
  } catch (const simdjson::simdjson_error&) {
    return std::nullopt;  // not expected of a document the validator took; yaml-cpp reads it then
  }
  return r;
}

/// Reads the catalogue fields of an OpenAPI document: one that is a JSON object with simdjson, any
/// other (and any the JSON reading declines) with yaml-cpp. `parser` is reused across documents.
inline openapi_reading read_openapi(const std::string& text, openapi_parsers& parsers) {
  const auto start = text.find_first_not_of(" \t\r\n");
  if (start != std::string::npos && text[start] == '{')
    if (auto reading = read_openapi_json(text, parsers)) return std::move(*reading);
  return read_openapi_yaml(text);
}

inline openapi_reading read_openapi(const std::string& text) {
  openapi_parsers parsers;
  return read_openapi(text, parsers);
}
}  // namespace detail

}  // namespace tributary
