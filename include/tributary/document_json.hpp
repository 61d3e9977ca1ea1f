#pragma once
// The catalogue document as JSON: a writer that appends to a buffer and a reusable simdjson parser.
// `openApiString` and `links` are carried as raw JSON text, never decoded and encoded again.

#include <string>
#include <string_view>

#include <simdjson.h>

#include <tributary/document.hpp>
#include <tributary/error.hpp>

namespace tributary {

namespace detail {
inline void append_field(std::string& out, std::string_view key, std::string_view value) {
  out += '"';
  out += key;
  out += "\":";
  append_quoted(out, value);
}
inline void append_array(std::string& out, std::string_view key, const std::vector<std::string>& values) {
  out += '"';
  out += key;
  out += "\":[";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i) out += ',';
    append_quoted(out, values[i]);
  }
  out += ']';
}
}  // namespace detail

/// Appends the JSON of `s` to `out`.
inline void append_json(std::string& out, const service& s) {
  using detail::append_array, detail::append_field;
  out += '{';
  append_field(out, "id", s.id), out += ',';
  append_field(out, "title", s.title), out += ',';
  append_field(out, "summary", s.summary), out += ',';
  append_field(out, "description", s.description), out += ',';
  append_field(out, "owner", s.owner), out += ',';
  append_array(out, "type", s.type), out += ',';
  append_array(out, "pricing", s.pricing), out += ',';
  append_array(out, "data", s.data), out += ',';
  append_array(out, "access", s.access), out += ',';
  out += "\"environments\":[";
  for (std::size_t i = 0; i < s.environments.size(); ++i) {
    const auto& e = s.environments[i];
    if (i) out += ',';
    out += '{';
    append_field(out, "environment", e.environment), out += ',';
    append_field(out, "owner", e.owner), out += ',';
    append_array(out, "access", e.access), out += ',';
    if (e.stale) out += "\"stale\":true,";
    out += "\"details\":[";
    for (std::size_t j = 0; j < e.details.size(); ++j) {
      const auto& d = e.details[j];
      if (j) out += ',';
      out += '{';
      append_field(out, "version", d.version), out += ',';
      append_field(out, "title", d.title), out += ',';
      append_field(out, "summary", d.summary), out += ',';
      append_field(out, "description", d.description), out += ',';
      append_field(out, "type", d.type), out += ',';
      append_array(out, "pricing", d.pricing), out += ',';
      append_array(out, "data", d.data), out += ',';
      if (!d.links.empty()) out += "\"links\":", out += d.links, out += ',';
      out += "\"openApiString\":\"", out += d.openapi.escaped(), out += "\",";
      append_field(out, "collected", d.collected), out += ',';
      out += "\"xroadIdentifier\":{";
      append_field(out, "instance", d.xroad.instance), out += ',';
      append_field(out, "memberClass", d.xroad.member_class), out += ',';
      append_field(out, "memberCode", d.xroad.member_code), out += ',';
      append_field(out, "subsystemCode", d.xroad.subsystem_code), out += ',';
      append_field(out, "serviceCode", d.xroad.service_code);
      out += "}}";
    }
    out += "]}";
  }
  out += "]}";
}

[[nodiscard]] inline std::string to_json(const service& s) {
  std::string out;
  append_json(out, s);
  return out;
}

/// Parses catalogue documents. Reuse one parser for many documents: its buffers are kept.
/// Unknown fields are ignored (documents written by a newer version still read); a document that is
/// not valid JSON, or has no `id`, is rejected with errc::bad_document.
class document_parser {
 public:
  [[nodiscard]] service parse(std::string_view json) {
    buffer_.assign(json.data(), json.size());
    buffer_.append(simdjson::SIMDJSON_PADDING, ' ');
    try {
      simdjson::ondemand::document doc = parser_.iterate(buffer_.data(), json.size(), buffer_.size());
      service s;
      for (auto field : doc.get_object()) {
        const std::string_view key = field.unescaped_key();
        value_t value = field.value();
        if (key == "id") s.id = string_of(value);
        else if (key == "title") s.title = string_of(value);
        else if (key == "summary") s.summary = string_of(value);
        else if (key == "description") s.description = string_of(value);
        else if (key == "owner") s.owner = string_of(value);
        else if (key == "type") strings_of(value, s.type);
        else if (key == "pricing") strings_of(value, s.pricing);
        else if (key == "data") strings_of(value, s.data);
        else if (key == "access") strings_of(value, s.access);
        else if (key == "environments") {
          for (value_t e : value.get_array()) s.environments.push_back(entry_of(e));
        }
      }
      if (s.id.empty()) throw error(errc::bad_document, "document has no id");
      return s;
    } catch (const simdjson::simdjson_error& e) {
      throw error(errc::bad_document, std::string("malformed catalogue document: ") + e.what());
    }
  }

 private:
  using value_t = simdjson::ondemand::value;

  static std::string string_of(value_t v) { return std::string(std::string_view(v.get_string())); }
  static void strings_of(value_t v, std::vector<std::string>& out) {
    out.clear();
    for (auto item : v.get_array()) out.emplace_back(std::string_view(item.get_string()));
  }
  /// The escaped body of a string value, copied without decoding.
  static json_string raw_string_of(value_t v) {
    std::string_view token = v.raw_json_token();
    while (!token.empty() && token.back() != '"') token.remove_suffix(1);  // trailing whitespace
    if (token.size() < 2 || token.front() != '"') throw error(errc::bad_document, "openApiString is not a string");
    return json_string::from_escaped(std::string(token.substr(1, token.size() - 2)));
  }
  static environment_entry entry_of(value_t v) {
    environment_entry e;
    for (auto field : v.get_object()) {
      const std::string_view key = field.unescaped_key();
      value_t value = field.value();
      if (key == "environment") e.environment = string_of(value);
      else if (key == "owner") e.owner = string_of(value);
      else if (key == "access") strings_of(value, e.access);
      else if (key == "stale") e.stale = bool(value.get_bool());
      else if (key == "details") {
        for (value_t d : value.get_array()) e.details.push_back(detail_of(d));
      }
    }
    if (e.environment.empty()) throw error(errc::bad_document, "environment entry has no environment");
    return e;
  }
  static service_detail detail_of(value_t v) {
    service_detail d;
    for (auto field : v.get_object()) {
      const std::string_view key = field.unescaped_key();
      value_t value = field.value();
      if (key == "version") d.version = string_of(value);
      else if (key == "title") d.title = string_of(value);
      else if (key == "summary") d.summary = string_of(value);
      else if (key == "description") d.description = string_of(value);
      else if (key == "type") d.type = string_of(value);
      else if (key == "pricing") strings_of(value, d.pricing);
      else if (key == "data") strings_of(value, d.data);
      else if (key == "links") {
        std::string_view raw;
        const simdjson::ondemand::json_type type = value.type();
        if (type == simdjson::ondemand::json_type::array) {
          simdjson::ondemand::array a = value.get_array();
          raw = a.raw_json();
        } else if (type == simdjson::ondemand::json_type::object) {
          simdjson::ondemand::object o = value.get_object();
          raw = o.raw_json();
        } else {
          raw = value.raw_json_token();
        }
        while (!raw.empty() && (raw.back() == ' ' || raw.back() == '\n' || raw.back() == '\t' || raw.back() == '\r'))
          raw.remove_suffix(1);
        d.links = std::string(raw);
      } else if (key == "openApiString") d.openapi = raw_string_of(value);
      else if (key == "collected") d.collected = string_of(value);
      else if (key == "xroadIdentifier") {
        for (auto x : value.get_object()) {
          const std::string_view k = x.unescaped_key();
          value_t xv = x.value();
          if (k == "instance") d.xroad.instance = string_of(xv);
          else if (k == "memberClass") d.xroad.member_class = string_of(xv);
          else if (k == "memberCode") d.xroad.member_code = string_of(xv);
          else if (k == "subsystemCode") d.xroad.subsystem_code = string_of(xv);
          else if (k == "serviceCode") d.xroad.service_code = string_of(xv);
        }
      }
    }
    return d;
  }

  simdjson::ondemand::parser parser_;
  std::string buffer_;
};

}  // namespace tributary
