#include "net/target_writer.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstring>

#include "common/bytes.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/thread_name.h"
#include "net/socket.h"
#include "proto/resp.h"

namespace ferry {
namespace {

constexpr size_t kReadBuf = 256 * 1024;
constexpr size_t kMaxFailuresKept = 64;

// Upper-case name and first argument of the command at `offset` in `wire`, for messages.
void describe_command(const std::string& wire, uint64_t offset, std::string* name,
                      std::string* key) {
  std::vector<resp::ArgSpan> args;
  size_t consumed = 0, need = 0;
  std::string err;
  if (offset >= wire.size() ||
      resp::parse_command(wire.data() + offset, wire.size() - offset, &args, &consumed, &need,
                          &err) != resp::Parse::kOk ||
      args.empty()) {
    *name = "?";
    return;
  }
  const char* base = wire.data() + offset;
  name->assign(base + args[0].off, args[0].len);
  for (char& c : *name)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  size_t key_arg = 1;
  if ((*name == "EVAL" || *name == "EVALSHA") && args.size() > 3) {
    // ferry's scripts name the temporary key first and the real key second.
    int64_t numkeys = 0;
    parse_int(std::string_view(base + args[2].off, args[2].len), &numkeys);
    if (numkeys > 0) key_arg = 2 + static_cast<size_t>(std::min<int64_t>(numkeys, 2));
    if (key_arg >= args.size()) key_arg = 1;
  }
  if (args.size() > key_arg) {
    *key = printable(std::string_view(base + args[key_arg].off, args[key_arg].len));
  }
}

}  // namespace

TargetWriter::TargetWriter(Endpoint endpoint, Credentials credentials, DoneFn done,
                           std::string checkpoint_key)
    : endpoint_(std::move(endpoint)),
      credentials_(std::move(credentials)),
      done_(std::move(done)),
      checkpoint_key_(std::move(checkpoint_key)) {
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
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
  for (auto& p : pending_)
    finish(p.batch);
  for (auto& b : rest)
    finish(b);
  pending_.clear();
  unsent_ = 0;
}

Status TargetWriter::connect_once() {
  auto* sock = new Socket();
  Status st = Socket::connect(endpoint_, std::chrono::milliseconds(5000), sock);
  if (st.is_ok() && !credentials_.password.empty()) {
    std::string auth;
    if (credentials_.user.empty()) {
      resp::append_command(&auth, {"AUTH", credentials_.password});
    } else {
      resp::append_command(&auth, {"AUTH", credentials_.user, credentials_.password});
    }
    st = sock->write_all(auth, std::chrono::milliseconds(5000));
    std::string line;
    while (st.is_ok() && line.find('\n') == std::string::npos) {
      char buf[512];
      size_t got = 0;
      st = sock->read_some(buf, sizeof(buf), std::chrono::milliseconds(5000), &got);
      if (st.is_ok() && got == 0) st = Status::io_error("AUTH timed out");
      line.append(buf, got);
    }
    if (st.is_ok() && (line.empty() || line[0] != '+')) {
      st = Status::invalid_argument("AUTH refused: " + line.substr(0, line.find('\r')));
    }
  }
  if (!st.is_ok()) {
    delete sock;
    return st;
  }
  sock_ = sock;
  reader_.clear();
  connected_ = true;
  return Status::ok();
}

void TargetWriter::drop_connection(const Status& why) {
  if (sock_) {
    delete sock_;
    sock_ = nullptr;
  }
  reader_.clear();
  connected_ = false;
  size_t unacked = 0;
  for (const auto& p : pending_)
    unacked += p.sent > 0 ? 1 : 0;
  LOG_WARN("target %s: connection lost (%s); %zu batch(es) without all replies will be sent again",
           endpoint_.to_string().c_str(), why.message().c_str(), unacked);
  // Everything not fully acknowledged goes out again, in order, on the next connection.
  for (auto& p : pending_) {
    if (p.sent > 0) p.resent = true;
    p.sent = 0;
    p.replies = 0;
    p.aborted = false;
    p.refused.clear();
    p.refused_errors.clear();
    p.result = WriteResult();
  }
  unsent_ = 0;
}

Status TargetWriter::skip_committed() {
  // Ask the checkpoint which transactions committed: those are done, whatever became of
  // their replies.
  std::string req;
  resp::append_command(&req, {"HGET", checkpoint_key_, "seq"});
  FERRY_RETURN_IF_ERROR(sock_->write_all(req, std::chrono::milliseconds(5000)));
  resp::Reply reply;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (true) {
    resp::ReplyReader::Result got_reply = reader_.next(&reply);
    if (got_reply == resp::ReplyReader::Result::kError) {
      return Status::corruption("malformed reply to HGET: " + reader_.error());
    }
    if (got_reply == resp::ReplyReader::Result::kReply) break;
    if (std::chrono::steady_clock::now() > deadline) return Status::io_error("HGET timed out");
    char buf[4096];
    size_t got = 0;
    FERRY_RETURN_IF_ERROR(sock_->read_some(buf, sizeof(buf), std::chrono::milliseconds(500), &got));
    if (got > 0) reader_.feed(buf, got);
  }
  int64_t committed = 0;
  if (reply.type == resp::Reply::Type::kString) parse_int(reply.str, &committed);
  bool is_error = reply.is_error();
  if (is_error) return Status::io_error("cannot read the checkpoint after a reconnect");
  size_t skipped = 0;
  while (!pending_.empty() && pending_.front().batch->seq != 0 &&
         pending_.front().batch->seq <= static_cast<uint64_t>(committed)) {
    if (pending_.front().aborted_seq != 0) {
      // It was refused, yet a later transaction committed: applied out of order.
      WriteResult r2;
      r2.fatal = "transaction " + std::to_string(pending_.front().batch->seq) +
                 " was refused by the target while later ones were applied; the target "
                 "cannot be kept in order — a full sync is needed";
      Pending p = std::move(pending_.front());
      pending_.pop_front();
      inflight_--;
      done_(p.batch, r2);
      continue;
    }
    finish_front();
    skipped++;
  }
  // What remains was not committed: it goes again, and may commit from now on.
  for (auto& p : pending_)
    p.aborted_seq = 0;
  if (skipped > 0) {
    LOG_INFO("target %s: %zu batch(es) had been applied before the connection dropped",
             endpoint_.to_string().c_str(), skipped);
  }
  return Status::ok();
}

bool TargetWriter::isolate_refused(Pending& p) {
  WriteBatch& b = *p.batch;
  // Only a batch-level transaction: MULTI first, EXEC (running all the rest) last.
  if (b.expects.size() < 2 || b.expects.back().exec_count != b.expects.size() - 2) return false;
  std::vector<bool> drop(b.expects.size(), false);
  size_t dropped = 0;
  for (size_t i = 0; i < p.refused.size(); i++) {
    // "ERR ..." at queue time: the command is invalid (unknown, wrong arity) and can never
    // succeed. OOM, READONLY, MISCONF and the like are conditions to wait out.
    if (p.refused_errors[i].rfind("ERR", 0) != 0 && p.refused_errors[i].rfind("NOPERM", 0) != 0) {
      continue;
    }
    drop[p.refused[i]] = true;
    dropped++;
    WriteFailure f;
    describe_command(b.wire, b.expects[p.refused[i]].cmd_offset, &f.command, &f.key);
    f.error = p.refused_errors[i] + " (at queue time; left out of its transaction)";
    p.isolated.push_back(std::move(f));
  }
  if (dropped == 0) return false;
  std::string wire;
  std::vector<ReplyExpect> expects;
  for (size_t i = 0; i < b.expects.size(); i++) {
    if (drop[i]) continue;
    uint64_t begin = b.expects[i].cmd_offset;
    uint64_t end = i + 1 < b.expects.size() ? b.expects[i + 1].cmd_offset : b.wire.size();
    ReplyExpect e = b.expects[i];
    e.cmd_offset = wire.size();
    wire.append(b.wire, begin, end - begin);
    expects.push_back(e);
  }
  expects.back().exec_first = 1;
  expects.back().exec_count = static_cast<uint32_t>(expects.size() - 2);
  b.wire = std::move(wire);
  b.expects = std::move(expects);
  return true;
}

void TargetWriter::run() {
  auto backoff = std::chrono::milliseconds(100);
  bool ever_connected = false;
  auto last_complaint = std::chrono::steady_clock::time_point();
  auto connected_at = std::chrono::steady_clock::time_point();
  while (!stop_) {
    if (!sock_) {
      // A connection that dropped right after it was made (the target refusing clients,
      // say) waits out the back-off too, rather than spinning.
      if (retry_backoff_ || (ever_connected && std::chrono::steady_clock::now() - connected_at <
                                                   std::chrono::seconds(1))) {
        retry_backoff_ = false;
        struct pollfd pfd = {wake_fd_, POLLIN, 0};
        ::poll(&pfd, 1, static_cast<int>(backoff.count()));
        backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
        if (stop_) break;
      }
      Status st = connect_once();
      if (!st.is_ok()) {
        auto now = std::chrono::steady_clock::now();
        if (now - last_complaint > std::chrono::seconds(10)) {
          LOG_WARN("target %s: cannot connect (%s); retrying", endpoint_.to_string().c_str(),
                   st.message().c_str());
          last_complaint = now;
        }
        struct pollfd pfd = {wake_fd_, POLLIN, 0};
        ::poll(&pfd, 1, static_cast<int>(backoff.count()));
        uint64_t v;
        ssize_t n = ::read(wake_fd_, &v, sizeof(v));
        (void)n;
        backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
        continue;
      }
      if (ever_connected) {
        reconnects_++;
        LOG_INFO("target %s: reconnected", endpoint_.to_string().c_str());
      }
      if (ever_connected && !checkpoint_key_.empty() && !pending_.empty()) {
        Status skip = skip_committed();
        if (!skip.is_ok()) {
          drop_connection(skip);
          continue;
        }
      }
      ever_connected = true;
      connected_at = std::chrono::steady_clock::now();
      if (backoff > std::chrono::milliseconds(100) && pending_.empty()) {
        backoff = std::chrono::milliseconds(100);
      }
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
    if (!pump_writes(&err)) {
      drop_connection(err);
      continue;
    }
    struct pollfd pfds[2];
    bool want_write = unsent_ < pending_.size();
    pfds[0] = {sock_->fd(), static_cast<short>(POLLIN | (want_write ? POLLOUT : 0)), 0};
    pfds[1] = {wake_fd_, POLLIN, 0};
    int n = ::poll(pfds, 2, 1000);
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
  if (sock_) {
    delete sock_;
    sock_ = nullptr;
  }
  reader_.clear();
  connected_ = false;
}

bool TargetWriter::pump_writes(Status* error) {
  while (unsent_ < pending_.size()) {
    Pending& p = pending_[unsent_];
    if (p.sent == 0 && p.first_send_us == 0) p.first_send_us = mono_us();
    const std::string& wire = p.batch->wire;
    size_t sent = 0;
    Status st = sock_->try_write(wire.data() + p.sent, wire.size() - p.sent, &sent);
    if (!st.is_ok()) {
      *error = st;
      return false;
    }
    p.sent += sent;
    if (p.sent < wire.size()) return true;  // the socket is full; poll for POLLOUT
    unsent_++;
  }
  return true;
}

bool TargetWriter::pump_reads(Status* error) {
  char buf[kReadBuf];
  while (true) {
    size_t got = 0;
    Status st = sock_->try_read(buf, sizeof(buf), &got);
    if (!st.is_ok()) {
      *error = st;
      return false;
    }
    if (got == 0) return true;
    reader_.feed(buf, got);
    while (true) {
      resp::Reply& reply = reply_;
      resp::ReplyReader::Result res = reader_.next(&reply);
      if (res == resp::ReplyReader::Result::kError) {
        *error = Status::corruption("malformed reply from the target: " + reader_.error());
        return false;
      }
      if (res == resp::ReplyReader::Result::kNeedMore) break;
      if (pending_.empty() || pending_.front().sent == 0 ||
          pending_.front().replies >= pending_.front().batch->expects.size()) {
        *error = Status::corruption("a reply arrived for no command");
        return false;
      }
      Pending& p = pending_.front();
      judge(p, reply);
      if (p.replies < p.batch->expects.size()) continue;
      if (p.aborted) {
        // Nothing of it was applied. Send it again — without the commands the target refused
        // as invalid — on a fresh connection, after checking what later batches committed.
        bool isolated = isolate_refused(p);
        std::string why =
            "a transaction was discarded (" +
            (p.refused_errors.empty() ? std::string("EXECABORT") : p.refused_errors.front()) + ")";
        if (!isolated) retry_backoff_ = true;
        p.aborted_seq = p.batch->seq;
        *error = Status::aborted(why);
        return false;
      }
      finish_front();
    }
    if (got < sizeof(buf)) return true;
  }
}

void TargetWriter::judge(Pending& p, const resp::Reply& reply) {
  using Type = resp::Reply::Type;
  const resp::Reply* r = &reply;
  const WriteBatch& b = *p.batch;
  const ReplyExpect& ex = b.expects[p.replies++];
  auto fail = [&](const ReplyExpect& e, const std::string& error) {
    if (p.result.failures.size() >= kMaxFailuresKept) return;
    WriteFailure f;
    describe_command(b.wire, e.cmd_offset, &f.command, &f.key);
    f.error = error;
    p.result.failures.push_back(std::move(f));
  };
  // After a reconnect the batch may have run once already: a key "already there" may be our
  // own earlier write, so it cannot stop the input.
  auto fatal = [&](const std::string& why) {
    if (p.resent) {
      LOG_WARN("target %s: %s — after a reconnect, so possibly ferry's own earlier write",
               endpoint_.to_string().c_str(), why.c_str());
      p.result.ignored++;
    } else {
      p.result.fatal = why;
    }
  };
  auto judge_one = [&](const ReplyExpect& e, const resp::Reply* rr) {
    bool is_err = rr->is_error();
    std::string err = is_err ? std::string(rr->str) : std::string();
    auto key_of = [&]() {
      std::string name, key;
      describe_command(b.wire, e.cmd_offset, &name, &key);
      return key;
    };
    switch (e.check) {
      case ReplyCheck::kNone:
        return;
      case ReplyCheck::kAny:
        if (is_err) fail(e, err);
        return;
      case ReplyCheck::kBusyKeyIgnored:
      case ReplyCheck::kBusyKeyFatal:
        if (is_err && err.rfind("BUSYKEY", 0) == 0) {
          if (e.check == ReplyCheck::kBusyKeyFatal) {
            fatal("key " + key_of() + " already exists on the target (keyExists: error)");
          } else {
            p.result.ignored++;
            if (e.log_key) LOG_INFO("key %s exists on the target: kept", key_of().c_str());
          }
        } else if (is_err) {
          fail(e, err);
        }
        return;
      case ReplyCheck::kNilIgnored:
      case ReplyCheck::kNilFatal:
        if (rr->type == Type::kNil) {
          if (e.check == ReplyCheck::kNilFatal) {
            fatal("key " + key_of() + " already exists on the target (keyExists: error)");
          } else {
            p.result.ignored++;
            if (e.log_key) LOG_INFO("key %s exists on the target: kept", key_of().c_str());
          }
        } else if (is_err) {
          fail(e, err);
        }
        return;
      case ReplyCheck::kKeptIgnored:
      case ReplyCheck::kKeptFatal:
        if (rr->type == Type::kInteger && rr->integer == 0) {
          if (e.check == ReplyCheck::kKeptFatal) {
            fatal("key " + key_of() + " already exists on the target (keyExists: error)");
          } else {
            p.result.ignored++;
            if (e.log_key) LOG_INFO("key %s exists on the target: kept", key_of().c_str());
          }
        } else if (rr->type == Type::kInteger && rr->integer == 2 && e.log_key) {
          LOG_INFO("key %s exists on the target: replaced", key_of().c_str());
        } else if (is_err) {
          fail(e, err);
        }
        return;
      case ReplyCheck::kExistsProbe:
        if (rr->type == Type::kInteger && rr->integer == 1 && e.log_key) {
          LOG_INFO("key %s exists on the target: replaced", key_of().c_str());
        } else if (is_err) {
          fail(e, err);
        }
        return;
    }
  };
  if (ex.queued) {
    // Inside MULTI the reply is +QUEUED; an error here makes EXEC abort.
    if (r->is_error()) {
      p.refused.push_back(p.replies - 1);
      p.refused_errors.emplace_back(r->str);
    }
    return;
  }
  if (ex.exec_count > 0) {
    if (r->type == Type::kArray) {
      for (size_t i = 0; i < r->elements.size() && i < ex.exec_count; i++) {
        judge_one(b.expects[ex.exec_first + i], &r->elements[i]);
      }
    } else if (r->is_error()) {
      if (b.seq != 0 && p.replies == b.expects.size()) {
        p.aborted = true;  // a batch transaction: handled once its replies are all read
      } else {
        for (size_t i = 0; i < p.refused.size(); i++) {
          fail(b.expects[p.refused[i]], p.refused_errors[i]);
        }
        fail(ex, std::string(r->str) + " (the whole transaction was discarded)");
      }
    }
    return;
  }
  judge_one(ex, r);
}

void TargetWriter::finish_front() {
  Pending p = std::move(pending_.front());
  pending_.pop_front();
  if (unsent_ > 0) unsent_--;
  p.result.latency_us = mono_us() - p.first_send_us;
  p.result.resent = p.resent;
  for (auto& f : p.isolated)
    p.result.failures.push_back(std::move(f));
  inflight_--;
  done_(p.batch, p.result);
}

}  // namespace ferry
