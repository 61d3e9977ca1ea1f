// The job executor's fuzz targets (fuzz/targets/jobs.hpp) with any compiler: every seed of
// fuzz/corpus/jobs_settings and fuzz/corpus/jobs_run_body passes its target, inputs at the edges do
// too, and the targets' properties do catch what they are meant to (a target that checked nothing
// would pass everything).

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <string_view>

#include "../fuzz/targets/jobs.hpp"

namespace {

namespace fs = std::filesystem;
using namespace tributary;

/// What `target` reports on `input`: empty when it finds nothing.
std::string finding_of(const std::function<void(std::string_view)>& target, std::string_view input) {
  fuzz::finding_handler() = [](const std::string& what) { throw fuzz::finding_reported{what}; };
  std::string found;
  try {
    target(input);
  } catch (const fuzz::finding_reported& f) {
    found = f.what;
  }
  fuzz::finding_handler() = nullptr;
  return found;
}

fs::path corpus_of(const char* name) {
  const char* source_dir = std::getenv("TRIBUTARY_SOURCE_DIR");
  return (source_dir ? fs::path(source_dir) : fs::path(__FILE__).parent_path().parent_path()) / "fuzz" / "corpus" / name;
}

std::string read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(JobsFuzz, EverySeedPassesItsTarget) {
  for (const auto& [name, target] : std::initializer_list<std::pair<const char*, std::function<void(std::string_view)>>>{
         {"jobs_settings", fuzz::jobs_settings}, {"jobs_run_body", fuzz::jobs_run_body}}) {
    const fs::path dir = corpus_of(name);
    ASSERT_TRUE(fs::is_directory(dir)) << dir;
    int seeds = 0;
    for (const auto& entry : fs::directory_iterator(dir)) {
      ++seeds;
      EXPECT_EQ(finding_of(target, read(entry.path())), "") << entry.path();
    }
    EXPECT_GE(seeds, 5) << name;
  }
}

TEST(JobsFuzz, EdgesPass) {
  for (const std::string_view input :
       {"", "{", "null", "{}", R"({"since": "-0 days back"})", R"({"since": "0 days back", "ratio": -0.0})",
        R"({"since": "today", "ratio": 1e308, "count": 1000000})", R"({"since": "today", "small": -2147483649})",
        R"({"since": "today", "storage": []})", "{\"since\": \"today\", \"name\": \"a\\u0000b\"}"})
    EXPECT_EQ(finding_of(fuzz::jobs_settings, input), "") << input;
  for (const std::string_view input :
       {"POST /execution/run", "POST /execution/run\n", "POST /execution/run\n[]", "GET /execution/get?job_id",
        "GET /execution/get?full&job_id=known", "POST /execution/cancel?job_id=nope", "GET /metrics", "GET /dashboard",
        "PUT /dashboard", "GET /nowhere", "POST /system/alive", "GET /execution/list?limit=0",
        "POST /execution/run\n{\"platform_id\": \"every\", \"settings\": {\"since\": \"today\"}, \"_id\": \"\\u00e9\"}"})
    EXPECT_EQ(finding_of(fuzz::jobs_run_body, input), "") << input;
}

// Found by jobs_run_body: a job id, status or key that is not UTF-8 (a query parameter's %FF), or cut
// inside a character at 64 bytes, was echoed in the error as it was: the answer was not JSON.
TEST(JobsFuzz, EchoedClientTextIsAlwaysValidUtf8) {
  EXPECT_EQ(finding_of(fuzz::jobs_run_body, "GET /execution/get?job_id=k\xff\xfft"), "");
  EXPECT_EQ(finding_of(fuzz::jobs_run_body, "GET /execution/list?status=\xc3"), "");
  EXPECT_EQ(finding_of(fuzz::jobs_run_body, "POST /execution/run\n{\"platform_id\": \"" + std::string(63, 'a') + "\u00e9\", \"settings\": {}}"), "");
  EXPECT_EQ(jobs::detail::excerpt("ok\xff\xc3(\xed\xa0\x80"), "ok\xEF\xBF\xBD\xEF\xBF\xBD(\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(jobs::detail::excerpt(std::string(63, 'a') + "\xc3\xa9"), std::string(63, 'a') + "...");
  EXPECT_EQ(jobs::detail::excerpt("\xf0\x9f\x98\x80"), "\xf0\x9f\x98\x80");
}

// Found by jobs_run_body: a member with an empty name was named "" in its problem, which named nothing.
TEST(JobsFuzz, AnEmptyNameIsNamedAsSuch) {
  EXPECT_EQ(finding_of(fuzz::jobs_run_body, R"(POST /execution/run
{"platform_id": "every", "settings": {"since": "today"}, "": 1})"), "");
  EXPECT_EQ(finding_of(fuzz::jobs_settings, R"({"since": "today", "": 1, "storage": {"": 2}})"), "");
  try {
    (void)jobs::parse_settings<fuzz::jobs_detail::storage_only_settings>(R"({"storage": {"type": "mysql", "hostname": "h", "": 2}})",
                                                                        fuzz::jobs_detail::fixed_now);
    ADD_FAILURE() << "accepted";
  } catch (const jobs::settings_error& e) {
    ASSERT_EQ(e.problems().size(), 1u);
    EXPECT_EQ(e.problems()[0].setting, "storage.\"\"");
  }
}

TEST(JobsFuzz, ThePropertiesCatchWhatTheyAreFor) {
  // An echo that shows a secret.
  EXPECT_NE(finding_of([](std::string_view in) { fuzz::jobs_detail::require_redacted(in, "/token"); }, R"({"token":"hunter2"})"), "");
  EXPECT_EQ(finding_of([](std::string_view in) { fuzz::jobs_detail::require_redacted(in, "/token"); }, R"({"token":"***"})"), "");
}

}  // namespace
