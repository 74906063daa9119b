#include "storage/cache_format.h"

#include <cstring>

#include "common/bytes.h"

namespace ferry::cache {
namespace {

void put_u32_be(std::string* out, uint32_t v) {
  for (int i = 3; i >= 0; i--)
    out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void put_u64_be(std::string* out, uint64_t v) {
  for (int i = 7; i >= 0; i--)
    out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

class Writer {
 public:
  void u8(uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void u64(uint64_t v) {
    char b[8];
    store_le64(b, v);
    out_.append(b, 8);
  }
  void str(std::string_view s) {
    u64(s.size());
    out_.append(s.data(), s.size());
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

class Reader {
 public:
  explicit Reader(std::string_view d) : d_(d) {}
  bool u8(uint8_t* v) {
    if (d_.size() < 1) return false;
    *v = static_cast<uint8_t>(d_[0]);
    d_.remove_prefix(1);
    return true;
  }
  bool u64(uint64_t* v) {
    if (d_.size() < 8) return false;
    *v = load_le64(d_.data());
    d_.remove_prefix(8);
    return true;
  }
  bool str(std::string* s) {
    uint64_t n;
    if (!u64(&n) || d_.size() < n) return false;
    s->assign(d_.data(), n);
    d_.remove_prefix(n);
    return true;
  }

 private:
  std::string_view d_;
};

}  // namespace

std::string meta_key(std::string_view input) {
  return "m" + std::string(input);
}
std::string checkpoint_key(std::string_view input) {
  return "c" + std::string(input);
}

std::string data_prefix(std::string_view input) {
  std::string k = "d" + std::string(input);
  k.push_back('\0');
  return k;
}

std::pair<std::string, std::string> data_range(std::string_view input) {
  std::string begin = data_prefix(input);
  std::string end = begin;
  end.back() = '\x01';  // the prefix ends with \0: this is the first key past all of them
  return {begin, end};
}

std::string data_prefix(std::string_view input, uint32_t gen, char kind) {
  std::string k = data_prefix(input);
  put_u32_be(&k, gen);
  k.push_back(kind);
  return k;
}

std::string data_key(std::string_view input, uint32_t gen, char kind, uint64_t pos) {
  std::string k = data_prefix(input, gen, kind);
  put_u64_be(&k, pos);
  return k;
}

uint64_t data_key_pos(std::string_view key) {
  if (key.size() < 8) return 0;
  return load_be64(key.data() + key.size() - 8);
}

const std::string& Generation::replid_at(uint64_t offset) const {
  const std::string* id = &replid;
  for (const auto& [at, r] : replids) {
    if (at <= offset) id = &r;
  }
  return *id;
}

std::string encode(const InputMeta& meta) {
  Writer w;
  w.u8(kFormatVersion);
  w.u64(meta.next_gen);
  w.u64(static_cast<uint64_t>(meta.updated_ms));
  w.u64(meta.gens.size());
  for (const Generation& g : meta.gens) {
    w.u64(g.id);
    w.str(g.replid);
    w.u64(g.start_offset);
    w.u64(g.rdb_size);
    w.u8(static_cast<uint8_t>((g.rdb_complete ? 1 : 0) | (g.aborted ? 2 : 0) |
                              (g.rdb_dropped ? 4 : 0) | (g.stream_only ? 8 : 0)));
    w.u64(g.stream_first);
    w.u64(g.replids.size());
    for (const auto& [at, r] : g.replids) {
      w.u64(at);
      w.str(r);
    }
  }
  return w.take();
}

Decoded decode(std::string_view data, InputMeta* meta) {
  Reader r(data);
  uint8_t version;
  uint64_t next_gen, updated, n;
  if (!r.u8(&version)) return Decoded::kCorrupt;
  if (version > kFormatVersion) return Decoded::kNewer;
  if (version != kFormatVersion || !r.u64(&next_gen) || !r.u64(&updated) || !r.u64(&n) ||
      n > 1000000) {
    return Decoded::kCorrupt;
  }
  meta->next_gen = static_cast<uint32_t>(next_gen);
  meta->updated_ms = static_cast<int64_t>(updated);
  meta->gens.clear();
  for (uint64_t i = 0; i < n; i++) {
    Generation g;
    uint64_t id, nrep;
    uint8_t flags;
    if (!r.u64(&id) || !r.str(&g.replid) || !r.u64(&g.start_offset) || !r.u64(&g.rdb_size) ||
        !r.u8(&flags) || !r.u64(&g.stream_first) || !r.u64(&nrep) || nrep > 1000000) {
      return Decoded::kCorrupt;
    }
    g.id = static_cast<uint32_t>(id);
    g.rdb_complete = flags & 1;
    g.aborted = flags & 2;
    g.rdb_dropped = flags & 4;
    g.stream_only = flags & 8;
    for (uint64_t j = 0; j < nrep; j++) {
      uint64_t at;
      std::string rid;
      if (!r.u64(&at) || !r.str(&rid)) return Decoded::kCorrupt;
      g.replids.emplace_back(at, rid);
    }
    meta->gens.push_back(std::move(g));
  }
  return Decoded::kOk;
}

std::string encode(const LocalCheckpoint& cp) {
  Writer w;
  w.u8(kFormatVersion);
  w.u64(cp.gen);
  w.u8(cp.rdb ? 1 : 0);
  w.str(cp.replid);
  w.u64(cp.offset);
  w.u64(static_cast<uint64_t>(static_cast<int64_t>(cp.db)));
  w.u64(static_cast<uint64_t>(cp.updated_ms));
  return w.take();
}

Decoded decode(std::string_view data, LocalCheckpoint* cp) {
  Reader r(data);
  uint8_t version, rdb;
  uint64_t gen, db, updated;
  if (!r.u8(&version)) return Decoded::kCorrupt;
  if (version > kFormatVersion) return Decoded::kNewer;
  if (version != kFormatVersion || !r.u64(&gen) || !r.u8(&rdb) || !r.str(&cp->replid) ||
      !r.u64(&cp->offset) || !r.u64(&db) || !r.u64(&updated)) {
    return Decoded::kCorrupt;
  }
  cp->gen = static_cast<uint32_t>(gen);
  cp->rdb = rdb != 0;
  cp->db = static_cast<int>(static_cast<int64_t>(db));
  cp->updated_ms = static_cast<int64_t>(updated);
  return Decoded::kOk;
}

}  // namespace ferry::cache
