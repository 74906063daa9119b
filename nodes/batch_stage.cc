#include "nodes/batch_stage.h"

#include <algorithm>

#include "common/bytes.h"
#include "nodes/checkpoint.h"
#include "proto/resp.h"

namespace ferry {

BatchStage::BatchStage(StageContext* ctx, size_t nodes)
    : ctx_(ctx),
      next_seq_(ctx->first_batch_seq),
      open_(nodes),
      outstanding_(new std::atomic<size_t>[nodes]),
      has_open_(new std::atomic<bool>[nodes]) {
  for (size_t i = 0; i < nodes; i++) {
    outstanding_[i] = 0;
    has_open_[i] = false;
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
  if (ctx_->transaction) {
    Batch& b = *open.batch;
    resp::append_command(&b.wire, {"MULTI"});
    b.expects.push_back(ReplyExpect());
    open.in_multi = true;
    open.multi_first = 1;
  }
}

void BatchStage::add(Open& open, const Packet& packet, const CommandList::Cmd& c) {
  const bool is_multi = c.flags & CommandList::kMulti;
  const bool is_exec = c.flags & CommandList::kExec;
  if (!open.batch) open_batch(open);
  Batch& b = *open.batch;
  if (c.db >= 0 && c.db != open.db) {
    ReplyExpect ex;
    ex.queued = open.in_multi;
    ex.cmd_offset = b.wire.size();
    char num[24];
    resp::append_array_header(&b.wire, 2);
    resp::append_bulk(&b.wire, "SELECT");
    resp::append_bulk(&b.wire, std::string_view(num, format_int(c.db, num)));
    b.expects.push_back(ex);
    open.db = c.db;
  }
  ReplyExpect ex;
  ex.check = c.check;
  ex.log_key = c.flags & CommandList::kLogKey;
  ex.cmd_offset = b.wire.size();
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
  b.commands++;
  if (open.last_seq != packet.seq) {
    b.seqs.push_back(packet.seq);
    open.last_seq = packet.seq;
  }
  b.end = packet.end;
  if (packet.end.phase == SourcePosition::Phase::kStream) b.stat_ids.push_back(c.stat);
}

void BatchStage::flush(uint16_t node, std::vector<BatchPtr>* out) {
  Open& open = open_[node];
  if (!open.batch) return;
  if (open.in_multi && !ctx_->transaction) return;  // a source MULTI is still open
  if (ctx_->checkpoint_in_target) {
    Batch& b = *open.batch;
    Checkpoint cp;
    cp.position = b.end;
    cp.seq = ctx_->transaction ? next_seq_ : 0;
    ReplyExpect sel;
    sel.queued = ctx_->transaction;
    sel.cmd_offset = b.wire.size();
    resp::append_command(&b.wire, {"SELECT", "0"});
    b.expects.push_back(sel);
    ReplyExpect hset = sel;
    hset.cmd_offset = b.wire.size();
    cp.append_hset(ctx_->input, &b.wire);
    b.expects.push_back(hset);
  }
  if (ctx_->transaction) {
    Batch& b = *open.batch;
    ReplyExpect exec;
    exec.cmd_offset = b.wire.size();
    exec.exec_first = 1;
    exec.exec_count = static_cast<uint32_t>(b.expects.size() - 1);
    resp::append_command(&b.wire, {"EXEC"});
    b.expects.push_back(exec);
    b.seq = next_seq_++;
    open.in_multi = false;
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
  BatchPtr b = std::move(open.batch);
  open.batch.reset();
  has_open_[node] = false;
  open.last_seq = UINT64_MAX;
  b->node = node;
  outstanding_[node]++;
  out->push_back(std::move(b));
}

void BatchStage::process(const PacketPtr& packet, std::vector<BatchPtr>* out) {
  if (packet->kind == Packet::Kind::kTick) {
    for (size_t n = 0; n < open_.size(); n++)
      flush(static_cast<uint16_t>(n), out);
    return;
  }
  const CommandList& cmds = packet->cmds;
  for (size_t i = 0; i < cmds.size(); i++) {
    const CommandList::Cmd& c = cmds.cmd(i);
    if (c.flags & CommandList::kDropped) continue;
    add(open_[c.node], *packet, c);
  }
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
    if (full || outstanding_[n] == 0) flush(static_cast<uint16_t>(n), out);
  }
}

}  // namespace ferry
