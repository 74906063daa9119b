// A store for fault-injection tests of the local cache, as LevelDB's fault_injection_test: it
// keeps everything in memory and remembers what was synced. crash() is a power loss: what
// was written since the last sync_wal() is lost, except the first `keep` batches (a log
// whose tail made it to disk in part — batches are atomic, so the tear falls between them).
#pragma once

#include <atomic>
#include <map>
#include <mutex>
#include <vector>

#include "storage/kv_store.h"

namespace ferry::test {

class FaultStore : public KvStore {
 public:
  Status write(const Batch& batch, bool sync) override;
  Status get(std::string_view key, std::string* value, bool* found) override;
  Status floor(std::string_view key, std::string_view prefix, std::string* found_key,
               std::string* value, bool* found) override;
  Status scan(std::string_view prefix,
              const std::function<bool(std::string_view, std::string_view)>& fn) override;
  Status sync_wal() override;
  void compact(std::string_view, std::string_view) override {}
  uint64_t approximate_size(std::string_view begin, std::string_view end) override;
  uint64_t disk_bytes() override { return approximate_size("", "\xff"); }
  uint64_t free_bytes() override { return full_ ? 0 : UINT64_MAX; }

  // While full, every write fails with Status::no_space and changes nothing.
  void set_full(bool full) { full_ = full; }

  // Batches written since the last sync.
  size_t unsynced() const;
  // Loses what was not synced but the first `keep` of those batches.
  void crash(size_t keep);

 private:
  static void apply(const Batch& batch, std::map<std::string, std::string>* to);

  mutable std::mutex mu_;
  std::map<std::string, std::string> live_, durable_;
  std::vector<Batch> unsynced_;
  std::atomic<bool> full_{false};
};

}  // namespace ferry::test
