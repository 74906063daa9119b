// The oracle: Redis itself. Helpers that compare a source and a target (DEBUG DIGEST, then
// PEXPIRETIME of every key, stream metadata and functions, which the digest does not see),
// and that dump a live server in the corpus JSON shape.
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "tests/support/corpus.h"
#include "tests/support/redis_cluster.h"
#include "tests/support/redis_server.h"

namespace ferry::test {

// DEBUG DIGEST-VALUE of every key but ferry's own (its checkpoints), by "db/key".
std::map<std::string, std::string> key_digests(RedisServer& server);
// One digest of all data but ferry's own keys (per key DEBUG DIGEST-VALUE, combined): the
// whole-dataset comparison once the target also holds ferry's checkpoints.
std::string data_digest(RedisServer& server);

// Waits until both servers hold the same data (data_digest). On timeout returns false with
// both digests in *detail.
bool wait_same_digest(RedisServer& a, RedisServer& b, std::chrono::seconds timeout,
                      std::string* detail);

// Waits until `server`'s keys have these DIGEST-VALUEs ("db/key" -> digest), no more, no less.
bool wait_key_digests(RedisServer& server, const std::map<std::string, std::string>& want,
                      std::chrono::seconds timeout, std::string* detail);

// A source cluster against a target that holds all of its data: waits until the target's
// keys are exactly those of the cluster's masters (each asked for the keys it holds), with
// the same DEBUG DIGEST-VALUE, and then compares every PEXPIRETIME once (the digest does not
// see TTLs: call it when every input has applied what its node holds). On failure returns
// false with the first difference in *detail.
bool wait_cluster_data(RedisCluster& source, RedisServer& target, std::chrono::seconds timeout,
                       std::string* detail);
// The same for any two keyspaces, each spread over servers that are asked for the keys they
// hold: the source's (read once: call it when writes have stopped) and the target's (read
// again until equal: `target` gives the servers, e.g. a cluster's masters now).
// `ttl_slack_ms`: how far apart two PEXPIRETIMEs may be — MIGRATE (a target resharded)
// sends a key's TTL as time left, so the importing master's expiry moves on by the transfer.
bool wait_same_keys(const std::vector<RedisServer*>& source,
                    const std::function<std::vector<RedisServer*>()>& target,
                    std::chrono::seconds timeout, std::string* detail, int64_t ttl_slack_ms = 0);

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
