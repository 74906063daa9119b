// CacheLog's reader: the cursor that walks generations (RDB, then stream) for the graph, served
// from the memory tail when it follows closely, from the store (without the lock) otherwise.
#include <algorithm>

#include "storage/cache_log.h"

namespace ferry {

bool CacheLog::try_read(SourceChunkPtr* out) {
  using Kind = SourceChunk::Kind;
  using State = Cursor::State;
  std::unique_lock<std::mutex> lock(mu_);
  // Reads a data chunk without the lock: only this thread moves the cursor forward, and GC
  // never deletes at or after it. The owner may reset the cursor meanwhile (the epoch).
  auto read_data = [&](uint32_t gen_id, char kind, uint64_t pos, uint64_t limit,
                       SourceChunkPtr chunk) -> int {
    // Close behind the source, the bytes are still in memory.
    if (recent_.read(gen_id, kind, pos, limit, kMaxReadChunk, &chunk->data)) {
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
      if (!next || !durable_gen(*next)) return false;  // not written yet
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
        // Only the RDB the resume started in was applied that far: a later one (the source
        // answered FULLRESYNC again) is applied from its first byte.
        chunk->skip_until = g->id == cursor_.skip_gen ? cursor_.skip_until : 0;
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
          if (!durable_rdb_end(*g)) return false;  // its end is not written yet
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

}  // namespace ferry
