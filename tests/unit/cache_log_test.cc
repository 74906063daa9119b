// The local cache as the graph's source: what the replica client appends is read back in
// order, byte for byte — from memory while the reader follows closely, from RocksDB after a
// restart or when the reader starts elsewhere (mid-chunk included).
#include "storage/cache_log.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <thread>

#include "storage/kv_store.h"
#include "tests/support/process.h"

namespace ferry {
namespace {

using Kind = SourceChunk::Kind;
const std::string kReplid(40, 'a');
constexpr uint64_t kStart = 1000;  // the +FULLRESYNC offset

SourceChunkPtr chunk(Kind kind, uint64_t offset, std::string data = "") {
  auto c = std::make_shared<SourceChunk>();
  c->kind = kind;
  c->replid = kind == Kind::kRdbBegin || kind == Kind::kStreamBegin ? kReplid : "";
  c->offset = offset;
  c->data = std::move(data);
  return c;
}

std::string random_bytes(std::mt19937* rng, size_t n) {
  std::string s(n, '\0');
  for (char& c : s)
    c = static_cast<char>((*rng)() & 0xff);
  return s;
}

struct ReadBack {
  std::string rdb, stream;
  bool rdb_end = false;
};

// The next chunk the reader gets, waiting for it until `deadline` (nullptr then).
SourceChunkPtr next_chunk(CacheLog* log, std::chrono::steady_clock::time_point deadline) {
  SourceChunkPtr c;
  while (!log->try_read(&c)) {
    if (std::chrono::steady_clock::now() >= deadline) return nullptr;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));  // polls the reader's state
  }
  return c;
}

// Reads until `stream_bytes` of stream arrived (or a timeout).
ReadBack read_all(CacheLog* log, size_t stream_bytes) {
  ReadBack r;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (r.stream.size() < stream_bytes) {
    SourceChunkPtr c = next_chunk(log, deadline);
    if (!c) break;
    if (c->kind == Kind::kRdbData) {
      EXPECT_EQ(c->offset, r.rdb.size());
      r.rdb += c->data;
    } else if (c->kind == Kind::kRdbEnd) {
      r.rdb_end = true;
    } else if (c->kind == Kind::kStreamData) {
      r.stream += c->data;
    }
  }
  return r;
}

TEST(CacheLog, ReadsBackInOrderFromMemoryAndFromTheStore) {
  const std::string dir = test::make_temp_dir("ferry-cache-test");
  std::unique_ptr<KvStore> kv;
  KvStore::Options ko;
  ko.dir = dir;
  ASSERT_TRUE(KvStore::open(ko, &kv).is_ok());
  std::mt19937 rng(5);
  std::string rdb = random_bytes(&rng, 3 << 20), stream;
  {
    CacheLog log(kv.get(), "in", CacheLogOptions());
    ASSERT_TRUE(log.load().is_ok());
    log.read_new_data();
    // Appends while a reader follows: sizes from a few bytes to 200 KiB, 12 MiB of stream,
    // three times what the cache keeps in memory.
    std::thread writer([&] {
      auto begin = chunk(Kind::kRdbBegin, kStart);
      begin->rdb_size = rdb.size();
      EXPECT_EQ(log.append(begin), SourceLog::Append::kOk);
      for (size_t at = 0; at < rdb.size();) {
        size_t n = std::min<size_t>(rdb.size() - at, 1 + rng() % (200 << 10));
        EXPECT_EQ(log.append(chunk(Kind::kRdbData, at, rdb.substr(at, n))), SourceLog::Append::kOk);
        at += n;
      }
      EXPECT_EQ(log.append(chunk(Kind::kRdbEnd, 0)), SourceLog::Append::kOk);
      EXPECT_EQ(log.append(chunk(Kind::kStreamBegin, kStart)), SourceLog::Append::kOk);
      std::mt19937 srng(9);
      while (stream.size() < (12u << 20)) {
        std::string data = random_bytes(&srng, 1 + srng() % (rng() % 4 == 0 ? 200 << 10 : 300));
        EXPECT_EQ(log.append(chunk(Kind::kStreamData, kStart + stream.size(), data)),
                  SourceLog::Append::kOk);
        stream += data;
      }
    });
    ReadBack live = read_all(&log, 12u << 20);
    writer.join();
    // The writer's last chunks may come after the reader reached 12 MiB.
    live.stream += read_all(&log, stream.size() - live.stream.size()).stream;
    EXPECT_TRUE(live.rdb == rdb) << "RDB bytes differ";
    EXPECT_TRUE(live.rdb_end);
    ASSERT_EQ(live.stream.size(), stream.size());
    EXPECT_TRUE(live.stream == stream) << "stream bytes differ";

    // Another start inside a chunk, far back (the store) and near the end (memory).
    const auto& gens = log.meta().gens;
    ASSERT_EQ(gens.size(), 1u);
    for (uint64_t from : {uint64_t{12345}, stream.size() - 777}) {
      log.read_stream(gens[0].id, kStart + from, 0);
      ReadBack tail = read_all(&log, stream.size() - from);
      EXPECT_TRUE(tail.stream == stream.substr(from)) << "from " << from;
    }
  }
  // After a restart everything comes from the store.
  CacheLog again(kv.get(), "in", CacheLogOptions());
  ASSERT_TRUE(again.load().is_ok());
  ASSERT_EQ(again.meta().gens.size(), 1u);
  again.read_rdb(again.meta().gens[0].id, 0);
  ReadBack stored = read_all(&again, stream.size());
  EXPECT_TRUE(stored.rdb == rdb) << "RDB bytes differ after a restart";
  EXPECT_TRUE(stored.stream == stream) << "stream bytes differ after a restart";
  again.close();
  kv.reset();
  std::filesystem::remove_all(dir);
}

// The next RDB start the reader gets (nullptr after a timeout).
SourceChunkPtr next_rdb_begin(CacheLog* log) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  for (SourceChunkPtr c; (c = next_chunk(log, deadline));) {
    if (c->kind == Kind::kRdbBegin) return c;
  }
  return nullptr;
}

// A resume inside a cached RDB skips what the checkpoint says was applied of it — and of it
// only: the RDB of a later full sync (the source answered FULLRESYNC again) starts at byte 0.
TEST(CacheLog, OnlyTheRdbAResumeStartsInSkipsWhatWasApplied) {
  const std::string dir = test::make_temp_dir("ferry-cache-test");
  std::unique_ptr<KvStore> kv;
  KvStore::Options ko;
  ko.dir = dir;
  ASSERT_TRUE(KvStore::open(ko, &kv).is_ok());
  {
    CacheLog log(kv.get(), "in", CacheLogOptions());
    ASSERT_TRUE(log.load().is_ok());
    log.read_new_data();
    auto rdb = [&](uint64_t start) {
      auto begin = chunk(Kind::kRdbBegin, start);
      begin->rdb_size = 100;
      EXPECT_EQ(log.append(begin), SourceLog::Append::kOk);
      EXPECT_EQ(log.append(chunk(Kind::kRdbData, 0, std::string(100, 'r'))),
                SourceLog::Append::kOk);
      EXPECT_EQ(log.append(chunk(Kind::kRdbEnd, 0)), SourceLog::Append::kOk);
      EXPECT_EQ(log.append(chunk(Kind::kStreamBegin, start)), SourceLog::Append::kOk);
      EXPECT_EQ(log.append(chunk(Kind::kStreamData, start, std::string(10, 's'))),
                SourceLog::Append::kOk);
    };
    rdb(kStart);
    SourceChunkPtr fresh = next_rdb_begin(&log);
    ASSERT_NE(fresh, nullptr);
    EXPECT_EQ(fresh->skip_until, 0u);
    log.read_rdb(fresh->gen, 60);  // a resume: 60 bytes of it were applied
    SourceChunkPtr first = next_rdb_begin(&log);
    ASSERT_NE(first, nullptr);
    EXPECT_EQ(first->skip_until, 60u);
    rdb(kStart + 5000);
    SourceChunkPtr second = next_rdb_begin(&log);
    ASSERT_NE(second, nullptr);
    EXPECT_EQ(second->offset, kStart + 5000);
    EXPECT_EQ(second->skip_until, 0u);
    log.close();
  }
  kv.reset();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace ferry
