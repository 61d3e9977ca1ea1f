#pragma once
// The Elasticsearch REST API on the wire, for elasticsearch_index: encoding credentials, the
// id field written into documents, and parsers of error bodies, search hits and `_mget` docs. Free of
// the backend's state, so the fuzz targets and tests reach every parser directly.

#include <simdjson.h>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <tributary/detail/excerpt.hpp>
#include <tributary/detail/json_text.hpp>
#include <tributary/error.hpp>

namespace tributary {

namespace detail {

inline std::string es_base64(std::string_view in) {
  static constexpr char table[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const auto n = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8) |
                   static_cast<unsigned char>(in[i + 2]);
    out += table[(n >> 18) & 63], out += table[(n >> 12) & 63], out += table[(n >> 6) & 63], out += table[n & 63];
  }
  if (i + 1 == in.size()) {
    const auto n = static_cast<unsigned char>(in[i]) << 16;
    out += table[(n >> 18) & 63], out += table[(n >> 12) & 63], out += "==";
  } else if (i + 2 == in.size()) {
    const auto n = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
    out += table[(n >> 18) & 63], out += table[(n >> 12) & 63], out += table[(n >> 6) & 63], out += '=';
  }
  return out;
}

/// The document as sent: `{"<field>":"<id>",` + the rest of the object. nullopt unless `json` is an
/// object. Raw CR/LF become spaces (they can only be whitespace between tokens in valid JSON).
inline std::optional<std::string> es_source_with_id(std::string_view field, std::string_view id, std::string_view json) {
  std::size_t start = 0;
  while (start < json.size() && (json[start] == ' ' || json[start] == '\t' || json[start] == '\n' || json[start] == '\r'))
    ++start;
  if (start == json.size() || json[start] != '{') return std::nullopt;
  std::string_view rest = json.substr(start + 1);
  std::size_t k = 0;
  while (k < rest.size() && (rest[k] == ' ' || rest[k] == '\t' || rest[k] == '\n' || rest[k] == '\r')) ++k;
  if (k == rest.size()) return std::nullopt;
  std::string out;
  out.reserve(json.size() + field.size() + id.size() + 8);
  out += '{';
  append_quoted(out, field);
  out += ':';
  append_quoted(out, id);
  if (rest[k] != '}') out += ',';
  const std::size_t from = out.size();
  out.append(rest);
  for (std::size_t i = from; i < out.size(); ++i)
    if (out[i] == '\n' || out[i] == '\r') out[i] = ' ';
  return out;
}

/// Undoes es_source_with_id. A source that does not start with the field as we write it (a document
/// written by another tool) is returned unchanged. The text has room for a parser's padding
/// (detail::padded_text), as every text a padded_text_store hands out.
inline std::string es_source_without_id(std::string_view field, std::string_view id, std::string_view raw) {
  std::string prefix = "{";
  append_quoted(prefix, field);
  prefix += ':';
  append_quoted(prefix, id);
  if (!raw.starts_with(prefix)) return padded_text(raw);
  std::string_view rest = raw.substr(prefix.size());
  if (!rest.empty() && rest.front() == ',') rest.remove_prefix(1);
  std::string out;
  out.reserve(1 + rest.size() + parse_padding);
  out += '{';
  out.append(rest);
  return out;
}

/// The `error` of an Elasticsearch error body: {"error":{"type":..,"reason":..},"status":..} or, for
/// some APIs (GET /_alias/{name}), {"error":"text","status":404}.
struct es_failure {
  std::string type;
  std::string reason;
};

inline es_failure es_failure_of(std::string_view body) {
  es_failure f;
  try {
    simdjson::dom::parser parser;
    simdjson::padded_string padded(body);
    simdjson::dom::element doc = parser.parse(padded);
    simdjson::dom::element e;
    if (doc.at_key("error").get(e) == simdjson::SUCCESS) {
      if (e.is_string()) {
        f.reason = std::string(std::string_view(e));
      } else if (e.is_object()) {
        std::string_view s;
        if (e["type"].get(s) == simdjson::SUCCESS) f.type = std::string(s);
        if (e["reason"].get(s) == simdjson::SUCCESS) f.reason = std::string(s);
      }
    }
  } catch (const simdjson::simdjson_error&) {
  }
  if (f.type.empty() && f.reason.empty()) f.reason = excerpt(body, 300, true);  // not JSON: a proxy's page
  return f;
}

/// A search hit or an `_mget` doc, with `_source` as the raw bytes the server sent.
struct es_hit {
  std::string index, id, source;
  bool found = true;
  es_failure failure;  ///< an `_mget` doc's error
};

struct es_hits {
  std::vector<es_hit> hits;
  std::string cursor;  ///< pit_id or _scroll_id, when the response has one
};

inline std::string_view es_trim_right(std::string_view s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\n' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

inline es_hit es_parse_hit(simdjson::ondemand::object object) {
  es_hit h;
  for (simdjson::ondemand::field field : object) {
    const std::string_view key = field.unescaped_key();
    simdjson::ondemand::value value = field.value();
    if (key == "_index") h.index = std::string(std::string_view(value.get_string()));
    else if (key == "_id") h.id = std::string(std::string_view(value.get_string()));
    else if (key == "found") h.found = bool(value.get_bool());
    else if (key == "_source") {
      simdjson::ondemand::object source = value.get_object();
      h.source = std::string(es_trim_right(source.raw_json()));
    } else if (key == "error") {
      h.found = false;
      const simdjson::ondemand::json_type type = value.type();
      if (type == simdjson::ondemand::json_type::object) {
        for (simdjson::ondemand::field ef : value.get_object()) {
          const std::string_view ek = ef.unescaped_key();
          if (ek == "type") h.failure.type = std::string(std::string_view(ef.value().get_string()));
          else if (ek == "reason") h.failure.reason = std::string(std::string_view(ef.value().get_string()));
        }
      } else {
        h.failure.reason = std::string(std::string_view(value.get_string()));
      }
      if (h.failure.type.empty() && h.failure.reason.empty()) h.failure.reason = "unknown error";
    }
  }
  return h;
}

/// Parses a search response (hits.hits) or an `_mget` response (docs), and the cursor field named.
inline es_hits es_parse_hits(std::string_view body, std::string_view cursor_key) {
  es_hits out;
  try {
    simdjson::ondemand::parser parser;
    simdjson::padded_string padded(body);
    simdjson::ondemand::document doc = parser.iterate(padded);
    for (simdjson::ondemand::field field : doc.get_object()) {
      const std::string_view key = field.unescaped_key();
      if (!cursor_key.empty() && key == cursor_key) {
        out.cursor = std::string(std::string_view(field.value().get_string()));
      } else if (key == "docs") {
        for (simdjson::ondemand::value d : field.value().get_array()) out.hits.push_back(es_parse_hit(d.get_object()));
      } else if (key == "hits") {
        for (simdjson::ondemand::field inner : field.value().get_object()) {
          const std::string_view inner_key = inner.unescaped_key();
          if (inner_key != "hits") continue;
          for (simdjson::ondemand::value h : inner.value().get_array()) out.hits.push_back(es_parse_hit(h.get_object()));
        }
      }
    }
  } catch (const simdjson::simdjson_error& e) {
    throw error(errc::store_unavailable, std::string("elasticsearch: malformed search response: ") + e.what());
  }
  return out;
}

}  // namespace detail

}  // namespace tributary
