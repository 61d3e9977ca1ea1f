#pragma once
// A throwaway self-signed certificate for loopback HTTPS servers in tests, made with OpenSSL's API
// in a fresh temporary directory that is removed again.

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>

namespace tributary::testing {

class self_signed_certificate {
 public:
  /// A P-256 key and a certificate for CN=localhost, valid for DNS:localhost and IP:127.0.0.1.
  self_signed_certificate() {
    std::string pattern = (std::filesystem::temp_directory_path() / "tributary-tls-XXXXXX").string();
    if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed for " + pattern);
    dir_ = pattern;
    cert_file_ = dir_ / "cert.pem";
    key_file_ = dir_ / "key.pem";

    std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"), &EVP_PKEY_free);
    if (!key) fail("EVP_EC_gen");
    std::unique_ptr<X509, decltype(&X509_free)> cert(X509_new(), &X509_free);
    if (!cert) fail("X509_new");
    X509_set_version(cert.get(), 2);  // v3, for the extensions
    ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), 60L * 60 * 24);
    X509_set_pubkey(cert.get(), key.get());
    X509_NAME* name = X509_get_subject_name(cert.get());
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("localhost"), -1, -1,
                               0);
    X509_set_issuer_name(cert.get(), name);
    add_extension(cert.get(), NID_basic_constraints, "critical,CA:TRUE");
    add_extension(cert.get(), NID_key_usage, "critical,digitalSignature,keyCertSign");
    add_extension(cert.get(), NID_ext_key_usage, "serverAuth");
    add_extension(cert.get(), NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1");
    if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) fail("X509_sign");

    write_pem(cert_file_, [&](FILE* f) { return PEM_write_X509(f, cert.get()); });
    write_pem(key_file_,
              [&](FILE* f) { return PEM_write_PrivateKey(f, key.get(), nullptr, nullptr, 0, nullptr, nullptr); });
  }

  ~self_signed_certificate() {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  self_signed_certificate(const self_signed_certificate&) = delete;
  self_signed_certificate& operator=(const self_signed_certificate&) = delete;

  [[nodiscard]] const std::filesystem::path& cert_file() const noexcept { return cert_file_; }
  [[nodiscard]] const std::filesystem::path& key_file() const noexcept { return key_file_; }

 private:
  [[noreturn]] static void fail(const std::string& what) {
    throw std::runtime_error("self_signed_certificate: " + what + " failed");
  }

  static void add_extension(X509* cert, int nid, const char* value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    if (!ext) fail(std::string("X509V3_EXT_conf_nid ") + value);
    const int ok = X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    if (!ok) fail("X509_add_ext");
  }

  template <class Write>
  static void write_pem(const std::filesystem::path& path, Write write) {
    FILE* f = std::fopen(path.c_str(), "wb");
    if (!f) fail("fopen " + path.string());
    const int ok = write(f);
    std::fclose(f);
    if (!ok) fail("PEM write " + path.string());
  }

  std::filesystem::path dir_, cert_file_, key_file_;
};

}  // namespace tributary::testing
