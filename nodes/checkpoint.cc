#include "nodes/checkpoint.h"

#include "common/bytes.h"
#include "common/clock.h"
#include "nodes/own_keys.h"
#include "proto/resp.h"

namespace ferry {

void Checkpoint::append_hset(const std::string& input, std::string* wire) const {
  const SourcePosition& p = position;
  bool rdb = p.phase == SourcePosition::Phase::kRdb;
  resp::append_array_header(wire, 2 + 2 * 8);
  resp::append_bulk(wire, "HSET");
  resp::append_bulk(wire, checkpoint_key(input));
  resp::append_bulk(wire, "phase");
  resp::append_bulk(wire, rdb ? "rdb" : "stream");
  resp::append_bulk(wire, "replid");
  resp::append_bulk(wire, p.replid);
  resp::append_bulk(wire, "offset");
  resp::append_bulk_int(wire, static_cast<int64_t>(p.offset));
  resp::append_bulk(wire, "rdb_start");
  resp::append_bulk_int(wire, static_cast<int64_t>(p.rdb_start));
  resp::append_bulk(wire, "db");
  resp::append_bulk_int(wire, p.db);
  resp::append_bulk(wire, "gen");
  resp::append_bulk_int(wire, p.gen);
  resp::append_bulk(wire, "seq");
  resp::append_bulk_int(wire, static_cast<int64_t>(seq));
  resp::append_bulk(wire, "time");
  resp::append_bulk_int(wire, wall_ms());
}

bool Checkpoint::from_fields(const std::map<std::string, std::string>& f, Checkpoint* out) {
  auto num = [&](const char* name, int64_t* v) {
    auto it = f.find(name);
    return it != f.end() && parse_int(it->second, v);
  };
  auto phase = f.find("phase");
  auto replid = f.find("replid");
  int64_t offset, rdb_start, db, gen, seq;
  if (phase == f.end() || replid == f.end() || !num("offset", &offset) ||
      !num("rdb_start", &rdb_start) || !num("db", &db) || !num("gen", &gen) || !num("seq", &seq)) {
    return false;
  }
  if (phase->second != "rdb" && phase->second != "stream") return false;
  Checkpoint c;
  c.position.phase =
      phase->second == "rdb" ? SourcePosition::Phase::kRdb : SourcePosition::Phase::kStream;
  c.position.replid = replid->second;
  c.position.offset = static_cast<uint64_t>(offset);
  c.position.rdb_start = static_cast<uint64_t>(rdb_start);
  c.position.db = static_cast<int>(db);
  c.position.gen = static_cast<uint32_t>(gen);
  c.seq = static_cast<uint64_t>(seq);
  *out = c;
  return true;
}

std::string Checkpoint::describe() const {
  const SourcePosition& p = position;
  if (p.phase == SourcePosition::Phase::kRdb) {
    return "RDB of " + p.replid + ":" + std::to_string(p.rdb_start) + " at byte " +
           std::to_string(p.offset);
  }
  return p.replid + ":" + std::to_string(p.offset) + " (db " + std::to_string(p.db) + ")";
}

}  // namespace ferry
