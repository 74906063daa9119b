// The oracle: Redis itself. Helpers that compare a source and a target (DEBUG DIGEST, then
// PEXPIRETIME of every key, stream metadata and functions, which the digest does not see),
// and that dump a live server in the corpus JSON shape.
#pragma once

#include <chrono>
#include <string>

#include "tests/support/corpus.h"
#include "tests/support/redis_server.h"

namespace ferry::test {

// Waits until both servers report the same DEBUG DIGEST. On timeout returns false with
// both digests in *detail.
bool wait_same_digest(RedisServer& a, RedisServer& b, std::chrono::seconds timeout,
                      std::string* detail);

// Waits until `server`'s digest equals `digest`.
bool wait_digest(RedisServer& server, const std::string& digest, std::chrono::seconds timeout,
                 std::string* detail);

// Every key of every DB of the server, as the corpus JSON's "dbs" (values, TTLs, streams
// with groups/PEL/consumers, hash field TTLs where the server has them).
json dump_dbs(RedisServer& server);
// The code of every function library, sorted.
std::vector<std::string> dump_function_codes(RedisServer& server);

// Compares two servers key by key (a full dump; for small datasets). Empty when equal,
// else a description of the differences.
std::string compare_servers(RedisServer& a, RedisServer& b);

// What DEBUG DIGEST does not see, for datasets of any size: the PEXPIRETIME of every key
// that has one, every stream's metadata, groups, PEL and consumers, and the functions.
// Empty when equal. Like the digest it ignores access metadata — consumers' seen/active
// times — and a group's entries_read, which Redis's own replication does not carry either
// (a native 7.0 replica of a group read with XREADGROUP reports entries-read nil).
std::string compare_beyond_digest(RedisServer& a, RedisServer& b);

}  // namespace ferry::test
