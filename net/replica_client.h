// ReplicaClient: acts as a Redis replica of one source node, on its own thread. It performs
// the handshake (AUTH, REPLCONF listening-port and capa eof psync2, PSYNC), receives the RDB
// (disk "$<len>" or diskless "$EOF:<mark>" framing) and then the command stream, and appends
// everything, in order, to a SourceLog. It sends REPLCONF ACK about once a second (and at once
// after a diskless RDB, which the master waits for), reconnects with back-off when the link
// drops, and resumes with PSYNC <replid> <offset+1> so that a short outage costs no full sync.
// It never waits on the target: only on the log.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "common/offset_clock.h"
#include "common/status.h"
#include "net/endpoint.h"
#include "storage/source_log.h"

namespace ferry {

class Connection;
class Socket;

struct ReplicaOptions {
  Endpoint source;
  Credentials credentials;
  int announce_port = 0;  // REPLCONF listening-port (shown by the source's INFO)
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds handshake_timeout{10000};
  std::chrono::milliseconds read_timeout{60000};  // like repl-timeout
  std::chrono::milliseconds ack_period{1000};
  std::chrono::milliseconds backoff_min{100};
  std::chrono::milliseconds backoff_max{5000};
  OffsetClock* clock = nullptr;  // told when stream bytes arrive (for lag in seconds)
};

// Why a full sync happened: ferry had nothing to continue from, it was asked to start over,
// the source refused a partial resync, or the link dropped inside the RDB.
enum class FullSyncReason { kNoResumePoint, kForced, kPsyncRefused, kRdbInterrupted, kCount };
const char* full_sync_reason_name(FullSyncReason r);
// Why a partial resync happened: ferry (re)started with a position, or the link dropped.
enum class PartialSyncReason { kResume, kReconnect, kCount };
const char* partial_sync_reason_name(PartialSyncReason r);

enum class LinkState {
  kIdle,
  kConnecting,
  kHandshake,
  kReceivingRdb,
  kStreaming,
  kWaitingRetry,
  kStopped
};
const char* link_state_name(LinkState s);

// Counters others may read while the client runs.
struct ReplicaStats {
  std::atomic<int> state{static_cast<int>(LinkState::kIdle)};
  std::atomic<uint64_t> offset{0};        // replication offset received (stream bytes)
  std::atomic<uint64_t> rdb_size{0};      // current RDB's size, 0 = unknown (diskless)
  std::atomic<uint64_t> rdb_received{0};  // current RDB's bytes received
  std::atomic<uint64_t> source_keys{0};   // keys in the source (INFO keyspace) at connect
  std::atomic<uint64_t> bytes_received{0};
  std::atomic<uint64_t> full_syncs{0};
  std::atomic<uint64_t> partial_syncs{0};
  std::atomic<uint64_t> full_syncs_by_reason[static_cast<int>(FullSyncReason::kCount)] = {};
  std::atomic<uint64_t> partial_syncs_by_reason[static_cast<int>(PartialSyncReason::kCount)] = {};
  std::atomic<uint64_t> reconnects{0};
};

class ReplicaClient {
 public:
  ReplicaClient(ReplicaOptions options, SourceLog* log);
  ~ReplicaClient();
  ReplicaClient(const ReplicaClient&) = delete;
  ReplicaClient& operator=(const ReplicaClient&) = delete;

  // Where to resume: the replid and the offset already received. Without it (or with an
  // empty replid) the first PSYNC asks for a full sync.
  void set_resume_point(const std::string& replid, uint64_t offset);
  // Why the first full sync, if any, is asked for (default: nothing to resume from).
  void set_full_sync_reason(FullSyncReason reason) { first_full_sync_reason_ = reason; }

  // Called (on the client's thread) when the link cannot go on whatever the retries.
  void set_fatal_handler(std::function<void(const Status&)> handler) {
    on_fatal_ = std::move(handler);
  }

  void start();
  // Stops the thread; closes the connection. The log is not closed.
  void stop();

  const ReplicaStats& stats() const { return stats_; }
  std::string replid() const;
  std::string last_error() const;

 private:
  void run();
  Status session();
  // REPLCONF listening-port and capa, after the connection's AUTH (and INFO keyspace for
  // progress).
  Status announce(Connection* conn);
  // PSYNC and its answer: the RDB that follows +FULLRESYNC, or the stream's begin.
  Status psync();
  Status receive_rdb();
  Status stream();
  Status send_command(std::initializer_list<std::string_view> args);
  // Appends to the log; kFull and kClosed end the session.
  Status put(SourceChunkPtr chunk);
  Status send_ack();
  // Reads a reply line (skipping the bare "\n" keep-alives a master sends while it prepares
  // the RDB) into *line, without the CRLF.
  Status read_line(std::string* line);
  Status fill(std::chrono::milliseconds timeout);
  void set_state(LinkState s) { stats_.state.store(static_cast<int>(s)); }
  void sleep_interruptible(std::chrono::milliseconds d);
  void continue_where_kept();

  const ReplicaOptions options_;
  SourceLog* log_;
  ReplicaStats stats_;

  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::string replid_;      // guarded by mu_ for readers; written by the thread
  uint64_t offset_ = 0;     // stream offset received (thread only)
  bool resumable_ = false;  // replid_/offset_ name a stream position we can ask for
  std::string last_error_;
  std::atomic<bool> stop_{false};
  std::function<void(const Status&)> on_fatal_;
  bool cache_full_ = false;  // the session ended because the log had no room
  bool first_session_ = true;
  FullSyncReason first_full_sync_reason_ = FullSyncReason::kNoResumePoint;
  std::thread thread_;

  Socket* sock_ = nullptr;  // the live connection, for stop() to shut down
  std::string in_;          // bytes read but not consumed
  size_t in_pos_ = 0;
  std::chrono::steady_clock::time_point last_ack_;
};

}  // namespace ferry
