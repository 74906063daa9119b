#include "net/connection.h"

#include <algorithm>

#include "common/bytes.h"
#include "proto/resp.h"

namespace ferry {

Status Connection::open(const ConnectOptions& options) {
  FERRY_RETURN_IF_ERROR(connect(options));
  return handshake();
}

Status Connection::connect(const ConnectOptions& options) {
  close();
  options_ = options;
  return Socket::connect(options_.endpoint, options_.connect_timeout, &sock_);
}

Status Connection::handshake() {
  resp::Reply reply;
  const Credentials& cred = options_.credentials;
  if (!cred.password.empty()) {
    Status st = cred.user.empty() ? call({"AUTH", cred.password}, &reply)
                                  : call({"AUTH", cred.user, cred.password}, &reply);
    FERRY_RETURN_IF_ERROR(st);
    if (reply.is_error()) {
      return fail(Status::invalid_argument("AUTH refused by " + endpoint().to_string() + ": " +
                                           first_line(reply.str)));
    }
  }
  if (!options_.client_name.empty()) {
    // Only for the operator's CLIENT LIST; a user without the right still syncs.
    FERRY_RETURN_IF_ERROR(call({"CLIENT", "SETNAME", options_.client_name}, &reply));
  }
  return Status::ok();
}

void Connection::close() {
  sock_.close();
  reader_.clear();
  broken_ = false;
}

Status Connection::fail(Status st) {
  sock_.shutdown();
  broken_ = true;
  return st;
}

Status Connection::call(std::initializer_list<std::string_view> argv, resp::Reply* reply) {
  std::string req;
  resp::append_command(&req, argv);
  return round_trip(req, reply);
}

Status Connection::call_argv(const std::vector<std::string>& argv, resp::Reply* reply) {
  std::string req;
  resp::append_array_header(&req, argv.size());
  for (const std::string& a : argv)
    resp::append_bulk(&req, a);
  return round_trip(req, reply);
}

Status Connection::round_trip(std::string_view request, resp::Reply* reply) {
  FERRY_RETURN_IF_ERROR(send(request));
  return read_reply(reply, options_.timeout);
}

Status Connection::send(std::string_view wire) {
  if (!is_open()) return Status::io_error("not connected to " + endpoint().to_string());
  Status st = sock_.write_all(wire, options_.timeout);
  return st.is_ok() ? st : fail(st);
}

Status Connection::read_reply(resp::Reply* reply, std::chrono::milliseconds timeout) {
  if (!is_open()) return Status::io_error("not connected to " + endpoint().to_string());
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    switch (reader_.next(reply)) {
      case resp::ReplyReader::Result::kReply:
        return Status::ok();
      case resp::ReplyReader::Result::kError:
        return fail(Status::corruption("malformed reply from " + endpoint().to_string() + ": " +
                                       reader_.error()));
      case resp::ReplyReader::Result::kNeedMore:
        break;
    }
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) {
      return fail(Status::io_error("no reply from " + endpoint().to_string() + " within " +
                                   std::to_string(timeout.count()) + " ms"));
    }
    char buf[64 * 1024];
    size_t got = 0;
    auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
    Status st =
        sock_.read_some(buf, sizeof(buf), std::max(wait, std::chrono::milliseconds(1)), &got);
    if (!st.is_ok()) {
      return fail(
          Status::io_error("connection to " + endpoint().to_string() + " lost: " + st.message()));
    }
    reader_.feed(buf, got);
  }
}

}  // namespace ferry
