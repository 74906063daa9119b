// TargetWriter: one pipelined connection to one target Redis node, driven by its own thread.
// Batches (RESP bytes of many commands) are sent back to back without waiting for replies;
// replies are matched to the batch's commands in order and judged by each command's
// ReplyCheck. When all replies of a batch have arrived, the done callback runs (on the
// writer's thread). When the connection drops it reconnects with back-off and sends again,
// in order, every batch whose replies had not all arrived (at-least-once).
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
#include "net/endpoint.h"
#include "proto/reply_check.h"
#include "proto/reply_reader.h"

namespace ferry {

class Socket;

struct WriteBatch {
  virtual ~WriteBatch() = default;
  std::string wire;                  // RESP bytes of every command
  std::vector<ReplyExpect> expects;  // one per command, in order
  // A transaction (MULTI first, EXEC last) that also writes checkpoint `seq`: after a
  // reconnect it is sent again only if the target's checkpoint is below it.
  uint64_t seq = 0;
};
using WriteBatchPtr = std::shared_ptr<WriteBatch>;

struct WriteFailure {
  std::string command;  // upper-case command name
  std::string key;      // first argument, printable
  std::string error;    // the target's error reply
};

struct WriteResult {
  bool cancelled = false;  // the writer stopped before all replies arrived
  uint64_t ignored = 0;    // keys kept as they were (keyExists: ignore)
  std::vector<WriteFailure> failures;
  std::string fatal;       // non-empty: the input must stop (e.g. keyExists: error)
  int64_t latency_us = 0;  // first byte sent to last reply received
  bool resent = false;     // sent more than once (a connection dropped)
};

class TargetWriter {
 public:
  using DoneFn = std::function<void(const WriteBatchPtr&, const WriteResult&)>;

  // `checkpoint_key`: the hash whose field `seq` says which transactions the target committed
  // (empty: batches are plain, re-sent at-least-once after a reconnect).
  TargetWriter(Endpoint endpoint, Credentials credentials, DoneFn done,
               std::string checkpoint_key = "");
  ~TargetWriter();
  TargetWriter(const TargetWriter&) = delete;
  TargetWriter& operator=(const TargetWriter&) = delete;

  void start();
  // Stops the thread; every batch not yet completed gets done(cancelled).
  void stop();

  // Queues a batch; never waits. Thread-safe. After stop() the batch is cancelled at once.
  void submit(WriteBatchPtr batch);
  // Batches submitted whose done callback has not run yet.
  size_t inflight() const { return inflight_.load(); }
  bool connected() const { return connected_.load(); }
  const Endpoint& endpoint() const { return endpoint_; }
  uint64_t reconnects() const { return reconnects_.load(); }

 private:
  struct Pending {
    WriteBatchPtr batch;
    size_t sent = 0;     // bytes of wire written
    size_t replies = 0;  // replies judged
    int64_t first_send_us = 0;
    bool resent = false;
    bool aborted = false;         // EXECABORT: to be sent again
    uint64_t aborted_seq = 0;     // set once it was refused (survives reconnects)
    std::vector<size_t> refused;  // commands refused at queue time (indexes in expects)
    std::vector<std::string> refused_errors;
    std::vector<WriteFailure> isolated;  // commands left out for good (reported at the end)
    WriteResult result;
  };

  void run();
  Status connect_once();
  bool pump_writes(Status* error);
  bool pump_reads(Status* error);
  // After a reconnect: completes the batches the target committed before the drop.
  Status skip_committed();
  // A transaction came back EXECABORT: drops the commands the target refused as invalid
  // (they can never succeed), so that the rest goes again; false if nothing was dropped.
  bool isolate_refused(Pending& p);
  void judge(Pending& p, const resp::Reply& reply);
  void finish_front();
  void drop_connection(const Status& why);
  void cancel_all();
  void wake();

  const Endpoint endpoint_;
  const Credentials credentials_;
  const DoneFn done_;
  const std::string checkpoint_key_;

  std::mutex mu_;
  std::deque<WriteBatchPtr> incoming_;
  bool closed_ = false;  // stopped: new batches are cancelled at once
  std::atomic<bool> stop_{false};
  std::atomic<size_t> inflight_{0};
  std::atomic<bool> connected_{false};
  std::atomic<uint64_t> reconnects_{0};
  int wake_fd_ = -1;
  std::thread thread_;

  // Owned by the writer thread. Batches in order: replies are matched against the front;
  // the one at `unsent_` is the next to write. Replies to a batch's first commands may
  // arrive while its last ones are still being written.
  Socket* sock_ = nullptr;
  resp::ReplyReader reader_;
  resp::Reply reply_;  // reused: its element list keeps its capacity
  std::deque<Pending> pending_;
  size_t unsent_ = 0;
  bool retry_backoff_ = false;  // wait before reconnecting (a transaction was refused)
};

}  // namespace ferry
