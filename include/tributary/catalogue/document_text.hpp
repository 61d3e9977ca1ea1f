#pragma once
// The catalogue document read as text: the fast path of a copy-merge (text_record_model in
// <tributary/collector/concepts.hpp>). A document written by append_json is read without parsing it into
// a `service`: its entries stay the JSON they were written as, with only what derive_fields reads picked
// out of them, and the merged document is written by copying them. A document this reader cannot vouch
// for (anything but append_json's exact form over canonical entries) is declined, and the caller parses
// it: the fast path never decides what a document means, so it never gives another result or error.
//
// Why copying is exact: document_parser followed by canonicalize and append_json writes an entry back
// unchanged when the entry is already in that form, i.e. when
//   - it has append_json's field order and punctuation, no whitespace, no unknown field;
//   - every string but `openApiString` is escaped as append_escaped escapes (parsing decodes them, and
//     writing escapes them again); `openApiString` is copied raw by both; `links` is copied raw by both
//     when it is one JSON value that is_json_value accepts (and dropped otherwise: declined here);
//   - access, pricing and data are strictly ascending (sort_unique leaves them as they are), and details
//     strictly ascending by compare_versions (std::sort leaves them as they are);
//   - the whole text is UTF-8 (simdjson rejects it otherwise).
// Strings that are compared or sorted (id, environment, access, type, pricing, data) must hold no escape
// at all, so that their text is their value and byte order is std::string's order.

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <simdjson.h>

#include <tributary/catalogue/document.hpp>
#include <tributary/catalogue/document_json.hpp>
#include <tributary/detail/json_text.hpp>
#include <tributary/detail/string_marks.hpp>

namespace tributary {

/// One environment's entry of a document read as text.
struct text_entry {
  std::string_view text;         ///< the entry's JSON as written, `{"environment":...}`
  std::string_view environment;  ///< no escapes (checked)
  std::string_view owner;        ///< escaped, in append_escaped's form
  std::string_view title, summary, description;  ///< of the newest detail (escaped); empty without details
  std::vector<std::string_view> access, types, pricing, data;  ///< no escapes; types: the non-empty ones
  std::size_t stale_at = 0;  ///< where in `text` append_json puts `,"stale":true`
  bool stale = false;        ///< stale as written, or marked so (mark_stale)
  bool written_stale = false;
};

/// A catalogue document read as text. It views the text it was read from, which must outlive it; its
/// storage is reused from document to document.
class text_document {
 public:
  [[nodiscard]] std::string_view id() const noexcept { return id_; }
  [[nodiscard]] std::span<text_entry> entries() noexcept { return {entries_.data(), size_}; }
  [[nodiscard]] std::span<const text_entry> entries() const noexcept { return {entries_.data(), size_}; }
  [[nodiscard]] text_entry* entry(std::string_view environment) noexcept {
    for (auto& e : entries())
      if (e.environment == environment) return &e;
    return nullptr;
  }

  /// Reads `json`; false when it is not in the form described at the top of this file (then parse it).
  /// Documents of every size are read: the text is marked 64 bytes at a time first (string_marks), so a
  /// large `openApiString` is read faster than simdjson parses it (and copied raw rather than decoded
  /// and escaped again).
  [[nodiscard]] bool read(std::string_view json);

 private:
  std::string_view id_;
  std::vector<text_entry> entries_;  ///< the first size_ are this document's; the rest keep their storage
  std::size_t size_ = 0;
  detail::string_marks marks_;  ///< where the strings of the text being read end
};

namespace detail {

/// Walks a text expecting append_json's output: literals compared a word at a time, string bodies found
/// by the text's string_marks. Every method returns false on the first byte that is not what
/// append_json writes.
class text_scanner {
 public:
  /// `marks`: the text's string_marks, which find most bodies' ends.
  text_scanner(std::string_view text, const string_marks& marks) noexcept
      : base_(text.data()), p_(text.data()), end_(text.data() + text.size()), marks_(marks) {}

  [[nodiscard]] const char* at() const noexcept { return p_; }
  [[nodiscard]] bool done() const noexcept { return p_ == end_; }
  [[nodiscard]] bool peek(char c) const noexcept { return p_ != end_ && *p_ == c; }

  /// The literal text `s`. Its size is known here, so the compare is a few word loads (compilers call
  /// memcmp for all but the shortest constant sizes, and a read makes some sixty of these calls).
  template <std::size_t N>
  [[nodiscard]] bool literal(const char (&s)[N]) noexcept {
    constexpr std::size_t n = N - 1;
    if (static_cast<std::size_t>(end_ - p_) < n || !same_bytes<n>(p_, s)) return false;
    p_ += n;
    return true;
  }

  /// A string body up to and including its closing quote, escaped as append_escaped escapes;
  /// `escapes` tells whether it holds any.
  [[nodiscard, gnu::always_inline]] bool canonical_body(std::string_view& body, bool& escapes) noexcept {
    return body_of<true>(body, escapes);
  }
  /// A string body with no escape at all: its text is its value.
  [[nodiscard, gnu::always_inline]] bool plain_body(std::string_view& body) noexcept {
    bool escapes = false;
    return body_of<true>(body, escapes) && !escapes;
  }
  /// A string body with any valid JSON escapes (openApiString's, copied raw).
  [[nodiscard, gnu::always_inline]] bool raw_body(std::string_view& body) noexcept {
    bool escapes = false;
    return body_of<false>(body, escapes);
  }

  /// The strings of an array up to its closing bracket (after the opening one), each without escapes.
  /// `ascending`: each strictly greater than the one before, as sort_unique leaves them.
  [[nodiscard]] bool plain_array(std::vector<std::string_view>* into, bool ascending) noexcept {
    if (literal("]")) return true;
    std::string_view previous, s;
    for (bool first = true;; first = false) {
      if (!literal("\"") || !plain_body(s)) return false;
      if (ascending && !first && !(previous < s)) return false;
      if (into) into->push_back(s);
      previous = s;
      if (literal("]")) return true;
      if (!literal(",")) return false;
    }
  }

  /// One JSON value for `links` (is_json_value's to accept, as the parser would): a value of arrays,
  /// objects and strings without escapes, nested a few deep (what `links` holds: names and URLs), is
  /// read here, as a part of what is_json_value accepts; any other is measured with value_extent and
  /// handed to is_json_value.
  [[nodiscard]] bool json_value(std::string_view& value) {
    const char* begin = p_;
    if (plain_json(0)) {
      value = std::string_view(begin, static_cast<std::size_t>(p_ - begin));
      return true;
    }
    p_ = begin;
    return value_extent(value) && is_json_value(value);
  }

  /// One JSON value's extent, for `links`: brackets matched outside strings, an atom up to the next
  /// comma, closing bracket or whitespace. Whether it is valid JSON is is_json_value's to say.
  [[nodiscard]] bool value_extent(std::string_view& value) noexcept {
    const char* begin = p_;
    std::size_t depth = 0;
    std::string_view s;
    while (p_ != end_) {
      const char c = *p_;
      if (c == '"') {
        ++p_;
        if (!raw_body(s)) return false;
        if (depth == 0) break;
      } else if (c == '[' || c == '{') {
        ++depth, ++p_;
      } else if (c == ']' || c == '}') {
        if (depth == 0) break;  // the end of what holds an atom
        ++p_;
        if (--depth == 0) break;
      } else if (depth == 0 && (c == ',' || c == ' ' || c == '\n' || c == '\t' || c == '\r')) {
        break;
      } else {
        ++p_;
      }
    }
    if (depth != 0 || p_ == begin) return false;
    value = std::string_view(begin, static_cast<std::size_t>(p_ - begin));
    return true;
  }

 private:
  /// The characters a two-character escape may name: those of append_escaped's short forms, and '/'
  /// where any valid escape is taken (`u` is left to the caller: its four digits need more checks).
  template <bool Canonical>
  static constexpr std::array<bool, 256> short_escapes = [] {
    std::array<bool, 256> t{};
    for (const unsigned char c : {'"', '\\', 'b', 'f', 'n', 'r', 't'}) t[c] = true;
    if (!Canonical) t['/'] = true;
    return t;
  }();

  template <class Word>
  [[nodiscard]] static Word load(const char* p) noexcept {
    Word w;
    std::memcpy(&w, p, sizeof w);
    return w;
  }
  /// The n bytes at `p` equal those at `s`: words of eight (or four), the last overlapping the one before.
  template <std::size_t n>
  [[nodiscard]] static bool same_bytes(const char* p, const char* s) noexcept {
    if constexpr (n >= 8) {
      std::uint64_t diff = 0;
      for (std::size_t k = 0; k + 8 <= n; k += 8) diff |= load<std::uint64_t>(p + k) ^ load<std::uint64_t>(s + k);
      if constexpr (n % 8 != 0) diff |= load<std::uint64_t>(p + n - 8) ^ load<std::uint64_t>(s + n - 8);
      return diff == 0;
    } else if constexpr (n >= 4) {
      return ((load<std::uint32_t>(p) ^ load<std::uint32_t>(s)) |
              (load<std::uint32_t>(p + n - 4) ^ load<std::uint32_t>(s + n - 4))) == 0;
    } else {
      for (std::size_t k = 0; k < n; ++k)
        if (p[k] != s[k]) return false;
      return true;
    }
  }

  /// json_value's part: a string without escapes, or an array or object of such values, at most
  /// `plain_json_depth` deep (far within the parser's raw_json_max_depth). Whitespace, numbers, literals
  /// and escapes are the parser's.
  static constexpr int plain_json_depth = 8;
  [[nodiscard]] bool plain_json(int depth) noexcept {
    std::string_view s;
    if (literal("\"")) return plain_body(s);
    const bool object = peek('{');
    if (!object && !peek('[')) return false;
    if (++depth > plain_json_depth) return false;
    ++p_;
    if (object ? literal("}") : literal("]")) return true;
    while (true) {
      if (object && (!literal("\"") || !plain_body(s) || !literal(":"))) return false;
      if (!plain_json(depth)) return false;
      if (object ? literal("}") : literal("]")) return true;
      if (!literal(",")) return false;
    }
  }

  /// A string body from p_ (after its opening quote) to the next quote no backslash escapes, which the
  /// marks give; most bodies are plain text, which the marks tell too. Inlined where it is called: the
  /// reader calls it some fifty times a document.
  template <bool Canonical>
  [[nodiscard, gnu::always_inline]] bool body_of(std::string_view& body, bool& escapes) noexcept {
    const auto from = static_cast<std::size_t>(p_ - base_);
    const std::size_t to = marks_.next_quote(from);
    if (to == string_marks::npos) return false;  // the text ends inside the string
    body = std::string_view(p_, to - from);
    p_ = base_ + to + 1;
    escapes = false;
    if (!marks_.any(string_marks::escaped | string_marks::control | string_marks::high, from, to)) return true;
    return careful_body<Canonical>(body, from, to, escapes);
  }

  /// body_of's checks of a body that holds an escape, a control character or a multi-byte character.
  /// Every byte of a text read is in a literal, in a string body, or in a `links` value that simdjson
  /// parses (json_value reads the others as literals and bodies): a body is where a multi-byte
  /// character can be, and validating the bodies that hold one validates the text as simdjson would,
  /// without a pass over the whole of it.
  template <bool Canonical>
  [[nodiscard, gnu::noinline]] bool careful_body(std::string_view body, std::size_t from, std::size_t to,
                                                 bool& escapes) const noexcept {
    if (marks_.any(string_marks::control, from, to)) return false;  // JSON forbids them raw, and after a backslash
    if (marks_.any(string_marks::escaped, from, to)) {
      escapes = true;
      const bool valid = marks_.each_escaped(from, to, [&](std::size_t at) {
        const auto e = static_cast<unsigned char>(base_[at]);
        return short_escapes<Canonical>[e] || (e == 'u' && at + 4 < to && unicode_escape<Canonical>(base_ + at + 1));
      });
      if (!valid) return false;
    }
    return !marks_.any(string_marks::high, from, to) || valid_utf8(body);
  }

  /// The four digits of a `\u` escape at `digits`. Canonical: as append_escaped writes them, \u00xx in
  /// lowercase, only for the control characters without a short form.
  template <bool Canonical>
  [[nodiscard]] static bool unicode_escape(const char* digits) noexcept {
    if constexpr (Canonical) {
      const char h = digits[2], l = digits[3];
      if (digits[0] != '0' || digits[1] != '0' || (h != '0' && h != '1')) return false;
      if (!((l >= '0' && l <= '9') || (l >= 'a' && l <= 'f'))) return false;
      const int v = (h - '0') * 16 + (l <= '9' ? l - '0' : l - 'a' + 10);
      return v != '\b' && v != '\t' && v != '\n' && v != '\f' && v != '\r';
    } else {
      for (int k = 0; k < 4; ++k) {
        const char h = digits[k];
        if (!((h >= '0' && h <= '9') || (h >= 'a' && h <= 'f') || (h >= 'A' && h <= 'F'))) return false;
      }
      return true;
    }
  }

  /// Out of line: most bodies are ASCII, and a call here in a caller's frame would make every body pay
  /// for the frame the validator needs.
  [[gnu::noinline, gnu::cold]] static bool valid_utf8(std::string_view body) noexcept {
    return simdjson::validate_utf8(body.data(), body.size());
  }

  const char* base_;
  const char* p_;
  const char* end_;
  const string_marks& marks_;
};

}  // namespace detail

inline bool text_document::read(std::string_view json) {
  size_ = 0;
  id_ = {};
  marks_.mark(json);
  detail::text_scanner s(json, marks_);
  std::string_view body;
  bool escapes = false;
  // The document-level fields are derived again by the merge: they need only be readable.
  if (!s.literal(R"({"id":")") || !s.plain_body(id_) || id_.empty()) return false;
  if (!s.literal(R"(,"title":")") || !s.canonical_body(body, escapes) || !s.literal(R"(,"summary":")") ||
      !s.canonical_body(body, escapes) || !s.literal(R"(,"description":")") || !s.canonical_body(body, escapes) ||
      !s.literal(R"(,"owner":")") || !s.canonical_body(body, escapes))
    return false;
  if (!s.literal(R"(,"type":[)") || !s.plain_array(nullptr, false) || !s.literal(R"(,"pricing":[)") ||
      !s.plain_array(nullptr, false) || !s.literal(R"(,"data":[)") || !s.plain_array(nullptr, false) ||
      !s.literal(R"(,"access":[)") || !s.plain_array(nullptr, false))
    return false;
  if (!s.literal(R"(,"environments":[)")) return false;
  if (!s.literal("]")) {
    while (true) {
      if (size_ == entries_.size()) entries_.emplace_back();
      text_entry& e = entries_[size_++];
      const char* begin = s.at();
      e.access.clear(), e.types.clear(), e.pricing.clear(), e.data.clear();
      e.title = e.summary = e.description = {};
      if (!s.literal(R"({"environment":")") || !s.plain_body(e.environment) || e.environment.empty()) return false;
      if (!s.literal(R"(,"owner":")") || !s.canonical_body(e.owner, escapes)) return false;
      if (!s.literal(R"(,"access":[)") || !s.plain_array(&e.access, true)) return false;
      e.stale_at = static_cast<std::size_t>(s.at() - begin);
      e.stale = e.written_stale = s.literal(R"(,"stale":true)");
      if (!s.literal(R"(,"details":[)")) return false;
      std::string_view previous_version;
      for (bool first = true; !s.literal("]"); first = false) {
        if (!first && !s.literal(",")) return false;
        std::string_view version;
        // The version is compared, so it holds no escape.
        if (!s.literal(R"({"version":")") || !s.plain_body(version)) return false;
        if (!first && compare_versions(previous_version, version) >= 0) return false;
        previous_version = version;
        if (!s.literal(R"(,"title":")") || !s.canonical_body(e.title, escapes)) return false;
        if (!s.literal(R"(,"summary":")") || !s.canonical_body(e.summary, escapes)) return false;
        if (!s.literal(R"(,"description":")") || !s.canonical_body(e.description, escapes)) return false;
        std::string_view type;
        if (!s.literal(R"(,"type":")") || !s.plain_body(type)) return false;
        if (!type.empty()) e.types.push_back(type);
        if (!s.literal(R"(,"pricing":[)") || !s.plain_array(&e.pricing, true)) return false;
        if (!s.literal(R"(,"data":[)") || !s.plain_array(&e.data, true)) return false;
        if (s.literal(R"(,"links":)")) {
          std::string_view links;
          if (!s.json_value(links)) return false;
        }
        if (!s.literal(R"(,"openApiString":")") || !s.raw_body(body)) return false;
        if (!s.literal(R"(,"collected":")") || !s.canonical_body(body, escapes) ||
            !s.literal(R"(,"xroadIdentifier":{"instance":")") || !s.canonical_body(body, escapes) ||
            !s.literal(R"(,"memberClass":")") || !s.canonical_body(body, escapes) ||
            !s.literal(R"(,"memberCode":")") || !s.canonical_body(body, escapes) ||
            !s.literal(R"(,"subsystemCode":")") || !s.canonical_body(body, escapes) ||
            !s.literal(R"(,"serviceCode":")") || !s.canonical_body(body, escapes) || !s.literal("}}"))
          return false;
      }
      if (!s.literal("}")) return false;
      e.text = std::string_view(begin, static_cast<std::size_t>(s.at() - begin));
      if (s.literal("]")) break;
      if (!s.literal(",")) return false;
    }
  }
  return s.literal("}") && s.done();
}

namespace detail {

/// A few string views on the stack, more on the heap: the unions of one document. A document's sets
/// hold a few strings each, so they are kept sorted and unique as they are added (an insertion, a
/// compare or two, no call to std::sort); past the stack's room they are sorted once when written.
class view_set {
 public:
  void add(std::span<const std::string_view> views) {
    for (auto v : views) {
      if (size_ < local_.size()) insert_sorted(v);
      else spill(v);
    }
  }
  /// Sorted, each once, appended as a JSON array's strings (no escapes: see text_entry).
  void append_sorted(std::string& out, std::string_view prefix) {
    std::string_view* begin = local_.data();
    std::string_view* end = begin + size_;
    if (!heap_.empty()) {
      begin = heap_.data(), end = begin + heap_.size();
      std::sort(begin, end);
      end = std::unique(begin, end);
    }
    out.append(prefix);
    for (auto* v = begin; v != end; ++v) {
      out.append(v == begin ? "\"" : ",\"", v == begin ? 1 : 2);
      out.append(*v);
      out += '"';
    }
    out += ']';
  }

 private:
  /// Byte order, as std::string_view's operator<, with the first bytes compared here: the sets' strings
  /// ("free", "paid", "public", "xroad", ...) mostly differ there, so memcmp is rarely called.
  [[nodiscard]] static int order(std::string_view a, std::string_view b) noexcept {
    if (!a.empty() && !b.empty() && a[0] != b[0])
      return static_cast<unsigned char>(a[0]) < static_cast<unsigned char>(b[0]) ? -1 : 1;
    return a.compare(b);
  }
  void insert_sorted(std::string_view v) {
    std::size_t at = size_;
    while (at > 0) {
      const int c = order(local_[at - 1], v);
      if (c == 0) return;  // already there
      if (c < 0) break;
      --at;
    }
    for (std::size_t k = size_; k > at; --k) local_[k] = local_[k - 1];
    local_[at] = v;
    ++size_;
  }
  void spill(std::string_view v) {
    if (heap_.empty()) heap_.assign(local_.begin(), local_.begin() + static_cast<std::ptrdiff_t>(size_));
    heap_.push_back(v);
  }
  std::array<std::string_view, 32> local_;  // the first size_ are the set
  std::vector<std::string_view> heap_;      // every string, once the stack's room is full
  std::size_t size_ = 0;
};

/// Appends what normalize(order) and append_json write for a document `id` of `entries` (as read by
/// text_document::read), or returns false (nothing appended) when the entries' environments are not
/// distinct: the order of equal environments after std::sort is not ours to predict.
inline bool append_text_document(std::string& out, std::string_view id, std::span<const text_entry*> entries,
                                 const environment_order& order) {
  for (std::size_t i = 0; i < entries.size(); ++i)
    for (std::size_t j = i + 1; j < entries.size(); ++j)
      if (entries[i]->environment == entries[j]->environment) return false;
  std::sort(entries.begin(), entries.end(),
            [&](const text_entry* a, const text_entry* b) { return order.before(a->environment, b->environment); });
  // derive_fields: the text from the highest-precedence entry's newest detail, the sets united.
  std::string_view owner, title, summary, description;
  view_set type, pricing, data, access;
  if (!entries.empty()) {
    const text_entry& top = *entries.front();
    owner = top.owner, title = top.title, summary = top.summary, description = top.description;
  }
  // The output's size, bounded from above, so that one allocation holds it and no more memory than it
  // needs is touched: the punctuation and keys around the fields take 124 bytes.
  std::size_t size = 128 + id.size() + owner.size() + title.size() + summary.size() + description.size();
  for (const text_entry* e : entries) {
    access.add(e->access), type.add(e->types), pricing.add(e->pricing), data.add(e->data);
    size += e->text.size() + 16;  // a comma, `,"stale":true`
    for (const auto* set : {&e->access, &e->types, &e->pricing, &e->data})
      for (auto v : *set) size += v.size() + 3;
  }
  out.reserve(out.size() + size);
  out.append(R"({"id":")").append(id);
  out.append(R"(","title":")").append(title);
  out.append(R"(","summary":")").append(summary);
  out.append(R"(","description":")").append(description);
  out.append(R"(","owner":")").append(owner);
  type.append_sorted(out, R"(","type":[)");
  pricing.append_sorted(out, R"(,"pricing":[)");
  data.append_sorted(out, R"(,"data":[)");
  access.append_sorted(out, R"(,"access":[)");
  out.append(R"(,"environments":[)");
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const text_entry& e = *entries[i];
    if (i) out += ',';
    if (e.stale && !e.written_stale) {
      out.append(e.text.substr(0, e.stale_at)).append(R"(,"stale":true)").append(e.text.substr(e.stale_at));
    } else {
      out.append(e.text);
    }
  }
  out.append("]}");
  return true;
}

/// merge (put_entry, then normalize) and append_json over documents read as text.
inline bool merge_text(std::string& out, const text_document& local, const text_entry& remote,
                       const environment_order& order) {
  std::array<const text_entry*, 8> entries{};
  const auto own = local.entries();
  if (own.size() >= entries.size()) return false;  // rare: such a document is parsed instead
  std::size_t n = 0;
  bool replaced = false;
  for (const auto& e : own) {
    if (!replaced && e.environment == remote.environment) {
      entries[n++] = &remote;  // put_entry replaces the first entry of the environment
      replaced = true;
    } else {
      entries[n++] = &e;
    }
  }
  if (!replaced) entries[n++] = &remote;
  return append_text_document(out, local.id(), std::span(entries.data(), n), order);
}

/// adopt_into (the document holds the remote entry only), then append_json, over text.
inline bool adopt_text(std::string& out, const text_document& remote_doc, const text_entry& remote,
                       const environment_order& order) {
  const text_entry* entries[] = {&remote};
  return append_text_document(out, remote_doc.id(), entries, order);
}

}  // namespace detail

}  // namespace tributary
