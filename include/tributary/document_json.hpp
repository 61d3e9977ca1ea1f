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
    service s;
    parse(json, s);
    return s;
  }

  /// Parses into `out`, reusing the storage its strings and vectors already hold: parsing many
  /// documents into the same few services allocates little. Every field of `out` is overwritten.
  void parse(std::string_view json, service& out) {
    buffer_.assign(json.data(), json.size());
    buffer_.append(simdjson::SIMDJSON_PADDING, ' ');
    try {
      simdjson::ondemand::document doc = parser_.iterate(buffer_.data(), json.size(), buffer_.size());
      service& s = out;
      s.id.clear(), s.title.clear(), s.summary.clear(), s.description.clear(), s.owner.clear();
      s.type.clear(), s.pricing.clear(), s.data.clear(), s.access.clear();
      std::size_t environments = 0;
      for (simdjson::ondemand::field field : doc.get_object()) {
        const std::string_view key = key_of(field);
        value_t value = field.value();
        if (key == "id") assign_string(value, s.id);
        else if (key == "title") assign_string(value, s.title);
        else if (key == "summary") assign_string(value, s.summary);
        else if (key == "description") assign_string(value, s.description);
        else if (key == "owner") assign_string(value, s.owner);
        else if (key == "type") strings_of(value, s.type);
        else if (key == "pricing") strings_of(value, s.pricing);
        else if (key == "data") strings_of(value, s.data);
        else if (key == "access") strings_of(value, s.access);
        else if (key == "environments") {
          for (value_t e : value.get_array()) entry_of(e, slot(s.environments, environments++));
        }
      }
      s.environments.resize(environments);
      if (s.id.empty()) throw error(errc::bad_document, "document has no id");
    } catch (const simdjson::simdjson_error& e) {
      throw error(errc::bad_document, std::string("malformed catalogue document: ") + e.what());
    }
  }

 private:
  using value_t = simdjson::ondemand::value;

  /// The element at `at`, reused when the vector already has one (its strings keep their capacity).
  template <class T>
  static T& slot(std::vector<T>& v, std::size_t at) {
    if (at == v.size()) v.emplace_back();
    return v[at];
  }

  /// A key as written: keys without escapes (all of ours) are read in place instead of unescaped.
  std::string_view key_of(simdjson::ondemand::field& field) {
    const char* raw = field.key().raw();
    for (std::size_t n = 0;; ++n) {
      if (raw[n] == '"') return {raw, n};
      if (raw[n] == '\\') return field.unescaped_key();
    }
  }

  /// A string value. One without escapes is copied straight from the document, skipping the decode.
  static void assign_string(value_t v, std::string& out) {
    std::string_view token = v.raw_json_token();
    if (!token.empty() && token.front() == '"') {
      while (token.back() != '"') token.remove_suffix(1);  // trailing whitespace
      if (token.size() >= 2) {
        const std::string_view body = token.substr(1, token.size() - 2);
        if (body.find('\\') == std::string_view::npos) {
          out.assign(body.data(), body.size());
          return;
        }
      }
    }
    const std::string_view decoded = v.get_string();  // throws for a value that is not a string
    out.assign(decoded.data(), decoded.size());
  }
  static void strings_of(value_t v, std::vector<std::string>& out) {
    std::size_t n = 0;
    for (auto item : v.get_array()) assign_string(item.value(), slot(out, n++));
    out.resize(n);
  }
  /// The escaped body of a string value, copied without decoding.
  static json_string raw_string_of(value_t v) {
    std::string_view token = v.raw_json_token();
    while (!token.empty() && token.back() != '"') token.remove_suffix(1);  // trailing whitespace
    if (token.size() < 2 || token.front() != '"') throw error(errc::bad_document, "openApiString is not a string");
    return json_string::from_escaped(std::string(token.substr(1, token.size() - 2)));
  }
  void entry_of(value_t v, environment_entry& e) {
    e.environment.clear(), e.owner.clear(), e.access.clear();
    e.stale = false;
    std::size_t details = 0;
    for (simdjson::ondemand::field field : v.get_object()) {
      const std::string_view key = key_of(field);
      value_t value = field.value();
      if (key == "environment") assign_string(value, e.environment);
      else if (key == "owner") assign_string(value, e.owner);
      else if (key == "access") strings_of(value, e.access);
      else if (key == "stale") e.stale = bool(value.get_bool());
      else if (key == "details") {
        for (value_t d : value.get_array()) detail_of(d, slot(e.details, details++));
      }
    }
    e.details.resize(details);
    if (e.environment.empty()) throw error(errc::bad_document, "environment entry has no environment");
  }
  void detail_of(value_t v, service_detail& d) {
    d.version.clear(), d.title.clear(), d.summary.clear(), d.description.clear(), d.type.clear();
    d.pricing.clear(), d.data.clear(), d.links.clear(), d.collected.clear();
    d.openapi = json_string();
    d.xroad.instance.clear(), d.xroad.member_class.clear(), d.xroad.member_code.clear();
    d.xroad.subsystem_code.clear(), d.xroad.service_code.clear();
    for (simdjson::ondemand::field field : v.get_object()) {
      const std::string_view key = key_of(field);
      value_t value = field.value();
      if (key == "version") assign_string(value, d.version);
      else if (key == "title") assign_string(value, d.title);
      else if (key == "summary") assign_string(value, d.summary);
      else if (key == "description") assign_string(value, d.description);
      else if (key == "type") assign_string(value, d.type);
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
        d.links.assign(raw.data(), raw.size());
      } else if (key == "openApiString") d.openapi = raw_string_of(value);
      else if (key == "collected") assign_string(value, d.collected);
      else if (key == "xroadIdentifier") {
        for (simdjson::ondemand::field x : value.get_object()) {
          const std::string_view k = key_of(x);
          value_t xv = x.value();
          if (k == "instance") assign_string(xv, d.xroad.instance);
          else if (k == "memberClass") assign_string(xv, d.xroad.member_class);
          else if (k == "memberCode") assign_string(xv, d.xroad.member_code);
          else if (k == "subsystemCode") assign_string(xv, d.xroad.subsystem_code);
          else if (k == "serviceCode") assign_string(xv, d.xroad.service_code);
        }
      }
    }
  }

  simdjson::ondemand::parser parser_;
  std::string buffer_;
};

}  // namespace tributary
