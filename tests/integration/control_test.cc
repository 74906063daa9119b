// The control interface (what the REST API calls), driven in-process against real servers:
// the status model, pause and resume, forced full sync with and without emptying the target.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <functional>
#include <thread>

#include "config/config_loader.h"
#include "pipeline/supervisor.h"
#include "tests/support/load.h"
#include "tests/support/redis_server.h"
#include "tests/support/sync_checks.h"
#include "tests/support/workload.h"

namespace ferry::test {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// A Supervisor syncing `sources` into `target`, with its cache in a temporary directory and
// its progress loop on a thread, as `ferry sync` runs it.
class Daemon {
 public:
  Daemon(const std::vector<std::string>& sources, const std::string& target) {
    char tmpl[] = "/tmp/ferry-control-XXXXXX";
    dir_ = mkdtemp(tmpl);
    std::string yaml = "input:\n  redis:\n    addresses: [";
    for (size_t i = 0; i < sources.size(); i++)
      yaml += (i ? ", " : "") + sources[i];
    yaml += "]\noutput:\n  redis:\n    addresses: [" + target +
            "]\nchannel:\n  storer:\n    dirPath: " + dir_ + "/cache\n";
    Status st = load_config_text(yaml, "test", &config_);
    EXPECT_TRUE(st.is_ok()) << st.message();
  }
  ~Daemon() {
    stop_ = true;
    if (runner_.joinable()) runner_.join();
    supervisor_.reset();
    std::filesystem::remove_all(dir_);
  }

  bool start() {
    supervisor_ = std::make_unique<Supervisor>(config_);
    Status st = supervisor_->start();
    EXPECT_TRUE(st.is_ok()) << st.message();
    if (!st.is_ok()) return false;
    runner_ = std::thread([this] { supervisor_->run(&stop_); });
    return true;
  }
  Supervisor& control() { return *supervisor_; }

  InputStatus status(const std::string& input) {
    for (const InputStatus& s : supervisor_->inputs()) {
      if (s.input == input) return s;
    }
    ADD_FAILURE() << "no input " << input;
    return InputStatus();
  }

  // Waits until the input has applied everything the source wrote.
  bool wait_caught_up(RedisServer& source, seconds timeout = seconds(60)) {
    return wait_until(
        [&] {
          InputStatus s = status(source.address());
          return s.applied_phase == "stream" &&
                 s.applied_offset ==
                     static_cast<uint64_t>(source.info_int("replication", "master_repl_offset"));
        },
        timeout);
  }

 private:
  std::string dir_;
  Config config_;
  std::unique_ptr<Supervisor> supervisor_;
  std::atomic<bool> stop_{false};
  std::thread runner_;
};

void expect_equal_data(RedisServer& source, RedisServer& target) {
  std::string detail;
  EXPECT_TRUE(wait_same_digest(source, target, seconds(60), &detail)) << detail;
}

TEST(Control, StatusReportsStateRoleTransactionAndOffsets) {
  // `barrier` is a second input into the same target, never paused: once its write has
  // arrived, one written before it to the paused input would have arrived too.
  RedisServer source, barrier, target;
  ASSERT_TRUE(source.start());
  ASSERT_TRUE(barrier.start());
  ASSERT_TRUE(target.start());
  source.cmd({"DEBUG", "POPULATE", "5000", "k", "16"});
  Daemon d({source.address(), barrier.address()}, target.address());
  ASSERT_TRUE(d.start());
  ASSERT_TRUE(d.wait_caught_up(source));
  ASSERT_TRUE(d.wait_caught_up(barrier));
  InputStatus s = d.status(source.address());
  EXPECT_EQ(input_state_name(s.state), std::string("run"));
  EXPECT_EQ(s.role, "leader");
  EXPECT_TRUE(s.transaction);
  EXPECT_EQ(s.rdb_keys_applied, 5000u);
  EXPECT_EQ(s.full_syncs, 1u);
  EXPECT_EQ(s.source_offset, s.applied_offset);
  EXPECT_EQ(s.cached_offset, s.applied_offset);
  expect_equal_data(source, target);

  // Paused: the source is still read into the cache, nothing reaches the target.
  ASSERT_TRUE(d.control().pause({source.address()}).is_ok());
  EXPECT_EQ(input_state_name(d.status(source.address()).state), std::string("pause"));
  uint64_t applied = d.status(source.address()).applied_offset;
  for (int i = 0; i < 200; i++)
    source.cmd({"INCR", "paused-counter"});
  uint64_t source_offset = source.info_int("replication", "master_repl_offset");
  ASSERT_TRUE(wait_until([&] { return d.status(source.address()).cached_offset == source_offset; },
                         seconds(10)));
  barrier.cmd({"SET", "barrier", "1"});
  ASSERT_TRUE(wait_until(
      [&] {
        return target.cmd({"EXISTS", "barrier"}).integer == 1;
      },
      seconds(10)));
  s = d.status(source.address());
  EXPECT_EQ(s.applied_offset, applied);
  EXPECT_EQ(target.try_cmd({"GET", "paused-counter"}).type, Reply::Type::kNil);
  barrier.cmd({"DEL", "barrier"});
  ASSERT_TRUE(d.wait_caught_up(barrier));
  // Resuming twice is an error the second time; unknown inputs change nothing.
  EXPECT_FALSE(d.control().pause({"127.0.0.1:1", source.address()}).is_ok());
  ASSERT_TRUE(d.control().resume({source.address()}).is_ok());
  Status again = d.control().resume({source.address()});
  EXPECT_FALSE(again.is_ok());
  EXPECT_NE(again.message().find("not paused"), std::string::npos) << again.message();
  ASSERT_TRUE(d.wait_caught_up(source));
  EXPECT_EQ(target.cmd({"GET", "paused-counter"}).str, "200");
  expect_equal_data(source, target);
}

TEST(Control, ForcedFullSyncWithFlushdbStartsTheTargetOver) {
  RedisServer source, target;
  ASSERT_TRUE(source.start());
  ASSERT_TRUE(target.start());
  ASSERT_TRUE(Workload::prepare(source.endpoint()));
  Daemon d({source.address()}, target.address());
  ASSERT_TRUE(d.start());
  // The first full sync is over before the forced one (else the source may see only one).
  ASSERT_TRUE(d.wait_caught_up(source));
  Workload writer;
  Workload::Options wo;
  wo.seed = 91;
  wo.big_keys = false;
  writer.start(source.endpoint(), wo);
  ASSERT_TRUE(wait_ops(writer, 3000)) << writer.error();
  // Keys only the target has: a full sync with flushdb removes them.
  target.cmd({"SELECT", "3"});
  target.cmd({"SET", "stray", "x"});
  target.cmd({"SELECT", "0"});
  ASSERT_TRUE(d.control().full_sync({source.address()}, true).is_ok());
  ASSERT_TRUE(wait_ops(writer, 3000)) << writer.error();
  writer.stop();
  ASSERT_EQ(writer.error(), "");
  ASSERT_TRUE(d.wait_caught_up(source));
  expect_equal_data(source, target);
  target.cmd({"SELECT", "3"});
  EXPECT_EQ(target.cmd({"EXISTS", "stray"}).integer, 0);
  EXPECT_EQ(source.info_int("stats", "sync_full"), 2);
  InputStatus s = d.status(source.address());
  EXPECT_EQ(input_state_name(s.state), std::string("run"));
}

TEST(Control, ForcedFullSyncWithoutFlushdbKeepsOtherKeys) {
  RedisServer source, target;
  ASSERT_TRUE(source.start());
  ASSERT_TRUE(target.start());
  source.cmd({"DEBUG", "POPULATE", "1000", "k", "16"});
  Daemon d({source.address()}, target.address());
  ASSERT_TRUE(d.start());
  ASSERT_TRUE(d.wait_caught_up(source));
  target.cmd({"SET", "target-only", "x"});
  source.cmd({"SET", "k:1", "changed"});
  ASSERT_TRUE(d.control().full_sync({source.address()}, false).is_ok());
  ASSERT_TRUE(d.wait_caught_up(source));
  EXPECT_EQ(source.info_int("stats", "sync_full"), 2);
  EXPECT_EQ(target.cmd({"GET", "target-only"}).str, "x");
  EXPECT_EQ(target.cmd({"GET", "k:1"}).str, "changed");
  EXPECT_EQ(target.cmd({"DBSIZE"}).integer, 1000 + 1 + 1);  // + target-only + the checkpoint
}

TEST(Control, FlushdbIsRefusedWhenInputsShareTheTarget) {
  RedisServer a, b, target;
  ASSERT_TRUE(a.start());
  ASSERT_TRUE(b.start());
  ASSERT_TRUE(target.start());
  a.cmd({"SET", "from-a", "1"});
  b.cmd({"SET", "from-b", "1"});
  Daemon d({a.address(), b.address()}, target.address());
  ASSERT_TRUE(d.start());
  ASSERT_TRUE(d.wait_caught_up(a));
  ASSERT_TRUE(d.wait_caught_up(b));
  Status st = d.control().full_sync({a.address()}, true);
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(st.message().find("one to one"), std::string::npos) << st.message();
  st = d.control().full_sync({"127.0.0.1:1"}, false);
  EXPECT_NE(st.message().find("no input named '127.0.0.1:1'"), std::string::npos) << st.message();
  // Nothing changed: no new full sync, both inputs still run, both keys still there.
  EXPECT_EQ(a.info_int("stats", "sync_full"), 1);
  EXPECT_EQ(b.info_int("stats", "sync_full"), 1);
  EXPECT_EQ(d.control().inputs().size(), 2u);
  EXPECT_EQ(target.cmd({"EXISTS", "from-a", "from-b"}).integer, 2);
}

}  // namespace
}  // namespace ferry::test
