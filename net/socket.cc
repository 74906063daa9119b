#include "net/socket.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace ferry {

Status Endpoint::parse(const std::string& text, Endpoint* out) {
  size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return Status::invalid_argument("address '" + text + "' is not host:port");
  }
  std::string host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  char* end = nullptr;
  long port = std::strtol(text.c_str() + colon + 1, &end, 10);
  if (*end != '\0' || port <= 0 || port > 65535) {
    return Status::invalid_argument("address '" + text + "' has an invalid port");
  }
  out->host = host;
  out->port = static_cast<int>(port);
  return Status::ok();
}

Socket& Socket::operator=(Socket&& o) noexcept {
  if (this != &o) {
    close();
    fd_ = o.fd_;
    o.fd_ = -1;
  }
  return *this;
}

Status Socket::connect(const Endpoint& ep, std::chrono::milliseconds timeout, Socket* out) {
  struct addrinfo hints;
  std::memset(&hints, 0, sizeof(hints));
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  struct addrinfo* res = nullptr;
  std::string port = std::to_string(ep.port);
  int rc = getaddrinfo(ep.host.c_str(), port.c_str(), &hints, &res);
  if (rc != 0) {
    return Status::io_error("cannot resolve " + ep.to_string() + ": " + gai_strerror(rc));
  }
  Status last = Status::io_error("cannot connect to " + ep.to_string());
  for (struct addrinfo* ai = res; ai; ai = ai->ai_next) {
    int fd =
        ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
    if (fd < 0) continue;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
    if (::connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS) {
      last = Status::io_error("cannot connect to " + ep.to_string() + ": " + std::strerror(errno));
      ::close(fd);
      continue;
    }
    struct pollfd pfd = {fd, POLLOUT, 0};
    int n = ::poll(&pfd, 1, static_cast<int>(timeout.count()));
    int err = 0;
    socklen_t len = sizeof(err);
    if (n <= 0) {
      last = Status::io_error("connecting to " + ep.to_string() + " timed out");
      ::close(fd);
      continue;
    }
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      last = Status::io_error("cannot connect to " + ep.to_string() + ": " + std::strerror(err));
      ::close(fd);
      continue;
    }
    freeaddrinfo(res);
    out->close();
    out->fd_ = fd;
    return Status::ok();
  }
  freeaddrinfo(res);
  return last;
}

Status Socket::try_write(const char* data, size_t len, size_t* sent) {
  *sent = 0;
  ssize_t n = ::send(fd_, data, len, MSG_NOSIGNAL);
  if (n >= 0) {
    *sent = static_cast<size_t>(n);
    return Status::ok();
  }
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return Status::ok();
  return Status::io_error(std::string("write failed: ") + std::strerror(errno));
}

Status Socket::try_read(char* buf, size_t len, size_t* got) {
  *got = 0;
  ssize_t n = ::recv(fd_, buf, len, 0);
  if (n > 0) {
    *got = static_cast<size_t>(n);
    return Status::ok();
  }
  if (n == 0) return Status::io_error("connection closed by peer");
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return Status::ok();
  return Status::io_error(std::string("read failed: ") + std::strerror(errno));
}

Status Socket::write_all(std::string_view data, std::chrono::milliseconds timeout) {
  while (!data.empty()) {
    size_t sent;
    FERRY_RETURN_IF_ERROR(try_write(data.data(), data.size(), &sent));
    data.remove_prefix(sent);
    if (data.empty()) break;
    if (sent == 0) {
      struct pollfd pfd = {fd_, POLLOUT, 0};
      int n = ::poll(&pfd, 1, static_cast<int>(timeout.count()));
      if (n == 0) return Status::io_error("write timed out");
      if (n < 0 && errno != EINTR) return Status::io_error("poll failed");
    }
  }
  return Status::ok();
}

Status Socket::read_some(char* buf, size_t len, std::chrono::milliseconds timeout, size_t* got) {
  *got = 0;
  FERRY_RETURN_IF_ERROR(try_read(buf, len, got));
  if (*got > 0) return Status::ok();
  struct pollfd pfd = {fd_, POLLIN, 0};
  int n = ::poll(&pfd, 1, static_cast<int>(timeout.count()));
  if (n == 0) return Status::ok();
  if (n < 0) return errno == EINTR ? Status::ok() : Status::io_error("poll failed");
  return try_read(buf, len, got);
}

void Socket::shutdown() {
  if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);
}

void Socket::close() {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

}  // namespace ferry
