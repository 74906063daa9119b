// Redis Cluster, against real clusters made with `redis-cli --cluster create` on loopback:
// reading the topology (CLUSTER SHARDS and CLUSTER NODES agree, from every node), the key
// slot as Redis computes it, the node chosen to replicate.
#include <gtest/gtest.h>

#include "common/bytes.h"
#include "net/cluster_topology.h"
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

}  // namespace
}  // namespace ferry::test
