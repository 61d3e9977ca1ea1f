#pragma once
// The catalogue document as JSON: a writer that appends to a buffer and a reusable simdjson parser.
// `openApiString` and `links` are carried as raw JSON text, never decoded and encoded again; a `links`
// that is not one valid JSON value is not written.

#include <array>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include <simdjson.h>

#include <tributary/catalogue/document.hpp>
#include <tributary/error.hpp>

namespace tributary {

namespace detail {
static_assert(parse_padding >= simdjson::SIMDJSON_PADDING, "detail::parse_padding must cover simdjson's padding");

/// The field names of a catalogue document, its entries, details and X-Road identifiers.
enum class field_name : unsigned char {
  unknown, id, title, summary, description, owner, type, pricing, data, access, environments, environment,
  stale, details, version, links, open_api_string, collected, xroad_identifier, instance, member_class,
  member_code, subsystem_code, service_code
};
/// Our field names, grouped by first character (within a group, the order they are tried in).
inline constexpr std::pair<std::string_view, field_name> field_names[] = {
  {"access", field_name::access}, {"collected", field_name::collected}, {"description", field_name::description},
  {"data", field_name::data}, {"details", field_name::details}, {"environment", field_name::environment},
  {"environments", field_name::environments}, {"id", field_name::id}, {"instance", field_name::instance},
  {"links", field_name::links}, {"memberClass", field_name::member_class}, {"memberCode", field_name::member_code},
  {"owner", field_name::owner}, {"openApiString", field_name::open_api_string}, {"pricing", field_name::pricing},
  {"summary", field_name::summary}, {"serviceCode", field_name::service_code},
  {"subsystemCode", field_name::subsystem_code}, {"stale", field_name::stale}, {"title", field_name::title},
  {"type", field_name::type}, {"version", field_name::version}, {"xroadIdentifier", field_name::xroad_identifier}};
static_assert(std::size(field_names) < 256, "field_name_group holds positions in an unsigned char");
/// Where the names with a given first character begin and end in field_names.
struct field_name_group {
  unsigned char begin = 0, end = 0;
};
inline constexpr std::array<field_name_group, 128> field_name_groups = [] {
  std::array<field_name_group, 128> groups{};
  for (std::size_t i = 0; i < std::size(field_names); ++i) {
    auto& group = groups[static_cast<unsigned char>(field_names[i].first.front())];
    if (group.end == 0) group.begin = static_cast<unsigned char>(i);
    group.end = static_cast<unsigned char>(i + 1);
  }
  return groups;
}();

/// `prefix` is the literal text before the value, e.g. `,"title":"`: one append for the punctuation
/// and the key together.
inline void append_field(std::string& out, std::string_view prefix, std::string_view value) {
  out.append(prefix);
  append_escaped(out, value);
  out += '"';
}
/// How deep a raw JSON value (`links`) may nest: inside a document it sits 6 levels down, and readers
/// stop at 1024 (simdjson's default).
inline constexpr std::size_t raw_json_max_depth = 512;

/// True when `text` is exactly one JSON value that a strict reader accepts: well-formed, UTF-8, every
/// number within what a double or a 64-bit integer holds, at most raw_json_max_depth deep. A raw value
/// that is not goes into no document: document_parser skips over a raw value without looking inside,
/// but Elasticsearch, PostgreSQL's jsonb and the readers of a peer's documents look.
[[nodiscard]] inline bool is_json_value(std::string_view text) {
  // One parser per thread, its buffers kept: checking a few hundred bytes then costs no allocation.
  thread_local simdjson::dom::parser parser = [] {
    simdjson::dom::parser p;
    // Should this fail, the parser allocates on first use, with simdjson's default depth.
    [[maybe_unused]] const auto allocated = p.allocate(4096, raw_json_max_depth);
    return p;
  }();
  return !text.empty() && !parser.parse(text.data(), text.size(), true).error();
}

inline void append_array(std::string& out, std::string_view prefix, const std::vector<std::string>& values) {
  out.append(prefix);
  for (std::size_t i = 0; i < values.size(); ++i) {
    out.append(i ? ",\"" : "\"", i ? 2 : 1);
    append_escaped(out, values[i]);
    out += '"';
  }
  out += ']';
}
}  // namespace detail

/// Appends the JSON of `s` to `out`.
inline void append_json(std::string& out, const service& s) {
  using detail::append_array, detail::append_field;
  append_field(out, R"({"id":")", s.id);
  append_field(out, R"(,"title":")", s.title);
  append_field(out, R"(,"summary":")", s.summary);
  append_field(out, R"(,"description":")", s.description);
  append_field(out, R"(,"owner":")", s.owner);
  append_array(out, R"(,"type":[)", s.type);
  append_array(out, R"(,"pricing":[)", s.pricing);
  append_array(out, R"(,"data":[)", s.data);
  append_array(out, R"(,"access":[)", s.access);
  out.append(R"(,"environments":[)");
  for (std::size_t i = 0; i < s.environments.size(); ++i) {
    const auto& e = s.environments[i];
    append_field(out, i ? R"(,{"environment":")" : R"({"environment":")", e.environment);
    append_field(out, R"(,"owner":")", e.owner);
    append_array(out, R"(,"access":[)", e.access);
    if (e.stale) out.append(R"(,"stale":true)");
    out.append(R"(,"details":[)");
    for (std::size_t j = 0; j < e.details.size(); ++j) {
      const auto& d = e.details[j];
      append_field(out, j ? R"(,{"version":")" : R"({"version":")", d.version);
      append_field(out, R"(,"title":")", d.title);
      append_field(out, R"(,"summary":")", d.summary);
      append_field(out, R"(,"description":")", d.description);
      append_field(out, R"(,"type":")", d.type);
      append_array(out, R"(,"pricing":[)", d.pricing);
      append_array(out, R"(,"data":[)", d.data);
      // The last line of defence: the X-Road source checks x-links where it reads them, but a value
      // set otherwise that is not JSON is left out rather than make the whole document unreadable.
      if (!d.links.empty() && detail::is_json_value(d.links)) out.append(R"(,"links":)").append(d.links);
      // Kept escaped since it was read: copied, never decoded and encoded again.
      out.append(R"(,"openApiString":")").append(d.openapi.escaped()) += '"';
      append_field(out, R"(,"collected":")", d.collected);
      append_field(out, R"(,"xroadIdentifier":{"instance":")", d.xroad.instance);
      append_field(out, R"(,"memberClass":")", d.xroad.member_class);
      append_field(out, R"(,"memberCode":")", d.xroad.member_code);
      append_field(out, R"(,"subsystemCode":")", d.xroad.subsystem_code);
      append_field(out, R"(,"serviceCode":")", d.xroad.service_code);
      out.append("}}");
    }
    out.append("]}");
  }
  out.append("]}");
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
    release_slices(out);
    auto buffer = reusable_buffer();
    buffer->reserve(json.size() + simdjson::SIMDJSON_PADDING);
    buffer->assign(json.data(), json.size());
    parse_buffer(std::move(buffer), out);
  }

  /// As parse, taking over `json`'s storage: `out`'s large `openApiString`s are slices of it, so the
  /// text is not copied at all when `json` already has room for simdjson's padding (memory_index::get
  /// leaves it).
  void parse_owned(std::string&& json, service& out) {
    release_slices(out);
    auto buffer = reusable_buffer();
    *buffer = std::move(json);
    parse_buffer(std::move(buffer), out);
  }

  /// Strings at least this long (escaped) are slices of the parsed document, which they keep alive;
  /// shorter ones are copied, so a document with only short strings (1.5 KB documents with 300-byte
  /// specs) leaves the parser's buffer free for the next document instead of needing one of its own.
  static constexpr std::size_t shared_slice_min = 1024;

 private:
  /// The buffer of the previous document when nothing parsed from it is still alive, else a new one.
  [[nodiscard]] std::shared_ptr<std::string> reusable_buffer() {
    if (document_ && document_.use_count() == 1) return std::move(document_);
    document_.reset();
    return std::make_shared<std::string>();
  }

  /// Lets go of the slices `out` holds before it is parsed into again: when they were the previous
  /// document's only users, its buffer is reused.
  static void release_slices(service& out) noexcept {
    for (auto& e : out.environments)
      for (auto& d : e.details)
        if (d.openapi.shared()) d.openapi.clear();
  }

  void parse_buffer(std::shared_ptr<std::string> buffer, service& out) {
    const std::size_t size = buffer->size();
    // simdjson reads up to SIMDJSON_PADDING bytes past the end; they are written, never indeterminate.
    buffer->append(simdjson::SIMDJSON_PADDING, ' ');
    buffer->resize(size);
    document_ = std::move(buffer);
    try {
      parse_document(out);
    } catch (...) {
      document_.reset();  // do not keep a malformed document's buffer
      throw;
    }
  }

  void parse_document(service& out) {
    const std::string& text = *document_;
    try {
      simdjson::ondemand::document doc = parser_.iterate(text.data(), text.size(), text.capacity());
      service& s = out;
      s.id.clear(), s.title.clear(), s.summary.clear(), s.description.clear(), s.owner.clear();
      s.type.clear(), s.pricing.clear(), s.data.clear(), s.access.clear();
      std::size_t environments = 0;
      for (simdjson::ondemand::field field : doc.get_object()) {
        const name key = name_of(field);
        value_t value = field.value();
        switch (key) {
          case name::id: assign_string(value, s.id); break;
          case name::title: assign_string(value, s.title); break;
          case name::summary: assign_string(value, s.summary); break;
          case name::description: assign_string(value, s.description); break;
          case name::owner: assign_string(value, s.owner); break;
          case name::type: strings_of(value, s.type); break;
          case name::pricing: strings_of(value, s.pricing); break;
          case name::data: strings_of(value, s.data); break;
          case name::access: strings_of(value, s.access); break;
          case name::environments:
            for (value_t e : value.get_array()) entry_of(e, slot(s.environments, environments++, spare_entries_));
            break;
          default: break;  // another object's field, or one this version does not know: ignored
        }
      }
      trim(s.environments, environments, spare_entries_);
      if (s.id.empty()) throw error(errc::bad_document, "document has no id");
    } catch (const simdjson::simdjson_error& e) {
      throw error(errc::bad_document, std::string("malformed catalogue document: ") + e.what());
    }
  }

  using value_t = simdjson::ondemand::value;

  /// The element at `at`, reused when the vector already has one (its strings keep their capacity).
  template <class T>
  static T& slot(std::vector<T>& v, std::size_t at) {
    if (at == v.size()) v.emplace_back();
    return v[at];
  }
  /// As slot, taking a spare that an earlier, larger document left behind before making a new one.
  template <class T>
  static T& slot(std::vector<T>& v, std::size_t at, std::vector<T>& spares) {
    if (at == v.size()) {
      if (spares.empty()) {
        v.emplace_back();
      } else {
        v.push_back(std::move(spares.back()));
        spares.pop_back();
      }
    }
    return v[at];
  }
  /// Shrinks `v` to `n` elements, keeping those it drops as spares: documents of varying shape parsed
  /// into the same services then pass the storage around instead of freeing and allocating it. (The
  /// dropped details hold no slice: release_slices let go of them before the parse.)
  template <class T>
  static void trim(std::vector<T>& v, std::size_t n, std::vector<T>& spares) {
    for (std::size_t i = n; i < v.size(); ++i) spares.push_back(std::move(v[i]));
    v.resize(n);
  }

  using name = detail::field_name;

  /// Which of our names a field has. A name as we write it (no escapes) is recognised where it stands:
  /// its first character picks the few names to compare; one spelled with escapes is unescaped first.
  static name name_of(simdjson::ondemand::field& field) {
    const simdjson::ondemand::raw_json_string key = field.key();
    const auto first = static_cast<unsigned char>(key.raw()[0]);
    if (first < detail::field_name_groups.size()) {
      // unsafe_is_equal compares the raw text, then checks the closing quote; our names hold no quote
      // or backslash, and a padded document has room to read past a shorter key.
      for (unsigned i = detail::field_name_groups[first].begin; i < detail::field_name_groups[first].end; ++i)
        if (key.unsafe_is_equal(detail::field_names[i].first)) return detail::field_names[i].second;
    }
    for (const char* c = key.raw(); *c != '"'; ++c) {
      if (*c == '\\') {
        const std::string_view text = field.unescaped_key();
        for (const auto& [n, id] : detail::field_names)
          if (n == text) return id;
        return name::unknown;
      }
    }
    return name::unknown;
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
  /// The escaped body of a string value, neither decoded nor unescaped: a slice of the document when
  /// it is long, else a copy into `out`'s own storage.
  void raw_string_of(value_t v, json_string& out) const {
    std::string_view token = v.raw_json_token();
    while (!token.empty() && token.back() != '"') token.remove_suffix(1);  // trailing whitespace
    if (token.size() < 2 || token.front() != '"') throw error(errc::bad_document, "openApiString is not a string");
    const std::string_view body = token.substr(1, token.size() - 2);
    if (body.size() >= shared_slice_min) out.assign_shared(document_, body);
    else out.assign_copy(body);
  }
  /// A value of any type as its JSON text, trailing whitespace dropped (`x-links` is kept as written).
  static void raw_json_of(value_t value, std::string& out) {
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
    out.assign(raw.data(), raw.size());
  }
  void entry_of(value_t v, environment_entry& e) {
    e.environment.clear(), e.owner.clear(), e.access.clear();
    e.stale = false;
    std::size_t details = 0;
    for (simdjson::ondemand::field field : v.get_object()) {
      const name key = name_of(field);
      value_t value = field.value();
      switch (key) {
        case name::environment: assign_string(value, e.environment); break;
        case name::owner: assign_string(value, e.owner); break;
        case name::access: strings_of(value, e.access); break;
        case name::stale: e.stale = bool(value.get_bool()); break;
        case name::details:
          for (value_t d : value.get_array()) detail_of(d, slot(e.details, details++, spare_details_));
          break;
        default: break;
      }
    }
    trim(e.details, details, spare_details_);
    if (e.environment.empty()) throw error(errc::bad_document, "environment entry has no environment");
  }
  void detail_of(value_t v, service_detail& d) {
    d.version.clear(), d.title.clear(), d.summary.clear(), d.description.clear(), d.type.clear();
    d.pricing.clear(), d.data.clear(), d.links.clear(), d.collected.clear();
    d.openapi.clear();
    d.xroad.instance.clear(), d.xroad.member_class.clear(), d.xroad.member_code.clear();
    d.xroad.subsystem_code.clear(), d.xroad.service_code.clear();
    for (simdjson::ondemand::field field : v.get_object()) {
      const name key = name_of(field);
      value_t value = field.value();
      switch (key) {
        case name::version: assign_string(value, d.version); break;
        case name::title: assign_string(value, d.title); break;
        case name::summary: assign_string(value, d.summary); break;
        case name::description: assign_string(value, d.description); break;
        case name::type: assign_string(value, d.type); break;
        case name::pricing: strings_of(value, d.pricing); break;
        case name::data: strings_of(value, d.data); break;
        case name::links:
          raw_json_of(value, d.links);
          // The writer leaves out a `links` that is not one valid JSON value (one written before it did,
          // or by another writer); reading it as absent keeps the document what to_json writes.
          if (!detail::is_json_value(d.links)) d.links.clear();
          break;
        case name::open_api_string: raw_string_of(value, d.openapi); break;
        case name::collected: assign_string(value, d.collected); break;
        case name::xroad_identifier:
          for (simdjson::ondemand::field x : value.get_object()) {
            const name k = name_of(x);
            value_t xv = x.value();
            switch (k) {
              case name::instance: assign_string(xv, d.xroad.instance); break;
              case name::member_class: assign_string(xv, d.xroad.member_class); break;
              case name::member_code: assign_string(xv, d.xroad.member_code); break;
              case name::subsystem_code: assign_string(xv, d.xroad.subsystem_code); break;
              case name::service_code: assign_string(xv, d.xroad.service_code); break;
              default: break;
            }
          }
          break;
        default: break;
      }
    }
  }

  simdjson::ondemand::parser parser_;
  std::shared_ptr<std::string> document_;  ///< the text being parsed; its slices share it
  std::vector<environment_entry> spare_entries_;  ///< see trim
  std::vector<service_detail> spare_details_;
};

}  // namespace tributary
