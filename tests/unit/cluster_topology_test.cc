// Reading a cluster's shards from CLUSTER NODES and CLUSTER SHARDS replies, and the choice of
// the node to replicate. Against a real cluster: tests/integration/cluster_test.cc.
#include "net/cluster_topology.h"

#include <gtest/gtest.h>

#include "pipeline/source_map.h"

namespace ferry {
namespace {

const Endpoint kAsked{"127.0.0.1", 30001};

// Redis 7.0's CLUSTER NODES as documented, with a replica that failed, a node still in
// handshake, an importing slot and a master without slots added.
const char* kNodes =
    "07c37dfeb235213a872192d90877d0cd55635b91 127.0.0.1:30004@31004,hostname4 slave "
    "e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 0 1426238317239 4 connected\n"
    "67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1 127.0.0.1:30002@31002,hostname2 master - 0 "
    "1426238316232 2 connected 5461-10922\n"
    "292f8b365bb7edb5e285caf0b7e6ddc7265d2f4f 127.0.0.1:30003@31003 master - 0 1426238318243 3 "
    "connected 10923-16382 16383 [16383-<-67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1]\n"
    "6ec23923021cf3ffec47632106199cb7f496ce01 127.0.0.1:30005@31005 slave,fail "
    "67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1 0 1426238316232 5 disconnected\n"
    "824fe116063bc5fcf9f4ffd895bc17aee7731ac3 127.0.0.1:30006@31006 slave "
    "67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1 0 1426238317741 6 connected\n"
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 127.0.0.1:30009@31009 handshake - 0 0 0 "
    "connected\n"
    "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb 127.0.0.1:30007@31007 master - 0 0 7 connected\n"
    "e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca :30001@31001 myself,master - 0 0 1 connected "
    "0-5460\n";

TEST(ClusterTopology, ReadsClusterNodes) {
  ClusterTopology t;
  ASSERT_TRUE(parse_cluster_nodes(kNodes, kAsked, &t).is_ok());
  ASSERT_EQ(t.shards.size(), 4u);
  // Ordered by first slot; the node that answered got the address it was asked at.
  EXPECT_EQ(t.shards[0].master.endpoint.to_string(), "127.0.0.1:30001");
  EXPECT_EQ(t.shards[0].slots, (std::vector<SlotRange>{{0, 5460}}));
  ASSERT_EQ(t.shards[0].replicas.size(), 1u);
  EXPECT_EQ(t.shards[0].replicas[0].endpoint.port, 30004);
  EXPECT_EQ(t.shards[1].master.endpoint.port, 30002);
  ASSERT_EQ(t.shards[1].replicas.size(), 2u);  // sorted by address
  EXPECT_EQ(t.shards[1].replicas[0].endpoint.port, 30005);
  EXPECT_FALSE(t.shards[1].replicas[0].healthy);
  EXPECT_TRUE(t.shards[1].replicas[1].healthy);
  // Adjacent ranges merge; a slot being imported is not served yet.
  EXPECT_EQ(t.shards[2].slots, (std::vector<SlotRange>{{10923, 16383}}));
  EXPECT_TRUE(t.shards[3].slots.empty());  // the empty master, last
  EXPECT_TRUE(t.uncovered().empty());
  EXPECT_EQ(t.shard_of(0), 0);
  EXPECT_EQ(t.shard_of(5461), 1);
  EXPECT_EQ(t.shard_of(16383), 2);
  EXPECT_EQ(t.shard_with(Endpoint{"127.0.0.1", 30006}), 1);
  EXPECT_EQ(t.shard_with(Endpoint{"127.0.0.1", 30009}), -1);  // in handshake: not a member
}

TEST(ClusterTopology, MalformedClusterNodesIsAnError) {
  ClusterTopology t;
  EXPECT_FALSE(parse_cluster_nodes("abc 127.0.0.1:1@2 master\n", kAsked, &t).is_ok());
  EXPECT_FALSE(
      parse_cluster_nodes("a 127.0.0.1:30001@31001 master - 0 0 1 connected 0-99999\n", kAsked, &t)
          .is_ok());
  EXPECT_FALSE(
      parse_cluster_nodes("a 127.0.0.1@31001 master - 0 0 1 connected 0-10\n", kAsked, &t).is_ok());
  Status st =
      parse_cluster_nodes("a 127.0.0.1:30001@31001 master - 0 0 1 connected 9-3\n", kAsked, &t);
  EXPECT_NE(st.message().find("malformed slot"), std::string::npos) << st.message();
}

TEST(ClusterTopology, UncoveredSlotsAreReported) {
  ClusterTopology t;
  ASSERT_TRUE(parse_cluster_nodes("a 127.0.0.1:30001@31001 myself,master - 0 0 1 connected "
                                  "0-100 200-16000\n",
                                  kAsked, &t)
                  .is_ok());
  EXPECT_EQ(t.uncovered(), (std::vector<SlotRange>{{101, 199}, {16001, 16383}}));
  EXPECT_EQ(slots_text(t.uncovered()), "101-199,16001-16383");
}

Reply str(const std::string& s) {
  Reply r;
  r.type = Reply::Type::kString;
  r.str = s;
  return r;
}
Reply num(int64_t v) {
  Reply r;
  r.type = Reply::Type::kInteger;
  r.integer = v;
  return r;
}
Reply arr(std::vector<Reply> e) {
  Reply r;
  r.type = Reply::Type::kArray;
  r.elements = std::move(e);
  return r;
}
Reply node(const std::string& id, int port, const std::string& role, const std::string& health) {
  return arr({str("id"), str(id), str("port"), num(port), str("ip"), str("127.0.0.1"),
              str("endpoint"), str("127.0.0.1"), str("role"), str(role), str("replication-offset"),
              num(42), str("health"), str(health)});
}

TEST(ClusterTopology, ReadsClusterShards) {
  Reply r = arr({
      arr({str("slots"), arr({num(5461), num(10922)}), str("nodes"),
           arr({node("b", 30002, "master", "online"), node("e", 30006, "replica", "online"),
                node("d", 30005, "replica", "loading")})}),
      arr({str("slots"), arr({num(0), num(100), num(101), num(5460)}), str("nodes"),
           arr({node("a", 30001, "master", "online")})}),
      arr({str("slots"), arr({num(10923), num(16383)}), str("nodes"),
           arr({node("c", 30003, "master", "online")})}),
  });
  ClusterTopology t;
  Status st = parse_cluster_shards(r, kAsked, &t);
  ASSERT_TRUE(st.is_ok()) << st.message();
  ASSERT_EQ(t.shards.size(), 3u);
  EXPECT_EQ(t.shards[0].master.id, "a");
  EXPECT_EQ(t.shards[0].slots, (std::vector<SlotRange>{{0, 5460}}));
  EXPECT_EQ(t.shards[1].master.repl_offset, 42u);
  ASSERT_EQ(t.shards[1].replicas.size(), 2u);
  EXPECT_FALSE(t.shards[1].replicas[0].healthy);  // loading
  EXPECT_TRUE(t.uncovered().empty());

  Reply bad = arr({arr({str("slots"), arr({num(3), num(1)}), str("nodes"), arr({})})});
  EXPECT_FALSE(parse_cluster_shards(bad, kAsked, &t).is_ok());
  EXPECT_FALSE(parse_cluster_shards(str("x"), kAsked, &t).is_ok());
}

TEST(ClusterTopology, ChoosesTheNodeToReplicateDeterministically) {
  ClusterTopology t;
  ASSERT_TRUE(parse_cluster_nodes(kNodes, kAsked, &t).is_ok());
  ClusterNode n;
  ASSERT_TRUE(choose_sync_node(t.shards[1], SyncFrom::kMaster, &n).is_ok());
  EXPECT_EQ(n.endpoint.port, 30002);
  // The first healthy replica by address (30005 failed).
  ASSERT_TRUE(choose_sync_node(t.shards[1], SyncFrom::kPreferSlave, &n).is_ok());
  EXPECT_EQ(n.endpoint.port, 30006);
  ASSERT_TRUE(choose_sync_node(t.shards[1], SyncFrom::kSlave, &n).is_ok());
  EXPECT_EQ(n.endpoint.port, 30006);
  // No replica: prefer_slave takes the master, slave is an error naming the shard.
  ASSERT_TRUE(choose_sync_node(t.shards[2], SyncFrom::kPreferSlave, &n).is_ok());
  EXPECT_EQ(n.endpoint.port, 30003);
  Status st = choose_sync_node(t.shards[2], SyncFrom::kSlave, &n);
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(st.message().find("127.0.0.1:30003"), std::string::npos) << st.message();
}

TEST(SourceMap, OneInputPerShardWithSlotsAndMembers) {
  ClusterTopology t;
  ASSERT_TRUE(parse_cluster_nodes(kNodes, kAsked, &t).is_ok());
  Config c;
  c.input.redis.type = RedisType::kCluster;
  c.input.redis.addresses = {"127.0.0.1:30006"};
  c.input.sync_from = SyncFrom::kPreferSlave;
  std::vector<SourceInput> in;
  ASSERT_TRUE(sources_of(c, t, &in).is_ok());
  // The master without slots (30007) holds no data: no input. Sorted by address.
  ASSERT_EQ(in.size(), 3u);
  EXPECT_EQ(in[0].name(), "127.0.0.1:30003");  // no replica: its master
  EXPECT_EQ(in[0].slots, "10923-16383");
  EXPECT_EQ(in[1].name(), "127.0.0.1:30004");
  EXPECT_EQ(in[1].slots, "0-5460");
  EXPECT_EQ(in[2].name(), "127.0.0.1:30006");
  EXPECT_EQ(in[2].slots, "5461-10922");
  // Any node of a shard stands for its input.
  ASSERT_NE(source_for(in, "127.0.0.1:30002"), nullptr);
  EXPECT_EQ(source_for(in, "127.0.0.1:30002")->name(), "127.0.0.1:30006");
  EXPECT_EQ(source_for(in, "127.0.0.1:30005")->name(), "127.0.0.1:30006");
  EXPECT_EQ(source_for(in, "127.0.0.1:30001")->name(), "127.0.0.1:30004");
  EXPECT_EQ(source_for(in, "127.0.0.1:30007"), nullptr);

  // static: only the shards of the configured addresses (30006 is a replica of 30002's).
  c.input.mode = InputMode::kStatic;
  ASSERT_TRUE(sources_of(c, t, &in).is_ok());
  ASSERT_EQ(in.size(), 1u);
  EXPECT_EQ(in[0].name(), "127.0.0.1:30006");
  c.input.redis.addresses = {"127.0.0.1:30007"};
  EXPECT_EQ(sources_of(c, t, &in).code(), Status::Code::kInvalidArgument);

  // slave: a shard without a healthy replica is an error naming it.
  c.input.mode = InputMode::kDynamic;
  c.input.sync_from = SyncFrom::kSlave;
  Status st = sources_of(c, t, &in);
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(st.message().find("127.0.0.1:30003"), std::string::npos) << st.message();
}

TEST(SourceMap, ChangesMatchInputsByShard) {
  auto in = [](std::string node, std::vector<std::string> members) {
    SourceInput s;
    EXPECT_TRUE(Endpoint::parse(node, &s.node).is_ok());
    s.members = std::move(members);
    s.slots = "0-1";
    return s;
  };
  const std::vector<SourceInput> before = {in("h:2", {"h:1", "h:2"}), in("h:4", {"h:3", "h:4"}),
                                           in("h:6", {"h:5", "h:6"})};
  // h:2's shard failed over (its input moves to h:1), h:6's shard is gone, h:8's is new.
  const std::vector<SourceInput> now = {in("h:1", {"h:2", "h:1"}), in("h:4", {"h:3", "h:4"}),
                                        in("h:8", {"h:7", "h:8"})};
  SourceChanges c = diff_sources(before, now);
  EXPECT_EQ(c.gone, (std::vector<std::string>{"h:2", "h:6"}));
  using Start = std::pair<std::string, std::string>;
  EXPECT_EQ(c.starts, (std::vector<Start>{{"h:1", "h:2"}, {"h:8", ""}}));
  ASSERT_EQ(c.moved.size(), 1u);
  EXPECT_EQ(c.moved[0].from, "h:2");
  EXPECT_EQ(c.moved[0].to, "h:1");
  EXPECT_TRUE(diff_sources(now, now).empty());
}

}  // namespace
}  // namespace ferry
