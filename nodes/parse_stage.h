// ParseStage (serial): turns the source's raw bytes into numbered Packets, in order.
// During a full sync it runs the streaming RDB reader and packs its records (decoded later,
// in parallel, by DecodeStage); afterwards it splits the command stream into commands, each
// with the replication offset it ends at. It tracks the current DB (SELECT is consumed, not
// forwarded: the batch stage selects as needed), keeps a source MULTI ... EXEC together as
// one unit in one packet, and maps DB numbers (targetDb / targetDbMap), rewriting commands
// that name a DB (FLUSHALL, SWAPDB, MOVE, COPY ... DB). A corrupt RDB or stream stops the
// input with an error naming the offset.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "nodes/messages.h"
#include "nodes/stage_context.h"
#include "proto/rdb_reader.h"
#include "proto/resp.h"

namespace ferry {

class ParseStage : private rdb::RdbSink {
 public:
  explicit ParseStage(StageContext* ctx);
  ~ParseStage() override;

  // Parses one chunk; appends the packets it completes to *out.
  void process(const SourceChunk& chunk, std::vector<PacketPtr>* out);

 private:
  enum class Phase { kIdle, kRdb, kStream, kFailed };

  void begin_rdb(const SourceChunk& chunk);
  void feed_rdb(const SourceChunk& chunk);
  void end_rdb();
  void begin_stream(const SourceChunk& chunk);
  void feed_stream(const SourceChunk& chunk);
  void on_command(std::string_view bytes, const std::vector<resp::ArgSpan>& args, uint64_t end);
  void add_command(std::string_view bytes, const std::vector<resp::ArgSpan>& args, uint64_t end);
  bool add_mapped(CommandList& cmds, std::string_view bytes, const std::vector<resp::ArgSpan>& args,
                  uint64_t end, uint16_t unit);
  void fail(const Status& st);
  void charge_reader();
  // Adds the removal of the shard's slots' keys from the target (proto/slot_flush.h), for
  // `why` (the source command, or a new full sync); false when the shard has no slots.
  bool add_slot_flush(CommandList& cmds, std::string_view why, uint16_t flags);
  // Drops the commands of a source MULTI that will never see its EXEC (the stream broke off).
  void abandon_multi();

  PacketPtr& current();
  void emit();
  void maybe_emit();

  // RdbSink
  void on_aux(std::string_view key, std::string_view value) override;
  void on_function(std::string_view code) override;
  void on_module_aux(uint64_t module_id) override;
  void on_key(const rdb::KeyRecord& rec) override;

  StageContext* ctx_;
  Phase phase_ = Phase::kIdle;
  std::unique_ptr<rdb::RdbReader> rdb_;
  std::unique_ptr<resp::CommandStreamParser> stream_;
  std::string replid_;
  uint64_t stream_base_ = 0;  // replication offset where stream_ started
  int db_ = 0;                // the source's current DB in the stream
  bool in_multi_ = false;
  size_t multi_start_ = 0;  // index in cur_->cmds of the open MULTI
  bool streamed_ = false;   // a command stream was applied before (a later RDB is a re-sync)
  bool began_ = false;      // an RDB or a stream was read before in this process
  bool rdb_begin_pending_ = false;
  bool first_function_ = true;
  int64_t rdb_load_time_ms_ = 0;
  uint32_t gen_ = 0;             // the cache generation being read
  uint64_t rdb_start_ = 0;       // the +FULLRESYNC offset of the RDB being read
  uint64_t rdb_skip_until_ = 0;  // RDB records ending at or before this were applied already
  uint64_t next_seq_ = 0;
  uint64_t reader_charged_ = 0;  // the RDB reader's buffered bytes, charged to the budget
  PacketPtr cur_;
  std::vector<PacketPtr>* out_ = nullptr;
};

}  // namespace ferry
