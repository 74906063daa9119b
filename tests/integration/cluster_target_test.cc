// Into a Redis Cluster target: commands routed to the master of their keys' slot, those
// whose keys span slots split per slot (DEL, UNLINK, MSET, MSETNX) or skipped and recorded,
// keyless ones (FLUSHALL) sent to every master, source transactions across slots written
// without their framing. The oracle is the source against the target's masters, each asked
// for the keys it holds (DEBUG DIGEST-VALUE, PEXPIRETIME).
#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <thread>

#include "proto/crc16.h"
#include "tests/support/cluster_workload.h"
#include "tests/support/ferry_process.h"
#include "tests/support/load.h"
#include "tests/support/redis_cluster.h"
#include "tests/support/sync_checks.h"

namespace ferry::test {
namespace {

using std::chrono::seconds;

// A key MIGRATE moved between target masters has its expiry moved on by the transfer (the TTL
// travels as time left); a few milliseconds on loopback.
constexpr int64_t kMigrateTtlSlackMs = 1000;

std::string target_cluster_config(const std::string& input, const std::string& input_type,
                                  const std::string& target) {
  return "server:\n  listen: 127.0.0.1:" + std::to_string(free_port()) +
         "\n  gracefullStopTimeout: 20s\n  checkRedisTypologyTicker: 1s\n"
         "input:\n  redis:\n    addresses: [" +
         input + "]\n    type: " + input_type + "\noutput:\n  redis:\n    addresses: [" + target +
         "]\n    type: cluster\n  replay:\n    updateCheckpointTicker: 100ms\n";
}

std::string key(const char* prefix, uint32_t i) {
  return std::string(prefix) + std::to_string(i);
}

// One pipelined group of a standalone source's writes: per-key writes of every type, and
// commands whose keys span slots — DEL, UNLINK, MSET, MSETNX of keys chosen at random, a
// MULTI/EXEC over two slots and one inside a hash tag — and a PUBLISH.
std::vector<std::vector<std::string>> mixed_group(std::mt19937& rng, uint32_t round) {
  std::vector<std::vector<std::string>> out;
  auto any = [&](uint32_t n) { return static_cast<uint32_t>(rng() % n); };
  for (int i = 0; i < 40; i++) {
    out.push_back({"INCR", key("c:", any(500))});
    out.push_back({"RPUSH", key("l:", any(300)), std::to_string(round)});
    out.push_back({"SET", key("s:", any(500)), "v" + std::to_string(rng()), "EX", "3600"});
    out.push_back({"HSET", key("h:", any(300)), key("f", any(20)), std::to_string(round)});
    out.push_back({"SADD", key("t:", any(300)), key("m", any(50))});
    out.push_back({"ZADD", key("z:", any(300)), std::to_string(any(1000)), key("m", any(50))});
    out.push_back(
        {"MSET", key("m:", any(500)), "a", key("m:", any(500)), "b", key("m:", any(500)), "c"});
    out.push_back({"DEL", key("s:", any(500)), key("m:", any(500)), key("c:", any(500))});
    out.push_back({"UNLINK", key("l:", any(300)), key("h:", any(300))});
  }
  out.push_back({"MSETNX", key("n:", round * 3), "x", key("n:", round * 3 + 1), "y",
                 key("n:", round * 3 + 2), "z"});
  out.push_back({"MULTI"});
  out.push_back({"INCR", key("c:", any(500))});
  out.push_back({"INCR", key("c:", any(500))});
  out.push_back({"EXEC"});
  out.push_back({"MULTI"});
  out.push_back({"INCR", "{acct}:a"});
  out.push_back({"DECR", "{acct}:b"});
  out.push_back({"EXEC"});
  out.push_back({"PUBLISH", "news", "r" + std::to_string(round)});
  return out;
}

struct StandaloneIntoCluster {
  RedisServer source;
  RedisCluster target;
  FerryProcess ferry;

  void start(int replicas = 0) {
    ASSERT_TRUE(source.start());
    RedisCluster::Options o;
    o.replicas = replicas;
    ASSERT_TRUE(target.start(o)) << target.last_output();
    // Keys the full sync carries: small and big of every type, hash-tagged ones, TTLs.
    std::vector<std::vector<std::string>> preload;
    for (uint32_t i = 0; i < 2000; i++) {
      preload.push_back({"SET", key("s:", i), "v", "PX", std::to_string(3600000 + i)});
      preload.push_back({"RPUSH", key("l:", i % 300), "p"});
      preload.push_back({"HSET", key("h:", i % 300), key("f", i), "v"});
      preload.push_back({"ZADD", "bigz", std::to_string(i), key("m", i)});
      preload.push_back({"SET", "{tag}:" + std::to_string(i), "t"});
    }
    ASSERT_EQ(pipeline(source.endpoint(), preload), 0);
    ASSERT_TRUE(ferry.start(
        target_cluster_config(source.address(), "standalone", target.node(0).address())));
    ASSERT_TRUE(wait_until(
        [&] {
          json st = input_status(ferry);
          return st.is_object() && st.value("AppliedPhase", "") == "stream";
        },
        seconds(60)))
        << ferry.log();
  }
  // ttl_slack_ms: see wait_same_keys (a resharded target).
  void expect_equal(int64_t ttl_slack_ms = 0) {
    ASSERT_TRUE(wait_applied(ferry, source, seconds(60)))
        << input_status(ferry).dump() << ferry.log();
    std::string detail;
    EXPECT_TRUE(wait_same_keys(
        {&source}, [&] { return target.masters(); }, seconds(30), &detail, ttl_slack_ms))
        << detail << ferry.log();
  }
};

TEST(ClusterTarget, StandaloneIntoThreeMastersWithCrossSlotCommandsUnderPipelinedLoad) {
  StandaloneIntoCluster s;
  ASSERT_NO_FATAL_FAILURE(s.start());
  std::mt19937 rng(7);
  for (uint32_t round = 0; round < 30; round++) {
    std::string err;
    ASSERT_EQ(pipeline(s.source.endpoint(), mixed_group(rng, round), 500, &err), 0) << err;
  }
  ASSERT_NO_FATAL_FAILURE(s.expect_equal());
  json st = input_status(s.ferry);
  EXPECT_EQ(st["CommandsSkipped"], json::object()) << st.dump();
  EXPECT_GE(st.value("TransactionsSplit", uint64_t{0}), 1u) << st.dump();
  // Every key is where the target cluster serves it: each master holds keys (3 masters).
  for (RedisServer* m : s.target.masters())
    EXPECT_GT(m->cmd({"DBSIZE"}).integer, 100) << m->address();

  // An SMOVE across slots is written as its effect (SREM there, SADD here); the second one
  // empties the source set, which goes.
  ASSERT_NE(key_slot("set:a"), key_slot("set:b"));
  s.source.cmd({"SADD", "set:a", "m1", "m2"});
  s.source.cmd({"SMOVE", "set:a", "set:b", "m1"});
  s.source.cmd({"SMOVE", "set:a", "set:b", "m2"});
  ASSERT_TRUE(wait_applied(s.ferry, s.source, seconds(30)));
  RedisServer* holder = s.target.master_of_key("set:b");
  ASSERT_NE(holder, nullptr);
  EXPECT_EQ(holder->cmd({"SCARD", "set:b"}).integer, 2);
  EXPECT_EQ(s.target.master_of_key("set:a")->cmd({"EXISTS", "set:a"}).integer, 0);

  // A RENAME across slots cannot be written as such yet: skipped and recorded, never sent.
  std::string from = "s:1", to = "s:2";
  ASSERT_NE(key_slot(from), key_slot(to));
  s.source.cmd({"SET", from, "moved"});
  s.source.cmd({"RENAME", from, to});
  s.source.cmd({"RENAME", "{tag}:1", "{tag}:renamed"});  // one slot: applied
  ASSERT_TRUE(wait_applied(s.ferry, s.source, seconds(30)));
  st = input_status(s.ferry);
  EXPECT_EQ(st["CommandsSkipped"].value("cross_slot", 0), 1) << st.dump();
  bool recorded = false;
  for (const json& line : read_json_lines(st.value("SkipRecord", ""))) {
    recorded |= line.value("command", "") == "RENAME" && line.value("reason", "") == "cross_slot";
  }
  EXPECT_TRUE(recorded);
  RedisServer* owner = s.target.master_of_key("{tag}:renamed");
  ASSERT_NE(owner, nullptr);
  EXPECT_EQ(owner->cmd({"GET", "{tag}:renamed"}).str, "t");

  // A standalone source's FLUSHALL empties every master (ferry's checkpoint stays).
  s.source.cmd({"FLUSHALL"});
  s.source.cmd({"SET", "after", "flush"});
  ASSERT_NO_FATAL_FAILURE(s.expect_equal());
  EXPECT_EQ(s.ferry.stop(), 0) << s.ferry.output();
}

// Writes whose effect does not change when a suffix of them runs again (each sets what it
// touches to a value of its own), for what is at-least-once today: SET with an absolute
// expiry, HSET, SADD/SREM, ZADD, MSET, DEL.
std::vector<std::vector<std::string>> overwrite_group(std::mt19937& rng, uint32_t round) {
  std::vector<std::vector<std::string>> out;
  auto any = [&](uint32_t n) { return static_cast<uint32_t>(rng() % n); };
  const std::string expire_at = std::to_string(4102444800000ull + any(100000));  // year 2100
  for (int i = 0; i < 50; i++) {
    out.push_back({"SET", key("s:", any(2000)), "v" + std::to_string(round), "PXAT", expire_at});
    out.push_back({"HSET", key("h:", any(500)), key("f", any(20)), std::to_string(round)});
    out.push_back({"SADD", key("t:", any(500)), key("m", any(50))});
    out.push_back({"SREM", key("t:", any(500)), key("m", any(50))});
    out.push_back({"ZADD", key("z:", any(500)), std::to_string(round), key("m", any(50))});
    out.push_back({"MSET", key("m:", any(500)), "a", key("m:", any(500)), std::to_string(round)});
    out.push_back({"DEL", key("s:", any(2000)), key("m:", any(500))});
  }
  return out;
}

// Pipelined groups of writes (`make(rng, round)`: overwrite_group or mixed_group) into a
// standalone source on a thread of its own, one group every `pace` at most. The writes run on
// while a test kills ferry: the oracle is what the source holds at the end.
struct Load {
  std::atomic<bool> stop{false};
  std::atomic<uint32_t> rounds{0};
  std::string error;
  std::thread thread;

  Load(const Endpoint& source, uint32_t seed,
       std::vector<std::vector<std::string>> (*make)(std::mt19937&, uint32_t),
       std::chrono::milliseconds pace = std::chrono::milliseconds(0)) {
    thread = std::thread([this, source, seed, make, pace] {
      std::mt19937 rng(seed);
      while (!stop) {
        if (pipeline(source, make(rng, rounds), 500, &error) != 0) return;
        rounds++;
        // A rate, not a wait: the load stays within what ferry applies beside six servers.
        if (pace.count() > 0) std::this_thread::sleep_for(pace);
      }
    });
  }
  ~Load() { finish(); }
  bool wait_rounds(uint32_t more) {
    uint32_t want = rounds + more;
    return wait_until([&] { return rounds >= want || !error.empty(); }, seconds(60)) &&
           error.empty();
  }
  void finish() {
    stop = true;
    if (thread.joinable()) thread.join();
  }
};

// About 20k commands a second of mixed_group() (counters, lists, cross-slot commands).
constexpr std::chrono::milliseconds kCounterPace(20);

TEST(ClusterTarget, ReshardingTheTargetUnderLoadLosesNothing) {
  StandaloneIntoCluster s;
  ASSERT_NO_FATAL_FAILURE(s.start());
  Load load(s.source.endpoint(), 9, overwrite_group);
  auto wait_rounds = [&](uint32_t more) { return load.wait_rounds(more); };
  ASSERT_TRUE(wait_rounds(20));
  std::vector<RedisServer*> masters = s.target.masters();
  ASSERT_EQ(masters.size(), 3u);
  ASSERT_TRUE(s.target.reshard(*masters[0], *masters[1], 300)) << s.target.last_output();
  ASSERT_TRUE(wait_rounds(20));
  ASSERT_TRUE(s.target.reshard(*masters[1], *masters[2], 200)) << s.target.last_output();
  ASSERT_TRUE(wait_rounds(20));
  load.finish();
  ASSERT_EQ(load.error, "");
  ASSERT_NO_FATAL_FAILURE(s.expect_equal(kMigrateTtlSlackMs));
  EXPECT_NE(s.ferry.log().find("the target cluster's slots moved"), std::string::npos);
  EXPECT_EQ(s.ferry.stop(), 0) << s.ferry.output();
}

TEST(ClusterTarget, TargetMasterFailoversUnderLoadLoseNothing) {
  StandaloneIntoCluster s;
  ASSERT_NO_FATAL_FAILURE(s.start(1));
  Load load(s.source.endpoint(), 10, overwrite_group);
  ASSERT_TRUE(load.wait_rounds(20));
  // A coordinated failover: the replica of slot 0's master takes over.
  std::vector<RedisServer*> replicas = s.target.replicas_of_slot(0);
  ASSERT_EQ(replicas.size(), 1u);
  RedisServer* promoted = replicas[0];
  EXPECT_EQ(promoted->cmd({"CLUSTER", "FAILOVER"}).str, "OK");
  ASSERT_TRUE(wait_until([&] { return s.target.master_of_slot(0) == promoted; }, seconds(30)));
  ASSERT_TRUE(s.target.wait_ready()) << "cluster not settled after the failover";
  ASSERT_TRUE(load.wait_rounds(20));
  // A crash: slot 16383's master is killed; its replica takes over once the cluster sees it
  // fail, and the old master comes back as a replica.
  RedisServer* crashed = s.target.master_of_slot(16383);
  ASSERT_NE(crashed, nullptr);
  replicas = s.target.replicas_of_slot(16383);
  ASSERT_EQ(replicas.size(), 1u);
  crashed->stop();
  ASSERT_TRUE(
      wait_until([&] { return s.target.master_of_slot(16383) == replicas[0]; }, seconds(60)));
  ASSERT_TRUE(crashed->restart());
  ASSERT_TRUE(s.target.wait_ready(seconds(60))) << "cluster not settled after the crash";
  ASSERT_TRUE(load.wait_rounds(20));
  load.finish();
  ASSERT_EQ(load.error, "");
  ASSERT_NO_FATAL_FAILURE(s.expect_equal());
  EXPECT_NE(s.ferry.log().find("the target cluster's slots moved"), std::string::npos);
  EXPECT_EQ(s.ferry.stop(), 0) << s.ferry.output();
}

// The checkpoint covers only what the masters' replicas hold: a failover cannot take back
// writes behind it.
TEST(ClusterTarget, TheCheckpointWaitsForTheMastersReplicas) {
  StandaloneIntoCluster s;
  ASSERT_NO_FATAL_FAILURE(s.start(1));
  const std::string ckpt_key = "ferry-checkpoint:{ferry}:" + s.source.address();
  RedisServer* holder = s.target.master_of_key(ckpt_key);
  ASSERT_NE(holder, nullptr);
  auto checkpoint_offset = [&] {  // 0 until the checkpoint is in the stream
    Reply r = holder->cmd({"HMGET", ckpt_key, "phase", "offset"});
    if (r.elements.size() != 2 || r.elements[0].str != "stream") return uint64_t{0};
    return static_cast<uint64_t>(std::stoull(r.elements[1].str));
  };
  ASSERT_TRUE(wait_applied(s.ferry, s.source, seconds(30)));
  const uint64_t before = source_offset(s.source);
  ASSERT_TRUE(wait_until([&] { return checkpoint_offset() >= before; }, seconds(30)));
  // One master's replica stops taking its stream: ferry applies, but the checkpoint stays.
  RedisServer* key_master = s.target.master_of_key("s:1");
  std::vector<RedisServer*> replicas = s.target.replicas_of_slot(key_slot("s:1"));
  ASSERT_EQ(replicas.size(), 1u);
  replicas[0]->freeze();
  for (int i = 0; i < 100; i++)
    s.source.cmd({"SET", "s:1", std::to_string(i)});
  ASSERT_TRUE(wait_applied(s.ferry, s.source, seconds(30)));
  EXPECT_EQ(key_master->cmd({"GET", "s:1"}).str, "99");
  const uint64_t applied = source_offset(s.source);
  // Ten checkpoint periods (100 ms) pass without the checkpoint reaching what was applied.
  EXPECT_FALSE(wait_until([&] { return checkpoint_offset() >= applied; }, seconds(1)));
  replicas[0]->unfreeze();
  EXPECT_TRUE(wait_until([&] { return checkpoint_offset() >= applied; }, seconds(30)));
  EXPECT_EQ(s.ferry.stop(), 0) << s.ferry.output();
}

// Exactly-once into a cluster: each master's batch commits with its slots' checkpoints, and
// a restart leaves out what they say is applied. Killed inside the full sync and then
// wherever the load has got to, counters and lists end equal — nothing doubled, nothing lost.
TEST(ClusterTarget, KillNineRepeatedlyUnderCounterLoadAppliesEverythingOnce) {
  RedisServer source;
  RedisCluster target;
  ASSERT_TRUE(source.start());
  RedisCluster::Options o;
  o.replicas = 1;
  ASSERT_TRUE(target.start(o)) << target.last_output();
  source.cmd({"DEBUG", "POPULATE", "200000", "base", "32"});
  std::unique_ptr<Load> load;
  FerryProcess ferry;
  const std::string config =
      target_cluster_config(source.address(), "standalone", target.node(0).address());
  // The first kill lands inside the full sync: one master (not the checkpoint's) holds its
  // writes, so the RDB cannot be applied whole, while the others take their keys — and with
  // them their slots' checkpoints, which the restart must honour.
  const std::string ckpt_key = "ferry-checkpoint:{ferry}:" + source.address();
  RedisServer* paused = nullptr;
  RedisServer* running = nullptr;
  for (RedisServer* m : target.masters()) {
    if (m == target.master_of_key(ckpt_key)) {
      running = m;
    } else if (!paused) {
      paused = m;
    }
  }
  ASSERT_TRUE(paused && running);
  source.cmd({"CONFIG", "SET", "rdb-key-save-delay", "1"});  // seconds of RDB, time to pause
  ASSERT_TRUE(ferry.start(config));
  ASSERT_TRUE(ferry.wait_for_log("syncing into", seconds(60))) << ferry.log();
  paused->cmd({"CLIENT", "PAUSE", "60000", "WRITE"});
  ASSERT_TRUE(ferry.wait_for_log("the whole RDB is in the local cache", seconds(60)))
      << ferry.log();
  source.cmd({"CONFIG", "SET", "rdb-key-save-delay", "0"});
  load = std::make_unique<Load>(source.endpoint(), 21, mixed_group, kCounterPace);
  ASSERT_TRUE(wait_until([&] { return running->cmd({"DBSIZE"}).integer > 20000; }, seconds(60)))
      << ferry.log();
  ferry.kill();
  paused->cmd({"CLIENT", "UNPAUSE"});
  ASSERT_TRUE(ferry.start(config));
  // Each kill lands with commands applied past the checkpoint: a frozen replica holds the
  // checkpoint back (it covers only what replicas confirmed) while ferry applies on.
  RedisServer* holder = target.master_of_key(ckpt_key);
  auto checkpoint_offset = [&] {  // 0 until the checkpoint is in the stream
    Reply r = holder->cmd({"HMGET", ckpt_key, "phase", "offset"});
    if (r.elements.size() != 2 || r.elements[0].str != "stream") return uint64_t{0};
    return static_cast<uint64_t>(std::stoull(r.elements[1].str));
  };
  std::mt19937 rng(5);
  for (int i = 0; i < 5; i++) {
    // The checkpoint has moved on since the last restart: the replay stays short.
    const uint64_t now = source_offset(source);
    ASSERT_TRUE(wait_until([&] { return checkpoint_offset() >= now; }, seconds(60))) << ferry.log();
    RedisServer* frozen = target.replicas_of_slot(static_cast<int>(rng() % kClusterSlots))[0];
    frozen->freeze();
    ASSERT_TRUE(load->wait_rounds(3 + rng() % 10));
    const uint64_t written = source_offset(source);
    ASSERT_TRUE(wait_until(
        [&] {
          json st = input_status(ferry);
          return st.is_object() && st.value("AppliedPhase", "") == "stream" &&
                 st.value("AppliedOffset", uint64_t{0}) >= written;
        },
        seconds(60)))
        << ferry.log();
    ferry.kill();
    frozen->unfreeze();
    ASSERT_TRUE(ferry.start(config));
  }
  // A FLUSHALL under load, and a kill soon after it: what follows it waited for the
  // checkpoint to pass it, so the restart does not run it again over later writes.
  ASSERT_TRUE(load->wait_rounds(5));
  source.cmd({"FLUSHALL"});
  ASSERT_TRUE(load->wait_rounds(3));
  ferry.kill();
  ASSERT_TRUE(ferry.start(config));
  ASSERT_TRUE(load->wait_rounds(5));
  load->finish();
  ASSERT_EQ(load->error, "");
  ASSERT_TRUE(wait_applied(ferry, source, seconds(120))) << ferry.log();
  std::string detail;
  EXPECT_TRUE(wait_same_keys(
      {&source}, [&] { return target.masters(); }, seconds(30), &detail))
      << detail << ferry.log();
  EXPECT_EQ(source.info_int("stats", "sync_full"), 1) << ferry.log();
  EXPECT_NE(ferry.log().find("resuming the full sync at the checkpoint"), std::string::npos)
      << ferry.log();
  EXPECT_EQ(ferry.stop(), 0) << ferry.output();
}

// Resharding the target under counter load: every restart for the new slot map resumes
// from the slot checkpoints, so counters end equal too.
TEST(ClusterTarget, ReshardingTheTargetUnderCounterLoadAppliesEverythingOnce) {
  StandaloneIntoCluster s;
  ASSERT_NO_FATAL_FAILURE(s.start());
  Load load(s.source.endpoint(), 22, mixed_group, kCounterPace);
  ASSERT_TRUE(load.wait_rounds(10));
  std::vector<RedisServer*> masters = s.target.masters();
  ASSERT_EQ(masters.size(), 3u);
  ASSERT_TRUE(s.target.reshard(*masters[0], *masters[2], 300)) << s.target.last_output();
  ASSERT_TRUE(load.wait_rounds(10));
  ASSERT_TRUE(s.target.reshard(*masters[2], *masters[1], 500)) << s.target.last_output();
  ASSERT_TRUE(load.wait_rounds(10));
  load.finish();
  ASSERT_EQ(load.error, "");
  ASSERT_NO_FATAL_FAILURE(s.expect_equal(kMigrateTtlSlackMs));
  EXPECT_NE(s.ferry.log().find("the target cluster's slots moved"), std::string::npos);
  EXPECT_EQ(s.ferry.stop(), 0) << s.ferry.output();
}

TEST(ClusterTarget, ASourceDbOtherThanZeroIsAStartUpErrorUnlessMapped) {
  RedisServer source;
  RedisCluster target;
  ASSERT_TRUE(source.start());
  ASSERT_TRUE(target.start()) << target.last_output();
  source.cmd({"SELECT", "3"});
  source.cmd({"SET", "k", "v"});
  source.cmd({"SELECT", "0"});
  const std::string base =
      target_cluster_config(source.address(), "standalone", target.node(0).address());
  {
    FerryProcess ferry;
    ASSERT_TRUE(ferry.start(base));
    EXPECT_NE(ferry.wait_exit(seconds(30)), 0);
    EXPECT_NE((ferry.log() + ferry.output()).find("has keys in db 3"), std::string::npos)
        << ferry.output();
  }
  FerryProcess ferry;
  ASSERT_TRUE(ferry.start(base + "    targetDb: 0\n"));
  ASSERT_TRUE(wait_applied(ferry, source, seconds(60))) << ferry.log();
  RedisServer* owner = target.master_of_key("k");
  ASSERT_NE(owner, nullptr);
  EXPECT_EQ(owner->cmd({"GET", "k"}).str, "v");
  EXPECT_EQ(ferry.stop(), 0) << ferry.output();
}

// Three source shards into four target masters (a source shard's slots span two of them),
// a writer on the source and ferry between them.
struct ClusterIntoCluster {
  RedisCluster source;
  RedisCluster target;
  ClusterWorkload writer;
  FerryProcess ferry;
  std::string config;

  // Use with ASSERT_NO_FATAL_FAILURE.
  void start(uint32_t seed) {
    ASSERT_TRUE(source.start()) << source.last_output();
    RedisCluster::Options four;
    four.masters = 4;
    ASSERT_TRUE(target.start(four)) << target.last_output();
    writer.start(source.endpoints(), seed, 3000);
    ASSERT_TRUE(wait_ops(writer, 3000)) << writer.error();
    config = target_cluster_config(source.node(0).address(), "cluster", target.node(0).address());
    ASSERT_TRUE(ferry.start(config));
  }
  // Every source master's offset applied (the writer stopped).
  void wait_applied_all() {
    for (RedisServer* m : source.masters()) {
      ASSERT_TRUE(wait_applied(ferry, *m, seconds(60))) << ferry.log();
    }
  }
  void stop_writer() {
    writer.stop();
    ASSERT_EQ(writer.error(), "");
  }
};

TEST(ClusterTarget, ClusterIntoClusterUnderLoadWithAShardsFlushall) {
  ClusterIntoCluster s;
  ASSERT_NO_FATAL_FAILURE(s.start(21));
  ASSERT_TRUE(wait_ops(s.writer, 5000)) << s.writer.error();
  // One source shard's FLUSHALL: on the target only its slots' keys go, from each master
  // serving some of them, with the writes before and after it in order.
  EXPECT_EQ(s.source.master_of_slot(0)->cmd({"FLUSHALL"}).str, "OK");
  ASSERT_TRUE(wait_ops(s.writer, 3000)) << s.writer.error();
  ASSERT_NO_FATAL_FAILURE(s.stop_writer());
  ASSERT_NO_FATAL_FAILURE(s.wait_applied_all());
  std::string detail;
  EXPECT_TRUE(wait_same_keys(
      s.source.masters(), [&] { return s.target.masters(); }, seconds(30), &detail))
      << detail;
  EXPECT_EQ(s.ferry.stop(), 0) << s.ferry.output();
}

// A source shard syncs again (FULLRESYNC: its backlog lost where ferry stopped) into a
// cluster target with slot transactions: the removal of its slots' keys goes first on each
// target master, before the new RDB's keys, and the other shards resume from their slots.
TEST(ClusterTarget, AShardThatSyncsAgainIntoAClusterRemovesItsOldKeys) {
  ClusterIntoCluster s;
  ASSERT_NO_FATAL_FAILURE(s.start(22));
  ASSERT_TRUE(wait_ops(s.writer, 2000)) << s.writer.error();
  ASSERT_NO_FATAL_FAILURE(s.stop_writer());
  ASSERT_NO_FATAL_FAILURE(s.wait_applied_all());
  ASSERT_EQ(s.ferry.stop(), 0) << s.ferry.output();
  ASSERT_TRUE(empty_past_backlog(*s.source.master_of_slot(0)));
  ASSERT_TRUE(s.ferry.start(s.config));
  ASSERT_NO_FATAL_FAILURE(s.wait_applied_all());
  std::string detail;
  EXPECT_TRUE(wait_same_keys(
      s.source.masters(), [&] { return s.target.masters(); }, seconds(30), &detail))
      << detail << s.ferry.log();
  EXPECT_NE(s.ferry.log().find("partial resync from"), std::string::npos) << s.ferry.log();
  EXPECT_EQ(s.ferry.stop(), 0) << s.ferry.output();
}

}  // namespace
}  // namespace ferry::test
