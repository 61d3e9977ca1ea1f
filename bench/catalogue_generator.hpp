#pragma once
// A deterministic generator of X-Road Service catalogues for the benchmarks, serialized as the JSON a
// store hands back. Every document is a pure function of (profile, seed, service number), so a
// catalogue can be built whole or streamed page by page, and two runs produce the same bytes.
//
// Service i of a catalogue of n:
//   i % 4 == 0  only the peer has it           (copy-merge adopts it)
//   i % 4 == 1,2 both have it                  (copy-merge merges it)
//   i % 4 == 3  only the local worker has it   (left alone)
// The peer is environment `staging`, the local worker `dev`. In the realistic profile one peer
// document in five also carries a `prod` entry the peer merged earlier, which is not the peer's to give.
//
// Profiles:
//   realistic  1 to 3 versions a service, `openApiString` of 1 to 50 KB each (skewed towards small),
//              about 14 KB a document on average: 100k services are near 2 GB of input
//   compact    1 or 2 versions with short specs, about 1.5 KB a document: 1M services near 2 GB

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <tributary/catalogue/document.hpp>
#include <tributary/catalogue/document_json.hpp>
#include <tributary/index/types.hpp>

namespace tributary::bench {

enum class profile { realistic, compact };

[[nodiscard]] inline std::string_view profile_name(profile p) { return p == profile::realistic ? "realistic" : "compact"; }

inline constexpr std::string_view peer_environment = "staging";
inline constexpr std::string_view local_environment = "dev";

namespace detail {

/// splitmix64: small, fast, and good enough to spread a seed over a document's choices.
class rng {
 public:
  explicit rng(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  std::size_t below(std::size_t n) { return static_cast<std::size_t>(next() % n); }
  double unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

 private:
  std::uint64_t state_;
};

inline constexpr std::string_view words[] = {
  "person",  "vehicle", "tax",    "health",   "address", "permit",  "license", "payment", "registry",
  "company", "benefit", "school", "pension",  "energy",  "meter",   "parcel",  "customs", "border",
  "court",   "notary",  "land",   "building", "water",   "forest",  "fishery", "census",  "voter",
  "police",  "rescue",  "prison", "archive",  "museum",  "library", "grant",   "subsidy", "invoice"};
inline constexpr std::string_view member_classes[] = {"COM", "GOV", "NEE", "NGO"};
inline constexpr std::string_view suffixes[] = {"public", "protected"};

inline std::string_view word(rng& r) { return words[r.below(std::size(words))]; }

/// An OpenAPI document in YAML of about `size` bytes, with quotes, newlines and non-ASCII text, so
/// its JSON form carries escapes.
inline std::string openapi_text(rng& r, std::string_view code, std::string_view version, std::size_t size) {
  std::string t;
  t.reserve(size + 256);
  t += "openapi: \"3.0.1\"\ninfo:\n  title: \"";
  t += code;
  t += "\"\n  version: \"";
  t += version;
  t += "\"\n  description: Teenus \xc3\xa4ri- ja riigiasutustele \xe2\x80\x94 \"";
  t += word(r);
  t += "\"\npaths:\n";
  for (std::size_t k = 0; t.size() < size; ++k) {
    t += "  /";
    t += word(r);
    t += '/';
    t += std::to_string(k);
    t += ":\n    get:\n      summary: \"Returns the ";
    t += word(r);
    t += " of a ";
    t += word(r);
    t += "\"\n      responses:\n        '200':\n          description: OK\n";
  }
  return t;
}

}  // namespace detail

/// Generates the documents of one catalogue.
class catalogue_generator {
 public:
  catalogue_generator(profile p, std::size_t services, std::uint64_t seed = 20210219)
      : profile_(p), services_(services), seed_(seed) {}

  [[nodiscard]] profile kind() const noexcept { return profile_; }
  [[nodiscard]] std::size_t services() const noexcept { return services_; }

  [[nodiscard]] static bool peer_has(std::size_t i) noexcept { return i % 4 != 3; }
  [[nodiscard]] static bool local_has(std::size_t i) noexcept { return i % 4 != 0; }

  /// Service i as the peer's published index holds it, or nullopt when the peer does not have it.
  [[nodiscard]] std::optional<stored_document> peer(std::size_t i) const {
    if (!peer_has(i)) return std::nullopt;
    service s;
    s.environments.push_back(entry(i, peer_environment));
    if (profile_ == profile::realistic && i % 5 == 0) s.environments.push_back(entry(i, "prod"));
    return finish(std::move(s));
  }

  /// Service i as the local worker holds it, or nullopt when the local environment does not have it.
  [[nodiscard]] std::optional<stored_document> local(std::size_t i) const {
    if (!local_has(i)) return std::nullopt;
    service s;
    s.environments.push_back(entry(i, local_environment));
    return finish(std::move(s));
  }

 private:
  [[nodiscard]] std::uint64_t key(std::size_t i, std::string_view env) const noexcept {
    std::uint64_t h = seed_ ^ (0x9e3779b97f4a7c15ULL * (i + 1));
    for (char c : env) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
    return h;
  }

  /// What is common to every environment's view of service i: provider and service code.
  struct identity {
    std::string member_class, member_code, subsystem, code, owner;
  };
  [[nodiscard]] identity identity_of(std::size_t i) const {
    const std::size_t provider = i / 16;  // 16 services a provider
    detail::rng r(seed_ * 31 + provider);
    identity id;
    id.member_class = std::string(detail::member_classes[r.below(std::size(detail::member_classes))]);
    id.member_code = std::to_string(10000000 + provider * 7 % 89999999);
    id.subsystem = std::string(detail::word(r)) + "-" + std::string(detail::suffixes[r.below(2)]);
    id.owner = "Owner " + id.member_code + " AS";
    detail::rng rs(seed_ * 131 + i);
    id.code = std::string(detail::word(rs)) + char('A' + rs.below(26)) + std::string(detail::word(rs)) + std::to_string(i);
    return id;
  }

  [[nodiscard]] environment_entry entry(std::size_t i, std::string_view env) const {
    const identity id = identity_of(i);
    detail::rng r(key(i, env));
    environment_entry e;
    e.environment = std::string(env);
    e.owner = id.owner + (env == "prod" ? "" : " (" + std::string(env) + ")");
    e.access = {"xroad"};
    if (id.subsystem.ends_with("public")) e.access.push_back("apigw");
    // Versions: realistic 1-3 (half have one), compact 1-2; numbered so that v10 sorts after v9.
    std::size_t versions = 1;
    if (profile_ == profile::realistic) {
      const auto roll = r.below(10);
      versions = roll < 5 ? 1 : roll < 8 ? 2 : 3;
    } else {
      versions = r.below(3) == 0 ? 2 : 1;
    }
    const std::size_t first = 1 + r.below(9);
    for (std::size_t v = 0; v < versions; ++v) {
      service_detail d;
      d.version = "v" + std::to_string(first + v);
      d.title = std::string(detail::word(r)) + " " + std::string(detail::word(r)) + " " + d.version;
      d.summary = "Returns the " + std::string(detail::word(r)) + " of a " + std::string(detail::word(r));
      d.description = profile_ == profile::compact ? d.summary + "."
                                                   : d.summary + " \xe2\x80\x94 \"" + std::string(detail::word(r)) +
                                                       "\" registry, for " + std::string(env) + ".";
      d.type = r.below(8) == 0 ? "soap" : "rest";
      d.pricing = {r.below(4) == 0 ? "paid" : "free"};
      d.data = {"public"};
      if (r.below(3) == 0) d.data.push_back("personal");
      if (r.below(2) == 0)
        d.links = R"([{"name":"docs","url":"https://docs.example.test/)" + id.code + R"("}])";
      std::size_t size = 300;
      if (profile_ == profile::realistic) {
        const double u = r.unit();
        size = static_cast<std::size_t>(1024.0 * std::pow(50.0, u * u));  // 1 to 50 KB, mostly small
      }
      d.openapi = json_string::from_text(detail::openapi_text(r, id.code, d.version, size));
      d.collected = "2021-02-19T12:13:08.620Z";
      d.xroad = {"EE-" + std::string(env), id.member_class, id.member_code, id.subsystem,
                 id.code + "-" + d.version};
      e.details.push_back(std::move(d));
    }
    return e;
  }

  [[nodiscard]] static stored_document finish(service s) {
    s.id = service_id(s.environments.front().details.front().xroad, s.environments.front().environment);
    normalize(s, environment_order{});
    stored_document d{s.id, {}};
    append_json(d.json, s);
    d.json.shrink_to_fit();  // a store hands back exact-size text
    return d;
  }

  profile profile_;
  std::size_t services_;
  std::uint64_t seed_;
};

/// A whole catalogue in memory, each side in id order, as a store would scan it.
struct catalogue {
  profile kind = profile::compact;
  std::size_t services = 0;
  std::vector<stored_document> peer;
  std::vector<stored_document> local;
  std::size_t peer_bytes = 0;          ///< JSON bytes of every peer document
  std::size_t local_bytes = 0;         ///< JSON bytes of every local document
  std::size_t shared_local_bytes = 0;  ///< JSON bytes of the local documents the peer also has

  /// The bytes a copy-merge must parse: every peer document and the local documents it merges into.
  [[nodiscard]] std::size_t merge_input_bytes() const noexcept { return peer_bytes + shared_local_bytes; }
};

[[nodiscard]] inline catalogue generate_catalogue(profile p, std::size_t services, std::uint64_t seed = 20210219) {
  const catalogue_generator gen(p, services, seed);
  catalogue c;
  c.kind = p;
  c.services = services;
  for (std::size_t i = 0; i < services; ++i) {
    if (auto d = gen.peer(i)) {
      c.peer_bytes += d->json.size();
      c.peer.push_back(std::move(*d));
    }
    if (auto d = gen.local(i)) {
      c.local_bytes += d->json.size();
      if (catalogue_generator::peer_has(i)) c.shared_local_bytes += d->json.size();
      c.local.push_back(std::move(*d));
    }
  }
  auto by_id = [](const stored_document& a, const stored_document& b) { return a.id < b.id; };
  std::sort(c.peer.begin(), c.peer.end(), by_id);
  std::sort(c.local.begin(), c.local.end(), by_id);
  return c;
}

}  // namespace tributary::bench
