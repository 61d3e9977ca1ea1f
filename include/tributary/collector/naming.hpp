#pragma once
// The names the collection protocol derives: worker stamps, worker names, the environment alias and the
// working alias. Which names a store accepts at all is <tributary/index/names.hpp>.

#include <array>
#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

#include <tributary/error.hpp>
#include <tributary/index/names.hpp>

namespace tributary {

/// Worker timestamps: `yyyyMMdd_HHmmssSSS` in UTC, as in `apicatalogue-dev20210219_121308620`.
inline constexpr std::size_t worker_stamp_size = 18;

[[nodiscard]] inline std::string worker_stamp(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  const auto ms = time_point_cast<milliseconds>(t);
  const auto day = floor<days>(ms);
  const year_month_day ymd{day};
  const hh_mm_ss hms{ms - day};
  std::array<char, 32> buf{};
  std::snprintf(buf.data(), buf.size(), "%04d%02u%02u_%02d%02d%02d%03d", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()), static_cast<int>(hms.subseconds().count()));
  return std::string(buf.data(), worker_stamp_size);
}

/// Parses a worker stamp; nullopt unless `s` is exactly a well-formed stamp.
[[nodiscard]] inline std::optional<std::chrono::system_clock::time_point> parse_worker_stamp(std::string_view s) {
  using namespace std::chrono;
  if (s.size() != worker_stamp_size || s[8] != '_') return std::nullopt;
  auto num = [&](std::size_t pos, std::size_t len) -> std::optional<int> {
    int v = 0;
    for (std::size_t i = pos; i < pos + len; ++i) {
      if (s[i] < '0' || s[i] > '9') return std::nullopt;
      v = v * 10 + (s[i] - '0');
    }
    return v;
  };
  auto y = num(0, 4), mo = num(4, 2), d = num(6, 2), h = num(9, 2), mi = num(11, 2), se = num(13, 2), ms = num(15, 3);
  if (!y || !mo || !d || !h || !mi || !se || !ms) return std::nullopt;
  const year_month_day ymd{year{*y}, month{static_cast<unsigned>(*mo)}, day{static_cast<unsigned>(*d)}};
  if (!ymd.ok() || *h > 23 || *mi > 59 || *se > 59) return std::nullopt;
  return sys_days{ymd} + hours{*h} + minutes{*mi} + seconds{*se} + milliseconds{*ms};
}

/// The names the collection protocol uses for read alias A and environment E.
struct protocol_names {
  std::string read_alias;   ///< A, e.g. `apicatalogue`
  std::string environment;  ///< E, e.g. `dev`

  [[nodiscard]] std::string environment_alias() const { return read_alias + "-" + environment; }
  [[nodiscard]] std::string working_alias() const { return environment_alias() + "CollectorWorking"; }
  /// Every worker of E starts with this prefix followed by a worker stamp.
  [[nodiscard]] std::string worker_prefix() const { return environment_alias(); }
  [[nodiscard]] std::string worker_name(std::chrono::system_clock::time_point t) const {
    return worker_prefix() + worker_stamp(t);
  }
  /// The creation time of one of E's workers, or nullopt when `index` is not a worker of E.
  [[nodiscard]] std::optional<std::chrono::system_clock::time_point> worker_time(std::string_view index) const {
    const std::string prefix = worker_prefix();
    if (index.size() != prefix.size() + worker_stamp_size || index.substr(0, prefix.size()) != prefix)
      return std::nullopt;
    return parse_worker_stamp(index.substr(prefix.size()));
  }
  [[nodiscard]] protocol_names for_environment(std::string env) const { return {read_alias, std::move(env)}; }
};

}  // namespace tributary
