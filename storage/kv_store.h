// KvStore: the ordered key-value store under the local cache. The real one is RocksDB (sized
// for a small memory footprint; only kv_store.cc includes RocksDB headers); the interface is
// the seam a test puts a fault-injecting store behind (tests/support/fault_store.h), as
// LevelDB's Env. Writes are atomic batches; they survive a process kill once written, and a
// power loss once synced (sync_wal).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

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

  // A group of writes applied atomically, in order.
  class Batch {
   public:
    struct Op {
      enum class Kind : uint8_t { kPut, kDelete, kDeleteRange };
      Kind kind;
      std::string a;  // key, or the range's first key
      std::string b;  // value, or the range's end (exclusive)
    };
    void put(std::string_view key, std::string_view value) {
      bytes_ += key.size() + value.size();
      ops_.push_back(Op{Op::Kind::kPut, std::string(key), std::string(value)});
    }
    void del(std::string_view key) {
      ops_.push_back(Op{Op::Kind::kDelete, std::string(key), std::string()});
    }
    // Deletes every key in [begin, end).
    void delete_range(std::string_view begin, std::string_view end) {
      ops_.push_back(Op{Op::Kind::kDeleteRange, std::string(begin), std::string(end)});
    }
    size_t size() const { return bytes_; }
    bool empty() const { return ops_.empty(); }
    const std::vector<Op>& ops() const { return ops_; }

   private:
    std::vector<Op> ops_;
    size_t bytes_ = 0;
  };

  // Opens (creating it) the RocksDB store under options.dir.
  static Status open(const Options& options, std::unique_ptr<KvStore>* out);
  virtual ~KvStore() = default;

  // A full disk is Status::no_space: nothing of the batch was written, and the store takes
  // writes again after resume() once there is room.
  virtual Status write(const Batch& batch, bool sync) = 0;
  virtual Status resume() { return Status::ok(); }
  // Free bytes on the store's file system.
  virtual uint64_t free_bytes() = 0;
  virtual Status get(std::string_view key, std::string* value, bool* found) = 0;
  // The entry with the greatest key <= `key` that starts with `prefix`.
  virtual Status floor(std::string_view key, std::string_view prefix, std::string* found_key,
                       std::string* value, bool* found) = 0;
  // Calls fn(key, value) for each key starting with `prefix`, in order, while fn returns true.
  virtual Status scan(std::string_view prefix,
                      const std::function<bool(std::string_view, std::string_view)>& fn) = 0;
  virtual Status sync_wal() = 0;
  // Compacts [begin, end) so deleted data frees disk.
  virtual void compact(std::string_view begin, std::string_view end) = 0;
  // Bytes the keys in [begin, end) take, in files and memtables, approximately.
  virtual uint64_t approximate_size(std::string_view begin, std::string_view end) = 0;
  // Bytes on disk (SST files and WAL), approximately.
  virtual uint64_t disk_bytes() = 0;
};

}  // namespace ferry
