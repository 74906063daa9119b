// The command line of a redis-server for tests and benchmarks: loopback only, no
// persistence, diskless sync without delay, a 64mb backlog, DEBUG allowed, logging to
// <dir>/redis.log. Shared by the test fixture and the benchmark harness (which has no GoogleTest).
#pragma once

#include <string>
#include <vector>

namespace ferry::test {

std::vector<std::string> redis_server_argv(int port, const std::string& dir);

}  // namespace ferry::test
