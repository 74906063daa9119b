// A small blocking Redis client (hiredis underneath) for control-path requests: INFO, AUTH,
// CONFIG GET and the like. One request at a time; every call is bounded by the timeout.
// Not for the data path (see TargetWriter).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "net/endpoint.h"

namespace ferry {

struct Reply {
  enum class Type { kNil, kStatus, kError, kInteger, kString, kArray };
  Type type = Type::kNil;
  std::string str;  // kStatus, kError, kString
  int64_t integer = 0;
  std::vector<Reply> elements;

  bool is_error() const { return type == Type::kError; }
};

class RedisClient {
 public:
  RedisClient();
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  // Connects and authenticates (when a password is given).
  Status connect(const Endpoint& ep, const Credentials& creds, std::chrono::milliseconds timeout);
  bool connected() const;
  void close();

  // Sends one command and waits for its reply; an error reply is returned as a Reply of
  // kError (a transport failure is the Status).
  Status command(const std::vector<std::string>& argv, Reply* reply);
  // Like command(), but an error reply also becomes an error Status naming the command.
  Status checked(const std::vector<std::string>& argv, Reply* reply = nullptr);

  // INFO <section> parsed into field -> value.
  Status info(const std::string& section, std::map<std::string, std::string>* fields);

  const Endpoint& endpoint() const { return ep_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  Endpoint ep_;
};

// The version reported by INFO server (redis_version), split into numbers.
struct RedisVersion {
  int major = 0, minor = 0, patch = 0;
  std::string text;
  bool at_least(int ma, int mi) const { return major > ma || (major == ma && minor >= mi); }
  static bool parse(const std::string& text, RedisVersion* out);
};

}  // namespace ferry
