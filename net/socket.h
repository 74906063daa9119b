// A connected TCP socket with deadline-bounded blocking reads and writes (poll-based), for
// the threads that own a network connection. Closing from another thread is done with
// shutdown(), which wakes a blocked reader.
#pragma once

#include <chrono>
#include <cstddef>
#include <string_view>

#include "common/status.h"
#include "net/endpoint.h"

namespace ferry {

class Socket {
 public:
  Socket() = default;
  ~Socket() { close(); }
  Socket(Socket&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  Socket& operator=(Socket&& o) noexcept;
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;

  // Connects (TCP_NODELAY, keep-alive, non-blocking underneath) within the timeout.
  static Status connect(const Endpoint& ep, std::chrono::milliseconds timeout, Socket* out);

  bool is_open() const { return fd_ >= 0; }
  int fd() const { return fd_; }

  // Writes all of data, waiting at most timeout for the peer to accept each part.
  Status write_all(std::string_view data, std::chrono::milliseconds timeout);
  // Waits up to timeout for data; *got = 0 when nothing arrived in time. The peer closing the
  // connection is an error.
  Status read_some(char* buf, size_t len, std::chrono::milliseconds timeout, size_t* got);
  // Non-blocking variants for event loops: *got/*sent may be 0 when the call would block.
  Status try_read(char* buf, size_t len, size_t* got);
  Status try_write(const char* data, size_t len, size_t* sent);

  void shutdown();
  void close();

 private:
  int fd_ = -1;
};

}  // namespace ferry
