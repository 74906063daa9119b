// The checkpoint ferry keeps in the target: one hash per input, `ferry-checkpoint:<input>`
// in DB 0 (`ferry-checkpoint:{ferry}:<input>` on a cluster target), holding the applied source
// position and the sequence number of the last batch that wrote it. Its key, its fields and the
// scripts that read it live here, shared by the code that writes it (nodes/checkpoint.cc), the
// writer that asks it what committed (net/target_writer.cc) and the start-up that resumes from it
// (pipeline/).
//
// Versions: 1 — the fields below (a hash without `version` is version 1). A newer ferry reads
// every older version; this ferry refuses a checkpoint of a newer one, saying so.
#pragma once

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

#include "proto/crc16.h"

namespace ferry::ckpt {

constexpr std::string_view kKeyPrefix = "ferry-checkpoint:";
constexpr int kDb = 0;
constexpr int kVersion = 1;

// On a cluster target every checkpoint carries this hash tag: all of them live in one slot,
// on one master, so that one SCAN finds them and RENAME between them works.
constexpr std::string_view kClusterTag = "{ferry}:";

inline std::string key(std::string_view input, bool cluster = false) {
  return std::string(kKeyPrefix) + std::string(cluster ? kClusterTag : "") + std::string(input);
}
inline bool is_key(std::string_view key) {
  return key.substr(0, kKeyPrefix.size()) == kKeyPrefix;
}
// The input a checkpoint key (is_key) belongs to.
inline std::string_view input_of(std::string_view key) {
  key.remove_prefix(kKeyPrefix.size());
  if (key.substr(0, kClusterTag.size()) == kClusterTag) key.remove_prefix(kClusterTag.size());
  return key;
}

// Fields of the hash.
constexpr std::string_view kVersionField = "version";
constexpr std::string_view kPhase = "phase";  // "rdb" or "stream"
constexpr std::string_view kReplid = "replid";
constexpr std::string_view kOffset = "offset";
constexpr std::string_view kRdbStart = "rdb_start";
constexpr std::string_view kDbField = "db";
constexpr std::string_view kGen = "gen";
constexpr std::string_view kSeq = "seq";    // the last batch that committed (transaction mode)
constexpr std::string_view kTime = "time";  // wall clock ms of the write, for people

// Into a cluster target in transaction mode every slot has a checkpoint of its own, a string
// in that slot: ferry-checkpoint:{<slot_tag(slot)>}:<input> = "<gen>:<r|s>:<offset>:<batch>",
// the position (cache generation, RDB or stream, offset) up to which the input's commands of
// that slot are applied, and the batch that wrote it. The apply script below writes it with the
// data, atomically; the input's hash (key(input, true)) is then the low watermark every slot has
// reached.
inline std::string slot_key(std::string_view input, int slot) {
  return std::string(kKeyPrefix) + "{" + std::string(slot_tag(slot)) + "}:" + std::string(input);
}

struct SlotPosition {
  uint32_t gen = 0;
  bool rdb = false;  // in the full sync's RDB (offset = RDB bytes), else the stream
  uint64_t offset = 0;
  // The batch that wrote it (increasing for an input, across restarts): two batches never
  // write the same value, so a batch knows whether it committed even when it claims no
  // further than the one before (it held no whole unit). Not part of the position.
  uint64_t batch = 0;
  // Whether this position is at or past `o` in the input's history (generations in order,
  // within one the RDB before the stream).
  bool at_or_after(const SlotPosition& o) const {
    if (gen != o.gen) return gen > o.gen;
    if (rdb != o.rdb) return !rdb;
    return offset >= o.offset;
  }
};

inline std::string encode(const SlotPosition& p) {
  return std::to_string(p.gen) + (p.rdb ? ":r:" : ":s:") + std::to_string(p.offset) + ":" +
         std::to_string(p.batch);
}

inline bool decode(std::string_view text, SlotPosition* out) {
  size_t a = text.find(':');
  if (a == std::string_view::npos || a + 3 > text.size() || text[a + 2] != ':') return false;
  SlotPosition p;
  p.rdb = text[a + 1] == 'r';
  if (!p.rdb && text[a + 1] != 's') return false;
  const char* end = text.data() + text.size();
  auto g = std::from_chars(text.data(), text.data() + a, p.gen);
  auto o = std::from_chars(text.data() + a + 3, end, p.offset);
  if (g.ec != std::errc() || g.ptr != text.data() + a || o.ec != std::errc() || o.ptr == end ||
      *o.ptr != ':') {
    return false;
  }
  auto b = std::from_chars(o.ptr + 1, end, p.batch);
  if (b.ec != std::errc() || b.ptr != end) return false;
  *out = p;
  return true;
}

// A batch into one master of a cluster target, in transaction mode: its data and the
// checkpoints of the slots it writes, applied atomically (a script may touch keys of several
// slots of its node: allow-cross-slot-keys, Redis 7.0+). First, for every slot: its keys are
// all served here (EXISTS fails on a slot moved or being migrated away — the batch then
// applies nothing and answers TRYAGAIN), and its checkpoint is the one the batch follows
// (else FERRYFENCE: another process writes this input, or the target lost writes); then no
// key of keyExists: error exists (else FERRYEXISTS <n>); then every command, each answer
// (or error) in the array returned; then each slot's checkpoint moves to the batch's end.
// ARGV: end, nslots, nslots x (checkpoint key, the value it must have, nkeys, nkeys keys),
//       nprobes, nprobes keys, ncmds, ncmds x (argc, argc arguments).
constexpr std::string_view kApplyScript =
    "#!lua flags=allow-cross-slot-keys\n"
    "local i = 3 "
    "local slots = {} "
    "for s = 1, tonumber(ARGV[2]) do "
    "  local key, want, nkeys = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2]) "
    "  for k = 0, math.max(nkeys - 1, 0), 1000 do "
    "    local last = math.min(i + 2 + nkeys, i + 2 + k + 1000) "
    "    local here = redis.pcall('EXISTS', key, unpack(ARGV, i + 3 + k, last)) "
    "    if type(here) == 'table' and here.err then "
    "      return redis.error_reply('TRYAGAIN ferry: ' .. here.err) "
    "    end "
    "  end "
    "  local at = redis.call('GET', key) or '' "
    "  if at ~= want then "
    "    return redis.error_reply('FERRYFENCE ' .. key .. ' is at \"' .. at .. '\", not \"' .. "
    "        want .. '\"') "
    "  end "
    "  slots[s] = key "
    "  i = i + 3 + nkeys "
    "end "
    "local nprobes = tonumber(ARGV[i]) "
    "for p = 1, nprobes do "
    "  if redis.call('EXISTS', ARGV[i + p]) == 1 then return redis.error_reply('FERRYEXISTS ' .. "
    "p) end "
    "end "
    "i = i + 1 + nprobes "
    "local out = {} "
    "for c = 1, tonumber(ARGV[i]) do "
    "  local argc = tonumber(ARGV[i + 1]) "
    "  out[c] = redis.pcall(unpack(ARGV, i + 2, i + 1 + argc)) "
    "  i = i + 1 + argc "
    "end "
    "for s = 1, #slots do redis.call('SET', slots[s], ARGV[1]) end "
    "return out";
// After a command sent to every master (FLUSHALL, FUNCTION ...), on one master, once all
// that came before it there was answered: every slot checkpoint of the input on that master
// moves to the command's position — all of those slots' commands up to it are applied, and
// a replay leaves the command out there. (No shebang: a script may then touch undeclared
// keys of any slot of its node.) ARGV: the position, the slot checkpoint keys.
constexpr std::string_view kMarkSlotsScript =
    "for i = 2, #ARGV do redis.call('SET', ARGV[i], ARGV[1]) end return 1";

// unpack() passes at most this many arguments (Lua's C stack): a command with more goes in a
// batch of its own, outside the script.
constexpr uint32_t kApplyScriptMaxArgs = 7000;

// The fence, sent (after WATCH of the checkpoint) before every batch transaction: when the
// checkpoint's seq is not ARGV[1] — the batch before this one did not commit, or another
// process writes this input — it touches the watched checkpoint without changing it, so that
// the EXEC that follows returns nil and nothing of the batch is applied. Returns 1 when the
// batch may commit, else the seq it found ("none" without a checkpoint).
// KEYS: the checkpoint. ARGV: the seq the batch follows.
constexpr std::string_view kFenceScript =
    "local s = redis.call('HGET', KEYS[1], 'seq') "
    "if (s or '0') == ARGV[1] then return 1 end "
    "redis.call('HSET', KEYS[1], 'ferry-fence', '1') "
    "redis.call('HDEL', KEYS[1], 'ferry-fence') "
    "return 'seq ' .. (s or 'none')";

// The key probe of keyExists: error, sent before the batch that writes those keys (in the
// DB it selects): 0 when none of the keys exists, else the index of the first that does.
// The keys are arguments, not declared KEYS: on a cluster target they may be in different
// slots of one master, which a script may read (undeclared keys) but not declare.
// ARGV: the keys.
constexpr std::string_view kProbeScript =
    "for i = 1, #ARGV do "
    "  if redis.call('EXISTS', ARGV[i]) == 1 then return i end "
    "end "
    "return 0";

// A source's FLUSHALL, FLUSHDB of DB 0 or SWAPDB with DB 0, replayed so that the checkpoints
// of every input (ferry's and other processes') survive it: they are read, the command runs,
// and they are put back in DB 0 (and removed from where SWAPDB moved them).
// ARGV: the DB the connection is in, the command, its arguments.
constexpr std::string_view kKeepCheckpointsScript =
    "local here = ARGV[1] "
    "redis.call('SELECT', 0) "
    "local saved = {} "
    "for _, k in ipairs(redis.call('KEYS', 'ferry-checkpoint:*')) do "
    "  if redis.call('TYPE', k).ok == 'hash' then "
    "    saved[k] = redis.call('HGETALL', k) "
    "  else "
    "    saved[k] = redis.call('GET', k) "
    "  end "
    "end "
    "redis.call('SELECT', here) "
    "local r = redis.call(unpack(ARGV, 2)) "
    "if string.upper(ARGV[2]) == 'SWAPDB' then "
    "  local other = ARGV[3] == '0' and ARGV[4] or ARGV[3] "
    "  redis.call('SELECT', other) "
    "  for k, _ in pairs(saved) do redis.call('DEL', k) end "
    "end "
    "redis.call('SELECT', 0) "
    "for k, v in pairs(saved) do "
    "  redis.call('DEL', k) "
    "  if type(v) == 'table' then redis.call('HSET', k, unpack(v)) else redis.call('SET', k, v) "
    "end "
    "end "
    "redis.call('SELECT', here) "
    "return r";

}  // namespace ferry::ckpt
