// Connection: one connection to a Redis server, and the only code in ferry that opens one.
// It connects within a deadline, authenticates, names the client, and makes blocking round
// trips whose replies resp::ReplyReader reads. Every kind of connection ferry makes opens
// through here: the control client (RedisClient), the replica link (ReplicaClient) and the
// target writers (TargetWriter); the last two then drive socket() and reader() themselves
// for their data framing (an RDB transfer, pipelined batches). TLS, when it comes, belongs
// here and nowhere else.
#pragma once

#include <chrono>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "net/endpoint.h"
#include "net/socket.h"
#include "proto/reply_reader.h"

namespace ferry {

struct ConnectOptions {
  Endpoint endpoint;
  Credentials credentials;
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds timeout{5000};  // each round trip
  std::string client_name;                  // CLIENT SETNAME (best effort); empty: none
};

class Connection {
 public:
  Connection() = default;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // connect() then handshake(); on failure the connection is closed.
  Status open(const ConnectOptions& options);
  // The TCP connection alone: a caller that must be able to interrupt the handshake from
  // another thread (socket().shutdown()) publishes socket() between the two steps.
  Status connect(const ConnectOptions& options);
  // AUTH when a password is set (a refusal is kInvalidArgument naming the server), then
  // CLIENT SETNAME when a name is set.
  Status handshake();
  void close();
  // Connected, and no call has failed since.
  bool is_open() const { return sock_.is_open() && !broken_; }

  // Sends one command and waits up to the timeout for its reply. An error reply is a reply
  // (Status ok, reply->is_error()); a lost connection, a deadline or a malformed reply is
  // the Status, and the connection is broken: shut down, not open any more, but its file
  // descriptor kept until close() (another thread may be about to shut it down too). The
  // reply points into reader() and is valid until the next read.
  Status call(std::initializer_list<std::string_view> argv, resp::Reply* reply);
  Status call_argv(const std::vector<std::string>& argv, resp::Reply* reply);
  // The pieces of call(), for requests pipelined by the caller.
  Status send(std::string_view wire);
  Status read_reply(resp::Reply* reply, std::chrono::milliseconds timeout);

  Socket& socket() { return sock_; }
  resp::ReplyReader& reader() { return reader_; }
  const Endpoint& endpoint() const { return options_.endpoint; }
  std::chrono::milliseconds timeout() const { return options_.timeout; }

 private:
  Status round_trip(std::string_view request, resp::Reply* reply);
  Status fail(Status st);  // breaks the connection, returns st

  ConnectOptions options_;
  Socket sock_;
  resp::ReplyReader reader_;
  bool broken_ = false;
};

}  // namespace ferry
