// The local cache's on-disk layout, shared by its writer and its reader.
//
// Keys (binary, one namespace per input):
//   m <input>                                   -> InputMeta (generations of this input)
//   c <input>                                   -> LocalCheckpoint (applied position mirror)
//   d <input> \0 <gen u32 BE> R <pos u64 BE>    -> RDB bytes of generation gen from pos
//   d <input> \0 <gen u32 BE> S <offset u64 BE> -> stream bytes from replication offset
// A generation is one full sync: its RDB, then the command stream that follows it (whose
// replication id may change along the way, after a source failover).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ferry::cache {

// The format of the values below (its first byte). 1: this layout. A value of a newer format
// is refused with a message, never read as this one.
constexpr uint8_t kFormatVersion = 1;
enum class Decoded { kOk, kCorrupt, kNewer };

constexpr char kRdb = 'R';
constexpr char kStream = 'S';

std::string meta_key(std::string_view input);
std::string checkpoint_key(std::string_view input);
std::string data_prefix(std::string_view input);
// [first, last) of every data key of an input (data_prefix(input) and just past it).
std::pair<std::string, std::string> data_range(std::string_view input);
std::string data_prefix(std::string_view input, uint32_t gen, char kind);
std::string data_key(std::string_view input, uint32_t gen, char kind, uint64_t pos);
// Position encoded in a data key (the last 8 bytes).
uint64_t data_key_pos(std::string_view key);

struct Generation {
  uint32_t id = 0;
  std::string replid;         // at +FULLRESYNC
  uint64_t start_offset = 0;  // the +FULLRESYNC offset: the stream starts after it
  uint64_t rdb_size = 0;      // as the framing announced it; 0: unknown (diskless)
  bool rdb_complete = false;
  bool aborted = false;       // the transfer broke off inside the RDB: unusable
  bool rdb_dropped = false;   // its RDB was garbage-collected (fully applied)
  bool stream_only = false;   // began with +CONTINUE on an empty cache: no RDB
  uint64_t stream_first = 0;  // first stream offset still stored
  // Where the replication id changed: (offset, new replid), ascending.
  std::vector<std::pair<uint64_t, std::string>> replids;
  // Derived when loading, not stored:
  uint64_t rdb_bytes = 0;   // RDB bytes stored
  uint64_t stream_end = 0;  // replication offset after the last stored stream byte

  // The replication id in force at `offset` of this generation's stream.
  const std::string& replid_at(uint64_t offset) const;
};

struct InputMeta {
  uint32_t next_gen = 1;
  int64_t updated_ms = 0;
  std::vector<Generation> gens;  // oldest first
};

std::string encode(const InputMeta& meta);
Decoded decode(std::string_view data, InputMeta* meta);

// The applied position, mirrored locally (the target holds the authoritative copy).
struct LocalCheckpoint {
  uint32_t gen = 0;
  bool rdb = false;  // inside the RDB (offset = RDB bytes) or in the stream
  std::string replid;
  uint64_t offset = 0;
  int db = 0;
  int64_t updated_ms = 0;
};

std::string encode(const LocalCheckpoint& cp);
Decoded decode(std::string_view data, LocalCheckpoint* cp);

}  // namespace ferry::cache
