// The route stage into a cluster target: a hand-made slot map of three masters and command
// table; what each command becomes and where it goes.
#include "nodes/route_stage.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "net/cluster_topology.h"
#include "nodes/batch_stage.h"
#include "proto/crc16.h"
#include "proto/slot_flush.h"

namespace ferry {
namespace {

struct Route {
  ReplayConfig replay;
  InputCounters counters;
  RdbApplyStats rdb_stats;
  MemoryBudget budget{64 << 20};
  OffsetTracker tracker;
  StageContext ctx;
  std::vector<SkipRecord> skipped;
  std::shared_ptr<TargetMap> map = std::make_shared<TargetMap>();

  Route() {
    map->cluster = true;
    map->nodes = {Endpoint{"127.0.0.1", 1}, Endpoint{"127.0.0.1", 2}, Endpoint{"127.0.0.1", 3}};
    map->slot_node.resize(kClusterSlots);
    for (int s = 0; s < kClusterSlots; s++)
      map->slot_node[s] = static_cast<uint16_t>(s * 3 / kClusterSlots);
    auto table = std::make_shared<CommandTable>();
    table->add("del", -2, {1, -1, 1});
    table->add("unlink", -2, {1, -1, 1});
    table->add("mset", -3, {1, -1, 2});
    table->add("msetnx", -3, {1, -1, 2});
    table->add("rename", 3, {1, 2, 1});
    table->add("smove", 4, {1, 2, 1});
    table->add("incr", 2, {1, 1, 1});
    table->add("set", -3, {1, 1, 1});
    table->add("publish", 3);
    table->add("flushall", -1);
    table->add("multi", 1);
    table->add("exec", 1);
    ctx.input = "127.0.0.1:6379";
    ctx.replay = &replay;
    ctx.counters = &counters;
    ctx.rdb_stats = &rdb_stats;
    ctx.budget = &budget;
    ctx.tracker = &tracker;
    ctx.target = map;
    ctx.target_commands = table;
    ctx.report_skipped = [this](std::vector<SkipRecord> r) {
      skipped.insert(skipped.end(), r.begin(), r.end());
    };
  }

  // One packet of `cmds`, each its own unit unless inside MULTI ... EXEC, routed.
  Packet route(const std::vector<std::vector<std::string>>& cmds, int db = 0) {
    Packet p;
    p.end.phase = SourcePosition::Phase::kStream;
    p.end.offset = 1000;
    bool in_multi = false;
    uint64_t off = 0;
    for (const auto& c : cmds) {
      p.cmds.begin(static_cast<uint32_t>(c.size()));
      for (const auto& a : c)
        p.cmds.arg(a);
      uint16_t flags = 0;
      if (c[0] == "MULTI") {
        flags = CommandList::kMulti;
        in_multi = true;
      } else if (c[0] == "EXEC") {
        flags = CommandList::kExec;
        in_multi = false;
      }
      p.cmds.end(db, flags);
      if (!in_multi) p.cmds.end_unit(off += 10);
    }
    RouteStage stage(&ctx, 3);
    stage.process(p);
    return p;
  }
};

uint16_t node_of(const std::string& key) {
  return static_cast<uint16_t>(key_slot(key) * 3 / kClusterSlots);
}

// Keys on three different masters.
const std::string kA = "a", kB = "b", kC = "c";

TEST(RouteStage, KeysGoToTheirSlotsMasterAndPerKeyCommandsAreSplit) {
  ASSERT_NE(node_of(kA), node_of(kB));
  ASSERT_NE(node_of(kB), node_of(kC));
  ASSERT_NE(node_of(kA), node_of(kC));
  Route r;
  Packet p =
      r.route({{"INCR", kA}, {"DEL", kA, kB, kC}, {"MSETNX", kA, "1", kB, "2", "{a}x", "3"}});
  // INCR a; DEL a; DEL b; DEL c; MSET a 1 {a}x 3; MSET b 2
  ASSERT_EQ(p.cmds.size(), 6u);
  EXPECT_EQ(p.cmds.cmd(0).node, node_of(kA));
  const std::vector<std::string> want = {"INCR", "DEL", "DEL", "DEL", "MSET", "MSET"};
  for (size_t i = 0; i < want.size(); i++)
    EXPECT_EQ(p.cmds.arg(p.cmds.cmd(i), 0), want[i]) << i;
  EXPECT_EQ(p.cmds.arg(p.cmds.cmd(1), 1), kA);
  EXPECT_EQ(p.cmds.cmd(1).node, node_of(kA));
  EXPECT_EQ(p.cmds.cmd(2).node, node_of(kB));
  EXPECT_EQ(p.cmds.cmd(3).node, node_of(kC));
  // The unit ends after its last part; the later parts are not counted again.
  EXPECT_FALSE(p.cmds.cmd(1).flags & CommandList::kUnitEnd);
  EXPECT_TRUE(p.cmds.cmd(3).flags & CommandList::kUnitEnd);
  EXPECT_EQ(p.cmds.cmd(3).src_end, 20u);
  EXPECT_FALSE(p.cmds.cmd(1).flags & CommandList::kExtraPart);
  EXPECT_TRUE(p.cmds.cmd(2).flags & CommandList::kExtraPart);
  EXPECT_EQ(p.cmds.cmd(4).argc, 5u);  // MSET a 1 {a}x 3: one slot
  EXPECT_EQ(p.cmds.arg(p.cmds.cmd(4), 3), "{a}x");
  EXPECT_EQ(p.cmds.cmd(5).node, node_of(kB));
  EXPECT_TRUE(r.skipped.empty());
  // Three masters must acknowledge the packet.
  EXPECT_EQ(r.tracker.pending(), 1u);
  for (int i = 0; i < 2; i++)
    r.tracker.done(0);
  EXPECT_EQ(r.tracker.pending(), 1u);
  r.tracker.done(0);
  EXPECT_EQ(r.tracker.pending(), 0u);
}

// A propagated SMOVE moved its member: across slots, SREM there and SADD here.
TEST(RouteStage, SmoveAcrossSlotsIsWrittenAsItsEffect) {
  Route r;
  Packet p = r.route({{"SMOVE", kA, kB, "m"}});
  ASSERT_EQ(p.cmds.size(), 2u);
  const CommandList::Cmd& rem = p.cmds.cmd(0);
  const CommandList::Cmd& add = p.cmds.cmd(1);
  EXPECT_EQ(p.cmds.arg(rem, 0), "SREM");
  EXPECT_EQ(p.cmds.arg(rem, 1), kA);
  EXPECT_EQ(p.cmds.arg(rem, 2), "m");
  EXPECT_EQ(rem.node, node_of(kA));
  EXPECT_FALSE(rem.flags & CommandList::kUnitEnd);
  EXPECT_EQ(p.cmds.arg(add, 0), "SADD");
  EXPECT_EQ(p.cmds.arg(add, 1), kB);
  EXPECT_EQ(p.cmds.arg(add, 2), "m");
  EXPECT_EQ(add.node, node_of(kB));
  EXPECT_EQ(add.slot, key_slot(kB));
  EXPECT_TRUE(add.flags & CommandList::kUnitEnd);
  EXPECT_TRUE(add.flags & CommandList::kExtraPart);
  EXPECT_EQ(add.src_end, 10u);
  EXPECT_TRUE(r.skipped.empty());
  // In one slot it goes as it is.
  Packet q = r.route({{"SMOVE", "{a}1", "{a}2", "m"}});
  ASSERT_EQ(q.cmds.size(), 1u);
  EXPECT_EQ(q.cmds.arg(q.cmds.cmd(0), 0), "SMOVE");
}

TEST(RouteStage, WhatCannotBeSplitIsSkippedAndRecorded) {
  Route r;
  Packet p = r.route({{"RENAME", kA, kB}, {"RENAME", "{a}1", "{a}2"}});
  EXPECT_TRUE(p.cmds.cmd(0).flags & CommandList::kDropped);
  EXPECT_FALSE(p.cmds.cmd(1).flags & CommandList::kDropped);
  ASSERT_EQ(r.skipped.size(), 1u);
  EXPECT_EQ(r.skipped[0].reason, "cross_slot");
  EXPECT_EQ(r.skipped[0].command, "RENAME");
  // A database other than 0.
  Packet q = r.route({{"SET", kA, "v"}}, 2);
  EXPECT_TRUE(q.cmds.cmd(0).flags & CommandList::kDropped);
  ASSERT_EQ(r.skipped.size(), 2u);
  EXPECT_EQ(r.skipped[1].reason, "cluster_db");
}

TEST(RouteStage, KeylessCommandsAndTransactions) {
  Route r;
  Packet p = r.route({{"FLUSHALL"}, {"PUBLISH", "ch", "m"}});
  EXPECT_EQ(p.cmds.cmd(0).node, CommandList::kAllNodes);
  EXPECT_EQ(p.cmds.cmd(1).node, 0);
  // One slot: the transaction keeps its framing, on that slot's master.
  Packet one = r.route({{"MULTI"}, {"INCR", "{t}a"}, {"INCR", "{t}b"}, {"EXEC"}});
  for (size_t i = 0; i < 4; i++) {
    EXPECT_FALSE(one.cmds.cmd(i).flags & CommandList::kDropped) << i;
    EXPECT_EQ(one.cmds.cmd(i).node, node_of("{t}")) << i;
  }
  EXPECT_EQ(r.counters.transactions_split, 0u);
  // Several slots: written without it, counted; the EXEC keeps the unit's end.
  Packet two = r.route({{"MULTI"}, {"INCR", kA}, {"INCR", kB}, {"EXEC"}});
  EXPECT_TRUE(two.cmds.cmd(0).flags & CommandList::kDropped);
  EXPECT_TRUE(two.cmds.cmd(3).flags & CommandList::kDropped);
  EXPECT_TRUE(two.cmds.cmd(3).flags & CommandList::kUnitEnd);
  EXPECT_EQ(two.cmds.cmd(1).node, node_of(kA));
  EXPECT_EQ(two.cmds.cmd(2).node, node_of(kB));
  EXPECT_EQ(r.counters.transactions_split, 1u);
}

// A source shard's flush: one part for each master serving some of its slots, each with its
// slots and a key of each, each ending the unit (so each master marks its own slots).
TEST(RouteStage, AShardsFlushGoesToEachMasterOfItsSlots) {
  Route r;
  Packet p;
  p.end.phase = SourcePosition::Phase::kStream;
  p.end.offset = 1000;
  p.cmds.add({"EVAL", slot_flush::kScanScript, "0", "FLUSHALL", "0-3,5462,16383"}, 0,
             CommandList::kUnitEnd | CommandList::kSlotFlush, ReplyCheck::kControl);
  p.cmds.end_unit(990);
  RouteStage stage(&r.ctx, 3);
  stage.process(p);
  ASSERT_EQ(p.cmds.size(), 3u);
  const std::vector<std::vector<int>> slots = {{0, 1, 2, 3}, {5462}, {16383}};
  for (size_t i = 0; i < 3; i++) {
    const CommandList::Cmd& c = p.cmds.cmd(i);
    EXPECT_EQ(c.node, i);
    EXPECT_EQ(p.cmds.arg(c, 1), slot_flush::kClusterScript);
    EXPECT_EQ(p.cmds.arg(c, 3), "FLUSHALL");
    ASSERT_EQ(c.argc, 4 + 2 * slots[i].size()) << i;
    for (size_t k = 0; k < slots[i].size(); k++) {
      EXPECT_EQ(p.cmds.arg(c, 4 + 2 * k), std::to_string(slots[i][k]));
      EXPECT_EQ(key_slot(p.cmds.arg(c, 5 + 2 * k)), slots[i][k]);
    }
    EXPECT_TRUE(c.flags & CommandList::kUnitEnd) << i;
    EXPECT_EQ(c.src_end, 990u);
    EXPECT_EQ(bool(c.flags & CommandList::kExtraPart), i > 0) << i;
    EXPECT_EQ(c.check, ReplyCheck::kControl);
  }
  EXPECT_EQ(p.parts, 3u);
}

// A source MULTI with a FLUSHALL inside: the FLUSHALL goes alone on each master and marks
// every slot checkpoint of it with the FLUSHALL's own position (not its unit's end, which is
// not applied yet; not the batch before, which would run it again over what came after it).
// After a restart, a slot at that position leaves out what ended before it and keeps what
// came after it.
TEST(RouteStage, AFlushallInsideAMultiMarksItsOwnPosition) {
  Route r;
  r.ctx.slot_transactions = true;
  r.ctx.checkpoint_in_target = true;
  auto packet = [&](uint64_t seq) {
    auto p = std::make_shared<Packet>();
    p->seq = seq;
    p->end.phase = SourcePosition::Phase::kStream;
    p->end.gen = 1;
    p->end.offset = 40;
    p->cmds.add({"MULTI"}, -1, CommandList::kMulti);
    p->cmds.add({"SET", kB, "0"}, 0, 0);
    p->cmds.cmd(1).src_end = 10;
    p->cmds.add({"FLUSHALL"}, -1, 0);
    p->cmds.cmd(2).src_end = 20;
    p->cmds.add({"SET", kA, "1"}, 0, 0);
    p->cmds.cmd(3).src_end = 30;
    p->cmds.add({"EXEC"}, -1, CommandList::kExec);
    p->cmds.end_unit(40);
    return p;
  };
  {
    PacketPtr p = packet(0);
    RouteStage route(&r.ctx, 3);
    route.process(*p);
    BatchStage batch(&r.ctx, 3);
    std::vector<BatchPtr> out;
    batch.process(p, &out);
    int marks = 0;
    for (const BatchPtr& b : out) {
      if (b->wire.find(ckpt::kMarkSlotsScript) == std::string::npos) continue;
      marks++;
      EXPECT_NE(b->wire.find("1:s:20:"), std::string::npos) << b->wire.substr(0, 200);
    }
    EXPECT_EQ(marks, 3);
  }
  // A restart with every slot at the FLUSHALL's position: SET b (before it) is left out,
  // SET a (after it) is applied.
  ckpt::SlotPosition at;
  at.gen = 1;
  at.offset = 20;
  at.batch = 9;
  r.ctx.slot_checkpoints =
      std::make_shared<std::vector<std::string>>(kClusterSlots, ckpt::encode(at));
  r.ctx.resume_slots = true;
  PacketPtr p = packet(1);
  RouteStage route(&r.ctx, 3);
  route.process(*p);
  EXPECT_TRUE(p->cmds.cmd(1).flags & CommandList::kDropped);
  EXPECT_FALSE(p->cmds.cmd(3).flags & CommandList::kDropped);
  EXPECT_EQ(r.counters.commands_already_applied, 1u);
}

TEST(ClusterTopology, SlotsTextReadsBack) {
  std::vector<SlotRange> slots;
  ASSERT_TRUE(parse_slots_text("0-5460,5462,10923-16383", &slots));
  EXPECT_EQ(slots_text(slots), "0-5460,5462,10923-16383");
  EXPECT_TRUE(parse_slots_text("", &slots));
  EXPECT_TRUE(slots.empty());
  for (const char* bad : {"x", "5-3", "0-16384", "1,,2", "-1", "3-"}) {
    EXPECT_FALSE(parse_slots_text(bad, &slots)) << bad;
  }
}

}  // namespace
}  // namespace ferry
