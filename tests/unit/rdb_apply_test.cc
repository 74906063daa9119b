// RdbApplier's choices, command by command: RESTORE when the target can load the payload,
// rebuilt commands otherwise (with HPEXPIREAT for hash field TTLs on 7.4+, dropped and
// counted on older targets), keyExists and functionExists modes, expired keys skipped.
#include <gtest/gtest.h>

#include "nodes/rdb_apply.h"
#include "proto/rdb_reader.h"
#include "tests/support/corpus.h"

namespace ferry {
namespace {

using test::corpus_dir;
using test::read_file;

// Every record of an RDB, as the parse stage would hand them to the applier.
struct Records : rdb::RdbSink {
  struct Rec {
    RdbItem item;
    std::string key, value;
  };
  std::vector<Rec> recs;
  bool first_function = true;
  void on_key(const rdb::KeyRecord& r) override {
    Rec rec;
    rec.item.db = r.db;
    rec.item.type = r.type;
    rec.item.expire_ms = r.expire_ms;
    rec.item.idle_s = r.idle_s;
    rec.item.freq = r.freq;
    rec.item.piece = r.piece;
    rec.item.piece_index = r.piece_index;
    rec.item.last_piece = r.last_piece;
    rec.item.end_offset = r.end_offset;
    rec.key.assign(r.key);
    rec.value.assign(r.value);
    recs.push_back(std::move(rec));
  }
  void on_function(std::string_view code) override {
    Rec rec;
    rec.item.kind = RdbItem::Kind::kFunction;
    rec.item.first_function = first_function;
    first_function = false;
    rec.value.assign(code);
    recs.push_back(std::move(rec));
  }
};

Records parse(const std::string& file) {
  Records r;
  rdb::RdbReader reader(rdb::RdbReader::Options(), &r);
  std::string bytes = read_file(corpus_dir() + "/" + file);
  EXPECT_TRUE(reader.feed(bytes).is_ok());
  EXPECT_TRUE(reader.finish().is_ok());
  return r;
}

// The commands as readable lines: arguments joined by spaces (long ones cut).
std::vector<std::string> lines(const CommandList& cmds) {
  std::vector<std::string> out;
  for (size_t i = 0; i < cmds.size(); i++) {
    const auto& c = cmds.cmd(i);
    std::string line;
    for (uint32_t a = 0; a < c.argc; a++) {
      std::string arg(cmds.arg(c, a));
      if (arg.size() > 40) arg = arg.substr(0, 40) + "...";
      line += (a ? " " : "") + arg;
    }
    out.push_back(line);
  }
  return out;
}

struct Applied {
  std::map<std::string, std::vector<std::string>> by_key;
  std::map<std::string, std::vector<ReplyCheck>> checks;
  std::vector<std::string> functions;
};

Applied apply_all(const Records& r, const ReplayConfig& replay, const TargetCaps& caps,
                  RdbApplyStats* stats, int64_t load_time = 0) {
  RdbApplier applier(replay, caps, stats, "test");
  Applied out;
  for (const auto& rec : r.recs) {
    CommandList cmds;
    Status st = applier.apply(rec.item, rec.key, rec.value, load_time, &cmds);
    EXPECT_TRUE(st.is_ok()) << st.to_string();
    auto l = lines(cmds);
    if (rec.item.kind == RdbItem::Kind::kFunction) {
      out.functions.insert(out.functions.end(), l.begin(), l.end());
      continue;
    }
    auto& dst = out.by_key[rec.key];
    dst.insert(dst.end(), l.begin(), l.end());
    for (size_t i = 0; i < cmds.size(); i++)
      out.checks[rec.key].push_back(cmds.cmd(i).check);
  }
  return out;
}

bool has_prefix(const std::vector<std::string>& cmds, const std::string& prefix) {
  return std::any_of(cmds.begin(), cmds.end(),
                     [&](const std::string& c) { return c.rfind(prefix, 0) == 0; });
}

TargetCaps caps(int major, int minor) {
  TargetCaps c;
  c.major = major;
  c.minor = minor;
  c.rdb_version = major >= 8 || (major == 7 && minor >= 4) ? 12 : 10;
  return c;
}

TEST(RdbApply, HashFieldTtlsBecomeHpexpireatOn74) {
  Records r = parse("v12-hashes.rdb");
  ReplayConfig replay;
  replay.replay_rdb_enable_restore = false;
  RdbApplyStats stats;
  Applied a = apply_all(r, replay, caps(7, 4), &stats);
  test::json expected = test::json::parse(read_file(corpus_dir() + "/v12-hashes.json"));
  int checked = 0;
  for (const auto& k : expected["dbs"]["0"]) {
    const auto& cmds = a.by_key[k["key"].get<std::string>()];
    for (const auto& ft : k["field_pexpiretime"]) {
      std::string want = "HPEXPIREAT " + RdbApplier::temp_key(k["key"].get<std::string>()) + " " +
                         std::to_string(ft[1].get<int64_t>()) + " FIELDS 1 " +
                         ft[0].get<std::string>();
      bool found = std::find(cmds.begin(), cmds.end(), want) != cmds.end();
      // Keys rebuilt in pieces carry their commands inside a script; these are small.
      EXPECT_TRUE(found) << want;
      checked++;
    }
  }
  EXPECT_GT(checked, 10);
  EXPECT_EQ(stats.field_ttls_dropped.load(), 0u);
}

TEST(RdbApply, HashFieldTtlsAreDroppedAndCountedBefore74) {
  Records r = parse("v12-hashes.rdb");
  ReplayConfig replay;
  RdbApplyStats stats;
  Applied a = apply_all(r, replay, caps(7, 0), &stats);
  for (const auto& [key, cmds] : a.by_key)
    EXPECT_FALSE(has_prefix(cmds, "HPEXPIREAT")) << key;
  EXPECT_GT(stats.field_ttls_dropped.load(), 10u);
  // Types 7.0 knows are still restored; the hash-with-TTL types are rebuilt.
  EXPECT_TRUE(has_prefix(a.by_key["hash:lp:small"], "RESTORE hash:lp:small"));
  EXPECT_FALSE(has_prefix(a.by_key["hash:lpex:all"], "RESTORE"));
}

TEST(RdbApply, NewTypesAreRestoredWhereTheTargetLoadsThem) {
  Records r = parse("v12-hashes.rdb");
  ReplayConfig replay;
  RdbApplyStats stats;
  Applied a = apply_all(r, replay, caps(7, 4), &stats);
  EXPECT_TRUE(has_prefix(a.by_key["hash:lpex:all"], "RESTORE hash:lpex:all 0 "));
  EXPECT_EQ(stats.rebuilt.load(), 0u);
}

TEST(RdbApply, KeyExistsModes) {
  // Strings go as SET (NX unless replacing), whatever replayRdbEnableRestore says; other
  // types as RESTORE (REPLACE when replacing) or, with RESTORE disabled, rebuilt.
  struct Mode {
    std::string name;
    std::string file, key;
    bool restore;
    std::string want;
    ReplyCheck check;
    bool replace, nx;
  } modes[] = {
      {"replace", "v10-strings.rdb", "str:utf8", true, "SET str:utf8 ", ReplyCheck::kAny, false,
       false},
      {"ignore", "v10-strings.rdb", "str:utf8", true, "SET str:utf8 ", ReplyCheck::kNilIgnored,
       false, true},
      {"error", "v10-strings.rdb", "str:utf8", false, "SET str:utf8 ", ReplyCheck::kNilFatal, false,
       true},
      {"replace", "v10-lists.rdb", "list:lp:small", true, "RESTORE list:lp:small 0 ",
       ReplyCheck::kAny, true, false},
      {"ignore", "v10-lists.rdb", "list:lp:small", true, "RESTORE list:lp:small 0 ",
       ReplyCheck::kBusyKeyIgnored, false, false},
      {"error", "v10-lists.rdb", "list:lp:small", true, "RESTORE list:lp:small 0 ",
       ReplyCheck::kBusyKeyFatal, false, false},
  };
  for (const auto& m : modes) {
    Records r = parse(m.file);
    ReplayConfig replay;
    replay.key_exists = m.name == std::string("replace")  ? KeyExists::kReplace
                        : m.name == std::string("ignore") ? KeyExists::kIgnore
                                                          : KeyExists::kError;
    replay.replay_rdb_enable_restore = m.restore;
    RdbApplyStats stats;
    Applied a = apply_all(r, replay, caps(7, 0), &stats);
    const auto& cmds = a.by_key[m.key];
    ASSERT_EQ(cmds.size(), 1u) << m.name << " " << m.key;
    EXPECT_EQ(cmds[0].rfind(m.want, 0), 0u) << cmds[0];
    bool replace = cmds[0].find(" REPLACE") != std::string::npos;
    bool nx = cmds[0].size() >= 3 && cmds[0].substr(cmds[0].size() - 3) == " NX";
    EXPECT_EQ(replace, m.replace) << cmds[0];
    EXPECT_EQ(nx, m.nx) << cmds[0];
    EXPECT_EQ(a.checks[m.key][0], m.check) << m.name;
  }
}

TEST(RdbApply, StringsWithLruOrLfuInfoKeepRestore) {
  // SET cannot carry an idle time or a frequency: those strings stay RESTOREs.
  for (const char* file : {"v10-lru.rdb", "v10-lfu.rdb"}) {
    Records r = parse(file);
    ReplayConfig replay;
    RdbApplyStats stats;
    Applied a = apply_all(r, replay, caps(7, 0), &stats);
    for (const char* key : {"lru:string", "lru:int"}) {
      std::string k = std::string(key);
      if (std::string(file) == "v10-lfu.rdb") k.replace(0, 3, "lfu");
      const auto& cmds = a.by_key[k];
      ASSERT_EQ(cmds.size(), 1u) << file << ": " << k;
      EXPECT_EQ(cmds[0].rfind("RESTORE " + k + " 0 ", 0), 0u) << cmds[0];
    }
  }
}

TEST(RdbApply, FunctionExistsModes) {
  Records r = parse("v10-functions.rdb");
  ReplayConfig replay;
  RdbApplyStats stats;
  replay.function_exists = FunctionExists::kReplace;
  Applied a = apply_all(r, replay, caps(7, 0), &stats);
  ASSERT_EQ(a.functions.size(), 2u);
  for (const auto& f : a.functions)
    EXPECT_EQ(f.rfind("FUNCTION LOAD REPLACE ", 0), 0u) << f;
  replay.function_exists = FunctionExists::kAppend;
  a = apply_all(r, replay, caps(7, 0), &stats);
  for (const auto& f : a.functions)
    EXPECT_EQ(f.rfind("FUNCTION LOAD #!lua", 0), 0u) << f;
  replay.function_exists = FunctionExists::kFlush;
  a = apply_all(r, replay, caps(7, 0), &stats);
  ASSERT_EQ(a.functions.size(), 3u);
  EXPECT_EQ(a.functions[0], "FUNCTION FLUSH");
}

TEST(RdbApply, KeysExpiredAtLoadTimeAreNotWritten) {
  Records r = parse("v10-expire.rdb");
  ReplayConfig replay;
  RdbApplyStats stats;
  // Every TTL of the file is in the year 2100: load "after" them.
  Applied a = apply_all(r, replay, caps(7, 0), &stats, int64_t{5000000000000});
  for (const auto& [key, cmds] : a.by_key)
    EXPECT_TRUE(cmds.empty()) << key;
  EXPECT_EQ(stats.expired_skipped.load(), 13u);
  Applied b = apply_all(r, replay, caps(7, 0), &stats, 0);
  EXPECT_TRUE(has_prefix(b.by_key["ttl:string"], "SET ttl:string "));
  EXPECT_NE(b.by_key["ttl:string"][0].find(" PXAT 4102"), std::string::npos);
  EXPECT_TRUE(has_prefix(b.by_key["ttl:list:small"], "RESTORE ttl:list:small 4102"));
  EXPECT_NE(b.by_key["ttl:list:small"][0].find(" ABSTTL"), std::string::npos);
}

}  // namespace
}  // namespace ferry
