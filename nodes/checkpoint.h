// The checkpoint ferry keeps in the target for each input (format: proto/checkpoint_format.h):
// the applied source position (phase, replication id, offset, the RDB's start, the source's
// current DB), the cache generation, and the sequence number of the last batch that wrote
// it. In transaction mode it is written inside every batch's MULTI/EXEC, so data and
// checkpoint commit together.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/status.h"
#include "nodes/messages.h"

namespace ferry {

struct Checkpoint {
  SourcePosition position;
  uint64_t seq = 0;  // batches of this input applied so far (transaction mode)

  // Appends "HSET <key> field value ..." (RESP) to `wire`; the key is the input's
  // ckpt::key (hash-tagged on a cluster target).
  void append_hset(const std::string& key, std::string* wire) const;
  // The same command as arguments (for a blocking client).
  std::vector<std::string> hset_argv(const std::string& key) const;
  // Reads a checkpoint from the hash's fields. Corruption when they do not make one, not
  // supported when a newer ferry wrote it (the message says what to do).
  static Status from_fields(const std::map<std::string, std::string>& fields, Checkpoint* out);
  std::string describe() const;
};

}  // namespace ferry
