// The pieces of the commit path, one function at a time: the error policy, the shape of a
// batch in each delivery mode (fence, key probes, send gates), the checkpoint's format
// versions, the skip record. The whole path against real servers is in
// tests/integration/commit_path_test.cc.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "net/error_policy.h"
#include "nodes/batch_stage.h"
#include "nodes/checkpoint.h"
#include "proto/checkpoint_format.h"
#include "proto/resp.h"
#include "storage/skip_log.h"
#include "tests/support/process.h"

namespace ferry {
namespace {

TEST(ErrorPolicy, ClassifiesTheTargetsAnswers) {
  for (const char* e :
       {"OOM command not allowed when used memory > 'maxmemory'.",
        "LOADING Redis is loading the dataset in memory",
        "READONLY You can't write against a read only replica.",
        "BUSY Redis is busy running a script.", "TRYAGAIN Multiple keys",
        "CLUSTERDOWN The cluster is down", "MASTERDOWN Link with MASTER is down",
        "MISCONF Redis is configured to save RDB snapshots",
        "NOREPLICAS Not enough good replicas to write.", "NOAUTH Authentication required.",
        "MOVED 3999 127.0.0.1:6381", "ERR max number of clients reached"}) {
    EXPECT_EQ(classify_error(e).cls, ErrorClass::kTransient) << e;
  }
  struct Case {
    const char* error;
    SkipReason reason;
  };
  for (const Case& c : {
           Case{"NOPERM User ferry has no permissions to run the 'setrange' command",
                SkipReason::kNoPerm},
           Case{"ERR unknown command 'FOO', with args beginning with: ",
                SkipReason::kUnknownCommand},
           Case{"ERR wrong number of arguments for 'get' command", SkipReason::kWrongArity},
           Case{"WRONGTYPE Operation against a key holding the wrong kind of value",
                SkipReason::kWrongType},
           Case{"ERR DUMP payload version or checksum are wrong", SkipReason::kRestorePayload},
           Case{"ERR Bad data format", SkipReason::kRestorePayload},
           Case{"BUSYKEY Target key name already exists.", SkipReason::kOther},
           Case{"BUSYGROUP Consumer Group name already exists", SkipReason::kOther},
           Case{"ERR value is not an integer or out of range", SkipReason::kOther},
       }) {
    ErrorVerdict v = classify_error(c.error);
    EXPECT_EQ(v.cls, ErrorClass::kCommandOnly) << c.error;
    EXPECT_EQ(v.reason, c.reason) << c.error;
  }
  EXPECT_STREQ(skip_reason_name(SkipReason::kNoPerm), "noperm");
}

// A batch stage over one target node, fed packets of commands.
struct Stage {
  ReplayConfig replay;
  InputCounters counters;
  RdbApplyStats rdb_stats;
  MemoryBudget budget{64 << 20};
  OffsetTracker tracker;
  StageContext ctx;
  std::vector<SkipRecord> skipped;
  std::vector<Status> failures;

  Stage(bool transaction, bool checkpoint) {
    ctx.input = "127.0.0.1:6379";
    ctx.checkpoint_key = ckpt::key("127.0.0.1:6379");
    ctx.replay = &replay;
    ctx.counters = &counters;
    ctx.rdb_stats = &rdb_stats;
    ctx.budget = &budget;
    ctx.tracker = &tracker;
    ctx.transaction = transaction;
    ctx.checkpoint_in_target = checkpoint;
    ctx.first_batch_seq = 8;
    ctx.fail = [this](const Status& st) { failures.push_back(st); };
  }

  std::vector<BatchPtr> run(const std::vector<PacketPtr>& packets) {
    BatchStage stage(&ctx, 1);
    std::vector<BatchPtr> out;
    for (const PacketPtr& p : packets) {
      stage.process(p, &out);
      stage.on_batch_done(0);  // so that each packet goes out in a batch of its own
    }
    stage.process(make_tick(), &out);
    return out;
  }
};

PacketPtr packet(uint64_t seq, uint64_t end, std::initializer_list<std::string_view> cmd,
                 int probe_arg = 0) {
  auto p = std::make_shared<Packet>();
  p->seq = seq;
  p->end.phase = SourcePosition::Phase::kStream;
  p->end.offset = end;
  p->cmds.add(cmd, 0);
  p->cmds.end_unit(end);
  if (probe_arg) p->cmds.probe_last(static_cast<uint8_t>(probe_arg));
  return p;
}

// The batch as "NAME arg1 ..." lines, and "|" where a send gate is.
std::vector<std::string> shape(const Batch& b) {
  std::vector<std::string> out;
  size_t gate = 0;
  for (size_t i = 0; i < b.expects.size(); i++) {
    while (gate < b.gates.size() && b.gates[gate].replies == i) {
      EXPECT_EQ(b.gates[gate].offset, b.expects[i].cmd_offset);
      out.push_back("|");
      gate++;
    }
    std::vector<resp::ArgSpan> args;
    size_t consumed = 0, need = 0;
    std::string err;
    const char* at = b.wire.data() + b.expects[i].cmd_offset;
    EXPECT_EQ(resp::parse_command(at, b.wire.size() - b.expects[i].cmd_offset, &args, &consumed,
                                  &need, &err),
              resp::Parse::kOk);
    std::string line;
    for (size_t a = 0; a < args.size() && a < 3; a++) {
      std::string arg(at + args[a].off, args[a].len);
      if (arg.size() > 40) arg = arg.substr(0, 12);  // a script
      line += (a ? " " : "") + arg;
    }
    if (b.expects[i].queued) line += " (queued)";
    out.push_back(line);
  }
  return out;
}

TEST(BatchLayout, FencedTransactionByDefault) {
  Stage s(true, true);
  std::vector<BatchPtr> out = s.run({packet(0, 100, {"INCR", "a"})});
  ASSERT_EQ(out.size(), 1u);
  const Batch& b = *out[0];
  EXPECT_EQ(b.seq, 8u);
  std::vector<std::string> want = {"SELECT 0",
                                   "WATCH ferry-checkpoint:127.0.0.1:6379",
                                   "EVAL " + std::string(ckpt::kFenceScript).substr(0, 12) + " 1",
                                   "MULTI",
                                   "SELECT 0 (queued)",
                                   "INCR a (queued)",
                                   "SELECT 0 (queued)",
                                   "HSET ferry-checkpoint:127.0.0.1:6379 version (queued)",
                                   "|",
                                   "EXEC"};
  EXPECT_EQ(shape(b), want);
  // EXEC waits only for the fence's answer (SELECT, WATCH, EVAL): a fence that says "not
  // the next batch" must be seen before anything can commit.
  ASSERT_EQ(b.gates.size(), 1u);
  EXPECT_EQ(b.gates[0].needs, 3u);
  EXPECT_EQ(b.expects[2].check, ReplyCheck::kFence);
  EXPECT_TRUE(b.expects.back().own_exec);
  EXPECT_EQ(b.expects.back().exec_first, 4u);
  EXPECT_EQ(b.expects.back().exec_count, 4u);
  // The fence asks for the batch before this one.
  std::string fence(b.wire, b.expects[2].cmd_offset,
                    b.expects[3].cmd_offset - b.expects[2].cmd_offset);
  EXPECT_NE(fence.find("$1\r\n7\r\n"), std::string::npos) << fence;
  EXPECT_EQ(b.expects[5].src_offset, 100u);
}

TEST(BatchLayout, AKeyASlotMigrationBroughtInStartsABatchThatWaits) {
  Stage s(true, true);
  BatchStage stage(&s.ctx, 1);
  std::vector<BatchPtr> out;
  // Two batches in flight: the next one stays open to grow.
  stage.process(packet(0, 10, {"INCR", "x"}), &out);
  stage.process(packet(1, 20, {"INCR", "y"}), &out);
  stage.process(packet(2, 100, {"INCR", "a"}), &out);
  ASSERT_EQ(out.size(), 2u);
  // The parse stage starts a packet with an imported key.
  auto p = std::make_shared<Packet>();
  p->seq = 3;
  p->end.phase = SourcePosition::Phase::kStream;
  p->end.offset = 300;
  p->cmds.add({"RESTORE", "k", "0", "payload", "REPLACE"}, 0,
              CommandList::kUnitEnd | CommandList::kImported);
  p->cmds.end_unit(200);
  p->cmds.add({"INCR", "b"}, 0);
  p->cmds.end_unit(300);
  stage.process(p, &out);
  stage.process(make_tick(), &out);
  // What came before the imported key goes on without it; the key and what follows wait
  // for the migration barrier, from the key's source offset.
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[2]->import_at, 0u);
  EXPECT_EQ(out[2]->end.offset, 100u);
  EXPECT_EQ(out[3]->import_at, 200u);
  EXPECT_EQ(out[3]->end.offset, 300u);
  std::vector<std::string> lines = shape(*out[3]);
  EXPECT_NE(std::find(lines.begin(), lines.end(), "RESTORE k 0 (queued)"), lines.end());
  EXPECT_NE(std::find(lines.begin(), lines.end(), "INCR b (queued)"), lines.end());
  EXPECT_EQ(out[3]->seq, out[2]->seq + 1);
}

TEST(BatchLayout, TransactionWithoutCheckpointHoldsExec) {
  Stage s(true, false);
  std::vector<BatchPtr> out = s.run({packet(0, 100, {"INCR", "a"})});
  ASSERT_EQ(out.size(), 1u);
  std::vector<std::string> want = {"MULTI", "SELECT 0 (queued)", "INCR a (queued)", "|", "EXEC"};
  EXPECT_EQ(shape(*out[0]), want);
  EXPECT_EQ(out[0]->seq, 0u);
}

TEST(BatchLayout, PlainBatchWritesItsCheckpointAfterItsData) {
  Stage s(false, true);
  std::vector<BatchPtr> out = s.run({packet(0, 100, {"INCR", "a"})});
  ASSERT_EQ(out.size(), 1u);
  std::vector<std::string> want = {"SELECT 0", "INCR a", "|", "SELECT 0",
                                   "HSET ferry-checkpoint:127.0.0.1:6379 version"};
  EXPECT_EQ(shape(*out[0]), want);
}

TEST(BatchLayout, KeyProbesComeBeforeTheDataAndHoldIt) {
  {
    Stage s(true, true);
    auto p = packet(0, 100, {"RESTORE", "k1", "0", "payload"}, 1);
    p->end.phase = SourcePosition::Phase::kRdb;
    std::vector<BatchPtr> out = s.run({p});
    ASSERT_EQ(out.size(), 1u);
    std::vector<std::string> want = {"SELECT 0",
                                     "WATCH ferry-checkpoint:127.0.0.1:6379",
                                     "EVAL " + std::string(ckpt::kFenceScript).substr(0, 12) + " 1",
                                     "SELECT 0",
                                     "WATCH k1",
                                     "EVAL " + std::string(ckpt::kProbeScript).substr(0, 12) + " 0",
                                     "MULTI",
                                     "SELECT 0 (queued)",
                                     "RESTORE k1 0 (queued)",
                                     "SELECT 0 (queued)",
                                     "HSET ferry-checkpoint:127.0.0.1:6379 version (queued)",
                                     "|",
                                     "EXEC"};
    EXPECT_EQ(shape(*out[0]), want);
    const Batch& b = *out[0];
    EXPECT_EQ(b.expects[5].check, ReplyCheck::kKeyProbe);
    EXPECT_EQ(b.expects.back().exec_first, 7u);
    EXPECT_EQ(b.expects.back().exec_count, 4u);
  }
  {
    Stage s(false, true);
    std::vector<BatchPtr> out = s.run({packet(0, 100, {"SET", "k1", "v", "NX"}, 1)});
    ASSERT_EQ(out.size(), 1u);
    std::vector<std::string> want = {
        "SELECT 0", "EVAL " + std::string(ckpt::kProbeScript).substr(0, 12) + " 0",
        "|",        "SELECT 0",
        "SET k1 v", "|",
        "SELECT 0", "HSET ferry-checkpoint:127.0.0.1:6379 version"};
    EXPECT_EQ(shape(*out[0]), want);
  }
}

TEST(BatchLayout, AFailedPacketStopsTheStageBeforeIt) {
  Stage s(true, true);
  auto bad = packet(1, 200, {"SET", "b", "2"});
  bad->error = Status::corruption("RDB: key 'b': listpack header says 9");
  std::vector<BatchPtr> out =
      s.run({packet(0, 100, {"SET", "a", "1"}), bad, packet(2, 300, {"SET", "c", "3"})});
  ASSERT_EQ(out.size(), 1u);  // what came before it, only
  EXPECT_NE(out[0]->wire.find("$1\r\na\r\n"), std::string::npos);
  ASSERT_EQ(s.failures.size(), 1u);
  EXPECT_NE(s.failures[0].message().find("listpack"), std::string::npos);
}

TEST(CheckpointFormat, RoundTripsAndRefusesANewerVersion) {
  Checkpoint cp;
  cp.position.phase = SourcePosition::Phase::kStream;
  cp.position.replid = "0123456789abcdef0123456789abcdef01234567";
  cp.position.offset = 12345;
  cp.position.db = 3;
  cp.position.gen = 2;
  cp.seq = 77;
  std::string wire;
  cp.append_hset(ckpt::key("in"), &wire);
  std::vector<resp::ArgSpan> args;
  size_t consumed = 0, need = 0;
  std::string err;
  ASSERT_EQ(resp::parse_command(wire.data(), wire.size(), &args, &consumed, &need, &err),
            resp::Parse::kOk);
  std::map<std::string, std::string> fields;
  for (size_t i = 2; i + 1 < args.size(); i += 2) {
    fields[wire.substr(args[i].off, args[i].len)] = wire.substr(args[i + 1].off, args[i + 1].len);
  }
  EXPECT_EQ(fields["version"], "1");
  Checkpoint back;
  ASSERT_TRUE(Checkpoint::from_fields(fields, &back).is_ok());
  EXPECT_EQ(back.position.offset, 12345u);
  EXPECT_EQ(back.position.db, 3);
  EXPECT_EQ(back.seq, 77u);
  // A checkpoint of the first format (no version field) still reads.
  fields.erase("version");
  EXPECT_TRUE(Checkpoint::from_fields(fields, &back).is_ok());
  fields["version"] = "2";
  Status st = Checkpoint::from_fields(fields, &back);
  EXPECT_EQ(st.code(), Status::Code::kNotSupported);
  EXPECT_NE(st.message().find("newer ferry"), std::string::npos);
  fields["version"] = "1";
  fields.erase("seq");
  EXPECT_EQ(Checkpoint::from_fields(fields, &back).code(), Status::Code::kCorruption);
}

TEST(SkipRecord, OneJsonLinePerCommandRotatedBySize) {
  std::string dir = test::make_temp_dir("ferry-skips");
  SkipLog::Options o;
  o.max_file_bytes = 2000;
  o.keep_files = 2;
  std::unique_ptr<SkipLog> log;
  ASSERT_TRUE(SkipLog::open(dir + "/skipped", "127.0.0.1:6379", o, &log).is_ok());
  for (int i = 0; i < 40; i++) {
    SkipRecord r;
    r.time_ms = 1764582000000 + i;
    r.phase = "stream";
    r.offset = 1000 + static_cast<uint64_t>(i);
    r.db = 0;
    r.command = "SETRANGE";
    r.key = "'k'";
    r.args = {"'k'", "'3'", "'x'"};
    r.answer = "NOPERM no \"permissions\"";
    r.reason = "noperm";
    r.at_queue_time = true;
    ASSERT_TRUE(log->append({r}).is_ok());
  }
  EXPECT_EQ(log->written(), 40u);
  log.reset();
  std::string base = dir + "/skipped/127.0.0.1:6379.jsonl";
  EXPECT_TRUE(std::filesystem::exists(base));
  EXPECT_TRUE(std::filesystem::exists(base + ".1"));
  EXPECT_TRUE(std::filesystem::exists(base + ".2"));
  EXPECT_FALSE(std::filesystem::exists(base + ".3"));
  EXPECT_LE(std::filesystem::file_size(base), 2000u);
  std::ifstream in(base);
  std::string line;
  ASSERT_TRUE(std::getline(in, line));
  EXPECT_EQ(line.find("{\"time\":\"2025-12-01T"), 0u) << line;
  EXPECT_NE(line.find("\"answer\":\"NOPERM no \\\"permissions\\\"\""), std::string::npos) << line;
  EXPECT_NE(line.find("\"at_queue_time\":true"), std::string::npos) << line;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace ferry
