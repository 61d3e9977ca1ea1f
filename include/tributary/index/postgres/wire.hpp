#pragma once
// PostgreSQL's binary formats as the store speaks them with libpq: typed parameters, text[] arrays,
// the big-endian integers of a binary COPY, and the cells of a result.

#include <libpq-fe.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <tributary/error.hpp>

namespace tributary::detail {

// Type OIDs of the parameters we send (pg_type.dat; stable across versions).
inline constexpr Oid pg_oid_bytea = 17;
inline constexpr Oid pg_oid_int8 = 20;
inline constexpr Oid pg_oid_text = 25;
inline constexpr Oid pg_oid_text_array = 1009;

inline void pg_put_u32(std::string& out, std::uint32_t v) {
  const char b[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
                     static_cast<char>(v)};
  out.append(b, 4);
}
inline void pg_put_u16(std::string& out, std::uint16_t v) {
  const char b[2] = {static_cast<char>(v >> 8), static_cast<char>(v)};
  out.append(b, 2);
}

/// A one-dimensional text[] in PostgreSQL's binary array format (array_recv): no quoting, no escaping.
[[nodiscard]] inline std::string pg_binary_text_array(std::span<const std::string_view> items) {
  std::size_t bytes = 20;
  for (auto v : items) bytes += 4 + v.size();
  std::string out;
  out.reserve(bytes);
  pg_put_u32(out, items.empty() ? 0 : 1);  // dimensions
  pg_put_u32(out, 0);                      // no NULL elements
  pg_put_u32(out, pg_oid_text);
  if (!items.empty()) {
    pg_put_u32(out, static_cast<std::uint32_t>(items.size()));
    pg_put_u32(out, 1);  // lower bound
  }
  for (auto v : items) {
    pg_put_u32(out, static_cast<std::uint32_t>(v.size()));
    out.append(v);
  }
  return out;
}

/// Parameters of one statement, all sent in binary format with explicit types: text needs neither a
/// terminating NUL nor escaping, and the server still checks its encoding.
class pg_params {
 public:
  pg_params& text(std::string_view v) { return add(pg_oid_text, v); }
  pg_params& bytea(std::string_view v) { return add(pg_oid_bytea, v); }
  pg_params& int8(std::int64_t v) {
    std::string b;
    pg_put_u32(b, static_cast<std::uint32_t>(static_cast<std::uint64_t>(v) >> 32));
    pg_put_u32(b, static_cast<std::uint32_t>(static_cast<std::uint64_t>(v)));
    return add(pg_oid_int8, owned_.emplace_back(std::move(b)));
  }
  pg_params& text_array(std::span<const std::string_view> items) {
    return add(pg_oid_text_array, owned_.emplace_back(pg_binary_text_array(items)));
  }

  [[nodiscard]] int size() const noexcept { return static_cast<int>(types_.size()); }
  [[nodiscard]] const Oid* types() const noexcept { return types_.data(); }
  [[nodiscard]] const char* const* values() const noexcept { return values_.data(); }
  [[nodiscard]] const int* lengths() const noexcept { return lengths_.data(); }
  [[nodiscard]] const int* formats() const noexcept { return formats_.data(); }

 private:
  pg_params& add(Oid type, std::string_view v) {
    if (v.size() > static_cast<std::size_t>(std::numeric_limits<int>::max()))
      throw error(errc::invalid_config, "a PostgreSQL parameter is larger than 2 GB");
    types_.push_back(type);
    values_.push_back(v.data() != nullptr ? v.data() : "");  // a null pointer would mean SQL NULL
    lengths_.push_back(static_cast<int>(v.size()));
    formats_.push_back(1);
    return *this;
  }

  std::vector<Oid> types_;
  std::vector<const char*> values_;
  std::vector<int> lengths_;
  std::vector<int> formats_;
  std::deque<std::string> owned_;  // a deque: growing it never moves the strings values_ points into
};

struct pg_result_deleter {
  void operator()(PGresult* r) const noexcept { PQclear(r); }
};
using pg_result = std::unique_ptr<PGresult, pg_result_deleter>;

[[nodiscard]] inline int pg_rows(const pg_result& r) { return PQntuples(r.get()); }
[[nodiscard]] inline std::string_view pg_view(const pg_result& r, int row, int column) {
  return {PQgetvalue(r.get(), row, column), static_cast<std::size_t>(PQgetlength(r.get(), row, column))};
}
[[nodiscard]] inline std::string pg_text(const pg_result& r, int row, int column) { return std::string(pg_view(r, row, column)); }
[[nodiscard]] inline bool pg_null(const pg_result& r, int row, int column) {
  return PQgetisnull(r.get(), row, column) != 0;
}
[[nodiscard]] inline bool pg_bool(const pg_result& r, int row, int column) {
  return !pg_null(r, row, column) && PQgetvalue(r.get(), row, column)[0] == 't';
}
[[nodiscard]] inline std::uint64_t pg_affected(const pg_result& r) {
  const char* n = PQcmdTuples(r.get());
  return n == nullptr || *n == '\0' ? 0 : std::stoull(n);
}

}  // namespace tributary::detail
