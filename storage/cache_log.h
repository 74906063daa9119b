// CacheLog: one input's SourceLog, kept in the local cache (KvStore). The replica client
// appends what the source sends (RDB, then the stream, with offsets); the graph reads it
// back from a cursor that can start anywhere still stored — which is what lets ferry resume
// after any stop without a new full sync. Data stays until the applied position (mirrored
// here as the local checkpoint) has passed it and the budget asks for room; what is still
// needed is never deleted: when only needed data fills the budget, append() says kFull.
//
// Threads: append() from the replica client, try_read() from the graph, the rest from the
// owner. One persister thread does every write to the store (source data, GC, the applied
// position) in order, without holding the mutex during the I/O, so neither the source link
// nor the graph ever waits on the disk — only on bounded staging memory. The reader sees
// only data that is durable in the store.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/status.h"
#include "storage/cache_format.h"
#include "storage/kv_store.h"
#include "storage/recent_chunks.h"
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
  // Writes what is still staged, then stops the persister.
  ~CacheLog() override;
  CacheLog(const CacheLog&) = delete;
  CacheLog& operator=(const CacheLog&) = delete;

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
  // Called once if the store fails (a write or a read of data it should hold).
  void set_failure_handler(std::function<void(const Status&)> handler);
  // Calls neither the data listener nor the failure handler again, and waits for a call
  // under way to return: after it, what they reach may be destroyed.
  void detach();

  // --- Progress and GC -----------------------------------------------------------------------
  // The applied position moved (mirrored locally; bounds what GC may delete). It is saved
  // every 100 ms at most.
  void set_applied(const cache::LocalCheckpoint& cp);
  // Writes the last applied position now, and waits for it.
  void save_applied();
  // Deletes what the applied position has passed. Without `force`, only when the budget is
  // exceeded and at least one GC unit can be freed. Returns the bytes freed.
  uint64_t gc(bool force);
  uint64_t used_bytes() const;
  struct GcStats {
    uint64_t runs = 0;
    uint64_t freed_bytes = 0;
  };
  GcStats gc_stats() const;
  // Replication offset of the last stream byte stored (what ferry "has").
  uint64_t cached_offset() const;

  // --- SourceLog -----------------------------------------------------------------------------
  Append append(SourceChunkPtr chunk) override;
  bool has_room() override;
  uint64_t durable_offset() const override;
  Continue continue_point(uint64_t* offset) const override;
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
    uint64_t skip_until = 0;  // ... in generation skip_gen's RDB only
    uint32_t skip_gen = 0;
    std::string replid;  // replication id last announced to the reader
  };

  // Where the reader may read up to: what the persister has written.
  struct Durable {
    bool valid = false;
    uint32_t gen = 0;
    uint64_t rdb_bytes = 0;
    uint64_t stream_end = 0;
    bool rdb_complete = false;  // of generation `gen`
  };
  // Whether the reader may see generation `g` at all, and its RDB's end (what it reads is
  // written: a write lost for lack of space must not take back what it saw).
  bool durable_gen(const cache::Generation& g) const {
    return durable_.valid && g.id <= durable_.gen;
  }
  bool durable_rdb_end(const cache::Generation& g) const {
    return durable_gen(g) && (g.id < durable_.gen || durable_.rdb_complete);
  }

  // The persister thread's loop, and one round of it (called and returning with `lock`).
  void persist_loop();
  void persist_round(std::unique_lock<std::mutex>& lock);
  struct Written {
    uint32_t gen;
    char kind;
    SourceChunkPtr chunk;
  };
  uint64_t take_staged(KvStore::Batch* b, std::vector<Written>* written, bool* in_order);
  void lost_for_space(cache::InputMeta before, bool dropped, const Status& why);
  void finish_round(std::unique_lock<std::mutex>& lock, uint64_t taken, uint64_t freed);
  // Runs a request through the persister and waits for it (false: the persister is gone).
  bool wait_round(std::unique_lock<std::mutex>& lock);
  bool stage_into(const SourceChunk& chunk, KvStore::Batch* batch);
  cache::Generation* gen(uint32_t id);
  const cache::Generation* gen(uint32_t id) const;
  cache::Generation* current_gen();
  void persist_meta(KvStore::Batch* batch);
  Status write(KvStore::Batch* batch);
  void report_failure(const Status& st);
  Status newer_format() const;
  uint64_t used_locked() const;
  // Drops what the applied position has passed, into `batch`; `ranges` get compacted after.
  // Where GC may cut the applied generation's stream: the end of the last chunk the applied
  // position has passed. Reads the store with the lock released (called and returning with it).
  struct StreamCut {
    bool valid = false;
    uint32_t gen = 0;
    uint64_t offset = 0;
  };
  StreamCut applied_stream_cut(std::unique_lock<std::mutex>& lock);
  uint64_t gc_locked(bool force, const StreamCut& cut, KvStore::Batch* batch,
                     std::vector<std::pair<std::string, std::string>>* ranges);
  uint64_t durable_rdb(const cache::Generation& g) const;
  uint64_t durable_stream(const cache::Generation& g) const;
  Status read_chunk(uint32_t gen, char kind, uint64_t pos, uint64_t limit, std::string* out);

  KvStore* kv_;
  const std::string input_;
  const CacheLogOptions options_;
  std::function<void()> on_write_;
  mutable std::mutex mu_;
  cache::InputMeta meta_;
  Durable durable_;
  Cursor cursor_;
  uint64_t cursor_epoch_ = 0;  // bumped when the owner moves the cursor
  std::optional<cache::LocalCheckpoint> applied_;
  bool applied_dirty_ = false;
  int64_t applied_saved_ms_ = 0;
  bool closed_ = false;
  bool failed_ = false;
  std::function<void()> listener_;
  std::function<void(const Status&)> on_failure_;
  int callbacks_running_ = 0;  // listener or failure handler calls under way

  static constexpr size_t kMaxReadChunk = 256 * 1024;  // the most one read returns
  static constexpr int64_t kCheckpointSaveMs = 100;    // how often the applied position is saved
  static constexpr uint64_t kMaxStagedBytes = 8ull << 20;
  static constexpr uint64_t kMaxWriteBytes = 2ull << 20;  // per group commit
  std::deque<SourceChunkPtr> staged_;                     // appended, not yet written
  uint64_t staged_bytes_ = 0;
  // The newest written data chunks, for a reader that follows the source closely.
  static constexpr uint64_t kMaxRecentBytes = 4ull << 20;
  RecentChunks recent_{kMaxRecentBytes};
  // Requests to the persister, served by the first round that starts after them.
  bool gc_wanted_ = false;
  bool gc_force_ = false;
  bool save_wanted_ = false;
  bool drop_wanted_ = false;
  uint64_t drop_epoch_ = 0;  // bumped by drop_all(): a round that began before it changes nothing
  // The disk was full: appends answer kFull until has_room() finds space and the store
  // takes writes again.
  bool disk_full_ = false;
  int64_t last_resume_complaint_ms_ = 0;
  static constexpr uint64_t kMinFreeDiskBytes = 16ull << 20;
  static constexpr uint64_t kUnknownOffset = UINT64_MAX;
  uint64_t accepted_end_ = kUnknownOffset;  // see continue_point()
  bool rdb_lost_ = false;                   // an RDB lost bytes for lack of space
  uint64_t rounds_started_ = 0;
  uint64_t rounds_done_ = 0;
  uint64_t last_gc_freed_ = 0;
  GcStats gc_stats_;
  std::condition_variable work_ready_;  // wakes the persister
  std::condition_variable round_done_;  // wakes whoever waits on it
  bool persister_stop_ = false;
  bool persister_exited_ = false;
  std::thread persister_;
};

}  // namespace ferry
