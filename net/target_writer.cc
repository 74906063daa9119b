#include "net/target_writer.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "common/bytes.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/thread_name.h"
#include "common/units.h"
#include "net/socket.h"
#include "proto/checkpoint_format.h"
#include "proto/resp.h"

namespace ferry {
namespace {

constexpr size_t kReadBuf = 256 * 1024;
constexpr size_t kMaxArgsRecorded = 16;
constexpr size_t kMaxArgBytesRecorded = 256;

// The arguments of the command at `offset`: a RESP array, or — inside an apply script — its
// argument count as a bulk string followed by that many bulk strings. Spans are relative to
// `offset`. False when the bytes there are neither.
bool command_args(const std::string& wire, uint64_t offset, std::vector<resp::ArgSpan>* args) {
  args->clear();
  if (offset >= wire.size()) return false;
  if (wire[offset] == '*') {
    size_t consumed = 0, need = 0;
    std::string err;
    return resp::parse_command(wire.data() + offset, wire.size() - offset, args, &consumed, &need,
                               &err) == resp::Parse::kOk &&
           !args->empty();
  }
  // $<len>\r\n<bytes>\r\n, argc + 1 times.
  uint64_t at = offset;
  auto bulk = [&](resp::ArgSpan* span) {
    if (at >= wire.size() || wire[at] != '$') return false;
    size_t eol = wire.find("\r\n", at);
    int64_t len = 0;
    if (eol == std::string::npos ||
        !parse_int(std::string_view(wire).substr(at + 1, eol - at - 1), &len) || len < 0 ||
        eol + 2 + static_cast<uint64_t>(len) + 2 > wire.size()) {
      return false;
    }
    *span = resp::ArgSpan{eol + 2 - offset, static_cast<uint64_t>(len)};
    at = eol + 2 + static_cast<uint64_t>(len) + 2;
    return true;
  };
  resp::ArgSpan count;
  int64_t argc = 0;
  if (!bulk(&count) ||
      !parse_int(std::string_view(wire).substr(offset + count.off, count.len), &argc) ||
      argc <= 0) {
    return false;
  }
  for (int64_t i = 0; i < argc; i++) {
    resp::ArgSpan a;
    if (!bulk(&a)) return false;
    args->push_back(a);
  }
  return true;
}

// The command at `offset` in `wire`, described for messages and skip records: upper-case
// name, first key, shortened printable arguments.
void describe_command(const std::string& wire, uint64_t offset, SkippedCommand* out) {
  std::vector<resp::ArgSpan> args;
  if (!command_args(wire, offset, &args)) {
    out->command = "?";
    return;
  }
  const char* base = wire.data() + offset;
  auto arg = [&](size_t i) { return std::string_view(base + args[i].off, args[i].len); };
  out->command.assign(arg(0));
  for (char& c : out->command)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  size_t key_arg = 1;
  if ((out->command == "EVAL" || out->command == "EVALSHA") && args.size() > 3) {
    // ferry's scripts name the temporary key first and the real key second.
    int64_t numkeys = 0;
    parse_int(arg(2), &numkeys);
    if (numkeys > 0) key_arg = 2 + static_cast<size_t>(std::min<int64_t>(numkeys, 2));
    if (key_arg >= args.size()) key_arg = 1;
  }
  if (args.size() > key_arg) out->key = printable(arg(key_arg));
  for (size_t i = 1; i < args.size() && i <= kMaxArgsRecorded; i++) {
    std::string_view a = arg(i);
    std::string p = printable(a.substr(0, kMaxArgBytesRecorded));
    if (a.size() > kMaxArgBytesRecorded) p += "...(" + std::to_string(a.size()) + " bytes)";
    out->args.push_back(std::move(p));
  }
}

// Argument `index` of the command at `offset` in `wire` (empty if there is none).
std::string_view arg_of(const std::string& wire, uint64_t offset, int64_t index) {
  std::vector<resp::ArgSpan> args;
  if (index < 0 || !command_args(wire, offset, &args) ||
      static_cast<size_t>(index) >= args.size()) {
    return std::string_view();
  }
  return std::string_view(wire.data() + offset + args[index].off, args[index].len);
}

}  // namespace

TargetWriter::TargetWriter(Endpoint endpoint, Credentials credentials, DoneFn done,
                           WriterOptions options)
    : endpoint_(std::move(endpoint)),
      credentials_(std::move(credentials)),
      done_(std::move(done)),
      options_(std::move(options)) {
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  backoff_ = options_.backoff_min;
}

TargetWriter::~TargetWriter() {
  stop();
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

void TargetWriter::start() {
  stop_ = false;
  thread_ = std::thread([this] {
    set_thread_name("ferry-writer");
    run();
  });
}

void TargetWriter::wake() {
  uint64_t one = 1;
  ssize_t n = ::write(wake_fd_, &one, sizeof(one));
  (void)n;
}

void TargetWriter::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
  }
  if (!thread_.joinable()) return;
  stop_ = true;
  wake();
  thread_.join();
  cancel_all();
}

void TargetWriter::submit(WriteBatchPtr batch) {
  inflight_++;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!closed_) {
      incoming_.push_back(std::move(batch));
      batch.reset();
    }
  }
  if (batch) {
    WriteResult cancelled;
    cancelled.cancelled = true;
    inflight_--;
    done_(batch, cancelled);
    return;
  }
  wake();
}

std::string TargetWriter::waiting() const {
  std::lock_guard<std::mutex> lock(mu_);
  return waiting_;
}

void TargetWriter::set_waiting(const std::string& what) {
  std::lock_guard<std::mutex> lock(mu_);
  if (what.empty()) {
    waiting_.clear();
    return;
  }
  if (waiting_.empty()) waiting_since_ms_ = wall_ms();
  waiting_ = what + " (since " + format_wall_time(waiting_since_ms_) + "; retrying)";
}

void TargetWriter::cancel_all() {
  std::deque<WriteBatchPtr> rest;
  {
    std::lock_guard<std::mutex> lock(mu_);
    rest.swap(incoming_);
  }
  WriteResult cancelled;
  cancelled.cancelled = true;
  auto finish = [&](const WriteBatchPtr& b) {
    inflight_--;
    done_(b, cancelled);
  };
  std::deque<Pending> pending;
  pending.swap(pending_);
  unsent_ = 0;
  for (auto& p : pending)
    finish(p.batch);
  for (auto& b : rest)
    finish(b);
}

Status TargetWriter::connect_once() {
  ConnectOptions o;
  o.endpoint = endpoint_;
  o.credentials = credentials_;
  FERRY_RETURN_IF_ERROR(conn_.open(o));
  resp::Reply reply;
  // The previous connection may still hold batches the target has not read yet (a reply that
  // never came): end it, so that none of them commits behind the new one's back. Best
  // effort: a user without CLIENT rights relies on the fence alone.
  if (client_id_ != 0) {
    FERRY_RETURN_IF_ERROR(conn_.call({"CLIENT", "KILL", "ID", std::to_string(client_id_)}, &reply));
  }
  client_id_ = 0;
  FERRY_RETURN_IF_ERROR(conn_.call({"CLIENT", "ID"}, &reply));
  if (reply.type == resp::Reply::Type::kInteger) client_id_ = reply.integer;
  connected_ = true;
  return Status::ok();
}

void TargetWriter::drop_connection(const Status& why) {
  conn_.close();
  connected_ = false;
  size_t unacked = 0;
  for (const auto& p : pending_)
    unacked += p.sent > 0 ? 1 : 0;
  if (!failed_) {
    LOG_WARN("target %s: connection closed (%s); %zu batch(es) not yet applied go again",
             endpoint_.to_string().c_str(), why.message().c_str(), unacked);
  }
  // Everything not applied goes out again, in order, on the next connection. Closing the
  // connection also discards a transaction the target had queued for it.
  for (auto& p : pending_) {
    if (p.sent > 0) p.resent = true;
    if (p.sent == p.batch->wire.size() && p.replies < p.batch->expects.size()) {
      p.maybe_committed = true;
    }
    p.sent = 0;
    p.replies = 0;
    p.next_gate = 0;
    p.refused.clear();
    p.refused_errors.clear();
    p.transient.clear();
    p.fatal.clear();
    p.fence_ok = true;
    p.exec_nil = false;
    p.exec_ran = false;
    p.result = WriteResult();
  }
  unsent_ = 0;
}

Status TargetWriter::skip_committed() {
  // Ask the checkpoint which transactions committed: those are done, whatever became of
  // their replies.
  std::string req;
  resp::append_command(&req, {"SELECT", "0"});
  resp::append_command(&req, {"HGET", options_.checkpoint_key, "seq"});
  FERRY_RETURN_IF_ERROR(conn_.send(req));
  resp::Reply reply;
  for (int i = 0; i < 2; i++) {
    FERRY_RETURN_IF_ERROR(conn_.read_reply(&reply, options_.reply_timeout));
    if (reply.is_error()) {
      return Status::io_error("cannot read the checkpoint after a reconnect: " +
                              first_line(reply.str));
    }
  }
  int64_t committed = 0;
  if (reply.type == resp::Reply::Type::kString) parse_int(reply.str, &committed);
  size_t skipped = 0;
  while (!pending_.empty() && pending_.front().batch->seq != 0 &&
         pending_.front().batch->seq <= static_cast<uint64_t>(committed)) {
    if (!pending_.front().maybe_committed) {
      // Never sent, or known not to have committed, yet the checkpoint is past it: someone
      // else moved it. Finishing it would pass data that never reached the target.
      fail_fatal("the target's checkpoint " + options_.checkpoint_key + " says batch " +
                 std::to_string(committed) + " committed, past batch " +
                 std::to_string(pending_.front().batch->seq) +
                 ", which this ferry has not committed: another process writes this input, or "
                 "the checkpoint was changed by hand; stopping so that nothing is skipped");
      return Status::aborted("the target's checkpoint moved ahead of this writer");
    }
    {
      // Its replies were lost with the connection: what failed inside it is not known.
      LOG_WARN(
          "target %s: batch %llu committed before the connection dropped; the answers to its "
          "commands were lost with it (a command it refused is not reported)",
          endpoint_.to_string().c_str(),
          static_cast<unsigned long long>(pending_.front().batch->seq));
    }
    finish_at(0, true);
    skipped++;
  }
  for (auto& p : pending_)
    p.maybe_committed = false;  // the checkpoint says they did not
  if (skipped > 0) {
    LOG_INFO("target %s: %zu batch(es) had been applied before the connection dropped",
             endpoint_.to_string().c_str(), skipped);
  }
  return Status::ok();
}

Status TargetWriter::skip_committed_slots() {
  // Each batch that went out whole but was not answered asks its own slot checkpoint: batches
  // of different slots are independent, so one may have committed while one before it did
  // not.
  std::vector<size_t> asked;
  std::string req;
  for (size_t i = 0; i < pending_.size(); i++) {
    const Pending& p = pending_[i];
    if (!p.maybe_committed || p.batch->commit_key.empty()) continue;
    resp::append_command(&req, {"GET", p.batch->commit_key});
    asked.push_back(i);
  }
  if (asked.empty()) return Status::ok();
  FERRY_RETURN_IF_ERROR(conn_.send(req));
  std::vector<bool> committed(pending_.size(), false);
  resp::Reply reply;
  for (size_t i : asked) {
    FERRY_RETURN_IF_ERROR(conn_.read_reply(&reply, options_.reply_timeout));
    if (reply.is_error()) {
      return Status::io_error("cannot read a slot checkpoint after a reconnect: " +
                              first_line(reply.str));
    }
    // A later batch of the slot commits only after this one (it follows its value).
    ckpt::SlotPosition at, want;
    committed[i] = reply.type == resp::Reply::Type::kString && ckpt::decode(reply.str, &at) &&
                   ckpt::decode(pending_[i].batch->commit_value, &want) && at.batch >= want.batch;
  }
  // A batch that went out whole before one the target ran was run too (one connection runs
  // in order): what has no checkpoint to ask (a FLUSHALL sent alone) is done then.
  bool later = false;
  for (size_t i = pending_.size(); i-- > 0;) {
    if (committed[i]) {
      later = true;
    } else if (later && pending_[i].maybe_committed && pending_[i].batch->commit_key.empty()) {
      committed[i] = true;
    }
  }
  size_t skipped = 0;
  for (size_t i = pending_.size(); i-- > 0;) {
    if (!committed[i]) continue;
    finish_at(i, true);
    skipped++;
  }
  for (auto& p : pending_)
    p.maybe_committed = false;
  if (skipped > 0) {
    LOG_INFO(
        "target %s: %zu batch(es) had been applied before the connection dropped (the "
        "answers to their commands were lost with it: a command one refused is not "
        "reported)",
        endpoint_.to_string().c_str(), skipped);
  }
  return Status::ok();
}

void TargetWriter::isolate_refused(Pending& p) {
  WriteBatch& b = *p.batch;
  std::vector<bool> drop(b.expects.size(), false);
  for (size_t i = 0; i < p.refused.size(); i++) {
    size_t idx = p.refused[i];
    drop[idx] = true;
    const ReplyExpect& e = b.expects[idx];
    SkippedCommand s;
    describe_command(b.wire, e.cmd_offset, &s);
    s.error = first_line(p.refused_errors[i]);
    s.reason = classify_error(p.refused_errors[i]).reason;
    s.db = e.db;
    s.src_offset = e.src_offset;
    s.at_queue_time = true;
    p.isolated.push_back(std::move(s));
  }
  // The same batch without them: offsets and indexes (EXEC's range, gates) follow.
  std::string wire;
  std::vector<ReplyExpect> expects;
  std::vector<uint32_t> new_index(b.expects.size() + 1, 0);
  std::vector<uint64_t> new_offset(b.expects.size() + 1, 0);
  for (size_t i = 0; i < b.expects.size(); i++) {
    new_index[i] = static_cast<uint32_t>(expects.size());
    new_offset[i] = wire.size();
    if (drop[i]) continue;
    uint64_t begin = b.expects[i].cmd_offset;
    uint64_t end = i + 1 < b.expects.size() ? b.expects[i + 1].cmd_offset : b.wire.size();
    ReplyExpect e = b.expects[i];
    e.cmd_offset = wire.size();
    wire.append(b.wire, begin, end - begin);
    expects.push_back(e);
  }
  new_index[b.expects.size()] = static_cast<uint32_t>(expects.size());
  new_offset[b.expects.size()] = wire.size();
  for (ReplyExpect& e : expects) {
    if (e.exec_count == 0) continue;
    uint32_t first = new_index[e.exec_first];
    e.exec_count = new_index[e.exec_first + e.exec_count] - first;
    e.exec_first = first;
  }
  for (uint32_t& i : p.probes_passed)
    i = new_index[i];
  for (SendGate& g : b.gates) {
    g.offset = new_offset[g.replies];
    g.needs = new_index[g.needs];
    g.replies = new_index[g.replies];
  }
  b.wire = std::move(wire);
  b.expects = std::move(expects);
}

void TargetWriter::wait_backoff() {
  struct pollfd pfd = {wake_fd_, POLLIN, 0};
  auto until = std::chrono::steady_clock::now() + backoff_;
  while (!stop_) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        until - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    ::poll(&pfd, 1, static_cast<int>(left.count()));
    uint64_t v;
    ssize_t n = ::read(wake_fd_, &v, sizeof(v));
    (void)n;
  }
  backoff_ = std::min(backoff_ * 2, options_.backoff_max);
}

void TargetWriter::run() {
  bool ever_connected = false;
  auto last_complaint = std::chrono::steady_clock::time_point();
  bool owed = false;
  while (!stop_) {
    if (failed_) {
      // A fatal end: nothing more is sent; wait for stop().
      struct pollfd pfd = {wake_fd_, POLLIN, 0};
      ::poll(&pfd, 1, 1000);
      uint64_t v;
      ssize_t n = ::read(wake_fd_, &v, sizeof(v));
      (void)n;
      continue;
    }
    if (!conn_.is_open()) {
      if (backoff_next_) {
        backoff_next_ = false;
        wait_backoff();
        if (stop_) break;
      }
      Status st = connect_once();
      if (!st.is_ok()) {
        set_waiting("cannot connect to the target " + endpoint_.to_string() + ": " + st.message());
        auto now = std::chrono::steady_clock::now();
        if (now - last_complaint > std::chrono::seconds(10)) {
          LOG_WARN("target %s: cannot connect (%s); retrying", endpoint_.to_string().c_str(),
                   st.message().c_str());
          last_complaint = now;
        }
        wait_backoff();
        continue;
      }
      if (ever_connected) {
        reconnects_++;
        LOG_INFO("target %s: reconnected", endpoint_.to_string().c_str());
      }
      ever_connected = true;
      if ((!options_.checkpoint_key.empty() || options_.slot_checkpoints) && !pending_.empty()) {
        Status skip = options_.slot_checkpoints ? skip_committed_slots() : skip_committed();
        if (!skip.is_ok()) {
          backoff_next_ = true;
          drop_connection(skip);
          continue;
        }
      }
      owed = false;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      while (!incoming_.empty()) {
        Pending p;
        p.batch = std::move(incoming_.front());
        incoming_.pop_front();
        pending_.push_back(std::move(p));
      }
    }
    Status err;
    bool socket_full = false, held = false;
    if (!pump_writes(&err, &socket_full, &held)) {
      drop_connection(err);
      continue;
    }
    // A connection that owes replies and hears nothing is as good as gone (a target host
    // that vanished without a reset): remake it rather than wait for the kernel.
    auto now = std::chrono::steady_clock::now();
    bool owes = !pending_.empty() && pending_.front().sent > 0;
    if (owes && !owed) last_read_ = now;
    owed = owes;
    if (owes && now - last_read_ > options_.reply_timeout) {
      backoff_next_ = true;
      set_waiting("no answer from the target " + endpoint_.to_string());
      drop_connection(Status::io_error(
          "no answer for " +
          std::to_string(
              std::chrono::duration_cast<std::chrono::seconds>(options_.reply_timeout).count()) +
          " s"));
      continue;
    }
    struct pollfd pfds[2];
    // POLLOUT only for a full socket: a batch held at a gate waits for replies, and asking
    // to hear that the socket is writable would spin.
    pfds[0] = {conn_.socket().fd(), static_cast<short>(POLLIN | (socket_full ? POLLOUT : 0)), 0};
    pfds[1] = {wake_fd_, POLLIN, 0};
    int n = ::poll(pfds, 2, held ? 5 : 1000);
    if (n < 0) continue;
    if (pfds[1].revents & POLLIN) {
      uint64_t v;
      ssize_t r = ::read(wake_fd_, &v, sizeof(v));
      (void)r;
    }
    if (pfds[0].revents & (POLLIN | POLLERR | POLLHUP)) {
      if (!pump_reads(&err)) {
        drop_connection(err);
        continue;
      }
    }
  }
  conn_.close();
  connected_ = false;
}

bool TargetWriter::pump_writes(Status* error, bool* socket_full, bool* held) {
  while (unsent_ < pending_.size()) {
    Pending& p = pending_[unsent_];
    const WriteBatch& b = *p.batch;
    const bool gated = p.next_gate < b.gates.size();
    const size_t limit = gated ? b.gates[p.next_gate].offset : b.wire.size();
    if (gated && p.sent == limit) {
      // Past a gate only once everything before it was answered, without a failure.
      bool clear = unsent_ == 0 && p.replies >= b.gates[p.next_gate].needs && p.refused.empty() &&
                   p.transient.empty() && p.fatal.empty() && p.fence_ok;
      if (!clear) return true;
      // What the target refused so far is recorded before what follows (a checkpoint) can
      // move the position past it.
      if (!record_skips(p)) {  // fatal: `p` is gone
        *error = Status::aborted("cannot record the commands the target refused");
        return false;
      }
      p.next_gate++;
      continue;
    }
    if (p.sent == 0 && b.held() && !p.released && options_.hold) {
      std::string why;
      switch (options_.hold(b, &why)) {
        case SendVerdict::kGo:
          p.released = true;
          set_waiting("");
          break;
        case SendVerdict::kWait:
          set_waiting(why);
          *held = true;  // asked again after a short poll
          return true;
        case SendVerdict::kFail:
          set_waiting(why);
          if (unsent_ > 0) {  // fail_fatal ends the front batch: let the earlier ones end
            *held = true;
            return true;
          }
          fail_fatal(why);
          *error = Status::aborted(why);
          return false;
      }
    }
    if (p.sent == 0 && p.first_send_us == 0) p.first_send_us = mono_us();
    size_t sent = 0;
    Status st = conn_.socket().try_write(b.wire.data() + p.sent, limit - p.sent, &sent);
    if (!st.is_ok()) {
      *error = st;
      return false;
    }
    p.sent += sent;
    if (p.sent < limit) {
      *socket_full = true;  // poll for POLLOUT
      return true;
    }
    if (limit == b.wire.size()) unsent_++;
  }
  return true;
}

bool TargetWriter::record_skips(Pending& p) {
  std::vector<SkippedCommand> now;
  for (SkippedCommand& c : p.result.skipped) {
    if (c.recorded) continue;
    c.recorded = true;
    now.push_back(c);
  }
  if (now.empty() || !options_.on_skipped) return true;
  Status st = options_.on_skipped(*p.batch, now);
  if (st.is_ok()) return true;
  const std::string fatal = "cannot record the commands the target refused: " + st.message();
  fail_fatal(fatal);  // ends `p`
  return false;
}

size_t TargetWriter::sent_replies(const Pending& p) const {
  const WriteBatch& b = *p.batch;
  if (p.sent == b.wire.size()) return b.expects.size();
  if (p.next_gate < b.gates.size() && p.sent == b.gates[p.next_gate].offset) {
    return b.gates[p.next_gate].replies;
  }
  return SIZE_MAX;  // still being written
}

TargetWriter::End TargetWriter::front_end() const {
  const Pending& p = pending_.front();
  const size_t owed = sent_replies(p);
  if (owed == SIZE_MAX || p.replies < owed) return End::kOpen;
  if (!p.fatal.empty()) return End::kFatal;
  if (!p.transient.empty()) return End::kRetry;
  if (!p.refused.empty()) return End::kIsolate;
  if (p.exec_nil) return End::kRetry;
  if (owed < p.batch->expects.size()) return End::kOpen;  // at a gate it may pass
  return End::kApplied;
}

bool TargetWriter::settle_front(End end, Status* error) {
  Pending& p = pending_.front();
  switch (end) {
    case End::kOpen:
      return true;
    case End::kApplied:
      if (backoff_ > options_.backoff_min) backoff_ = options_.backoff_min;
      set_waiting("");
      finish_at(0, true);
      return true;
    case End::kRetry:
      if (!p.transient.empty()) {
        backoff_next_ = true;
        set_waiting("the target " + endpoint_.to_string() + " answers " + p.transient);
        *error = Status::aborted("the target refused a batch for now: " + p.transient);
      } else {
        // Fenced out although the fence passed: a key it watched was written meanwhile.
        *error = Status::aborted("a watched key changed before the batch committed");
      }
      return false;
    case End::kIsolate: {
      const size_t before = p.isolated.size();
      const std::string why = first_line(p.refused_errors[0]);
      isolate_refused(p);
      if (options_.on_skipped) {
        std::vector<SkippedCommand> now(p.isolated.begin() + before, p.isolated.end());
        for (size_t i = before; i < p.isolated.size(); i++)
          p.isolated[i].recorded = true;
        Status recorded = options_.on_skipped(*p.batch, now);
        if (!recorded.is_ok()) {
          const std::string fatal =
              "cannot record the commands the target refused: " + recorded.message();
          fail_fatal(fatal);  // ends `p`
          *error = Status::aborted(fatal);
          return false;
        }
      }
      *error = Status::aborted("the target refused a command when it was queued (" + why +
                               "); its transaction goes again without it");
      return false;
    }
    case End::kFatal: {
      const std::string fatal = p.fatal;
      fail_fatal(fatal);  // ends `p`
      *error = Status::aborted(fatal);
      return false;
    }
  }
  return true;
}

bool TargetWriter::pump_reads(Status* error) {
  char buf[kReadBuf];
  while (true) {
    size_t got = 0;
    Status st = conn_.socket().try_read(buf, sizeof(buf), &got);
    if (!st.is_ok()) {
      *error = st;
      return false;
    }
    if (got == 0) return true;
    last_read_ = std::chrono::steady_clock::now();
    conn_.reader().feed(buf, got);
    while (true) {
      resp::Reply& reply = reply_;
      resp::ReplyReader::Result res = conn_.reader().next(&reply);
      if (res == resp::ReplyReader::Result::kError) {
        *error = Status::corruption("malformed reply from the target: " + conn_.reader().error());
        return false;
      }
      if (res == resp::ReplyReader::Result::kNeedMore) break;
      if (pending_.empty() || pending_.front().sent == 0 ||
          pending_.front().replies >= pending_.front().batch->expects.size()) {
        *error = Status::corruption("a reply arrived for no command");
        return false;
      }
      judge(pending_.front(), reply);
      End end = front_end();
      if (end != End::kOpen && !settle_front(end, error)) return false;
    }
    if (got < sizeof(buf)) return true;
  }
}

void TargetWriter::judge(Pending& p, const resp::Reply& reply) {
  using Type = resp::Reply::Type;
  const WriteBatch& b = *p.batch;
  const size_t index = p.replies++;
  const ReplyExpect& ex = b.expects[index];
  const std::string err = reply.is_error() ? first_line(reply.str) : std::string();
  if (ex.script) {
    judge_script(p, ex, reply);
    return;
  }
  if (ex.queued) {
    // Inside MULTI the reply is +QUEUED; an error here makes EXEC abort.
    if (!reply.is_error()) return;
    const bool transient = classify_error(err).cls == ErrorClass::kTransient;
    if (ex.check == ReplyCheck::kControl) {
      // ferry's own SELECT or checkpoint: never left out (data would land in another DB, or
      // commit without its position).
      if (transient) {
        p.transient = err;
      } else if (p.fatal.empty()) {
        p.fatal = "the target refused ferry's own command inside its transaction: " + err;
      }
      return;
    }
    p.refused.push_back(index);
    p.refused_errors.push_back(err);
    if (transient) p.transient = err;
    return;
  }
  if (ex.exec_count > 0 || ex.own_exec) {
    if (reply.type == Type::kArray) {
      if (ex.own_exec) p.exec_ran = true;
      for (size_t i = 0; i < reply.elements.size() && i < ex.exec_count; i++) {
        judge_data(p, b.expects[ex.exec_first + i], reply.elements[i], true);
      }
    } else if (reply.type == Type::kNil) {
      if (ex.own_exec) p.exec_nil = true;
    } else if (reply.is_error()) {
      if (ex.own_exec) {
        // EXECABORT after refusals (isolated, or waited out when transient), or EXEC itself
        // refused (OOM, READONLY, ...): nothing of it ran.
        if (p.refused.empty() || classify_error(err).cls == ErrorClass::kTransient) {
          p.transient = err;
        }
      } else if (p.transient.empty()) {
        // A source's MULTI ... EXEC (outside transaction mode) was discarded whole: each of
        // its commands is skipped, the refused ones with their own answer.
        for (uint32_t i = ex.exec_first; i < ex.exec_first + ex.exec_count; i++) {
          SkippedCommand s;
          describe_command(b.wire, b.expects[i].cmd_offset, &s);
          s.error = err + " (its source transaction was discarded)";
          for (size_t r = 0; r < p.refused.size(); r++) {
            if (p.refused[r] != i) continue;
            s.error = p.refused_errors[r] + " (its source transaction was discarded)";
            s.reason = classify_error(p.refused_errors[r]).reason;
          }
          s.db = b.expects[i].db;
          s.src_offset = b.expects[i].src_offset;
          p.result.skipped.push_back(std::move(s));
        }
        p.refused.clear();
        p.refused_errors.clear();
      }
    }
    return;
  }
  switch (ex.check) {
    case ReplyCheck::kControl:
      if (reply.is_error()) {
        SkippedCommand s;
        describe_command(b.wire, ex.cmd_offset, &s);
        if (classify_error(err).cls == ErrorClass::kTransient) {
          p.transient = err;
        } else {
          p.fatal = "the target refused " + s.command + " (" + err + "), which ferry needs";
        }
      }
      return;
    case ReplyCheck::kFence:
      if (reply.type != Type::kInteger || reply.integer != 1) {
        p.fence_ok = false;
        std::string found = reply.is_error() ? err : std::string(reply.str);
        if (reply.is_error() && classify_error(err).cls == ErrorClass::kTransient) {
          p.transient = err;
          return;
        }
        p.fatal = "the target's checkpoint " + options_.checkpoint_key + " is at " + found +
                  ", but batch " + std::to_string(b.seq) + " follows batch " +
                  std::to_string(b.seq - 1) +
                  ": another process writes this input, the target lost writes ferry had "
                  "applied (a failover to a replica that was behind?), or the checkpoint was "
                  "changed by hand; stopping so that nothing is applied out of order (a "
                  "restart resumes from the target's checkpoint)";
      }
      return;
    case ReplyCheck::kKeyProbe:
      if (reply.type == Type::kInteger && reply.integer == 0) {
        p.probes_passed.push_back(static_cast<uint32_t>(index));
      } else if (reply.type == Type::kInteger && reply.integer > 0) {
        // Outside fenced transactions a batch sent again may meet its own earlier write: a
        // probe that once found none of its keys is not believed the second time. (A fenced
        // batch that committed is never sent again: what a probe finds is someone else's.)
        const bool passed = std::find(p.probes_passed.begin(), p.probes_passed.end(),
                                      static_cast<uint32_t>(index)) != p.probes_passed.end();
        if (passed && !exactly_once()) return;
        // EVAL script numkeys key...: the n-th key is argument n + 2.
        std::string key = printable(arg_of(b.wire, ex.cmd_offset, reply.integer + 2));
        p.fatal = "key " + key + " already exists on the target (keyExists: error)";
      } else if (reply.is_error() && classify_error(err).cls == ErrorClass::kTransient) {
        p.transient = err;
      } else {
        p.fatal = "cannot check which keys exist on the target: " +
                  (reply.is_error() ? err : std::string("unexpected answer"));
      }
      return;
    default:
      judge_data(p, ex, reply, false);
  }
}

void TargetWriter::judge_script(Pending& p, const ReplyExpect& e, const resp::Reply& reply) {
  const WriteBatch& b = *p.batch;
  if (reply.type == resp::Reply::Type::kArray) {
    p.exec_ran = true;
    for (size_t i = 0; i < reply.elements.size() && i < e.exec_count && i < b.inner.size(); i++)
      judge_data(p, b.inner[e.exec_first + i], reply.elements[i], true);
    return;
  }
  const std::string err =
      reply.is_error() ? first_line(reply.str) : "an answer that is not an array";
  if (err.rfind("FERRYFENCE ", 0) == 0) {
    p.fatal = "the target's slot checkpoint " + err.substr(11) +
              ": another process writes this input, the target lost writes ferry had applied (a "
              "failover to a replica that was behind?), or the checkpoint was changed by hand; "
              "stopping so that nothing is applied out of order (a restart resumes from the "
              "target's checkpoints)";
  } else if (err.rfind("FERRYEXISTS ", 0) == 0) {
    int64_t n = 0;
    parse_int(std::string_view(err).substr(12), &n);
    std::string key = n >= 1 && static_cast<size_t>(n) <= b.probe_keys.size()
                          ? printable(b.probe_keys[static_cast<size_t>(n - 1)])
                          : std::string("?");
    p.fatal = "key " + key + " already exists on the target (keyExists: error)";
  } else if (reply.is_error() && classify_error(err).cls == ErrorClass::kTransient) {
    p.transient = err;  // nothing of it was applied: it goes again
  } else {
    p.fatal = "the target refused ferry's apply script: " + err;
  }
}

void TargetWriter::judge_data(Pending& p, const ReplyExpect& e, const resp::Reply& r,
                              bool in_exec) {
  using Type = resp::Reply::Type;
  const WriteBatch& b = *p.batch;
  const bool is_err = r.is_error();
  const std::string err = is_err ? first_line(r.str) : std::string();
  auto key_of = [&]() {
    SkippedCommand s;
    describe_command(b.wire, e.cmd_offset, &s);
    return s.key;
  };
  // keyExists: error. In a fenced transaction the key probe found none of these keys, so
  // this is a key written meanwhile by someone else; outside transaction mode a batch sent
  // again may meet ferry's own earlier write.
  auto conflict = [&]() {
    if (p.resent && !exactly_once()) {
      LOG_WARN(
          "target %s: key %s exists — after a reconnect, so possibly ferry's own earlier "
          "write",
          endpoint_.to_string().c_str(), key_of().c_str());
      p.result.ignored++;
    } else if (p.fatal.empty()) {
      p.fatal = "key " + key_of() + " already exists on the target (keyExists: error)";
    }
  };
  auto kept = [&]() {
    p.result.ignored++;
    if (e.log_key) LOG_INFO("key %s exists on the target: kept", key_of().c_str());
  };
  switch (e.check) {
    case ReplyCheck::kBusyKeyIgnored:
    case ReplyCheck::kBusyKeyFatal:
      if (is_err && err.rfind("BUSYKEY", 0) == 0) {
        if (e.check == ReplyCheck::kBusyKeyFatal) {
          conflict();
        } else {
          kept();
        }
        return;
      }
      break;
    case ReplyCheck::kNilIgnored:
    case ReplyCheck::kNilFatal:
      if (r.type == Type::kNil) {
        if (e.check == ReplyCheck::kNilFatal) {
          conflict();
        } else {
          kept();
        }
        return;
      }
      break;
    case ReplyCheck::kKeptIgnored:
    case ReplyCheck::kKeptFatal:
      if (r.type == Type::kInteger && r.integer == 0) {
        if (e.check == ReplyCheck::kKeptFatal) {
          conflict();
        } else {
          kept();
        }
        return;
      }
      if (r.type == Type::kInteger && r.integer == 2 && e.log_key) {
        LOG_INFO("key %s exists on the target: replaced", key_of().c_str());
      }
      break;
    case ReplyCheck::kExistsProbe:
      if (r.type == Type::kInteger && r.integer == 1 && e.log_key) {
        LOG_INFO("key %s exists on the target: replaced", key_of().c_str());
      }
      break;
    case ReplyCheck::kControl:
      // ferry's own SELECT inside the transaction: what follows it ran in another DB.
      if (is_err && p.fatal.empty()) {
        p.fatal = "the target refused ferry's own " + key_of() + " inside a transaction: " + err;
      }
      return;
    default:
      break;
  }
  if (!is_err) return;
  ErrorVerdict v = classify_error(err);
  if (v.cls == ErrorClass::kTransient && !in_exec) {
    p.transient = err;  // outside a transaction: this batch goes again, at least once
    return;
  }
  SkippedCommand s;
  describe_command(b.wire, e.cmd_offset, &s);
  // A condition of the whole target inside EXEC cannot be waited out: the transaction
  // committed without this command. (EXEC itself is refused in those conditions, so this
  // is not expected.)
  s.error = v.cls == ErrorClass::kTransient ? err + " (inside a committed transaction)" : err;
  s.reason = v.reason;
  s.db = e.db;
  s.src_offset = e.src_offset;
  p.result.skipped.push_back(std::move(s));
}

void TargetWriter::finish_at(size_t i, bool applied) {
  Pending p = std::move(pending_[i]);
  pending_.erase(pending_.begin() + static_cast<std::ptrdiff_t>(i));
  if (i < unsent_) unsent_--;
  p.result.applied = applied;
  p.result.latency_us = p.first_send_us ? mono_us() - p.first_send_us : 0;
  p.result.resent = p.resent;
  for (auto& s : p.isolated)
    p.result.skipped.push_back(std::move(s));
  inflight_--;
  done_(p.batch, p.result);
}

void TargetWriter::fail_fatal(const std::string& why) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
  }
  failed_ = true;
  Pending p = std::move(pending_.front());
  pending_.pop_front();
  if (unsent_ > 0) unsent_--;
  p.result.fatal = why;
  p.result.applied = p.exec_ran;
  for (auto& s : p.isolated)
    p.result.skipped.push_back(std::move(s));
  inflight_--;
  done_(p.batch, p.result);
  cancel_all();
}

}  // namespace ferry
