// The target writer alone, in-process, against a real redis-server: batches built by the
// batch stage, submitted from one thread while the writer's own thread sends them and
// another judges nothing but its callbacks. What ThreadSanitizer runs over (no TBB, no
// RocksDB in sight: only std:: synchronization).
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>

#include "net/target_writer.h"
#include "nodes/batch_stage.h"
#include "proto/checkpoint_format.h"
#include "tests/support/load.h"
#include "tests/support/redis_server.h"

namespace ferry::test {
namespace {

using std::chrono::seconds;

// Builds fenced batches of one INCR each (and whatever `extra` adds), as the graph would.
struct Batches {
  ReplayConfig replay;
  InputCounters counters;
  RdbApplyStats rdb_stats;
  MemoryBudget budget{256 << 20};
  OffsetTracker tracker;
  StageContext ctx;
  std::unique_ptr<BatchStage> stage;

  Batches() {
    ctx.input = "writer-test";
    ctx.checkpoint_key = ckpt::key("writer-test");
    ctx.replay = &replay;
    ctx.counters = &counters;
    ctx.rdb_stats = &rdb_stats;
    ctx.budget = &budget;
    ctx.tracker = &tracker;
    ctx.transaction = true;
    ctx.checkpoint_in_target = true;
    ctx.fail = [](const Status&) {};
    stage = std::make_unique<BatchStage>(&ctx, 1);
  }

  BatchPtr next(uint64_t seq, std::initializer_list<std::initializer_list<std::string_view>> cmds) {
    auto p = std::make_shared<Packet>();
    p->seq = seq;
    p->end.phase = SourcePosition::Phase::kStream;
    p->end.offset = seq + 1;
    for (auto c : cmds) {
      p->cmds.add(c, 0);
      p->cmds.end_unit(seq + 1);
    }
    std::vector<BatchPtr> out;
    stage->process(p, &out);
    stage->process(make_tick(), &out);
    EXPECT_EQ(out.size(), 1u);
    stage->on_batch_done(0);
    return out.empty() ? nullptr : out[0];
  }
};

// Collects what the writer reports, from its thread.
struct Results {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<uint64_t> applied;  // seqs, in the order they were reported
  std::vector<std::string> fatal;
  std::vector<SkippedCommand> skipped_at_queue_time;

  TargetWriter::DoneFn done() {
    return [this](const WriteBatchPtr& b, const WriteResult& r) {
      std::lock_guard<std::mutex> lock(mu);
      if (r.applied) applied.push_back(b->seq);
      if (!r.fatal.empty()) fatal.push_back(r.fatal);
      cv.notify_all();
    };
  }
  bool wait_applied(size_t n) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, seconds(60), [&] { return applied.size() >= n || !fatal.empty(); }) &&
           applied.size() >= n;
  }
};

WriterOptions fenced(Results* results) {
  WriterOptions o;
  o.checkpoint_key = "ferry-checkpoint:writer-test";
  o.on_skipped = [results](const WriteBatch&, const std::vector<SkippedCommand>& s) {
    std::lock_guard<std::mutex> lock(results->mu);
    results->skipped_at_queue_time.insert(results->skipped_at_queue_time.end(), s.begin(), s.end());
    return Status::ok();
  };
  return o;
}

TEST(Writer, ManyFencedBatchesInFlightCommitInOrder) {
  RedisServer target;
  ASSERT_TRUE(target.start());
  Results results;
  TargetWriter writer(target.endpoint(), Credentials{}, results.done(), fenced(&results));
  writer.start();
  Batches b;
  target.cmd({"CLIENT", "PAUSE", "30000", "WRITE"});  // they queue up in flight
  const int n = 500;
  for (int i = 0; i < n; i++)
    writer.submit(b.next(static_cast<uint64_t>(i), {{"INCR", "counter"}}));
  target.cmd({"CLIENT", "UNPAUSE"});
  ASSERT_TRUE(results.wait_applied(n));
  EXPECT_EQ(target.cmd({"GET", "counter"}).str, std::to_string(n));
  for (int i = 0; i < n; i++)
    EXPECT_EQ(results.applied[static_cast<size_t>(i)], static_cast<uint64_t>(i + 1));
  EXPECT_EQ(target.cmd({"HGET", "ferry-checkpoint:writer-test", "seq"}).str, std::to_string(n));
  writer.stop();
}

TEST(Writer, ARefusedCommandIsLeftOutAndItsBatchGoesAgainBeforeTheOthers) {
  RedisServer target;
  RedisServer::Options o;
  o.args = {"--user", "default", "on", "nopass", "~*", "&*", "+@all", "-setrange"};
  ASSERT_TRUE(target.start(o));
  Results results;
  TargetWriter writer(target.endpoint(), Credentials{}, results.done(), fenced(&results));
  writer.start();
  Batches b;
  target.cmd({"CLIENT", "PAUSE", "30000", "WRITE"});
  const int n = 300;
  for (int i = 0; i < n; i++) {
    if (i % 50 == 7) {
      writer.submit(b.next(static_cast<uint64_t>(i),
                           {{"RPUSH", "order", std::to_string(i)}, {"SETRANGE", "s", "0", "x"}}));
    } else {
      writer.submit(b.next(static_cast<uint64_t>(i), {{"RPUSH", "order", std::to_string(i)}}));
    }
  }
  target.cmd({"CLIENT", "UNPAUSE"});
  ASSERT_TRUE(results.wait_applied(n)) << (results.fatal.empty() ? "" : results.fatal[0]);
  Reply order = target.cmd({"LRANGE", "order", "0", "-1"});
  ASSERT_EQ(order.elements.size(), static_cast<size_t>(n));
  for (int i = 0; i < n; i++)
    EXPECT_EQ(order.elements[static_cast<size_t>(i)].str, std::to_string(i));
  EXPECT_EQ(target.cmd({"EXISTS", "s"}).integer, 0);
  std::lock_guard<std::mutex> lock(results.mu);
  EXPECT_EQ(results.skipped_at_queue_time.size(), 6u);
  for (const SkippedCommand& s : results.skipped_at_queue_time) {
    EXPECT_EQ(s.command, "SETRANGE");
    EXPECT_EQ(s.reason, SkipReason::kNoPerm);
  }
  writer.stop();
}

TEST(Writer, ALostConnectionResendsOnlyWhatDidNotCommit) {
  RedisServer target;
  ASSERT_TRUE(target.start());
  Results results;
  TargetWriter writer(target.endpoint(), Credentials{}, results.done(), fenced(&results));
  writer.start();
  Batches b;
  uint64_t seq = 0;
  for (int round = 0; round < 5; round++) {
    target.cmd({"CLIENT", "PAUSE", "30000", "WRITE"});
    for (int i = 0; i < 200; i++)
      writer.submit(b.next(seq++, {{"INCR", "counter"}}));
    target.cmd({"CLIENT", "UNPAUSE"});
    target.cmd({"CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"});
  }
  ASSERT_TRUE(results.wait_applied(seq));
  EXPECT_EQ(target.cmd({"GET", "counter"}).str, std::to_string(seq));
  EXPECT_GE(writer.reconnects(), 1u);
  writer.stop();
}

TEST(Writer, StopCancelsWhatIsStillInFlight) {
  RedisServer target;
  ASSERT_TRUE(target.start());
  std::atomic<int> cancelled{0}, applied{0};
  TargetWriter writer(
      target.endpoint(), Credentials{},
      [&](const WriteBatchPtr&, const WriteResult& r) {
        if (r.cancelled) cancelled++;
        if (r.applied) applied++;
      },
      WriterOptions());
  writer.start();
  Batches b;
  target.cmd({"CLIENT", "PAUSE", "30000", "WRITE"});
  for (int i = 0; i < 100; i++)
    writer.submit(b.next(static_cast<uint64_t>(i), {{"INCR", "counter"}}));
  writer.stop();
  writer.submit(b.next(100, {{"INCR", "counter"}}));  // after stop: cancelled at once
  target.cmd({"CLIENT", "UNPAUSE"});
  EXPECT_EQ(cancelled + applied, 101);
  EXPECT_EQ(writer.inflight(), 0u);
}

}  // namespace
}  // namespace ferry::test
