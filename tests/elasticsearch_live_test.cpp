// The backend conformance suite against a real Elasticsearch or OpenSearch cluster, over curl_transport.
//
// Runs only when TRIBUTARY_ELASTICSEARCH_URL is set (http(s)://[user:password@]host:port); every test
// is reported as skipped, with the reason, when it is not. Optional: TRIBUTARY_ELASTICSEARCH_API_KEY
// (the encoded key) or TRIBUTARY_ELASTICSEARCH_BEARER instead of user info, and
// TRIBUTARY_ELASTICSEARCH_CA_FILE (a PEM bundle to trust; TLS verification stays on).
//
// Use a dedicated test cluster: the suite lists every index (list_indices("")), so a cluster that
// already holds other non-hidden indices fails those checks. Each test deletes the indices it created.

#include <gtest/gtest.h>

#include <cstdlib>
#include <iostream>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include <tributary/index/elasticsearch.hpp>
#include <tributary/transport/curl.hpp>

#include "support/backend_conformance.hpp"

namespace tributary::testing {

namespace {

const char* live_url() {
  const char* url = std::getenv("TRIBUTARY_ELASTICSEARCH_URL");
  return url != nullptr && *url != '\0' ? url : nullptr;
}

constexpr const char* skip_reason =
  "TRIBUTARY_ELASTICSEARCH_URL is not set: no live Elasticsearch/OpenSearch cluster to run against";

/// curl_transport is used by one thread at a time, and the conformance suite shares one backend
/// between threads: this transport serialises its use.
class locked_curl_transport {
 public:
  using transport_concept = transport_tag;
  locked_curl_transport(const curl_library& library, curl_options options) : inner_(library, std::move(options)) {}
  http_response perform(http_request req) {
    std::lock_guard lock(mu_);
    return inner_.perform(std::move(req));
  }
  template <class F>
  void perform_all(std::vector<http_request> reqs, F&& on_done) {
    std::lock_guard lock(mu_);
    inner_.perform_all(std::move(reqs), std::forward<F>(on_done));
  }

 private:
  std::mutex mu_;
  curl_transport inner_;
};

using live_backend = elasticsearch_index<locked_curl_transport>;

elasticsearch_options live_options() {
  auto o = elasticsearch_options::from_url(live_url());
  if (const char* key = std::getenv("TRIBUTARY_ELASTICSEARCH_API_KEY"); key && *key) o.auth = elasticsearch_auth::api_key(key);
  if (const char* token = std::getenv("TRIBUTARY_ELASTICSEARCH_BEARER"); token && *token)
    o.auth = elasticsearch_auth::bearer(token);
  o.number_of_shards = 1;
  o.number_of_replicas = 0;  // a one-node test cluster stays green
  return o;
}

curl_options live_curl_options() {
  curl_options c;
  if (const char* ca = std::getenv("TRIBUTARY_ELASTICSEARCH_CA_FILE"); ca && *ca) c.ca_file = ca;
  return c;
}

/// A backend together with the transport it refers to.
struct live_handle {
  explicit live_handle(const curl_library& library) : transport(library, live_curl_options()), backend(transport, live_options()) {}
  locked_curl_transport transport;
  live_backend backend;
};

/// Each handle has its own transport. Without a configured cluster the test is skipped from here (the
/// fixture's constructor: GoogleTest honours a skip raised there) and open() returns nothing.
struct live_factory {
  using backend = live_backend;

  live_factory() {
    if (!live_url()) {
      [] { GTEST_SKIP() << skip_reason; }();
      return;
    }
    admin_ = open();
    for (auto& n : admin_->list_indices("")) before_.insert(n);
  }
  live_factory(const live_factory&) = delete;
  live_factory& operator=(const live_factory&) = delete;
  ~live_factory() {
    if (!admin_) return;
    try {  // the test's indices go, with their aliases first (an aliased index is never deleted)
      std::vector<std::string> created;
      for (auto& n : admin_->list_indices(""))
        if (!before_.contains(n)) created.push_back(n);
      std::vector<alias_action> unalias;
      for (const auto& e : admin_->aliases())
        if (!before_.contains(e.index)) unalias.push_back(alias_action::remove(e.index, e.alias));
      if (!unalias.empty()) admin_->update_aliases(unalias);
      if (!created.empty()) admin_->delete_indices(created);
    } catch (const std::exception& e) {
      ADD_FAILURE() << "cleaning up the live cluster failed: " << e.what();
    }
  }

  std::shared_ptr<live_backend> open() {
    if (!live_url()) return nullptr;
    auto h = std::make_shared<live_handle>(library_);
    return std::shared_ptr<live_backend>(h, &h->backend);  // shares ownership of the transport too
  }

  curl_library library_;
  std::shared_ptr<live_backend> admin_;
  std::set<std::string> before_;
};

}  // namespace

TRIBUTARY_STORE_CONFORMANCE(Live, ::testing::Types<live_factory>);

namespace {

TEST(ElasticsearchLive, ServerIsSupported) {
  if (!live_url()) GTEST_SKIP() << skip_reason;
  curl_library library;
  live_handle h(library);
  const auto server = h.backend.server();
  EXPECT_TRUE(server.supported()) << server.describe();
  std::cout << "live cluster: " << server.describe() << '\n';
}

TEST(ElasticsearchLive, PointInTimeOrScrollScanSeesEveryDocumentOnce) {
  if (!live_url()) GTEST_SKIP() << skip_reason;
  live_factory factory;
  auto store = factory.open();
  store->create_index("tributary-live-scan");
  std::vector<stored_document> docs;
  for (int i = 0; i < 250; ++i) docs.push_back({"doc-" + std::to_string(1000 + i), "{\"i\":" + std::to_string(i) + "}"});
  ASSERT_TRUE(store->bulk_write("tributary-live-scan", docs).ok());
  std::vector<std::string> seen;
  store->for_each_page("tributary-live-scan", 64, [&](std::vector<stored_document>&& page) {
    for (auto& d : page) seen.push_back(d.id);
  });
  ASSERT_EQ(seen.size(), docs.size());
  for (std::size_t i = 0; i < docs.size(); ++i) EXPECT_EQ(seen[i], docs[i].id);
}

}  // namespace
}  // namespace tributary::testing
