// Load and observation for tests of the commit path: a pipelined writer (many commands per
// network write, so a source produces a stream as fast as Redis takes it), and waits on
// ferry's own status — what it received, what it applied — instead of on the clock.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "net/endpoint.h"
#include "tests/support/ferry_process.h"
#include "tests/support/redis_server.h"
#include "tests/support/workload.h"

namespace ferry::test {

using json = nlohmann::json;

// Polls `done` every 20 ms until it holds or the timeout passes.
bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds timeout);

// Waits until the workload has run `more` operations beyond what it had run at the call.
bool wait_ops(const Workload& writer, uint64_t more,
              std::chrono::milliseconds timeout = std::chrono::seconds(60));

// Sends `commands` on one connection in pipelined groups of `group`, reading every reply.
// Returns how many replies were errors (-1 when the connection failed); the first error
// text goes to *first_error.
int64_t pipeline(const Endpoint& server, const std::vector<std::vector<std::string>>& commands,
                 size_t group = 1000, std::string* first_error = nullptr);

// GET /syncer/status of the ferry process, the object of `input` (the first one when empty);
// null when there is no answer.
json input_status(const FerryProcess& ferry, const std::string& input = "");
// The source's replication offset (INFO replication master_repl_offset).
uint64_t source_offset(RedisServer& source);
// Waits until ferry has received (SourceOffset) or applied (AppliedOffset, stream phase)
// everything the source wrote so far.
bool wait_received(const FerryProcess& ferry, RedisServer& source,
                   std::chrono::milliseconds timeout);
bool wait_applied(const FerryProcess& ferry, RedisServer& source,
                  std::chrono::milliseconds timeout);

// Lines of a JSON-lines file, parsed (a line that does not parse is a test failure).
std::vector<json> read_json_lines(const std::string& path);

}  // namespace ferry::test
