// A small blocking Redis client for control-path requests: INFO, CONFIG GET, the checkpoint
// and the like. One request at a time over a Connection (which opens it and reads its
// replies); every call is bounded by the timeout. Replies are copied out, so they outlive
// the next call. Not for the data path (see TargetWriter).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "net/connection.h"
#include "proto/command_table.h"

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
  RedisClient() = default;
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

  const Endpoint& endpoint() const { return conn_.endpoint(); }

 private:
  Connection conn_;
};

// The server's commands, their arity and key positions (COMMAND), so that what it would
// refuse is left out rather than sent to abort a transaction, and keys are found where it
// looks for them. Empty when COMMAND is not allowed.
std::shared_ptr<CommandTable> read_command_table(RedisClient& client);

// The version reported by INFO server (redis_version), split into numbers.
struct RedisVersion {
  int major = 0, minor = 0, patch = 0;
  std::string text;
  bool at_least(int ma, int mi) const { return major > ma || (major == ma && minor >= mi); }
  static bool parse(const std::string& text, RedisVersion* out);
};

}  // namespace ferry
