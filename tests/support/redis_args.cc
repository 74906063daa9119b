#include "tests/support/redis_args.h"

namespace ferry::test {

std::vector<std::string> redis_server_argv(int port, const std::string& dir) {
  return {"redis-server",
          "--port",
          std::to_string(port),
          "--bind",
          "127.0.0.1",
          "--dir",
          dir,
          "--save",
          "",
          "--appendonly",
          "no",
          "--repl-diskless-sync-delay",
          "0",
          "--repl-backlog-size",
          "64mb",
          "--enable-debug-command",
          "local",
          "--logfile",
          dir + "/redis.log"};
}

}  // namespace ferry::test
