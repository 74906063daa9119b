// Stops of every kind, with the local cache and the checkpoint in the target: ferry resumes
// where the target stopped, without a new full sync, applying nothing twice.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "tests/support/ferry_process.h"
#include "tests/support/load.h"
#include "tests/support/redis_server.h"
#include "tests/support/sync_checks.h"
#include "tests/support/workload.h"

namespace ferry::test {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::seconds;

void expect_equal_data(RedisServer& source, RedisServer& target, int timeout_s = 60) {
  std::string detail;
  EXPECT_TRUE(wait_same_digest(source, target, seconds(timeout_s), &detail)) << detail;
  EXPECT_EQ(compare_beyond_digest(source, target), "");
}

// A source ready for the workload, a target, and ferry between them past its full sync.
struct Synced {
  RedisServer source, target;
  FerryProcess ferry;
  std::string config;
};

void start_synced(Synced* s) {
  ASSERT_TRUE(s->source.start());
  ASSERT_TRUE(s->target.start());
  ASSERT_TRUE(Workload::prepare(s->source.endpoint()));
  s->config = FerryProcess::config({s->source.address()}, s->target.address());
  ASSERT_TRUE(s->ferry.start(s->config));
  ASSERT_TRUE(s->ferry.wait_for_log("full sync applied", seconds(60))) << s->ferry.log();
}

// Whether the RDB has been applied in part: a checkpoint inside it is in the target.
bool inside_full_sync_apply(const FerryProcess& ferry, RedisServer& source) {
  json s = input_status(ferry, source.address());
  return s.is_object() && s["AppliedPhase"] == "rdb" && s["AppliedOffset"].get<uint64_t>() > 0;
}

TEST(Resume, KillNineTenTimesAppliesEverythingExactlyOnce) {
  RedisServer source, target;
  ASSERT_TRUE(source.start());
  ASSERT_TRUE(target.start());
  ASSERT_TRUE(Workload::prepare(source.endpoint()));
  source.cmd({"DEBUG", "POPULATE", "400000", "base", "32"});
  Workload writer;
  Workload::Options wo;
  wo.seed = 33;
  writer.start(source.endpoint(), wo);

  FerryProcess ferry;
  const std::string config = FerryProcess::config({source.address()}, target.address());
  ASSERT_TRUE(ferry.start(config));
  // The first kill lands inside the full sync's apply, whatever the machine's speed: once
  // part of the RDB is applied, the target holds every write until ferry is dead — and the
  // whole RDB is in the cache (a kill while it still arrives would need a new full sync).
  ASSERT_TRUE(wait_until([&] { return inside_full_sync_apply(ferry, source); }, seconds(120)))
      << ferry.log();
  target.cmd({"CLIENT", "PAUSE", "60000", "WRITE"});
  ASSERT_TRUE(ferry.wait_for_log("the whole RDB is in the local cache", seconds(60)))
      << ferry.log();
  ferry.kill();
  target.cmd({"CLIENT", "UNPAUSE"});
  ASSERT_TRUE(ferry.start(config));
  std::mt19937 rng(7);
  for (int i = 1; i < 10; i++) {
    // The next kills land wherever the workload has got to after a random number of its
    // operations; the last five surely in the stream.
    if (i == 5) {
      // Applied: logged, or a restart already resumed in the stream.
      ASSERT_TRUE(wait_until(
          [&] {
            std::string log = ferry.log();
            return log.find("full sync applied") != std::string::npos ||
                   log.find("resuming from the checkpoint") != std::string::npos;
          },
          seconds(120)))
          << ferry.log();
    }
    ASSERT_TRUE(wait_ops(writer, 200 + rng() % 3000)) << writer.error();
    ferry.kill();
    ASSERT_TRUE(ferry.start(config));
  }
  ASSERT_TRUE(wait_ops(writer, 2000)) << writer.error();
  writer.stop();
  ASSERT_EQ(writer.error(), "");
  expect_equal_data(source, target);
  EXPECT_EQ(source.info_int("stats", "sync_full"), 1) << ferry.log();
  // The restart after the first kill resumed inside the full sync.
  EXPECT_NE(ferry.log().find("resuming the full sync at the checkpoint"), std::string::npos)
      << ferry.log();
  EXPECT_NE(ferry.log().find("replaying the local cache"), std::string::npos);
  EXPECT_EQ(ferry.stop(), 0) << ferry.output();
}

TEST(Resume, FrozenTargetNeverCostsTheSourceLink) {
  Synced synced;
  ASSERT_NO_FATAL_FAILURE(start_synced(&synced));
  auto& [source, target, ferry, config] = synced;
  // A replica that falls 16 MiB behind is dropped at once from now on: far less than the
  // 48 MB the source writes while the target is frozen, so ferry must keep reading while
  // its target takes nothing.
  source.cmd({"CONFIG", "SET", "client-output-buffer-limit", "replica 16mb 16mb 0"});
  Workload writer;
  Workload::Options wo;
  wo.seed = 44;
  writer.start(source.endpoint(), wo);
  ASSERT_TRUE(wait_ops(writer, 1000)) << writer.error();
  target.freeze();
  const uint64_t frozen_at = source_offset(source);
  ASSERT_TRUE(
      wait_until([&] { return source_offset(source) > frozen_at + (48u << 20); }, seconds(300)))
      << writer.error();
  // ferry has kept up with the source all along, the target frozen.
  EXPECT_TRUE(wait_received(ferry, source, seconds(30)));
  target.unfreeze();
  ASSERT_TRUE(wait_ops(writer, 1000)) << writer.error();
  writer.stop();
  ASSERT_EQ(writer.error(), "");
  expect_equal_data(source, target, 120);
  EXPECT_EQ(source.info_int("stats", "sync_full"), 1);
  EXPECT_EQ(ferry.log().find("link lost"), std::string::npos) << ferry.log() << source.log();
  EXPECT_EQ(ferry.stop(), 0) << ferry.output();
}

TEST(Resume, SourceFailoverContinuesWithoutAFullSync) {
  RedisServer source, replica, target;
  ASSERT_TRUE(source.start());
  ASSERT_TRUE(replica.start());
  ASSERT_TRUE(target.start());
  ASSERT_TRUE(Workload::prepare(source.endpoint()));
  replica.cmd({"REPLICAOF", "127.0.0.1", std::to_string(source.port())});
  FerryProcess ferry;
  ASSERT_TRUE(ferry.start(FerryProcess::config({source.address()}, target.address())));
  ASSERT_TRUE(ferry.wait_for_log("full sync applied", seconds(60))) << ferry.log();
  Workload writer;
  Workload::Options wo;
  wo.seed = 55;
  wo.big_keys = false;
  writer.start(source.endpoint(), wo);
  ASSERT_TRUE(wait_ops(writer, 3000)) << writer.error();
  writer.stop();
  ASSERT_EQ(writer.error(), "");
  // Let the replica and ferry catch up, then promote the replica.
  ASSERT_TRUE(wait_until(
      [&] {
        return replica.info_int("replication", "master_repl_offset") ==
               source.info_int("replication", "master_repl_offset");
      },
      seconds(30)));
  expect_equal_data(source, target);
  ASSERT_EQ(ferry.stop(), 0) << ferry.output();
  replica.cmd({"REPLICAOF", "NO", "ONE"});
  // Point ferry at the promoted replica.
  ASSERT_TRUE(ferry.start(FerryProcess::config({replica.address()}, target.address())));
  Workload writer2;
  wo.seed = 56;
  writer2.start(replica.endpoint(), wo);
  ASSERT_TRUE(wait_ops(writer2, 3000)) << writer2.error();
  writer2.stop();
  ASSERT_EQ(writer2.error(), "");
  expect_equal_data(replica, target);
  EXPECT_EQ(replica.info_int("stats", "sync_full"), 0) << ferry.log();
  EXPECT_GE(replica.info_int("stats", "sync_partial_ok"), 1);
  EXPECT_NE(ferry.log().find("taking over the checkpoint"), std::string::npos) << ferry.log();
  EXPECT_EQ(ferry.stop(), 0) << ferry.output();
}

TEST(Resume, WritesInDb5StayInDb5AcrossAKill) {
  Synced synced;
  ASSERT_NO_FATAL_FAILURE(start_synced(&synced));
  auto& [source, target, ferry, config] = synced;
  Workload writer;
  Workload::Options wo;
  wo.seed = 66;
  wo.first_db = 5;
  wo.dbs = 1;
  wo.flushdb = false;
  wo.big_keys = false;
  writer.start(source.endpoint(), wo);
  ASSERT_TRUE(wait_ops(writer, 3000)) << writer.error();
  ferry.kill();
  ASSERT_TRUE(ferry.start(config));
  ASSERT_TRUE(wait_ops(writer, 3000)) << writer.error();
  writer.stop();
  ASSERT_EQ(writer.error(), "");
  expect_equal_data(source, target);
  source.cmd({"SELECT", "5"});
  target.cmd({"SELECT", "5"});
  EXPECT_GT(target.cmd({"DBSIZE"}).integer, 100);
  EXPECT_EQ(target.cmd({"DBSIZE"}).integer, source.cmd({"DBSIZE"}).integer);
  EXPECT_EQ(ferry.stop(), 0) << ferry.output();
}

uint64_t dir_bytes(const std::string& dir) {
  uint64_t total = 0;
  std::error_code ec;
  for (const auto& f : fs::recursive_directory_iterator(dir, ec)) {
    if (f.is_regular_file(ec)) total += f.file_size(ec);
  }
  return total;
}

TEST(Resume, CacheGcReclaimsOldDataButNeverWhatIsNeeded) {
  RedisServer source, target;
  ASSERT_TRUE(source.start());
  ASSERT_TRUE(target.start());
  ASSERT_TRUE(Workload::prepare(source.endpoint()));
  FerryProcess ferry;
  std::string config = FerryProcess::config({source.address()}, target.address());
  config += "channel:\n  storer:\n    dirPath: " + ferry.dir() +
            "/cache\n    maxSize: 8mb\n    logSize: 1mb\n";
  ASSERT_TRUE(ferry.start(config));
  ASSERT_TRUE(ferry.wait_for_log("full sync applied", seconds(60))) << ferry.log();
  Workload writer;
  Workload::Options wo;
  wo.seed = 77;
  wo.big_keys = false;
  writer.start(source.endpoint(), wo);
  // Far more than 8 MB goes through the cache.
  const uint64_t started_at = source_offset(source);
  ASSERT_TRUE(
      wait_until([&] { return source_offset(source) > started_at + (24u << 20); }, seconds(120)))
      << writer.error();
  EXPECT_TRUE(ferry.wait_for_log("cache GC freed", seconds(30))) << ferry.log();
  EXPECT_LT(dir_bytes(ferry.dir() + "/cache"), 40ull << 20);
  // With the target frozen, nothing may be reclaimed: the cache fills and the source link
  // is let go, then resumed from the source's backlog.
  target.freeze();
  bool filled = ferry.wait_for_log("the local cache is full", seconds(60));
  target.unfreeze();
  EXPECT_TRUE(filled) << ferry.log();
  ASSERT_TRUE(wait_ops(writer, 1000)) << writer.error();
  writer.stop();
  ASSERT_EQ(writer.error(), "");
  expect_equal_data(source, target, 120);
  EXPECT_EQ(source.info_int("stats", "sync_full"), 1);
  EXPECT_EQ(ferry.stop(), 0) << ferry.output();
}

TEST(Resume, TornCacheTailIsCutAndRecovered) {
  Synced synced;
  ASSERT_NO_FATAL_FAILURE(start_synced(&synced));
  auto& [source, target, ferry, config] = synced;
  Workload writer;
  Workload::Options wo;
  wo.seed = 88;
  wo.big_keys = false;
  writer.start(source.endpoint(), wo);
  ASSERT_TRUE(wait_ops(writer, 3000)) << writer.error();
  ferry.kill();
  // Damage the newest write-ahead log: cut it and garble what is left of its end.
  std::string newest;
  fs::file_time_type newest_time;
  for (const auto& f : fs::directory_iterator(ferry.dir() + "/cache")) {
    if (f.path().extension() == ".log" && (newest.empty() || f.last_write_time() > newest_time)) {
      newest = f.path().string();
      newest_time = f.last_write_time();
    }
  }
  ASSERT_FALSE(newest.empty());
  uint64_t size = fs::file_size(newest);
  ASSERT_GT(size, 200u);
  fs::resize_file(newest, size - 100);
  {
    std::fstream f(newest, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(size - 150));
    f.write("garbage-garbage-garbage", 23);
  }
  ASSERT_TRUE(ferry.start(config));
  ASSERT_TRUE(wait_ops(writer, 3000)) << writer.error();
  writer.stop();
  ASSERT_EQ(writer.error(), "");
  expect_equal_data(source, target);
  EXPECT_EQ(source.info_int("stats", "sync_full"), 1) << ferry.log();
  EXPECT_EQ(ferry.stop(), 0) << ferry.output();
}

// A small file system mounted for the cache, unmounted however the test ends.
struct SmallDisk {
  std::string dir;
  bool mounted = false;
  explicit SmallDisk(const std::string& at, const std::string& size) : dir(at) {
    fs::create_directories(dir);
    mounted = geteuid() == 0 &&
              std::system(("mount -t tmpfs -o size=" + size + " tmpfs " + dir).c_str()) == 0;
  }
  bool grow(const std::string& size) {
    return std::system(("mount -o remount,size=" + size + " " + dir).c_str()) == 0;
  }
  ~SmallDisk() {
    if (mounted && std::system(("umount " + dir).c_str()) != 0) ADD_FAILURE() << "umount";
  }
};

// The disk under the cache fills up while the target holds writes: ferry lets go of the
// source link (never a crash), and once there is room again applies everything, once,
// without a new full sync.
TEST(Resume, AFullDiskUnderTheCacheIsLetGoAndRecovered) {
  RedisServer source, target;
  ASSERT_TRUE(source.start());
  ASSERT_TRUE(target.start());
  FerryProcess ferry;
  SmallDisk disk(ferry.dir() + "/disk", "40m");
  if (!disk.mounted) GTEST_SKIP() << "needs root to mount a tmpfs for the cache";
  std::string config = FerryProcess::config({source.address()}, target.address());
  config += "channel:\n  storer:\n    dirPath: " + disk.dir + "/cache\n    maxSize: 1gb\n";
  ASSERT_TRUE(ferry.start(config));
  ASSERT_TRUE(ferry.wait_for_log("full sync applied", seconds(60))) << ferry.log();
  EXPECT_NE(ferry.log().find("is more than the free space"), std::string::npos) << ferry.log();
  target.cmd({"CLIENT", "PAUSE", "120000", "WRITE"});
  const std::string value(100 << 10, 'v');
  std::vector<std::vector<std::string>> cmds;
  for (int i = 0; i < 500; i++)
    cmds.push_back({"SET", "big:" + std::to_string(i), value});
  for (int i = 0; i < 1000; i++)
    cmds.push_back({"INCR", "counter"});
  std::string err;
  ASSERT_EQ(pipeline(source.endpoint(), cmds, 50, &err), 0) << err;
  ASSERT_TRUE(ferry.wait_for_log("the disk under the local cache is full", seconds(60)))
      << ferry.log();
  EXPECT_TRUE(ferry.running());
  ASSERT_TRUE(disk.grow("400m"));  // the operator makes room
  target.cmd({"CLIENT", "UNPAUSE"});
  ASSERT_TRUE(wait_applied(ferry, source, seconds(120))) << ferry.log();
  expect_equal_data(source, target);
  EXPECT_EQ(target.cmd({"GET", "counter"}).str, "1000");
  EXPECT_EQ(source.info_int("stats", "sync_full"), 1) << ferry.log();
  EXPECT_EQ(ferry.stop(), 0) << ferry.output();
}

TEST(Resume, AnRdbBiggerThanTheCacheIsAClearError) {
  RedisServer source, target;
  ASSERT_TRUE(source.start());
  ASSERT_TRUE(target.start());
  source.cmd({"DEBUG", "POPULATE", "100000", "k", "64"});
  FerryProcess ferry;
  std::string config = FerryProcess::config({source.address()}, target.address());
  config += "channel:\n  storer:\n    dirPath: " + ferry.dir() + "/cache\n    maxSize: 1mb\n";
  ASSERT_TRUE(ferry.start(config));
  EXPECT_EQ(ferry.wait_exit(std::chrono::seconds(30)), 1) << ferry.output();
  EXPECT_NE(ferry.output().find("channel.storer.maxSize"), std::string::npos) << ferry.output();
}

// A FLUSHALL replicated from the source empties the target but not ferry's checkpoint (it is
// rewritten in the same transaction, or right after on the same connection): a kill after it
// still resumes without a full sync.
class FlushallTest : public ::testing::TestWithParam<bool> {};

TEST_P(FlushallTest, ReplicatedFlushallKeepsTheCheckpoint) {
  const bool transaction = GetParam();
  RedisServer source, target;
  ASSERT_TRUE(source.start());
  ASSERT_TRUE(target.start());
  source.cmd({"DEBUG", "POPULATE", "3000", "k", "16"});
  FerryProcess ferry;
  const std::string config = FerryProcess::config(
      {source.address()}, target.address(),
      std::string("    replayTransaction: ") + (transaction ? "true" : "false") + "\n");
  ASSERT_TRUE(ferry.start(config));
  ASSERT_TRUE(ferry.wait_for_log("full sync applied", seconds(60))) << ferry.log();
  source.cmd({"FLUSHALL"});
  for (int i = 0; i < 100; i++)
    source.cmd({"RPUSH", "after-flush", std::to_string(i)});
  expect_equal_data(source, target);
  const std::string ckpt = "ferry-checkpoint:" + source.address();
  target.cmd({"SELECT", "0"});
  EXPECT_EQ(target.cmd({"HEXISTS", ckpt, "offset"}).integer, 1);
  // Equal data is not yet an applied position (without transactions the checkpoint follows
  // the data's replies): a kill before it would rightly replay the last batch.
  ASSERT_TRUE(wait_applied(ferry, source, seconds(30)));
  ferry.kill();
  for (int i = 0; i < 100; i++)
    source.cmd({"INCR", "after-kill"});
  ASSERT_TRUE(ferry.start(config));
  expect_equal_data(source, target);
  EXPECT_EQ(target.cmd({"GET", "after-kill"}).str, "100");
  EXPECT_EQ(source.info_int("stats", "sync_full"), 1) << ferry.log();
  EXPECT_EQ(ferry.stop(), 0) << ferry.output();
}

INSTANTIATE_TEST_SUITE_P(Resume, FlushallTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "Transaction" : "Plain"; });

TEST(Resume, CachedDataOfARemovedSourceIsReclaimedOnceStale) {
  RedisServer a, b, target;
  ASSERT_TRUE(a.start());
  ASSERT_TRUE(b.start());
  ASSERT_TRUE(target.start());
  a.cmd({"SET", "from-a", "1"});
  b.cmd({"SET", "from-b", "1"});
  FerryProcess ferry;
  const std::string cache =
      "channel:\n  staleCheckpointDuration: 1s\n  storer:\n    dirPath: " + ferry.dir() +
      "/cache\n";
  ASSERT_TRUE(
      ferry.start(FerryProcess::config({a.address(), b.address()}, target.address()) + cache));
  ASSERT_TRUE(ferry.wait_for_log("input " + b.address() + ": full sync applied", seconds(60)));
  ASSERT_TRUE(ferry.wait_for_log("input " + a.address() + ": full sync applied", seconds(60)));
  EXPECT_EQ(ferry.stop(), 0) << ferry.output();
  // Restarted at once without b: b's data is younger than 1 s and stays.
  fs::remove(ferry.dir() + "/ferry.log");
  ASSERT_TRUE(ferry.start(FerryProcess::config({a.address()}, target.address()) + cache));
  ASSERT_TRUE(ferry.wait_for_log("syncing into", seconds(30))) << ferry.log();
  EXPECT_EQ(ferry.stop(), 0) << ferry.output();
  const std::string reclaimed = "reclaimed the data of input " + b.address();
  EXPECT_EQ(ferry.log().find(reclaimed), std::string::npos) << ferry.log();
  // Once b's data is older than 1 s a start reclaims it: start until one does.
  ASSERT_TRUE(wait_until(
      [&] {
        fs::remove(ferry.dir() + "/ferry.log");
        EXPECT_TRUE(ferry.start(FerryProcess::config({a.address()}, target.address()) + cache));
        bool started = ferry.wait_for_log("syncing into", seconds(30));
        EXPECT_EQ(ferry.stop(), 0) << ferry.output();
        return started && ferry.log().find(reclaimed) != std::string::npos;
      },
      seconds(30)))
      << ferry.log();
  EXPECT_EQ(a.info_int("stats", "sync_full"), 1);
}

}  // namespace
}  // namespace ferry::test
