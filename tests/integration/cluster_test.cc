// Redis Cluster, against real clusters made with `redis-cli --cluster create` on loopback:
// reading the topology (CLUSTER SHARDS and CLUSTER NODES agree, from every node), the key
// slot as Redis computes it, the node chosen to replicate.
#include <gtest/gtest.h>

#include <algorithm>

#include "common/bytes.h"
#include "net/cluster_topology.h"
#include "proto/command_keys.h"
#include "proto/crc16.h"
#include "tests/support/redis_cluster.h"

namespace ferry::test {
namespace {

class Cluster : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    cluster_ = new RedisCluster();
    RedisCluster::Options o;
    o.masters = 3;
    o.replicas = 1;
    ASSERT_TRUE(cluster_->start(o)) << cluster_->last_output();
  }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }
  static RedisCluster* cluster_;
};
RedisCluster* Cluster::cluster_ = nullptr;

bool same_replicas(const ClusterTopology& a, const ClusterTopology& b) {
  for (size_t i = 0; i < a.shards.size(); i++) {
    if (a.shards[i].replicas.size() != b.shards[i].replicas.size()) return false;
    for (size_t j = 0; j < a.shards[i].replicas.size(); j++) {
      if (!(a.shards[i].replicas[j].endpoint == b.shards[i].replicas[j].endpoint)) return false;
    }
  }
  return true;
}

TEST_F(Cluster, EveryNodeReadsTheSameTopologyEitherWay) {
  ClusterTopology first;
  for (size_t i = 0; i < cluster_->size(); i++) {
    auto c = cluster_->node(i).connect();
    ASSERT_TRUE(c);
    ClusterTopology shards, nodes;
    Status st = read_topology(*c, &shards);  // CLUSTER SHARDS on 7.0
    ASSERT_TRUE(st.is_ok()) << st.message();
    Reply r;
    ASSERT_TRUE(c->checked({"CLUSTER", "NODES"}, &r).is_ok());
    ASSERT_TRUE(parse_cluster_nodes(r.str, c->endpoint(), &nodes).is_ok());
    ASSERT_EQ(shards.shards.size(), 3u);
    EXPECT_TRUE(shards.same_layout(nodes)) << "node " << cluster_->node(i).address();
    EXPECT_TRUE(same_replicas(shards, nodes)) << "node " << cluster_->node(i).address();
    EXPECT_TRUE(shards.uncovered().empty());
    if (i == 0) first = shards;
    EXPECT_TRUE(first.same_layout(shards));
    EXPECT_TRUE(same_replicas(first, shards));
  }
  for (const ClusterShard& s : first.shards) {
    ASSERT_EQ(s.replicas.size(), 1u) << s.name();
    ClusterNode n;
    ASSERT_TRUE(choose_sync_node(s, SyncFrom::kPreferSlave, &n).is_ok());
    EXPECT_EQ(n.endpoint, s.replicas[0].endpoint);
    // The replica Redis says follows this master.
    RedisServer* replica = nullptr;
    for (size_t i = 0; i < cluster_->size(); i++) {
      if (cluster_->node(i).endpoint() == n.endpoint) replica = &cluster_->node(i);
    }
    ASSERT_NE(replica, nullptr);
    EXPECT_EQ(replica->info("replication")["master_port"], std::to_string(s.master.endpoint.port));
  }
}

TEST_F(Cluster, DiscoveryFromAnySeedAndRefusalOfAStandaloneNode) {
  ClusterTopology t;
  std::vector<Endpoint> seeds = {Endpoint{"127.0.0.1", free_port()}, cluster_->node(4).endpoint()};
  Status st = discover_topology(seeds, Credentials(), std::chrono::seconds(2), &t);
  ASSERT_TRUE(st.is_ok()) << st.message();
  EXPECT_EQ(t.shards.size(), 3u);

  RedisServer standalone;
  ASSERT_TRUE(standalone.start());
  st = discover_topology({standalone.endpoint()}, Credentials(), std::chrono::seconds(2), &t);
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(st.message().find("not a Redis Cluster node"), std::string::npos) << st.message();
}

TEST_F(Cluster, KeySlotIsRedisOwn) {
  std::vector<std::string> keys = {
      "",    "a",      "{",     "}",      "{}",    "{}a", "a{}",
      "{a}", "{a}{b}", "x{a}y", "x{}{a}", "{{a}}", "a{b", std::string("\0\xff{\x01}", 5)};
  for (int i = 0; i < 500; i++) {
    keys.push_back("key:" + std::to_string(i));
    keys.push_back("{user" + std::to_string(i % 7) + "}:" + std::to_string(i));
  }
  for (const std::string& k : keys) {
    Reply r = cluster_->node(0).cmd({"CLUSTER", "KEYSLOT", k});
    ASSERT_EQ(r.type, Reply::Type::kInteger);
    EXPECT_EQ(key_slot(k), r.integer) << printable(k);
  }
  // The node that owns a key's slot takes it; the others answer MOVED.
  RedisServer* owner = cluster_->master_of_key("key:1");
  ASSERT_NE(owner, nullptr);
  EXPECT_EQ(owner->cmd({"SET", "key:1", "v"}).str, "OK");
  int moved = 0;
  for (size_t i = 0; i < cluster_->size(); i++) {
    Reply r = cluster_->node(i).try_cmd({"SET", "key:1", "v"});
    if (r.is_error() && r.str.rfind("MOVED", 0) == 0) moved++;
  }
  EXPECT_EQ(moved, 5);
}

// The keys ferry finds in a command are the ones Redis finds (COMMAND GETKEYS), for the
// commands a replication stream carries and the "movablekeys" ones among them.
TEST_F(Cluster, KeysOfACommandAreTheOnesRedisFinds) {
  auto c = cluster_->node(0).connect();
  ASSERT_TRUE(c);
  std::shared_ptr<CommandTable> table = read_command_table(*c);
  ASSERT_GT(table->size(), 100u);
  const std::vector<std::vector<std::string>> commands = {
      {"SET", "a", "1"},
      {"DEL", "a", "b", "c"},
      {"MSET", "a", "1", "b", "2"},
      {"HSET", "h", "f", "v"},
      {"RENAME", "a", "b"},
      {"SMOVE", "s1", "s2", "m"},
      {"LMOVE", "l1", "l2", "LEFT", "RIGHT"},
      {"COPY", "a", "b", "REPLACE"},
      {"SINTERSTORE", "d", "s1", "s2", "s3"},
      {"ZUNIONSTORE", "d", "2", "z1", "z2", "WEIGHTS", "1", "2"},
      {"ZDIFFSTORE", "d", "1", "z1"},
      {"EVAL", "return 1", "2", "k1", "k2", "a1"},
      {"EVALSHA", "0123456789012345678901234567890123456789", "1", "k1", "a1"},
      {"FCALL", "f", "1", "k1", "arg"},
      {"LMPOP", "2", "l1", "l2", "LEFT"},
      {"BZMPOP", "0", "2", "z1", "z2", "MIN"},
      {"SORT", "k", "BY", "store", "LIMIT", "0", "1", "GET", "#", "STORE", "d"},
      {"SORT", "k", "STORE", "d1", "STORE", "d2"},
      {"GEORADIUS", "g", "0", "0", "1", "km", "STORE", "d1", "STOREDIST", "d2"},
      {"GEORADIUS", "g", "0", "0", "1", "km", "STORE", "d1", "STORE", "d2"},
      {"GEORADIUSBYMEMBER", "g", "m", "1", "km", "STOREDIST", "d"},
      {"XADD", "x", "*", "f", "v"},
      {"RESTORE", "k", "0", "payload", "REPLACE"},
      {"PFMERGE", "d", "h1", "h2"},
      {"BITOP", "AND", "d", "k1", "k2"},
      {"MSETNX", "a", "1", "b", "2"},
  };
  for (const auto& cmd : commands) {
    std::vector<std::string> getkeys = {"COMMAND", "GETKEYS"};
    getkeys.insert(getkeys.end(), cmd.begin(), cmd.end());
    Reply r = cluster_->node(0).try_cmd(getkeys);
    std::vector<std::string> want;
    for (const Reply& k : r.elements)
      want.push_back(k.str);
    std::vector<std::string> got;
    for_each_key(
        *table, cmd[0], cmd.size(), [&](int i) { return std::string_view(cmd[i]); },
        [&](int i) { got.push_back(cmd[i]); });
    std::sort(want.begin(), want.end());
    std::sort(got.begin(), got.end());
    EXPECT_EQ(got, want) << cmd[0] << " " << cmd[1] << " (" << r.str << ")";
  }
}

}  // namespace
}  // namespace ferry::test
