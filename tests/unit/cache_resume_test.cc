// The local cache across crashes, and the resume decision built on it. A fault-injecting
// store (tests/support/fault_store.h) loses what was not synced — all of it, or all but a
// prefix of the batches — and a new CacheLog must still load, hold a byte-exact prefix of
// what the source sent, and never claim an applied position past what it holds. plan_resume
// is checked case by case. The formats refuse what a newer ferry wrote.
#include <gtest/gtest.h>

#include <random>
#include <thread>

#include "pipeline/resume.h"
#include "storage/cache_format.h"
#include "storage/cache_log.h"
#include "tests/support/fault_store.h"

namespace ferry {
namespace {

using Kind = SourceChunk::Kind;
using test::FaultStore;
const std::string kReplid(40, 'a');
constexpr uint64_t kStart = 5000;  // the +FULLRESYNC offset

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

// What a reader gets from the log until it has nothing more.
struct ReadBack {
  std::string rdb, stream;
  bool rdb_end = false;
  uint64_t stream_first = 0;
};

ReadBack drain(CacheLog* log) {
  ReadBack r;
  SourceChunkPtr c;
  bool first_stream = true;
  while (log->try_read(&c)) {
    if (c->kind == Kind::kRdbData) {
      EXPECT_EQ(c->offset, r.rdb.size());
      r.rdb += c->data;
    } else if (c->kind == Kind::kRdbEnd) {
      r.rdb_end = true;
    } else if (c->kind == Kind::kStreamData) {
      if (first_stream) r.stream_first = c->offset;
      first_stream = false;
      r.stream += c->data;
    }
  }
  return r;
}

// A source's full sync and stream, appended in random pieces.
struct Sent {
  std::string rdb, stream;
  bool rdb_complete = true;
};

// Appends `sent` to `log` while a reader follows and marks what it read as applied (as the
// graph would); the store is synced now and then (as the flusher would).
void append_following(CacheLog* log, FaultStore* store, const Sent& sent, std::mt19937* rng) {
  auto begin = chunk(Kind::kRdbBegin, kStart);
  begin->rdb_size = sent.rdb.size();
  ASSERT_EQ(log->append(begin), SourceLog::Append::kOk);
  uint64_t read_rdb = 0, read_stream = 0;
  auto follow = [&] {
    SourceChunkPtr c;
    while (log->try_read(&c)) {
      cache::LocalCheckpoint cp;
      cp.gen = c->gen;
      cp.replid = kReplid;
      if (c->kind == Kind::kRdbData) {
        read_rdb = c->offset + c->data.size();
        cp.rdb = true;
        cp.offset = read_rdb;
        if ((*rng)() % 3 == 0) log->set_applied(cp);
      } else if (c->kind == Kind::kStreamData) {
        read_stream = c->offset + c->data.size();
        cp.offset = read_stream;
        if ((*rng)() % 3 == 0) log->set_applied(cp);
      }
    }
  };
  for (size_t at = 0; at < sent.rdb.size();) {
    size_t n = std::min<size_t>(sent.rdb.size() - at, 1 + (*rng)() % 20000);
    ASSERT_EQ(log->append(chunk(Kind::kRdbData, at, sent.rdb.substr(at, n))),
              SourceLog::Append::kOk);
    at += n;
    if ((*rng)() % 5 == 0) store->sync_wal();
    follow();
  }
  if (!sent.rdb_complete) return;
  ASSERT_EQ(log->append(chunk(Kind::kRdbEnd, 0)), SourceLog::Append::kOk);
  ASSERT_EQ(log->append(chunk(Kind::kStreamBegin, kStart)), SourceLog::Append::kOk);
  for (size_t at = 0; at < sent.stream.size();) {
    size_t n = std::min<size_t>(sent.stream.size() - at, 1 + (*rng)() % 3000);
    ASSERT_EQ(log->append(chunk(Kind::kStreamData, kStart + at, sent.stream.substr(at, n))),
              SourceLog::Append::kOk);
    at += n;
    if ((*rng)() % 7 == 0) store->sync_wal();
    follow();
  }
  log->save_applied();
}

TEST(CacheFaults, APowerLossKeepsAnExactPrefixAndACheckpointWithinIt) {
  for (uint32_t seed = 1; seed <= 40; seed++) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    FaultStore store;
    Sent sent;
    sent.rdb = random_bytes(&rng, 1 + rng() % 200000);
    sent.stream = random_bytes(&rng, rng() % 100000);
    sent.rdb_complete = rng() % 4 != 0;
    {
      CacheLog log(&store, "in", CacheLogOptions());
      ASSERT_TRUE(log.load().is_ok());
      log.read_new_data();
      ASSERT_NO_FATAL_FAILURE(append_following(&log, &store, sent, &rng));
    }  // the persister writes what is staged, unsynced
    store.crash(rng() % (store.unsynced() + 1));

    CacheLog after(&store, "in", CacheLogOptions());
    ASSERT_TRUE(after.load().is_ok());
    const auto& gens = after.meta().gens;
    ASSERT_LE(gens.size(), 1u);
    if (gens.empty()) continue;
    const cache::Generation& g = gens[0];
    EXPECT_LE(g.rdb_bytes, sent.rdb.size());
    after.read_rdb(g.id, 0);
    ReadBack back = drain(&after);
    EXPECT_TRUE(back.rdb == sent.rdb.substr(0, back.rdb.size())) << "RDB bytes differ";
    if (back.rdb_end) {
      EXPECT_EQ(back.rdb.size(), sent.rdb.size());
      EXPECT_TRUE(back.stream == sent.stream.substr(0, back.stream.size())) << "stream differs";
      EXPECT_EQ(g.stream_end, kStart + back.stream.size());
    }
    // The applied position names data the cache still holds.
    if (auto cp = after.local_checkpoint()) {
      if (cp->rdb) {
        EXPECT_LE(cp->offset, g.rdb_bytes);
      } else {
        EXPECT_TRUE(g.rdb_complete);
        EXPECT_LE(cp->offset, g.stream_end);
        Checkpoint target;
        target.position.phase = SourcePosition::Phase::kStream;
        target.position.replid = cp->replid;
        target.position.offset = cp->offset;
        ResumePlan plan = plan_resume(after, target, false);
        EXPECT_EQ(plan.read, ResumePlan::Read::kStream) << plan.reason;
        EXPECT_EQ(plan.psync_offset, g.stream_end);
        after.read_stream(plan.gen, plan.offset, 0);
        ReadBack from = drain(&after);
        EXPECT_TRUE(from.stream == sent.stream.substr(cp->offset - kStart, from.stream.size()));
        EXPECT_EQ(cp->offset + from.stream.size(), g.stream_end);
      }
    }
  }
}

// A cache with one generation: its whole RDB and `stream` bytes of its stream.
Sent fill(CacheLog* log, FaultStore* store, size_t rdb, size_t stream, bool complete = true) {
  std::mt19937 rng(3);
  Sent sent;
  sent.rdb = random_bytes(&rng, rdb);
  sent.stream = random_bytes(&rng, stream);
  sent.rdb_complete = complete;
  append_following(log, store, sent, &rng);
  // Let the persister write everything (each gc() waits for one of its rounds).
  for (int i = 0; i < 100; i++) {
    log->gc(false);
    const auto& gens = log->meta().gens;
    if (!gens.empty() && gens[0].rdb_bytes == rdb &&
        (!complete || log->durable_offset() == kStart + stream)) {
      break;
    }
  }
  log->save_applied();
  return sent;
}

Checkpoint at(SourcePosition::Phase phase, const std::string& replid, uint64_t offset,
              uint64_t rdb_start = kStart) {
  Checkpoint cp;
  cp.position.phase = phase;
  cp.position.replid = replid;
  cp.position.offset = offset;
  cp.position.rdb_start = rdb_start;
  return cp;
}

TEST(PlanResume, EveryCase) {
  using Phase = SourcePosition::Phase;
  FaultStore empty_store;
  CacheLog empty(&empty_store, "in", CacheLogOptions());
  ASSERT_TRUE(empty.load().is_ok());
  ResumePlan p = plan_resume(empty, std::nullopt, true);
  EXPECT_EQ(p.read, ResumePlan::Read::kNewData);
  EXPECT_TRUE(p.psync_replid.empty());
  EXPECT_FALSE(p.drop_cache);
  EXPECT_EQ(p.reason, "full sync: first start");

  FaultStore store;
  CacheLog log(&store, "in", CacheLogOptions());
  ASSERT_TRUE(log.load().is_ok());
  log.read_new_data();
  fill(&log, &store, 10000, 3000);
  ASSERT_EQ(log.meta().gens.size(), 1u);
  const uint32_t gen = log.meta().gens[0].id;
  const uint64_t tail = kStart + 3000;

  // No checkpoint: the cached RDB into an empty target; a full sync into a full one.
  p = plan_resume(log, std::nullopt, true);
  EXPECT_EQ(p.read, ResumePlan::Read::kRdb);
  EXPECT_EQ(p.gen, gen);
  EXPECT_EQ(p.offset, 0u);
  EXPECT_EQ(p.psync_replid, kReplid);
  EXPECT_EQ(p.psync_offset, tail);
  p = plan_resume(log, std::nullopt, false);
  EXPECT_TRUE(p.drop_cache);
  EXPECT_TRUE(p.psync_replid.empty());

  // In the cached stream: replay from it, continue the link at the tail.
  p = plan_resume(log, at(Phase::kStream, kReplid, kStart + 1234), false);
  EXPECT_EQ(p.read, ResumePlan::Read::kStream);
  EXPECT_EQ(p.offset, kStart + 1234);
  EXPECT_EQ(p.psync_offset, tail);
  EXPECT_FALSE(p.drop_cache);
  // At the very tail, too.
  EXPECT_EQ(plan_resume(log, at(Phase::kStream, kReplid, tail), false).read,
            ResumePlan::Read::kStream);
  // Beyond what is cached, or of another history: ask the source for exactly that.
  for (const Checkpoint& cp : {at(Phase::kStream, kReplid, tail + 1),
                               at(Phase::kStream, std::string(40, 'b'), kStart + 10)}) {
    p = plan_resume(log, cp, false);
    EXPECT_EQ(p.read, ResumePlan::Read::kNewData);
    EXPECT_TRUE(p.drop_cache);
    EXPECT_EQ(p.psync_replid, cp.position.replid);
    EXPECT_EQ(p.psync_offset, cp.position.offset);
  }
  // Inside the cached RDB: replay it, skipping what was applied.
  p = plan_resume(log, at(Phase::kRdb, kReplid, 4000), false);
  EXPECT_EQ(p.read, ResumePlan::Read::kRdb);
  EXPECT_EQ(p.offset, 4000u);
  EXPECT_EQ(p.psync_offset, tail);
  // Inside an RDB the cache does not hold: a full sync.
  p = plan_resume(log, at(Phase::kRdb, kReplid, 4000, kStart + 1), false);
  EXPECT_TRUE(p.drop_cache);
  EXPECT_TRUE(p.psync_replid.empty());

  // An RDB cut short is no resume point.
  FaultStore cut_store;
  CacheLog cut(&cut_store, "in", CacheLogOptions());
  ASSERT_TRUE(cut.load().is_ok());
  cut.read_new_data();
  fill(&cut, &cut_store, 10000, 0, false);
  p = plan_resume(cut, at(Phase::kRdb, kReplid, 100), false);
  EXPECT_TRUE(p.drop_cache);
  p = plan_resume(cut, std::nullopt, true);
  EXPECT_TRUE(p.drop_cache);
  EXPECT_TRUE(p.psync_replid.empty());
}

// A full disk is a full cache, never a crash: what was only staged is dropped (the source
// still has it: only what is stored is acknowledged), appends answer kFull, and once there
// is room the writer continues from what the log kept — the bytes read back are exact.
TEST(CacheFaults, AFullDiskLetsGoAndContinuesFromWhatWasKept) {
  FaultStore store;
  CacheLog log(&store, "in", CacheLogOptions());
  ASSERT_TRUE(log.load().is_ok());
  log.read_new_data();
  std::mt19937 rng(11);
  const Sent sent = fill(&log, &store, 3000, 5000);
  ASSERT_EQ(log.durable_offset(), kStart + sent.stream.size());
  std::string stream = sent.stream;
  store.set_full(true);
  // Appends go on until the persister meets the full disk.
  SourceLog::Append a = SourceLog::Append::kOk;
  for (int i = 0; i < 1000 && a == SourceLog::Append::kOk; i++) {
    std::string data = random_bytes(&rng, 100);
    a = log.append(chunk(Kind::kStreamData, kStart + stream.size(), data));
    if (a == SourceLog::Append::kOk) stream += data;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_EQ(a, SourceLog::Append::kFull);
  EXPECT_FALSE(log.has_room());
  EXPECT_EQ(log.durable_offset(), kStart + sent.stream.size());
  uint64_t kept = 0;
  ASSERT_EQ(log.continue_point(&kept), SourceLog::Continue::kAt);
  EXPECT_EQ(kept, kStart + sent.stream.size());
  store.set_full(false);
  ASSERT_TRUE(log.has_room());
  // The writer continues from what the log kept.
  stream.resize(kept - kStart);
  for (int i = 0; i < 20; i++) {
    std::string data = random_bytes(&rng, 300);
    ASSERT_EQ(log.append(chunk(Kind::kStreamData, kStart + stream.size(), data)),
              SourceLog::Append::kOk);
    stream += data;
  }
  for (int i = 0; i < 100 && log.durable_offset() < kStart + stream.size(); i++)
    log.gc(false);
  log.read_stream(log.meta().gens[0].id, kStart, 0);
  ReadBack back = drain(&log);
  EXPECT_TRUE(back.stream == stream) << back.stream.size() << " vs " << stream.size();
}

TEST(CacheFormat, ANewerFormatIsRefusedAndAnUnreadableOneDropped) {
  FaultStore store;
  {
    CacheLog log(&store, "in", CacheLogOptions());
    ASSERT_TRUE(log.load().is_ok());
    log.read_new_data();
    fill(&log, &store, 5000, 1000);
  }
  std::string meta;
  bool found = false;
  ASSERT_TRUE(store.get(cache::meta_key("in"), &meta, &found).is_ok());
  ASSERT_TRUE(found);
  // What a newer ferry would write: refused, naming what to do; nothing changed.
  KvStore::Batch newer;
  newer.put(cache::meta_key("in"),
            std::string(1, static_cast<char>(cache::kFormatVersion + 1)) + meta.substr(1));
  ASSERT_TRUE(store.write(newer, true).is_ok());
  {
    CacheLog log(&store, "in", CacheLogOptions());
    Status st = log.load();
    EXPECT_EQ(st.code(), Status::Code::kNotSupported);
    EXPECT_NE(st.message().find("newer"), std::string::npos) << st.message();
    EXPECT_NE(st.message().find("channel.storer.dirPath"), std::string::npos) << st.message();
  }
  EXPECT_GT(store.approximate_size(cache::data_range("in").first, cache::data_range("in").second),
            0u);
  // Garbage: the input's data goes, the cache starts empty.
  KvStore::Batch garbage;
  garbage.put(cache::meta_key("in"),
              std::string(1, static_cast<char>(cache::kFormatVersion)) + "\x07garbage");
  ASSERT_TRUE(store.write(garbage, true).is_ok());
  CacheLog log(&store, "in", CacheLogOptions());
  ASSERT_TRUE(log.load().is_ok());
  EXPECT_TRUE(log.meta().gens.empty());
  EXPECT_EQ(store.approximate_size(cache::data_range("in").first, cache::data_range("in").second),
            0u);
}

}  // namespace
}  // namespace ferry
