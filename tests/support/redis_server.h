// A real redis-server on a free loopback port, started with the test settings of
// docs (no persistence, diskless sync without delay, a 64mb backlog, DEBUG allowed), in its
// own temporary directory. Stopped (and its directory removed) on destruction.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "net/endpoint.h"
#include "net/redis_client.h"
#include "tests/support/process.h"

namespace ferry::test {

class RedisServer {
 public:
  struct Options {
    std::vector<std::string> args;  // extra redis-server arguments
    std::string rdb;                // bytes to load at start (written as dump.rdb)
    std::string aof;                // bytes of an old-style AOF to load at start
    int port = 0;                   // 0: a free one
  };

  RedisServer() = default;
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  // Starts and waits until it answers PING (and has finished loading).
  bool start(const Options& options);
  bool start() { return start(Options()); }
  // Starts again on the same port and directory (e.g. after stop()).
  bool restart();
  void stop();
  void freeze();    // SIGSTOP
  void unfreeze();  // SIGCONT

  int port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  Endpoint endpoint() const { return Endpoint{"127.0.0.1", port_}; }
  const std::string& dir() const { return dir_; }
  std::string log() const;

  // A command on this test's own connection; an error reply or a lost connection fails
  // the calling test (ADD_FAILURE) and returns the reply anyway.
  Reply cmd(const std::vector<std::string>& argv);
  // Like cmd() but returns errors as replies without failing the test.
  Reply try_cmd(const std::vector<std::string>& argv);
  std::string digest();
  std::map<std::string, std::string> info(const std::string& section);
  int64_t info_int(const std::string& section, const std::string& field);
  // A new, independent connection (for writer threads).
  std::unique_ptr<RedisClient> connect() const;

 private:
  bool launch();
  bool wait_ready();

  Process proc_;
  Options options_;
  std::string dir_;
  int port_ = 0;
  std::unique_ptr<RedisClient> client_;
};

}  // namespace ferry::test
