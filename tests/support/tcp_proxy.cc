#include "tests/support/tcp_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "tests/support/process.h"

namespace ferry::test {

TcpProxy::~TcpProxy() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  for (Pair& p : pairs_) {
    ::close(p.client);
    ::close(p.server);
  }
  if (listen_fd_ >= 0) ::close(listen_fd_);
}

bool TcpProxy::start(const Endpoint& to) {
  to_ = to;
  port_ = free_port();
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr;
  std::memset(&addr, 0, sizeof(addr));
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port_));
  if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      listen(listen_fd_, 64) != 0) {
    return false;
  }
  thread_ = std::thread([this] { run(); });
  return true;
}

void TcpProxy::blackhole() {
  std::lock_guard<std::mutex> lock(mu_);
  blackholed_ = true;
  for (Pair& p : pairs_)
    p.frozen = true;
}

void TcpProxy::restore() {
  std::lock_guard<std::mutex> lock(mu_);
  blackholed_ = false;
}

void TcpProxy::accept_one() {
  int c = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
  if (c < 0) return;
  int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr;
  std::memset(&addr, 0, sizeof(addr));
  addr.sin_family = AF_INET;
  inet_pton(AF_INET, to_.host.c_str(), &addr.sin_addr);
  addr.sin_port = htons(static_cast<uint16_t>(to_.port));
  if (::connect(s, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(c);
    ::close(s);
    return;
  }
  std::lock_guard<std::mutex> lock(mu_);
  pairs_.push_back(Pair{c, s, blackholed_});
}

bool TcpProxy::forward(int from, int to) {
  char buf[65536];
  ssize_t n = ::read(from, buf, sizeof(buf));
  if (n <= 0) return false;
  for (ssize_t done = 0; done < n;) {
    ssize_t w = ::write(to, buf + done, static_cast<size_t>(n - done));
    if (w <= 0) return false;
    done += w;
  }
  return true;
}

void TcpProxy::run() {
  while (!stop_) {
    std::vector<pollfd> fds = {{listen_fd_, POLLIN, 0}};
    std::vector<std::pair<size_t, bool>> owner;  // pair index, is the client side
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (size_t i = 0; i < pairs_.size(); i++) {
        if (pairs_[i].frozen || pairs_[i].client < 0) continue;
        fds.push_back({pairs_[i].client, POLLIN, 0});
        owner.emplace_back(i, true);
        fds.push_back({pairs_[i].server, POLLIN, 0});
        owner.emplace_back(i, false);
      }
    }
    if (::poll(fds.data(), fds.size(), 100) <= 0) continue;
    if (fds[0].revents & POLLIN) accept_one();
    std::lock_guard<std::mutex> lock(mu_);
    for (size_t f = 1; f < fds.size(); f++) {
      if (!(fds[f].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      Pair& p = pairs_[owner[f - 1].first];
      if (p.frozen || p.client < 0) continue;
      bool ok = owner[f - 1].second ? forward(p.client, p.server) : forward(p.server, p.client);
      if (!ok) {
        ::close(p.client);
        ::close(p.server);
        p.client = p.server = -1;
      }
    }
  }
}

}  // namespace ferry::test
