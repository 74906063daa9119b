// SourceStage: the graph's entry. It hands the next chunk of the source log to the parse
// stage when the input is running and its memory budget has room; otherwise it yields
// nothing, and the pipeline re-activates it when data, room or a resume arrives.
#pragma once

#include <atomic>

#include "nodes/memory_budget.h"
#include "storage/source_log.h"

namespace ferry {

class SourceStage {
 public:
  SourceStage(SourceLog* log, MemoryBudget* budget) : log_(log), budget_(budget) {}

  // The next chunk, or nullptr when there is nothing to do now.
  SourceChunkPtr next() {
    if (paused_.load() || !budget_->has_room()) return nullptr;
    SourceChunkPtr chunk;
    if (!log_->try_read(&chunk)) return nullptr;
    budget_->charge(chunk->bytes());
    return chunk;
  }

  void set_paused(bool paused) { paused_ = paused; }
  bool paused() const { return paused_.load(); }

 private:
  SourceLog* log_;
  MemoryBudget* budget_;
  std::atomic<bool> paused_{false};
};

}  // namespace ferry
