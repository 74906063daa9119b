#include "storage/cache_log.h"

#include <algorithm>
#include <deque>

#include "common/clock.h"
#include "common/log.h"
#include "common/thread_name.h"

namespace ferry {
namespace {

constexpr size_t kMaxReadChunk = 256 * 1024;
constexpr int64_t kCheckpointSaveMs = 100;

}  // namespace

CacheLog::CacheLog(KvStore* kv, std::string input, CacheLogOptions options,
                   std::function<void()> on_write)
    : kv_(kv), input_(std::move(input)), options_(options), on_write_(std::move(on_write)) {
  persister_ = std::thread([this] {
    set_thread_name("ferry-cache");
    persist_loop();
  });
}

Status CacheLog::load() {
  std::lock_guard<std::mutex> lock(mu_);
  std::string value;
  bool found = false;
  FERRY_RETURN_IF_ERROR(kv_->get(cache::meta_key(input_), &value, &found));
  meta_ = cache::InputMeta();
  if (found && !cache::decode(value, &meta_)) {
    LOG_WARN("input %s: the local cache's metadata is unreadable; starting with an empty cache",
             input_.c_str());
    meta_ = cache::InputMeta();
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
    durable_ = Durable{true, last.id, last.rdb_bytes, last.stream_end};
  }
  FERRY_RETURN_IF_ERROR(kv_->get(cache::checkpoint_key(input_), &value, &found));
  cache::LocalCheckpoint cp;
  if (found && cache::decode(value, &cp)) applied_ = cp;
  return Status::ok();
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
  // The persister's writes and this one must not interleave.
  round_done_.wait(lock, [&] { return !writing_ || persister_exited_; });
  staged_.clear();
  staged_bytes_ = 0;
  KvStore::Batch b;
  auto [begin, end] = cache::data_range(input_);
  b.delete_range(begin, end);
  b.del(cache::checkpoint_key(input_));
  meta_.gens.clear();
  recent_.clear();
  recent_bytes_ = 0;
  durable_ = Durable();
  persist_meta(&b);
  applied_.reset();
  applied_dirty_ = false;
  cursor_ = Cursor();
  cursor_.state = Cursor::State::kWaitNewGen;
  cursor_.gen = meta_.next_gen;
  cursor_epoch_++;
  Status st = write(&b);
  kv_->compact(begin, end);
  round_done_.notify_all();
  return st;
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

void CacheLog::persist_meta(KvStore::Batch* batch) {
  meta_.updated_ms = wall_ms();
  batch->put(cache::meta_key(input_), cache::encode(meta_));
}

Status CacheLog::write(KvStore::Batch* batch) {
  Status st = kv_->write(*batch, options_.sync_every_write);
  if (on_write_) on_write_();
  return st;
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

uint64_t CacheLog::cached_offset() const {
  std::lock_guard<std::mutex> lock(mu_);
  return meta_.gens.empty() ? 0 : meta_.gens.back().stream_end;
}

uint64_t CacheLog::durable_offset() const {
  std::lock_guard<std::mutex> lock(mu_);
  return meta_.gens.empty() ? 0 : durable_stream(meta_.gens.back());
}

bool CacheLog::has_room() const {
  std::lock_guard<std::mutex> lock(mu_);
  return used_locked() + staged_bytes_ < options_.max_bytes / 10 * 9;
}

SourceLog::Append CacheLog::append(SourceChunkPtr chunk) {
  using Kind = SourceChunk::Kind;
  std::unique_lock<std::mutex> lock(mu_);
  if (closed_) return Append::kClosed;
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
    if (over_budget()) return Append::kFull;
  }
  // The source link never waits on the disk, only on this staging memory.
  round_done_.wait(lock, [&] { return closed_ || staged_bytes_ < kMaxStagedBytes; });
  if (closed_) return Append::kClosed;
  staged_bytes_ += chunk->bytes();
  staged_.push_back(std::move(chunk));
  work_ready_.notify_one();
  return Append::kOk;
}

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
      return !staged_.empty() || gc_wanted_ || save_wanted_ || save_due;
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

void CacheLog::persist_round(std::unique_lock<std::mutex>& lock) {
  rounds_started_++;
  // Group commit: what is staged goes in one write (of bounded size).
  KvStore::Batch b;
  uint64_t taken = 0;
  bool in_order = true;
  std::vector<Recent> written;
  while (!staged_.empty() && (taken == 0 || taken < kMaxWriteBytes)) {
    SourceChunkPtr c = std::move(staged_.front());
    staged_.pop_front();
    taken += c->bytes();
    in_order = stage_into(*c, &b) && in_order;
    const bool data =
        c->kind == SourceChunk::Kind::kRdbData || c->kind == SourceChunk::Kind::kStreamData;
    if (data && in_order && current_gen()) {
      char kind = c->kind == SourceChunk::Kind::kRdbData ? cache::kRdb : cache::kStream;
      written.push_back(Recent{current_gen()->id, kind, std::move(c)});
    }
  }
  Durable durable = durable_;
  if (const cache::Generation* g = current_gen()) {
    durable = Durable{true, g->id, g->rdb_bytes, g->stream_end};
  }
  std::vector<std::pair<std::string, std::string>> ranges;
  uint64_t freed = 0;
  if (gc_wanted_) {
    freed = gc_locked(gc_force_, &b, &ranges);
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
  writing_ = true;
  lock.unlock();
  Status st = !b.empty() ? write(&b) : Status::ok();
  if (st.is_ok()) {
    for (const auto& [begin, end] : ranges)
      kv_->compact(begin, end);
  }
  if (st.is_ok() && !in_order) st = Status::corruption("the source's data arrived out of order");
  if (!st.is_ok()) report_failure(st);
  lock.lock();
  writing_ = false;
  staged_bytes_ -= taken;
  if (st.is_ok()) {
    durable_ = durable;
    for (Recent& r : written) {
      recent_bytes_ += r.chunk->data.size();
      recent_.push_back(std::move(r));
    }
    while (recent_bytes_ > kMaxRecentBytes) {
      recent_bytes_ -= recent_.front().chunk->data.size();
      recent_.pop_front();
    }
  }
  last_gc_freed_ = freed;
  if (st.is_ok()) gc_stats_.freed_bytes += freed;
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

bool CacheLog::read_recent(uint32_t gen_id, char kind, uint64_t pos, uint64_t limit,
                           std::string* out) const {
  auto before = [](const Recent& r, uint32_t g, char k, uint64_t p) {
    if (r.gen != g) return r.gen < g;
    if (r.kind != k) return r.kind == cache::kRdb;  // a generation's RDB precedes its stream
    return r.chunk->offset + r.chunk->data.size() <= p;
  };
  // The first chunk that does not end at or before `pos`.
  auto it = std::partition_point(recent_.begin(), recent_.end(),
                                 [&](const Recent& r) { return before(r, gen_id, kind, pos); });
  if (it == recent_.end() || it->gen != gen_id || it->kind != kind || it->chunk->offset > pos) {
    return false;
  }
  // Contiguous chunks, up to a read's size: fewer, larger messages for the pipeline.
  const uint64_t want = std::min<uint64_t>(limit, kMaxReadChunk);
  out->clear();
  uint64_t at = pos;
  for (; it != recent_.end() && out->size() < want; ++it) {
    const SourceChunk& c = *it->chunk;
    if (it->gen != gen_id || it->kind != kind || c.offset > at || c.offset + c.data.size() <= at) {
      break;
    }
    uint64_t skip = at - c.offset;
    uint64_t n = std::min<uint64_t>(c.data.size() - skip, want - out->size());
    out->append(c.data, skip, n);
    at += n;
    if (skip + n < c.data.size()) break;
  }
  return !out->empty();
}

Status CacheLog::read_chunk(uint32_t gen_id, char kind, uint64_t pos, uint64_t limit,
                            std::string* out) {
  std::string k, v;
  bool found = false;
  FERRY_RETURN_IF_ERROR(kv_->floor(cache::data_key(input_, gen_id, kind, pos),
                                   cache::data_prefix(input_, gen_id, kind), &k, &v, &found));
  uint64_t start = found ? cache::data_key_pos(k) : 0;
  if (!found || start + v.size() <= pos) {
    return Status::corruption("generation " + std::to_string(gen_id) + " lacks its " +
                              (kind == cache::kRdb ? "RDB" : "stream") + " bytes at " +
                              std::to_string(pos));
  }
  uint64_t skip = pos - start;
  uint64_t n = std::min<uint64_t>({v.size() - skip, limit, kMaxReadChunk});
  out->assign(v.data() + skip, n);
  return Status::ok();
}

uint64_t CacheLog::durable_rdb(const cache::Generation& g) const {
  if (!durable_.valid || g.id > durable_.gen) return 0;
  return g.id < durable_.gen ? g.rdb_bytes : std::min(g.rdb_bytes, durable_.rdb_bytes);
}

uint64_t CacheLog::durable_stream(const cache::Generation& g) const {
  if (!durable_.valid || g.id > durable_.gen) return g.stream_first;
  return g.id < durable_.gen ? g.stream_end : std::min(g.stream_end, durable_.stream_end);
}

bool CacheLog::try_read(SourceChunkPtr* out) {
  using Kind = SourceChunk::Kind;
  using State = Cursor::State;
  std::unique_lock<std::mutex> lock(mu_);
  // Reads a data chunk without the lock: only this thread moves the cursor forward, and GC
  // never deletes at or after it. The owner may reset the cursor meanwhile (the epoch).
  auto read_data = [&](uint32_t gen_id, char kind, uint64_t pos, uint64_t limit,
                       SourceChunkPtr chunk) -> int {
    // Close behind the source, the bytes are still in memory.
    if (read_recent(gen_id, kind, pos, limit, &chunk->data)) {
      cursor_.pos += chunk->data.size();
      *out = std::move(chunk);
      return 1;
    }
    uint64_t epoch = cursor_epoch_;
    lock.unlock();
    Status st = read_chunk(gen_id, kind, pos, limit, &chunk->data);
    if (!st.is_ok()) {
      report_failure(st);
      lock.lock();
      return 0;
    }
    lock.lock();
    if (epoch != cursor_epoch_) return -1;  // the cursor moved: look again
    cursor_.pos += chunk->data.size();
    *out = std::move(chunk);
    return 1;
  };
  for (int guard = 0; guard < 8 && !failed_; guard++) {
    if (cursor_.state == State::kWaitNewGen) {
      const cache::Generation* next = nullptr;
      for (const auto& g : meta_.gens) {
        if (g.id >= cursor_.gen) {
          next = &g;
          break;
        }
      }
      if (!next) return false;
      cursor_.gen = next->id;
      cursor_.state = State::kGenStart;
    }
    const cache::Generation* g = gen(cursor_.gen);
    if (!g) {
      cursor_.state = State::kWaitNewGen;
      cursor_.gen++;
      continue;
    }
    auto chunk = std::make_shared<SourceChunk>();
    chunk->gen = g->id;
    switch (cursor_.state) {
      case State::kGenStart:
        if (g->stream_only) {
          cursor_.state = State::kStreamStart;
          cursor_.pos = g->start_offset;
          continue;
        }
        chunk->kind = Kind::kRdbBegin;
        chunk->replid = g->replid;
        chunk->offset = g->start_offset;
        chunk->rdb_size = g->rdb_size;
        chunk->skip_until = cursor_.skip_until;
        cursor_.state = State::kRdb;
        cursor_.pos = 0;
        *out = chunk;
        return true;
      case State::kRdb:
        if (cursor_.pos < g->rdb_bytes && !g->rdb_dropped) {
          if (cursor_.pos >= durable_rdb(*g)) return false;  // not written yet
          chunk->kind = Kind::kRdbData;
          chunk->offset = cursor_.pos;
          int r = read_data(g->id, cache::kRdb, cursor_.pos, UINT64_MAX, chunk);
          if (r < 0) continue;
          return r > 0;
        }
        if (g->rdb_complete) {
          chunk->kind = Kind::kRdbEnd;
          cursor_.state = State::kStreamStart;
          cursor_.pos = g->start_offset;
          *out = chunk;
          return true;
        }
        if (g->aborted) {
          chunk->kind = Kind::kRdbAbort;
          cursor_.state = State::kWaitNewGen;
          cursor_.gen = g->id + 1;
          *out = chunk;
          return true;
        }
        return false;
      case State::kStreamStart:
        chunk->kind = Kind::kStreamBegin;
        chunk->replid = g->replid_at(cursor_.pos);
        chunk->offset = cursor_.pos;
        chunk->db = cursor_.db;
        cursor_.replid = chunk->replid;
        cursor_.state = State::kStream;
        *out = chunk;
        return true;
      case State::kStream: {
        const std::string& replid = g->replid_at(cursor_.pos);
        if (replid != cursor_.replid) {
          // The replication id changed here (a source failover): say so, then go on.
          chunk->kind = Kind::kStreamBegin;
          chunk->replid = replid;
          chunk->offset = cursor_.pos;
          cursor_.replid = replid;
          *out = chunk;
          return true;
        }
        if (cursor_.pos < g->stream_end) {
          if (cursor_.pos >= durable_stream(*g)) return false;  // not written yet
          uint64_t limit = UINT64_MAX;
          for (const auto& [at, r] : g->replids) {
            if (at > cursor_.pos) {
              limit = at - cursor_.pos;
              break;
            }
          }
          chunk->kind = Kind::kStreamData;
          chunk->offset = cursor_.pos;
          int r = read_data(g->id, cache::kStream, cursor_.pos, limit, chunk);
          if (r < 0) continue;
          return r > 0;
        }
        // This stream ends here if a newer full sync exists.
        if (&meta_.gens.back() != g) {
          cursor_.state = State::kWaitNewGen;
          cursor_.gen = g->id + 1;
          continue;
        }
        return false;
      }
      case State::kWaitNewGen:
        break;
    }
  }
  return false;
}

uint64_t CacheLog::unread_bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t n = staged_bytes_;
  for (const auto& g : meta_.gens) {
    if (g.id < cursor_.gen) continue;
    if (g.id > cursor_.gen || cursor_.state == Cursor::State::kGenStart ||
        cursor_.state == Cursor::State::kWaitNewGen) {
      n += (g.rdb_dropped ? 0 : g.rdb_bytes) + (g.stream_end - g.stream_first) + 1;
      continue;
    }
    if (cursor_.state == Cursor::State::kRdb) {
      n += g.rdb_bytes - std::min(g.rdb_bytes, cursor_.pos) + (g.stream_end - g.stream_first);
      if (g.rdb_complete || g.aborted) n++;  // the end marker
    } else {
      n += g.stream_end - std::min(g.stream_end, cursor_.pos);
      if (cursor_.state == Cursor::State::kStreamStart) n++;
    }
  }
  return n;
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

uint64_t CacheLog::gc(bool force) {
  std::unique_lock<std::mutex> lock(mu_);
  gc_wanted_ = true;
  gc_force_ = gc_force_ || force;
  return wait_round(lock) ? last_gc_freed_ : 0;
}

uint64_t CacheLog::gc_locked(bool force, KvStore::Batch* b,
                             std::vector<std::pair<std::string, std::string>>* ranges) {
  if (!applied_) return 0;
  uint64_t used = used_locked();
  if (!force && used + options_.gc_unit <= options_.max_bytes) return 0;
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
      // Stream chunks that end at or before the applied offset (all applied, so written).
      std::string k, v;
      bool f = false;
      kv_->floor(cache::data_key(input_, g.id, cache::kStream, a.offset),
                 cache::data_prefix(input_, g.id, cache::kStream), &k, &v, &f);
      if (f) {
        uint64_t start = cache::data_key_pos(k);
        uint64_t cut = start + v.size() <= a.offset ? start + v.size() : start;
        if (cut > g.stream_first) {
          freed += cut - g.stream_first;
          drop(cache::data_key(input_, g.id, cache::kStream, 0),
               cache::data_key(input_, g.id, cache::kStream, cut));
          g.stream_first = cut;
        }
      }
    }
    keep.push_back(g);
  }
  if (freed == 0) return 0;
  meta_.gens = keep;
  persist_meta(b);
  return freed;
}

}  // namespace ferry
