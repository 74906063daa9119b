// CacheLog's GC: dropping what the applied position has passed, whole generations and
// stream chunks, so the cache stays within its share of channel.storer.maxSize.
#include "common/log.h"
#include "storage/cache_log.h"

namespace ferry {

uint64_t CacheLog::gc(bool force) {
  std::unique_lock<std::mutex> lock(mu_);
  gc_wanted_ = true;
  gc_force_ = gc_force_ || force;
  return wait_round(lock) ? last_gc_freed_ : 0;
}

CacheLog::StreamCut CacheLog::applied_stream_cut(std::unique_lock<std::mutex>& lock) {
  if (!applied_ || applied_->rdb) return StreamCut();
  const cache::LocalCheckpoint a = *applied_;
  // The persister's own read of the store, without the lock: only it writes the store.
  lock.unlock();
  std::string k, v;
  bool f = false;
  Status st = kv_->floor(cache::data_key(input_, a.gen, cache::kStream, a.offset),
                         cache::data_prefix(input_, a.gen, cache::kStream), &k, &v, &f);
  lock.lock();
  if (!st.is_ok() || !f) return StreamCut();
  // Stream chunks that end at or before the applied offset (all applied, so written).
  uint64_t start = cache::data_key_pos(k);
  return StreamCut{true, a.gen, start + v.size() <= a.offset ? start + v.size() : start};
}

uint64_t CacheLog::gc_locked(bool force, const StreamCut& cut, KvStore::Batch* b,
                             std::vector<std::pair<std::string, std::string>>* ranges) {
  if (!applied_) return 0;
  uint64_t used = used_locked();
  // A full disk frees what it can, whatever the budget says.
  if (!force && !disk_full_ && used + options_.gc_unit <= options_.max_bytes) return 0;
  const cache::LocalCheckpoint a = *applied_;
  uint64_t freed = 0;
  auto drop = [&](const std::string& begin, const std::string& end) {
    b->delete_range(begin, end);
    ranges->emplace_back(begin, end);
  };
  // Whole generations the applied position has left behind.
  std::vector<cache::Generation> keep;
  for (cache::Generation g : meta_.gens) {
    if (g.id < a.gen && g.id < cursor_.gen) {
      freed += (g.rdb_dropped ? 0 : g.rdb_bytes) + (g.stream_end - g.stream_first);
      drop(cache::data_key(input_, g.id, cache::kRdb, 0),
           cache::data_key(input_, g.id, cache::kStream, UINT64_MAX));
      continue;
    }
    if (g.id == a.gen && !a.rdb) {
      if (!g.rdb_dropped && g.rdb_bytes > 0) {
        freed += g.rdb_bytes;
        drop(cache::data_key(input_, g.id, cache::kRdb, 0),
             cache::data_key(input_, g.id, cache::kRdb, UINT64_MAX));
      }
      g.rdb_dropped = true;
      // The cut was found for an applied position at or before today's.
      if (cut.valid && cut.gen == g.id && cut.offset > g.stream_first) {
        freed += cut.offset - g.stream_first;
        drop(cache::data_key(input_, g.id, cache::kStream, 0),
             cache::data_key(input_, g.id, cache::kStream, cut.offset));
        g.stream_first = cut.offset;
      }
    }
    keep.push_back(g);
  }
  if (freed == 0) return 0;
  meta_.gens = keep;
  persist_meta(b);
  return freed;
}

uint64_t CacheLog::used_locked() const {
  uint64_t used = 0;
  for (const auto& g : meta_.gens) {
    if (!g.rdb_dropped) used += g.rdb_bytes;
    used += g.stream_end - std::min(g.stream_end, g.stream_first);
  }
  return used;
}

uint64_t CacheLog::used_bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return used_locked();
}

CacheLog::GcStats CacheLog::gc_stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return gc_stats_;
}

}  // namespace ferry
