// A source Redis Cluster into a standalone target: one input per shard, live writes
// throughout, a failover inside a shard under load. The oracle is the cluster itself: each
// master's keys (DEBUG DIGEST-VALUE, PEXPIRETIME) against the target's.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "tests/support/cluster_workload.h"
#include "tests/support/ferry_process.h"
#include "tests/support/http_client.h"
#include "tests/support/load.h"
#include "tests/support/redis_cluster.h"
#include "tests/support/sync_checks.h"

namespace ferry::test {
namespace {

using std::chrono::seconds;

std::string cluster_config(const std::string& seed, const std::string& target,
                           const std::string& sync_from = "prefer_slave") {
  return "server:\n  listen: 127.0.0.1:" + std::to_string(free_port()) +
         "\n  gracefullStopTimeout: 20s\n  checkRedisTypologyTicker: 1s\n"
         "input:\n  redis:\n    addresses: [" +
         seed + "]\n    type: cluster\n  syncFrom: " + sync_from +
         "\noutput:\n  redis:\n    addresses: [" + target + "]\n";
}

json all_status(const FerryProcess& ferry) {
  HttpResult r = http("GET", ferry.api() + "/syncer/status");
  json j = json::parse(r.body, nullptr, false);
  return j.is_array() ? j : json::array();
}

// Every input streams and has applied what its node holds.
bool all_caught_up(const FerryProcess& ferry, RedisCluster& cluster, size_t inputs) {
  json all = all_status(ferry);
  if (all.size() != inputs) return false;
  for (const json& s : all) {
    Endpoint ep;
    if (!Endpoint::parse(s.value("Input", ""), &ep).is_ok()) return false;
    RedisServer* node = cluster.server_at(ep);
    if (!node || s.value("AppliedPhase", "") != "stream") return false;
    if (s.value("AppliedOffset", uint64_t{0}) < source_offset(*node)) return false;
  }
  return true;
}

// Every input is past its full sync and streams (under load: the offsets move on).
bool all_streaming(const FerryProcess& ferry, size_t inputs) {
  json all = all_status(ferry);
  if (all.size() != inputs) return false;
  for (const json& s : all) {
    if (s.value("AppliedPhase", "") != "stream" || s.value("Link", "") != "streaming") return false;
  }
  return true;
}

std::set<std::string> input_names(const FerryProcess& ferry) {
  std::set<std::string> out;
  for (const json& s : all_status(ferry))
    out.insert(s.value("Input", ""));
  return out;
}

TEST(ClusterSource, ThreeShardsIntoOneStandaloneTargetUnderLoad) {
  RedisCluster source;
  RedisCluster::Options o;
  o.replicas = 1;
  ASSERT_TRUE(source.start(o)) << source.last_output();
  RedisServer target;
  ASSERT_TRUE(target.start());
  ClusterWorkload writer;
  writer.start(source.endpoints(), 11);
  ASSERT_TRUE(wait_ops(writer, 3000)) << writer.error();  // the RDBs hold data

  FerryProcess ferry;
  ASSERT_TRUE(ferry.start(cluster_config(source.node(0).address(), target.address())));
  ASSERT_TRUE(wait_until([&] { return all_status(ferry).size() == 3; }, seconds(30)))
      << ferry.log();
  // prefer_slave: each shard's input replicates its replica; each row names its slots.
  std::set<std::string> slots;
  for (const json& s : all_status(ferry)) {
    Endpoint ep;
    ASSERT_TRUE(Endpoint::parse(s.value("Input", ""), &ep).is_ok());
    RedisServer* node = source.server_at(ep);
    ASSERT_NE(node, nullptr) << s.dump();
    EXPECT_EQ(node->info("replication")["role"], "slave") << s.dump();
    slots.insert(s.value("Slots", ""));
  }
  EXPECT_EQ(slots, (std::set<std::string>{"0-5460", "5461-10922", "10923-16383"}));
  // A shard's master names its input too.
  RedisServer* master = source.master_of_slot(0);
  HttpResult paused = http("POST", ferry.api() + "/syncer/pause?inputs=" + master->address());
  EXPECT_EQ(paused.status, 200) << paused.body;
  HttpResult resumed = http("POST", ferry.api() + "/syncer/resume?inputs=" + master->address());
  EXPECT_EQ(resumed.status, 200) << resumed.body;

  ASSERT_TRUE(wait_ops(writer, 5000)) << writer.error();
  writer.stop();
  ASSERT_EQ(writer.error(), "");
  ASSERT_TRUE(wait_until([&] { return all_caught_up(ferry, source, 3); }, seconds(60)))
      << all_status(ferry).dump();
  std::string detail;
  EXPECT_TRUE(wait_cluster_data(source, target, seconds(30), &detail)) << detail;
  for (const json& s : all_status(ferry)) {
    EXPECT_EQ(s["FullSyncs"], 1) << s.dump();
  }
  EXPECT_EQ(ferry.stop(), 0) << ferry.output();
}

TEST(ClusterSource, AFailoverMovesOnlyThatShardsInputWithoutAFullSync) {
  RedisCluster source;
  RedisCluster::Options o;
  o.replicas = 1;
  ASSERT_TRUE(source.start(o)) << source.last_output();
  RedisServer target;
  ASSERT_TRUE(target.start());
  ClusterWorkload writer;
  writer.start(source.endpoints(), 12);
  ASSERT_TRUE(wait_ops(writer, 2000)) << writer.error();

  FerryProcess ferry;
  ASSERT_TRUE(ferry.start(cluster_config(source.node(0).address(), target.address())));
  ASSERT_TRUE(wait_until([&] { return all_streaming(ferry, 3); }, seconds(60)))
      << all_status(ferry).dump();
  const std::set<std::string> before = input_names(ferry);

  // The shard of slot 0 fails over under load: its replica (the node ferry replicates)
  // takes over, and prefer_slave moves the input to the old master, now its replica.
  RedisServer* old_master = source.master_of_slot(0);
  std::vector<RedisServer*> replicas = source.replicas_of_slot(0);
  ASSERT_EQ(replicas.size(), 1u);
  RedisServer* promoted = replicas[0];
  ASSERT_TRUE(before.count(promoted->address())) << ferry.log();
  ASSERT_TRUE(wait_ops(writer, 1000)) << writer.error();
  EXPECT_EQ(promoted->cmd({"CLUSTER", "FAILOVER"}).str, "OK");
  ASSERT_TRUE(wait_until([&] { return source.master_of_slot(0) == promoted; }, seconds(30)));
  ASSERT_TRUE(source.wait_ready()) << "cluster not settled after the failover";
  ASSERT_TRUE(
      wait_until([&] { return input_names(ferry).count(old_master->address()) > 0; }, seconds(30)))
      << ferry.log();
  ASSERT_TRUE(wait_ops(writer, 3000)) << writer.error();
  std::set<std::string> expected = before;
  expected.erase(promoted->address());
  expected.insert(old_master->address());
  EXPECT_EQ(input_names(ferry), expected);
  EXPECT_NE(ferry.log().find("moves to " + old_master->address()), std::string::npos);
  EXPECT_NE(ferry.log().find("continues input " + promoted->address()), std::string::npos)
      << ferry.log();

  // And back: the input returns to the node it first followed, whose own checkpoint and
  // cache from the first turn are stale now — it goes on from where the shard got to.
  EXPECT_EQ(old_master->cmd({"CLUSTER", "FAILOVER"}).str, "OK");
  ASSERT_TRUE(wait_until([&] { return source.master_of_slot(0) == old_master; }, seconds(30)));
  ASSERT_TRUE(source.wait_ready()) << "cluster not settled after the failback";
  ASSERT_TRUE(wait_until([&] { return input_names(ferry) == before; }, seconds(30))) << ferry.log();
  ASSERT_TRUE(wait_ops(writer, 3000)) << writer.error();
  writer.stop();
  ASSERT_EQ(writer.error(), "");
  ASSERT_TRUE(wait_until([&] { return all_caught_up(ferry, source, 3); }, seconds(60)))
      << all_status(ferry).dump() << ferry.log();
  std::string detail;
  EXPECT_TRUE(wait_cluster_data(source, target, seconds(30), &detail)) << detail;

  // Only that input moved, and each time it went on from its checkpoint: no full sync.
  for (const json& s : all_status(ferry)) {
    const bool moved = s.value("Input", "") == promoted->address();
    EXPECT_EQ(s["FullSyncs"], moved ? 0 : 1) << s.dump();
  }
  EXPECT_EQ(ferry.stop(), 0) << ferry.output();
}

// A reshard under load: MIGRATE brings keys into one shard's stream as RESTORE-ASKING and
// takes them out of the other's with DEL; applied in the wrong order the key is gone.
// The exporter's input is paused through the reshard: the importer's must hold its keys
// (its status says so) until the exporter's DELs are applied. Inputs replicate replicas, so
// the offsets the barrier reads are a master's and a replica's.
TEST(ClusterSource, ReshardingUnderLoadLosesNothing) {
  RedisCluster source;
  RedisCluster::Options o;
  o.replicas = 1;
  ASSERT_TRUE(source.start(o)) << source.last_output();
  RedisServer target;
  ASSERT_TRUE(target.start());
  ClusterWorkload writer;
  writer.start(source.endpoints(), 13, 20000);
  ASSERT_TRUE(wait_ops(writer, 20000)) << writer.error();

  FerryProcess ferry;
  ASSERT_TRUE(ferry.start(cluster_config(source.node(0).address(), target.address())));
  ASSERT_TRUE(wait_until([&] { return all_streaming(ferry, 3); }, seconds(60)))
      << all_status(ferry).dump();
  RedisServer* from = source.master_of_slot(0);
  RedisServer* to = source.master_of_slot(16383);
  const std::string importer = source.replicas_of_slot(16383)[0]->address();
  HttpResult paused = http("POST", ferry.api() + "/syncer/pause?inputs=" + from->address());
  ASSERT_EQ(paused.status, 200) << paused.body;
  ASSERT_TRUE(source.reshard(*from, *to, 1500)) << source.last_output();
  ASSERT_NE(source.master_of_slot(0), from) << "the reshard moved no slot";
  ASSERT_TRUE(wait_until(
      [&] {
        return input_status(ferry, importer).value("Waiting", "").find("slot migration") !=
               std::string::npos;
      },
      seconds(30)))
      << input_status(ferry, importer).dump();
  HttpResult resumed = http("POST", ferry.api() + "/syncer/resume?inputs=" + from->address());
  ASSERT_EQ(resumed.status, 200) << resumed.body;
  ASSERT_TRUE(wait_ops(writer, 3000)) << writer.error();
  writer.stop();
  ASSERT_EQ(writer.error(), "");
  ASSERT_TRUE(wait_until([&] { return all_caught_up(ferry, source, 3); }, seconds(60)))
      << all_status(ferry).dump() << ferry.log();
  std::string detail;
  EXPECT_TRUE(wait_cluster_data(source, target, seconds(30), &detail)) << detail;
  for (const json& s : all_status(ferry)) {
    EXPECT_EQ(s["CommandsSkipped"], json::object()) << s.dump();
    EXPECT_EQ(s["FullSyncs"], 1) << s.dump();
  }
  EXPECT_EQ(ferry.stop(), 0) << ferry.output();
}

// kill -9 in the middle of a reshard under load: the restart resumes every shard from its
// checkpoint (a batch of imported keys never claims a position past them), nothing lost or
// applied twice (the counters' digests would differ).
TEST(ClusterSource, KillNineDuringAReshardLosesAndDoublesNothing) {
  RedisCluster source;
  ASSERT_TRUE(source.start()) << source.last_output();
  RedisServer target;
  ASSERT_TRUE(target.start());
  ClusterWorkload writer;
  writer.start(source.endpoints(), 14, 20000);
  ASSERT_TRUE(wait_ops(writer, 20000)) << writer.error();

  FerryProcess ferry;
  const std::string config = cluster_config(source.node(0).address(), target.address());
  ASSERT_TRUE(ferry.start(config));
  ASSERT_TRUE(wait_until([&] { return all_streaming(ferry, 3); }, seconds(60)))
      << all_status(ferry).dump();
  RedisServer* from = source.master_of_slot(0);
  RedisServer* to = source.master_of_slot(16383);
  std::atomic<bool> resharded{false};
  std::thread reshard([&] { resharded = source.reshard(*from, *to, 3000); });
  // redis-cli moves the lowest slots first: once slot 0 moved, the reshard is under way.
  bool moving = wait_until([&] { return source.master_of_slot(0) == to; }, seconds(60));
  ferry.kill();
  ASSERT_TRUE(ferry.start(config));
  reshard.join();
  ASSERT_TRUE(moving);
  ASSERT_TRUE(resharded) << source.last_output();
  ASSERT_TRUE(wait_ops(writer, 3000)) << writer.error();
  writer.stop();
  ASSERT_EQ(writer.error(), "");
  ASSERT_TRUE(wait_until([&] { return all_caught_up(ferry, source, 3); }, seconds(60)))
      << all_status(ferry).dump() << ferry.log();
  std::string detail;
  EXPECT_TRUE(wait_cluster_data(source, target, seconds(30), &detail)) << detail;
  for (const json& s : all_status(ferry)) {
    EXPECT_EQ(s["FullSyncs"], 0) << s.dump();  // the restart resumed every shard
  }
  EXPECT_EQ(ferry.stop(), 0) << ferry.output();
}

// A FLUSHALL on one source shard must not empty the other shards' keys on the target: the
// input stops before it, saying why; the others go on.
TEST(ClusterSource, OneShardsFlushallStopsItsInputAndKeepsTheOthersKeys) {
  RedisCluster source;
  ASSERT_TRUE(source.start()) << source.last_output();
  RedisServer target;
  ASSERT_TRUE(target.start());
  ClusterWorkload writer;
  writer.start(source.endpoints(), 15);
  ASSERT_TRUE(wait_ops(writer, 3000)) << writer.error();
  writer.stop();
  FerryProcess ferry;
  ASSERT_TRUE(ferry.start(cluster_config(source.node(0).address(), target.address())));
  ASSERT_TRUE(wait_until([&] { return all_caught_up(ferry, source, 3); }, seconds(60)))
      << all_status(ferry).dump();
  RedisServer* flushed = source.master_of_slot(0);
  target.cmd({"SELECT", "0"});
  const int64_t keys = target.cmd({"DBSIZE"}).integer;
  EXPECT_EQ(flushed->cmd({"FLUSHALL"}).str, "OK");
  ASSERT_TRUE(wait_until(
      [&] {
        return input_status(ferry, flushed->address()).value("Error", "").find("FLUSHALL") !=
               std::string::npos;
      },
      seconds(30)))
      << input_status(ferry, flushed->address()).dump();
  for (const json& s : all_status(ferry)) {
    if (s.value("Input", "") != flushed->address()) {
      EXPECT_EQ(s.value("State", ""), "run") << s.dump();
    }
  }
  // Nothing of the target was emptied (no writes since: its key count is what it was).
  EXPECT_EQ(target.cmd({"DBSIZE"}).integer, keys);
  EXPECT_TRUE(ferry.running());
}

}  // namespace
}  // namespace ferry::test
