#pragma once
// The settings sealer policy: how the settings a job store keeps for the worker (they hold the secrets)
// are protected at rest. The API seals them before they reach the store; the worker opens them in the
// job's child process. Anyone who reads the store (a Redis dump, the SQLite file) sees sealed text;
// the key is given to the API and the workers only (a key file), never to the store.
//
// Shipped: aes_gcm_sealer (jobs/aes_gcm_sealer.hpp, OpenSSL's libcrypto: AES-256-GCM, a random
// 96-bit nonce per job, the platform id as associated data so sealed settings cannot be moved to
// another platform), and no_sealing, the null policy, which keeps the settings in clear: for tests and
// single-user machines only.
//
// SettingsSealer:
//   using settings_sealer_concept = jobs::settings_sealer_tag;
//   std::string seal(std::string_view platform, std::string_view settings) const
//   std::string open(std::string_view platform, std::string_view sealed) const
//        throws error(errc::bad_document) for text this key did not seal for this platform
// Both are called from several threads (the API's) at once: a sealer is immutable after construction.

#include <concepts>
#include <string>
#include <string_view>

#include <tributary/detail/opt_in.hpp>

namespace tributary::jobs {

struct settings_sealer_tag {};

template <class S>
concept settings_sealer = tributary::detail::opts_in<S, settings_sealer_tag, typename S::settings_sealer_concept> &&
  requires(const S& s, std::string_view v) {
    { s.seal(v, v) } -> std::same_as<std::string>;
    { s.open(v, v) } -> std::same_as<std::string>;
  };

/// The null policy: settings stay in clear in the store.
struct no_sealing {
  using settings_sealer_concept = settings_sealer_tag;
  [[nodiscard]] std::string seal(std::string_view, std::string_view settings) const { return std::string(settings); }
  [[nodiscard]] std::string open(std::string_view, std::string_view sealed) const { return std::string(sealed); }
};

}  // namespace tributary::jobs
