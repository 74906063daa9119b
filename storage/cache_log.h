// CacheLog: one input's SourceLog, kept in the local cache (KvStore). The replica client
// appends what the source sends (RDB, then the stream, with offsets); the graph reads it
// back from a cursor that can start anywhere still stored — which is what lets ferry resume
// after any stop without a new full sync. Data stays until the applied position (mirrored
// here as the local checkpoint) has passed it and the budget asks for room; what is still
// needed is never deleted: when only needed data fills the budget, append() says kFull.
//
// Thread-safety: append() from the writer thread, try_read() from the graph, the rest from
// the owner; all under one mutex.
#pragma once

#include <atomic>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include "common/status.h"
#include "storage/cache_format.h"
#include "storage/kv_store.h"
#include "storage/source_log.h"

namespace ferry {

struct CacheLogOptions {
  uint64_t max_bytes = 50ull << 30;  // this input's share of channel.storer.maxSize
  uint64_t gc_unit = 100ull << 20;   // channel.storer.logSize: GC starts this close to max
  bool sync_every_write = false;     // flushPolicy everywrite
};

class CacheLog : public SourceLog {
 public:
  CacheLog(KvStore* kv, std::string input, CacheLogOptions options,
           std::function<void()> on_write = nullptr);

  // Reads the input's generations from the store.
  Status load();

  // --- Resume -------------------------------------------------------------------------------
  const cache::InputMeta& meta() const { return meta_; }
  std::optional<cache::LocalCheckpoint> local_checkpoint() const;
  // The generation whose stream holds `offset` under replication id `replid` (data still
  // stored from there on), or null.
  const cache::Generation* find_stream(const std::string& replid, uint64_t offset) const;
  // The generation whose full sync started at (replid, offset), with its whole RDB stored.
  const cache::Generation* find_rdb(const std::string& replid, uint64_t start_offset) const;
  // The newest generation whose RDB is complete and stored, or null.
  const cache::Generation* newest_complete_rdb() const;
  // Where the source link can continue (PSYNC replid offset+1): the newest generation's
  // stream end, when it is usable. False: ask for a full sync.
  bool resume_point(std::string* replid, uint64_t* offset) const;

  // Where the reader starts (call one before reading).
  void read_rdb(uint32_t gen, uint64_t skip_until);
  void read_stream(uint32_t gen, uint64_t offset, int db);
  // Nothing usable is stored: read what arrives next. `db` is the source's DB where the
  // next stream starts, when a partial resync continues from a checkpoint (-1: unknown).
  void read_new_data(int db = -1);
  // Forgets everything stored for this input (forced full sync).
  Status drop_all();

  // --- Progress and GC -----------------------------------------------------------------------
  // The applied position moved (mirrored locally; bounds what GC may delete).
  void set_applied(const cache::LocalCheckpoint& cp);
  // Writes the last applied position now (it is otherwise saved at most every 100 ms).
  void save_applied();
  // Deletes what the applied position has passed. Without `force`, only when the budget is
  // exceeded and at least one GC unit can be freed. Returns the bytes freed.
  uint64_t gc(bool force);
  uint64_t used_bytes() const;
  // Replication offset of the last stream byte stored (what ferry "has").
  uint64_t cached_offset() const;

  // --- SourceLog -----------------------------------------------------------------------------
  Append append(SourceChunkPtr chunk) override;
  bool has_room() const override;
  bool try_read(SourceChunkPtr* chunk) override;
  void set_data_listener(std::function<void()> listener) override;
  uint64_t unread_bytes() const override;
  void close() override;

 private:
  struct Cursor {
    enum class State { kGenStart, kRdb, kStreamStart, kStream, kWaitNewGen };
    State state = State::kWaitNewGen;
    uint32_t gen = 0;
    uint64_t pos = 0;
    int db = -1;
    uint64_t skip_until = 0;
    std::string replid;  // replication id last announced to the reader
  };

  cache::Generation* gen(uint32_t id);
  const cache::Generation* gen(uint32_t id) const;
  cache::Generation* current_gen();
  Status persist_meta(KvStore::Batch* batch);
  Status write(KvStore::Batch* batch);
  uint64_t used_locked() const;
  uint64_t gc_locked(bool force);
  bool read_chunk(const cache::Generation& g, char kind, uint64_t pos, uint64_t limit,
                  std::string* out);

  KvStore* kv_;
  const std::string input_;
  const CacheLogOptions options_;
  std::function<void()> on_write_;
  mutable std::mutex mu_;
  cache::InputMeta meta_;
  Cursor cursor_;
  std::optional<cache::LocalCheckpoint> applied_;
  int64_t applied_saved_ms_ = 0;
  bool closed_ = false;
  std::function<void()> listener_;
};

}  // namespace ferry
