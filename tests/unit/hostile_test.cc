// Hostile sizes: lengths that a corrupt or malicious input claims must not make ferry hold
// more than its budget — an RDB key name "of a gigabyte", an LZF block whose lengths
// overflow, a source transaction that never ends. Each ends in a clear error, at once.
#include <gtest/gtest.h>

#include "nodes/parse_stage.h"
#include "proto/checkpoint_format.h"
#include "proto/rdb_decoder.h"
#include "proto/rdb_reader.h"
#include "proto/resp.h"

namespace ferry {
namespace {

struct NullSink : rdb::RdbSink {
  int keys = 0;
  void on_key(const rdb::KeyRecord&) override { keys++; }
};

std::string rdb_header() {
  return std::string("REDIS0010") + std::string("\xfe\x00", 2);  // SELECTDB 0
}

TEST(Hostile, AKeyNameOfAGigabyteFailsWithoutBufferingIt) {
  NullSink sink;
  rdb::RdbReader::Options o;
  o.max_item_bytes = 1 << 20;
  rdb::RdbReader reader(o, &sink);
  // A string key whose name claims 1 GiB (32-bit length), then data that never ends.
  std::string rdb = rdb_header() + std::string("\x00\x80\x40\x00\x00\x00", 6);
  Status st = reader.feed(rdb);
  for (int i = 0; i < 100 && st.is_ok(); i++)
    st = reader.feed(std::string(64 << 10, 'k'));
  ASSERT_FALSE(st.is_ok());
  EXPECT_NE(st.message().find("more than ferry holds of one item"), std::string::npos)
      << st.message();
  EXPECT_LE(reader.buffered(), size_t{2} << 20);
}

TEST(Hostile, LzfLengthsThatOverflowAreRefused) {
  NullSink sink;
  rdb::RdbReader reader(rdb::RdbReader::Options(), &sink);
  // Key "k", value LZF with a compressed length of 2^62 (64-bit) and a raw length of 10.
  std::string value =
      std::string("\xc3\x81", 2) + std::string("\x40\0\0\0\0\0\0\0", 8) + std::string("\x0a", 1);
  std::string rdb = rdb_header() + std::string("\x00\x01k", 3) + value;
  Status st = reader.feed(rdb);
  ASSERT_FALSE(st.is_ok());
  EXPECT_NE(st.message().find("impossible LZF lengths"), std::string::npos) << st.message();
}

TEST(Hostile, AHashFieldTtlThatOverflowsIsCorrupt) {
  // Found by fuzz_values: a type-24 hash (field TTLs relative to a min-expire header) whose
  // header and TTL add up past int64.
  const std::string value(
      "\x89\xeb\x81\x81\x81\x81\x81\x81\x81\x81\x81\x81\x81\x81\x81\x81"
      "\x81\x81\x81\x81\x81\x81\x81\x81\x81\x81\x81\x81\x81\x81\x81\x81"
      "\x81\x81\x81\x81\x81\x81\x81\x81\x81\x81\x81\x81\x81\x81\x81\x81"
      "\x81\x81\x81\x81\x81\x81\x81\x81\x81\x81\x81\x81\xc3\x2c\xbb\x03"
      "\x00\x00\x03\x01\x01\x62\xc3\x09\x40\x64\x01\x56\x56\xe0\x57\x00"
      "\x01\x56\x56\x00\x01\x63\xc0\x03\x00\x01\x61\xc0\x01",
      93);
  struct Null : rdb::ValueVisitor {
  } visitor;
  rdb::RdbDecoder decoder;
  rdb::DecodeResult res;
  Status st = decoder.decode(0x18, rdb::Piece::kWhole, value, &visitor, &res);
  ASSERT_FALSE(st.is_ok());
  EXPECT_NE(st.message().find("out of range"), std::string::npos) << st.message();

  // A valid header near the top of int64 and one field whose TTL goes past it.
  const std::string header("\x00\xff\xff\xff\xff\xff\xff\x7f", 8);  // LE 0x7fff...ff00
  const std::string count("\x01", 1);
  const std::string ttl("\x81\x00\x00\x00\x00\x00\x00\x10\x00", 9);  // 64-bit length 4096
  st = decoder.decode(0x18, rdb::Piece::kWhole,
                      header + count + ttl +
                          "\x01"
                          "f"
                          "\x01"
                          "v",
                      &visitor, &res);
  ASSERT_FALSE(st.is_ok());
  EXPECT_NE(st.message().find("hash field TTL out of range"), std::string::npos) << st.message();
}

TEST(Hostile, ASourceTransactionLargerThanTheBudgetStopsTheInput) {
  ReplayConfig replay;
  replay.max_inflight_bytes = 1 << 20;
  InputCounters counters;
  RdbApplyStats rdb_stats;
  MemoryBudget budget(replay.max_inflight_bytes);
  OffsetTracker tracker;
  StageContext ctx;
  ctx.input = "hostile";
  ctx.checkpoint_key = ckpt::key("hostile");
  ctx.replay = &replay;
  ctx.counters = &counters;
  ctx.rdb_stats = &rdb_stats;
  ctx.budget = &budget;
  ctx.tracker = &tracker;
  std::vector<Status> failures;
  ctx.fail = [&](const Status& st) { failures.push_back(st); };
  ParseStage parse(&ctx);
  std::vector<PacketPtr> out;
  SourceChunk begin;
  begin.kind = SourceChunk::Kind::kStreamBegin;
  begin.replid = std::string(40, 'a');
  parse.process(begin, &out);
  SourceChunk data;
  data.kind = SourceChunk::Kind::kStreamData;
  resp::append_command(&data.data, {"MULTI"});
  const std::string value(1000, 'v');
  for (int i = 0; i < 2000; i++)
    resp::append_command(&data.data, {"SET", "k" + std::to_string(i), value});
  parse.process(data, &out);
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_NE(failures[0].message().find("source MULTI"), std::string::npos) << failures[0].message();
  EXPECT_NE(failures[0].message().find("maxInflightBytes"), std::string::npos);
}

}  // namespace
}  // namespace ferry
