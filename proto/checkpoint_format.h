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

#include <string>
#include <string_view>

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
    "  saved[k] = redis.call('HGETALL', k) "
    "end "
    "redis.call('SELECT', here) "
    "local r = redis.call(unpack(ARGV, 2)) "
    "if string.upper(ARGV[2]) == 'SWAPDB' then "
    "  local other = ARGV[3] == '0' and ARGV[4] or ARGV[3] "
    "  redis.call('SELECT', other) "
    "  for k, _ in pairs(saved) do redis.call('DEL', k) end "
    "end "
    "redis.call('SELECT', 0) "
    "for k, fields in pairs(saved) do "
    "  redis.call('DEL', k) "
    "  redis.call('HSET', k, unpack(fields)) "
    "end "
    "redis.call('SELECT', here) "
    "return r";

}  // namespace ferry::ckpt
