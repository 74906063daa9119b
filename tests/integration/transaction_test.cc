// Transaction mode at its edges: a command the target refuses when it is queued must not
// make a batch retry forever, and ferry's own keys never travel further down a chain.
#include <gtest/gtest.h>

#include <thread>

#include "tests/support/ferry_process.h"
#include "tests/support/http_client.h"
#include "tests/support/redis_server.h"
#include "tests/support/sync_checks.h"
#include "tests/support/workload.h"

namespace ferry::test {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// The target's user may not run INCR: each INCR is refused when queued (NOPERM), which
// aborts the whole MULTI. ferry must send the batch again without it, count and report it,
// and apply everything else exactly once.
TEST(Transaction, QueueTimeRefusalIsIsolatedCountedAndReported) {
  RedisServer source, target;
  ASSERT_TRUE(source.start());
  ASSERT_TRUE(target.start(RedisServer::Options{
      {"--user", "writer", "on", ">w-pass", "~*", "&*", "+@all", "-incr"}, "", ""}));
  FerryProcess ferry;
  std::string config = FerryProcess::config({source.address()}, target.address());
  config.insert(config.find("output:\n  redis:\n") + 17,
                "    userName: writer\n    password: w-pass\n");
  ASSERT_TRUE(ferry.start(config));
  ASSERT_TRUE(ferry.wait_for_log("full sync applied", seconds(60))) << ferry.log();
  for (int i = 0; i < 50; i++) {
    source.cmd({"RPUSH", "list", std::to_string(i)});
    source.cmd({"INCR", "refused"});
    source.cmd({"APPEND", "text", "x"});
  }
  source.cmd({"SET", "last", "1"});
  ASSERT_TRUE(ferry.wait_for_log("refused", seconds(30))) << ferry.log();
  for (int i = 0; i < 200; i++) {
    if (target.cmd({"EXISTS", "last"}).integer == 1) break;
    std::this_thread::sleep_for(milliseconds(50));
  }
  EXPECT_EQ(target.cmd({"EXISTS", "last"}).integer, 1) << ferry.log();
  EXPECT_EQ(target.cmd({"LLEN", "list"}).integer, 50);  // once each: no batch applied twice
  EXPECT_EQ(target.cmd({"GET", "text"}).str, std::string(50, 'x'));
  EXPECT_EQ(target.cmd({"EXISTS", "refused"}).integer, 0);
  EXPECT_NE(ferry.log().find("NOPERM"), std::string::npos) << ferry.log();
  const std::string metrics = http("GET", ferry.api() + "/prometheus").body;
  const std::string counted =
      "ferry_commands_failed_total{input=\"" + source.address() + "\",command=\"incr\"} 50\n";
  EXPECT_NE(metrics.find(counted), std::string::npos) << metrics;
  EXPECT_TRUE(ferry.running());
  EXPECT_EQ(ferry.stop(), 0) << ferry.output();
}

// source -> ferry -> middle -> ferry -> last: the last server holds the source's data and
// the second ferry's checkpoint, never the first one's.
TEST(Transaction, AChainOfFerriesStaysClean) {
  RedisServer source, middle, last;
  ASSERT_TRUE(source.start());
  ASSERT_TRUE(middle.start());
  ASSERT_TRUE(last.start());
  ASSERT_TRUE(Workload::prepare(source.endpoint()));
  FerryProcess first, second;
  ASSERT_TRUE(first.start(FerryProcess::config({source.address()}, middle.address())));
  ASSERT_TRUE(first.wait_for_log("full sync applied", seconds(60))) << first.log();
  ASSERT_TRUE(second.start(FerryProcess::config({middle.address()}, last.address())));
  Workload writer;
  Workload::Options wo;
  wo.seed = 101;
  writer.start(source.endpoint(), wo);
  std::this_thread::sleep_for(milliseconds(2500));
  writer.stop();
  ASSERT_EQ(writer.error(), "");
  std::string detail;
  EXPECT_TRUE(wait_same_digest(source, last, seconds(90), &detail)) << detail;
  EXPECT_EQ(compare_beyond_digest(source, last), "");
  last.cmd({"SELECT", "0"});
  EXPECT_EQ(last.cmd({"EXISTS", "ferry-checkpoint:" + source.address()}).integer, 0);
  EXPECT_EQ(last.cmd({"EXISTS", "ferry-checkpoint:" + middle.address()}).integer, 1);
  for (int db = 0; db < 16; db++) {
    last.cmd({"SELECT", std::to_string(db)});
    EXPECT_EQ(last.cmd({"KEYS", "ferry-tmp*"}).elements.size(), 0u) << "db " << db;
  }
  EXPECT_EQ(first.stop(), 0) << first.output();
  EXPECT_EQ(second.stop(), 0) << second.output();
}

}  // namespace
}  // namespace ferry::test
