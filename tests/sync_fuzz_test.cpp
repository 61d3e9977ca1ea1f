// The collector API's fuzz targets (fuzz/targets/sync.hpp) with any compiler: every seed of
// fuzz/corpus/canonical_json and fuzz/corpus/sync_requests passes its target, and inputs at the edges
// the targets' properties speak of hold them. (Kept out of fuzz_regression_test.cpp, which needs no
// libcrypto; findings of these targets get their regression tests here.)

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <map>
#include <sstream>
#include <string>
#include <string_view>

#include "../fuzz/targets/sync.hpp"

namespace tributary {
namespace {

namespace fs = std::filesystem;

/// Runs a fuzz target on `input`; a finding fails the test (with the target's description of it).
void expect_no_finding(const std::function<void(std::string_view)>& target, std::string_view input) {
  fuzz::finding_handler() = [](const std::string& what) { throw fuzz::finding_reported{what}; };
  try {
    target(input);
  } catch (const fuzz::finding_reported& f) {
    ADD_FAILURE() << "fuzz finding: " << f.what << "\n  input: " << input.substr(0, 300);
  }
  fuzz::finding_handler() = nullptr;
}

TEST(SyncFuzz, EverySeedPassesItsTarget) {
  // From ctest's environment (ccache's base_dir makes __FILE__ relative); __FILE__ when run by hand.
  const char* source_dir = std::getenv("TRIBUTARY_SOURCE_DIR");
  const fs::path corpus =
      (source_dir ? fs::path(source_dir) : fs::path(__FILE__).parent_path().parent_path()) / "fuzz" / "corpus";
  const std::map<std::string, std::function<void(std::string_view)>> targets = {
    {"canonical_json", fuzz::canonical_json},
    {"sync_requests", fuzz::sync_requests},
  };
  for (const auto& [name, target] : targets) {
    ASSERT_TRUE(fs::is_directory(corpus / name)) << corpus / name;
    int seeds = 0;
    for (const auto& entry : fs::directory_iterator(corpus / name)) {
      std::ifstream in(entry.path(), std::ios::binary);
      std::ostringstream text;
      text << in.rdbuf();
      SCOPED_TRACE(entry.path().string());
      expect_no_finding(target, text.str());
      ++seeds;
    }
    EXPECT_GE(seeds, 5) << name;
  }
}

TEST(SyncFuzz, CanonicalJsonEdgeCasesHoldTheTargetsProperties) {
  const std::string deep = std::string(max_canonical_depth, '[') + std::string(max_canonical_depth, ']');
  for (const std::string& input : std::initializer_list<std::string>{
         std::string("\"\\ud800\\udc00\""),                  // the lowest pair
         std::string("{\"\\udbff\\udfff\":1,\"\\uffff\":2}"),  // above the BMP sorts before U+FFFF
         std::string("{\"a\":{},\"\":[]}"),                 // the empty name first
         std::string("[1e21,1e-7,123e-20,0.1e1]"),          // the exponent-notation bounds
         std::string("18446744073709551616"),               // 2^64: a double, written as one
         std::string("-9223372036854775809"),
         std::string("1e309"), std::string("\"\\u0000\""), std::string("\xEF\xBB\xBF{}"),  // refused, kept, a BOM refused
         std::string("{\"a\":1,\"a\":1}"), deep, "[" + deep + "]", std::string("\" \x7F\""),
       })
    expect_no_finding(fuzz::canonical_json, input);
}

TEST(SyncFuzz, SyncRequestEdgeCasesHoldTheTargetsProperties) {
  const std::string h(64, 'a');
  for (const std::string& input : std::initializer_list<std::string>{
         std::string("PUT /api/v1/collector/hashes\n{\"hashes\":[]}"),
         "PUT /api/v1/collector/hashes\n{\"hashes\":[\"" + h + "\",\"" + h + "\"],\"hashes\":1}",
         "PUT /api/v1/collector/hashes\n{\"hashes\":[\"" + h + "\",\"" + h + "\",\"" + h + "\",\"" + h + "\",\"" + h + "\",\"" + h +
             "\",\"" + h + "\",\"" + h + "\",\"" + h + "\"]}",  // one over the bound: 413
         std::string("PUT /api/v1/collector/data\n{\"items\":[{\"hash\":\"") + h + "\",\"data\":null},{\"data\":{},\"hash\":\"" + h + "\"}]}",
         std::string("PUT /api/v1/collector/data\n{\"items\":[{\"hash\":\"") + h + "\",\"data\":{\"x\":1e400}}]}",
         std::string("PUT /api/v1/collector/data\n") + std::string(5000, ' ') + "{}",  // over max_body_bytes
         std::string("PUT /api/v1/collector/slu-update\n{\"acknowledge\":18446744073709551615}"),
         std::string("PUT /api/v1/collector/slu-update\n{\"acknowledge\":0}"),
         std::string("GET /api/v1/collector/slu-update\n"),
         std::string("POST /api/v1/collector/slu-publish\n[{\"vorgang_id\":\"\",\"updates\":[{\"u\":\"v\"}]}]"),
         std::string("POST /api/v1/collector/slu-publish\n[{\"vorgang_id\":-1,\"updates\":[{\"u\":\"v\"}]}]"),
         std::string("DELETE /api/v1/collector/data\n"), std::string("PUT /api/v99999999999999999999/collector/data\n"),
         std::string("PUT /api/v1/collector/\n"), std::string("PUT /api/v1/collector/hashes?x=1\n{\"hashes\":[]}"),
       })
    expect_no_finding(fuzz::sync_requests, input);
}

}  // namespace
}  // namespace tributary
