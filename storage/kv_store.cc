#include "storage/kv_store.h"

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include "common/log.h"

#include <sys/statvfs.h>

#include <cstdarg>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <shared_mutex>

namespace ferry {
namespace {

rocksdb::Slice slice(std::string_view s) {
  return rocksdb::Slice(s.data(), s.size());
}

// RocksDB's own messages go to ferry's log (warnings and errors only), not to a LOG file in
// the cache directory: a full disk must not break RocksDB's logging (Debian's build asserts
// when a log line follows a failed one).
class CacheLogger : public rocksdb::Logger {
 public:
  CacheLogger() : rocksdb::Logger(rocksdb::InfoLogLevel::WARN_LEVEL) {}
  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override {
    Logv(rocksdb::InfoLogLevel::INFO_LEVEL, format, ap);
  }
  void Logv(const rocksdb::InfoLogLevel level, const char* format, va_list ap) override {
    if (level < rocksdb::InfoLogLevel::WARN_LEVEL) return;
    char buf[1024];
    vsnprintf(buf, sizeof(buf), format, ap);
    LOG_WARN("local cache (RocksDB): %s", buf);
  }
};

Status from(const rocksdb::Status& s, const char* what) {
  if (s.ok()) return Status::ok();
  if (s.IsNoSpace()) {
    return Status::no_space(std::string("local cache: ") + what + ": " + s.ToString());
  }
  return Status::io_error(std::string("local cache: ") + what + ": " + s.ToString());
}

class RocksStore : public KvStore {
 public:
  Status write(const Batch& batch, bool sync) override;
  Status get(std::string_view key, std::string* value, bool* found) override;
  Status floor(std::string_view key, std::string_view prefix, std::string* found_key,
               std::string* value, bool* found) override;
  Status scan(std::string_view prefix,
              const std::function<bool(std::string_view, std::string_view)>& fn) override;
  Status sync_wal() override;
  void compact(std::string_view begin, std::string_view end) override;
  uint64_t approximate_size(std::string_view begin, std::string_view end) override;
  uint64_t disk_bytes() override;
  Status resume() override;
  uint64_t free_bytes() override;

  Status open_db();

  rocksdb::Options options;
  std::string dir;
  rocksdb::ReadOptions read;
  // The DB handle: shared by reads, exclusive to a reopen.
  std::shared_mutex db_mu;
  std::unique_ptr<rocksdb::DB> db;
  // Writes and syncs one at a time. After a failed write nothing goes to RocksDB until it
  // was reopened: its WAL writer must not be appended to or synced again (Debian's build
  // asserts on it, and RocksDB 7.8's Resume() keeps that writer).
  std::mutex write_mu;
  bool failed = false;  // guarded by write_mu
};

}  // namespace

Status KvStore::open(const Options& options, std::unique_ptr<KvStore>* out) {
  std::error_code ec;
  std::filesystem::create_directories(options.dir, ec);
  if (ec) {
    return Status::io_error("cannot create the cache directory '" + options.dir +
                            "': " + ec.message());
  }
  rocksdb::Options o;
  o.create_if_missing = true;
  o.write_buffer_size = options.write_buffer_bytes;
  o.max_write_buffer_number = 2;
  o.max_open_files = 256;
  o.max_background_jobs = 2;
  o.compression = rocksdb::kNoCompression;  // RDB data is compressed already
  o.wal_recovery_mode = rocksdb::WALRecoveryMode::kPointInTimeRecovery;
  o.keep_log_file_num = 2;
  o.info_log = std::make_shared<CacheLogger>();
  o.max_total_wal_size = 4 * options.write_buffer_bytes;
  rocksdb::BlockBasedTableOptions t;
  t.block_cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  t.cache_index_and_filter_blocks = true;
  o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(t));
  auto store = std::make_unique<RocksStore>();
  store->options = o;
  store->dir = options.dir;
  store->read.verify_checksums = options.verify_checksums;
  FERRY_RETURN_IF_ERROR(store->open_db());
  *out = std::move(store);
  return Status::ok();
}

Status RocksStore::open_db() {
  rocksdb::DB* opened = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(options, dir, &opened);
  if (!s.ok()) return from(s, ("cannot open " + dir).c_str());
  db.reset(opened);
  return Status::ok();
}

Status RocksStore::write(const Batch& batch, bool sync) {
  rocksdb::WriteBatch wb;
  for (const Batch::Op& op : batch.ops()) {
    switch (op.kind) {
      case Batch::Op::Kind::kPut:
        wb.Put(slice(op.a), slice(op.b));
        break;
      case Batch::Op::Kind::kDelete:
        wb.Delete(slice(op.a));
        break;
      case Batch::Op::Kind::kDeleteRange:
        wb.DeleteRange(slice(op.a), slice(op.b));
        break;
    }
  }
  rocksdb::WriteOptions wo;
  wo.sync = sync;
  std::lock_guard<std::mutex> lock(write_mu);
  if (failed) {
    return Status::no_space(
        "local cache: not written: a write failed and the store has not resumed");
  }
  std::shared_lock<std::shared_mutex> shared(db_mu);
  Status st = from(db->Write(wo, &wb), "write failed");
  if (!st.is_ok()) failed = true;
  return st;
}

Status RocksStore::get(std::string_view key, std::string* value, bool* found) {
  std::shared_lock<std::shared_mutex> shared(db_mu);
  rocksdb::Status s = db->Get(read, slice(key), value);
  *found = s.ok();
  if (s.IsNotFound()) return Status::ok();
  return from(s, "read failed");
}

Status RocksStore::floor(std::string_view key, std::string_view prefix, std::string* found_key,
                         std::string* value, bool* found) {
  std::shared_lock<std::shared_mutex> shared(db_mu);
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(read));
  it->SeekForPrev(slice(key));
  *found = it->Valid() && it->key().starts_with(slice(prefix));
  if (*found) {
    found_key->assign(it->key().data(), it->key().size());
    value->assign(it->value().data(), it->value().size());
  }
  return from(it->status(), "read failed");
}

Status RocksStore::scan(std::string_view prefix,
                        const std::function<bool(std::string_view, std::string_view)>& fn) {
  std::shared_lock<std::shared_mutex> shared(db_mu);
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(read));
  for (it->Seek(slice(prefix)); it->Valid() && it->key().starts_with(slice(prefix)); it->Next()) {
    if (!fn(std::string_view(it->key().data(), it->key().size()),
            std::string_view(it->value().data(), it->value().size()))) {
      break;
    }
  }
  return from(it->status(), "read failed");
}

Status RocksStore::sync_wal() {
  std::lock_guard<std::mutex> lock(write_mu);
  if (failed)
    return Status::io_error(
        "local cache: not synced: a write failed and the store has not resumed");
  std::shared_lock<std::shared_mutex> shared(db_mu);
  return from(db->SyncWAL(), "sync failed");
}

void RocksStore::compact(std::string_view begin, std::string_view end) {
  std::shared_lock<std::shared_mutex> shared(db_mu);
  rocksdb::Slice b = slice(begin), e = slice(end);
  rocksdb::CompactRangeOptions co;
  db->CompactRange(co, &b, &e);
}

uint64_t RocksStore::approximate_size(std::string_view begin, std::string_view end) {
  std::shared_lock<std::shared_mutex> shared(db_mu);
  rocksdb::Range range(slice(begin), slice(end));
  uint64_t size = 0;
  rocksdb::SizeApproximationOptions o;
  o.include_memtables = true;
  o.include_files = true;
  if (!db->GetApproximateSizes(o, db->DefaultColumnFamily(), &range, 1, &size).ok()) {
    return 0;
  }
  return size;
}

Status RocksStore::resume() {
  std::lock_guard<std::mutex> lock(write_mu);
  if (!failed) return Status::ok();
  // Close and open again: the WAL's torn tail is dropped on recovery (the failed write was
  // never applied), and a new WAL writer starts.
  std::unique_lock<std::shared_mutex> exclusive(db_mu);
  db.reset();
  Status st = open_db();
  if (st.is_ok()) failed = false;
  return st.with_context("reopening after a failed write");
}

uint64_t RocksStore::free_bytes() {
  struct statvfs st;
  if (statvfs(dir.c_str(), &st) != 0) return UINT64_MAX;
  return static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
}

uint64_t RocksStore::disk_bytes() {
  uint64_t total = 0;
  std::error_code ec;
  for (const auto& f : std::filesystem::directory_iterator(dir, ec)) {
    if (f.is_regular_file(ec)) total += f.file_size(ec);
  }
  return total;
}

}  // namespace ferry
