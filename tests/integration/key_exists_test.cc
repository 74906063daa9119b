// keyExists against a target that already holds some of the source's keys: replace them,
// keep them (ignore), or stop with an error naming the key — with RESTORE and with rebuilt
// keys alike; keyExistsLog names each replaced or kept key.
#include <gtest/gtest.h>

#include <thread>

#include "tests/support/ferry_process.h"
#include "tests/support/redis_server.h"
#include "tests/support/sync_checks.h"

namespace ferry::test {
namespace {

using std::chrono::seconds;

struct Servers {
  RedisServer source, target;
  bool start() {
    if (!source.start() || !target.start()) return false;
    source.cmd({"SET", "a", "from-source"});
    source.cmd({"SET", "b", "from-source"});
    source.cmd({"RPUSH", "l", "s1", "s2"});
    source.cmd({"HSET", "h", "f", "from-source"});
    target.cmd({"SET", "a", "from-target"});
    target.cmd({"RPUSH", "l", "t1"});
    return true;
  }
};

std::string list_of(RedisServer& s, const std::string& key) {
  std::string out;
  for (const auto& e : s.cmd({"LRANGE", key, "0", "-1"}).elements)
    out += e.str + ",";
  return out;
}

TEST(KeyExists, ReplaceOverwritesAndLogs) {
  for (bool restore : {true, false}) {
    Servers s;
    ASSERT_TRUE(s.start());
    FerryProcess ferry;
    std::string extra = "    keyExists: replace\n    keyExistsLog: true\n";
    if (!restore) extra += "    replayRdbEnableRestore: false\n";
    ASSERT_TRUE(ferry.start(FerryProcess::config({s.source.address()}, s.target.address(), extra)));
    ASSERT_TRUE(ferry.wait_for_log("full sync applied", seconds(30))) << ferry.log();
    std::string detail;
    EXPECT_TRUE(wait_same_digest(s.source, s.target, seconds(10), &detail)) << detail;
    EXPECT_NE(ferry.log().find("key 'a' exists on the target: replaced"), std::string::npos)
        << ferry.log();
    EXPECT_EQ(ferry.stop(), 0);
  }
}

TEST(KeyExists, IgnoreKeepsWhatTheTargetHad) {
  for (bool restore : {true, false}) {
    Servers s;
    ASSERT_TRUE(s.start());
    FerryProcess ferry;
    std::string extra = "    keyExists: ignore\n    keyExistsLog: true\n";
    if (!restore) extra += "    replayRdbEnableRestore: false\n";
    ASSERT_TRUE(ferry.start(FerryProcess::config({s.source.address()}, s.target.address(), extra)));
    ASSERT_TRUE(ferry.wait_for_log("full sync applied", seconds(30))) << ferry.log();
    EXPECT_EQ(s.target.cmd({"GET", "a"}).str, "from-target") << restore;
    EXPECT_EQ(list_of(s.target, "l"), "t1,") << restore;
    EXPECT_EQ(s.target.cmd({"GET", "b"}).str, "from-source") << restore;
    EXPECT_EQ(s.target.cmd({"HGET", "h", "f"}).str, "from-source") << restore;
    EXPECT_NE(ferry.log().find("key 'a' exists on the target: kept"), std::string::npos)
        << ferry.log();
    EXPECT_NE(ferry.log().find("key 'l' exists on the target: kept"), std::string::npos)
        << ferry.log();
    EXPECT_TRUE(s.target.cmd({"KEYS", "ferry-tmp*"}).elements.empty());
    // The stream still flows afterwards.
    s.source.cmd({"SET", "after", "x"});
    for (int i = 0; i < 100 && s.target.cmd({"EXISTS", "after"}).integer == 0; i++) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    EXPECT_EQ(s.target.cmd({"GET", "after"}).str, "x");
    EXPECT_EQ(ferry.stop(), 0);
  }
}

TEST(KeyExists, ErrorStopsNamingTheKey) {
  for (bool restore : {true, false}) {
    Servers s;
    ASSERT_TRUE(s.start());
    FerryProcess ferry;
    std::string extra = "    keyExists: error\n";
    if (!restore) extra += "    replayRdbEnableRestore: false\n";
    ASSERT_TRUE(ferry.start(FerryProcess::config({s.source.address()}, s.target.address(), extra)));
    EXPECT_EQ(ferry.wait_exit(seconds(30)), 1) << ferry.output();
    std::string out = ferry.output();
    EXPECT_NE(out.find("already exists on the target"), std::string::npos) << out;
    EXPECT_TRUE(out.find("'a'") != std::string::npos || out.find("'l'") != std::string::npos)
        << out;
  }
}

}  // namespace
}  // namespace ferry::test
