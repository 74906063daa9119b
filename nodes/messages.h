// What flows between the stages of an input's graph. The source node emits SourceChunks
// (raw bytes from the SourceLog); the parse stage turns them into Packets, which later
// stages transform in place; the batch stage assembles Batches for one target node each.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "net/target_writer.h"
#include "proto/command_list.h"
#include "proto/rdb_reader.h"
#include "storage/source_log.h"

namespace ferry {

// Where a source stands: inside the RDB of a full sync (offset = RDB bytes) or in the
// command stream (offset = replication offset, i.e. bytes of the stream counted the
// source's way).
struct SourcePosition {
  enum class Phase : uint8_t { kNone, kRdb, kStream };
  Phase phase = Phase::kNone;
  std::string replid;      // kRdb: the full sync's replication id; kStream: the id in force
  uint64_t offset = 0;     // kRdb: RDB bytes applied; kStream: replication offset
  uint64_t rdb_start = 0;  // kRdb: the +FULLRESYNC offset (identifies the RDB)
  uint32_t gen = 0;        // the local cache's generation (full sync) it belongs to
  int db = 0;              // the source's current DB at this position (stream)
};

// One RDB record awaiting conversion into commands. Key and value bytes live in the
// packet's rdb_bytes.
struct RdbItem {
  enum class Kind : uint8_t { kKey, kFunction };
  Kind kind = Kind::kKey;
  uint64_t db = 0;
  uint8_t type = 0;
  int64_t expire_ms = -1;
  int64_t idle_s = -1;
  int freq = -1;
  rdb::Piece piece = rdb::Piece::kWhole;
  uint32_t piece_index = 0;
  bool last_piece = true;
  bool first_function = false;  // kFunction: the first library of this RDB
  uint64_t key_off = 0, key_len = 0;
  uint64_t value_off = 0, value_len = 0;
  uint64_t end_offset = 0;  // RDB position after this record
  uint64_t key_offset = 0;  // RDB position of the key (for messages)
};

struct Packet {
  enum class Kind : uint8_t { kData, kTick };
  Kind kind = Kind::kData;
  uint64_t seq = 0;  // gap-free per input, in source order

  // Before the decode stage: RDB records.
  std::vector<RdbItem> rdb_items;
  std::string rdb_bytes;
  int64_t rdb_load_time_ms = 0;  // keys expired at this time are not written

  // Commands to send (stream commands from parse; RDB commands from decode).
  CommandList cmds;

  SourcePosition end;         // the source position once this packet is applied
  bool rdb_begin = false;     // first packet of a new full sync
  bool rdb_complete = false;  // the RDB ends with this packet
  uint32_t rdb_keys = 0;      // RDB keys completed by this packet
  uint64_t commands_in = 0;   // source commands parsed into it
  uint32_t parts = 0;         // batches the route stage registered it for (one per node)
  uint64_t charged = 0;       // bytes charged to the input's memory budget
  // Not OK: a record of this packet could not be turned into commands (a corrupt value).
  // Nothing of it is written; the input stops with the applied position before it.
  Status error;
};
using PacketPtr = std::shared_ptr<Packet>;

// Heap bytes a packet holds: what it is charged to the memory budget.
inline uint64_t memory_of(const Packet& p) {
  return sizeof(Packet) + p.rdb_items.capacity() * sizeof(RdbItem) + p.rdb_bytes.capacity() +
         p.cmds.memory() + p.end.replid.capacity();
}

inline PacketPtr make_tick() {
  auto p = std::make_shared<Packet>();
  p->kind = Packet::Kind::kTick;
  return p;
}

// A batch for one target node: what the writer sends, plus what completing it means.
struct Batch : WriteBatch {
  uint16_t node = 0;
  std::vector<uint64_t> seqs;  // packets with commands in this batch
  SourcePosition end;
  uint64_t commands = 0;
  uint64_t rdb_keys = 0;
  uint64_t charged = 0;
  std::vector<uint16_t> stat_ids;  // stream commands: their CommandStats ids, in order
};
using BatchPtr = std::shared_ptr<Batch>;

// Heap bytes a batch holds: what it is charged to the memory budget.
inline uint64_t memory_of(const Batch& b) {
  return sizeof(Batch) + b.wire.capacity() +
         (b.expects.capacity() + b.inner.capacity()) * sizeof(ReplyExpect) +
         b.gates.capacity() * sizeof(SendGate) + b.seqs.capacity() * sizeof(uint64_t) +
         b.stat_ids.capacity() * sizeof(uint16_t) + b.end.replid.capacity();
}

}  // namespace ferry
