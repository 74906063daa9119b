#include "net/replica_client.h"

#include <cstring>
#include <map>

#include "common/bytes.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/thread_name.h"
#include "net/connection.h"
#include "net/socket.h"
#include "proto/resp.h"

namespace ferry {
namespace {

constexpr size_t kReadChunk = 64 * 1024;
// Gathering small reads (see the stream loop).
constexpr size_t kGatherBytes = 48 * 1024;
constexpr auto kGatherWindow = std::chrono::milliseconds(2);
constexpr auto kGatherDelay = std::chrono::microseconds(1000);
constexpr size_t kMaxGather = 256 * 1024;
constexpr size_t kEofMarkLen = 40;

}  // namespace

const char* link_state_name(LinkState s) {
  switch (s) {
    case LinkState::kIdle:
      return "idle";
    case LinkState::kConnecting:
      return "connecting";
    case LinkState::kHandshake:
      return "handshake";
    case LinkState::kReceivingRdb:
      return "receiving_rdb";
    case LinkState::kStreaming:
      return "streaming";
    case LinkState::kWaitingRetry:
      return "waiting_retry";
    case LinkState::kStopped:
      return "stopped";
  }
  return "?";
}

const char* full_sync_reason_name(FullSyncReason r) {
  switch (r) {
    case FullSyncReason::kNoResumePoint:
      return "no_resume_point";
    case FullSyncReason::kForced:
      return "forced";
    case FullSyncReason::kPsyncRefused:
      return "psync_refused";
    case FullSyncReason::kRdbInterrupted:
      return "rdb_interrupted";
    case FullSyncReason::kCount:
      break;
  }
  return "?";
}

const char* partial_sync_reason_name(PartialSyncReason r) {
  switch (r) {
    case PartialSyncReason::kResume:
      return "resume";
    case PartialSyncReason::kReconnect:
      return "reconnect";
    case PartialSyncReason::kCount:
      break;
  }
  return "?";
}

ReplicaClient::ReplicaClient(ReplicaOptions options, SourceLog* log)
    : options_(std::move(options)), log_(log) {}

ReplicaClient::~ReplicaClient() {
  stop();
}

void ReplicaClient::set_resume_point(const std::string& replid, uint64_t offset) {
  std::lock_guard<std::mutex> lock(mu_);
  replid_ = replid;
  offset_ = offset;
  resumable_ = !replid.empty();
  stats_.offset.store(offset);
}

std::string ReplicaClient::replid() const {
  std::lock_guard<std::mutex> lock(mu_);
  return replid_;
}

std::string ReplicaClient::last_error() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_error_;
}

void ReplicaClient::start() {
  stop_ = false;
  thread_ = std::thread([this] {
    set_thread_name("ferry-replica");
    run();
  });
}

void ReplicaClient::stop() {
  stop_ = true;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (sock_) sock_->shutdown();
    wake_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
  set_state(LinkState::kStopped);
}

void ReplicaClient::sleep_interruptible(std::chrono::milliseconds d) {
  std::unique_lock<std::mutex> lock(mu_);
  wake_.wait_for(lock, d, [&] { return stop_.load(); });
}

void ReplicaClient::run() {
  auto backoff = options_.backoff_min;
  while (!stop_) {
    auto started = std::chrono::steady_clock::now();
    Status st = session();
    if (stop_) break;
    if (st.code() == Status::Code::kAborted) break;  // the log was closed: the input ended
    {
      std::lock_guard<std::mutex> lock(mu_);
      last_error_ = st.message();
    }
    // A session that ran for a while resets the back-off.
    if (std::chrono::steady_clock::now() - started > std::chrono::seconds(10)) {
      backoff = options_.backoff_min;
    }
    stats_.reconnects++;
    set_state(LinkState::kWaitingRetry);
    if (cache_full_) {
      // The source would fill the cache further: let it go until the target catches up.
      LOG_WARN(
          "source %s: link closed: the local cache is full of data the target has not "
          "applied yet; reconnecting once there is room",
          options_.source.to_string().c_str());
      while (!stop_ && !log_->has_room())
        sleep_interruptible(std::chrono::milliseconds(500));
      cache_full_ = false;
      continue_where_kept();
      continue;
    }
    LOG_WARN("source %s: link lost (%s); reconnecting in %lld ms",
             options_.source.to_string().c_str(), st.message().c_str(),
             static_cast<long long>(backoff.count()));
    sleep_interruptible(backoff);
    backoff = std::min(backoff * 2, options_.backoff_max);
  }
  set_state(LinkState::kStopped);
}

// A disk that filled up lost what was only staged: continue from what the log kept.
void ReplicaClient::continue_where_kept() {
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t kept = 0;
  switch (log_->continue_point(&kept)) {
    case SourceLog::Continue::kAsIs:
      break;
    case SourceLog::Continue::kAt:
      if (resumable_ && kept < offset_) {
        LOG_WARN("source %s: continuing from offset %llu, what the local cache kept",
                 options_.source.to_string().c_str(), static_cast<unsigned long long>(kept));
        offset_ = kept;
      }
      break;
    case SourceLog::Continue::kFullSync:
      if (resumable_) {
        LOG_WARN("source %s: the local cache lost part of the RDB: a new full sync follows",
                 options_.source.to_string().c_str());
      }
      resumable_ = false;
      break;
  }
}

Status ReplicaClient::fill(std::chrono::milliseconds timeout) {
  if (in_pos_ > 0 && in_pos_ == in_.size()) {
    in_.clear();
    in_pos_ = 0;
  } else if (in_pos_ > kReadChunk) {
    in_.erase(0, in_pos_);
    in_pos_ = 0;
  }
  size_t old = in_.size();
  in_.resize(old + kReadChunk);
  size_t got = 0;
  Status st = sock_->read_some(in_.data() + old, kReadChunk, timeout, &got);
  in_.resize(old + got);
  if (!st.is_ok()) return st;
  if (stop_) return Status::aborted("stopping");
  stats_.bytes_received += got;
  return got == 0 ? Status::io_error("timed out waiting for the source") : Status::ok();
}

Status ReplicaClient::read_line(std::string* line) {
  while (true) {
    // Skip keep-alive newlines.
    while (in_pos_ < in_.size() && in_[in_pos_] == '\n')
      in_pos_++;
    const char* start = in_.data() + in_pos_;
    const void* nl = std::memchr(start, '\n', in_.size() - in_pos_);
    if (nl) {
      size_t len = static_cast<const char*>(nl) - start;
      line->assign(start, len);
      if (!line->empty() && line->back() == '\r') line->pop_back();
      in_pos_ += len + 1;
      return Status::ok();
    }
    if (in_.size() - in_pos_ > 64 * 1024) return Status::corruption("reply line too long");
    FERRY_RETURN_IF_ERROR(fill(options_.handshake_timeout));
  }
}

Status ReplicaClient::put(SourceChunkPtr chunk) {
  switch (log_->append(std::move(chunk))) {
    case SourceLog::Append::kOk:
      return Status::ok();
    case SourceLog::Append::kFull:
      cache_full_ = true;
      return Status::io_error("the local cache is full");
    case SourceLog::Append::kTooBig: {
      Status st = Status::aborted(
          "the RDB does not fit in this input's share of channel.storer.maxSize; raise it");
      if (on_fatal_) on_fatal_(st);
      stop_ = true;
      return st;
    }
    case SourceLog::Append::kClosed:
      break;
  }
  return Status::aborted("log closed");
}

Status ReplicaClient::send_command(std::initializer_list<std::string_view> args) {
  std::string out;
  resp::append_command(&out, args);
  return sock_->write_all(out, options_.handshake_timeout);
}

Status ReplicaClient::send_ack() {
  last_ack_ = std::chrono::steady_clock::now();
  // Only what the local cache has written counts as held (WAIT on the source relies on it);
  // bytes still staged in memory could be lost with the process.
  uint64_t held = std::min(offset_, log_->durable_offset());
  return send_command({"REPLCONF", "ACK", std::to_string(held)});
}

Status ReplicaClient::session() {
  set_state(LinkState::kConnecting);
  Connection conn;
  ConnectOptions co;
  co.endpoint = options_.source;
  co.credentials = options_.credentials;
  co.connect_timeout = options_.connect_timeout;
  co.timeout = options_.handshake_timeout;
  Status st = conn.connect(co);
  if (!st.is_ok()) return st;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_) return Status::aborted("stopping");
    sock_ = &conn.socket();
  }
  set_state(LinkState::kHandshake);
  st = conn.handshake();
  if (st.is_ok()) st = announce(&conn);
  if (st.is_ok()) {
    // From PSYNC on the bytes are the replication stream's framing, read here.
    in_ = conn.reader().take_rest();
    in_pos_ = 0;
    st = psync();
  }
  if (st.is_ok()) st = stream();
  {
    std::lock_guard<std::mutex> lock(mu_);
    sock_ = nullptr;
  }
  return st;
}

Status ReplicaClient::announce(Connection* conn) {
  // The key count, for progress reports during the full sync (optional: a user without
  // the right to INFO still syncs).
  resp::Reply reply;
  FERRY_RETURN_IF_ERROR(conn->call({"INFO", "keyspace"}, &reply));
  if (reply.type == resp::Reply::Type::kString) {
    uint64_t keys = 0;
    const std::string_view body = reply.str;
    for (size_t p = body.find("keys="); p != std::string_view::npos;
         p = body.find("keys=", p + 5)) {
      keys += std::strtoull(std::string(body.substr(p + 5, 24)).c_str(), nullptr, 10);
    }
    stats_.source_keys = keys;
  }
  FERRY_RETURN_IF_ERROR(
      conn->call({"REPLCONF", "listening-port", std::to_string(options_.announce_port)}, &reply));
  if (reply.type != resp::Reply::Type::kStatus) {
    return Status::invalid_argument("the source refused REPLCONF listening-port: " +
                                    printable(reply.str));
  }
  FERRY_RETURN_IF_ERROR(conn->call({"REPLCONF", "capa", "eof", "capa", "psync2"}, &reply));
  if (reply.type != resp::Reply::Type::kStatus) {
    return Status::invalid_argument("the source refused REPLCONF capa: " + printable(reply.str));
  }
  return Status::ok();
}

Status ReplicaClient::psync() {
  std::string line;
  std::string want_replid;
  uint64_t want_offset;
  bool resumable;
  {
    std::lock_guard<std::mutex> lock(mu_);
    want_replid = replid_;
    want_offset = offset_;
    resumable = resumable_;
  }
  const bool first = first_session_;
  first_session_ = false;
  if (resumable) {
    FERRY_RETURN_IF_ERROR(send_command({"PSYNC", want_replid, std::to_string(want_offset + 1)}));
  } else {
    FERRY_RETURN_IF_ERROR(send_command({"PSYNC", "?", "-1"}));
  }
  FERRY_RETURN_IF_ERROR(read_line(&line));
  if (line.rfind("+FULLRESYNC", 0) == 0) {
    char id[64] = {0};
    unsigned long long off = 0;
    if (std::sscanf(line.c_str(), "+FULLRESYNC %40s %llu", id, &off) != 2) {
      return Status::corruption("malformed reply to PSYNC: " + line);
    }
    if (resumable) {
      LOG_WARN("source %s: partial resync from %s:%llu refused; full sync from %s:%llu",
               options_.source.to_string().c_str(), want_replid.c_str(),
               static_cast<unsigned long long>(want_offset + 1), id, off);
    } else {
      LOG_INFO("source %s: full sync from %s:%llu", options_.source.to_string().c_str(), id, off);
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      replid_ = id;
      offset_ = off;
      resumable_ = false;  // not until the RDB is complete
    }
    stats_.full_syncs++;
    FullSyncReason why = resumable ? FullSyncReason::kPsyncRefused
                         : first   ? first_full_sync_reason_
                                   : FullSyncReason::kRdbInterrupted;
    stats_.full_syncs_by_reason[static_cast<int>(why)]++;
    return receive_rdb();
  }
  if (line.rfind("+CONTINUE", 0) == 0) {
    std::string new_id = line.size() > 10 ? line.substr(10) : "";
    while (!new_id.empty() && new_id.back() == ' ')
      new_id.pop_back();
    if (!new_id.empty() && new_id != want_replid) {
      LOG_INFO("source %s: partial resync at %llu; replication id changed from %s to %s",
               options_.source.to_string().c_str(),
               static_cast<unsigned long long>(want_offset + 1), want_replid.c_str(),
               new_id.c_str());
      std::lock_guard<std::mutex> lock(mu_);
      replid_ = new_id;
    } else {
      LOG_INFO("source %s: partial resync (+CONTINUE) at offset %llu",
               options_.source.to_string().c_str(),
               static_cast<unsigned long long>(want_offset + 1));
    }
    stats_.partial_syncs++;
    PartialSyncReason why = first ? PartialSyncReason::kResume : PartialSyncReason::kReconnect;
    stats_.partial_syncs_by_reason[static_cast<int>(why)]++;
    auto chunk = std::make_shared<SourceChunk>();
    chunk->kind = SourceChunk::Kind::kStreamBegin;
    chunk->replid = replid();
    chunk->offset = offset_;
    return put(chunk);
  }
  return Status::io_error("the source refused PSYNC: " + line);
}

Status ReplicaClient::receive_rdb() {
  set_state(LinkState::kReceivingRdb);
  std::string header;
  FERRY_RETURN_IF_ERROR(read_line(&header));
  if (header.empty() || header[0] != '$') {
    return Status::corruption("expected the RDB after +FULLRESYNC, got " + printable(header));
  }
  bool diskless = header.rfind("$EOF:", 0) == 0;
  std::string mark;
  uint64_t size = 0;
  if (diskless) {
    mark = header.substr(5);
    if (mark.size() != kEofMarkLen) return Status::corruption("malformed RDB EOF mark");
  } else {
    int64_t len = -1;
    if (!parse_int(std::string_view(header).substr(1), &len) || len < 0) {
      return Status::corruption("malformed RDB length " + printable(header));
    }
    size = static_cast<uint64_t>(len);
  }
  auto begin = std::make_shared<SourceChunk>();
  begin->kind = SourceChunk::Kind::kRdbBegin;
  begin->replid = replid();
  begin->offset = offset_;
  begin->rdb_size = size;
  stats_.rdb_size = size;
  stats_.rdb_received = 0;
  FERRY_RETURN_IF_ERROR(put(begin));

  auto abort_rdb = [&](Status why) {
    auto abort = std::make_shared<SourceChunk>();
    abort->kind = SourceChunk::Kind::kRdbAbort;
    log_->append(abort);
    return why;
  };
  uint64_t received = 0;
  // Diskless: hold back the last 40 bytes until we know they are not the end mark.
  std::string tail;
  while (true) {
    if (in_pos_ == in_.size()) {
      Status st = fill(options_.read_timeout);
      if (!st.is_ok()) return abort_rdb(st.with_context("while receiving the RDB"));
    }
    std::string_view avail(in_.data() + in_pos_, in_.size() - in_pos_);
    std::string data;
    bool done = false;
    if (!diskless) {
      size_t take = static_cast<size_t>(std::min<uint64_t>(avail.size(), size - received));
      data.assign(avail.substr(0, take));
      in_pos_ += take;
      done = received + take == size;
    } else {
      tail.append(avail);
      in_pos_ = in_.size();
      if (tail.size() >= kEofMarkLen &&
          std::memcmp(tail.data() + tail.size() - kEofMarkLen, mark.data(), kEofMarkLen) == 0) {
        done = true;
        data = tail.substr(0, tail.size() - kEofMarkLen);
        tail.clear();
      } else if (tail.size() > kEofMarkLen) {
        data = tail.substr(0, tail.size() - kEofMarkLen);
        tail.erase(0, tail.size() - kEofMarkLen);
      }
    }
    if (!data.empty()) {
      auto chunk = std::make_shared<SourceChunk>();
      chunk->kind = SourceChunk::Kind::kRdbData;
      chunk->offset = received;
      chunk->data = std::move(data);
      received += chunk->data.size();
      stats_.rdb_received = received;
      Status st = put(chunk);
      if (!st.is_ok()) return abort_rdb(st);
    }
    if (done) break;
  }
  auto end = std::make_shared<SourceChunk>();
  end->kind = SourceChunk::Kind::kRdbEnd;
  FERRY_RETURN_IF_ERROR(put(end));
  if (diskless) stats_.rdb_size = received;
  LOG_INFO("source %s: RDB received (%llu bytes)", options_.source.to_string().c_str(),
           static_cast<unsigned long long>(received));
  {
    std::lock_guard<std::mutex> lock(mu_);
    resumable_ = true;
  }
  auto begin_stream = std::make_shared<SourceChunk>();
  begin_stream->kind = SourceChunk::Kind::kStreamBegin;
  begin_stream->replid = replid();
  begin_stream->offset = offset_;
  FERRY_RETURN_IF_ERROR(put(begin_stream));
  // After a diskless transfer the master streams nothing until the first ACK.
  return send_ack();
}

Status ReplicaClient::stream() {
  set_state(LinkState::kStreaming);
  stats_.offset = offset_;
  const auto started = std::chrono::steady_clock::now();
  auto last_data = started;
  last_ack_ = std::chrono::steady_clock::time_point();
  // A master enables the stream after a diskless RDB on the first ACK it gets once it has
  // marked the transfer done; an ACK that arrives before that is not counted. Until data
  // flows (or for a second at most) ACK often, so the stream does not wait a whole period.
  constexpr auto kEagerAckPeriod = std::chrono::milliseconds(100);
  bool data_seen = false;
  auto last_read = started - std::chrono::seconds(1);
  while (!stop_) {
    if (in_pos_ < in_.size()) {
      auto chunk = std::make_shared<SourceChunk>();
      chunk->kind = SourceChunk::Kind::kStreamData;
      chunk->offset = offset_;
      chunk->data.assign(in_.data() + in_pos_, in_.size() - in_pos_);
      in_pos_ = in_.size();
      bool getack = chunk->data.find("GETACK") != std::string::npos;
      FERRY_RETURN_IF_ERROR(put(chunk));
      offset_ += chunk->data.size();
      stats_.offset = offset_;
      if (options_.clock) options_.clock->record(offset_, mono_us());
      last_data = std::chrono::steady_clock::now();
      data_seen = true;
      if (getack) FERRY_RETURN_IF_ERROR(send_ack());
    }
    auto now = std::chrono::steady_clock::now();
    const bool eager = !data_seen && now - started < std::chrono::seconds(1);
    const auto period =
        eager ? std::min<std::chrono::milliseconds>(kEagerAckPeriod, options_.ack_period)
              : options_.ack_period;
    if (now - last_ack_ >= period) FERRY_RETURN_IF_ERROR(send_ack());
    if (now - last_data > options_.read_timeout) {
      return Status::io_error("no data from the source for " +
                              std::to_string(options_.read_timeout.count() / 1000) + "s");
    }
    in_.clear();
    in_pos_ = 0;
    in_.resize(kReadChunk);
    size_t got = 0;
    Status st = sock_->read_some(in_.data(), kReadChunk, period, &got);
    // Under a steady flow of small writes, gather them for a moment: every chunk costs the
    // cache and the pipeline about the same whatever its size, and thousands of tiny ones
    // a second would cost more CPU than their bytes. A trickle is passed on at once.
    const auto read_at = std::chrono::steady_clock::now();
    if (st.is_ok() && got > 0 && got < kGatherBytes && read_at - last_read < kGatherWindow) {
      std::this_thread::sleep_for(kGatherDelay);
    }
    // Then take all that is there (up to a bound): however late the sleep ends on a busy
    // machine, the link is drained as fast as the source sends.
    while (st.is_ok() && got > 0 && got < kMaxGather) {
      if (in_.size() - got < kReadChunk / 2) in_.resize(std::min(kMaxGather, got + kReadChunk));
      size_t more = 0;
      // A failure here shows again on the next read, after these bytes are passed on.
      if (!sock_->try_read(in_.data() + got, in_.size() - got, &more).is_ok() || more == 0) break;
      got += more;
    }
    if (got > 0) last_read = read_at;
    in_.resize(got);
    if (!st.is_ok()) return st;
    stats_.bytes_received += got;
  }
  return Status::aborted("stopping");
}

}  // namespace ferry
