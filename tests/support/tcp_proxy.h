// A TCP proxy for tests on loopback, to make a host vanish without a reset: once blackholed,
// its connections carry nothing more, ever, yet stay open (the kernel still acknowledges
// what is sent), as when a target's host goes away without a word. restore() lets new
// connections through again (the host is back; the old connections are not).
#pragma once

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "net/endpoint.h"

namespace ferry::test {

class TcpProxy {
 public:
  TcpProxy() = default;
  ~TcpProxy();
  TcpProxy(const TcpProxy&) = delete;
  TcpProxy& operator=(const TcpProxy&) = delete;

  // Listens on a free loopback port and forwards every connection to `to`.
  bool start(const Endpoint& to);
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  void blackhole();
  void restore();

 private:
  struct Pair {
    int client = -1, server = -1;
    bool frozen = false;
  };
  void run();
  void accept_one();
  bool forward(int from, int to);

  Endpoint to_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  bool blackholed_ = false;
  std::vector<Pair> pairs_;
  std::thread thread_;
};

}  // namespace ferry::test
