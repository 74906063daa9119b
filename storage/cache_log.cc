#include "storage/cache_log.h"

#include "common/clock.h"
#include "common/log.h"
#include "common/thread_name.h"

// CacheLog's public face: loading, resume lookups, positioning the reader, appending,
// closing. The persister, the reader and GC live in cache_log_{persister,reader,gc}.cc.

namespace ferry {

CacheLog::CacheLog(KvStore* kv, std::string input, CacheLogOptions options,
                   std::function<void()> on_write)
    : kv_(kv), input_(std::move(input)), options_(options), on_write_(std::move(on_write)) {
  persister_ = std::thread([this] {
    set_thread_name("ferry-cache");
    persist_loop();
  });
}

CacheLog::~CacheLog() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
    persister_stop_ = true;
    work_ready_.notify_all();
    round_done_.notify_all();
  }
  if (persister_.joinable()) persister_.join();
}

Status CacheLog::load() {
  std::lock_guard<std::mutex> lock(mu_);
  std::string value;
  bool found = false;
  FERRY_RETURN_IF_ERROR(kv_->get(cache::meta_key(input_), &value, &found));
  meta_ = cache::InputMeta();
  const cache::Decoded d = found ? cache::decode(value, &meta_) : cache::Decoded::kOk;
  if (d == cache::Decoded::kNewer) return newer_format();
  if (d == cache::Decoded::kCorrupt) {
    // Its data cannot be placed without it: drop it all, rather than let a new generation
    // land among old chunks.
    LOG_WARN(
        "input %s: the local cache's metadata is unreadable; dropping this input's cached "
        "data (a full sync follows unless the source's backlog still has the checkpoint)",
        input_.c_str());
    meta_ = cache::InputMeta();
    KvStore::Batch b;
    auto [begin, end] = cache::data_range(input_);
    b.delete_range(begin, end);
    b.del(cache::checkpoint_key(input_));
    persist_meta(&b);
    FERRY_RETURN_IF_ERROR(kv_->write(b, true));
    return Status::ok();
  }
  // What is really stored decides the tails: a kill may have cut the last writes.
  for (cache::Generation& g : meta_.gens) {
    std::string k, v;
    bool f = false;
    FERRY_RETURN_IF_ERROR(kv_->floor(cache::data_key(input_, g.id, cache::kRdb, UINT64_MAX),
                                     cache::data_prefix(input_, g.id, cache::kRdb), &k, &v, &f));
    g.rdb_bytes = f ? cache::data_key_pos(k) + v.size() : 0;
    if (g.rdb_size > 0 && g.rdb_complete && g.rdb_bytes != g.rdb_size && !g.rdb_dropped) {
      LOG_WARN("input %s: cached RDB of generation %u is %llu of %llu bytes: unusable",
               input_.c_str(), g.id, static_cast<unsigned long long>(g.rdb_bytes),
               static_cast<unsigned long long>(g.rdb_size));
      g.aborted = true;
    }
    FERRY_RETURN_IF_ERROR(kv_->floor(cache::data_key(input_, g.id, cache::kStream, UINT64_MAX),
                                     cache::data_prefix(input_, g.id, cache::kStream), &k, &v, &f));
    g.stream_end = f ? cache::data_key_pos(k) + v.size() : std::max(g.start_offset, g.stream_first);
    g.stream_end = std::max(g.stream_end, g.stream_first);
  }
  if (!meta_.gens.empty()) {
    const cache::Generation& last = meta_.gens.back();
    durable_ = Durable{true, last.id, last.rdb_bytes, last.stream_end, last.rdb_complete};
  }
  FERRY_RETURN_IF_ERROR(kv_->get(cache::checkpoint_key(input_), &value, &found));
  cache::LocalCheckpoint cp;
  const cache::Decoded c = found ? cache::decode(value, &cp) : cache::Decoded::kCorrupt;
  if (c == cache::Decoded::kNewer) return newer_format();
  if (c == cache::Decoded::kOk) applied_ = cp;
  return Status::ok();
}

Status CacheLog::newer_format() const {
  return Status::not_supported(
      "the local cache holds input " + input_ + "'s data in a format newer than this ferry's (" +
      std::to_string(cache::kFormatVersion) +
      "): run the ferry that wrote it, or remove channel.storer.dirPath (a full sync follows)");
}

std::optional<cache::LocalCheckpoint> CacheLog::local_checkpoint() const {
  std::lock_guard<std::mutex> lock(mu_);
  return applied_;
}

cache::Generation* CacheLog::gen(uint32_t id) {
  for (auto& g : meta_.gens) {
    if (g.id == id) return &g;
  }
  return nullptr;
}

const cache::Generation* CacheLog::gen(uint32_t id) const {
  for (const auto& g : meta_.gens) {
    if (g.id == id) return &g;
  }
  return nullptr;
}

cache::Generation* CacheLog::current_gen() {
  return meta_.gens.empty() ? nullptr : &meta_.gens.back();
}

const cache::Generation* CacheLog::find_stream(const std::string& replid, uint64_t offset) const {
  for (auto it = meta_.gens.rbegin(); it != meta_.gens.rend(); ++it) {
    const cache::Generation& g = *it;
    if (g.aborted || !(g.rdb_complete || g.stream_only)) continue;
    if (offset < g.stream_first || offset > g.stream_end) continue;
    if (g.replid_at(offset) == replid) return &g;
  }
  return nullptr;
}

const cache::Generation* CacheLog::find_rdb(const std::string& replid,
                                            uint64_t start_offset) const {
  for (const auto& g : meta_.gens) {
    if (g.replid == replid && g.start_offset == start_offset && g.rdb_complete && !g.rdb_dropped &&
        !g.stream_only) {
      return &g;
    }
  }
  return nullptr;
}

const cache::Generation* CacheLog::newest_complete_rdb() const {
  for (auto it = meta_.gens.rbegin(); it != meta_.gens.rend(); ++it) {
    if (it->rdb_complete && !it->rdb_dropped && !it->stream_only) return &*it;
  }
  return nullptr;
}

bool CacheLog::resume_point(std::string* replid, uint64_t* offset) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (meta_.gens.empty()) return false;
  const cache::Generation& g = meta_.gens.back();
  if (g.aborted || !(g.rdb_complete || g.stream_only)) return false;
  *replid = g.replid_at(g.stream_end);
  *offset = g.stream_end;
  return true;
}

void CacheLog::read_rdb(uint32_t gen_id, uint64_t skip_until) {
  std::lock_guard<std::mutex> lock(mu_);
  cursor_epoch_++;
  cursor_ = Cursor();
  cursor_.state = Cursor::State::kGenStart;
  cursor_.gen = gen_id;
  cursor_.skip_until = skip_until;
  cursor_.skip_gen = gen_id;
}

void CacheLog::read_stream(uint32_t gen_id, uint64_t offset, int db) {
  std::lock_guard<std::mutex> lock(mu_);
  cursor_epoch_++;
  cursor_ = Cursor();
  cursor_.state = Cursor::State::kStreamStart;
  cursor_.gen = gen_id;
  cursor_.pos = offset;
  cursor_.db = db;
}

void CacheLog::read_new_data(int db) {
  std::lock_guard<std::mutex> lock(mu_);
  cursor_epoch_++;
  cursor_ = Cursor();
  cursor_.state = Cursor::State::kWaitNewGen;
  cursor_.gen = meta_.next_gen;
  cursor_.db = db;
}

Status CacheLog::drop_all() {
  std::unique_lock<std::mutex> lock(mu_);
  // What is in memory goes now; the store's copy goes in the persister's next round, before
  // anything appended from now on.
  staged_.clear();
  staged_bytes_ = 0;
  meta_.gens.clear();
  recent_.clear();
  durable_ = Durable();
  applied_.reset();
  applied_dirty_ = false;
  cursor_ = Cursor();
  cursor_.state = Cursor::State::kWaitNewGen;
  cursor_.gen = meta_.next_gen;
  cursor_epoch_++;
  accepted_end_ = kUnknownOffset;
  drop_wanted_ = true;
  drop_epoch_++;
  round_done_.notify_all();
  // The round that carries the drop (a round under way may not, but then the next does).
  while (drop_wanted_) {
    if (!wait_round(lock) || failed_) {
      return Status::io_error("the local cache could not drop input " + input_ + "'s data");
    }
    if (drop_wanted_ && disk_full_) {
      return Status::no_space("the disk under the local cache is full: input " + input_ +
                              "'s old data could not be dropped yet");
    }
  }
  return Status::ok();
}

void CacheLog::set_failure_handler(std::function<void(const Status&)> handler) {
  std::lock_guard<std::mutex> lock(mu_);
  on_failure_ = std::move(handler);
}

void CacheLog::report_failure(const Status& st) {
  std::function<void(const Status&)> handler;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (failed_) return;
    failed_ = true;
    closed_ = true;
    handler = on_failure_;
    if (handler) callbacks_running_++;
    round_done_.notify_all();
  }
  LOG_ERROR("input %s: local cache: %s", input_.c_str(), st.message().c_str());
  if (handler) {
    handler(st.with_context("local cache"));
    std::lock_guard<std::mutex> lock(mu_);
    callbacks_running_--;
    round_done_.notify_all();
  }
}

void CacheLog::detach() {
  std::unique_lock<std::mutex> lock(mu_);
  listener_ = nullptr;
  on_failure_ = nullptr;
  round_done_.wait(lock, [&] { return callbacks_running_ == 0; });
}

uint64_t CacheLog::cached_offset() const {
  std::lock_guard<std::mutex> lock(mu_);
  return meta_.gens.empty() ? 0 : meta_.gens.back().stream_end;
}

uint64_t CacheLog::durable_offset() const {
  std::lock_guard<std::mutex> lock(mu_);
  return meta_.gens.empty() ? 0 : durable_stream(meta_.gens.back());
}

bool CacheLog::has_room() {
  std::unique_lock<std::mutex> lock(mu_);
  if (disk_full_) {
    // Space again, and the store takes writes again (checked without the lock).
    lock.unlock();
    const uint64_t free = kv_->free_bytes();
    Status resumed = free >= kMinFreeDiskBytes ? kv_->resume() : Status::no_space("");
    lock.lock();
    const bool room = resumed.is_ok();
    if (!room && free >= kMinFreeDiskBytes && mono_ms() - last_resume_complaint_ms_ > 10000) {
      last_resume_complaint_ms_ = mono_ms();
      LOG_WARN("input %s: the local cache does not take writes again yet: %s", input_.c_str(),
               resumed.message().c_str());
    }
    if (!room) {
      // What the target has applied may go, to make room.
      gc_wanted_ = true;
      work_ready_.notify_one();
      return false;
    }
    if (disk_full_) {
      LOG_INFO("input %s: the disk under the local cache has room again", input_.c_str());
    }
    disk_full_ = false;
  }
  return used_locked() + staged_bytes_ < options_.max_bytes / 10 * 9;
}

SourceLog::Continue CacheLog::continue_point(uint64_t* offset) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (rdb_lost_) return Continue::kFullSync;
  if (accepted_end_ == kUnknownOffset) return Continue::kAsIs;
  *offset = accepted_end_;
  return Continue::kAt;
}

SourceLog::Append CacheLog::append(SourceChunkPtr chunk) {
  using Kind = SourceChunk::Kind;
  std::unique_lock<std::mutex> lock(mu_);
  if (closed_) return Append::kClosed;
  if (disk_full_) return Append::kFull;
  bool data = chunk->kind == Kind::kRdbData || chunk->kind == Kind::kStreamData;
  if (chunk->kind == Kind::kRdbData && chunk->offset + chunk->data.size() > options_.max_bytes) {
    return Append::kTooBig;  // this RDB alone exceeds the budget
  }
  auto over_budget = [&] {
    return used_locked() + staged_bytes_ + chunk->data.size() > options_.max_bytes;
  };
  if (data && over_budget()) {
    // Let the persister free what the applied position has passed, then look again.
    gc_wanted_ = true;
    if (!wait_round(lock) || closed_) return Append::kClosed;
    if (over_budget() || disk_full_) return Append::kFull;
  }
  // The source link never waits on the disk, only on this staging memory.
  round_done_.wait(lock, [&] { return closed_ || disk_full_ || staged_bytes_ < kMaxStagedBytes; });
  if (closed_) return Append::kClosed;
  if (disk_full_) return Append::kFull;  // the disk filled while this waited
  if (chunk->kind == Kind::kStreamBegin) accepted_end_ = chunk->offset;
  if (chunk->kind == Kind::kStreamData) accepted_end_ = chunk->offset + chunk->data.size();
  if (chunk->kind == Kind::kRdbBegin) {
    accepted_end_ = kUnknownOffset;
    rdb_lost_ = false;
  }
  staged_bytes_ += chunk->bytes();
  staged_.push_back(std::move(chunk));
  work_ready_.notify_one();
  return Append::kOk;
}

void CacheLog::set_data_listener(std::function<void()> listener) {
  std::lock_guard<std::mutex> lock(mu_);
  listener_ = std::move(listener);
}

void CacheLog::close() {
  std::lock_guard<std::mutex> lock(mu_);
  closed_ = true;
  round_done_.notify_all();
}

void CacheLog::set_applied(const cache::LocalCheckpoint& cp) {
  std::lock_guard<std::mutex> lock(mu_);
  applied_ = cp;
  applied_dirty_ = true;
  if (mono_ms() - applied_saved_ms_ >= kCheckpointSaveMs) work_ready_.notify_one();
}

void CacheLog::save_applied() {
  std::unique_lock<std::mutex> lock(mu_);
  if (!applied_dirty_) return;
  save_wanted_ = true;
  wait_round(lock);
}

}  // namespace ferry
