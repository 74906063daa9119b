// The streaming RDB parser against the corpus in tests/data/rdb: every file parses to exactly
// the content its JSON records (v10 and v12 alike), however the bytes are split and whether
// values are reported whole or in pieces; corrupt, truncated and garbled files fail cleanly.
#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "proto/rdb_reader.h"
#include "tests/support/corpus.h"

namespace ferry::test {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> corpus_files(const std::string& prefix) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(corpus_dir())) {
    std::string name = e.path().filename().string();
    if (name.rfind(prefix, 0) == 0 && e.path().extension() == ".rdb") out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

class CorpusFile : public ::testing::TestWithParam<std::string> {};

void expect_matches_json(const std::string& name, size_t chunk, rdb::RdbReader::Options opts) {
  std::string rdb = read_file(corpus_dir() + "/" + name);
  json expected =
      json::parse(read_file(corpus_dir() + "/" + name.substr(0, name.size() - 4) + ".json"));
  ParsedRdb parsed;
  Status st = parse_rdb(rdb, chunk, opts, &parsed);
  ASSERT_TRUE(st.is_ok()) << name << ": " << st.to_string();
  EXPECT_EQ(parsed.version, expected["rdb_file"]["rdb_version"].get<int>());
  json want = comparable_dbs(expected["dbs"]);
  json got = comparable_dbs(parsed.dbs);
  EXPECT_EQ(got.size(), want.size()) << name;
  for (auto& [db, keys] : want.items()) {
    ASSERT_TRUE(got.contains(db)) << name << " db " << db;
    ASSERT_EQ(got[db].size(), keys.size()) << name << " db " << db;
    for (size_t i = 0; i < keys.size(); i++) {
      EXPECT_EQ(got[db][i], keys[i]) << name << " (chunk " << chunk << ") db " << db
                                     << " diff: " << json::diff(got[db][i], keys[i]).dump();
    }
  }
  // The RDB does not keep FUNCTION LIST's order: compare the library codes as a set.
  std::vector<std::string> want_code, got_code;
  for (auto& f : expected["functions"])
    want_code.push_back(json_to_bytes(f["library_code"]));
  for (auto& f : parsed.functions)
    got_code.push_back(json_to_bytes(f));
  std::sort(want_code.begin(), want_code.end());
  std::sort(got_code.begin(), got_code.end());
  EXPECT_EQ(got_code, want_code) << name;
}

TEST_P(CorpusFile, ParsesToItsJson) {
  expect_matches_json(GetParam(), 1 << 20, rdb::RdbReader::Options());
}

TEST_P(CorpusFile, ParsesToItsJsonFedBytewiseAndInSmallPieces) {
  for (size_t chunk : {1, 7, 64, 4093}) {
    expect_matches_json(GetParam(), chunk, rdb::RdbReader::Options());
  }
}

TEST_P(CorpusFile, BigValuesSplitIntoPiecesGiveTheSameContent) {
  rdb::RdbReader::Options opts;
  opts.max_whole_value = 100;
  opts.piece_bytes = 40;
  for (size_t chunk : {3, 1 << 20})
    expect_matches_json(GetParam(), chunk, opts);
}

TEST_P(CorpusFile, EveryTruncationIsAnErrorNamingTheOffset) {
  std::string rdb = read_file(corpus_dir() + "/" + GetParam());
  size_t step = std::max<size_t>(1, rdb.size() / 300);
  for (size_t len = 0; len < rdb.size(); len += step) {
    ParsedRdb parsed;
    Status st =
        parse_rdb(std::string_view(rdb).substr(0, len), 512, rdb::RdbReader::Options(), &parsed);
    ASSERT_FALSE(st.is_ok()) << "prefix of " << len << " bytes parsed without error";
    EXPECT_NE(st.message().find("offset"), std::string::npos) << st.message();
  }
}

TEST_P(CorpusFile, GarbledBytesAreDetected) {
  std::string rdb = read_file(corpus_dir() + "/" + GetParam());
  std::mt19937 rng(42);
  for (int i = 0; i < 200; i++) {
    std::string bad = rdb;
    size_t pos = std::uniform_int_distribution<size_t>(0, bad.size() - 1)(rng);
    bad[pos] = static_cast<char>(bad[pos] ^ (1 + rng() % 255));
    ParsedRdb parsed;
    rdb::RdbReader::Options opts;
    opts.max_whole_value = 1 + rng() % 4096;
    opts.piece_bytes = 1 + rng() % 1024;
    Status st = parse_rdb(bad, 1 + rng() % 2048, opts, &parsed);
    // Every byte is covered by the CRC64 trailer, so no flip goes unnoticed.
    EXPECT_FALSE(st.is_ok()) << "flip at byte " << pos << " went unnoticed";
  }
}

INSTANTIATE_TEST_SUITE_P(V10, CorpusFile, ::testing::ValuesIn(corpus_files("v10-")));
INSTANTIATE_TEST_SUITE_P(V12, CorpusFile, ::testing::ValuesIn(corpus_files("v12-")));

class AssetFile : public ::testing::TestWithParam<std::string> {};

TEST_P(AssetFile, ParsesToWhatRedisLoads) {
  std::string name = "redis-assets/" + GetParam();
  std::string rdb = read_file(corpus_dir() + "/" + name);
  json expected = json::parse(read_file(corpus_dir() + "/redis-assets/" +
                                        GetParam().substr(0, GetParam().size() - 4) + ".json"));
  for (size_t chunk : {1, 5, 1 << 20}) {
    ParsedRdb parsed;
    Status st = parse_rdb(rdb, chunk, rdb::RdbReader::Options(), &parsed);
    ASSERT_TRUE(st.is_ok()) << name << ": " << st.to_string();
    EXPECT_EQ(comparable_dbs(parsed.dbs), comparable_dbs(expected["dbs"])) << name;
  }
}

INSTANTIATE_TEST_SUITE_P(Assets, AssetFile,
                         ::testing::Values("encodings.rdb", "hash-zipmap.rdb", "hash-ziplist.rdb",
                                           "list-quicklist.rdb", "zset-ziplist.rdb",
                                           "scriptbackup.rdb"));

TEST(RdbAssets, EmptyKeysAreSkippedAndCounted) {
  std::string rdb = read_file(corpus_dir() + "/redis-assets/corrupt_empty_keys.rdb");
  ParsedRdb parsed;
  Status st = parse_rdb(rdb, 1 << 20, rdb::RdbReader::Options(), &parsed);
  ASSERT_TRUE(st.is_ok()) << st.to_string();
  EXPECT_EQ(parsed.empty_keys_skipped, 9u);
  EXPECT_TRUE(comparable_dbs(parsed.dbs).empty());
}

TEST(RdbAssets, CorruptZiplistIsAnErrorNamingTheKey) {
  std::string rdb = read_file(corpus_dir() + "/redis-assets/corrupt_ziplist.rdb");
  ParsedRdb parsed;
  Status st = parse_rdb(rdb, 1 << 20, rdb::RdbReader::Options(), &parsed);
  ASSERT_FALSE(st.is_ok());
  EXPECT_NE(st.message().find("key:000000000091"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("ziplist"), std::string::npos) << st.message();
}

TEST(RdbReader, NewerVersionIsAClearError) {
  std::string rdb = read_file(corpus_dir() + "/v12-empty.rdb");
  rdb[8] = '3';  // REDIS0013
  ParsedRdb parsed;
  Status st = parse_rdb(rdb, 1 << 20, rdb::RdbReader::Options(), &parsed);
  ASSERT_FALSE(st.is_ok());
  EXPECT_NE(st.message().find("RDB version 13"), std::string::npos) << st.message();
}

TEST(RdbReader, NotAnRdbIsAClearError) {
  ParsedRdb parsed;
  Status st = parse_rdb("HELLO0010", 1 << 20, rdb::RdbReader::Options(), &parsed);
  ASSERT_FALSE(st.is_ok());
  EXPECT_NE(st.message().find("not an RDB"), std::string::npos) << st.message();
}

}  // namespace
}  // namespace ferry::test
