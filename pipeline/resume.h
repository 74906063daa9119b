// Deciding where an input starts: from the target's checkpoint and what the local cache
// holds, replay cached data rather than ask the source for a full sync whenever possible.
//  - The checkpoint is in the cached stream: replay from it; the source link continues at
//    the cache's tail (+CONTINUE).
//  - The checkpoint is inside a cached, complete RDB (a stop during the full sync): replay
//    the RDB, skipping what was applied.
//  - No checkpoint, a complete RDB cached and an empty target: replay that RDB.
//  - The checkpoint is in no cached data: ask the source to continue from it (its backlog
//    may still hold it; if not, it answers with a full sync).
//  - Nothing usable: a full sync, with the reason.
#pragma once

#include <optional>
#include <string>

#include "nodes/checkpoint.h"
#include "storage/cache_log.h"

namespace ferry {

struct ResumePlan {
  enum class Read { kRdb, kStream, kNewData };
  Read read = Read::kNewData;
  uint32_t gen = 0;
  uint64_t offset = 0;  // kRdb: skip records ending at or before; kStream: start offset
  int db = -1;          // kStream / kNewData: the source's DB where the stream resumes
  bool drop_cache = false;
  // The source link: PSYNC replid offset+1, or a full sync when psync_replid is empty.
  std::string psync_replid;
  uint64_t psync_offset = 0;
  std::string reason;  // what was decided, for the log
};

// `checkpoint`: the target's (or, without one there, the local mirror's) position.
// `target_empty`: the target holds no key (consulted only when there is no checkpoint).
ResumePlan plan_resume(const CacheLog& log, const std::optional<Checkpoint>& checkpoint,
                       bool target_empty);

}  // namespace ferry
