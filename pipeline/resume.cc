#include "pipeline/resume.h"

namespace ferry {
namespace {

// The source link continues where the cache ends, when the newest generation allows it.
void continue_at_tail(const CacheLog& log, ResumePlan* plan) {
  std::string replid;
  uint64_t offset = 0;
  if (log.resume_point(&replid, &offset)) {
    plan->psync_replid = replid;
    plan->psync_offset = offset;
  }
}

}  // namespace

ResumePlan plan_resume(const CacheLog& log, const std::optional<Checkpoint>& checkpoint,
                       bool target_empty) {
  ResumePlan plan;
  if (checkpoint) {
    const SourcePosition& p = checkpoint->position;
    if (p.phase == SourcePosition::Phase::kStream) {
      if (const cache::Generation* g = log.find_stream(p.replid, p.offset)) {
        plan.read = ResumePlan::Read::kStream;
        plan.gen = g->id;
        plan.offset = p.offset;
        plan.db = p.db;
        continue_at_tail(log, &plan);
        plan.reason = "resuming from the checkpoint " + checkpoint->describe() +
                      ", replaying the local cache";
        return plan;
      }
      // Not cached: perhaps the source's backlog still has it.
      plan.read = ResumePlan::Read::kNewData;
      plan.db = p.db;
      plan.drop_cache = true;
      plan.psync_replid = p.replid;
      plan.psync_offset = p.offset;
      plan.reason = "the checkpoint " + checkpoint->describe() +
                    " is not in the local cache; asking the source to continue from it";
      return plan;
    }
    if (p.phase == SourcePosition::Phase::kRdb) {
      if (const cache::Generation* g = log.find_rdb(p.replid, p.rdb_start)) {
        plan.read = ResumePlan::Read::kRdb;
        plan.gen = g->id;
        plan.offset = p.offset;
        continue_at_tail(log, &plan);
        plan.reason = "resuming the full sync at the checkpoint " + checkpoint->describe() +
                      " from the RDB in the local cache";
        return plan;
      }
      plan.drop_cache = true;
      plan.reason = "full sync: the checkpoint " + checkpoint->describe() +
                    " is inside an RDB that is no longer cached";
      return plan;
    }
  }
  if (const cache::Generation* g = log.newest_complete_rdb()) {
    if (target_empty) {
      plan.read = ResumePlan::Read::kRdb;
      plan.gen = g->id;
      plan.offset = 0;
      continue_at_tail(log, &plan);
      plan.reason = "no checkpoint and an empty target: applying the RDB in the local cache";
      return plan;
    }
    plan.drop_cache = true;
    plan.reason = "full sync: no checkpoint, and the target is not empty";
    return plan;
  }
  plan.drop_cache = !log.meta().gens.empty();
  plan.reason =
      plan.drop_cache ? "full sync: nothing usable in the local cache" : "full sync: first start";
  return plan;
}

}  // namespace ferry
