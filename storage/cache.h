// Cache: the process's local cache — one KvStore under channel.storer.dirPath holding a
// CacheLog per input. It applies the flush policy (group commit: the WAL is synced at most
// every flushPolicy interval, never per command, unless `everywrite`), splits maxSize
// between inputs, and reclaims data of inputs that are gone (after staleCheckpointDuration,
// or on demand).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"
#include "config/config.h"
#include "storage/cache_log.h"
#include "storage/kv_store.h"

namespace ferry {

class Cache {
 public:
  static Status open(const ChannelConfig& config, size_t inputs, std::unique_ptr<Cache>* out);
  ~Cache();

  // The log of one input (its share of the budget). The Cache must outlive it.
  Status open_input(const std::string& input, std::unique_ptr<CacheLog>* out);

  // Input ids with data in the cache.
  std::vector<std::string> stored_inputs();
  // Deletes everything of inputs not in `live` whose last update is older than `older_than`
  // (0: any age). Returns the bytes freed (approximately).
  uint64_t reclaim_stale(const std::set<std::string>& live, std::chrono::milliseconds older_than);
  uint64_t disk_bytes() { return kv_->disk_bytes(); }
  KvStore* store() { return kv_.get(); }

 private:
  Cache() = default;
  void flush_loop();

  ChannelConfig config_;
  size_t inputs_ = 1;
  std::unique_ptr<KvStore> kv_;
  std::atomic<bool> dirty_{false};
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  std::thread flusher_;
};

}  // namespace ferry
