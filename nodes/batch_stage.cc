#include "nodes/batch_stage.h"

#include <algorithm>

#include "common/bytes.h"
#include "nodes/checkpoint.h"
#include "nodes/slot_batch.h"
#include "proto/checkpoint_format.h"
#include "proto/command_keys.h"
#include "proto/resp.h"

namespace ferry {
namespace {

// Appends one command of ferry's own and how to judge its reply.
void append_own(Batch& b, std::initializer_list<std::string_view> argv, ReplyCheck check,
                bool queued = false, int db = -1) {
  ReplyExpect ex;
  ex.check = check;
  ex.queued = queued;
  ex.db = db;
  ex.cmd_offset = b.wire.size();
  resp::append_command(&b.wire, argv);
  b.expects.push_back(ex);
}

// More than the batches one packet can go into (see process()).
constexpr int64_t kGuardParts = 1 << 20;

// A gate here, passed once everything before it was answered (or the first `needs`).
// SELECT 0, WATCH, the fence: the first replies of a fenced batch.
constexpr uint32_t kFenceReplies = 3;

void add_gate(Batch& b, uint32_t needs = UINT32_MAX) {
  const auto before = static_cast<uint32_t>(b.expects.size());
  b.gates.push_back(SendGate{b.wire.size(), before, std::min(needs, before)});
}

}  // namespace

BatchStage::BatchStage(StageContext* ctx, size_t nodes)
    : ctx_(ctx),
      fenced_(ctx->transaction && ctx->checkpoint_in_target),
      per_batch_checkpoint_(!ctx->transaction && ctx->checkpoint_in_target &&
                            !(ctx->target && ctx->target->cluster)),
      slot_tx_(ctx->slot_transactions),
      next_seq_(ctx->first_batch_seq),
      open_(nodes),
      outstanding_(new std::atomic<size_t>[nodes]),
      has_open_(new std::atomic<bool>[nodes]) {
  for (size_t i = 0; i < nodes; i++) {
    outstanding_[i] = 0;
    has_open_[i] = false;
  }
  if (slot_tx_) {
    gen_seen_.assign(nodes, UINT32_MAX);
    done_.assign(nodes, ckpt::SlotPosition());
    slot_value_.resize(kClusterSlots);
    section_of_slot_.assign(kClusterSlots, -1);
    if (ctx->slot_checkpoints) {
      for (size_t s = 0; s < slot_value_.size() && s < ctx->slot_checkpoints->size(); s++) {
        slot_value_[s] = (*ctx->slot_checkpoints)[s];
        ckpt::SlotPosition p;
        if (ckpt::decode(slot_value_[s], &p)) slot_batch_ = std::max(slot_batch_, p.batch);
      }
    }
  }
}

bool BatchStage::any_open() const {
  for (size_t i = 0; i < open_.size(); i++) {
    if (has_open_[i]) return true;
  }
  return false;
}

void BatchStage::open_batch(Open& open) {
  open.batch = std::make_shared<Batch>();
  has_open_[&open - open_.data()] = true;
  open.db = -1;  // each batch selects its DB itself, so a resent batch needs no context
  open.probes.clear();
  Batch& b = *open.batch;
  if (fenced_) {
    // Batches of one node open and go out in the same order: the seq is known now.
    b.seq = next_seq_++;
    const std::string& key = ctx_->checkpoint_key;
    char num[24];
    std::string_view follows(num, format_uint(b.seq - 1, num));
    append_own(b, {"SELECT", "0"}, ReplyCheck::kControl);
    append_own(b, {"WATCH", key}, ReplyCheck::kControl);
    append_own(b, {"EVAL", ckpt::kFenceScript, "1", key, follows}, ReplyCheck::kFence);
  }
  if (slot_tx_) {
    open.db = 0;  // a cluster has one DB, and the script runs in the connection's
    open.plain = false;
    open.rdb_plain = rdb_plain_;
    open.slot_keys.clear();
    open.done.reset();
    open.last_own.reset();
  }
  open.probe_at = b.wire.size();
  open.probe_index = static_cast<uint32_t>(b.expects.size());
  if (ctx_->transaction) {
    append_own(b, {"MULTI"}, ReplyCheck::kControl);
    open.in_multi = true;
    open.multi_first = static_cast<uint32_t>(b.expects.size());
  }
}

void BatchStage::add(Open& open, const Packet& packet, const CommandList::Cmd& c,
                     uint64_t src_offset) {
  const bool is_multi = c.flags & CommandList::kMulti;
  const bool is_exec = c.flags & CommandList::kExec;
  if (!open.batch) open_batch(open);
  Batch& b = *open.batch;
  if (c.flags & CommandList::kImported) b.import_at = std::max(b.import_at, src_offset);
  if (c.db >= 0 && c.db != open.db) {
    char num[24];
    append_own(b, {"SELECT", std::string_view(num, format_int(c.db, num))}, ReplyCheck::kControl,
               open.in_multi, c.db);
    open.db = c.db;
  }
  ReplyExpect ex;
  ex.check = c.check;
  ex.log_key = c.flags & CommandList::kLogKey;
  ex.cmd_offset = b.wire.size();
  ex.db = c.db;
  ex.src_offset = src_offset;
  if (is_multi) {
    open.in_multi = true;
    open.multi_first = static_cast<uint32_t>(b.expects.size() + 1);
  } else if (is_exec) {
    ex.exec_first = open.multi_first;
    ex.exec_count = static_cast<uint32_t>(b.expects.size()) - open.multi_first;
    open.in_multi = false;
    open.db = -1;  // EXEC may have aborted before a SELECT queued inside it ran
  } else {
    ex.queued = open.in_multi;
  }
  b.wire.append(packet.cmds.bytes_of(c));
  b.expects.push_back(ex);
  const bool counted = !(c.flags & CommandList::kExtraPart);
  if (counted) b.commands++;
  if (c.probe_arg > 0 && c.probe_arg < c.argc) {
    open.probes.push_back(Probe{c.db, std::string(packet.cmds.arg(c, c.probe_arg))});
  }
  if (slot_tx_ && !open.rdb_plain) {
    add_keys(open, packet, c);
    if (c.src_end > 0) {
      ckpt::SlotPosition own = slot_position(packet.end);
      own.offset = c.src_end;
      open.last_own = own;
    }
  }
  if (open.last_seq != packet.seq) {
    b.seqs.push_back(packet.seq);
    open.last_seq = packet.seq;
    batches_of_packet_++;
  }
  b.end = packet.end;
  if (counted && packet.end.phase == SourcePosition::Phase::kStream) b.stat_ids.push_back(c.stat);
}

// keyExists: error. Before the data: per DB, SELECT, (in a transaction) WATCH the keys so
// that one written meanwhile makes EXEC fail, and the probe script. Outside a transaction a
// gate holds the data back until the probe answered.
void BatchStage::insert_probes(Open& open) {
  Batch& b = *open.batch;
  Batch probe;
  std::vector<const Probe*> group;
  for (size_t i = 0; i < open.probes.size(); i++) {
    group.push_back(&open.probes[i]);
    if (i + 1 < open.probes.size() && open.probes[i + 1].db == open.probes[i].db) continue;
    char num[24];
    std::string_view db(num, format_int(group[0]->db, num));
    append_own(probe, {"SELECT", db}, ReplyCheck::kControl, false, group[0]->db);
    if (ctx_->transaction) {
      ReplyExpect watch;
      watch.check = ReplyCheck::kControl;
      watch.cmd_offset = probe.wire.size();
      resp::append_array_header(&probe.wire, 1 + group.size());
      resp::append_bulk(&probe.wire, "WATCH");
      for (const Probe* p : group)
        resp::append_bulk(&probe.wire, p->key);
      probe.expects.push_back(watch);
    }
    ReplyExpect eval;
    eval.check = ReplyCheck::kKeyProbe;
    eval.db = group[0]->db;
    eval.cmd_offset = probe.wire.size();
    resp::append_array_header(&probe.wire, 3 + group.size());
    resp::append_bulk(&probe.wire, "EVAL");
    resp::append_bulk(&probe.wire, ckpt::kProbeScript);
    resp::append_bulk(&probe.wire, "0");
    for (const Probe* p : group)
      resp::append_bulk(&probe.wire, p->key);
    probe.expects.push_back(eval);
    group.clear();
  }
  const uint64_t shift = probe.wire.size();
  const uint32_t count = static_cast<uint32_t>(probe.expects.size());
  for (size_t i = open.probe_index; i < b.expects.size(); i++) {
    b.expects[i].cmd_offset += shift;
    if (b.expects[i].exec_count > 0) b.expects[i].exec_first += count;
  }
  for (ReplyExpect& e : probe.expects)
    e.cmd_offset += open.probe_at;
  b.wire.insert(open.probe_at, probe.wire);
  b.expects.insert(b.expects.begin() + open.probe_index, probe.expects.begin(),
                   probe.expects.end());
  if (open.multi_first >= open.probe_index) open.multi_first += count;
  if (!ctx_->transaction) {
    const uint32_t before = open.probe_index + count;
    b.gates.push_back(SendGate{open.probe_at + shift, before, before});
  }
  open.probes.clear();
}

void BatchStage::append_checkpoint(Batch& b, bool queued) {
  Checkpoint cp;
  cp.position = b.end;
  cp.seq = b.seq;
  append_own(b, {"SELECT", "0"}, ReplyCheck::kControl, queued);
  ReplyExpect hset;
  hset.check = ReplyCheck::kControl;
  hset.queued = queued;
  hset.cmd_offset = b.wire.size();
  cp.append_hset(ctx_->checkpoint_key, &b.wire);
  b.expects.push_back(hset);
}

void BatchStage::add_keys(Open& open, const Packet& packet, const CommandList::Cmd& c) {
  if (c.slot < 0) return;
  const CommandList& cmds = packet.cmds;
  auto arg = [&](int i) { return cmds.arg(c, static_cast<size_t>(i)); };
  auto key = [&](int i) { open.slot_keys.emplace_back(c.slot, std::string(arg(i))); };
  if (ctx_->target_commands) {
    for_each_key(*ctx_->target_commands, cmds.arg(c, 0), c.argc, arg, key);
  } else if (c.argc > 1) {
    key(1);
  }
}

void BatchStage::finish_slot_batch(Open& open) {
  Batch& b = *open.batch;
  const size_t node = static_cast<size_t>(&open - open_.data());
  note_generation(open);
  // No whole unit here: no further than the batch before claimed — or, cut inside a unit,
  // than its last command (every command of this node up to it is here or before).
  ckpt::SlotPosition done = open.done ? *open.done : done_[node];
  if (open.last_own && !done.at_or_after(*open.last_own)) done = *open.last_own;
  done.batch = ++slot_batch_;
  done_[node] = done;
  const std::string end = ckpt::encode(done);
  // The slots in the order their first key came, each with its keys.
  std::vector<SlotSection> sections;
  std::vector<int>& index_of = section_of_slot_;  // all -1 between calls
  for (auto& [slot, key] : open.slot_keys) {
    int& at = index_of[static_cast<size_t>(slot)];
    if (at < 0) {
      at = static_cast<int>(sections.size());
      sections.push_back(SlotSection{slot, slot_value_[static_cast<size_t>(slot)], {}});
    }
    sections[static_cast<size_t>(at)].keys.push_back(std::move(key));
  }
  open.slot_keys.clear();
  for (SlotSection& s : sections) {
    index_of[static_cast<size_t>(s.slot)] = -1;
    std::sort(s.keys.begin(), s.keys.end());  // a hot key is checked once
    s.keys.erase(std::unique(s.keys.begin(), s.keys.end()), s.keys.end());
    slot_value_[static_cast<size_t>(s.slot)] = end;
  }
  if (!open.plain) {
    for (Probe& p : open.probes)
      b.probe_keys.push_back(std::move(p.key));
    open.probes.clear();
    if (!sections.empty()) {
      b.commit_key = ckpt::slot_key(ctx_->input, sections[0].slot);
      b.commit_value = end;
    }
    make_apply_script(ctx_->input, sections, end, &b);
    return;
  }
  // Too long for the script: at-least-once for this one command, its slot's checkpoint
  // written once it was answered.
  if (!open.probes.empty()) insert_probes(open);
  for (const SlotSection& s : sections) {
    add_gate(b);
    append_own(b, {"SET", ckpt::slot_key(ctx_->input, s.slot), end}, ReplyCheck::kControl);
  }
}

void BatchStage::note_generation(Open& open) {
  Batch& b = *open.batch;
  uint32_t& gen = gen_seen_[static_cast<size_t>(&open - open_.data())];
  if (b.end.phase == SourcePosition::Phase::kRdb && b.end.gen != gen) b.starts_generation = true;
  gen = b.end.gen;
}

void BatchStage::add_alone(uint16_t node, const Packet& packet, const CommandList::Cmd& c,
                           uint64_t src_offset, bool everywhere, std::vector<BatchPtr>* out) {
  flush(node, out);
  ckpt::SlotPosition at = slot_position(packet.end);
  at.offset = src_offset;
  // Inside a source MULTI with more after it, its own position: what came before it on this
  // node is applied (the gate below), what comes after it is not yet.
  at = own_position(c, at);
  std::vector<int> slots;
  bool applied = everywhere;
  for (int s = 0; everywhere && s < kClusterSlots; s++) {
    if (ctx_->target->node_of_slot(s) != node) continue;
    slots.push_back(s);
    ckpt::SlotPosition p;
    const std::string& v = slot_value_[static_cast<size_t>(s)];
    applied &= !v.empty() && ckpt::decode(v, &p) && p.at_or_after(at);
  }
  if (applied && !slots.empty()) return;  // a replay: it ran there before
  Open& open = open_[node];
  open_batch(open);
  open.plain = true;
  Batch& b = *open.batch;
  add_gate(b);  // what came before on this node was answered
  add(open, packet, c, src_offset);
  if (everywhere && !slots.empty()) {
    ckpt::SlotPosition marked = at;
    marked.batch = ++slot_batch_;
    done_[node] = marked;
    const std::string value = ckpt::encode(marked);
    add_gate(b);  // only once the command itself was answered
    ReplyExpect mark;
    mark.check = ReplyCheck::kControl;
    mark.cmd_offset = b.wire.size();
    resp::append_array_header(&b.wire, 4 + slots.size());
    resp::append_bulk(&b.wire, "EVAL");
    resp::append_bulk(&b.wire, ckpt::kMarkSlotsScript);
    resp::append_bulk(&b.wire, "0");
    resp::append_bulk(&b.wire, value);
    for (int s : slots) {
      resp::append_bulk(&b.wire, ckpt::slot_key(ctx_->input, s));
      slot_value_[static_cast<size_t>(s)] = value;
    }
    b.expects.push_back(mark);
  }
  flush(node, out);
}

void BatchStage::flush(uint16_t node, std::vector<BatchPtr>* out) {
  Open& open = open_[node];
  if (!open.batch) return;
  if (open.in_multi && !ctx_->transaction) return;  // a source MULTI is still open
  Batch& b = *open.batch;
  const bool probed = !open.probes.empty();
  if (slot_tx_ && open.rdb_plain) {
    note_generation(open);  // RDB keys as they are: no script, no slot checkpoint
  } else if (slot_tx_) {
    finish_slot_batch(open);
  } else if (probed) {
    insert_probes(open);
  }
  if (!slot_tx_ && ctx_->transaction) {
    if (ctx_->checkpoint_in_target) append_checkpoint(b, true);
    // EXEC goes only once its fence said the batch before it committed (a fence refused for
    // now — BUSY, LOADING — must not let the EXEC after it commit when the condition ends);
    // with key probes, once they answered too. Without a fence, once everything before it
    // was answered: a transaction must not commit after one that did not.
    if (fenced_ && !probed) {
      add_gate(b, kFenceReplies);
    } else {
      add_gate(b);
    }
    ReplyExpect exec;
    exec.cmd_offset = b.wire.size();
    exec.own_exec = true;
    exec.exec_first = open.multi_first;
    exec.exec_count = static_cast<uint32_t>(b.expects.size()) - open.multi_first;
    resp::append_command(&b.wire, {"EXEC"});
    b.expects.push_back(exec);
    open.in_multi = false;
  } else if (!slot_tx_ && per_batch_checkpoint_) {
    // The checkpoint goes once its data was answered, never ahead of a failed command.
    add_gate(b);
    append_checkpoint(b, false);
  }
  Batch& done = *open.batch;
  // Growth by doubling may have left up to half of the buffers unused: a batch can wait
  // long for its turn, so it holds (and is charged) only what it uses.
  if (done.wire.capacity() > done.wire.size() + done.wire.size() / 4) done.wire.shrink_to_fit();
  if (done.expects.capacity() > done.expects.size() + done.expects.size() / 4) {
    done.expects.shrink_to_fit();
  }
  uint64_t size = memory_of(done);
  ctx_->budget->adjust(done.charged, size);
  done.charged = size;
  BatchPtr batch = std::move(open.batch);
  open.batch.reset();
  has_open_[node] = false;
  open.last_seq = UINT64_MAX;
  batch->node = node;
  outstanding_[node]++;
  out->push_back(std::move(batch));
}

void BatchStage::halt(const Packet& packet, std::vector<BatchPtr>* out) {
  if (!halted_) {
    halted_ = true;
    // What came before the failed packet may still be applied; nothing after it is.
    for (size_t n = 0; n < open_.size(); n++)
      flush(static_cast<uint16_t>(n), out);
    ctx_->fail(packet.error);
  }
  ctx_->budget->release(packet.charged);
}

void BatchStage::add_command(const PacketPtr& packet, const CommandList::Cmd& c, size_t i,
                             std::vector<BatchPtr>* out) {
  if (c.node == CommandList::kAllNodes && slot_tx_) {
    // Alone on every master, after what came before there; it marks the node's slots.
    CommandList::Cmd copy = c;
    for (size_t n = 0; n < open_.size(); n++) {
      add_alone(static_cast<uint16_t>(n), *packet, copy, unit_offsets_[i], true, out);
      copy.flags |= CommandList::kExtraPart;
    }
    return;
  }
  if (slot_tx_ && (c.flags & CommandList::kSlotFlush)) {
    // A shard's flush, this master's part: alone, and it marks the node's slots.
    add_alone(c.node, *packet, c, unit_offsets_[i], true, out);
    return;
  }
  if (slot_tx_ && !rdb_plain_ && c.argc > ckpt::kApplyScriptMaxArgs) {
    add_alone(c.node, *packet, c, unit_offsets_[i], false, out);
    return;
  }
  if (c.node == CommandList::kAllNodes) {  // a cluster target's keyless command: every master
    CommandList::Cmd copy = c;
    for (size_t n = 0; n < open_.size(); n++) {
      add(open_[n], *packet, copy, unit_offsets_[i]);
      copy.flags |= CommandList::kExtraPart;
    }
    return;
  }
  Open& open = open_[c.node];
  if (open.batch && open.rdb_plain != rdb_plain_) flush(c.node, out);  // the RDB ends
  // A key a slot migration brought in waits for the other inputs (the parse stage starts
  // a packet with it): what came before goes on without it, in a batch of its own.
  if (i == 0 && (c.flags & CommandList::kImported) && open.batch && open.batch->import_at == 0) {
    flush(c.node, out);
  }
  add(open, *packet, c, unit_offsets_[i]);
  if (slot_tx_) unit_nodes_.push_back(c.node);
}

void BatchStage::process(const PacketPtr& packet, std::vector<BatchPtr>* out) {
  if (packet->kind == Packet::Kind::kTick) {
    if (halted_) return;
    for (size_t n = 0; n < open_.size(); n++)
      flush(static_cast<uint16_t>(n), out);
    return;
  }
  if (halted_ || !packet->error.is_ok()) {
    halt(*packet, out);
    packet->charged = 0;
    return;
  }
  // The tracker waits for as many acknowledgements as batches the packet goes into: one per
  // node it was routed to, unless a command that goes alone (slot transactions) cuts a
  // node's run in two. Guard parts keep it from completing while its batches go out.
  ctx_->tracker->adjust(packet->seq, kGuardParts);
  batches_of_packet_ = 0;
  rdb_plain_ = slot_tx_ && packet->end.phase == SourcePosition::Phase::kRdb &&
               ctx_->replay->key_exists != KeyExists::kError;
  const CommandList& cmds = packet->cmds;
  // Each command's source position: the end of the unit it belongs to (for reports).
  unit_offsets_.resize(cmds.size());
  uint64_t unit_end = packet->end.offset;
  for (size_t i = cmds.size(); i-- > 0;) {
    const CommandList::Cmd& c = cmds.cmd(i);
    if (c.flags & CommandList::kUnitEnd) unit_end = c.src_end;
    unit_offsets_[i] = unit_end;
  }
  unit_nodes_.clear();
  for (size_t i = 0; i < cmds.size(); i++) {
    const CommandList::Cmd& c = cmds.cmd(i);
    if (!(c.flags & CommandList::kDropped)) add_command(packet, c, i, out);
    // Slot transactions: a unit ends (on its last command, sent or not — a source EXEC is
    // left out): the batches its commands went to now hold it whole.
    if (slot_tx_ && (c.flags & CommandList::kUnitEnd)) {
      ckpt::SlotPosition at = slot_position(packet->end);
      at.offset = c.src_end;
      for (uint16_t n : unit_nodes_) {
        if (open_[n].batch) open_[n].done = at;
      }
      unit_nodes_.clear();
    }
  }
  ctx_->tracker->adjust(packet->seq, static_cast<int64_t>(batches_of_packet_) -
                                         static_cast<int64_t>(packet->parts) - kGuardParts);
  // The packet's bytes now live in the open batches: move the charge there.
  uint64_t grown = 0;
  for (Open& open : open_) {
    if (!open.batch) continue;
    uint64_t size = memory_of(*open.batch);
    grown += size - open.batch->charged;
    open.batch->charged = size;
  }
  ctx_->budget->adjust(packet->charged, grown);
  packet->charged = 0;
  const ReplayConfig& r = *ctx_->replay;
  for (size_t n = 0; n < open_.size(); n++) {
    Open& open = open_[n];
    if (!open.batch) continue;
    bool full = open.batch->commands >= static_cast<uint64_t>(r.batch_cmd_count) ||
                open.batch->wire.size() >= r.batch_buffer_size;
    if (full || outstanding_[n] < kEagerInFlight) flush(static_cast<uint16_t>(n), out);
  }
}

}  // namespace ferry
