#include "nodes/parse_stage.h"

#include <set>

#include "common/bytes.h"
#include "common/clock.h"
#include "common/log.h"
#include "nodes/own_keys.h"
#include "proto/checkpoint_format.h"
#include "proto/slot_flush.h"

namespace ferry {
namespace {

// `want` is a literal: its length is known at compile time, so most names fail at once.
bool is(std::string_view name, std::string_view want) {
  return iequals(name, want);
}

// FLUSHALL, FLUSHDB of DB 0 and SWAPDB with DB 0 would take the checkpoints kept in DB 0 —
// other inputs' too — with them: they go through the script that keeps them
// (proto/checkpoint_format.h). `db` is the DB the command runs in.
bool touches_checkpoints(std::string_view name, const std::vector<std::string_view>& args, int db) {
  if (is(name, "FLUSHALL")) return true;
  if (is(name, "FLUSHDB")) return db == ckpt::kDb;
  if (is(name, "SWAPDB") && args.size() == 2) {
    return args[0] == "0" || args[1] == "0";
  }
  return false;
}

void add_keeping_checkpoints(CommandList& cmds, std::string_view name,
                             const std::vector<std::string_view>& args, int db, uint16_t flags) {
  cmds.begin(static_cast<uint32_t>(5 + args.size()));
  cmds.arg("EVAL");
  cmds.arg(ckpt::kKeepCheckpointsScript);
  cmds.arg("0");
  cmds.arg_int(db);
  cmds.arg(name);
  for (std::string_view a : args)
    cmds.arg(a);
  cmds.end(db, flags);
}

// Adds a command the parse stage built (or rewrote) for the target.
void add_for_target(CommandList& cmds, std::string_view name,
                    const std::vector<std::string_view>& args, int db, uint16_t flags) {
  if (touches_checkpoints(name, args, db)) {
    add_keeping_checkpoints(cmds, name, args, db < 0 ? ckpt::kDb : db, flags);
    return;
  }
  cmds.begin(static_cast<uint32_t>(1 + args.size()));
  cmds.arg(name);
  for (std::string_view a : args)
    cmds.arg(a);
  cmds.end(db, flags);
}

}  // namespace

ParseStage::ParseStage(StageContext* ctx) : ctx_(ctx) {}

bool ParseStage::add_slot_flush(CommandList& cmds, std::string_view why, uint16_t flags) {
  const std::string slots = ctx_->shard_slots ? ctx_->shard_slots() : std::string();
  if (slots.empty()) {
    LOG_WARN(
        "input %s: %.*s: the shard serves no slots now, so there is nothing of it to "
        "remove from the target",
        ctx_->input.c_str(), static_cast<int>(why.size()), why.data());
    ctx_->counters->commands_filtered++;
    return false;
  }
  LOG_INFO("input %s: %.*s: the keys of the shard's slots %s are removed from the target",
           ctx_->input.c_str(), static_cast<int>(why.size()), why.data(), slots.c_str());
  const std::vector<std::string> argv = slot_flush::scan_command(why, slots);
  cmds.begin(static_cast<uint32_t>(argv.size()));
  for (const std::string& a : argv)
    cmds.arg(a);
  cmds.end(ctx_->replay->map_db(0), flags | CommandList::kSlotFlush, ReplyCheck::kControl);
  return true;
}

ParseStage::~ParseStage() = default;

void ParseStage::fail(const Status& st) {
  phase_ = Phase::kFailed;
  rdb_.reset();
  charge_reader();
  ctx_->fail(st);
}

PacketPtr& ParseStage::current() {
  if (!cur_) {
    cur_ = std::make_shared<Packet>();
    cur_->rdb_load_time_ms = rdb_load_time_ms_;
    cur_->end.replid = replid_;
    cur_->end.gen = gen_;
    cur_->end.rdb_start = rdb_start_;
    cur_->end.phase =
        phase_ == Phase::kRdb ? SourcePosition::Phase::kRdb : SourcePosition::Phase::kStream;
  }
  return cur_;
}

void ParseStage::emit() {
  if (!cur_) return;
  cur_->seq = next_seq_++;
  if (cur_->end.phase == SourcePosition::Phase::kStream) cur_->end.db = db_;
  if (rdb_begin_pending_) {
    cur_->rdb_begin = true;
    rdb_begin_pending_ = false;
  }
  cur_->charged = memory_of(*cur_);
  ctx_->budget->charge(cur_->charged);
  out_->push_back(std::move(cur_));
  cur_.reset();
}

void ParseStage::maybe_emit() {
  if (!cur_ || in_multi_) return;
  const ReplayConfig& r = *ctx_->replay;
  size_t items = cur_->rdb_items.size() + cur_->cmds.size();
  size_t bytes = cur_->rdb_bytes.size() + cur_->cmds.bytes();
  if (items >= static_cast<size_t>(r.batch_cmd_count) || bytes >= r.batch_buffer_size) emit();
}

void ParseStage::process(const SourceChunk& chunk, std::vector<PacketPtr>* out) {
  out_ = out;
  switch (chunk.kind) {
    case SourceChunk::Kind::kRdbBegin:
      begin_rdb(chunk);
      break;
    case SourceChunk::Kind::kRdbData:
      if (phase_ == Phase::kRdb) feed_rdb(chunk);
      break;
    case SourceChunk::Kind::kRdbEnd:
      if (phase_ == Phase::kRdb) end_rdb();
      break;
    case SourceChunk::Kind::kRdbAbort:
      if (phase_ == Phase::kRdb) {
        LOG_WARN("input %s: the RDB transfer was cut; waiting for a new full sync",
                 ctx_->input.c_str());
        emit();  // the keys parsed so far are valid and get applied
        rdb_.reset();
        charge_reader();
        phase_ = Phase::kIdle;
        ctx_->counters->in_full_sync = false;
      }
      break;
    case SourceChunk::Kind::kStreamBegin:
      if (phase_ != Phase::kFailed) begin_stream(chunk);
      break;
    case SourceChunk::Kind::kStreamData:
      if (phase_ == Phase::kStream) feed_stream(chunk);
      break;
  }
  ctx_->budget->release(chunk.bytes());
  out_ = nullptr;
}

void ParseStage::abandon_multi() {
  if (!in_multi_) return;
  if (cur_) cur_->cmds.truncate(multi_start_);
  in_multi_ = false;
  LOG_WARN(
      "input %s: the stream broke off inside a MULTI; its commands are discarded, as the "
      "source discards them",
      ctx_->input.c_str());
}

void ParseStage::begin_rdb(const SourceChunk& chunk) {
  if (phase_ == Phase::kFailed) return;
  abandon_multi();
  emit();
  if (streamed_ && !ctx_->source_cluster) {  // a shard's keys are removed first (below)
    LOG_WARN(
        "input %s: a new full sync starts after the stream was applied; keys deleted on the "
        "source in between stay on the target (a forced full sync with flushdb removes them)",
        ctx_->input.c_str());
  }
  rdb::RdbReader::Options opts;
  opts.max_whole_value = ctx_->replay->max_proto_bulk_len;
  opts.piece_bytes = std::min<size_t>(opts.max_whole_value, 512u << 10);
  opts.max_item_bytes = std::max<size_t>(ctx_->replay->max_inflight_bytes / 2, 1u << 20);
  rdb_ = std::make_unique<rdb::RdbReader>(opts, static_cast<rdb::RdbSink*>(this));
  stream_.reset();
  replid_ = chunk.replid;
  gen_ = chunk.gen;
  rdb_start_ = chunk.offset;
  rdb_skip_until_ = chunk.skip_until;
  if (rdb_skip_until_ > 0) {
    LOG_INFO("input %s: replaying the cached RDB; the first %llu bytes were applied already",
             ctx_->input.c_str(), static_cast<unsigned long long>(rdb_skip_until_));
  }
  phase_ = Phase::kRdb;
  db_ = 0;
  in_multi_ = false;
  first_function_ = true;
  rdb_begin_pending_ = true;
  if (ctx_->source_cluster && rdb_skip_until_ == 0 && (ctx_->had_checkpoint || began_)) {
    // The shard syncs again over what its earlier history wrote: that goes first, else a
    // key the new RDB lacks (one a crashed master had and its promoted replica never got)
    // stays on the target.
    if (add_slot_flush(current()->cmds, "a new full sync", CommandList::kUnitEnd)) {
      current()->cmds.end_unit(0);
    }
  }
  began_ = true;
  rdb_load_time_ms_ = wall_ms();
  ctx_->counters->rdb_bytes_parsed = 0;
  ctx_->counters->rdb_keys_parsed = 0;
  ctx_->counters->rdb_keys_applied = 0;
  ctx_->counters->rdb_started_ms = mono_ms();
  ctx_->counters->in_full_sync = true;
}

void ParseStage::feed_rdb(const SourceChunk& chunk) {
  Status st = rdb_->feed(chunk.data);
  ctx_->counters->rdb_bytes_parsed = rdb_->offset();
  charge_reader();
  if (!st.is_ok()) {
    fail(st);
    return;
  }
  if (phase_ == Phase::kRdb) maybe_emit();
}

// What the RDB reader holds of an item not reported yet counts against the memory budget.
void ParseStage::charge_reader() {
  const uint64_t held = rdb_ ? rdb_->buffered() : 0;
  ctx_->budget->adjust(reader_charged_, held);
  reader_charged_ = held;
}

void ParseStage::end_rdb() {
  Status st = rdb_->finish();
  ctx_->counters->rdb_bytes_parsed = rdb_->offset();
  if (!st.is_ok()) {
    fail(st);
    return;
  }
  current()->rdb_complete = true;
  emit();
  rdb_.reset();
  charge_reader();
  phase_ = Phase::kIdle;
}

void ParseStage::on_aux(std::string_view key, std::string_view value) {
  if (key == "redis-ver") {
    LOG_INFO("input %s: RDB written by Redis %.*s", ctx_->input.c_str(),
             static_cast<int>(value.size()), value.data());
  }
}

void ParseStage::on_function(std::string_view code) {
  if (rdb_->offset() <= rdb_skip_until_) {
    first_function_ = false;  // a FUNCTION FLUSH, if any, ran with the first one already
    return;
  }
  PacketPtr& p = current();
  RdbItem item;
  item.kind = RdbItem::Kind::kFunction;
  item.first_function = first_function_;
  first_function_ = false;
  item.value_off = p->rdb_bytes.size();
  item.value_len = code.size();
  item.end_offset = rdb_->offset();
  p->rdb_bytes.append(code.data(), code.size());
  p->rdb_items.push_back(item);
  p->end.offset = rdb_->offset();
}

void ParseStage::on_module_aux(uint64_t module_id) {
  LOG_WARN("input %s: RDB holds module auxiliary data (module id %llu); it is not replayed",
           ctx_->input.c_str(), static_cast<unsigned long long>(module_id));
}

void ParseStage::on_key(const rdb::KeyRecord& rec) {
  if (rec.last_piece) ctx_->counters->rdb_keys_parsed++;
  if (rec.end_offset <= rdb_skip_until_) return;  // applied before the restart
  if (is_checkpoint_key(rec.key)) return;         // another ferry's, not data
  PacketPtr& p = current();
  RdbItem item;
  item.db = rec.db;
  item.type = rec.type;
  item.expire_ms = rec.expire_ms;
  item.idle_s = rec.idle_s;
  item.freq = rec.freq;
  item.piece = rec.piece;
  item.piece_index = rec.piece_index;
  item.last_piece = rec.last_piece;
  item.key_off = p->rdb_bytes.size();
  item.key_len = rec.key.size();
  p->rdb_bytes.append(rec.key.data(), rec.key.size());
  item.value_off = p->rdb_bytes.size();
  item.value_len = rec.value.size();
  p->rdb_bytes.append(rec.value.data(), rec.value.size());
  item.end_offset = rec.end_offset;
  item.key_offset = rec.key_offset;
  p->rdb_items.push_back(item);
  p->end.offset = rec.end_offset;
  if (rec.last_piece) p->rdb_keys++;
  maybe_emit();
}

void ParseStage::begin_stream(const SourceChunk& chunk) {
  gen_ = chunk.gen;
  if (phase_ == Phase::kStream && stream_ &&
      chunk.offset == stream_base_ + stream_->offset() + stream_->pending()) {
    // The link came back with +CONTINUE where it left off: keep parsing. After a failover
    // the replication id changes while offsets go on.
    if (chunk.replid != replid_) {
      emit();
      replid_ = chunk.replid;
    }
    return;
  }
  if (phase_ == Phase::kStream && stream_) {
    LOG_WARN(
        "input %s: the command stream restarts at offset %llu (expected %llu)", ctx_->input.c_str(),
        static_cast<unsigned long long>(chunk.offset),
        static_cast<unsigned long long>(stream_base_ + stream_->offset() + stream_->pending()));
  }
  abandon_multi();
  emit();
  phase_ = Phase::kStream;
  streamed_ = began_ = true;
  replid_ = chunk.replid;
  stream_ = std::make_unique<resp::CommandStreamParser>();
  stream_base_ = chunk.offset;
  in_multi_ = false;
  if (chunk.db >= 0) db_ = chunk.db;  // resuming mid-stream: the DB the checkpoint recorded
  // A stream position (even with no command yet) is applied once everything before it is.
  PacketPtr& p = current();
  p->end.phase = SourcePosition::Phase::kStream;
  p->end.offset = chunk.offset;
  emit();
}

void ParseStage::feed_stream(const SourceChunk& chunk) {
  uint64_t expect = stream_base_ + stream_->offset() + stream_->pending();
  if (chunk.offset != expect) {
    fail(Status::corruption("command stream: got bytes at offset " + std::to_string(chunk.offset) +
                            ", expected " + std::to_string(expect)));
    return;
  }
  Status st = stream_->feed(chunk.data, [&](const resp::CommandStreamParser::Command& c) {
    uint64_t end = stream_base_ + stream_->offset() + c.bytes.size();
    on_command(c.bytes, *c.args, end);
  });
  if (!st.is_ok()) {
    fail(st);
    return;
  }
  if (!in_multi_ && cur_) emit();
}

void ParseStage::on_command(std::string_view bytes, const std::vector<resp::ArgSpan>& args,
                            uint64_t end) {
  const bool in_multi = in_multi_ && cur_;
  const size_t before = in_multi ? cur_->cmds.size() : 0;
  add_command(bytes, args, end);
  // Inside a source MULTI each command keeps its own end too: one that goes alone on a
  // cluster target (a FLUSHALL) marks its own position, not its unit's (nodes/batch_stage.h).
  if (in_multi && in_multi_ && cur_) {
    for (size_t i = before; i < cur_->cmds.size(); i++)
      cur_->cmds.cmd(i).src_end = end;
  }
}

// A command that names a DB, with targetDb / targetDbMap: rewritten for the target's DBs.
// False when it is not one of them (it goes on as any other command).
bool ParseStage::add_mapped(CommandList& cmds, std::string_view bytes,
                            const std::vector<resp::ArgSpan>& args, uint64_t end, uint16_t unit) {
  auto arg = [&](size_t i) { return bytes.substr(args[i].off, args[i].len); };
  std::string_view name = arg(0);
  const ReplayConfig& r = *ctx_->replay;
  if (is(name, "FLUSHALL")) {
    // Only the DBs this source writes to are emptied.
    std::set<int> dbs;
    for (int d = 0; d < 16; d++)
      dbs.insert(r.map_db(d));
    for (int d : dbs) {
      std::vector<std::string_view> rest;
      if (args.size() > 1) rest.push_back(arg(1));
      add_for_target(cmds, "FLUSHDB", rest, d, 0);
    }
    if (!in_multi_) cmds.end_unit(end);
    maybe_emit();
    return true;
  }
  if (is(name, "SWAPDB") && args.size() == 3) {
    int64_t a, b;
    if (parse_int(arg(1), &a) && parse_int(arg(2), &b)) {
      int ma = r.map_db(static_cast<int>(a)), mb = r.map_db(static_cast<int>(b));
      if (ma == mb) {
        LOG_WARN(
            "input %s: SWAPDB %lld %lld at offset %llu cannot be replayed: both DBs map "
            "to target DB %d",
            ctx_->input.c_str(), static_cast<long long>(a), static_cast<long long>(b),
            static_cast<unsigned long long>(end), ma);
        ctx_->counters->commands_filtered++;
        return true;
      }
      const std::string sa = std::to_string(ma), sb = std::to_string(mb);
      add_for_target(cmds, "SWAPDB", {sa, sb}, -1, unit);
      if (unit) cmds.end_unit(end);
      maybe_emit();
      return true;
    }
  }
  if (is(name, "MOVE") && args.size() == 3) {
    int64_t to;
    if (parse_int(arg(2), &to)) {
      cmds.add({"MOVE", arg(1), std::to_string(r.map_db(static_cast<int>(to)))}, r.map_db(db_),
               unit);
      if (unit) cmds.end_unit(end);
      maybe_emit();
      return true;
    }
  }
  if (is(name, "COPY")) {
    for (size_t i = 3; i + 1 < args.size(); i++) {
      int64_t to;
      if (is(arg(i), "DB") && parse_int(arg(i + 1), &to)) {
        cmds.begin();
        for (size_t j = 0; j < args.size(); j++) {
          if (j == i + 1) {
            cmds.arg(std::to_string(r.map_db(static_cast<int>(to))));
          } else {
            cmds.arg(arg(j));
          }
        }
        cmds.end(r.map_db(db_), unit);
        if (unit) cmds.end_unit(end);
        maybe_emit();
        return true;
      }
    }
  }
  return false;
}

void ParseStage::add_command(std::string_view bytes, const std::vector<resp::ArgSpan>& args,
                             uint64_t end) {
  if (phase_ != Phase::kStream) return;
  if (!args.empty() && !in_multi_ && is(bytes.substr(args[0].off, args[0].len), "RESTORE-ASKING")) {
    // A key a slot migration brought in starts a packet (it waits for the other inputs: what
    // came before it must not wait with it, nor claim a position past it).
    if (cur_ && !cur_->cmds.empty() &&
        !(cur_->cmds.cmd(cur_->cmds.size() - 1).flags & CommandList::kImported)) {
      emit();
    }
  }
  PacketPtr& p = current();
  if (!in_multi_) p->end.offset = end;
  if (args.empty()) return;
  if (in_multi_ && p->cmds.bytes() > ctx_->replay->max_inflight_bytes / 2) {
    // A source transaction is one unit: it must fit in memory whole to stay atomic.
    fail(Status::not_supported(
        "command stream: a source MULTI ... EXEC before offset " + std::to_string(end) +
        " holds more than " + std::to_string(ctx_->replay->max_inflight_bytes / 2) +
        " bytes (half of output.replay.maxInflightBytes), which ferry must hold whole to "
        "keep it atomic: raise maxInflightBytes"));
    return;
  }
  auto arg = [&](size_t i) { return bytes.substr(args[i].off, args[i].len); };
  std::string_view name = arg(0);
  const ReplayConfig& r = *ctx_->replay;
  const uint16_t unit = in_multi_ ? 0 : CommandList::kUnitEnd;
  ctx_->counters->commands_received++;
  p->commands_in++;
  CommandList& cmds = p->cmds;

  if (is(name, "SELECT")) {
    int64_t db;
    if (args.size() != 2 || !parse_int(arg(1), &db) || db < 0) {
      fail(Status::corruption("command stream: malformed SELECT before offset " +
                              std::to_string(end)));
      return;
    }
    db_ = static_cast<int>(db);
    return;
  }
  if (is(name, "MULTI")) {
    in_multi_ = true;
    multi_start_ = cmds.size();
    cmds.add_raw(bytes, args, -1, CommandList::kMulti);
    return;
  }
  if (is(name, "EXEC")) {
    cmds.add_raw(bytes, args, -1, CommandList::kExec);
    cmds.end_unit(end);
    in_multi_ = false;
    p->end.offset = end;
    maybe_emit();
    return;
  }
  if (ctx_->source_cluster && (is(name, "FLUSHALL") || is(name, "FLUSHDB"))) {
    // One shard's flush: on a target that holds every shard's keys, only its slots' keys.
    if (add_slot_flush(cmds, name, unit)) {
      if (unit) cmds.end_unit(end);
      maybe_emit();
    }
    return;
  }
  if (r.has_db_mapping() && add_mapped(cmds, bytes, args, end, unit)) return;
  const int db = r.map_db(db_);
  if (is(name, "RESTORE-ASKING") && args.size() >= 4) {
    // A key a slot migration brought into the source shard: RESTORE REPLACE (a retried
    // MIGRATE may find it there), sent once the exporter's DEL of it was applied
    // (pipeline/migration_barrier.h).
    bool replace = false;
    cmds.begin();
    cmds.arg("RESTORE");
    for (size_t i = 1; i < args.size(); i++) {
      replace |= i >= 4 && is(arg(i), "REPLACE");
      cmds.arg(arg(i));
    }
    if (!replace) cmds.arg("REPLACE");
    cmds.end(db, unit | CommandList::kImported);
    if (unit) cmds.end_unit(end);
    maybe_emit();
    return;
  }
  if (is(name, "FLUSHALL") || is(name, "FLUSHDB") || is(name, "SWAPDB")) {
    std::vector<std::string_view> rest;
    for (size_t i = 1; i < args.size(); i++)
      rest.push_back(arg(i));
    const int runs_in = is(name, "FLUSHDB") ? db : -1;
    if (touches_checkpoints(name, rest, runs_in)) {
      add_keeping_checkpoints(cmds, name, rest, runs_in < 0 ? ckpt::kDb : runs_in, unit);
      if (unit) cmds.end_unit(end);
      maybe_emit();
      return;
    }
  }
  bool db_free = is(name, "FLUSHALL") || is(name, "SWAPDB") || is(name, "PING") ||
                 is(name, "REPLCONF") || is(name, "FUNCTION") || is(name, "SCRIPT") ||
                 is(name, "PUBLISH");
  cmds.add_raw(bytes, args, db_free ? -1 : db, unit);
  if (unit) cmds.end_unit(end);
  maybe_emit();
}

}  // namespace ferry
