// Every way a batch can end, under pipelined load, against real servers: the applied
// position never passes a command that was neither applied nor skipped and recorded
// (docs/architecture.md, "How a batch ends"). Counters (INCR) catch doubles, lists (RPUSH)
// catch order, per-key digests catch losses. The target holds writes (CLIENT PAUSE WRITE)
// while the load arrives, so that many batch transactions are in flight when it lets them
// through — the fault lands where the test needs it, never by timing.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "common/bytes.h"
#include "proto/crc64.h"
#include "proto/rdb_reader.h"
#include "tests/support/corpus.h"
#include "tests/support/fake_master.h"
#include "tests/support/ferry_process.h"
#include "tests/support/http_client.h"
#include "tests/support/load.h"
#include "tests/support/redis_server.h"
#include "tests/support/sync_checks.h"
#include "tests/support/tcp_proxy.h"

namespace ferry::test {
namespace {

using std::chrono::seconds;

constexpr int kCounters = 64;

// ferry connects to the target as user "ferry" (password "pw") with these ACL rules.
RedisServer::Options target_with_user(const std::string& rules) {
  RedisServer::Options o;
  o.args = {"--user", "ferry", "on", ">pw", "~*", "&*", "+@all"};
  if (!rules.empty()) o.args.push_back(rules);
  return o;
}

std::string config_with_user(const RedisServer& source, const RedisServer& target,
                             const std::string& replay = "") {
  std::string c = FerryProcess::config({source.address()}, target.address(), replay);
  c.insert(c.find("output:\n  redis:\n") + 17, "    userName: ferry\n    password: pw\n");
  return c;
}

std::string skip_record(const FerryProcess& ferry, const RedisServer& source) {
  return ferry.dir() + "/cache/skipped/" + source.address() + ".jsonl";
}

// A counter load: INCR c:<i % 64> and RPUSH order <i>, with `extra(i)` now and then.
std::vector<std::vector<std::string>> counter_load(
    int n, int every, const std::function<std::vector<std::string>(int)>& extra) {
  std::vector<std::vector<std::string>> cmds;
  for (int i = 0; i < n; i++) {
    cmds.push_back({"INCR", "c:" + std::to_string(i % kCounters)});
    if (i % 10 == 0) cmds.push_back({"RPUSH", "order", std::to_string(i)});
    if (extra && every > 0 && i % every == every - 1) cmds.push_back(extra(i));
  }
  return cmds;
}

// Sends the load while the target holds writes, and lets them through once ferry has
// received all of it (so its batches queue up in flight toward the target).
void load_while_held(RedisServer& source, RedisServer& target, const FerryProcess& ferry,
                     const std::vector<std::vector<std::string>>& cmds) {
  target.cmd({"CLIENT", "PAUSE", "60000", "WRITE"});
  std::string err;
  ASSERT_EQ(pipeline(source.endpoint(), cmds, 1000, &err), 0) << err;
  ASSERT_TRUE(wait_received(ferry, source, std::chrono::seconds(30)));
  json st = input_status(ferry, source.address());
  EXPECT_LT(st["AppliedOffset"].get<uint64_t>(), st["SourceOffset"].get<uint64_t>())
      << "nothing waits in flight: " << st.dump();
  target.cmd({"CLIENT", "UNPAUSE"});
}

// The counters and the order list are the source's, exactly.
void expect_counters_equal(RedisServer& source, RedisServer& target) {
  for (int i = 0; i < kCounters; i++) {
    std::string k = "c:" + std::to_string(i);
    EXPECT_EQ(target.cmd({"GET", k}).str, source.cmd({"GET", k}).str) << k;
  }
  EXPECT_EQ(target.cmd({"DEBUG", "DIGEST-VALUE", "order"}).elements[0].str,
            source.cmd({"DEBUG", "DIGEST-VALUE", "order"}).elements[0].str);
  EXPECT_EQ(target.cmd({"LLEN", "order"}).integer, source.cmd({"LLEN", "order"}).integer);
}

size_t count_lines(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t p = text.find(needle); p != std::string::npos; p = text.find(needle, p + 1))
    n++;
  return n;
}

// The target's user may not run SETRANGE: each batch with one is refused when queued
// (EXECABORT) while later batches are in flight. It goes again without the SETRANGE — which
// is recorded — and the batches behind it, fenced out, go again in order.
TEST(CommitPath, RefusedAtExecWithBatchesInFlight) {
  RedisServer source, target;
  ASSERT_TRUE(source.start());
  ASSERT_TRUE(target.start(target_with_user("-setrange")));
  FerryProcess ferry;
  ASSERT_TRUE(ferry.start(config_with_user(source, target)));
  ASSERT_TRUE(ferry.wait_for_log("full sync applied", seconds(60))) << ferry.log();
  int setranges = 0;
  auto cmds = counter_load(30000, 331, [&](int i) {
    setranges++;
    return std::vector<std::string>{"SETRANGE", "s:" + std::to_string(i % 5), "3", "x"};
  });
  load_while_held(source, target, ferry, cmds);
  ASSERT_TRUE(wait_applied(ferry, source, seconds(60))) << ferry.log();
  ASSERT_TRUE(ferry.running()) << ferry.output();
  expect_counters_equal(source, target);
  for (int i = 0; i < 5; i++)
    EXPECT_EQ(target.cmd({"EXISTS", "s:" + std::to_string(i)}).integer, 0);
  // Each SETRANGE is in the skip record once, in source order.
  std::vector<json> lines = read_json_lines(skip_record(ferry, source));
  ASSERT_EQ(lines.size(), static_cast<size_t>(setranges));
  uint64_t last = 0;
  for (const json& l : lines) {
    EXPECT_EQ(l["command"], "SETRANGE");
    EXPECT_EQ(l["reason"], "noperm");
    EXPECT_TRUE(l["at_queue_time"].get<bool>());
    EXPECT_EQ(l["phase"], "stream");
    EXPECT_GT(l["offset"].get<uint64_t>(), last);
    last = l["offset"].get<uint64_t>();
  }
  std::string metrics = http("GET", ferry.api() + "/prometheus").body;
  EXPECT_NE(metrics.find("ferry_commands_skipped_total{input=\"" + source.address() +
                         "\",reason=\"noperm\"} " + std::to_string(setranges) + "\n"),
            std::string::npos)
      << metrics;
  EXPECT_EQ(ferry.stop(), 0) << ferry.output();
}

// The target runs out of memory (maxmemory, noeviction): a transient refusal. ferry waits,
// says what for (status, readiness), skips nothing, and goes on in order once it has room.
TEST(CommitPath, OutOfMemoryIsWaitedOutInOrder) {
  RedisServer source, target;
  ASSERT_TRUE(source.start());
  ASSERT_TRUE(target.start());
  FerryProcess ferry;
  ASSERT_TRUE(ferry.start(FerryProcess::config({source.address()}, target.address())));
  ASSERT_TRUE(ferry.wait_for_log("full sync applied", seconds(60))) << ferry.log();
  int64_t used = target.info_int("memory", "used_memory");
  target.cmd({"CONFIG", "SET", "maxmemory-policy", "noeviction"});
  target.cmd({"CONFIG", "SET", "maxmemory", std::to_string(used + (2 << 20))});
  const std::string value(1024, 'v');
  auto cmds = counter_load(8000, 1, [&](int i) {
    return std::vector<std::string>{"RPUSH", "big", std::to_string(i) + value};
  });
  std::string err;
  ASSERT_EQ(pipeline(source.endpoint(), cmds, 1000, &err), 0) << err;
  ASSERT_TRUE(wait_until(
      [&] {
        json s = input_status(ferry, source.address());
        return s.is_object() && s["Waiting"].get<std::string>().find("OOM") != std::string::npos;
      },
      seconds(30)))
      << input_status(ferry, source.address()).dump();
  HttpResult ready = http("GET", ferry.api() + "/debug/ready");
  EXPECT_EQ(ready.status, 503) << ready.body;
  EXPECT_NE(ready.body.find("OOM"), std::string::npos) << ready.body;
  target.cmd({"CONFIG", "SET", "maxmemory", "0"});
  ASSERT_TRUE(wait_applied(ferry, source, seconds(60))) << ferry.log();
  expect_counters_equal(source, target);
  EXPECT_EQ(target.cmd({"DEBUG", "DIGEST-VALUE", "big"}).elements[0].str,
            source.cmd({"DEBUG", "DIGEST-VALUE", "big"}).elements[0].str);
  EXPECT_TRUE(wait_until([&] { return http("GET", ferry.api() + "/debug/ready").status == 200; },
                         seconds(10)));
  EXPECT_EQ(input_status(ferry, source.address())["Waiting"], "");
  EXPECT_FALSE(std::filesystem::exists(skip_record(ferry, source)) &&
               std::filesystem::file_size(skip_record(ferry, source)) > 0);
  EXPECT_EQ(ferry.stop(), 0) << ferry.output();
}

// A command that fails inside EXEC (WRONGTYPE: the target holds another type under that
// key) is skipped and recorded; the rest of its transaction commits, and so does the load.
TEST(CommitPath, FailedInsideExecIsSkippedAndRecorded) {
  RedisServer source, target;
  ASSERT_TRUE(source.start());
  ASSERT_TRUE(target.start());
  FerryProcess ferry;
  ASSERT_TRUE(ferry.start(FerryProcess::config({source.address()}, target.address())));
  ASSERT_TRUE(ferry.wait_for_log("full sync applied", seconds(60))) << ferry.log();
  target.cmd({"RPUSH", "w", "planted"});
  int incrs = 0;
  auto cmds = counter_load(20000, 97, [&](int) {
    incrs++;
    return std::vector<std::string>{"INCR", "w"};
  });
  load_while_held(source, target, ferry, cmds);
  ASSERT_TRUE(wait_applied(ferry, source, seconds(60))) << ferry.log();
  expect_counters_equal(source, target);
  EXPECT_EQ(target.cmd({"LRANGE", "w", "0", "-1"}).elements.size(), 1u);
  std::vector<json> lines = read_json_lines(skip_record(ferry, source));
  ASSERT_EQ(lines.size(), static_cast<size_t>(incrs));
  for (const json& l : lines) {
    EXPECT_EQ(l["command"], "INCR");
    EXPECT_EQ(l["key"], "'w'");
    EXPECT_EQ(l["reason"], "wrongtype");
    EXPECT_FALSE(l["at_queue_time"].get<bool>());
  }
  EXPECT_EQ(ferry.stop(), 0) << ferry.output();
}

// The target drops ferry's connection while batches are in flight, five times: what had
// committed is not sent again, what had not goes again in order.
TEST(CommitPath, ConnectionLostWithBatchesInFlight) {
  RedisServer source, target;
  ASSERT_TRUE(source.start());
  ASSERT_TRUE(target.start(target_with_user("")));
  FerryProcess ferry;
  ASSERT_TRUE(ferry.start(config_with_user(source, target)));
  ASSERT_TRUE(ferry.wait_for_log("full sync applied", seconds(60))) << ferry.log();
  for (int round = 0; round < 5; round++) {
    auto cmds = counter_load(8000, 0, nullptr);
    target.cmd({"CLIENT", "PAUSE", "60000", "WRITE"});
    std::string err;
    ASSERT_EQ(pipeline(source.endpoint(), cmds, 1000, &err), 0) << err;
    ASSERT_TRUE(wait_received(ferry, source, seconds(30)));
    target.cmd({"CLIENT", "UNPAUSE"});
    EXPECT_GE(target.cmd({"CLIENT", "KILL", "USER", "ferry"}).integer, 1) << round;
  }
  ASSERT_TRUE(wait_applied(ferry, source, seconds(60))) << ferry.log();
  expect_counters_equal(source, target);
  EXPECT_GE(count_lines(ferry.log(), "target " + target.address() + ": reconnected"), 1u)
      << ferry.log();
  EXPECT_EQ(ferry.stop(), 0) << ferry.output();
}

// Something other than this ferry moved its checkpoint (a second ferry on the same input,
// a restored backup): the fence stops the input before a batch is applied out of order.
TEST(CommitPath, ACheckpointMovedByAnotherWriterStopsTheInput) {
  RedisServer source, target;
  ASSERT_TRUE(source.start());
  ASSERT_TRUE(target.start());
  FerryProcess ferry;
  ASSERT_TRUE(ferry.start(FerryProcess::config({source.address()}, target.address())));
  ASSERT_TRUE(ferry.wait_for_log("full sync applied", seconds(60))) << ferry.log();
  source.cmd({"SET", "before", "1"});
  ASSERT_TRUE(wait_applied(ferry, source, seconds(30)));
  target.cmd({"HSET", "ferry-checkpoint:" + source.address(), "seq", "999999"});
  source.cmd({"SET", "after", "1"});
  EXPECT_EQ(ferry.wait_exit(seconds(30)), 1) << ferry.output();
  EXPECT_NE(ferry.output().find("another process writes this input"), std::string::npos)
      << ferry.output();
  EXPECT_EQ(target.cmd({"EXISTS", "after"}).integer, 0);
  EXPECT_EQ(target.cmd({"GET", "before"}).str, "1");
}

// A graceful stop cut short while the target holds every batch: nothing acknowledged is
// lost, nothing is applied twice after the restart.
TEST(CommitPath, StopMidwayThenRestartAppliesEverythingOnce) {
  RedisServer source, target;
  ASSERT_TRUE(source.start());
  ASSERT_TRUE(target.start());
  std::string config = FerryProcess::config({source.address()}, target.address());
  config.replace(config.find("gracefullStopTimeout: 20s"), 25, "gracefullStopTimeout: 1s");
  auto ferry = std::make_unique<FerryProcess>();
  ASSERT_TRUE(ferry->start(config));
  ASSERT_TRUE(ferry->wait_for_log("full sync applied", seconds(60))) << ferry->log();
  target.cmd({"CLIENT", "PAUSE", "60000", "WRITE"});
  std::string err;
  ASSERT_EQ(pipeline(source.endpoint(), counter_load(20000, 0, nullptr), 1000, &err), 0) << err;
  ASSERT_TRUE(wait_received(*ferry, source, seconds(30)));
  EXPECT_EQ(ferry->stop(), 1) << ferry->output();  // cut short: batches were in flight
  target.cmd({"CLIENT", "UNPAUSE"});
  FerryProcess again;
  config += "channel:\n  storer:\n    dirPath: " + ferry->dir() + "/cache\n";
  ASSERT_TRUE(again.start(config));
  ASSERT_TRUE(wait_applied(again, source, seconds(60))) << again.log();
  expect_counters_equal(source, target);
  EXPECT_EQ(again.stop(), 0) << again.output();
}

// Two sources into one target: one's FLUSHALL and SWAPDB 0 1 empty or move DB 0, yet the
// other input's checkpoint stays where it was — a kill afterwards resumes both without a
// full sync.
TEST(CommitPath, OneSourcesFlushallKeepsTheOtherInputsCheckpoint) {
  RedisServer a, b, target;
  ASSERT_TRUE(a.start() && b.start() && target.start());
  a.cmd({"SET", "from-a", "1"});
  b.cmd({"SET", "from-b", "1"});
  FerryProcess ferry;
  const std::string config = FerryProcess::config({a.address(), b.address()}, target.address());
  ASSERT_TRUE(ferry.start(config));
  ASSERT_TRUE(wait_applied(ferry, a, seconds(60)) && wait_applied(ferry, b, seconds(60)));
  b.cmd({"SET", "b-streams", "1"});  // b's checkpoint is in its stream now
  ASSERT_TRUE(wait_applied(ferry, b, seconds(60)));
  const std::string b_checkpoint = "ferry-checkpoint:" + b.address();
  a.cmd({"SET", "x", "1"});
  a.cmd({"SWAPDB", "0", "1"});
  ASSERT_TRUE(wait_applied(ferry, a, seconds(30)));
  target.cmd({"SELECT", "0"});
  EXPECT_EQ(target.cmd({"EXISTS", b_checkpoint}).integer, 1);
  target.cmd({"SELECT", "1"});
  EXPECT_EQ(target.cmd({"EXISTS", b_checkpoint}).integer, 0);
  EXPECT_EQ(target.cmd({"EXISTS", "x"}).integer, 1);
  target.cmd({"SELECT", "0"});
  a.cmd({"FLUSHALL"});
  ASSERT_TRUE(wait_applied(ferry, a, seconds(30)));
  EXPECT_EQ(target.cmd({"DBSIZE"}).integer, 2);  // only the two checkpoints
  EXPECT_EQ(target.cmd({"HGET", b_checkpoint, "phase"}).str, "stream");
  EXPECT_EQ(target.cmd({"HEXISTS", "ferry-checkpoint:" + a.address(), "seq"}).integer, 1);
  ferry.kill();
  b.cmd({"INCR", "after-kill"});
  a.cmd({"INCR", "after-kill-a"});
  ASSERT_TRUE(ferry.start(config));
  ASSERT_TRUE(wait_applied(ferry, a, seconds(60)) && wait_applied(ferry, b, seconds(60)));
  EXPECT_EQ(target.cmd({"GET", "after-kill"}).str, "1");
  EXPECT_EQ(target.cmd({"GET", "after-kill-a"}).str, "1");
  EXPECT_EQ(a.info_int("stats", "sync_full"), 1) << ferry.log();
  EXPECT_EQ(b.info_int("stats", "sync_full"), 1) << ferry.log();
  EXPECT_NE(ferry.log().find("input " + b.address() + ": resuming from the checkpoint"),
            std::string::npos)
      << ferry.log();
  EXPECT_EQ(ferry.stop(), 0) << ferry.output();
}

// The target's host vanishes without a reset (its connections stay open and carry nothing):
// after replyTimeout ferry lets the connection go, says what it waits for, and once the host
// is back applies everything, once.
TEST(CommitPath, ATargetThatVanishesWithoutAResetIsLetGo) {
  RedisServer source, target;
  ASSERT_TRUE(source.start() && target.start());
  TcpProxy proxy;
  ASSERT_TRUE(proxy.start(target.endpoint()));
  std::string config = FerryProcess::config({source.address()}, proxy.address());
  config.insert(config.find("output:\n  redis:\n") + 17, "    replyTimeout: 2s\n");
  FerryProcess ferry;
  ASSERT_TRUE(ferry.start(config));
  ASSERT_TRUE(ferry.wait_for_log("full sync applied", seconds(60))) << ferry.log();
  proxy.blackhole();
  std::string err;
  ASSERT_EQ(pipeline(source.endpoint(), counter_load(5000, 0, nullptr), 1000, &err), 0) << err;
  ASSERT_TRUE(ferry.wait_for_log("no answer for 2 s", seconds(30))) << ferry.log();
  ASSERT_TRUE(wait_until(
      [&] {
        return input_status(ferry, source.address())["Waiting"].get<std::string>().find(
                   "no answer") != std::string::npos;
      },
      seconds(30)))
      << input_status(ferry, source.address()).dump();
  EXPECT_EQ(http("GET", ferry.api() + "/debug/ready").status, 503);
  proxy.restore();
  ASSERT_TRUE(wait_applied(ferry, source, seconds(60))) << ferry.log();
  expect_counters_equal(source, target);
  EXPECT_EQ(ferry.stop(), 0) << ferry.output();
}

// A restart while the target is down: the inputs cannot start. They stay listed, stopped,
// with the error; readiness says so; ferry starts them once the target is back.
TEST(CommitPath, ARestartThatCannotStartAnInputKeepsItListedAndRetries) {
  RedisServer source, target;
  ASSERT_TRUE(source.start() && target.start());
  FerryProcess ferry;
  ASSERT_TRUE(ferry.start(FerryProcess::config({source.address()}, target.address())));
  ASSERT_TRUE(wait_applied(ferry, source, seconds(60))) << ferry.log();
  target.stop();
  HttpResult r = http("POST", ferry.api() + "/syncer/restart");
  EXPECT_EQ(r.status, 500) << r.body;
  EXPECT_NE(r.body.find("cannot reach the target"), std::string::npos) << r.body;
  json st = input_status(ferry, source.address());
  EXPECT_EQ(st["State"], "stop") << st.dump();
  EXPECT_NE(st["Error"].get<std::string>().find("not started"), std::string::npos) << st.dump();
  HttpResult ready = http("GET", ferry.api() + "/debug/ready");
  EXPECT_EQ(ready.status, 503) << ready.body;
  EXPECT_NE(ready.body.find("not started"), std::string::npos) << ready.body;
  EXPECT_EQ(http("GET", ferry.api() + "/debug/health").status, 200);
  ASSERT_TRUE(target.restart());
  source.cmd({"SET", "after-restart", "1"});
  ASSERT_TRUE(wait_until([&] { return http("GET", ferry.api() + "/debug/ready").status == 200; },
                         seconds(60)))
      << ferry.log();
  ASSERT_TRUE(wait_applied(ferry, source, seconds(60))) << ferry.log();
  EXPECT_EQ(target.cmd({"GET", "after-restart"}).str, "1");
  EXPECT_EQ(ferry.stop(), 0) << ferry.output();
}

// A source link that cannot be made (a wrong password here) says why in the status's Error
// and in readiness, while ferry keeps retrying.
TEST(CommitPath, ASourceLinkErrorIsInTheStatus) {
  RedisServer source, target;
  RedisServer::Options so;
  so.args = {"--user", "ferry", "on", ">right", "~*", "&*", "+@all"};
  ASSERT_TRUE(source.start(so));
  ASSERT_TRUE(target.start());
  std::string config = FerryProcess::config({source.address()}, target.address());
  config.insert(config.find("output:\n"), "    userName: ferry\n    password: wrong\n");
  FerryProcess ferry;
  ASSERT_TRUE(ferry.start(config));
  ASSERT_TRUE(wait_until(
      [&] {
        json st = input_status(ferry, source.address());
        return st.is_object() &&
               st["Error"].get<std::string>().find("AUTH refused") != std::string::npos;
      },
      seconds(30)))
      << input_status(ferry, source.address()).dump();
  HttpResult ready = http("GET", ferry.api() + "/debug/ready");
  EXPECT_EQ(ready.status, 503);
  EXPECT_NE(ready.body.find("AUTH refused"), std::string::npos) << ready.body;
  EXPECT_TRUE(ferry.running());
}

// --- the full sync ---------------------------------------------------------------------------

// An RDB of `n` string keys and, in the middle of it (in RDB order), one small hash; saved
// without compression so its listpack lies in the file as is. Returns the bytes, the keys
// in RDB order with their record offsets, and the index of the hash.
struct Rdb {
  std::string bytes;
  std::vector<std::string> keys;                     // RDB order
  std::vector<std::pair<uint64_t, uint64_t>> spans;  // key_offset, end_offset
  size_t middle = 0;
};

Rdb make_rdb(RedisServer& server, int n) {
  std::vector<std::vector<std::string>> cmds;
  for (int i = 0; i < n; i++)
    cmds.push_back({"SET", "k:" + std::to_string(i), "value-" + std::to_string(i)});
  for (int i = 0; i < 200; i++)
    cmds.push_back({"HSET", "h:" + std::to_string(i), "f", "v"});
  EXPECT_EQ(pipeline(server.endpoint(), cmds), 0);
  server.cmd({"SAVE"});
  Rdb out;
  out.bytes = read_file(server.dir() + "/dump.rdb");
  struct Keys : rdb::RdbSink {
    Rdb* out;
    void on_key(const rdb::KeyRecord& r) override {
      out->keys.emplace_back(r.key);
      out->spans.emplace_back(r.key_offset, r.end_offset);
    }
  } sink;
  sink.out = &out;
  rdb::RdbReader reader(rdb::RdbReader::Options(), &sink);
  EXPECT_TRUE(reader.feed(out.bytes).is_ok());
  // The hash nearest the middle.
  size_t best = SIZE_MAX, best_distance = SIZE_MAX;
  const size_t half = out.keys.size() / 2;
  for (size_t i = 0; i < out.keys.size(); i++) {
    if (out.keys[i].rfind("h:", 0) != 0) continue;
    size_t d = i > half ? i - half : half - i;
    if (d < best_distance) {
      best = i;
      best_distance = d;
    }
  }
  out.middle = best;
  return out;
}

// Every key the target holds (but ferry's own) comes before `limit` in RDB order.
void expect_only_keys_before(RedisServer& target, const Rdb& rdb, size_t limit) {
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < rdb.keys.size(); i++)
    index[rdb.keys[i]] = i;
  Reply keys = target.cmd({"KEYS", "*"});
  for (const Reply& k : keys.elements) {
    if (k.str.rfind("ferry-", 0) == 0) continue;
    auto it = index.find(k.str);
    if (it == index.end() || it->second == limit) continue;  // the key itself: planted
    EXPECT_LT(it->second, limit) << k.str << " was applied although it comes after key "
                                 << rdb.keys[limit];
  }
}

// A hash whose listpack is corrupt in an RDB whose CRC is valid: ferry stops naming the key,
// with the applied position (the target's checkpoint) before it and nothing after it
// applied — although thousands of keys follow in the RDB.
TEST(CommitPath, ValueThatCannotBeDecodedStopsBeforeTheKey) {
  RedisServer maker;
  RedisServer::Options mo;
  mo.args = {"--rdbcompression", "no", "--activerehashing", "no"};
  ASSERT_TRUE(maker.start(mo));
  Rdb rdb = make_rdb(maker, 6000);
  ASSERT_NE(rdb.middle, SIZE_MAX);
  // The hash's listpack: its 4-byte total length is the first thing of its value.
  auto [from, to] = rdb.spans[rdb.middle];
  size_t at = rdb.bytes.find(std::string(rdb.keys[rdb.middle]), from);
  ASSERT_LT(at, to);
  size_t value = at + rdb.keys[rdb.middle].size() + 1;  // after the key and the blob length
  ASSERT_LT(value + 4, to);
  store_le16(&rdb.bytes[value], 0x7fff);  // the header now disagrees with the blob's size
  uint64_t crc = crc64(0, rdb.bytes.data(), rdb.bytes.size() - 8);
  store_le64(&rdb.bytes[rdb.bytes.size() - 8], crc);

  FakeMaster master;
  FakeMaster::Options fo;
  fo.rdb = rdb.bytes;
  ASSERT_TRUE(master.start(fo));
  RedisServer target;
  ASSERT_TRUE(target.start());
  FerryProcess ferry;
  ASSERT_TRUE(ferry.start(
      FerryProcess::config({master.address()}, target.address(), "    batchCmdCount: 20\n")));
  EXPECT_EQ(ferry.wait_exit(seconds(60)), 1) << ferry.output();
  EXPECT_NE(ferry.output().find(rdb.keys[rdb.middle]), std::string::npos) << ferry.output();
  EXPECT_NE(ferry.output().find("listpack"), std::string::npos) << ferry.output();
  expect_only_keys_before(target, rdb, rdb.middle);
  Reply cp = target.cmd({"HGETALL", "ferry-checkpoint:" + master.address()});
  std::map<std::string, std::string> fields;
  for (size_t i = 0; i + 1 < cp.elements.size(); i += 2)
    fields[cp.elements[i].str] = cp.elements[i + 1].str;
  if (!fields.empty()) {
    EXPECT_EQ(fields["phase"], "rdb");
    EXPECT_LE(std::stoull(fields["offset"]), from) << "the checkpoint is past the corrupt key";
  }
  EXPECT_GT(target.cmd({"DBSIZE"}).integer, 100) << "what came before the key is applied";
}

// keyExists: error with one key of the RDB already on the target: ferry stops naming it,
// with nothing from its batch on applied. Once the user deletes the planted key, a restart
// resumes the full sync there, and every key arrives — the planted one too.
TEST(CommitPath, KeyExistsErrorStopsBeforeTheKeyAndResumesAfterTheFix) {
  RedisServer source, target;
  RedisServer::Options so;
  so.args = {"--activerehashing", "no"};
  ASSERT_TRUE(source.start(so));
  ASSERT_TRUE(target.start());
  Rdb rdb = make_rdb(source, 6000);
  const std::string planted = rdb.keys[rdb.middle];
  target.cmd({"SET", planted, "planted"});
  std::string config = FerryProcess::config({source.address()}, target.address(),
                                            "    keyExists: error\n    batchCmdCount: 20\n");
  auto ferry = std::make_unique<FerryProcess>();
  ASSERT_TRUE(ferry->start(config));
  EXPECT_EQ(ferry->wait_exit(seconds(60)), 1) << ferry->output();
  EXPECT_NE(ferry->output().find("key '" + planted + "' already exists on the target"),
            std::string::npos)
      << ferry->output();
  EXPECT_EQ(target.cmd({"TYPE", planted}).str, "string");
  EXPECT_EQ(target.cmd({"GET", planted}).str, "planted");
  expect_only_keys_before(target, rdb, rdb.middle);

  target.cmd({"DEL", planted});
  FerryProcess again;
  config += "channel:\n  storer:\n    dirPath: " + ferry->dir() + "/cache\n";
  ASSERT_TRUE(again.start(config));
  ASSERT_TRUE(again.wait_for_log("full sync applied", seconds(60))) << again.log();
  EXPECT_NE(again.log().find("resuming the full sync at the checkpoint"), std::string::npos)
      << again.log();
  std::string detail;
  EXPECT_TRUE(wait_key_digests(target, key_digests(source), seconds(30), &detail)) << detail;
  EXPECT_EQ(again.stop(), 0) << again.output();
}

// One of two inputs meets a value it cannot decode: that input stops (readiness says which
// and why), the other goes on syncing.
TEST(CommitPath, OneInputStoppedOnCorruptInputLeavesTheOtherRunning) {
  FakeMaster master;
  FakeMaster::Options fo;
  fo.rdb = read_file(corpus_dir() + "/redis-assets/corrupt_ziplist.rdb");
  ASSERT_TRUE(master.start(fo));
  RedisServer source, target;
  ASSERT_TRUE(source.start());
  ASSERT_TRUE(target.start());
  FerryProcess ferry;
  ASSERT_TRUE(
      ferry.start(FerryProcess::config({master.address(), source.address()}, target.address())));
  ASSERT_TRUE(wait_until(
      [&] {
        HttpResult r = http("GET", ferry.api() + "/debug/ready");
        return r.status == 503 && r.body.find("ziplist") != std::string::npos;
      },
      seconds(30)))
      << http("GET", ferry.api() + "/debug/ready").body;
  EXPECT_NE(http("GET", ferry.api() + "/debug/ready").body.find(master.address()),
            std::string::npos);
  source.cmd({"SET", "still", "flowing"});
  ASSERT_TRUE(wait_until(
      [&] {
        return target.cmd({"EXISTS", "still"}).integer == 1;
      },
      seconds(30)));
  EXPECT_TRUE(ferry.running());
  EXPECT_EQ(input_status(ferry, master.address())["State"], "stop");
  EXPECT_NE(
      input_status(ferry, master.address())["Error"].get<std::string>().find("key:000000000091"),
      std::string::npos);
}

}  // namespace
}  // namespace ferry::test
