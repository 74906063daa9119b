// A source Redis Cluster into a standalone target: one input per shard, live writes
// throughout, a failover inside a shard under load. The oracle is the cluster itself: each
// master's keys (DEBUG DIGEST-VALUE, PEXPIRETIME) against the target's.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "common/bytes.h"
#include "net/cluster_topology.h"
#include "proto/crc16.h"
#include "proto/slot_flush.h"
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

// A source cluster, a standalone target, a writer on the cluster and ferry between them.
struct ClusterSync {
  RedisCluster source;
  RedisServer target;
  ClusterWorkload writer;
  FerryProcess ferry;
  std::string config;

  // Starts the cluster and the target, lets the writer run `preload` operations (so that the
  // RDBs hold data) and starts ferry. Use with ASSERT_NO_FATAL_FAILURE.
  void start(int replicas, uint32_t seed, int keys, uint64_t preload) {
    RedisCluster::Options o;
    o.replicas = replicas;
    ASSERT_TRUE(source.start(o)) << source.last_output();
    ASSERT_TRUE(target.start());
    writer.start(source.endpoints(), seed, keys);
    ASSERT_TRUE(wait_ops(writer, preload)) << writer.error();
    config = cluster_config(source.node(0).address(), target.address());
    ASSERT_TRUE(ferry.start(config));
  }
  // Every input has applied what its node holds (the writer stopped).
  void wait_caught_up() {
    ASSERT_TRUE(wait_until([&] { return all_caught_up(ferry, source, 3); }, seconds(60)))
        << all_status(ferry).dump() << ferry.log();
  }
  void wait_streaming() {
    ASSERT_TRUE(wait_until([&] { return all_streaming(ferry, 3); }, seconds(60)))
        << all_status(ferry).dump();
  }
  // Stops the writer after `more` operations, waits until every input has applied what its
  // node holds and checks the target against the cluster.
  void finish(uint64_t more) {
    ASSERT_TRUE(wait_ops(writer, more)) << writer.error();
    writer.stop();
    ASSERT_EQ(writer.error(), "");
    ASSERT_NO_FATAL_FAILURE(wait_caught_up());
    std::string detail;
    EXPECT_TRUE(wait_cluster_data(source, target, seconds(30), &detail)) << detail;
  }
  bool set_paused(RedisServer& node, bool paused) {
    HttpResult r = http("POST", ferry.api() + (paused ? "/syncer/pause" : "/syncer/resume") +
                                    "?inputs=" + node.address());
    EXPECT_EQ(r.status, 200) << r.body;
    return r.status == 200;
  }
};

TEST(ClusterSource, ThreeShardsIntoOneStandaloneTargetUnderLoad) {
  ClusterSync s;
  ASSERT_NO_FATAL_FAILURE(s.start(1, 11, 3000, 3000));
  ASSERT_TRUE(wait_until([&] { return all_status(s.ferry).size() == 3; }, seconds(30)))
      << s.ferry.log();
  // prefer_slave: each shard's input replicates its replica; each row names its slots.
  std::set<std::string> slots;
  for (const json& row : all_status(s.ferry)) {
    Endpoint ep;
    ASSERT_TRUE(Endpoint::parse(row.value("Input", ""), &ep).is_ok());
    RedisServer* node = s.source.server_at(ep);
    ASSERT_NE(node, nullptr) << row.dump();
    EXPECT_EQ(node->info("replication")["role"], "slave") << row.dump();
    slots.insert(row.value("Slots", ""));
  }
  EXPECT_EQ(slots, (std::set<std::string>{"0-5460", "5461-10922", "10923-16383"}));
  // A shard's master names its input too.
  RedisServer* master = s.source.master_of_slot(0);
  s.set_paused(*master, true);
  s.set_paused(*master, false);

  ASSERT_NO_FATAL_FAILURE(s.finish(5000));
  for (const json& row : all_status(s.ferry)) {
    EXPECT_EQ(row["FullSyncs"], 1) << row.dump();
  }
  EXPECT_EQ(s.ferry.stop(), 0) << s.ferry.output();
}

TEST(ClusterSource, AFailoverMovesOnlyThatShardsInputWithoutAFullSync) {
  ClusterSync s;
  ASSERT_NO_FATAL_FAILURE(s.start(1, 12, 3000, 2000));
  ASSERT_NO_FATAL_FAILURE(s.wait_streaming());
  const std::set<std::string> before = input_names(s.ferry);

  // The shard of slot 0 fails over under load: its replica (the node ferry replicates)
  // takes over, and prefer_slave moves the input to the old master, now its replica.
  RedisServer* old_master = s.source.master_of_slot(0);
  std::vector<RedisServer*> replicas = s.source.replicas_of_slot(0);
  ASSERT_EQ(replicas.size(), 1u);
  RedisServer* promoted = replicas[0];
  ASSERT_TRUE(before.count(promoted->address())) << s.ferry.log();
  ASSERT_TRUE(wait_ops(s.writer, 1000)) << s.writer.error();
  EXPECT_EQ(promoted->cmd({"CLUSTER", "FAILOVER"}).str, "OK");
  ASSERT_TRUE(wait_until([&] { return s.source.master_of_slot(0) == promoted; }, seconds(30)));
  ASSERT_TRUE(s.source.wait_ready()) << "cluster not settled after the failover";
  ASSERT_TRUE(wait_until([&] { return input_names(s.ferry).count(old_master->address()) > 0; },
                         seconds(30)))
      << s.ferry.log();
  ASSERT_TRUE(wait_ops(s.writer, 3000)) << s.writer.error();
  std::set<std::string> expected = before;
  expected.erase(promoted->address());
  expected.insert(old_master->address());
  EXPECT_EQ(input_names(s.ferry), expected);
  EXPECT_NE(s.ferry.log().find("moves to " + old_master->address()), std::string::npos);
  EXPECT_NE(s.ferry.log().find("continues input " + promoted->address()), std::string::npos)
      << s.ferry.log();

  // And back: the input returns to the node it first followed, whose own checkpoint and
  // cache from the first turn are stale now — it goes on from where the shard got to.
  EXPECT_EQ(old_master->cmd({"CLUSTER", "FAILOVER"}).str, "OK");
  ASSERT_TRUE(wait_until([&] { return s.source.master_of_slot(0) == old_master; }, seconds(30)));
  ASSERT_TRUE(s.source.wait_ready()) << "cluster not settled after the failback";
  ASSERT_TRUE(wait_until([&] { return input_names(s.ferry) == before; }, seconds(30)))
      << s.ferry.log();
  ASSERT_NO_FATAL_FAILURE(s.finish(3000));

  // Only that input moved, and each time it went on from its checkpoint: no full sync.
  for (const json& row : all_status(s.ferry)) {
    const bool moved = row.value("Input", "") == promoted->address();
    EXPECT_EQ(row["FullSyncs"], moved ? 0 : 1) << row.dump();
  }
  EXPECT_EQ(s.ferry.stop(), 0) << s.ferry.output();
}

// A reshard under load: MIGRATE brings keys into one shard's stream as RESTORE-ASKING and
// takes them out of the other's with DEL; applied in the wrong order the key is gone.
// The exporter's input is paused through the reshard: the importer's must hold its keys
// (its status says so) until the exporter's DELs are applied. Inputs replicate replicas, so
// the offsets the barrier reads are a master's and a replica's.
TEST(ClusterSource, ReshardingUnderLoadLosesNothing) {
  ClusterSync s;
  ASSERT_NO_FATAL_FAILURE(s.start(1, 13, 20000, 20000));
  ASSERT_NO_FATAL_FAILURE(s.wait_streaming());
  RedisServer* from = s.source.master_of_slot(0);
  RedisServer* to = s.source.master_of_slot(16383);
  const std::string importer = s.source.replicas_of_slot(16383)[0]->address();
  ASSERT_TRUE(s.set_paused(*from, true));
  ASSERT_TRUE(s.source.reshard(*from, *to, 1500)) << s.source.last_output();
  ASSERT_NE(s.source.master_of_slot(0), from) << "the reshard moved no slot";
  ASSERT_TRUE(wait_until(
      [&] {
        return input_status(s.ferry, importer).value("Waiting", "").find("slot migration") !=
               std::string::npos;
      },
      seconds(30)))
      << input_status(s.ferry, importer).dump();
  ASSERT_TRUE(s.set_paused(*from, false));
  ASSERT_NO_FATAL_FAILURE(s.finish(3000));
  for (const json& row : all_status(s.ferry)) {
    EXPECT_EQ(row["CommandsSkipped"], json::object()) << row.dump();
    EXPECT_EQ(row["FullSyncs"], 1) << row.dump();
  }
  EXPECT_EQ(s.ferry.stop(), 0) << s.ferry.output();
}

// kill -9 in the middle of a reshard under load: the restart resumes every shard from its
// checkpoint (a batch of imported keys never claims a position past them), nothing lost or
// applied twice (the counters' digests would differ).
TEST(ClusterSource, KillNineDuringAReshardLosesAndDoublesNothing) {
  ClusterSync s;
  ASSERT_NO_FATAL_FAILURE(s.start(0, 14, 20000, 20000));
  ASSERT_NO_FATAL_FAILURE(s.wait_streaming());
  RedisServer* from = s.source.master_of_slot(0);
  RedisServer* to = s.source.master_of_slot(16383);
  std::atomic<bool> resharded{false};
  std::thread reshard([&] { resharded = s.source.reshard(*from, *to, 3000); });
  // redis-cli moves the lowest slots first: once slot 0 moved, the reshard is under way.
  bool moving = wait_until([&] { return s.source.master_of_slot(0) == to; }, seconds(60));
  s.ferry.kill();
  ASSERT_TRUE(s.ferry.start(s.config));
  reshard.join();
  ASSERT_TRUE(moving);
  ASSERT_TRUE(resharded) << s.source.last_output();
  ASSERT_NO_FATAL_FAILURE(s.finish(3000));
  for (const json& row : all_status(s.ferry)) {
    EXPECT_EQ(row["FullSyncs"], 0) << row.dump();  // the restart resumed every shard
  }
  EXPECT_EQ(s.ferry.stop(), 0) << s.ferry.output();
}

// A FLUSHALL on one source shard, under load, removes on the target the keys of that shard's
// slots only: the other shards' keys stay, and the input goes on with the writes after it.
// (Replayed as it is it would empty every shard's keys; left out, the shard's old keys would
// stay: either way the check below fails.)
TEST(ClusterSource, OneShardsFlushallUnderLoadRemovesOnlyItsSlotsKeys) {
  ClusterSync s;
  ASSERT_NO_FATAL_FAILURE(s.start(0, 15, 3000, 3000));
  ASSERT_NO_FATAL_FAILURE(s.wait_streaming());
  RedisServer* flushed = s.source.master_of_slot(0);
  ASSERT_TRUE(wait_ops(s.writer, 1000)) << s.writer.error();
  EXPECT_EQ(flushed->cmd({"FLUSHALL"}).str, "OK");
  ASSERT_NO_FATAL_FAILURE(s.finish(2000));
  EXPECT_NE(s.ferry.log().find("FLUSHALL: the keys of the shard's slots 0-5460 are removed"),
            std::string::npos)
      << s.ferry.log();
  for (const json& row : all_status(s.ferry)) {
    EXPECT_EQ(row.value("State", ""), "run") << row.dump();
    EXPECT_EQ(row["FullSyncs"], 1) << row.dump();
  }
  EXPECT_EQ(s.ferry.stop(), 0) << s.ferry.output();
}

// One shard syncs again (its backlog no longer holds where ferry stopped: FULLRESYNC) after
// ferry applied its earlier history: the keys of its slots that its new RDB lacks must not
// stay on the target, and the other shards go on from their checkpoints.
TEST(ClusterSource, AShardThatSyncsAgainRemovesTheKeysItsNewRdbLacks) {
  ClusterSync s;
  ASSERT_NO_FATAL_FAILURE(s.start(0, 16, 3000, 3000));
  s.writer.stop();
  ASSERT_NO_FATAL_FAILURE(s.wait_caught_up());
  ASSERT_EQ(s.ferry.stop(), 0) << s.ferry.output();
  // While ferry is away the shard of slot 0 empties and writes more than its backlog holds.
  RedisServer* shard = s.source.master_of_slot(0);
  ASSERT_TRUE(empty_past_backlog(*shard));
  ASSERT_TRUE(s.ferry.start(s.config));
  ASSERT_NO_FATAL_FAILURE(s.wait_caught_up());
  std::string detail;
  EXPECT_TRUE(wait_cluster_data(s.source, s.target, seconds(30), &detail)) << detail;
  EXPECT_NE(s.ferry.log().find("a new full sync: the keys of the shard's slots 0-5460 are removed"),
            std::string::npos)
      << s.ferry.log();
  for (const json& row : all_status(s.ferry)) {
    const bool again = row.value("Input", "") == shard->address();
    EXPECT_EQ(row["FullSyncs"], again ? 1 : 0) << row.dump();
  }
  EXPECT_EQ(s.ferry.stop(), 0) << s.ferry.output();
}

// fullsync with flushdb=yes for one input of a source cluster: the target loses that shard's
// keys (its slots'), keeps the others', and gets the shard's keys back from the new RDB.
TEST(ClusterSource, AForcedFullSyncOfOneShardWithFlushdbEmptiesOnlyItsSlots) {
  ClusterSync s;
  ASSERT_NO_FATAL_FAILURE(s.start(0, 17, 3000, 3000));
  s.writer.stop();
  ASSERT_NO_FATAL_FAILURE(s.wait_caught_up());
  // A key of the shard's slots that only the target has: the flush must take it.
  RedisServer* shard = s.source.master_of_slot(0);
  const std::string stray = "{" + std::string(slot_tag(7)) + "}stray";
  s.target.cmd({"SELECT", "0"});
  ASSERT_EQ(s.target.cmd({"SET", stray, "x"}).str, "OK");
  HttpResult r =
      http("POST", s.ferry.api() + "/syncer/fullsync?inputs=" + shard->address() + "&flushdb=yes");
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_NO_FATAL_FAILURE(s.wait_caught_up());
  std::string detail;
  EXPECT_TRUE(wait_cluster_data(s.source, s.target, seconds(30), &detail)) << detail;
  EXPECT_EQ(s.target.cmd({"EXISTS", stray}).integer, 0);
  EXPECT_EQ(s.ferry.stop(), 0) << s.ferry.output();
}

// The standalone form of a shard's flush computes slots in Lua as Redis does (CRC16, hash
// tags: the first '{', the first '}' after it, an empty tag hashes the whole key): it
// removes exactly the keys of the listed slots and keeps ferry's checkpoints.
TEST(ClusterSource, TheStandaloneSlotFlushScriptComputesSlotsAsRedis) {
  RedisServer target;
  ASSERT_TRUE(target.start());
  std::vector<std::string> keys = {"{}",
                                   "{}x",
                                   "{a",
                                   "a{b}c{d}",
                                   "{{a}}",
                                   "a}b{c}",
                                   "plain",
                                   "{user1}:x",
                                   "{user1}:y",
                                   std::string("\xff\x00{\x01}", 5),
                                   std::string("nul\0key", 7)};
  for (int i = 0; i < 300; i++)
    keys.push_back("k" + std::to_string(i));
  std::set<int> slots;
  for (size_t i = 0; i < keys.size(); i += 2)
    slots.insert(key_slot(keys[i]));
  std::vector<SlotRange> ranges;
  for (int s : slots)
    ranges.push_back(SlotRange{s, s});
  const std::string ckpt = "ferry-checkpoint:127.0.0.1:1";
  ASSERT_EQ(target.cmd({"HSET", ckpt, "offset", "1"}).integer, 1);
  for (const std::string& k : keys)
    ASSERT_EQ(target.cmd({"SET", k, "v"}).str, "OK");
  const std::vector<std::string> flush = slot_flush::scan_command("FLUSHALL", slots_text(ranges));
  Reply r = target.cmd(flush);
  ASSERT_EQ(r.type, Reply::Type::kInteger) << r.str;
  int64_t want = 0;
  for (const std::string& k : keys) {
    const bool gone = slots.count(key_slot(k)) > 0;
    want += gone ? 1 : 0;
    EXPECT_EQ(target.cmd({"EXISTS", k}).integer, gone ? 0 : 1) << printable(k);
  }
  EXPECT_EQ(r.integer, want);
  EXPECT_EQ(target.cmd({"EXISTS", ckpt}).integer, 1);
  EXPECT_EQ(target.cmd(flush).integer, 0);  // run again: nothing more to remove
}

}  // namespace
}  // namespace ferry::test
