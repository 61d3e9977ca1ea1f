#pragma once
// API keys of the collector API (SYNC.md, "Authentication"): created, verified, listed and revoked in
// an index of their own in the same store as the items, so that several API servers sharing a store
// share the keys. Link tributary::sync (OpenSSL's libcrypto).
//
// A key is `trb_<tag>_<secret>`: a public tag of 16 hex digits (8 random bytes) under which the key's
// record is looked up, and a secret of 64 hex digits (32 random bytes from RAND_bytes). The record holds
// the tag, a name, the scopes, a 16-byte random salt, SHA-256(salt || secret) and whether the key is
// revoked; never the secret, so neither the store nor its backups can be replayed as keys. The plaintext
// key exists once, in what create() returns.
//
// Why salted SHA-256 and not PBKDF2 (or another slow KDF): a slow hash protects low-entropy secrets,
// passwords, against guessing from a stolen store. Our secrets are 256 random bits, beyond any guessing
// at any hash speed, so slowness would buy nothing and would cost CPU on every request a client makes,
// a lever for anyone holding a public tag. The salt keeps one secret from hashing alike in two records.
//
// Digests are compared with CRYPTO_memcmp, in constant time: the time a comparison takes does not
// tell how many leading bytes of a guess were right. A wrong tag is answered as fast as a wrong secret
// would not be; the tag is public, so telling that it exists gives nothing away.

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <simdjson.h>

#include <tributary/detail/json_text.hpp>
#include <tributary/error.hpp>
#include <tributary/index/concepts.hpp>
#include <tributary/index/names.hpp>
#include <tributary/index/types.hpp>
#include <tributary/sync/canonical_json.hpp>

namespace tributary {

/// Scopes a key may carry. `collector` sends hashes and data; `admin` is for the administrative
/// endpoints (it does not include `collector`).
inline constexpr std::string_view collector_scope = "collector";
inline constexpr std::string_view admin_scope = "admin";

/// What a key's record says, without anything secret: safe to list and log.
struct api_key_info {
  std::string tag;
  std::string name;
  std::vector<std::string> scopes;
  bool revoked = false;
  [[nodiscard]] bool has_scope(std::string_view scope) const {
    return std::find(scopes.begin(), scopes.end(), scope) != scopes.end();
  }
};

/// A key just created: the only time its plaintext exists. Hand `key` to the collector and drop it;
/// it is never printed by tributary.
struct created_api_key {
  api_key_info info;
  std::string key;
};

namespace detail {

inline constexpr std::string_view api_key_prefix = "trb_";
inline constexpr std::size_t api_key_tag_bytes = 8, api_key_secret_bytes = 32, api_key_salt_bytes = 16;

template <std::size_t N>
std::array<unsigned char, N> random_bytes() {
  std::array<unsigned char, N> out{};
  if (RAND_bytes(out.data(), static_cast<int>(N)) != 1)
    throw error(errc::invalid_config, "api keys: OpenSSL's RAND_bytes failed (no entropy source?)");
  return out;
}

inline bool is_lower_hex(std::string_view s) noexcept {
  return std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

inline std::vector<unsigned char> from_hex(std::string_view hex) {
  std::vector<unsigned char> out(hex.size() / 2);
  auto nibble = [](char c) { return static_cast<unsigned char>(c <= '9' ? c - '0' : c - 'a' + 10); };
  for (std::size_t i = 0; i < out.size(); ++i)
    out[i] = static_cast<unsigned char>((nibble(hex[2 * i]) << 4) | nibble(hex[2 * i + 1]));
  return out;
}

/// SHA-256(salt || secret), the secret as the bytes the client sends (its hex text).
inline std::array<unsigned char, 32> api_key_digest(std::span<const unsigned char> salt, std::string_view secret) {
  std::string material(reinterpret_cast<const char*>(salt.data()), salt.size());
  material += secret;
  auto digest = sha256(material);
  OPENSSL_cleanse(material.data(), material.size());
  return digest;
}

/// A presented key split into tag and secret, when it has the shape of one.
struct presented_key {
  std::string_view tag;
  std::string_view secret;
};
inline std::optional<presented_key> split_api_key(std::string_view key) noexcept {
  constexpr std::size_t tag_len = 2 * api_key_tag_bytes, secret_len = 2 * api_key_secret_bytes;
  if (key.size() != api_key_prefix.size() + tag_len + 1 + secret_len || !key.starts_with(api_key_prefix)) return std::nullopt;
  const std::string_view tag = key.substr(api_key_prefix.size(), tag_len);
  if (key[api_key_prefix.size() + tag_len] != '_') return std::nullopt;
  const std::string_view secret = key.substr(api_key_prefix.size() + tag_len + 1);
  if (!is_lower_hex(tag) || !is_lower_hex(secret)) return std::nullopt;
  return presented_key{tag, secret};
}

struct api_key_record {
  api_key_info info;
  std::string salt_hex;
  std::string digest_hex;
};

inline std::string api_key_record_json(const api_key_record& r) {
  std::string out = "{\"tag\":";
  append_quoted(out, r.info.tag);
  out += ",\"name\":";
  append_quoted(out, r.info.name);
  out += ",\"scopes\":[";
  for (std::size_t i = 0; i < r.info.scopes.size(); ++i) {
    if (i) out += ',';
    append_quoted(out, r.info.scopes[i]);
  }
  out += "],\"salt\":\"" + r.salt_hex + "\",\"sha256\":\"" + r.digest_hex + "\",\"revoked\":";
  out += r.info.revoked ? "true}" : "false}";
  return out;
}

/// Reads a record; error(errc::bad_document) when it is not one (a foreign document in the index).
inline api_key_record parse_api_key_record(std::string_view json) {
  try {
    simdjson::dom::parser parser;
    const simdjson::dom::element doc = parser.parse(simdjson::padded_string(json));
    api_key_record r;
    r.info.tag = std::string(std::string_view(doc["tag"]));
    r.info.name = std::string(std::string_view(doc["name"]));
    for (const simdjson::dom::element s : simdjson::dom::array(doc["scopes"])) r.info.scopes.emplace_back(std::string_view(s));
    r.salt_hex = std::string(std::string_view(doc["salt"]));
    r.digest_hex = std::string(std::string_view(doc["sha256"]));
    r.info.revoked = bool(doc["revoked"]);
    if (r.salt_hex.size() != 2 * api_key_salt_bytes || !is_lower_hex(r.salt_hex) || r.digest_hex.size() != 64 ||
        !is_lower_hex(r.digest_hex))
      throw error(errc::bad_document, "api key record '" + r.info.tag + "': malformed salt or digest");
    return r;
  } catch (const simdjson::simdjson_error& e) {
    throw error(errc::bad_document, std::string("api key record: ") + e.what());
  }
}

}  // namespace detail

/// The keys of a collector API, in index `index` of `store` (default "sync-keys").
/// Store: a DocumentStore (index/concepts.hpp); create() refuses a tag already taken when the store
/// models InsertIfAbsentStore, and upserts otherwise (a collision of 64 random bits).
template <class Store>
class basic_key_store {
  static_assert(document_store<Store>, "basic_key_store: Store does not model tributary::document_store (see index/concepts.hpp)");

 public:
  explicit basic_key_store(Store& store, std::string index = "sync-keys") : store_(&store), index_(std::move(index)) {
    validate_index_name(index_);
  }

  /// Creates the index unless it exists (racing creators are fine).
  void ensure_index() {
    if (store_->index_exists(index_)) return;
    try {
      store_->create_index(index_);
    } catch (const error& e) {
      if (e.code() != errc::already_exists) throw;
    }
  }

  /// A new key with `scopes` (each collector_scope or admin_scope; at least one). Throws
  /// error(errc::invalid_config) for an unknown or missing scope.
  [[nodiscard]] created_api_key create(std::string name, std::vector<std::string> scopes) {
    if (scopes.empty()) throw error(errc::invalid_config, "api key: at least one scope is needed");
    for (const auto& s : scopes)
      if (s != collector_scope && s != admin_scope)
        throw error(errc::invalid_config, "api key: unknown scope '" + s + "' (collector or admin)");
    ensure_index();
    auto secret_bytes = detail::random_bytes<detail::api_key_secret_bytes>();
    const auto salt = detail::random_bytes<detail::api_key_salt_bytes>();
    created_api_key out;
    out.info = {to_hex(detail::random_bytes<detail::api_key_tag_bytes>()), std::move(name), std::move(scopes), false};
    std::string secret = to_hex(secret_bytes);
    OPENSSL_cleanse(secret_bytes.data(), secret_bytes.size());
    const detail::api_key_record record{out.info, to_hex(salt), to_hex(detail::api_key_digest(salt, secret))};
    const stored_document doc{out.info.tag, detail::api_key_record_json(record)};
    if constexpr (insert_if_absent_store<Store>) {
      const auto r = store_->insert_if_absent(index_, std::span(&doc, 1));
      if (!r.ok()) throw error(errc::store_unavailable, "api key: storing the key failed: " + r.failures.front().reason);
      if (r.items.front() != insert_result::outcome::inserted) throw error(errc::conflict, "api key: tag taken; create again");
    } else {
      const auto r = store_->bulk_write(index_, std::span(&doc, 1));
      if (!r.ok()) throw error(errc::store_unavailable, "api key: storing the key failed: " + r.failures.front().reason);
    }
    out.key = std::string(detail::api_key_prefix) + out.info.tag + "_" + secret;
    OPENSSL_cleanse(secret.data(), secret.size());
    return out;
  }

  /// The key's record when `presented` is a key of this store, not revoked; nullopt otherwise (for a
  /// malformed, unknown, wrong or revoked key alike: the caller answers 401 in every case). Store
  /// failures throw.
  [[nodiscard]] std::optional<api_key_info> verify(std::string_view presented) const {
    const auto parts = detail::split_api_key(presented);
    if (!parts) return std::nullopt;
    const std::string tag(parts->tag);
    const auto found = store_->get(index_, std::span(&tag, 1));
    if (!found.front()) return std::nullopt;
    const auto record = detail::parse_api_key_record(*found.front());
    const auto salt = detail::from_hex(record.salt_hex);
    const auto expected = detail::from_hex(record.digest_hex);
    const auto actual = detail::api_key_digest(salt, parts->secret);
    if (CRYPTO_memcmp(expected.data(), actual.data(), actual.size()) != 0 || record.info.revoked) return std::nullopt;
    return record.info;
  }

  /// Every key's record, revoked ones included, in tag order.
  [[nodiscard]] std::vector<api_key_info> list() const {
    std::vector<api_key_info> out;
    if (!store_->index_exists(index_)) return out;
    std::string after;
    for (;;) {
      const scan_page page = store_->scan(index_, after, 500);
      for (const auto& d : page.documents) out.push_back(detail::parse_api_key_record(d.json).info);
      if (page.done) return out;
      after = page.next_after;
    }
  }

  /// Revokes the key with `tag`; false when there is none. A revoked key is refused from the next
  /// request on, by every server sharing the store.
  bool revoke(std::string_view tag) {
    const std::string id(tag);
    if (!store_->index_exists(index_)) return false;
    const auto found = store_->get(index_, std::span(&id, 1));
    if (!found.front()) return false;
    auto record = detail::parse_api_key_record(*found.front());
    record.info.revoked = true;
    const stored_document doc{id, detail::api_key_record_json(record)};
    const auto r = store_->bulk_write(index_, std::span(&doc, 1));
    if (!r.ok()) throw error(errc::store_unavailable, "api key: revoking failed: " + r.failures.front().reason);
    return true;
  }

  [[nodiscard]] const std::string& index() const noexcept { return index_; }

 private:
  Store* store_;
  std::string index_;
};

}  // namespace tributary
