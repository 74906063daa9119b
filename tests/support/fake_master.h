// A minimal Redis master for tests: it answers a replica's handshake and, on PSYNC, sends
// exactly the RDB bytes it was given (disk "$<len>" or diskless "$EOF:<mark>" framing),
// then the given command-stream bytes, then keeps the link open. It lets a test put any
// RDB — old encodings, newer versions, corrupt or truncated files — through ferry's real
// sync path.
#pragma once

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace ferry::test {

class FakeMaster {
 public:
  struct Options {
    std::string rdb;
    bool diskless = false;
    std::string stream;  // RESP bytes sent after the RDB
    std::string replid = "0123456789abcdef0123456789abcdef01234567";
    uint64_t offset = 0;
  };

  FakeMaster() = default;
  ~FakeMaster();

  bool start(const Options& options);
  void stop();
  int port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  int psyncs() const { return psyncs_.load(); }

 private:
  void serve();
  void session(int fd);

  Options options_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> psyncs_{0};
  std::thread thread_;
  std::vector<std::thread> sessions_;
};

}  // namespace ferry::test
