#include "nodes/checkpoint.h"

#include "common/bytes.h"
#include "common/clock.h"
#include "proto/checkpoint_format.h"
#include "proto/resp.h"

namespace ferry {

namespace {

// The hash's fields and values, in the one order both spellings of the HSET use.
std::vector<std::pair<std::string_view, std::string>> fields_of(const Checkpoint& c) {
  const SourcePosition& p = c.position;
  return {
      {ckpt::kVersionField, std::to_string(ckpt::kVersion)},
      {ckpt::kPhase, p.phase == SourcePosition::Phase::kRdb ? "rdb" : "stream"},
      {ckpt::kReplid, p.replid},
      {ckpt::kOffset, std::to_string(p.offset)},
      {ckpt::kRdbStart, std::to_string(p.rdb_start)},
      {ckpt::kDbField, std::to_string(p.db)},
      {ckpt::kGen, std::to_string(p.gen)},
      {ckpt::kSeq, std::to_string(c.seq)},
      {ckpt::kTime, std::to_string(wall_ms())},
  };
}

}  // namespace

void Checkpoint::append_hset(const std::string& key, std::string* wire) const {
  auto fields = fields_of(*this);
  resp::append_array_header(wire, 2 + 2 * fields.size());
  resp::append_bulk(wire, "HSET");
  resp::append_bulk(wire, key);
  for (const auto& [name, value] : fields) {
    resp::append_bulk(wire, name);
    resp::append_bulk(wire, value);
  }
}

std::vector<std::string> Checkpoint::hset_argv(const std::string& key) const {
  std::vector<std::string> argv = {"HSET", key};
  for (auto& [name, value] : fields_of(*this)) {
    argv.emplace_back(name);
    argv.push_back(std::move(value));
  }
  return argv;
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
