#pragma once
// aes_gcm_sealer: settings sealed with AES-256-GCM (OpenSSL's libcrypto), a SettingsSealer
// (jobs/seal.hpp). Link tributary::sync for libcrypto until tributary::jobs links it itself.
//
//   const auto sealer = jobs::aes_gcm_sealer::from_key_file("/etc/tributary/jobs.key");
//
// The key file holds 64 hex digits (32 bytes; white space around them is ignored); make one with
// `openssl rand -hex 32 > jobs.key` and give it mode 0600. Sealed text is
// "aes-gcm:v1:" + hex(nonce 12 bytes | ciphertext | tag 16 bytes); the platform id is the associated
// data. Why AES-GCM from libcrypto rather than libsodium's secretbox (the suggestion): libcrypto
// is already a dependency of the engine (tributary::sync) and libsodium is not installed by
// scripts/install-deps; both give authenticated encryption with a random nonce per message, which is
// the property wanted (a dump of the store shows no secret, and altered text is refused, not decrypted
// into garbage). A random 96-bit nonce is safe for far more jobs than any store keeps under one key.

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <string_view>

#include <tributary/error.hpp>
#include <tributary/jobs/seal.hpp>

namespace tributary::jobs {

class aes_gcm_sealer {
 public:
  using settings_sealer_concept = settings_sealer_tag;
  using key_type = std::array<unsigned char, 32>;

  explicit aes_gcm_sealer(const key_type& key) : key_(key) {}

  /// The key in a file of 64 hex digits. errc::invalid_config naming the file (never its content).
  [[nodiscard]] static aes_gcm_sealer from_key_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw error(errc::invalid_config, "key file '" + path + "' cannot be read");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto first = text.find_first_not_of(" \t\r\n"), last = text.find_last_not_of(" \t\r\n");
    const std::string_view hex = first == std::string::npos ? std::string_view() : std::string_view(text).substr(first, last - first + 1);
    key_type key{};
    if (hex.size() != 64 || !from_hex(hex, key.data()))
      throw error(errc::invalid_config, "key file '" + path + "' must hold 64 hex digits (openssl rand -hex 32)");
    return aes_gcm_sealer(key);
  }

  [[nodiscard]] std::string seal(std::string_view platform, std::string_view settings) const {
    std::array<unsigned char, 12> nonce{};
    if (RAND_bytes(nonce.data(), static_cast<int>(nonce.size())) != 1) throw error(errc::store_unavailable, "no random bytes for a nonce");
    std::string body(settings.size() + 16, '\0');
    const ctx_ptr ctx(EVP_CIPHER_CTX_new());
    int n = 0, m = 0;
    if (!ctx || EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(nonce.size()), nullptr) != 1 ||
        EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, key_.data(), nonce.data()) != 1 ||
        EVP_EncryptUpdate(ctx.get(), nullptr, &n, bytes(platform), static_cast<int>(platform.size())) != 1 ||
        EVP_EncryptUpdate(ctx.get(), ubytes(body), &n, bytes(settings), static_cast<int>(settings.size())) != 1 ||
        EVP_EncryptFinal_ex(ctx.get(), ubytes(body) + n, &m) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, 16, ubytes(body) + n + m) != 1)
      throw error(errc::invalid_config, "aes_gcm_sealer: sealing failed");
    std::string out(prefix);
    append_hex(out, nonce.data(), nonce.size());
    append_hex(out, ubytes(body), static_cast<std::size_t>(n + m) + 16);
    return out;
  }

  [[nodiscard]] std::string open(std::string_view platform, std::string_view sealed) const {
    const auto refuse = [] { return error(errc::bad_document, "sealed settings that this key did not seal for this platform"); };
    if (!sealed.starts_with(prefix)) throw refuse();
    const std::string_view hex = sealed.substr(prefix.size());
    if (hex.size() % 2 != 0 || hex.size() < 2 * (12 + 16)) throw refuse();
    std::string raw(hex.size() / 2, '\0');
    if (!from_hex(hex, ubytes(raw))) throw refuse();
    const auto* nonce = ubytes(raw);
    const std::size_t text_size = raw.size() - 12 - 16;
    const auto* text = nonce + 12;
    std::array<unsigned char, 16> tag{};
    std::copy(text + text_size, text + text_size + 16, tag.begin());
    std::string out(text_size, '\0');
    const ctx_ptr ctx(EVP_CIPHER_CTX_new());
    int n = 0, m = 0;
    if (!ctx || EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, 12, nullptr) != 1 ||
        EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, key_.data(), nonce) != 1 ||
        EVP_DecryptUpdate(ctx.get(), nullptr, &n, bytes(platform), static_cast<int>(platform.size())) != 1 ||
        EVP_DecryptUpdate(ctx.get(), ubytes(out), &n, text, static_cast<int>(text_size)) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, 16, tag.data()) != 1 ||
        EVP_DecryptFinal_ex(ctx.get(), ubytes(out) + n, &m) != 1)
      throw refuse();
    out.resize(static_cast<std::size_t>(n + m));
    return out;
  }

 private:
  static constexpr std::string_view prefix = "aes-gcm:v1:";
  struct ctx_deleter {
    void operator()(EVP_CIPHER_CTX* c) const noexcept { EVP_CIPHER_CTX_free(c); }
  };
  using ctx_ptr = std::unique_ptr<EVP_CIPHER_CTX, ctx_deleter>;

  static const unsigned char* bytes(std::string_view s) noexcept { return reinterpret_cast<const unsigned char*>(s.data()); }
  static unsigned char* ubytes(std::string& s) noexcept { return reinterpret_cast<unsigned char*>(s.data()); }
  static void append_hex(std::string& out, const unsigned char* p, std::size_t n) {
    static constexpr char digits[] = "0123456789abcdef";
    for (std::size_t i = 0; i < n; ++i) out += digits[p[i] >> 4], out += digits[p[i] & 0xF];
  }
  static bool from_hex(std::string_view hex, unsigned char* out) noexcept {
    auto value = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
      const int hi = value(hex[i]), lo = value(hex[i + 1]);
      if (hi < 0 || lo < 0) return false;
      out[i / 2] = static_cast<unsigned char>(hi * 16 + lo);
    }
    return true;
  }

  key_type key_;
};

}  // namespace tributary::jobs
