// TargetWriter: one pipelined connection to one target Redis node, driven by its own thread.
// Batches (RESP bytes of many commands) are sent back to back without waiting for replies,
// except at a batch's send gates (proto/reply_check.h); replies are matched to the batch's
// commands in order and judged by each command's ReplyCheck and the error policy
// (net/error_policy.h). When a batch ends — all its replies arrived, or it stopped at a
// gate — the done callback runs (on the writer's thread) with what became of it:
//  - applied: committed (a transaction) or acknowledged whole; commands the target refused
//    for themselves alone are listed in `skipped`;
//  - a transient refusal (OOM, LOADING, READONLY, BUSY, ...), a lost connection or a reply
//    that never comes: nothing is reported; the connection is dropped and every batch not
//    yet applied goes again, in order, after a back-off. A fenced transaction (see
//    proto/checkpoint_format.h) that follows one that did not commit cannot commit either,
//    so order holds with many transactions in flight;
//  - fatal (a keyExists: error conflict, a checkpoint that another writer moved): the batch
//    was not applied; the writer stops and every later batch is cancelled.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"
#include "net/connection.h"
#include "net/endpoint.h"
#include "net/error_policy.h"
#include "proto/reply_check.h"
#include "proto/reply_reader.h"

namespace ferry {

struct WriteBatch {
  virtual ~WriteBatch() = default;
  std::string wire;                  // RESP bytes of every command
  std::vector<ReplyExpect> expects;  // one per command, in order
  std::vector<SendGate> gates;       // ascending
  // A fenced transaction that also writes checkpoint `seq`: after a reconnect it is sent
  // again only if the target's checkpoint is below it.
  uint64_t seq = 0;
  // Keys a source slot migration brought in, at this source offset (0: none): the batch
  // waits for WriterOptions::hold before its first byte.
  uint64_t import_at = 0;
  // A cluster target's apply script (proto/checkpoint_format.h): the expectations of the
  // commands it carries, judged against the elements of its reply (expects holds the
  // script's own); the keys of keyExists: error it checks; and the slot checkpoint that says
  // whether it committed (at or past commit_value, a ckpt::SlotPosition).
  std::vector<ReplyExpect> inner;
  std::vector<std::string> probe_keys;
  std::string commit_key, commit_value;
  // The first batch of a full sync's RDB on its node: the input's checkpoint must be in
  // that full sync (at its start at least) before it goes.
  bool starts_generation = false;
  bool held() const { return import_at > 0 || starts_generation; }
};

// What WriterOptions::hold says of a batch: send it, ask again shortly, or end the writer.
enum class SendVerdict { kGo, kWait, kFail };
using WriteBatchPtr = std::shared_ptr<WriteBatch>;

// A command left out for good: the target refused it for itself alone.
struct SkippedCommand {
  std::string command;            // upper-case name
  std::string key;                // first key, printable
  std::vector<std::string> args;  // the arguments after the name, printable, shortened
  std::string error;              // the target's answer
  SkipReason reason = SkipReason::kOther;
  int db = -1;
  uint64_t src_offset = 0;
  bool at_queue_time = false;  // refused when queued: left out of its transaction, sent again
  bool recorded = false;       // already handed to WriterOptions::on_skipped
};

struct WriteResult {
  bool cancelled = false;  // the writer stopped before the batch ended: not applied
  bool applied = false;    // the batch reached the target (possibly without `skipped`)
  uint64_t ignored = 0;    // keys kept as they were (keyExists: ignore)
  std::vector<SkippedCommand> skipped;
  // Non-empty: the input must stop. `applied` tells whether this batch committed anyway.
  std::string fatal;
  int64_t latency_us = 0;  // first byte sent to last reply received
  bool resent = false;     // sent more than once (a connection dropped)
};

struct WriterOptions {
  // The checkpoint hash of fenced transactions, whose `seq` says which batches committed
  // (empty: batches are not fenced; after a reconnect every unacknowledged one goes again).
  std::string checkpoint_key;
  // A connection owing replies that hears nothing for this long is dropped and remade.
  std::chrono::milliseconds reply_timeout{60000};
  std::chrono::milliseconds backoff_min{100};
  std::chrono::milliseconds backoff_max{5000};
  // Called on the writer's thread with the commands left out of a transaction at queue
  // time, before the transaction goes again without them: they must be recorded first. A
  // non-OK answer ends the writer fatally (the skip could not be reported).
  std::function<Status(const WriteBatch&, const std::vector<SkippedCommand>&)> on_skipped;
  // Asked (on the writer's thread, every few ms while it says kWait, with the reason in the
  // status) before a batch that is held() goes; kFail ends the writer with the reason.
  std::function<SendVerdict(const WriteBatch& batch, std::string* why)> hold;
  // Batches are apply scripts (a cluster target in transaction mode): after a reconnect,
  // each one's slot checkpoint says whether it committed.
  bool slot_checkpoints = false;
};

class TargetWriter {
 public:
  using DoneFn = std::function<void(const WriteBatchPtr&, const WriteResult&)>;

  TargetWriter(Endpoint endpoint, Credentials credentials, DoneFn done,
               WriterOptions options = WriterOptions());
  ~TargetWriter();
  TargetWriter(const TargetWriter&) = delete;
  TargetWriter& operator=(const TargetWriter&) = delete;

  void start();
  // Stops the thread; every batch not yet ended gets done(cancelled).
  void stop();

  // Queues a batch; never waits. Thread-safe. After stop() or a fatal end the batch is
  // cancelled at once.
  void submit(WriteBatchPtr batch);
  // Batches submitted whose done callback has not run yet.
  size_t inflight() const { return inflight_.load(); }
  bool connected() const { return connected_.load(); }
  const Endpoint& endpoint() const { return endpoint_; }
  uint64_t reconnects() const { return reconnects_.load(); }
  // What the writer waits for, when it cannot make progress (empty otherwise): "the target
  // answers OOM ... since 12:00:01; retrying", "cannot connect: ...".
  std::string waiting() const;

 private:
  struct Pending {
    WriteBatchPtr batch;
    size_t sent = 0;       // bytes of wire written
    size_t replies = 0;    // replies judged
    size_t next_gate = 0;  // index of the first gate not passed yet
    int64_t first_send_us = 0;
    bool resent = false;
    // Its EXEC (or last byte) went out and no answer came before the connection dropped:
    // whether it committed is for the checkpoint to say (skip_committed).
    bool maybe_committed = false;
    std::vector<uint32_t> probes_passed;  // key probes (expect indexes) that once found no key
    // What the replies said (reset on every send).
    std::vector<size_t> refused;  // commands refused at queue time (indexes in expects)
    std::vector<std::string> refused_errors;
    std::string transient;  // a transient refusal: send again later
    std::string fatal;
    bool fence_ok = true;
    bool released = false;  // WriterOptions::hold let it go (once is enough: resends follow)
    bool exec_nil = false;  // the batch's own EXEC returned nil (fenced out)
    bool exec_ran = false;  // the batch's own EXEC ran (committed)
    std::vector<SkippedCommand> isolated;  // left out at queue time (survive resends)
    WriteResult result;
  };
  enum class End { kOpen, kApplied, kRetry, kIsolate, kFatal };

  void run();
  Status connect_once();
  bool pump_writes(Status* error, bool* socket_full, bool* held);
  bool pump_reads(Status* error);
  // After a reconnect: completes the batches the target committed before the drop.
  Status skip_committed();
  Status skip_committed_slots();
  void judge_script(Pending& p, const ReplyExpect& e, const resp::Reply& reply);
  // Leaves out of the batch the commands refused at queue time for themselves alone; they
  // are appended to p.isolated.
  void isolate_refused(Pending& p);
  void judge(Pending& p, const resp::Reply& reply);
  void judge_data(Pending& p, const ReplyExpect& e, const resp::Reply& r, bool in_exec);
  // Whether the front batch has ended, and how.
  End front_end() const;
  // Acts on the front batch's end; false when the connection must be dropped.
  bool settle_front(End end, Status* error);
  // Ends pending_[i] (the front, unless a reconnect found a later one committed).
  void finish_at(size_t i, bool applied);
  void fail_fatal(const std::string& why);
  void drop_connection(const Status& why);
  void cancel_all();
  void wake();
  void set_waiting(const std::string& what);
  // Hands skips not yet recorded to on_skipped; false (and fatal) when that fails.
  bool record_skips(Pending& p);
  void wait_backoff();
  size_t sent_replies(const Pending& p) const;
  // A batch that committed is never sent again (its checkpoint says so): what a resent one
  // meets on the target is someone else's.
  bool exactly_once() const {
    return !options_.checkpoint_key.empty() || options_.slot_checkpoints;
  }

  const Endpoint endpoint_;
  const Credentials credentials_;
  const DoneFn done_;
  const WriterOptions options_;

  mutable std::mutex mu_;
  std::deque<WriteBatchPtr> incoming_;
  bool closed_ = false;  // stopped or failed: new batches are cancelled at once
  std::string waiting_;
  int64_t waiting_since_ms_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<size_t> inflight_{0};
  std::atomic<bool> connected_{false};
  std::atomic<uint64_t> reconnects_{0};
  int wake_fd_ = -1;
  std::thread thread_;

  // Owned by the writer thread. Batches in order: replies are matched against the front;
  // the one at `unsent_` is the next to write. Replies to a batch's first commands may
  // arrive while its last ones are still being written.
  Connection conn_;
  resp::Reply reply_;  // reused: its element list keeps its capacity
  std::deque<Pending> pending_;
  size_t unsent_ = 0;
  bool failed_ = false;        // a fatal end: nothing more is sent
  bool backoff_next_ = false;  // wait before reconnecting (a transient refusal)
  int64_t client_id_ = 0;      // CLIENT ID of the connection, to end it for good on the next
  std::chrono::milliseconds backoff_{0};
  std::chrono::steady_clock::time_point last_read_;
};

}  // namespace ferry
