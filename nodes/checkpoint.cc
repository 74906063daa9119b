#include "nodes/checkpoint.h"

#include "common/bytes.h"
#include "common/clock.h"
#include "proto/checkpoint_format.h"
#include "proto/resp.h"

namespace ferry {

void Checkpoint::append_hset(const std::string& input, std::string* wire) const {
  const SourcePosition& p = position;
  bool rdb = p.phase == SourcePosition::Phase::kRdb;
  resp::append_array_header(wire, 2 + 2 * 9);
  resp::append_bulk(wire, "HSET");
  resp::append_bulk(wire, ckpt::key(input));
  resp::append_bulk(wire, ckpt::kVersionField);
  resp::append_bulk_int(wire, ckpt::kVersion);
  resp::append_bulk(wire, ckpt::kPhase);
  resp::append_bulk(wire, rdb ? "rdb" : "stream");
  resp::append_bulk(wire, ckpt::kReplid);
  resp::append_bulk(wire, p.replid);
  resp::append_bulk(wire, ckpt::kOffset);
  resp::append_bulk_int(wire, static_cast<int64_t>(p.offset));
  resp::append_bulk(wire, ckpt::kRdbStart);
  resp::append_bulk_int(wire, static_cast<int64_t>(p.rdb_start));
  resp::append_bulk(wire, ckpt::kDbField);
  resp::append_bulk_int(wire, p.db);
  resp::append_bulk(wire, ckpt::kGen);
  resp::append_bulk_int(wire, p.gen);
  resp::append_bulk(wire, ckpt::kSeq);
  resp::append_bulk_int(wire, static_cast<int64_t>(seq));
  resp::append_bulk(wire, ckpt::kTime);
  resp::append_bulk_int(wire, wall_ms());
}

Status Checkpoint::from_fields(const std::map<std::string, std::string>& f, Checkpoint* out) {
  auto num = [&](std::string_view name, int64_t* v) {
    auto it = f.find(std::string(name));
    return it != f.end() && parse_int(it->second, v);
  };
  int64_t version = 1;
  if (f.count(std::string(ckpt::kVersionField)) && !num(ckpt::kVersionField, &version)) {
    return Status::corruption("its version field is not a number");
  }
  if (version > ckpt::kVersion) {
    return Status::not_supported(
        "it was written by a newer ferry (checkpoint format " + std::to_string(version) +
        ", this ferry reads up to " + std::to_string(ckpt::kVersion) +
        "): run that version, or start over with a full sync (POST /syncer/fullsync)");
  }
  auto phase = f.find(std::string(ckpt::kPhase));
  auto replid = f.find(std::string(ckpt::kReplid));
  int64_t offset, rdb_start, db, gen, seq;
  if (phase == f.end() || replid == f.end() || !num(ckpt::kOffset, &offset) ||
      !num(ckpt::kRdbStart, &rdb_start) || !num(ckpt::kDbField, &db) || !num(ckpt::kGen, &gen) ||
      !num(ckpt::kSeq, &seq)) {
    return Status::corruption("a field is missing or not a number");
  }
  if (phase->second != "rdb" && phase->second != "stream") {
    return Status::corruption("unknown phase '" + phase->second + "'");
  }
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
  return Status::ok();
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
