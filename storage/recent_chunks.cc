#include "storage/recent_chunks.h"

#include <algorithm>

#include "storage/cache_format.h"

namespace ferry {

void RecentChunks::add(uint32_t gen, char kind, SourceChunkPtr chunk) {
  bytes_ += chunk->data.size();
  chunks_.push_back(Entry{gen, kind, std::move(chunk)});
  while (bytes_ > max_bytes_) {
    bytes_ -= chunks_.front().chunk->data.size();
    chunks_.pop_front();
  }
}

void RecentChunks::clear() {
  chunks_.clear();
  bytes_ = 0;
}

bool RecentChunks::read(uint32_t gen, char kind, uint64_t pos, uint64_t limit, uint64_t max_read,
                        std::string* out) const {
  auto before = [&](const Entry& e) {
    if (e.gen != gen) return e.gen < gen;
    if (e.kind != kind) return e.kind == cache::kRdb;  // a generation's RDB precedes its stream
    return e.chunk->offset + e.chunk->data.size() <= pos;
  };
  // The first chunk that does not end at or before `pos`.
  auto it = std::partition_point(chunks_.begin(), chunks_.end(), before);
  if (it == chunks_.end() || it->gen != gen || it->kind != kind || it->chunk->offset > pos) {
    return false;
  }
  // Contiguous chunks, up to a read's size: fewer, larger messages for the pipeline.
  const uint64_t want = std::min(limit, max_read);
  out->clear();
  uint64_t at = pos;
  for (; it != chunks_.end() && out->size() < want; ++it) {
    const SourceChunk& c = *it->chunk;
    if (it->gen != gen || it->kind != kind || c.offset > at || c.offset + c.data.size() <= at) {
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

}  // namespace ferry
