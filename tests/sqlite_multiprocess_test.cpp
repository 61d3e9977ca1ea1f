// sqlite_index shared by several processes: writers in forked children contend for one file while
// the parent reads, and children that die without closing lose nothing they were told was written.
//
// Every child is forked before the parent creates a thread or holds an open connection to the file:
// SQLite's POSIX locks belong to the process, so a connection must never cross a fork.

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <tributary/index/sqlite.hpp>

#include "support/common.hpp"

namespace tributary {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

using testing::scratch_database;
using testing::cat;

/// A pipe from a child to the parent.
struct channel {
  int fds[2]{-1, -1};
  channel() {
    if (::pipe(fds) != 0) throw std::runtime_error("pipe failed");
  }
  channel(const channel&) = delete;
  channel& operator=(const channel&) = delete;
  ~channel() {
    for (int fd : fds)
      if (fd >= 0) ::close(fd);
  }
  void send(char c) const {
    if (::write(fds[1], &c, 1) != 1) ::_exit(3);
  }
  /// Blocks until one byte arrives; false at end of file (the child closed or died).
  bool receive(char& c) const { return ::read(fds[0], &c, 1) == 1; }
  void close_write_end() {
    ::close(fds[1]);
    fds[1] = -1;
  }
};

/// Forks a child that runs `body` and leaves with _exit: 0 when it returns, 1 when it throws. No
/// destructor or atexit handler of the parent's state runs in the child.
pid_t spawn(const std::function<void()>& body) {
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    int code = 0;
    try {
      body();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "child %d: %s\n", static_cast<int>(::getpid()), e.what());
      code = 1;
    }
    std::fflush(nullptr);
    ::_exit(code);
  }
  return pid;
}

/// Waits for `pid` and returns its exit code, or -signal when a signal ended it.
int wait_for(pid_t pid) {
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid) return -1000;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

std::string doc_json(int child, int round, int k) {
  return "{\"child\":" + std::to_string(child) + ",\"round\":" + std::to_string(round) + ",\"k\":" + std::to_string(k) + "}";
}

std::vector<stored_document> everything(const sqlite_index& store, const std::string& index) {
  std::vector<stored_document> out;
  std::string after;
  while (true) {
    auto page = store.scan(index, after, 500);
    out.insert(out.end(), page.documents.begin(), page.documents.end());
    if (page.done) return out;
    after = page.next_after;
  }
}

TEST(SqliteMultiprocess, ProcessesOpeningANewFileAtOnceAllSeeOneSchema) {
  // Three collectors started together on a path that does not exist yet: each opens the file while
  // another may be creating the schema. None may mistake a half-seen schema for a foreign database.
  constexpr int rounds = 60, children = 6;
  for (int round = 0; round < rounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    scratch_database db;
    channel gate;
    std::vector<pid_t> pids;
    for (int c = 0; c < children; ++c)
      pids.push_back(spawn([&, c] {
        gate.close_write_end();
        char ignored = 0;
        (void)gate.receive(ignored);  // end of file: the parent opened the gate
        sqlite_index store(db.path());
        store.create_index("child-" + std::to_string(c));
      }));
    gate.close_write_end();
    for (const pid_t pid : pids) EXPECT_EQ(wait_for(pid), 0) << "a child failed to open the new file (its error is above)";
    sqlite_index store(db.path());
    for (int c = 0; c < children; ++c) EXPECT_TRUE(store.index_exists("child-" + std::to_string(c)));
  }
}

TEST(SqliteMultiprocess, ConcurrentWritersAndAliasFlipsAcrossProcesses) {
  constexpr int children = 3, rounds = 120, per_batch = 10;
  scratch_database db;
  {
    sqlite_index setup(db.path());
    for (const char* n : {"docs", "blue", "green"}) setup.create_index(n);
    std::vector<alias_action> actions{alias_action::add("blue", "live")};
    for (int c = 0; c < children; ++c) actions.push_back(alias_action::add("blue", "flip-" + std::to_string(c)));
    setup.update_aliases(actions);
  }  // closed before forking: no connection crosses a fork

  std::vector<std::unique_ptr<channel>> acks;
  std::vector<pid_t> pids;
  for (int c = 0; c < children; ++c) {
    acks.push_back(std::make_unique<channel>());
    const channel& ack = *acks.back();
    pids.push_back(spawn([&, c] {
      sqlite_index store(db.path());
      const std::string own = "flip-" + std::to_string(c);
      std::string from = "blue", to = "green";
      for (int round = 0; round < rounds; ++round) {
        std::vector<stored_document> batch;
        for (int k = 0; k < per_batch; ++k)
          batch.push_back({cat("c", std::to_string(c), "-", std::to_string(round), "-", std::to_string(k)),
                           doc_json(c, round, k)});
        const auto result = store.bulk_write("docs", batch);
        if (!result.ok() || result.written != batch.size()) throw std::runtime_error("batch not fully written");
        ack.send('w');  // this round's documents are acknowledged
        // Only this child moves its own alias, so the pair it removes must be there.
        const std::vector<alias_action> flip_own{alias_action::remove(from, own, true), alias_action::add(to, own)};
        store.update_aliases(flip_own);
        // Every child moves the shared alias; whoever is last wins, but it is always on one index.
        const std::vector<alias_action> move_live{alias_action::remove_everywhere("live"),
                                                  alias_action::add(round % 2 == 0 ? "green" : "blue", "live")};
        store.update_aliases(move_live);
        std::swap(from, to);
      }
    }));
  }
  for (auto& a : acks) a->close_write_end();

  // The parent's own connection, opened after every fork.
  sqlite_index reader(db.path());
  std::size_t reads = 0, violations = 0;
  std::string first_violation;
  std::vector<bool> running(children, true);
  std::vector<int> exit_codes(children, 0);
  const auto give_up = std::chrono::steady_clock::now() + 120s;
  for (int left = children; left > 0;) {
    for (const std::string alias : {"live", "flip-0", "flip-1", "flip-2"}) {
      const auto targets = reader.alias_targets(alias);
      ++reads;
      if (targets.size() != 1 && violations++ == 0)
        first_violation = alias + " had " + std::to_string(targets.size()) + " targets";
    }
    std::map<std::string, int> rows;
    for (const auto& e : reader.aliases()) ++rows[e.alias];
    for (const auto& [alias, n] : rows)
      if (n != 1 && violations++ == 0) first_violation = alias + " had " + std::to_string(n) + " rows in the table";
    for (int c = 0; c < children; ++c) {
      int status = 0;
      if (running[c] && ::waitpid(pids[c], &status, WNOHANG) == pids[c]) {
        running[c] = false;
        exit_codes[c] = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
        --left;
      }
    }
    if (std::chrono::steady_clock::now() > give_up) {
      for (int c = 0; c < children; ++c)
        if (running[c]) {
          ::kill(pids[c], SIGKILL);
          exit_codes[c] = wait_for(pids[c]);
        }
      ADD_FAILURE() << "the writers did not finish in time";
      break;
    }
  }

  EXPECT_EQ(violations, 0u) << "first: " << first_violation << " (of " << reads << " alias reads)";
  EXPECT_GT(reads, 0u);
  std::size_t acknowledged = 0;
  std::vector<int> acked_rounds(children, 0);
  for (int c = 0; c < children; ++c) {
    EXPECT_EQ(exit_codes[c], 0) << "child " << c << " failed (its message is on stderr)";
    char byte = 0;
    while (acks[c]->receive(byte)) ++acked_rounds[c];
    EXPECT_EQ(acked_rounds[c], rounds) << "child " << c;
    acknowledged += static_cast<std::size_t>(acked_rounds[c]) * per_batch;
  }

  // Every acknowledged write is there, with its content.
  const auto docs = everything(reader, "docs");
  EXPECT_EQ(docs.size(), acknowledged);
  std::map<std::string, std::string> by_id;
  for (const auto& d : docs) by_id[d.id] = d.json;
  for (int c = 0; c < children; ++c)
    for (int round = 0; round < acked_rounds[c]; ++round)
      for (int k = 0; k < per_batch; ++k) {
        const auto id = "c" + std::to_string(c) + "-" + std::to_string(round) + "-" + std::to_string(k);
        auto it = by_id.find(id);
        ASSERT_NE(it, by_id.end()) << "acknowledged document " << id << " is missing";
        EXPECT_EQ(it->second, doc_json(c, round, k));
      }
  // An even number of flips brought every child's own alias back to blue.
  for (int c = 0; c < children; ++c)
    EXPECT_EQ(reader.alias_targets("flip-" + std::to_string(c)), std::vector<std::string>{"blue"});
  EXPECT_EQ(reader.alias_targets("live").size(), 1u);
}

TEST(SqliteMultiprocess, AcknowledgedWritesSurviveAChildThatNeverCloses) {
  for (const bool killed : {false, true}) {
    SCOPED_TRACE(killed ? "SIGKILL after the acknowledgement" : "_exit after the acknowledgement");
    scratch_database db;
    channel ack;
    const pid_t pid = spawn([&] {
      auto* store = new sqlite_index(db.path());  // never closed: the child leaves without destructors
      store->create_index("crash");
      std::vector<stored_document> batch;
      for (int i = 0; i < 500; ++i) batch.push_back({"id-" + std::to_string(i), "{\"i\":" + std::to_string(i) + "}"});
      if (!store->bulk_write("crash", batch).ok()) ::_exit(2);
      const std::vector<alias_action> publish{alias_action::add("crash", "live")};
      store->update_aliases(publish);
      ack.send('k');
      if (killed) {
        ::pause();  // the parent kills it here
      }
      ::_exit(0);
    });
    ack.close_write_end();
    char byte = 0;
    ASSERT_TRUE(ack.receive(byte)) << "the child died before its writes were acknowledged";
    if (killed) ::kill(pid, SIGKILL);
    EXPECT_EQ(wait_for(pid), killed ? -SIGKILL : 0);

    // Nothing was checkpointed at close: the acknowledged writes live in the WAL, recovered on open.
    EXPECT_TRUE(fs::exists(db.path() + "-wal"));
    EXPECT_GT(fs::file_size(db.path() + "-wal"), 0u);
    sqlite_index reopened(db.path());
    const auto docs = everything(reopened, "crash");
    ASSERT_EQ(docs.size(), 500u);
    for (const auto& d : docs) EXPECT_EQ(d.json, "{\"i\":" + d.id.substr(3) + "}");
    EXPECT_EQ(reopened.alias_targets("live"), std::vector<std::string>{"crash"});
  }
}

/// The connection the child's sqlite_index opens, caught by an auto extension (which SQLite runs on
/// every connection the process opens). Set in the child only.
sqlite3* opened_connection = nullptr;

int catch_connection(sqlite3* db, const char**, const sqlite3_api_routines*) {
  opened_connection = db;
  return SQLITE_OK;
}

TEST(SqliteMultiprocess, WriterKilledMidBatchLeavesAllOrNothing) {
  constexpr int big = 20'000;
  scratch_database db;
  {
    sqlite_index setup(db.path());
    setup.create_index("docs");
    const std::vector<stored_document> first{{"acked", "{}"}};
    ASSERT_TRUE(setup.bulk_write("docs", first).ok());
  }
  channel committing;
  const pid_t pid = spawn([&] {
    // void(*)(void) is SQLite's type for every entry point; the cast is the documented use.
    if (sqlite3_auto_extension(reinterpret_cast<void (*)()>(&catch_connection)) != SQLITE_OK) ::_exit(5);
    sqlite_index store(db.path());
    if (opened_connection == nullptr) ::_exit(6);
    std::vector<stored_document> batch;
    for (int i = 0; i < big; ++i) batch.push_back({"big-" + std::to_string(i), std::string(200, 'x')});
    // The batch's transaction, every row written, about to commit: tell the parent and stay there,
    // holding the write lock, until killed.
    sqlite3_commit_hook(
      opened_connection,
      [](void* arg) -> int {
        static_cast<const channel*>(arg)->send('c');
        while (true) ::pause();
      },
      &committing);
    (void)store.bulk_write("docs", batch);
    ::_exit(4);  // committed after all: the parent reads end of file and fails
  });
  committing.close_write_end();
  char byte = 0;
  if (!committing.receive(byte)) {
    const int status = wait_for(pid);
    FAIL() << "the child never reached the commit of its batch (exit " << status << ")";
  }
  // The child is inside its write transaction, which a probe connection that finds BEGIN IMMEDIATE
  // busy confirms; kill it there.
  sqlite3* probe = nullptr;
  const int probe_opened = sqlite3_open(db.path().c_str(), &probe);
  bool inside = false;
  for (const auto until = std::chrono::steady_clock::now() + 30s;
       probe_opened == SQLITE_OK && !inside && std::chrono::steady_clock::now() < until;) {
    const int rc = sqlite3_exec(probe, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
    if (rc == SQLITE_BUSY) {
      inside = true;
    } else {
      if (rc == SQLITE_OK) sqlite3_exec(probe, "ROLLBACK", nullptr, nullptr, nullptr);
      std::this_thread::sleep_for(200us);
    }
  }
  ::kill(pid, SIGKILL);  // killed whatever the probe found: it would wait in its commit hook forever
  sqlite3_close(probe);
  EXPECT_EQ(wait_for(pid), -SIGKILL);
  ASSERT_EQ(probe_opened, SQLITE_OK);
  ASSERT_TRUE(inside) << "never saw the child inside its write transaction";

  sqlite_index reopened(db.path());
  const auto docs = everything(reopened, "docs");
  EXPECT_EQ(docs.size(), 1u) << "the killed, unacknowledged batch left " << docs.size() - 1 << " documents";
  EXPECT_EQ(reopened.get("docs", std::vector<std::string>{"acked"})[0], std::optional<std::string>("{}"));
  // The store takes writes again: the dead writer's lock went with its process.
  reopened.create_index("after");
  EXPECT_TRUE(reopened.index_exists("after"));
}

}  // namespace
}  // namespace tributary
