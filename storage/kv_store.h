// KvStore: the ordered key-value store under the local cache (RocksDB, sized for a small
// memory footprint). Only this unit includes RocksDB headers. Writes are atomic batches;
// they survive a process kill once written, and a power loss once synced (sync_wal).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"

namespace ferry {

class KvStore {
 public:
  struct Options {
    std::string dir;
    size_t write_buffer_bytes = 4u << 20;  // per memtable (two of them)
    size_t block_cache_bytes = 8u << 20;
    bool verify_checksums = false;  // check block checksums on every read (channel.verifycrc)
  };

  // A group of writes applied atomically.
  class Batch {
   public:
    Batch();
    ~Batch();
    void put(std::string_view key, std::string_view value);
    void del(std::string_view key);
    // Deletes every key in [begin, end).
    void delete_range(std::string_view begin, std::string_view end);
    size_t size() const;
    bool empty() const;

   private:
    friend class KvStore;
    struct Impl;
    std::unique_ptr<Impl> impl_;
  };

  static Status open(const Options& options, std::unique_ptr<KvStore>* out);
  ~KvStore();

  Status write(const Batch& batch, bool sync);
  Status get(std::string_view key, std::string* value, bool* found);
  // The entry with the greatest key <= `key` that starts with `prefix`.
  Status floor(std::string_view key, std::string_view prefix, std::string* found_key,
               std::string* value, bool* found);
  // Calls fn(key, value) for each key starting with `prefix`, in order, while fn returns true.
  Status scan(std::string_view prefix,
              const std::function<bool(std::string_view, std::string_view)>& fn);
  Status sync_wal();
  // Compacts [begin, end) so deleted data frees disk.
  void compact(std::string_view begin, std::string_view end);
  // Bytes the keys in [begin, end) take, in files and memtables, approximately.
  uint64_t approximate_size(std::string_view begin, std::string_view end);
  // Bytes on disk (SST files and WAL), approximately.
  uint64_t disk_bytes();

 private:
  KvStore() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ferry
