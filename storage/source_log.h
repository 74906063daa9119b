// SourceLog: what a source sent, in the order it sent it — an RDB snapshot, then the command
// stream — as the replica client received it. The replica client's thread writes it; the
// pipeline's source node reads it. This decouples the source connection from the target:
// the writer never waits for the reader, only (when the log's budget is spent) for room.
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
  // Set by the log when it replays from its store:
  uint32_t gen = 0;         // the full sync this chunk belongs to
  int db = -1;              // kStreamBegin: the source's DB at `offset`, when resuming there
  uint64_t skip_until = 0;  // kRdbBegin: records ending at or before this were applied already

  size_t bytes() const { return data.size() + replid.size() + 64; }
};
using SourceChunkPtr = std::shared_ptr<SourceChunk>;

class SourceLog {
 public:
  enum class Append { kOk, kFull, kTooBig, kClosed };

  virtual ~SourceLog() = default;

  // Writer side. Appends in order. kFull: the log's budget is spent by data still needed;
  // the writer should let go of its source until has_room(). kTooBig: an RDB larger than
  // the whole budget; waiting cannot help. kClosed: the log is closed.
  virtual Append append(SourceChunkPtr chunk) = 0;
  virtual bool has_room() = 0;
  // Replication offset after the last stream byte written to the store: what the writer
  // may tell the source it holds (REPLCONF ACK), as opposed to what is only staged.
  virtual uint64_t durable_offset() const = 0;
  // Where a writer that let go of its source continues. kAt: from *offset, the replication
  // offset after the last stream byte the log holds or will write — less than what was
  // appended when a write failed for lack of disk space (what was only staged is gone).
  // kFullSync: the RDB being received was lost that way; kAsIs: the log has no opinion.
  enum class Continue { kAsIs, kAt, kFullSync };
  virtual Continue continue_point(uint64_t* offset) const = 0;

  // Reader side. Never waits: false when nothing is available.
  virtual bool try_read(SourceChunkPtr* chunk) = 0;
  // Called, on the writer's thread, after data is appended (to wake the reader).
  virtual void set_data_listener(std::function<void()> listener) = 0;
  // Bytes written and not read yet.
  virtual uint64_t unread_bytes() const = 0;

  // Refuses further appends.
  virtual void close() = 0;
};

}  // namespace ferry
