// The deployment examples (examples/deploy/): the systemd units pass `systemd-analyze verify` without a
// warning, and the Kubernetes CronJobs parse as YAML, forbid concurrent runs, take the store URL from a
// Secret, and name only options the executable accepts (asked of the built executable's --help).

#include <gtest/gtest.h>

#include <sys/wait.h>

#include <array>
#include <cctype>
#include <cstring>
#include <cstdio>
#include <cstdlib>
#include <algorithm>
#include <iterator>
#include <stdexcept>
#include <unistd.h>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "support/common.hpp"

namespace {

namespace fs = std::filesystem;

const std::vector<std::string> environments = {"dev", "staging", "prod"};

/// A fresh directory under the temp directory, removed with what it holds on destruction.
class scratch_directory {
 public:
  scratch_directory() {
    std::string pattern = (fs::temp_directory_path() / "tributary-deploy-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  scratch_directory(const scratch_directory&) = delete;
  scratch_directory& operator=(const scratch_directory&) = delete;
  ~scratch_directory() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  [[nodiscard]] const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

fs::path source_dir() {
  const char* dir = std::getenv("TRIBUTARY_SOURCE_DIR");
  return dir ? fs::path(dir) : fs::path(".");
}

/// The built examples, or empty when this tree does not build them (the sanitizer trees).
fs::path examples_dir() {
  const char* dir = std::getenv("TRIBUTARY_TEST_BINARY_DIR");
  if (!dir) return {};
  const auto examples = fs::path(dir).parent_path() / "examples";
  return fs::exists(examples / "collector_dev") ? examples : fs::path();
}

struct command_result {
  int status = -1;
  std::string output;  // stdout and stderr
};

command_result run(const std::string& command) {
  command_result r;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (!pipe) return r;
  std::array<char, 4096> buffer{};
  std::size_t n = 0;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0) r.output.append(buffer.data(), n);
  const int status = pclose(pipe);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

std::string shell_quoted(const fs::path& p) { return "'" + p.string() + "'"; }

/// The long options an executable's --help lists.
std::vector<std::string> accepted_options(const fs::path& executable) {
  const auto help = run(shell_quoted(executable) + " --help");
  std::vector<std::string> out;
  const std::string& text = help.output;
  // "--name" at the start of the text or after a blank or a comma, the name in [a-z][a-z0-9-]*.
  for (auto at = text.find("--"); at != std::string::npos; at = text.find("--", at + 2)) {
    if (at > 0 && !std::isspace(static_cast<unsigned char>(text[at - 1])) && text[at - 1] != ',') continue;
    auto end = at + 2;
    if (end >= text.size() || !std::islower(static_cast<unsigned char>(text[end]))) continue;
    while (end < text.size() && (std::islower(static_cast<unsigned char>(text[end])) ||
                                 std::isdigit(static_cast<unsigned char>(text[end])) || text[end] == '-'))
      ++end;
    out.push_back(text.substr(at, end - at));
  }
  return out;
}

void expect_accepted(const std::vector<std::string>& args, const std::vector<std::string>& accepted,
                     const std::string& where) {
  for (const auto& a : args) {
    if (a.rfind("--", 0) != 0) continue;
    EXPECT_NE(std::find(accepted.begin(), accepted.end(), a), accepted.end())
        << where << " passes " << a << ", which the executable does not accept";
  }
}

TEST(DeploySystemd, TheUnitsVerifyWithoutAWarningForEveryEnvironment) {
  const auto examples = examples_dir();
  if (examples.empty()) GTEST_SKIP() << "the examples are not built in this tree";
  ASSERT_EQ(run("command -v systemd-analyze").status, 0) << "systemd-analyze is missing (scripts/install-deps installs systemd)";
  const auto units = source_dir() / "examples/deploy/systemd";
  const auto accepted = accepted_options(examples / "collector_dev");
  for (const auto& env : environments) {
    scratch_directory dir;
    // The units name the installed path; verify checks that the executable exists, so point them at
    // the built one.
    for (const std::string kind : {"service", "timer"}) {
      std::ifstream in(units / ("tributary-collector@." + kind));
      ASSERT_TRUE(in) << kind;
      std::stringstream text;
      text << in.rdbuf();
      std::string unit = text.str();
      for (auto at = unit.find("/usr/local/bin/"); at != std::string::npos; at = unit.find("/usr/local/bin/", at))
        unit.replace(at, std::strlen("/usr/local/bin/"), examples.string() + "/");
      std::ofstream(dir.path() / ("tributary-collector@" + env + "." + kind)) << unit;
      if (kind == "service") {
        const auto exec = unit.find("ExecStart=");
        ASSERT_NE(exec, std::string::npos);
        const auto value = exec + std::strlen("ExecStart=");
        std::istringstream words(unit.substr(value, unit.find('\n', value) - value));
        std::vector<std::string> args{std::istream_iterator<std::string>(words), {}};
        expect_accepted(args, accepted, "tributary-collector@.service");
      }
    }
    const auto verify = run("cd " + shell_quoted(dir.path()) + " && systemd-analyze verify --man=no ./tributary-collector@" + env +
                            ".service ./tributary-collector@" + env + ".timer");
    EXPECT_EQ(verify.status, 0) << env << ": " << verify.output;
    EXPECT_EQ(verify.output, "") << env << ": every warning is a mistake in the unit";
  }
}

TEST(DeployKubernetes, EachCronJobForbidsOverlapTakesTheStoreFromASecretAndPassesOnlyAcceptedOptions) {
  const auto examples = examples_dir();
  for (const auto& env : environments) {
    const auto file = source_dir() / ("examples/deploy/kubernetes/collector-" + env + ".yaml");
    YAML::Node job;
    ASSERT_NO_THROW(job = YAML::LoadFile(file.string())) << file;
    EXPECT_EQ(job["kind"].as<std::string>(), "CronJob");
    EXPECT_EQ(job["spec"]["concurrencyPolicy"].as<std::string>(), "Forbid") << env;
    const auto pod = job["spec"]["jobTemplate"]["spec"]["template"]["spec"];
    EXPECT_EQ(pod["restartPolicy"].as<std::string>(), "Never") << env;
    ASSERT_EQ(pod["containers"].size(), 1u);
    const auto container = pod["containers"][0];
    const auto command = container["command"].as<std::vector<std::string>>();
    ASSERT_EQ(command.size(), 1u);
    EXPECT_EQ(fs::path(command[0]).filename(), "collector_" + env);
    const auto args = container["args"].as<std::vector<std::string>>();
    for (const auto& a : args) EXPECT_EQ(a.find('@'), std::string::npos) << env << ": no credentials in args: " << a;
    bool store_from_secret = false;
    for (const auto& e : container["env"])
      if (e["name"].as<std::string>() == "TRIBUTARY_STORE")
        store_from_secret = static_cast<bool>(e["valueFrom"]["secretKeyRef"]);
    EXPECT_TRUE(store_from_secret) << env << ": TRIBUTARY_STORE must come from a Secret";
    // Below the stale bound, so that a run the cluster lets run is one the protocol accepts.
    EXPECT_LT(job["spec"]["jobTemplate"]["spec"]["activeDeadlineSeconds"].as<int>(), 3600) << env;
    if (!examples.empty()) expect_accepted(args, accepted_options(examples / ("collector_" + env)), file.string());
  }
}

TEST(DeployKubernetes, TheExecutableTakesTheStoreFromTRIBUTARY_STORE) {
  const auto examples = examples_dir();
  if (examples.empty()) GTEST_SKIP() << "the examples are not built in this tree";
  scratch_directory dir;
  const auto db = dir.path() / "catalogue.db";
  // A dry run opens the store read-only: a missing file is reported as such, which shows the URL arrived.
  const auto r = run("TRIBUTARY_STORE=" + shell_quoted("sqlite://" + db.string()) + " " + shell_quoted(examples / "collector_dev") +
                     " --xroad http://127.0.0.1:1 --client EE-DEV/GOV/1/c --dry-run");
  EXPECT_NE(r.status, 2) << "--store must not be required when TRIBUTARY_STORE is set: " << r.output;
  EXPECT_NE(r.output.find(db.string()), std::string::npos) << r.output;
  const auto without = run("env -u TRIBUTARY_STORE " + shell_quoted(examples / "collector_dev") +
                           " --xroad http://127.0.0.1:1 --client EE-DEV/GOV/1/c --dry-run");
  EXPECT_EQ(without.status, 2) << without.output;
  EXPECT_NE(without.output.find("--store"), std::string::npos) << without.output;
}

}  // namespace
