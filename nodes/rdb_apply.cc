#include "nodes/rdb_apply.h"

#include "nodes/own_keys.h"

#include <charconv>
#include <set>

#include "common/bytes.h"
#include "common/log.h"
#include "proto/crc16.h"
#include "proto/crc64.h"
#include "proto/rdb_decoder.h"
#include "proto/rdb_format.h"

namespace ferry {
namespace {

constexpr uint32_t kMaxElementsPerCommand = 1024;
constexpr size_t kMaxBytesPerCommand = 1 << 20;
constexpr const char* kTempGroup = "ferry-tmp-group";

// Applies one piece of a key rebuilt in pieces, atomically and at most once: a piece sent
// again after a target reconnect is skipped, so RPUSH/APPEND never run twice.
// KEYS: tmp, progress. ARGV: piece index, then commands as [argc, name, args...]...
// The progress key holds the index of the last piece applied.
constexpr const char* kPieceScript =
    "local k = tonumber(ARGV[1]) "
    "local p = redis.call('GET', KEYS[2]) "
    "if k == 0 then redis.call('DEL', KEYS[1]) "
    "elseif p == false then return 0 "
    "elseif tonumber(p) >= k then return 0 "
    "elseif tonumber(p) ~= k - 1 then "
    "  return redis.error_reply('ferry: piece ' .. k .. ' of a rebuilt key came after piece ' .. "
    "p) "
    "end "
    "local i = 2 "
    "while i <= #ARGV do "
    "  local n = tonumber(ARGV[i]) "
    "  redis.call(unpack(ARGV, i + 1, i + n)) "
    "  i = i + n + 1 "
    "end "
    "redis.call('SET', KEYS[2], k) "
    "return 1";

// Moves the rebuilt temporary key into place with its TTL, honouring keyExists.
// KEYS: tmp, key [, progress]. ARGV: absolute TTL in ms or -1, mode (replace|ignore|error),
// index of the last piece or -1 for a key rebuilt in one go.
// Returns 0 when an existing key was kept, 1 when created, 2 when replaced, 3 when this
// ran before (sent again after a target reconnect).
constexpr const char* kFinishScript =
    "if ARGV[3] ~= '-1' then "
    "  local p = redis.call('GET', KEYS[3]) "
    "  if p == false then return 3 end "
    "  if p ~= ARGV[3] then "
    "    return redis.error_reply('ferry: rebuilt key incomplete: piece ' .. p .. ' of ' .. "
    "ARGV[3]) "
    "  end "
    "  redis.call('DEL', KEYS[3]) "
    "end "
    "local e = redis.call('exists', KEYS[2]) "
    "if e == 1 and ARGV[2] ~= 'replace' then redis.call('del', KEYS[1]) return 0 end "
    "redis.call('rename', KEYS[1], KEYS[2]) "
    "if ARGV[1] ~= '-1' then redis.call('pexpireat', KEYS[2], ARGV[1]) end "
    "return 1 + e";

// Where a temporary key of `prefix` for `key` lives: in the same cluster slot as `key`.
std::string slot_mate(std::string_view prefix, std::string_view key) {
  std::string_view tag = key_hash_tag(key);
  std::string out(prefix);
  if (tag.size() != key.size()) {
    out += "{" + std::string(tag) + "}:" + std::string(key);  // reuse the key's hash tag
  } else if (key.find('{') == std::string_view::npos && key.find('}') == std::string_view::npos) {
    out += "{" + std::string(key) + "}";
  } else {
    out += std::string(key);  // odd braces: only meaningful for a standalone target
  }
  return out;
}

std::string format_score(double d) {
  char buf[32];
  auto res = std::to_chars(buf, buf + sizeof(buf), d);  // shortest exact round trip
  return std::string(buf, res.ptr);
}

// Counts elements only: used to check a value before it is sent with RESTORE.
class NullVisitor : public rdb::ValueVisitor {};

// Builds the commands that recreate a value in `tmp`.
class CommandVisitor : public rdb::ValueVisitor {
 public:
  CommandVisitor(CommandList* out, std::string_view tmp, int db, const TargetCaps& caps,
                 bool first_piece, bool track_ids)
      : out_(out),
        tmp_(tmp),
        db_(db),
        caps_(caps),
        first_piece_(first_piece),
        track_ids_(track_ids) {}

  void on_string(std::string_view v) override {
    flush();
    out_->add({"SET", tmp_, v}, db_, 0);
  }
  void on_string_bytes(std::string_view chunk) override {
    flush();
    if (first_piece_) {
      out_->add({"SET", tmp_, chunk}, db_, 0);
      first_piece_ = false;
    } else {
      out_->add({"APPEND", tmp_, chunk}, db_, 0);
    }
  }
  void on_list_item(std::string_view v) override {
    open("RPUSH");
    out_->arg(v);
    maybe_flush();
  }
  void on_set_member(std::string_view v) override {
    open("SADD");
    out_->arg(v);
    maybe_flush();
  }
  void on_zset_member(std::string_view m, double score) override {
    open("ZADD");
    out_->arg(format_score(score));
    out_->arg(m);
    maybe_flush();
  }
  void on_hash_field(std::string_view f, std::string_view v, int64_t expire_ms) override {
    open("HSET");
    out_->arg(f);
    out_->arg(v);
    if (expire_ms >= 0) {
      if (caps_.hash_field_ttl()) {
        field_ttls_.emplace_back(std::string(f), expire_ms);
      } else {
        field_ttls_dropped_++;
      }
    }
    maybe_flush();
  }
  void on_stream_entry(
      const rdb::StreamId& id,
      const std::vector<std::pair<std::string_view, std::string_view>>& fields) override {
    flush();
    out_->begin(static_cast<uint32_t>(3 + 2 * fields.size()));
    out_->arg("XADD");
    out_->arg(tmp_);
    out_->arg(id.to_string());
    for (const auto& [f, v] : fields) {
      out_->arg(f);
      out_->arg(v);
    }
    out_->end(db_, 0);
    if (track_ids_) live_ids_.insert(id);
  }
  void on_stream_meta(const rdb::StreamMeta& m) override {
    flush();
    if (m.length == 0) {
      // No entry was added: create the (empty) stream through a throw-away group.
      out_->add({"XGROUP", "CREATE", tmp_, kTempGroup, "0", "MKSTREAM"}, db_, 0);
      out_->add({"XGROUP", "DESTROY", tmp_, kTempGroup}, db_, 0);
    }
    if (m.has_extended && caps_.major >= 7) {
      out_->add({"XSETID", tmp_, m.last_id.to_string(), "ENTRIESADDED",
                 std::to_string(m.entries_added), "MAXDELETEDID", m.max_deleted_id.to_string()},
                db_, 0);
    } else {
      out_->add({"XSETID", tmp_, m.last_id.to_string()}, db_, 0);
    }
  }
  void on_stream_group(const rdb::StreamGroup& g) override {
    flush();
    if (g.entries_read >= 0 && caps_.major >= 7) {
      out_->add({"XGROUP", "CREATE", tmp_, g.name, g.last_id.to_string(), "ENTRIESREAD",
                 std::to_string(g.entries_read)},
                db_, 0);
    } else {
      out_->add({"XGROUP", "CREATE", tmp_, g.name, g.last_id.to_string()}, db_, 0);
    }
    for (const auto& c : g.consumers) {
      if (caps_.major >= 7) out_->add({"XGROUP", "CREATECONSUMER", tmp_, g.name, c.name}, db_, 0);
    }
    for (const auto& p : g.pending) {
      if (track_ids_ && !live_ids_.count(p.id)) {
        pel_unrecreatable_++;  // XCLAIM cannot point a PEL entry at a deleted message
        continue;
      }
      out_->add({"XCLAIM", tmp_, g.name, p.consumer, "0", p.id.to_string(), "TIME",
                 std::to_string(p.delivery_time), "RETRYCOUNT", std::to_string(p.delivery_count),
                 "FORCE", "JUSTID"},
                db_, 0);
    }
  }

  void flush() {
    if (!cmd_) return;
    out_->end(db_, 0);
    cmd_ = nullptr;
    for (const auto& [f, t] : field_ttls_) {
      out_->add({"HPEXPIREAT", tmp_, std::to_string(t), "FIELDS", "1", f}, db_, 0);
    }
    field_ttls_.clear();
  }

  uint64_t field_ttls_dropped() const { return field_ttls_dropped_; }
  uint64_t pel_unrecreatable() const { return pel_unrecreatable_; }

 private:
  void open(const char* cmd) {
    if (cmd_ == cmd) return;
    flush();
    cmd_ = cmd;
    out_->begin();
    out_->arg(cmd);
    out_->arg(tmp_);
  }
  void maybe_flush() {
    if (out_->pending_args() >= kMaxElementsPerCommand + 2 ||
        out_->pending_bytes() >= kMaxBytesPerCommand) {
      flush();
    }
  }

  CommandList* out_;
  std::string_view tmp_;
  int db_;
  const TargetCaps& caps_;
  bool first_piece_;
  bool track_ids_;
  const char* cmd_ = nullptr;
  std::vector<std::pair<std::string, int64_t>> field_ttls_;
  std::set<rdb::StreamId> live_ids_;
  uint64_t field_ttls_dropped_ = 0;
  uint64_t pel_unrecreatable_ = 0;
};

bool is_stream(uint8_t t) {
  return t == rdb::kTypeStreamListpacks || t == rdb::kTypeStreamListpacks2 ||
         t == rdb::kTypeStreamListpacks3;
}

}  // namespace

RdbApplier::RdbApplier(const ReplayConfig& replay, const TargetCaps& caps, RdbApplyStats* stats,
                       std::string input_name)
    : replay_(replay), caps_(caps), stats_(stats), input_(std::move(input_name)) {}

std::string RdbApplier::temp_key(std::string_view key) {
  return slot_mate(kTempPrefix, key);
}

bool RdbApplier::can_restore(const RdbItem& item) const {
  return replay_.replay_rdb_enable_restore && item.piece == rdb::Piece::kWhole &&
         rdb::min_version_for_type(item.type) <= caps_.rdb_version &&
         item.value_len + 10 <= replay_.max_proto_bulk_len;
}

RdbApplier::Strategy RdbApplier::choose(const RdbItem& item) const {
  const bool whole = item.piece == rdb::Piece::kWhole;
  // A whole string goes as SET: the target parses it faster than a RESTORE payload (no
  // CRC64, no LZF), and ferry need not build the payload. RESTORE only when it carries
  // what SET cannot: the key's LRU idle time or LFU frequency.
  if (item.type == rdb::kTypeString && whole && item.freq < 0 && item.idle_s < 0 &&
      caps_.set_pxat()) {
    return Strategy::kSet;
  }
  if (can_restore(item) || item.type == rdb::kTypeModule2) return Strategy::kRestore;
  if (item.type == rdb::kTypeString && whole) return Strategy::kSet;
  return Strategy::kRebuild;
}

Status RdbApplier::apply(const RdbItem& item, std::string_view key, std::string_view value,
                         int64_t load_time_ms, CommandList* out) const {
  if (item.kind == RdbItem::Kind::kFunction) return apply_function(item, value, out);
  if (item.expire_ms >= 0 && item.expire_ms <= load_time_ms) {
    if (item.last_piece) stats_->expired_skipped++;
    return Status::ok();
  }
  Record rec{item, key, value, replay_.map_db(static_cast<int>(item.db)), load_time_ms};
  Status st;
  switch (choose(item)) {
    case Strategy::kSet:
      st = write_set(rec, out);
      break;
    case Strategy::kRestore:
      st = write_restore(rec, out);
      break;
    case Strategy::kRebuild:
      st = write_rebuilt(rec, out);
      break;
  }
  if (st.is_ok()) return st;
  return st.with_context("RDB: key " + printable(key) + " (" + rdb::type_name(item.type) + ", db " +
                         std::to_string(item.db) + ", at offset " +
                         std::to_string(item.key_offset) + ")");
}

void RdbApplier::skip_empty(const Record& r) const {
  stats_->empty_skipped++;
  LOG_WARN("input %s: skipping empty key %s (%s) as Redis does", input_.c_str(),
           printable(r.key).c_str(), rdb::type_name(r.item.type));
}

Status RdbApplier::write_restore(const Record& r, CommandList* out) const {
  // Check the value whole before it is sent as an opaque payload.
  rdb::RdbDecoder decoder;
  rdb::DecodeResult res;
  NullVisitor check;
  const RdbItem& item = r.item;
  FERRY_RETURN_IF_ERROR(decoder.decode(item.type, item.piece, r.value, &check, &res));
  if (res.elements == 0 && !is_stream(item.type) && item.type != rdb::kTypeString &&
      item.type != rdb::kTypeModule2) {
    skip_empty(r);
    return Status::ok();
  }
  if (!can_restore(item)) {
    return Status::not_supported(
        "a module value can only be written with RESTORE, which this target cannot take");
  }
  restore(item, r.key, r.value, r.db, r.load_time_ms, out);
  stats_->restored++;
  return Status::ok();
}

Status RdbApplier::write_set(const Record& r, CommandList* out) const {
  // One command, no temporary key needed.
  rdb::RdbDecoder decoder;
  rdb::DecodeResult res;
  std::string str;
  struct StringGrab : rdb::ValueVisitor {
    std::string* out;
    void on_string(std::string_view v) override { out->assign(v); }
  } grab;
  grab.out = &str;
  const RdbItem& item = r.item;
  FERRY_RETURN_IF_ERROR(decoder.decode(item.type, item.piece, r.value, &grab, &res));
  const KeyExists mode = replay_.key_exists;
  const bool log_keys = replay_.key_exists_log;
  const bool nx = mode != KeyExists::kReplace;
  if (!nx && log_keys) {
    out->add({"EXISTS", r.key}, r.db, CommandList::kLogKey, ReplyCheck::kExistsProbe);
  }
  ReplyCheck check =
      !nx ? ReplyCheck::kAny
          : (mode == KeyExists::kIgnore ? ReplyCheck::kNilIgnored : ReplyCheck::kNilFatal);
  out->begin();
  out->arg("SET");
  out->arg(r.key);
  out->arg(str);
  if (item.expire_ms >= 0) {
    if (caps_.set_pxat()) {
      out->arg("PXAT");
      out->arg_int(item.expire_ms);
    } else {
      out->arg("PX");
      out->arg_int(std::max<int64_t>(1, item.expire_ms - r.load_time_ms));
    }
  }
  if (nx) out->arg("NX");
  out->end(r.db, log_keys ? CommandList::kLogKey : 0, check);
  if (mode == KeyExists::kError) out->probe_last(1);
  out->end_unit(item.end_offset);
  stats_->rebuilt++;
  return Status::ok();
}

// Rebuild in a temporary key, then move it into place. A key in pieces is rebuilt piece by
// piece, each piece one script that runs at most once.
Status RdbApplier::write_rebuilt(const Record& r, CommandList* out) const {
  const RdbItem& item = r.item;
  const bool whole = item.piece == rdb::Piece::kWhole;
  const std::string tmp = temp_key(r.key);
  const size_t first_cmd = out->size();
  CommandList piece_cmds;
  CommandList* target = whole ? out : &piece_cmds;
  if (whole) out->add({"DEL", tmp}, r.db, 0);
  CommandVisitor visitor(target, tmp, r.db, caps_, item.piece_index == 0, whole);
  rdb::RdbDecoder decoder;
  rdb::DecodeResult res;
  Status st = decoder.decode(item.type, item.piece, r.value, &visitor, &res);
  if (!st.is_ok()) {
    out->truncate(first_cmd);  // leave nothing half-built behind
    return st;
  }
  visitor.flush();
  if (whole && res.elements == 0 && !is_stream(item.type)) {
    // An empty value: Redis skips it, and so do we.
    out->truncate(first_cmd);
    skip_empty(r);
    return Status::ok();
  }
  if (!whole) append_piece(r, tmp, piece_cmds, out);
  report_losses(r, visitor.field_ttls_dropped(), visitor.pel_unrecreatable());
  if (item.last_piece) {
    finish(item, r.key, tmp, r.db, out);
    stats_->rebuilt++;
  }
  out->end_unit(item.end_offset);
  return Status::ok();
}

// One piece of a key rebuilt in pieces, as one script that applies it at most once.
void RdbApplier::append_piece(const Record& r, const std::string& tmp, const CommandList& cmds,
                              CommandList* out) const {
  uint64_t argc = 6;
  for (size_t i = 0; i < cmds.size(); i++)
    argc += 1 + cmds.cmd(i).argc;
  out->begin(static_cast<uint32_t>(argc));
  out->arg("EVAL");
  out->arg(kPieceScript);
  out->arg("2");
  out->arg(tmp);
  out->arg(slot_mate(kProgressPrefix, r.key));
  out->arg_int(r.item.piece_index);
  for (size_t i = 0; i < cmds.size(); i++) {
    const CommandList::Cmd& c = cmds.cmd(i);
    out->arg_int(c.argc);
    for (uint32_t a = 0; a < c.argc; a++)
      out->arg(cmds.arg(c, a));
  }
  out->end(r.db, 0);
}

// What a Redis 7.0 target cannot hold, counted and logged.
void RdbApplier::report_losses(const Record& r, uint64_t field_ttls_dropped,
                               uint64_t pel_unrecreatable) const {
  if (field_ttls_dropped > 0) {
    stats_->field_ttls_dropped += field_ttls_dropped;
    LOG_WARN(
        "input %s: key %s: %llu hash field TTL(s) dropped: the target (Redis %d.%d) has no "
        "field expiry",
        input_.c_str(), printable(r.key).c_str(),
        static_cast<unsigned long long>(field_ttls_dropped), caps_.major, caps_.minor);
  }
  if (pel_unrecreatable > 0) {
    stats_->pel_unrecreatable += pel_unrecreatable;
    LOG_WARN(
        "input %s: key %s: %llu pending entr(ies) of deleted stream messages cannot be "
        "recreated with commands",
        input_.c_str(), printable(r.key).c_str(),
        static_cast<unsigned long long>(pel_unrecreatable));
  }
}

void RdbApplier::finish(const RdbItem& item, std::string_view key, const std::string& tmp, int db,
                        CommandList* out) const {
  const KeyExists mode = replay_.key_exists;
  ReplyCheck check = mode == KeyExists::kError ? ReplyCheck::kKeptFatal : ReplyCheck::kKeptIgnored;
  uint16_t flags = replay_.key_exists_log ? CommandList::kLogKey : 0;
  if (item.piece == rdb::Piece::kWhole) {
    out->add(
        {"EVAL", kFinishScript, "2", tmp, key, std::to_string(item.expire_ms), name_of(mode), "-1"},
        db, flags, check);
  } else {
    out->add({"EVAL", kFinishScript, "3", tmp, key, slot_mate(kProgressPrefix, key),
              std::to_string(item.expire_ms), name_of(mode), std::to_string(item.piece_index)},
             db, flags, check);
  }
  if (mode == KeyExists::kError) out->probe_last(4);  // EVAL script numkeys tmp key
}

void RdbApplier::restore(const RdbItem& item, std::string_view key, std::string_view value, int db,
                         int64_t load_time_ms, CommandList* out) const {
  const KeyExists mode = replay_.key_exists;
  bool replace = mode == KeyExists::kReplace;
  bool log_keys = replay_.key_exists_log;
  if (replace && log_keys)
    out->add({"EXISTS", key}, db, CommandList::kLogKey, ReplyCheck::kExistsProbe);
  // DUMP payload: type, value, RDB version (2 bytes LE), CRC64 of all that (8 bytes LE).
  const char type = static_cast<char>(item.type);
  char footer[10];
  store_le16(footer, static_cast<uint16_t>(caps_.rdb_version));
  uint64_t crc = crc64(crc64(crc64(0, &type, 1), value.data(), value.size()), footer, 2);
  store_le64(footer + 2, crc);
  bool abs = caps_.abs_ttl();
  int64_t ttl = 0;
  if (item.expire_ms >= 0) {
    ttl = abs ? item.expire_ms : std::max<int64_t>(1, item.expire_ms - load_time_ms);
  }
  uint32_t argc = 4 + (replace ? 1 : 0) + (abs && item.expire_ms >= 0 ? 1 : 0) +
                  (item.freq >= 0 || item.idle_s >= 0 ? 2 : 0);
  out->begin(argc);
  out->arg("RESTORE");
  out->arg(key);
  out->arg_int(ttl);
  out->arg_parts({std::string_view(&type, 1), value, std::string_view(footer, sizeof(footer))});
  if (replace) out->arg("REPLACE");
  if (abs && item.expire_ms >= 0) out->arg("ABSTTL");
  if (item.freq >= 0) {
    out->arg("FREQ");
    out->arg_int(item.freq);
  } else if (item.idle_s >= 0) {
    out->arg("IDLETIME");
    out->arg_int(item.idle_s);
  }
  ReplyCheck check = replace ? ReplyCheck::kAny
                             : (mode == KeyExists::kIgnore ? ReplyCheck::kBusyKeyIgnored
                                                           : ReplyCheck::kBusyKeyFatal);
  out->end(db, log_keys ? CommandList::kLogKey : 0, check);
  if (mode == KeyExists::kError) out->probe_last(1);
  out->end_unit(item.end_offset);
}

Status RdbApplier::apply_function(const RdbItem& item, std::string_view code,
                                  CommandList* out) const {
  const FunctionExists mode = replay_.function_exists;
  if (mode == FunctionExists::kFlush && item.first_function) {
    out->add({"FUNCTION", "FLUSH"}, -1, 0);
  }
  if (mode == FunctionExists::kReplace) {
    out->add({"FUNCTION", "LOAD", "REPLACE", code}, -1, 0);
  } else {
    out->add({"FUNCTION", "LOAD", code}, -1, 0);
  }
  out->end_unit(item.end_offset);
  stats_->functions++;
  return Status::ok();
}

}  // namespace ferry
