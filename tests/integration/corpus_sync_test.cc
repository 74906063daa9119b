// Every RDB of the corpus through the whole sync path into a real Redis 7.0 target:
//  - loaded by a real source redis-server (which re-encodes what it loads), then synced;
//  - served byte for byte by a minimal master, so every on-disk encoding (old ziplists,
//    zipmaps, RDB 12 types) goes through ferry's parser and apply stage;
//  - corrupt, truncated and garbled files end with a clear error and exit code 1.
#include <gtest/gtest.h>

#include <filesystem>

#include "tests/support/corpus.h"
#include "tests/support/fake_master.h"
#include "tests/support/ferry_process.h"
#include "tests/support/redis_server.h"
#include "tests/support/sync_checks.h"

namespace ferry::test {
namespace {

namespace fs = std::filesystem;
using std::chrono::seconds;

std::vector<std::string> files(const std::string& dir, const std::string& prefix) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(corpus_dir() + dir)) {
    std::string name = e.path().filename().string();
    if (name.rfind(prefix, 0) == 0 && e.path().extension() == ".rdb") out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

json expected_for(const std::string& path_rdb) {
  std::string base = path_rdb.substr(0, path_rdb.rfind('.'));
  return json::parse(read_file(base + ".json"));
}

// The corpus keys as a Redis 7.0 target holds them after a rebuild with commands: hash field
// TTLs dropped (7.0 has none), consumer seen/active times set at rebuild time, and PEL
// entries of deleted messages gone (commands cannot recreate them). Both sides get this.
json normalize_rebuilt(json dbs) {
  for (auto& [db, keys] : dbs.items()) {
    for (auto& k : keys) {
      if (k["type"] == "hash") k["field_pexpiretime"] = json::array();
      if (k["type"] != "stream") continue;
      json& v = k["value"];
      std::set<std::string> live;
      for (auto& e : v["entries"])
        live.insert(e[0].get<std::string>());
      for (auto& g : v["groups"]) {
        json pending = json::array();
        for (auto& p : g["pending"]) {
          if (live.count(p["id"].get<std::string>())) pending.push_back(p);
        }
        g["pending"] = pending;
        for (auto& c : g["consumers"]) {
          c.erase("seen_time");
          c.erase("active_time");
          json ids = json::array();
          for (auto& id : c["pending"]) {
            if (live.count(id.get<std::string>())) ids.push_back(id);
          }
          c["pending"] = ids;
        }
      }
    }
  }
  return dbs;
}

void expect_same_dbs(const json& got, const json& want, const std::string& what) {
  json g = comparable_dbs(got), w = comparable_dbs(want);
  EXPECT_EQ(g, w) << what << ": " << json::diff(g, w).dump().substr(0, 3000);
}

// --- a real source loads the file -------------------------------------------------------

class RealSource : public ::testing::TestWithParam<std::string> {};

TEST_P(RealSource, SyncsToEqualDigestTtlsStreamsAndFunctions) {
  std::string path = corpus_dir() + "/" + GetParam();
  RedisServer source, target;
  RedisServer::Options so;
  if (path.size() > 4 && path.substr(path.size() - 4) == ".aof") {
    so.aof = read_file(path);
  } else {
    so.rdb = read_file(path);
  }
  ASSERT_TRUE(source.start(so)) << GetParam();
  ASSERT_TRUE(target.start());
  FerryProcess ferry;
  ASSERT_TRUE(ferry.start(FerryProcess::config({source.address()}, target.address())));
  ASSERT_TRUE(ferry.wait_for_log("full sync applied", seconds(30))) << ferry.log();
  std::string detail;
  EXPECT_TRUE(wait_same_digest(source, target, seconds(30), &detail)) << detail;
  EXPECT_EQ(compare_servers(source, target), "") << GetParam();
  EXPECT_EQ(ferry.stop(), 0) << ferry.output();
}

std::vector<std::string> loadable() {
  std::vector<std::string> out;
  for (auto& f : files("", "v10-"))
    out.push_back(f);
  for (auto& f :
       {"encodings.rdb", "hash-zipmap.rdb", "hash-ziplist.rdb", "list-quicklist.rdb",
        "zset-ziplist.rdb", "scriptbackup.rdb", "corrupt_empty_keys.rdb", "rdb-preamble.aof"}) {
    out.push_back(std::string("redis-assets/") + f);
  }
  return out;
}

std::string param_name(const ::testing::TestParamInfo<std::string>& info) {
  std::string n = info.param;
  for (char& c : n) {
    if (!isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return n;
}

INSTANTIATE_TEST_SUITE_P(Corpus, RealSource, ::testing::ValuesIn(loadable()), param_name);

// --- a minimal master serves the file's exact bytes ---------------------------------------

struct Served {
  FakeMaster master;
  RedisServer target;
  FerryProcess ferry;

  bool start(const std::string& rdb, bool diskless, const std::string& stream,
             const std::string& replay_extra = "") {
    FakeMaster::Options o;
    o.rdb = rdb;
    o.diskless = diskless;
    o.stream = stream;
    return master.start(o) && target.start() &&
           ferry.start(FerryProcess::config({master.address()}, target.address(), replay_extra));
  }
};

// Splits an AOF with an RDB preamble into the RDB and the command tail.
void split_preamble(std::string aof, std::string* rdb, std::string* tail) {
  size_t star = aof.find("*", aof.size() > 64 ? 9 : 0);
  // The RDB ends with 0xFF and an 8-byte checksum right before the first command.
  while (star != std::string::npos && (star < 9 || static_cast<uint8_t>(aof[star - 9]) != 0xff)) {
    star = aof.find("*", star + 1);
  }
  *rdb = aof.substr(0, star);
  *tail = aof.substr(star);
}

class ExactBytes : public ::testing::TestWithParam<std::string> {};

TEST_P(ExactBytes, V10AndOldEncodingsMatchTheirJsonAndDigest) {
  std::string path = corpus_dir() + "/" + GetParam();
  json expected = expected_for(path);
  std::string rdb = read_file(path), tail;
  if (GetParam().find(".aof") != std::string::npos) split_preamble(read_file(path), &rdb, &tail);
  for (bool diskless : {false, true}) {
    Served s;
    ASSERT_TRUE(s.start(rdb, diskless, tail));
    ASSERT_TRUE(s.ferry.wait_for_log("full sync applied", seconds(30))) << s.ferry.log();
    // Every key's DEBUG DIGEST-VALUE is the one the file's JSON records.
    std::map<std::string, std::string> want_digests;
    for (auto& [db, keys] : expected["dbs"].items()) {
      for (auto& k : keys) {
        want_digests[db + "/" + json_to_bytes(k["key"])] = k["digest_value"].get<std::string>();
      }
    }
    std::string detail;
    EXPECT_TRUE(wait_key_digests(s.target, want_digests, seconds(30), &detail))
        << GetParam() << (diskless ? " diskless: " : ": ") << detail << "\n"
        << s.ferry.log();
    expect_same_dbs(dump_dbs(s.target), expected["dbs"], GetParam());
    std::vector<std::string> want;
    for (auto& f : expected["functions"])
      want.push_back(json_to_bytes(f["library_code"]));
    std::sort(want.begin(), want.end());
    EXPECT_EQ(dump_function_codes(s.target), want);
    EXPECT_EQ(s.ferry.stop(), 0) << s.ferry.output();
  }
}

INSTANTIATE_TEST_SUITE_P(Corpus, ExactBytes, ::testing::ValuesIn(loadable()), param_name);

class NewerRedis : public ::testing::TestWithParam<std::string> {};

TEST_P(NewerRedis, V12FilesRebuiltOnA70TargetMatchTheirJson) {
  // Redis 7.0 cannot load RDB 12 payloads of the newer types: ferry rebuilds those keys
  // with commands. What 7.0 cannot hold (field TTLs, ...) is the documented difference.
  std::string path = corpus_dir() + "/" + GetParam();
  json expected = expected_for(path);
  Served s;
  ASSERT_TRUE(s.start(read_file(path), GetParam().find("lists") != std::string::npos, ""));
  // The target holds as many keys as the file once the RDB is applied.
  ASSERT_TRUE(s.ferry.wait_for_log("full sync applied", seconds(30))) << s.ferry.log();
  expect_same_dbs(normalize_rebuilt(dump_dbs(s.target)), normalize_rebuilt(expected["dbs"]),
                  GetParam());
  std::vector<std::string> want;
  for (auto& f : expected["functions"])
    want.push_back(json_to_bytes(f["library_code"]));
  std::sort(want.begin(), want.end());
  EXPECT_EQ(dump_function_codes(s.target), want);
  bool has_field_ttls = expected.dump().find("\"field_pexpiretime\":[[") != std::string::npos;
  if (has_field_ttls) {
    EXPECT_NE(s.ferry.log().find("hash field TTL(s) dropped"), std::string::npos);
  }
  EXPECT_EQ(s.ferry.stop(), 0) << s.ferry.output();
}

INSTANTIATE_TEST_SUITE_P(Corpus, NewerRedis, ::testing::ValuesIn(files("", "v12-")), param_name);

TEST(ChunkedRebuild, BigValuesWrittenInChunksGiveTheSameData) {
  // With a tiny maxProtoBulkLen every value over 1 KiB is read in pieces and rebuilt with
  // commands in a temporary key; without RESTORE, every key is.
  for (std::string extra : {"    maxProtoBulkLen: 1kb\n", "    replayRdbEnableRestore: false\n"}) {
    RedisServer source, target;
    RedisServer::Options so;
    so.rdb = read_file(corpus_dir() + "/v10-all.rdb");
    ASSERT_TRUE(source.start(so));
    ASSERT_TRUE(target.start());
    FerryProcess ferry;
    ASSERT_TRUE(ferry.start(FerryProcess::config({source.address()}, target.address(), extra)));
    ASSERT_TRUE(ferry.wait_for_log("full sync applied", seconds(30))) << ferry.log();
    std::string detail;
    EXPECT_TRUE(wait_same_digest(source, target, seconds(30), &detail)) << extra << detail;
    expect_same_dbs(normalize_rebuilt(dump_dbs(target)), normalize_rebuilt(dump_dbs(source)),
                    extra);
    EXPECT_EQ(dump_function_codes(source), dump_function_codes(target));
    // No temporary key is left behind.
    for (int db : {0, 1, 15}) {
      target.cmd({"SELECT", std::to_string(db)});
      EXPECT_TRUE(target.cmd({"KEYS", "ferry-tmp:*"}).elements.empty());
    }
    EXPECT_EQ(ferry.stop(), 0) << ferry.output();
  }
}

// --- bad input ------------------------------------------------------------------------------

TEST(BadRdb, CorruptZiplistStopsWithTheKeyAndOffset) {
  Served s;
  ASSERT_TRUE(s.start(read_file(corpus_dir() + "/redis-assets/corrupt_ziplist.rdb"), false, ""));
  int code = s.ferry.wait_exit(seconds(30));
  EXPECT_EQ(code, 1) << s.ferry.output();
  std::string out = s.ferry.output();
  EXPECT_NE(out.find("key:000000000091"), std::string::npos) << out;
  EXPECT_NE(out.find("ziplist"), std::string::npos) << out;
  EXPECT_NE(out.find("offset"), std::string::npos) << out;
}

TEST(BadRdb, EmptyKeysAreSkippedAndLogged) {
  Served s;
  ASSERT_TRUE(s.start(read_file(corpus_dir() + "/redis-assets/corrupt_empty_keys.rdb"), false, ""));
  ASSERT_TRUE(s.ferry.wait_for_log("full sync applied", seconds(30)));
  EXPECT_EQ(s.target.cmd({"DBSIZE"}).integer, 0);
  std::string log = s.ferry.log();
  size_t n = 0;
  for (size_t p = log.find("skipping empty key"); p != std::string::npos;
       p = log.find("skipping empty key", p + 1)) {
    n++;
  }
  EXPECT_EQ(n, 9u) << log;
  EXPECT_EQ(s.ferry.stop(), 0);
}

TEST(BadRdb, TruncatedAndGarbledCopiesFailCleanly) {
  std::string rdb = read_file(corpus_dir() + "/v10-all.rdb");
  std::vector<std::pair<std::string, std::string>> cases;  // bytes, expected words
  for (size_t cut : {size_t{5}, size_t{200}, rdb.size() / 3, rdb.size() - 20, rdb.size() - 3}) {
    cases.emplace_back(rdb.substr(0, cut), "truncated");
  }
  for (size_t pos : {size_t{3}, size_t{300}, rdb.size() / 2, rdb.size() - 30, rdb.size() - 2}) {
    std::string bad = rdb;
    bad[pos] = static_cast<char>(bad[pos] ^ 0x5a);
    cases.emplace_back(bad, "RDB");
  }
  for (size_t i = 0; i < cases.size(); i++) {
    Served s;
    ASSERT_TRUE(s.start(cases[i].first, i % 2 == 1, ""));
    int code = s.ferry.wait_exit(seconds(30));
    EXPECT_EQ(code, 1) << "case " << i << ": " << s.ferry.output();
    EXPECT_NE(s.ferry.output().find(cases[i].second), std::string::npos)
        << "case " << i << ": " << s.ferry.output();
  }
}

}  // namespace
}  // namespace ferry::test
