// Live writes: a writer runs a mix over every type while ferry takes the full sync and
// afterwards; once it stops and ferry catches up, the target equals the source (digest,
// TTLs, streams with groups and PEL, functions). The source link is cut mid-stream and
// ferry resumes with +CONTINUE, without a second full sync. DB mapping rewrites every
// command that names a DB.
#include <gtest/gtest.h>

#include <thread>

#include "tests/support/ferry_process.h"
#include "tests/support/load.h"
#include "tests/support/redis_server.h"
#include "tests/support/sync_checks.h"
#include "tests/support/workload.h"

namespace ferry::test {
namespace {

using std::chrono::seconds;

TEST(LiveSync, WritesDuringAndAfterTheFullSyncEndEqual) {
  RedisServer source, target;
  ASSERT_TRUE(source.start());
  ASSERT_TRUE(target.start());
  ASSERT_TRUE(Workload::prepare(source.endpoint()));
  for (int db : {0, 1, 2}) {
    source.cmd({"SELECT", std::to_string(db)});
    source.cmd({"DEBUG", "POPULATE", "30000", "db" + std::to_string(db), "64"});
  }
  source.cmd({"SELECT", "0"});
  // Slow the RDB down (~50us a key) so that the writer runs while it is produced and applied.
  source.cmd({"CONFIG", "SET", "rdb-key-save-delay", "1"});

  Workload writer;
  Workload::Options wo;
  wo.seed = 11;
  writer.start(source.endpoint(), wo);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  FerryProcess ferry;
  ASSERT_TRUE(ferry.start(FerryProcess::config({source.address()}, target.address())));
  uint64_t ops_before = writer.ops();
  ASSERT_TRUE(ferry.wait_for_log("full sync applied", seconds(120))) << ferry.log();
  uint64_t ops_during = writer.ops() - ops_before;
  std::this_thread::sleep_for(seconds(3));
  writer.stop();
  ASSERT_EQ(writer.error(), "");
  EXPECT_GT(ops_during, 1000u) << "the writer should have run during the full sync";

  std::string detail;
  EXPECT_TRUE(wait_same_digest(source, target, seconds(60), &detail)) << detail;
  EXPECT_EQ(compare_beyond_digest(source, target), "");
  EXPECT_EQ(source.info_int("stats", "sync_full"), 1);
  EXPECT_EQ(ferry.stop(), 0) << ferry.output();
}

TEST(LiveSync, CutSourceLinkResumesWithContinue) {
  RedisServer source, target;
  ASSERT_TRUE(source.start());
  ASSERT_TRUE(target.start());
  ASSERT_TRUE(Workload::prepare(source.endpoint()));
  FerryProcess ferry;
  ASSERT_TRUE(ferry.start(FerryProcess::config({source.address()}, target.address())));
  ASSERT_TRUE(ferry.wait_for_log("full sync applied", seconds(60))) << ferry.log();

  Workload writer;
  Workload::Options wo;
  wo.seed = 22;
  writer.start(source.endpoint(), wo);
  for (int i = 0; i < 3; i++) {
    ASSERT_TRUE(wait_ops(writer, 2000)) << writer.error();
    // Cut the link once ferry is back on it.
    ASSERT_TRUE(wait_until([&] { return source.info_int("replication", "connected_slaves") == 1; },
                           seconds(30)));
    EXPECT_GE(source.cmd({"CLIENT", "KILL", "TYPE", "replica"}).integer, 1);
  }
  ASSERT_TRUE(wait_ops(writer, 2000)) << writer.error();
  writer.stop();
  ASSERT_EQ(writer.error(), "");

  std::string detail;
  EXPECT_TRUE(wait_same_digest(source, target, seconds(60), &detail)) << detail;
  EXPECT_EQ(compare_beyond_digest(source, target), "");
  EXPECT_EQ(source.info_int("stats", "sync_full"), 1);
  EXPECT_GE(source.info_int("stats", "sync_partial_ok"), 3);
  EXPECT_NE(ferry.log().find("partial resync (+CONTINUE)"), std::string::npos) << ferry.log();
  EXPECT_EQ(ferry.stop(), 0) << ferry.output();
}

TEST(LiveSync, DbMappingRewritesEveryCommandThatNamesADb) {
  RedisServer source, target;
  ASSERT_TRUE(source.start());
  ASSERT_TRUE(target.start());
  source.cmd({"SET", "a", "1"});
  source.cmd({"SELECT", "1"});
  source.cmd({"HSET", "h", "f", "v"});
  source.cmd({"SELECT", "0"});
  FerryProcess ferry;
  ASSERT_TRUE(ferry.start(FerryProcess::config({source.address()}, target.address(),
                                               "    targetDbMap: {0: 5, 1: 6}\n")));
  ASSERT_TRUE(ferry.wait_for_log("full sync applied", seconds(60))) << ferry.log();
  // Stream commands: writes in both DBs, MOVE, COPY ... DB, SWAPDB, then FLUSHALL.
  source.cmd({"SET", "b", "2"});
  source.cmd({"MOVE", "a", "1"});
  source.cmd({"COPY", "b", "b2", "DB", "1"});
  source.cmd({"SELECT", "1"});
  source.cmd({"RPUSH", "l", "x", "y"});
  source.cmd({"SWAPDB", "0", "1"});
  source.cmd({"SELECT", "2"});
  source.cmd({"SET", "in2", "z"});
  auto expect_mapped = [&](const std::string& when) {
    for (int i = 0; i < 100; i++) {
      json s = dump_dbs(source), t = dump_dbs(target);
      json want = json::object();
      for (auto& [db, keys] : s.items()) {
        int d = std::stoi(db);
        int mapped = d == 0 ? 5 : (d == 1 ? 6 : d);
        want[std::to_string(mapped)] = keys;
      }
      if (t == want) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      if (i == 99) ADD_FAILURE() << when << ": " << json::diff(t, want).dump();
    }
  };
  expect_mapped("after writes");
  source.cmd({"FLUSHALL"});
  source.cmd({"SET", "after", "flush"});
  expect_mapped("after FLUSHALL");
  EXPECT_EQ(ferry.stop(), 0) << ferry.output();
}

}  // namespace
}  // namespace ferry::test
