// Secrets at rest (jobs/seal.hpp, jobs/aes_gcm_sealer.hpp): the settings a store keeps for the worker
// are sealed by the API and opened by a worker with the same key. Every byte the store holds is checked
// for the secret: every key under the test's prefix in the real Redis, and the SQLite file with its WAL.

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>

#include <tributary/jobs/aes_gcm_sealer.hpp>
#include <tributary/jobs/api.hpp>
#include <tributary/jobs/worker.hpp>

#include "support/jobs_backends.hpp"

namespace {

using namespace tributary;
using namespace std::chrono;
using jobs::job_status;

static_assert(jobs::settings_sealer<jobs::no_sealing>);
static_assert(jobs::settings_sealer<jobs::aes_gcm_sealer>);

constexpr std::string_view secret_value = "Sup3r-S3cret-Passw0rd";

jobs::aes_gcm_sealer key(unsigned char fill) {
  jobs::aes_gcm_sealer::key_type k;
  k.fill(fill);
  return jobs::aes_gcm_sealer(k);
}

struct login_settings {
  using settings_concept = jobs::settings_tag;
  std::string username;
  jobs::secret password;
  static constexpr auto settings() {
    return std::tuple{jobs::setting("username", &login_settings::username), jobs::setting("password", &login_settings::password)};
  }
};
struct login_platform {
  using platform_concept = jobs::platform_tag;
  using settings_type = login_settings;
  static constexpr std::string_view id = "login", display_name = "Login";
  static constexpr unsigned max_attempts = 1;
  static constexpr std::chrono::seconds time_limit{30};
  std::string run(const login_settings& s, jobs::job_context&) {
    // Proves the worker got the secret in clear, without putting it in the result.
    return "{\"password_ok\":" + std::string(s.password.reveal() == secret_value ? "true" : "false") + "}";
  }
};
using platforms = jobs::platform_list<login_platform>;

TEST(AesGcmSealer, SealsOpensAndRefusesWhatItDidNotSeal) {
  const auto a = key(1), b = key(2);
  const std::string text = R"({"password":"Sup3r-S3cret-Passw0rd"})";
  const std::string sealed = a.seal("login", text);
  EXPECT_TRUE(sealed.starts_with("aes-gcm:v1:"));
  EXPECT_EQ(sealed.find("Sup3r"), std::string::npos);
  EXPECT_NE(a.seal("login", text), sealed);  // a fresh nonce each time
  EXPECT_EQ(a.open("login", sealed), text);
  EXPECT_EQ(a.open("login", a.seal("login", "")), "");
  auto refused = [](auto f) {
    try {
      f();
    } catch (const error& e) {
      return e.code() == errc::bad_document;
    }
    return false;
  };
  EXPECT_TRUE(refused([&] { (void)b.open("login", sealed); }));                 // another key
  EXPECT_TRUE(refused([&] { (void)a.open("report", sealed); }));                // another platform
  std::string altered = sealed;
  altered[altered.size() - 40] = altered[altered.size() - 40] == '0' ? '1' : '0';
  EXPECT_TRUE(refused([&] { (void)a.open("login", altered); }));                // altered
  EXPECT_TRUE(refused([&] { (void)a.open("login", text); }));                   // never sealed
  EXPECT_TRUE(refused([&] { (void)a.open("login", "aes-gcm:v1:zz"); }));
  EXPECT_TRUE(refused([&] { (void)a.open("login", sealed.substr(0, 40)); }));
}

TEST(AesGcmSealer, KeyFiles) {
  tributary::testing::scratch_database file;  // a scratch path
  {
    std::ofstream(file.path()) << "  " << std::string(64, 'a') << "\n";
  }
  const auto from_file = jobs::aes_gcm_sealer::from_key_file(file.path());
  EXPECT_EQ(key(0xaa).open("p", from_file.seal("p", "x")), "x");
  {
    std::ofstream(file.path()) << "not-a-key-but-a-secret";
  }
  try {
    (void)jobs::aes_gcm_sealer::from_key_file(file.path());
    FAIL();
  } catch (const error& e) {
    EXPECT_EQ(e.code(), errc::invalid_config);
    EXPECT_EQ(std::string(e.what()).find("not-a-key"), std::string::npos) << e.what();
  }
  EXPECT_THROW((void)jobs::aes_gcm_sealer::from_key_file(file.path() + ".missing"), error);
}

template <class Backend>
class SealedJobs : public ::testing::Test {
 protected:
  using store_type = typename Backend::store_type;
  void SetUp() override {
    if (auto why = Backend::skip_reason()) GTEST_SKIP() << why->c_str();
    store_ = backend_.open(clock_);
  }
  template <class Sealer = jobs::aes_gcm_sealer>
  std::string submit(Sealer sealer = key(7)) {
    jobs::basic_job_api<store_type, platforms, manual_clock, Sealer> api(*store_, clock_, {}, sealer);
    server_request req;
    req.method = "POST";
    req.path = req.target = "/execution/run";
    req.body = R"({"_id": "t", "platform_id": "login", "settings": {"username": "u", "password": ")" + std::string(secret_value) + "\"}}";
    const auto res = api.handle(req);
    EXPECT_EQ(res.status, 200) << res.body;
    EXPECT_EQ(res.body.find(secret_value), std::string::npos);
    return res.body.substr(11, 32);  // {"job_id":"<32 hex>"}
  }
  template <class Sealer>
  void run_with(Sealer sealer) {
    jobs::worker_options o;
    o.name = "w";
    o.poll_wait = milliseconds(50);
    jobs::basic_worker<store_type, platforms, manual_clock, Sealer> w([this] { return backend_.open(clock_); }, clock_, o, sealer);
    EXPECT_TRUE(w.run_next());
  }
  /// Everything the store holds, as bytes.
  std::string everything_stored();

  Backend backend_;
  manual_clock clock_{sys_days{year{2024} / 7 / 1}};
  std::unique_ptr<store_type> store_;
};

template <>
std::string SealedJobs<tributary::testing::redis_jobs_backend>::everything_stored() {
  std::string all;
  for (const auto& k : backend_.raw({"KEYS", backend_.prefix + "*"})) {
    const std::string type = backend_.raw({"TYPE", k}).at(0);
    std::vector<std::string> v = type == "hash" ? backend_.raw({"HGETALL", k})
                                 : type == "list" ? backend_.raw({"LRANGE", k, "0", "-1"})
                                 : type == "zset" ? backend_.raw({"ZRANGE", k, "0", "-1"})
                                                  : backend_.raw({"DUMP", k});
    for (auto& s : v) all += k + "=" + s + "\n";
  }
  EXPECT_FALSE(all.empty());
  return all;
}
template <>
std::string SealedJobs<tributary::testing::sqlite_jobs_backend>::everything_stored() {
  std::string all;
  for (const auto& f : backend_.db.files()) {
    std::ifstream in(f, std::ios::binary);
    all.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  EXPECT_FALSE(all.empty());
  return all;
}

using backends = ::testing::Types<tributary::testing::sqlite_jobs_backend, tributary::testing::redis_jobs_backend>;
struct backend_names {
  template <class T>
  static std::string GetName(int) {
    return T::label;
  }
};
TYPED_TEST_SUITE(SealedJobs, backends, backend_names);

TYPED_TEST(SealedJobs, TheStoreNeverHoldsTheSecretInClearAndTheWorkerOpensIt) {
  const std::string id = this->submit();
  EXPECT_EQ(this->everything_stored().find(secret_value), std::string::npos);
  this->run_with(key(7));
  const auto j = this->store_->get(id, false);
  ASSERT_TRUE(j);
  EXPECT_EQ(j->status, job_status::finished) << j->error;
  EXPECT_EQ(j->result, "{\"password_ok\":true}");
  EXPECT_EQ(this->everything_stored().find(secret_value), std::string::npos);
}

TYPED_TEST(SealedJobs, TheCheckSeesASecretKeptInClear) {
  // The control: with the null policy the secret is in the store, and everything_stored() finds it.
  (void)this->submit(jobs::no_sealing{});
  EXPECT_NE(this->everything_stored().find(secret_value), std::string::npos);
}

TYPED_TEST(SealedJobs, AWorkerWithAnotherKeyFailsTheJobSayingWhy) {
  const std::string id = this->submit();
  this->run_with(key(8));
  const auto j = this->store_->get(id, false);
  ASSERT_TRUE(j);
  EXPECT_EQ(j->status, job_status::failed);
  EXPECT_EQ(j->error, "the job's settings cannot be opened with this worker's key (another key, or altered)");
}

}  // namespace
