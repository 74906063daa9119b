// The configuration contract: defaults, units, and errors that name the key, file and line.
#include <gtest/gtest.h>

#include "common/units.h"
#include "config/config_loader.h"
#include "config/config_writer.h"

namespace ferry {
namespace {

const char* kMinimal =
    "input:\n"
    "  redis:\n"
    "    addresses: [127.0.0.1:6379]\n"
    "output:\n"
    "  redis:\n"
    "    addresses: [127.0.0.1:6380]\n";

Status load(const std::string& text, Config* c) {
  return load_config_text(text, "test.yaml", c);
}

TEST(Config, MinimalFileGetsEveryDefault) {
  Config c;
  ASSERT_TRUE(load(kMinimal, &c).is_ok());
  EXPECT_EQ(c.input.redis.addresses, std::vector<std::string>{"127.0.0.1:6379"});
  EXPECT_EQ(c.server.listen, "127.0.0.1:18001");
  EXPECT_EQ(c.server.graceful_stop_timeout.count(), 5000);
  EXPECT_EQ(c.output.replay.key_exists, KeyExists::kReplace);
  EXPECT_EQ(c.output.replay.batch_cmd_count, 100);
  EXPECT_EQ(c.output.replay.batch_buffer_size, 64u * 1024);
  EXPECT_EQ(c.output.replay.max_proto_bulk_len, 16u << 20);
  EXPECT_EQ(c.output.replay.max_inflight_bytes, 64u << 20);
  EXPECT_EQ(c.output.replay.target_db, -1);
  EXPECT_TRUE(c.warnings.empty());
}

TEST(Config, ImplementedKeysAndUnits) {
  Config c;
  std::string text = std::string(kMinimal) +
                     "  replay:\n"
                     "    keyExists: ignore\n"
                     "    keyExistsLog: true\n"
                     "    functionExists: flush\n"
                     "    replayRdbEnableRestore: false\n"
                     "    maxProtoBulkLen: 1mb\n"
                     "    targetDbMap: {0: 1, 2: 3}\n"
                     "    batchCmdCount: 500\n"
                     "    batchBufferSize: 1k\n"
                     "    batchTicker: 5ms\n"
                     "    maxInflightBytes: 8MiB\n"
                     "    replayRdbParallel: 2\n"
                     "server:\n"
                     "  gracefullStopTimeout: 2m\n"
                     "log:\n"
                     "  level: debug\n"
                     "  format: json\n"
                     "  handler:\n"
                     "    file:\n"
                     "      fileName: /tmp/x.log\n"
                     "    stdout: false\n";
  Status st = load(text, &c);
  ASSERT_TRUE(st.is_ok()) << st.to_string();
  const ReplayConfig& r = c.output.replay;
  EXPECT_EQ(r.key_exists, KeyExists::kIgnore);
  EXPECT_TRUE(r.key_exists_log);
  EXPECT_EQ(r.function_exists, FunctionExists::kFlush);
  EXPECT_FALSE(r.replay_rdb_enable_restore);
  EXPECT_EQ(r.max_proto_bulk_len, 1u << 20);
  EXPECT_EQ(r.map_db(0), 1);
  EXPECT_EQ(r.map_db(2), 3);
  EXPECT_EQ(r.map_db(5), 5);
  EXPECT_EQ(r.batch_cmd_count, 500);
  EXPECT_EQ(r.batch_buffer_size, 1000u);
  EXPECT_EQ(r.batch_ticker.count(), 5);
  EXPECT_EQ(r.max_inflight_bytes, 8u << 20);
  EXPECT_EQ(c.server.graceful_stop_timeout.count(), 120000);
  EXPECT_EQ(c.log.level, "debug");
  EXPECT_EQ(c.log.format, "json");
  EXPECT_EQ(c.log.file_name, "/tmp/x.log");
  EXPECT_FALSE(c.log.to_stdout);
}

TEST(Config, TargetDbWinsOverTheMap) {
  Config c;
  ASSERT_TRUE(
      load(std::string(kMinimal) + "  replay:\n    targetDb: 4\n    targetDbMap: {0: 1}\n", &c)
          .is_ok());
  EXPECT_EQ(c.output.replay.map_db(0), 4);
  EXPECT_EQ(c.output.replay.map_db(9), 4);
}

TEST(Config, UnknownKeyNamesKeyFileAndLine) {
  Config c;
  Status st = load(std::string(kMinimal) + "  replay:\n    batchCmdCont: 5\n", &c);
  ASSERT_FALSE(st.is_ok());
  EXPECT_NE(st.message().find("test.yaml:8"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("output.replay.batchCmdCont"), std::string::npos) << st.message();
}

TEST(Config, WrongTypesNameTheKeyAndWhatWasExpected) {
  struct Case {
    std::string extra;
    std::string key;
  } cases[] = {
      {"  replay:\n    batchCmdCount: many\n", "output.replay.batchCmdCount"},
      {"  replay:\n    batchCmdCount: 0\n", "output.replay.batchCmdCount"},
      {"  replay:\n    keyExists: overwrite\n", "output.replay.keyExists"},
      {"  replay:\n    batchTicker: 10 parsecs\n", "output.replay.batchTicker"},
      {"  replay:\n    maxProtoBulkLen: 12xb\n", "output.replay.maxProtoBulkLen"},
      {"  replay:\n    keyExistsLog: maybe\n", "output.replay.keyExistsLog"},
      {"  replay:\n    targetDbMap: [1, 2]\n", "output.replay.targetDbMap"},
      {"  replay:\n    maxInflightBytes: 1k\n", "output.replay.maxInflightBytes"},
  };
  for (const auto& c : cases) {
    Config cfg;
    Status st = load(std::string(kMinimal) + c.extra, &cfg);
    ASSERT_FALSE(st.is_ok()) << c.extra;
    EXPECT_NE(st.message().find(c.key), std::string::npos) << st.message();
    EXPECT_NE(st.message().find("test.yaml:"), std::string::npos) << st.message();
  }
}

TEST(Config, BadAddressesAndMissingRequiredKeys) {
  Config c;
  Status st = load("input:\n  redis:\n    addresses: [localhost]\n", &c);
  ASSERT_FALSE(st.is_ok());
  EXPECT_NE(st.message().find("input.redis.addresses"), std::string::npos) << st.message();
  st = load("input:\n  redis:\n    addresses: [a:1]\n", &c);
  ASSERT_FALSE(st.is_ok());
  EXPECT_NE(st.message().find("output.redis.addresses is required"), std::string::npos)
      << st.message();
  st = load("", &c);
  EXPECT_FALSE(st.is_ok());
}

TEST(Config, InvalidYamlNamesTheLine) {
  Config c;
  Status st = load(std::string(kMinimal) + "  replay: [\n", &c);
  ASSERT_FALSE(st.is_ok());
  EXPECT_NE(st.message().find("test.yaml:"), std::string::npos) << st.message();
}

TEST(Config, KnownButNotImplementedKeysWarn) {
  Config c;
  Status st = load(std::string(kMinimal) +
                       "channel:\n  storer:\n    dirPath: /tmp/f\n    maxSize: 1GiB\n"
                       "cluster:\n  groupName: g\n  leaseTimeout: 5s\n",
                   &c);
  ASSERT_TRUE(st.is_ok()) << st.to_string();
  ASSERT_EQ(c.warnings.size(), 2u);
  EXPECT_NE(c.warnings[0].find("cluster.groupName"), std::string::npos);
  EXPECT_EQ(c.channel.storer.max_size, 1ull << 30);
  EXPECT_EQ(c.channel.storer.dir_path, "/tmp/f");
}

TEST(Config, TlsIsRefusedRatherThanIgnored) {
  Config c;
  Status st = load(std::string(kMinimal) + "    tlsEnable: true\n", &c);
  ASSERT_FALSE(st.is_ok());
  EXPECT_NE(st.message().find("output.redis.tlsEnable"), std::string::npos) << st.message();
}

TEST(Config, ARemoteApiNeedsATokenOrAnExplicitYes) {
  Config c;
  Status st = load(std::string(kMinimal) + "server:\n  listen: 0.0.0.0:18001\n", &c);
  ASSERT_FALSE(st.is_ok());
  EXPECT_NE(st.message().find("server.apiToken"), std::string::npos) << st.message();
  EXPECT_TRUE(load(std::string(kMinimal) + "server:\n  listen: 0.0.0.0:18001\n  apiToken: t\n", &c)
                  .is_ok());
  EXPECT_TRUE(load(std::string(kMinimal) +
                       "server:\n  listen: 10.1.2.3:18001\n  allowRemoteWithoutToken: true\n",
                   &c)
                  .is_ok());
  EXPECT_TRUE(load(std::string(kMinimal) + "server:\n  listen: 127.0.0.1:18001\n", &c).is_ok());
  EXPECT_TRUE(load(std::string(kMinimal) + "server:\n  listen: localhost:18001\n", &c).is_ok());
}

TEST(Units, SizesAndDurations) {
  uint64_t n;
  ASSERT_TRUE(parse_size("4096", &n).is_ok());
  EXPECT_EQ(n, 4096u);
  ASSERT_TRUE(parse_size("1k", &n).is_ok());
  EXPECT_EQ(n, 1000u);
  ASSERT_TRUE(parse_size("1kb", &n).is_ok());
  EXPECT_EQ(n, 1024u);
  ASSERT_TRUE(parse_size("2MiB", &n).is_ok());
  EXPECT_EQ(n, 2u << 20);
  ASSERT_TRUE(parse_size("1G", &n).is_ok());
  EXPECT_EQ(n, 1000000000u);
  ASSERT_TRUE(parse_size("1gb", &n).is_ok());
  EXPECT_EQ(n, 1u << 30);
  EXPECT_FALSE(parse_size("1tb", &n).is_ok());
  EXPECT_FALSE(parse_size("-1", &n).is_ok());
  EXPECT_FALSE(parse_size("99999999999999999999999", &n).is_ok());
  std::chrono::milliseconds d;
  ASSERT_TRUE(parse_duration("500ms", &d).is_ok());
  EXPECT_EQ(d.count(), 500);
  ASSERT_TRUE(parse_duration("5s", &d).is_ok());
  EXPECT_EQ(d.count(), 5000);
  ASSERT_TRUE(parse_duration("2m", &d).is_ok());
  EXPECT_EQ(d.count(), 120000);
  ASSERT_TRUE(parse_duration("12h", &d).is_ok());
  EXPECT_EQ(d.count(), 12 * 3600 * 1000);
  EXPECT_FALSE(parse_duration("5d", &d).is_ok());
  EXPECT_FALSE(parse_duration("fast", &d).is_ok());
}

// What GET /syncer/config prints loads back as the same configuration, and holds no secret.
TEST(Config, WrittenConfigurationLoadsBackAndMasksSecrets) {
  Config c;
  std::string text = std::string(kMinimal) +
                     "  replay:\n"
                     "    targetDbMap: {0: 3, 1: 4}\n"
                     "    batchTicker: 250ms\n"
                     "    maxInflightBytes: 32MiB\n"
                     "server:\n"
                     "  apiToken: t0k3n-secret\n"
                     "  gracefullStopTimeout: 2m\n"
                     "channel:\n"
                     "  storer:\n"
                     "    flushPolicy: {duration: 1s}\n";
  text.replace(text.find("    addresses: [127.0.0.1:6379]\n"), 31,
               "    addresses: [127.0.0.1:6379]\n    password: in-pass-secret\n");
  ASSERT_TRUE(load(text, &c).is_ok());
  const std::string yaml = config_to_yaml(c);
  const std::string json = config_to_json(c);
  for (const std::string* out : {&yaml, &json}) {
    EXPECT_EQ(out->find("secret"), std::string::npos) << *out;
    EXPECT_NE(out->find(kMaskedSecret), std::string::npos) << *out;
  }
  Config again;
  Status st = load(yaml, &again);
  ASSERT_TRUE(st.is_ok()) << st.message() << "\n" << yaml;
  EXPECT_EQ(again.output.replay.target_db_map, (std::map<int, int>{{0, 3}, {1, 4}}));
  EXPECT_EQ(again.output.replay.batch_ticker.count(), 250);
  EXPECT_EQ(again.output.replay.max_inflight_bytes, 32u << 20);
  EXPECT_EQ(again.server.graceful_stop_timeout.count(), 120000);
  EXPECT_EQ(again.channel.storer.flush_policy, FlushPolicy::kDuration);
  EXPECT_EQ(again.channel.storer.flush_duration.count(), 1000);
  EXPECT_EQ(again.input.redis.password, kMaskedSecret);
  // Written again, it is the same text: nothing is lost or changed on the way.
  again.input.redis.password = c.input.redis.password;
  again.server.api_token = c.server.api_token;
  EXPECT_EQ(config_to_yaml(again), yaml);
}

TEST(Config, EveryShippedConfigLoads) {
  for (const char* name : {"example.yaml", "demo.yaml", "cluster-source.yaml"}) {
    Config c;
    Status st = load_config_file(std::string(FERRY_CONFIGS_DIR) + "/" + name, &c);
    EXPECT_TRUE(st.is_ok()) << name << ": " << st.message();
  }
}

}  // namespace
}  // namespace ferry
