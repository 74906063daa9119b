// SourceLog: what a source sent, in the order it sent it — an RDB snapshot, then the command
// stream — as the replica client received it. The replica client's thread writes it; the
// pipeline's source node reads it. This decouples the source connection from the target:
// the reader never makes the writer wait on the target.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace ferry {

struct SourceChunk {
  enum class Kind : uint8_t {
    kRdbBegin,     // +FULLRESYNC: `replid`, `offset` = where the stream will start, `rdb_size`
    kRdbData,      // RDB bytes; `offset` = RDB position of data[0]
    kRdbEnd,       // the RDB's framing ended
    kRdbAbort,     // the link dropped inside the RDB: what came since kRdbBegin is void
    kStreamBegin,  // the stream starts or continues: `replid`, `offset` (+CONTINUE or after an RDB)
    kStreamData,   // command-stream bytes; `offset` = replication offset before data[0]
  };
  Kind kind = Kind::kStreamData;
  std::string replid;
  uint64_t offset = 0;
  uint64_t rdb_size = 0;  // kRdbBegin: size when the framing says it, else 0
  std::string data;

  size_t bytes() const { return data.size() + replid.size() + 64; }
};
using SourceChunkPtr = std::shared_ptr<SourceChunk>;

class SourceLog {
 public:
  virtual ~SourceLog() = default;

  // Writer side. Appends in order; may wait for room. False once the log is closed.
  virtual bool append(SourceChunkPtr chunk) = 0;

  // Reader side. Never waits: false when nothing is available.
  virtual bool try_read(SourceChunkPtr* chunk) = 0;
  // Called, on the writer's thread, after data is appended (to wake the reader).
  virtual void set_data_listener(std::function<void()> listener) = 0;

  // Wakes a waiting writer and refuses further appends.
  virtual void close() = 0;
  virtual uint64_t buffered_bytes() const = 0;
};

}  // namespace ferry
