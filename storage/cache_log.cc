#include "storage/cache_log.h"

#include <algorithm>

#include "common/clock.h"
#include "common/log.h"

namespace ferry {
namespace {

constexpr size_t kMaxReadChunk = 256 * 1024;
constexpr int64_t kCheckpointSaveMs = 100;

}  // namespace

CacheLog::CacheLog(KvStore* kv, std::string input, CacheLogOptions options,
                   std::function<void()> on_write)
    : kv_(kv), input_(std::move(input)), options_(options), on_write_(std::move(on_write)) {}

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
  cursor_ = Cursor();
  cursor_.state = Cursor::State::kGenStart;
  cursor_.gen = gen_id;
  cursor_.skip_until = skip_until;
}

void CacheLog::read_stream(uint32_t gen_id, uint64_t offset, int db) {
  std::lock_guard<std::mutex> lock(mu_);
  cursor_ = Cursor();
  cursor_.state = Cursor::State::kStreamStart;
  cursor_.gen = gen_id;
  cursor_.pos = offset;
  cursor_.db = db;
}

void CacheLog::read_new_data(int db) {
  std::lock_guard<std::mutex> lock(mu_);
  cursor_ = Cursor();
  cursor_.state = Cursor::State::kWaitNewGen;
  cursor_.gen = meta_.next_gen;
  cursor_.db = db;
}

Status CacheLog::drop_all() {
  std::lock_guard<std::mutex> lock(mu_);
  KvStore::Batch b;
  std::string begin = cache::data_prefix(input_);
  std::string end = begin;
  end.back() = '\x01';
  b.delete_range(begin, end);
  b.del(cache::checkpoint_key(input_));
  meta_.gens.clear();
  meta_.updated_ms = wall_ms();
  b.put(cache::meta_key(input_), cache::encode(meta_));
  applied_.reset();
  cursor_ = Cursor();
  cursor_.state = Cursor::State::kWaitNewGen;
  cursor_.gen = meta_.next_gen;
  Status st = write(&b);
  kv_->compact(begin, end);
  return st;
}

Status CacheLog::persist_meta(KvStore::Batch* batch) {
  meta_.updated_ms = wall_ms();
  batch->put(cache::meta_key(input_), cache::encode(meta_));
  return Status::ok();
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

uint64_t CacheLog::cached_offset() const {
  std::lock_guard<std::mutex> lock(mu_);
  return meta_.gens.empty() ? 0 : meta_.gens.back().stream_end;
}

bool CacheLog::has_room() const {
  std::lock_guard<std::mutex> lock(mu_);
  return used_locked() < options_.max_bytes / 10 * 9;
}

SourceLog::Append CacheLog::append(SourceChunkPtr chunk) {
  using Kind = SourceChunk::Kind;
  std::function<void()> listener;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return Append::kClosed;
    bool data = chunk->kind == Kind::kRdbData || chunk->kind == Kind::kStreamData;
    if (data && used_locked() + chunk->data.size() > options_.max_bytes) {
      gc_locked(false);
      if (used_locked() + chunk->data.size() > options_.max_bytes) return Append::kFull;
    }
    KvStore::Batch b;
    cache::Generation* g = current_gen();
    switch (chunk->kind) {
      case Kind::kRdbBegin: {
        cache::Generation ng;
        ng.id = meta_.next_gen++;
        ng.replid = chunk->replid;
        ng.start_offset = chunk->offset;
        ng.rdb_size = chunk->rdb_size;
        ng.stream_first = ng.stream_end = chunk->offset;
        meta_.gens.push_back(ng);
        persist_meta(&b);
        break;
      }
      case Kind::kRdbData:
        if (!g || g->rdb_complete || g->stream_only || chunk->offset != g->rdb_bytes) {
          LOG_ERROR("input %s: cache: RDB bytes out of place (at %llu)", input_.c_str(),
                    static_cast<unsigned long long>(chunk->offset));
          return Append::kClosed;
        }
        b.put(cache::data_key(input_, g->id, cache::kRdb, chunk->offset), chunk->data);
        g->rdb_bytes += chunk->data.size();
        break;
      case Kind::kRdbEnd:
        if (g) g->rdb_complete = true;
        persist_meta(&b);
        break;
      case Kind::kRdbAbort:
        if (g) g->aborted = true;
        persist_meta(&b);
        break;
      case Kind::kStreamBegin: {
        bool usable = g && !g->aborted && (g->rdb_complete || g->stream_only);
        if (!usable || chunk->offset != g->stream_end) {
          // A stream that does not continue what is stored (a partial resync onto an empty
          // or unusable cache) starts a generation of its own.
          cache::Generation ng;
          ng.id = meta_.next_gen++;
          ng.replid = chunk->replid;
          ng.start_offset = chunk->offset;
          ng.stream_first = ng.stream_end = chunk->offset;
          ng.stream_only = true;
          meta_.gens.push_back(ng);
        } else if (chunk->replid != g->replid_at(chunk->offset)) {
          g->replids.emplace_back(chunk->offset, chunk->replid);
        }
        persist_meta(&b);
        break;
      }
      case Kind::kStreamData:
        if (!g || chunk->offset != g->stream_end) {
          LOG_ERROR("input %s: cache: stream bytes out of place (at %llu)", input_.c_str(),
                    static_cast<unsigned long long>(chunk->offset));
          return Append::kClosed;
        }
        b.put(cache::data_key(input_, g->id, cache::kStream, chunk->offset), chunk->data);
        g->stream_end += chunk->data.size();
        break;
    }
    Status st = write(&b);
    if (!st.is_ok()) {
      LOG_ERROR("input %s: %s", input_.c_str(), st.message().c_str());
      return Append::kClosed;
    }
    listener = listener_;
  }
  if (listener) listener();
  return Append::kOk;
}

bool CacheLog::read_chunk(const cache::Generation& g, char kind, uint64_t pos, uint64_t limit,
                          std::string* out) {
  std::string k, v;
  bool found = false;
  Status st = kv_->floor(cache::data_key(input_, g.id, kind, pos),
                         cache::data_prefix(input_, g.id, kind), &k, &v, &found);
  if (!st.is_ok() || !found) return false;
  uint64_t start = cache::data_key_pos(k);
  if (start + v.size() <= pos) return false;
  uint64_t skip = pos - start;
  uint64_t n = std::min<uint64_t>({v.size() - skip, limit, kMaxReadChunk});
  out->assign(v.data() + skip, n);
  return true;
}

bool CacheLog::try_read(SourceChunkPtr* out) {
  using Kind = SourceChunk::Kind;
  using State = Cursor::State;
  std::lock_guard<std::mutex> lock(mu_);
  for (int guard = 0; guard < 8; guard++) {
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
          chunk->kind = Kind::kRdbData;
          chunk->offset = cursor_.pos;
          if (!read_chunk(*g, cache::kRdb, cursor_.pos, UINT64_MAX, &chunk->data)) return false;
          cursor_.pos += chunk->data.size();
          *out = chunk;
          return true;
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
          uint64_t limit = UINT64_MAX;
          for (const auto& [at, r] : g->replids) {
            if (at > cursor_.pos) {
              limit = at - cursor_.pos;
              break;
            }
          }
          chunk->kind = Kind::kStreamData;
          chunk->offset = cursor_.pos;
          if (!read_chunk(*g, cache::kStream, cursor_.pos, limit, &chunk->data)) return false;
          cursor_.pos += chunk->data.size();
          *out = chunk;
          return true;
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
  uint64_t n = 0;
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
}

void CacheLog::set_applied(const cache::LocalCheckpoint& cp) {
  std::lock_guard<std::mutex> lock(mu_);
  applied_ = cp;
  int64_t now = mono_ms();
  if (now - applied_saved_ms_ < kCheckpointSaveMs) return;
  applied_saved_ms_ = now;
  cache::LocalCheckpoint saved = cp;
  saved.updated_ms = wall_ms();
  KvStore::Batch b;
  b.put(cache::checkpoint_key(input_), cache::encode(saved));
  write(&b);
}

void CacheLog::save_applied() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!applied_) return;
  cache::LocalCheckpoint saved = *applied_;
  saved.updated_ms = wall_ms();
  KvStore::Batch b;
  b.put(cache::checkpoint_key(input_), cache::encode(saved));
  write(&b);
}

uint64_t CacheLog::gc(bool force) {
  std::lock_guard<std::mutex> lock(mu_);
  return gc_locked(force);
}

uint64_t CacheLog::gc_locked(bool force) {
  if (!applied_) return 0;
  uint64_t used = used_locked();
  if (!force && used + options_.gc_unit <= options_.max_bytes) return 0;
  const cache::LocalCheckpoint a = *applied_;
  KvStore::Batch b;
  uint64_t freed = 0;
  std::vector<std::pair<std::string, std::string>> ranges;
  auto drop = [&](const std::string& begin, const std::string& end) {
    b.delete_range(begin, end);
    ranges.emplace_back(begin, end);
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
      // Stream chunks that end at or before the applied offset.
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
  persist_meta(&b);
  if (!write(&b).is_ok()) return 0;
  for (const auto& [begin, end] : ranges)
    kv_->compact(begin, end);
  if (freed > 0) {
    LOG_INFO("input %s: cache GC freed %llu bytes", input_.c_str(),
             static_cast<unsigned long long>(freed));
  }
  return freed;
}

}  // namespace ferry
