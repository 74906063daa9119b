#include "nodes/command_stats.h"

#include <algorithm>
#include <iterator>
#include <string>

#include "common/bytes.h"

namespace ferry {
namespace {

// Sorted, lower case; index 0 is "other". The commands a replication stream carries (writes,
// scripts, transactions, keep-alives) — what a user wants to see broken down.
constexpr std::string_view kNames[] = {
    "other",
    "append",
    "bitfield",
    "bitop",
    "blmove",
    "blmpop",
    "blpop",
    "brpop",
    "brpoplpush",
    "bzmpop",
    "bzpopmax",
    "bzpopmin",
    "copy",
    "decr",
    "decrby",
    "del",
    "eval",
    "evalsha",
    "exec",
    "expire",
    "expireat",
    "fcall",
    "flushall",
    "flushdb",
    "function",
    "geoadd",
    "georadius",
    "georadiusbymember",
    "geosearchstore",
    "getdel",
    "getex",
    "getset",
    "hdel",
    "hincrby",
    "hincrbyfloat",
    "hmset",
    "hset",
    "hsetnx",
    "incr",
    "incrby",
    "incrbyfloat",
    "linsert",
    "lmove",
    "lmpop",
    "lpop",
    "lpush",
    "lpushx",
    "lrem",
    "lset",
    "ltrim",
    "move",
    "mset",
    "msetnx",
    "multi",
    "persist",
    "pexpire",
    "pexpireat",
    "pfadd",
    "pfmerge",
    "ping",
    "psetex",
    "publish",
    "rename",
    "renamenx",
    "replconf",
    "restore",
    "rpop",
    "rpoplpush",
    "rpush",
    "rpushx",
    "sadd",
    "script",
    "sdiffstore",
    "set",
    "setbit",
    "setex",
    "setnx",
    "setrange",
    "sinterstore",
    "smove",
    "sort",
    "spop",
    "srem",
    "sunionstore",
    "swapdb",
    "unlink",
    "xack",
    "xadd",
    "xautoclaim",
    "xclaim",
    "xdel",
    "xgroup",
    "xsetid",
    "xtrim",
    "zadd",
    "zdiffstore",
    "zincrby",
    "zinterstore",
    "zmpop",
    "zpopmax",
    "zpopmin",
    "zrangestore",
    "zrem",
    "zremrangebylex",
    "zremrangebyrank",
    "zremrangebyscore",
    "zunionstore",
};
constexpr size_t kCount = std::size(kNames);

}  // namespace

CommandStats::CommandStats() : cells_(new std::atomic<uint64_t>[kCount * kWhatCount]) {
  for (size_t i = 0; i < kCount * kWhatCount; i++)
    cells_[i].store(0, std::memory_order_relaxed);
}

uint16_t CommandStats::id_of(std::string_view name) {
  char lower[24];
  if (name.size() >= sizeof(lower)) return 0;
  for (size_t i = 0; i < name.size(); i++) {
    char c = name[i];
    lower[i] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  std::string_view key(lower, name.size());
  auto it = std::lower_bound(std::begin(kNames) + 1, std::end(kNames), key,
                             [](std::string_view a, std::string_view b) { return a < b; });
  if (it == std::end(kNames) || key != *it) return 0;
  return static_cast<uint16_t>(it - std::begin(kNames));
}

const char* CommandStats::name_of(uint16_t id) {
  return id < kCount ? kNames[id].data() : kNames[0].data();  // literals: NUL-terminated
}

std::vector<CommandStats::Row> CommandStats::snapshot() const {
  std::vector<Row> rows;
  for (size_t id = 0; id < kCount; id++) {
    Row r{kNames[id].data(), {}};
    bool any = false;
    for (int w = 0; w < kWhatCount; w++) {
      r.counts[w] = cells_[id * kWhatCount + w].load(std::memory_order_relaxed);
      any = any || r.counts[w] != 0;
    }
    if (any) rows.push_back(r);
  }
  return rows;
}

}  // namespace ferry
