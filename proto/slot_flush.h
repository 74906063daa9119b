// Emptying one source shard's slots on the target. A source cluster's FLUSHALL or FLUSHDB is
// one shard's: on a target that holds every shard's keys it must remove only the keys of that
// shard's slots; so must a shard's full sync that starts over a history ferry applied before
// (else a key the old history wrote and the new RDB lacks stays on the target). The parse
// stage writes either as the standalone form below; on a cluster target the route stage
// turns it into the per-master form, one command for each master with some of those slots.
// Both keep ferry's checkpoints (keys under ckpt::kKeyPrefix), which live in slots too. Both
// are idempotent: run again after a crash, they find less to delete, never more.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "proto/checkpoint_format.h"

namespace ferry::slot_flush {

// Standalone target: SCAN the connection's DB and UNLINK every key whose slot (CRC16 with
// hash tags, as Redis computes it) is listed. Slow for a big DB (one pass in a script, the
// target busy meanwhile, as it is for a FLUSHALL), but it runs only at a shard's flush or a
// shard's new full sync. In transaction mode a reply that timed out is not sent again (the
// checkpoint says the batch committed); otherwise it is, as any batch is then.
// ARGV: the source command's name (for reports only), the slots ("0-5460,10923" style).
inline const std::string kScanScript =
    "local want = {} "
    "for part in string.gmatch(ARGV[2], '[^,]+') do "
    "  local a, b = string.match(part, '^(%d+)-(%d+)$') "
    "  if not a then a, b = part, part end "
    "  for s = tonumber(a), tonumber(b) do want[s] = true end "
    "end "
    "local T = {} "
    "for i = 0, 255 do "
    "  local c = bit.lshift(i, 8) "
    "  for _ = 1, 8 do "
    "    if bit.band(c, 0x8000) ~= 0 then c = bit.bxor(bit.lshift(c, 1), 0x1021) "
    "    else c = bit.lshift(c, 1) end "
    "  end "
    "  T[i] = bit.band(c, 0xffff) "
    "end "
    "local function slot(k) "
    "  local a = string.find(k, '{', 1, true) "
    "  if a then "
    "    local b = string.find(k, '}', a + 1, true) "
    "    if b and b > a + 1 then k = string.sub(k, a + 1, b - 1) end "
    "  end "
    "  local c = 0 "
    "  for i = 1, #k do "
    "    c = bit.band(bit.bxor(bit.lshift(c, 8), T[bit.bxor(bit.rshift(c, 8), string.byte(k, "
    "i))]), "
    "        0xffff) "
    "  end "
    "  return bit.band(c, 16383) "
    "end "
    "local cursor, deleted = '0', 0 "
    "repeat "
    "  local r = redis.call('SCAN', cursor, 'COUNT', 1000) "
    "  cursor = r[1] "
    "  for _, k in ipairs(r[2]) do "
    "    if string.sub(k, 1, " +
    std::to_string(ckpt::kKeyPrefix.size()) + ") ~= '" + std::string(ckpt::kKeyPrefix) +
    "' and want[slot(k)] then "
    "      redis.call('UNLINK', k) "
    "      deleted = deleted + 1 "
    "    end "
    "  end "
    "until cursor == '0' "
    "return deleted";

// One master of a cluster target: for each slot, first that it is served here (EXISTS of a
// key of the slot fails on a slot moved or being migrated away: TRYAGAIN, nothing deleted —
// the input then restarts with the new slot map), then UNLINK its keys, a thousand at a time
// (CLUSTER GETKEYSINSLOT). No shebang: the script may touch undeclared keys of any slot of
// its node.
// ARGV: the source command's name (for reports only), then pairs: a slot, a key in it.
inline const std::string kClusterScript =
    "for i = 2, #ARGV, 2 do "
    "  local here = redis.pcall('EXISTS', ARGV[i + 1]) "
    "  if type(here) == 'table' and here.err then "
    "    return redis.error_reply('TRYAGAIN ferry: ' .. here.err) "
    "  end "
    "end "
    "local deleted = 0 "
    "for i = 2, #ARGV, 2 do "
    "  local kept = 0 "
    "  while true do "
    "    local keys = redis.call('CLUSTER', 'GETKEYSINSLOT', tonumber(ARGV[i]), kept + 1000) "
    "    local gone = {} "
    "    for _, k in ipairs(keys) do "
    "      if string.sub(k, 1, " +
    std::to_string(ckpt::kKeyPrefix.size()) + ") ~= '" + std::string(ckpt::kKeyPrefix) +
    "' then gone[#gone + 1] = k end "
    "    end "
    "    if #gone == 0 then break end "
    "    kept = #keys - #gone "
    "    redis.call('UNLINK', unpack(gone)) "
    "    deleted = deleted + #gone "
    "  end "
    "end "
    "return deleted";

// A key in `slot`, for kClusterScript's check that the slot is served.
inline std::string probe_key(int slot) {
  return "{" + std::string(slot_tag(slot)) + "}";
}

// The commands, for `why` (the source command's name, or what the flush is for).
inline std::vector<std::string> scan_command(std::string_view why, std::string_view slots) {
  return {"EVAL", kScanScript, "0", std::string(why), std::string(slots)};
}
inline std::vector<std::string> cluster_command(std::string_view why,
                                                const std::vector<int>& slots) {
  std::vector<std::string> argv = {"EVAL", kClusterScript, "0", std::string(why)};
  for (int s : slots) {
    argv.push_back(std::to_string(s));
    argv.push_back(probe_key(s));
  }
  return argv;
}

}  // namespace ferry::slot_flush
