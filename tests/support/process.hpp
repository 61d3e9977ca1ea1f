#pragma once
// Child processes for end-to-end tests: spawn an executable with posix_spawn, its stdout and stderr
// captured in files, then signal it, wait for it with a timeout, or read what it printed.
//
// Output goes to files rather than pipes: a chatty child can never block on a full pipe that the test
// is not reading, and the files stay behind for the failure message. A child_process that is destroyed
// while its child still runs kills the child (SIGCONT first, in case the test stopped it) and reaps it,
// so a failed assertion never leaves processes behind.

#include <fcntl.h>
#include <spawn.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

extern char** environ;

namespace tributary::test {

/// How a child ended.
struct exit_status {
  bool exited = false;  ///< true: it returned `code`; false: `signal` killed it
  int code = 0;
  int signal = 0;

  [[nodiscard]] bool success() const noexcept { return exited && code == 0; }
  [[nodiscard]] std::string describe() const {
    if (exited) return "exited with status " + std::to_string(code);
    return "killed by signal " + std::to_string(signal) + " (" + ::strsignal(signal) + ")";
  }
  [[nodiscard]] static exit_status from_wait(int status) noexcept {
    exit_status s;
    if (WIFEXITED(status))
      s.exited = true, s.code = WEXITSTATUS(status);
    else if (WIFSIGNALED(status))
      s.signal = WTERMSIG(status);
    return s;
  }
};

/// The whole content of a file, or empty when it cannot be read.
[[nodiscard]] inline std::string read_text_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

class child_process {
 public:
  /// Starts `argv[0]` with arguments `argv[1..]`, stdin from /dev/null, stdout and stderr into the
  /// given files (created or truncated). Throws std::runtime_error naming the executable on failure.
  static child_process spawn(std::vector<std::string> argv, std::filesystem::path stdout_file,
                             std::filesystem::path stderr_file) {
    if (argv.empty()) throw std::runtime_error("child_process::spawn: no executable");
    posix_spawn_file_actions_t actions;
    if (int rc = posix_spawn_file_actions_init(&actions); rc != 0)
      throw std::runtime_error(std::string("posix_spawn_file_actions_init: ") + std::strerror(rc));
    struct actions_guard {
      posix_spawn_file_actions_t* a;
      ~actions_guard() { posix_spawn_file_actions_destroy(a); }
    } guard{&actions};
    const std::string out = stdout_file.string(), err = stderr_file.string();
    int rc = posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    if (rc == 0)
      rc = posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (rc == 0)
      rc = posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (rc != 0) throw std::runtime_error(std::string("posix_spawn_file_actions_addopen: ") + std::strerror(rc));

    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    pid_t pid = -1;
    rc = ::posix_spawn(&pid, args.front(), &actions, nullptr, args.data(), environ);
    if (rc != 0) throw std::runtime_error("cannot start '" + argv.front() + "': " + std::strerror(rc));
    child_process c;
    c.pid_ = pid;
    c.name_ = std::filesystem::path(argv.front()).filename().string();
    c.stdout_file_ = std::move(stdout_file);
    c.stderr_file_ = std::move(stderr_file);
    return c;
  }

  child_process() = default;
  child_process(child_process&& o) noexcept { *this = std::move(o); }
  child_process& operator=(child_process&& o) noexcept {
    if (this != &o) {
      kill_and_reap();
      pid_ = std::exchange(o.pid_, -1);
      status_ = std::exchange(o.status_, std::nullopt);
      name_ = std::move(o.name_);
      stdout_file_ = std::move(o.stdout_file_);
      stderr_file_ = std::move(o.stderr_file_);
    }
    return *this;
  }
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;
  ~child_process() { kill_and_reap(); }

  [[nodiscard]] pid_t pid() const noexcept { return pid_; }
  [[nodiscard]] const std::string& name() const noexcept { return name_; }
  [[nodiscard]] std::string output() const { return read_text_file(stdout_file_); }
  [[nodiscard]] std::string errors() const { return read_text_file(stderr_file_); }

  /// True until the child has ended (and then reaps it).
  [[nodiscard]] bool running() { return !try_reap(); }

  /// Sends `sig` to a child that has not been reaped yet; false when it already ended.
  bool signal(int sig) {
    if (try_reap()) return false;
    return ::kill(pid_, sig) == 0;
  }

  /// Waits up to `timeout` for the child to end; nullopt if it still runs then.
  std::optional<exit_status> wait_for(std::chrono::milliseconds timeout) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    auto pause = std::chrono::milliseconds(1);
    while (!try_reap()) {
      if (std::chrono::steady_clock::now() >= until) return std::nullopt;
      std::this_thread::sleep_for(pause);
      pause = std::min(pause * 2, std::chrono::milliseconds(20));
    }
    return status_;
  }

  /// SIGTERM, then SIGKILL if it has not ended within `grace`. Returns how it ended.
  exit_status terminate(std::chrono::milliseconds grace = std::chrono::seconds(10)) {
    if (try_reap()) return *status_;
    ::kill(pid_, SIGCONT);  // a stopped child would not act on SIGTERM
    ::kill(pid_, SIGTERM);
    if (auto s = wait_for(grace)) return *s;
    ::kill(pid_, SIGKILL);
    return *wait_for(std::chrono::hours(1));
  }

  /// Waits up to `timeout` for a line of standard output starting with `prefix`; returns the line
  /// without its prefix, or nullopt when the child ended or the time ran out without printing it.
  std::optional<std::string> wait_for_output_line(std::string_view prefix, std::chrono::milliseconds timeout) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (true) {
      const bool ended = try_reap();  // before reading: output written before the end is then complete
      std::istringstream lines(output());
      for (std::string line; std::getline(lines, line);)
        if (line.starts_with(prefix)) return line.substr(prefix.size());
      if (ended || std::chrono::steady_clock::now() >= until) return std::nullopt;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }

 private:
  /// True when the child has ended; reaps it once.
  bool try_reap() {
    if (status_) return true;
    if (pid_ <= 0) return true;
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == 0 || (r < 0 && errno == EINTR)) return false;
    if (r == pid_)
      status_ = exit_status::from_wait(status);
    else
      status_ = exit_status{false, 0, 0};  // not our child any more (ECHILD): nothing to wait for
    return true;
  }

  void kill_and_reap() noexcept {
    if (pid_ <= 0 || status_) return;
    ::kill(pid_, SIGKILL);
    ::kill(pid_, SIGCONT);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    status_ = exit_status::from_wait(status);
  }

  pid_t pid_ = -1;
  std::optional<exit_status> status_;
  std::string name_;
  std::filesystem::path stdout_file_, stderr_file_;
};

}  // namespace tributary::test
