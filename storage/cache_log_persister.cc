// CacheLog's persister: the one thread that writes the store — staged source data in group
// commits, the applied position, GC's deletions — with the log's lock released during the I/O.
#include "common/clock.h"
#include "common/log.h"
#include "storage/cache_log.h"

namespace ferry {

bool CacheLog::wait_round(std::unique_lock<std::mutex>& lock) {
  uint64_t target = rounds_started_ + 1;
  work_ready_.notify_one();
  round_done_.wait(lock, [&] { return rounds_done_ >= target || persister_exited_ || failed_; });
  return rounds_done_ >= target;
}

void CacheLog::persist_loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    auto has_work = [&] {
      bool save_due = applied_dirty_ && mono_ms() - applied_saved_ms_ >= kCheckpointSaveMs;
      return !staged_.empty() || gc_wanted_ || save_wanted_ || drop_wanted_ || save_due;
    };
    work_ready_.wait_for(lock, std::chrono::milliseconds(kCheckpointSaveMs),
                         [&] { return persister_stop_ || has_work(); });
    if (failed_) break;
    if (has_work() || (persister_stop_ && applied_dirty_)) {
      if (persister_stop_) save_wanted_ = true;  // the last applied position, whatever its age
      persist_round(lock);
    } else if (persister_stop_) {
      break;
    }
  }
  persister_exited_ = true;
  round_done_.notify_all();
}

// Moves staged chunks (up to a group commit's size) into `b`, and the data chunks among them
// into `written`, to be kept in the memory tail once the write succeeded.
uint64_t CacheLog::take_staged(KvStore::Batch* b, std::vector<Written>* written, bool* in_order) {
  uint64_t taken = 0;
  while (!staged_.empty() && (taken == 0 || taken < kMaxWriteBytes)) {
    SourceChunkPtr c = std::move(staged_.front());
    staged_.pop_front();
    taken += c->bytes();
    *in_order = stage_into(*c, b) && *in_order;
    const bool data =
        c->kind == SourceChunk::Kind::kRdbData || c->kind == SourceChunk::Kind::kStreamData;
    if (data && *in_order && current_gen()) {
      char kind = c->kind == SourceChunk::Kind::kRdbData ? cache::kRdb : cache::kStream;
      written->push_back(Written{current_gen()->id, kind, std::move(c)});
    }
  }
  return taken;
}

// The disk is full: nothing of the round was written. The log goes back to what the store
// holds and drops what is staged (the source still has it: only what is stored is ACKed);
// appends answer kFull until has_room() finds space again, as when the cache is full.
void CacheLog::lost_for_space(cache::InputMeta before, bool dropped, const Status& why) {
  // A generation id once handed out is never reused: a reader may have seen it.
  const uint32_t next_gen = meta_.next_gen;
  meta_ = std::move(before);
  meta_.next_gen = std::max(meta_.next_gen, next_gen);
  if (dropped) drop_wanted_ = true;  // the drop did not happen: the next round tries again
  if (cache::Generation* g = current_gen()) {
    // Bytes of this RDB were lost: it cannot be completed; a new full sync will follow.
    if (!g->rdb_complete && !g->stream_only && !g->aborted) {
      g->aborted = true;
      rdb_lost_ = true;
    }
  }
  const cache::Generation* g = current_gen();
  accepted_end_ =
      g && (g->rdb_complete || g->stream_only) && !g->aborted ? g->stream_end : kUnknownOffset;
  staged_.clear();
  staged_bytes_ = 0;
  applied_dirty_ = applied_.has_value();
  if (!disk_full_) {
    LOG_WARN(
        "input %s: the disk under the local cache is full (%s): letting go of the source "
        "link until there is room",
        input_.c_str(), why.message().c_str());
  }
  disk_full_ = true;
}

void CacheLog::persist_round(std::unique_lock<std::mutex>& lock) {
  rounds_started_++;
  const StreamCut cut = gc_wanted_ ? applied_stream_cut(lock) : StreamCut();
  cache::InputMeta before = meta_;
  const uint64_t epoch = drop_epoch_;
  const bool dropping = drop_wanted_;
  // Group commit: what is staged goes in one write (of bounded size).
  KvStore::Batch b;
  std::vector<std::pair<std::string, std::string>> ranges;
  if (drop_wanted_) {
    // drop_all(): everything stored for this input, before what was appended after it.
    auto [begin, end] = cache::data_range(input_);
    b.delete_range(begin, end);
    b.del(cache::checkpoint_key(input_));
    persist_meta(&b);
    ranges.emplace_back(begin, end);
    drop_wanted_ = false;
  }
  bool in_order = true;
  std::vector<Written> written;
  const uint64_t taken = take_staged(&b, &written, &in_order);
  Durable durable = durable_;
  if (const cache::Generation* g = current_gen()) {
    durable = Durable{true, g->id, g->rdb_bytes, g->stream_end, g->rdb_complete};
  }
  uint64_t freed = 0;
  if (gc_wanted_) {
    freed = gc_locked(gc_force_, cut, &b, &ranges);
    gc_stats_.runs++;
    gc_wanted_ = gc_force_ = false;
  }
  bool save =
      save_wanted_ || (applied_dirty_ && mono_ms() - applied_saved_ms_ >= kCheckpointSaveMs);
  save_wanted_ = false;
  if (save && applied_dirty_) {
    cache::LocalCheckpoint saved = *applied_;
    saved.updated_ms = wall_ms();
    b.put(cache::checkpoint_key(input_), cache::encode(saved));
    applied_dirty_ = false;
    applied_saved_ms_ = mono_ms();
  }
  // The I/O runs without the lock.
  lock.unlock();
  Status st = !b.empty() ? write(&b) : Status::ok();
  if (st.is_ok()) {
    for (const auto& [begin, end] : ranges)
      kv_->compact(begin, end);
  }
  if (st.is_ok() && !in_order) st = Status::corruption("the source's data arrived out of order");
  const bool no_space = st.code() == Status::Code::kNoSpace;
  if (!st.is_ok() && !no_space) report_failure(st);
  lock.lock();
  staged_bytes_ -= std::min(staged_bytes_, taken);
  if (no_space) {
    if (drop_epoch_ == epoch) {
      lost_for_space(std::move(before), dropping, st);
    } else {
      // drop_all() ran meanwhile: what it left is the state; only what was staged is lost.
      lost_for_space(meta_, false, st);
      drop_wanted_ = true;
    }
    freed = 0;
  }
  if (st.is_ok()) {
    const bool was_complete =
        durable_.valid && durable_.gen == durable.gen && durable_.rdb_complete;
    if (durable.valid && durable.rdb_complete && !was_complete) {
      // From here a restart resumes this generation without a new full sync.
      LOG_INFO("input %s: the whole RDB is in the local cache (%llu bytes)", input_.c_str(),
               static_cast<unsigned long long>(durable.rdb_bytes));
    }
    durable_ = durable;
    for (Written& w : written)
      recent_.add(w.gen, w.kind, std::move(w.chunk));
  }
  finish_round(lock, taken, st.is_ok() ? freed : 0);
}

void CacheLog::finish_round(std::unique_lock<std::mutex>& lock, uint64_t taken, uint64_t freed) {
  last_gc_freed_ = freed;
  gc_stats_.freed_bytes += freed;
  rounds_done_++;
  round_done_.notify_all();
  if (freed > 0) {
    LOG_INFO("input %s: cache GC freed %llu bytes", input_.c_str(),
             static_cast<unsigned long long>(freed));
  }
  if (taken > 0 && listener_) {
    std::function<void()> listener = listener_;
    callbacks_running_++;
    lock.unlock();
    listener();
    lock.lock();
    callbacks_running_--;
    round_done_.notify_all();
  }
}

bool CacheLog::stage_into(const SourceChunk& chunk, KvStore::Batch* b) {
  using Kind = SourceChunk::Kind;
  cache::Generation* g = current_gen();
  bool meta_changed = false;
  switch (chunk.kind) {
    case Kind::kRdbBegin: {
      cache::Generation ng;
      ng.id = meta_.next_gen++;
      ng.replid = chunk.replid;
      ng.start_offset = chunk.offset;
      ng.rdb_size = chunk.rdb_size;
      ng.stream_first = ng.stream_end = chunk.offset;
      meta_.gens.push_back(ng);
      meta_changed = true;
      break;
    }
    case Kind::kRdbData:
      if (!g || g->rdb_complete || g->stream_only || chunk.offset != g->rdb_bytes) {
        LOG_ERROR("input %s: cache: RDB bytes out of place (at %llu)", input_.c_str(),
                  static_cast<unsigned long long>(chunk.offset));
        return false;
      }
      b->put(cache::data_key(input_, g->id, cache::kRdb, chunk.offset), chunk.data);
      g->rdb_bytes += chunk.data.size();
      break;
    case Kind::kRdbEnd:
      if (g) g->rdb_complete = true;
      meta_changed = true;
      break;
    case Kind::kRdbAbort:
      if (g) g->aborted = true;
      meta_changed = true;
      break;
    case Kind::kStreamBegin: {
      bool usable = g && !g->aborted && (g->rdb_complete || g->stream_only);
      if (!usable || chunk.offset != g->stream_end) {
        // A stream that does not continue what is stored (a partial resync onto an empty
        // or unusable cache) starts a generation of its own.
        cache::Generation ng;
        ng.id = meta_.next_gen++;
        ng.replid = chunk.replid;
        ng.start_offset = chunk.offset;
        ng.stream_first = ng.stream_end = chunk.offset;
        ng.stream_only = true;
        meta_.gens.push_back(ng);
      } else if (chunk.replid != g->replid_at(chunk.offset)) {
        g->replids.emplace_back(chunk.offset, chunk.replid);
      }
      meta_changed = true;
      break;
    }
    case Kind::kStreamData:
      if (!g || chunk.offset != g->stream_end) {
        LOG_ERROR("input %s: cache: stream bytes out of place (at %llu)", input_.c_str(),
                  static_cast<unsigned long long>(chunk.offset));
        return false;
      }
      b->put(cache::data_key(input_, g->id, cache::kStream, chunk.offset), chunk.data);
      g->stream_end += chunk.data.size();
      break;
  }
  if (meta_changed) persist_meta(b);
  return true;
}

void CacheLog::persist_meta(KvStore::Batch* batch) {
  meta_.updated_ms = wall_ms();
  batch->put(cache::meta_key(input_), cache::encode(meta_));
}

Status CacheLog::write(KvStore::Batch* batch) {
  Status st = kv_->write(*batch, options_.sync_every_write);
  if (on_write_) on_write_();
  return st;
}

}  // namespace ferry
