// The REST API of ../docs (api.md), with real HTTP requests against a running `ferry sync`
// between real redis-servers: every endpoint with good and bad input, checked on the target.
#include <gtest/gtest.h>

#include <atomic>

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/support/ferry_process.h"
#include "tests/support/http_client.h"
#include "tests/support/load.h"
#include "tests/support/redis_server.h"
#include "tests/support/sync_checks.h"

namespace ferry::test {
namespace {

using json = nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

// A source and a target, and ferry syncing them with its API up. With a barrier, a second
// input (never paused) syncs `barrier` into the same target: once a write of it has arrived,
// one written before it to the first input would have arrived too, were it not paused.
struct SyncUnderTest {
  RedisServer source, target, barrier;
  bool with_barrier = false;
  FerryProcess ferry;
  std::string token;

  bool start(const std::string& server_extra = "", const std::string& replay = "") {
    if (!source.start() || !target.start()) return false;
    if (with_barrier && !barrier.start()) return false;
    source.cmd({"DEBUG", "POPULATE", "2000", "k", "16"});
    return start_ferry(server_extra, replay);
  }
  std::string config(const std::string& server_extra, const std::string& replay) {
    std::vector<std::string> inputs = {source.address()};
    if (with_barrier) inputs.push_back(barrier.address());
    std::string c = FerryProcess::config(inputs, target.address(), replay);
    const std::string timeout = "  gracefullStopTimeout: 20s\n";
    if (server_extra.find("gracefullStopTimeout") != std::string::npos) {
      c.erase(c.find(timeout), timeout.size());  // replaced by the test's own
    }
    if (!server_extra.empty()) {
      c.insert(c.find("input:\n"), server_extra);  // more keys of the server section
    }
    return c;
  }
  bool start_ferry(const std::string& server_extra = "", const std::string& replay = "") {
    if (!ferry.start(config(server_extra, replay))) return false;
    return wait_until([&] { return call("GET", "/debug/health").status == 200; }, seconds(30));
  }
  HttpResult call(const std::string& method, const std::string& path) {
    return http(method, ferry.api() + path, token);
  }
  json status() {
    HttpResult r = call("GET", "/syncer/status");
    EXPECT_EQ(r.status, 200) << r.body << r.error;
    return json::parse(r.body, nullptr, false);
  }
  // The first input's status.
  json mine() {
    for (const json& in : status()) {
      if (in["Input"] == source.address()) return in;
    }
    return json::object();
  }
  // Waits until the input applied everything the source wrote.
  bool caught_up(seconds timeout = seconds(60)) {
    return wait_until(
        [&] {
          json in = mine();
          return in.value("AppliedPhase", "") == "stream" &&
                 in["AppliedOffset"] == source.info_int("replication", "master_repl_offset");
        },
        timeout);
  }
  // Waits until the barrier's input applied a new write (see above).
  bool pass_barrier() {
    barrier.cmd({"INCR", "barrier"});
    barrier.cmd({"DEL", "barrier"});                   // leaves the data as it was
    return wait_applied(ferry, barrier, seconds(30));  // (no token in these tests)
  }
};

void expect_equal_data(RedisServer& source, RedisServer& target) {
  std::string detail;
  EXPECT_TRUE(wait_same_digest(source, target, seconds(60), &detail)) << detail;
}

void expect_error(const HttpResult& r, long status, const std::string& mentions) {
  EXPECT_EQ(r.status, status) << r.body << r.error;
  json j = json::parse(r.body, nullptr, false);
  ASSERT_TRUE(j.is_object() && j.contains("error")) << r.body;
  EXPECT_NE(j["error"].get<std::string>().find(mentions), std::string::npos) << r.body;
}

TEST(Api, StatusHasTheContractFieldsSortedByInput) {
  // Three sources; ports compared as numbers, not text: a's port has four digits, so as
  // text it would sort after the others.
  RedisServer a, b, c, target;
  RedisServer::Options four_digits;
  four_digits.port = free_port(9000, 9999);
  ASSERT_TRUE(a.start(four_digits) && b.start() && c.start() && target.start());
  FerryProcess ferry;
  ASSERT_TRUE(
      ferry.start(FerryProcess::config({c.address(), a.address(), b.address()}, target.address())));
  ASSERT_TRUE(wait_until([&] { return http("GET", ferry.api() + "/debug/health").status == 200; },
                         seconds(30)));
  HttpResult r;
  ASSERT_TRUE(wait_until(
      [&] {
        r = http("GET", ferry.api() + "/syncer/status");
        json j = json::parse(r.body, nullptr, false);
        if (!j.is_array() || j.size() != 3) return false;
        for (const auto& in : j) {
          if (in["State"] != "run") return false;
        }
        return true;
      },
      seconds(60)))
      << r.body;
  EXPECT_EQ(r.headers["content-type"], "application/json");
  json j = json::parse(r.body);
  std::vector<int> ports;
  for (const auto& in : j) {
    EXPECT_TRUE(in["Input"].is_string());
    EXPECT_EQ(in["Role"], "leader");
    EXPECT_EQ(in["Transaction"], true);
    EXPECT_EQ(in["State"], "run");
    for (const char* field : {"SourceOffset", "CachedOffset", "AppliedOffset", "LagBytes"}) {
      EXPECT_TRUE(in[field].is_number_unsigned()) << field << " in " << in.dump();
    }
    EXPECT_TRUE(in["LagSeconds"].is_number());
    EXPECT_TRUE(in["FullSync"].is_object());
    std::string addr = in["Input"];
    ports.push_back(std::stoi(addr.substr(addr.find(':') + 1)));
  }
  EXPECT_TRUE(std::is_sorted(ports.begin(), ports.end())) << r.body;
  EXPECT_EQ(ports.front(), a.port()) << r.body;
  EXPECT_EQ(ferry.stop(), 0) << ferry.output();
}

TEST(Api, PauseStopsWritesAndResumeContinuesWithoutAFullSync) {
  SyncUnderTest s;
  s.with_barrier = true;
  ASSERT_TRUE(s.start());
  ASSERT_TRUE(s.caught_up());
  const std::string in = s.source.address();

  // Bad requests change nothing.
  expect_error(s.call("POST", "/syncer/pause"), 400, "inputs");
  expect_error(s.call("POST", "/syncer/pause?inputs="), 400, "inputs");
  expect_error(s.call("POST", "/syncer/pause?inputs=" + in + ",127.0.0.1:1"), 400, "127.0.0.1:1");
  expect_error(s.call("POST", "/syncer/pause?inputs=nonsense"), 400, "nonsense");
  EXPECT_EQ(s.mine()["State"], "run");

  HttpResult r = s.call("POST", "/syncer/pause?inputs=" + in);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(s.call("POST", "/syncer/pause?inputs=" + in + "&flushdb=yes").status, 200);  // no-op
  EXPECT_EQ(s.mine()["State"], "pause");
  for (int i = 0; i < 50; i++)
    s.source.cmd({"INCR", "while-paused"});
  const int64_t offset = s.source.info_int("replication", "master_repl_offset");
  // The source is still drained into the cache; the target sees nothing.
  ASSERT_TRUE(wait_until([&] { return s.mine()["CachedOffset"] == offset; }, seconds(10)));
  ASSERT_TRUE(s.pass_barrier());
  EXPECT_EQ(s.target.cmd({"EXISTS", "while-paused"}).integer, 0);
  EXPECT_LT(s.mine()["AppliedOffset"].get<int64_t>(), offset);

  r = s.call("POST", "/syncer/resume?inputs=" + in);
  EXPECT_EQ(r.status, 200) << r.body;
  expect_error(s.call("POST", "/syncer/resume?inputs=" + in), 409, in);
  ASSERT_TRUE(s.caught_up());
  EXPECT_EQ(s.target.cmd({"GET", "while-paused"}).str, "50");
  expect_equal_data(s.source, s.target);
  EXPECT_EQ(s.source.info_int("stats", "sync_full"), 1);
  EXPECT_EQ(s.ferry.stop(), 0) << s.ferry.output();
}

TEST(Api, RestartKeepsDataAndPausedInputsStayPaused) {
  SyncUnderTest s;
  s.with_barrier = true;
  ASSERT_TRUE(s.start());
  ASSERT_TRUE(s.caught_up());
  ASSERT_EQ(s.call("POST", "/syncer/pause?inputs=" + s.source.address()).status, 200);
  s.source.cmd({"SET", "before-restart", "1"});
  HttpResult r = s.call("POST", "/syncer/restart");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(s.mine()["State"], "pause");
  ASSERT_TRUE(s.pass_barrier());
  EXPECT_EQ(s.target.cmd({"EXISTS", "before-restart"}).integer, 0);
  ASSERT_EQ(s.call("POST", "/syncer/resume?inputs=" + s.source.address()).status, 200);
  s.source.cmd({"SET", "after-restart", "1"});
  ASSERT_TRUE(s.caught_up());
  expect_equal_data(s.source, s.target);
  EXPECT_EQ(s.source.info_int("stats", "sync_full"), 1);
  EXPECT_NE(s.ferry.log().find("restarting every input"), std::string::npos);
  expect_error(s.call("GET", "/syncer/restart"), 405, "POST");
  EXPECT_EQ(s.ferry.stop(), 0) << s.ferry.output();
}

TEST(Api, FullSyncWithFlushdbLeavesEqualDataAndWithoutKeepsExtraKeys) {
  SyncUnderTest s;
  ASSERT_TRUE(s.start());
  ASSERT_TRUE(s.caught_up());
  const std::string in = s.source.address();
  expect_error(s.call("POST", "/syncer/fullsync?inputs=" + in + "&flushdb=maybe"), 400, "maybe");
  expect_error(s.call("POST", "/syncer/fullsync?inputs=127.0.0.1:1"), 400, "127.0.0.1:1");
  EXPECT_EQ(s.source.info_int("stats", "sync_full"), 1);

  // Without flushdb: every source key equal; keys only the target has stay.
  s.target.cmd({"SET", "target-only", "x"});
  // Paused, so that the stream cannot apply the DEL before the full sync starts over.
  ASSERT_EQ(s.call("POST", "/syncer/pause?inputs=all").status, 200);
  s.source.cmd({"DEL", "k:7"});
  s.source.cmd({"SET", "k:8", "changed"});
  HttpResult r = s.call("POST", "/syncer/fullsync?inputs=" + in);
  EXPECT_EQ(r.status, 200) << r.body;
  ASSERT_TRUE(s.caught_up());
  EXPECT_EQ(s.source.info_int("stats", "sync_full"), 2);
  EXPECT_EQ(s.target.cmd({"GET", "target-only"}).str, "x");
  EXPECT_EQ(s.target.cmd({"GET", "k:8"}).str, "changed");
  EXPECT_EQ(s.target.cmd({"EXISTS", "k:7"}).integer, 1);  // deleted at the source meanwhile
  std::map<std::string, std::string> want = key_digests(s.source);
  std::map<std::string, std::string> got = key_digests(s.target);
  for (const auto& [key, digest] : want)
    EXPECT_EQ(got[key], digest) << key;

  // With flushdb: the target equals the source.
  r = s.call("POST", "/syncer/fullsync?inputs=all&flushdb=yes");
  EXPECT_EQ(r.status, 200) << r.body;
  ASSERT_TRUE(s.caught_up());
  EXPECT_EQ(s.source.info_int("stats", "sync_full"), 3);
  expect_equal_data(s.source, s.target);
  EXPECT_EQ(s.target.cmd({"EXISTS", "target-only", "k:7"}).integer, 0);
  EXPECT_EQ(s.ferry.stop(), 0) << s.ferry.output();
}

TEST(Api, FlushdbIsRefusedWhenSourcesShareTheTarget) {
  RedisServer a, b, target;
  ASSERT_TRUE(a.start() && b.start() && target.start());
  a.cmd({"SET", "from-a", "1"});
  b.cmd({"SET", "from-b", "1"});
  FerryProcess ferry;
  ASSERT_TRUE(ferry.start(FerryProcess::config({a.address(), b.address()}, target.address())));
  ASSERT_TRUE(wait_until(
      [&] {
        return target.cmd({"EXISTS", "from-a", "from-b"}).integer == 2;
      },
      seconds(60)));
  expect_error(
      http("POST", ferry.api() + "/syncer/fullsync?inputs=" + a.address() + "&flushdb=yes"), 400,
      "one to one");
  EXPECT_EQ(a.info_int("stats", "sync_full"), 1);
  EXPECT_EQ(target.cmd({"EXISTS", "from-a", "from-b"}).integer, 2);
  EXPECT_EQ(ferry.stop(), 0) << ferry.output();
}

TEST(Api, ConfigIsTheEffectiveOneWithSecretsMasked) {
  // Real credentials on both sides (ACL users) and a token: none may appear.
  RedisServer source, target;
  ASSERT_TRUE(source.start(RedisServer::Options{
      {"--user", "syncer", "on", ">src-pass-9f2", "~*", "&*", "+@all"}, "", ""}));
  ASSERT_TRUE(target.start(RedisServer::Options{
      {"--user", "writer", "on", ">dst-pass-4c1", "~*", "&*", "+@all"}, "", ""}));
  FerryProcess ferry;
  std::string config = FerryProcess::config({source.address()}, target.address());
  auto add_after = [&](const std::string& at, const std::string& text) {
    config.insert(config.find(at) + at.size(), text);
  };
  add_after("gracefullStopTimeout: 20s\n", "  apiToken: tok-7d3e\n");
  add_after("input:\n  redis:\n", "    userName: syncer\n    password: src-pass-9f2\n");
  add_after("output:\n  redis:\n", "    userName: writer\n    password: dst-pass-4c1\n");
  config += "cluster:\n  metaEtcd:\n    password: etcd-pass-2b8\n";
  source.cmd({"SET", "auth-ok", "1"});
  ASSERT_TRUE(ferry.start(config)) << config;
  ASSERT_TRUE(wait_until(
      [&] {
        return target.cmd({"EXISTS", "auth-ok"}).integer == 1;
      },
      seconds(60)))
      << ferry.log() << config;

  HttpResult yaml = http("GET", ferry.api() + "/syncer/config", "tok-7d3e");
  HttpResult js = http("GET", ferry.api() + "/syncer/config?format=json", "tok-7d3e");
  ASSERT_EQ(yaml.status, 200) << yaml.body;
  ASSERT_EQ(js.status, 200) << js.body;
  for (const HttpResult* r : {&yaml, &js}) {
    for (const char* secret : {"src-pass-9f2", "dst-pass-4c1", "tok-7d3e", "etcd-pass-2b8"}) {
      EXPECT_EQ(r->body.find(secret), std::string::npos) << secret << " in " << r->body;
    }
  }
  json j = json::parse(js.body);
  EXPECT_EQ(j["input"]["redis"]["password"], "******");
  EXPECT_EQ(j["output"]["redis"]["password"], "******");
  EXPECT_EQ(j["server"]["apiToken"], "******");
  EXPECT_EQ(j["cluster"]["metaEtcd"]["password"], "******");
  EXPECT_EQ(j["input"]["redis"]["userName"], "syncer");
  EXPECT_EQ(j["output"]["replay"]["batchCmdCount"], 100);  // a default, filled in
  EXPECT_EQ(j["server"]["gracefullStopTimeout"], "20s");
  EXPECT_NE(yaml.body.find("gracefullStopTimeout: 20s"), std::string::npos) << yaml.body;
  EXPECT_NE(yaml.body.find("password: \"******\""), std::string::npos) << yaml.body;
  expect_error(http("GET", ferry.api() + "/syncer/config?format=xml", "tok-7d3e"), 400, "xml");
  EXPECT_EQ(ferry.stop(), 0) << ferry.output();
}

TEST(Api, TokenIsRequiredButNotForHealthAndMetrics) {
  SyncUnderTest s;
  s.token = "t0ken";
  ASSERT_TRUE(s.start("  apiToken: t0ken\n"));
  ASSERT_TRUE(s.caught_up());
  const std::string base = s.ferry.api();
  for (const auto& [method, path] : std::vector<std::pair<std::string, std::string>>{
           {"GET", "/syncer/status"},
           {"GET", "/syncer/config"},
           {"POST", "/syncer/pause?inputs=all"},
           {"POST", "/syncer/fullsync?inputs=all&flushdb=yes"},
           {"GET", "/storage/gc"},
           {"DELETE", "/"}}) {
    expect_error(http(method, base + path), 401, "Authorization");
    expect_error(http(method, base + path, "wrong"), 401, "Authorization");
  }
  EXPECT_EQ(http("GET", base + "/debug/health").status, 200);
  EXPECT_EQ(http("GET", base + "/prometheus").status, 200);
  EXPECT_EQ(http("GET", base + "/syncer/status", "t0ken").status, 200);
  // Nothing was done by the refused requests.
  EXPECT_EQ(s.source.info_int("stats", "sync_full"), 1);
  EXPECT_TRUE(s.ferry.running());
  EXPECT_EQ(s.ferry.stop(), 0) << s.ferry.output();
}

bool is_name_char(char c, bool first) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':' ||
         (!first && std::isdigit(static_cast<unsigned char>(c)));
}

// One sample line "name{label="value",...} value": its name, its label block (with the
// braces, as written) and its value. False when the line is not valid exposition text.
bool parse_sample(const std::string& line, std::string* name, std::string* labels, double* value) {
  size_t i = 0;
  while (i < line.size() && is_name_char(line[i], i == 0))
    i++;
  if (i == 0) return false;
  *name = line.substr(0, i);
  size_t labels_start = i;
  if (i < line.size() && line[i] == '{') {
    i++;
    while (i < line.size() && line[i] != '}') {
      size_t n = i;
      while (i < line.size() && is_name_char(line[i], i == n))
        i++;
      if (i == n || i + 1 >= line.size() || line[i] != '=' || line[i + 1] != '"') return false;
      i += 2;
      while (i < line.size() && line[i] != '"') {
        if (line[i] == '\\') i++;  // an escaped character
        i++;
      }
      if (i >= line.size()) return false;
      i++;  // the closing quote
      if (i < line.size() && line[i] == ',') i++;
    }
    if (i >= line.size()) return false;
    i++;  // '}'
  }
  *labels = line.substr(labels_start, i - labels_start);
  if (i >= line.size() || line[i] != ' ') return false;
  std::string v = line.substr(i + 1);
  if (v == "+Inf") {
    *value = INFINITY;
    return true;
  }
  if (v == "-Inf") {
    *value = -INFINITY;
    return true;
  }
  if (v == "NaN") {
    *value = NAN;
    return true;
  }
  char* end = nullptr;
  *value = std::strtod(v.c_str(), &end);
  return !v.empty() && end == v.c_str() + v.size();
}

// Parses the Prometheus text format strictly; returns "name{labels}" -> value, and fails
// the test on any line that is not valid exposition text or a sample of an undeclared type.
std::map<std::string, double> parse_exposition(const std::string& text) {
  std::map<std::string, std::string> types;
  std::map<std::string, double> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    start = end + 1;
    if (line.empty()) continue;
    if (line.rfind("# HELP ", 0) == 0) continue;
    if (line.rfind("# TYPE ", 0) == 0) {
      std::string rest = line.substr(7);
      size_t sp = rest.find(' ');
      if (sp == std::string::npos) {
        ADD_FAILURE() << "malformed TYPE line: " << line;
        continue;
      }
      std::string type = rest.substr(sp + 1);
      EXPECT_TRUE(type == "counter" || type == "gauge" || type == "histogram" ||
                  type == "summary" || type == "untyped")
          << line;
      types[rest.substr(0, sp)] = type;
      continue;
    }
    std::string name, labels;
    double value = 0;
    if (!parse_sample(line, &name, &labels, &value)) {
      ADD_FAILURE() << "not exposition text: " << line;
      continue;
    }
    std::string family = name;
    for (const std::string sfx : {"_bucket", "_sum", "_count"}) {
      if (!types.count(family) && name.size() > sfx.size() &&
          name.compare(name.size() - sfx.size(), sfx.size(), sfx) == 0) {
        family = name.substr(0, name.size() - sfx.size());
      }
    }
    EXPECT_TRUE(types.count(family)) << "no TYPE before " << line;
    out[name + labels] = value;
  }
  return out;
}

TEST(Api, MetricsAreValidExpositionAndTheirCountersMove) {
  SyncUnderTest s;
  ASSERT_TRUE(s.start());
  ASSERT_TRUE(s.caught_up());
  const std::string in = "input=\"" + s.source.address() + "\"";
  HttpResult r = s.call("GET", "/prometheus");
  ASSERT_EQ(r.status, 200);
  EXPECT_NE(r.headers["content-type"].find("text/plain"), std::string::npos);
  std::map<std::string, double> before = parse_exposition(r.body);
  for (const char* name :
       {"ferry_source_offset_bytes", "ferry_cached_offset_bytes", "ferry_applied_offset_bytes",
        "ferry_lag_bytes", "ferry_lag_seconds", "ferry_rdb_keys_applied", "ferry_cache_bytes",
        "ferry_batches_total", "ferry_batch_write_seconds_count"}) {
    EXPECT_TRUE(before.count(std::string(name) + "{" + in + "}")) << name << "\n" << r.body;
  }
  EXPECT_EQ(before["ferry_rdb_keys_applied{" + in + "}"], 2000);
  EXPECT_EQ(before["ferry_full_syncs_total{" + in + ",reason=\"no_resume_point\"}"], 1);
  EXPECT_EQ(before["ferry_input_state{" + in + ",state=\"run\"}"], 1);
  EXPECT_GT(before["ferry_process_resident_memory_bytes"], 1e6);
  EXPECT_GT(before["ferry_process_threads"], 1);
  EXPECT_EQ(before["ferry_build_info{version=\"0.1.0\"}"], 1);

  for (int i = 0; i < 100; i++)
    s.source.cmd({"INCR", "counter"});
  ASSERT_TRUE(s.caught_up());
  std::map<std::string, double> after = parse_exposition(s.call("GET", "/prometheus").body);
  const std::string incr = "{" + in + ",command=\"incr\"}";
  EXPECT_EQ(after["ferry_commands_received_total" + incr] -
                before["ferry_commands_received_total" + incr],
            100);
  EXPECT_EQ(
      after["ferry_commands_applied_total" + incr] - before["ferry_commands_applied_total" + incr],
      100);
  EXPECT_GT(after["ferry_batches_total{" + in + "}"], before["ferry_batches_total{" + in + "}"]);
  EXPECT_GT(after["ferry_applied_offset_bytes{" + in + "}"],
            before["ferry_applied_offset_bytes{" + in + "}"]);
  EXPECT_EQ(after["ferry_lag_bytes{" + in + "}"], 0);
  EXPECT_EQ(after["ferry_batch_write_seconds_bucket{" + in + ",le=\"+Inf\"}"],
            after["ferry_batch_write_seconds_count{" + in + "}"]);
  EXPECT_EQ(s.ferry.stop(), 0) << s.ferry.output();
}

TEST(Api, GcHandoverAndUnknownRequests) {
  SyncUnderTest s;
  ASSERT_TRUE(s.start());
  ASSERT_TRUE(s.caught_up());
  for (const char* method : {"GET", "POST"}) {
    HttpResult r = s.call(method, "/storage/gc");
    ASSERT_EQ(r.status, 200) << r.body;
    json j = json::parse(r.body);
    EXPECT_TRUE(j["freed_bytes"].is_number_unsigned()) << r.body;
  }
  expect_error(s.call("POST", "/syncer/handover?inputs=all"), 409, "cluster mode");
  expect_error(s.call("POST", "/syncer/handover?inputs=127.0.0.1:1"), 400, "127.0.0.1:1");
  expect_error(s.call("GET", "/no/such/thing"), 404, "/no/such/thing");
  HttpResult r = s.call("GET", "/syncer/pause");
  expect_error(r, 405, "POST");
  EXPECT_EQ(r.headers["allow"], "POST");
  expect_error(s.call("POST", "/syncer/status"), 405, "GET");
  expect_error(s.call("PUT", "/"), 405, "DELETE");
  EXPECT_EQ(s.call("GET", "/debug/health").status, 200);
  EXPECT_EQ(s.source.info_int("stats", "sync_full"), 1);
  EXPECT_EQ(s.ferry.stop(), 0) << s.ferry.output();
}

// A source removed from the configuration: GC reclaims its cached data and says how much
// (no more than what its source ever sent), once.
TEST(Api, GcReclaimsARemovedInputAndSaysHowMuch) {
  RedisServer a, b, target;
  ASSERT_TRUE(a.start() && b.start() && target.start());
  b.cmd({"DEBUG", "POPULATE", "20000", "k", "64"});
  FerryProcess ferry;
  const std::string cache = "channel:\n  storer:\n    dirPath: " + ferry.dir() + "/cache\n";
  ASSERT_TRUE(
      ferry.start(FerryProcess::config({a.address(), b.address()}, target.address()) + cache));
  ASSERT_TRUE(wait_applied(ferry, b, seconds(60))) << ferry.log();
  EXPECT_EQ(ferry.stop(), 0) << ferry.output();
  ASSERT_TRUE(ferry.start(FerryProcess::config({a.address()}, target.address()) + cache));
  ASSERT_TRUE(wait_applied(ferry, a, seconds(60))) << ferry.log();
  HttpResult r = http("POST", ferry.api() + "/storage/gc");
  ASSERT_EQ(r.status, 200) << r.body;
  uint64_t freed = json::parse(r.body)["freed_bytes"].get<uint64_t>();
  uint64_t sent =
      static_cast<uint64_t>(b.info_int("memory", "used_memory_dataset")) + source_offset(b);
  EXPECT_GT(freed, 0u) << r.body;
  EXPECT_LT(freed, 2 * sent) << r.body;  // an underflow would be ~2^64
  r = http("POST", ferry.api() + "/storage/gc");
  EXPECT_EQ(json::parse(r.body)["freed_bytes"].get<uint64_t>(), 0u) << r.body;
  EXPECT_EQ(ferry.stop(), 0) << ferry.output();
}

// A web page in a browser on the same host can send requests to the API: those that change
// something are refused when the browser says they come from another site.
TEST(Api, BrowserOriginatedMutationsAreRefused) {
  SyncUnderTest s;
  ASSERT_TRUE(s.start());
  ASSERT_TRUE(s.caught_up());
  const std::string url = s.ferry.api() + "/syncer/pause?inputs=all";
  for (const std::vector<std::string>& headers :
       {std::vector<std::string>{"Origin: http://evil.example"},
        std::vector<std::string>{"Sec-Fetch-Site: cross-site"},
        std::vector<std::string>{"Origin: http://evil.example:8080",
                                 "Sec-Fetch-Site: same-site"}}) {
    HttpResult r = http("POST", url, "", headers);
    expect_error(r, 403, "web page");
    EXPECT_EQ(s.mine()["State"], "run") << headers[0];
  }
  expect_error(http("POST", s.ferry.api() + "/storage/gc", "", {"Origin: http://evil.example"}),
               403, "web page");
  // Reads are answered; the API's own origin may change things.
  EXPECT_EQ(
      http("GET", s.ferry.api() + "/syncer/status", "", {"Origin: http://evil.example"}).status,
      200);
  const std::string own = "Origin: " + s.ferry.api();
  EXPECT_EQ(http("POST", url, "", {own, "Sec-Fetch-Site: same-origin"}).status, 200);
  EXPECT_EQ(s.mine()["State"], "pause");
  EXPECT_EQ(http("POST", s.ferry.api() + "/syncer/resume?inputs=all").status, 200);
  EXPECT_EQ(s.ferry.stop(), 0) << s.ferry.output();
}

// A restart waits for an unreachable target for seconds; meanwhile health, readiness and
// metrics still answer at once.
TEST(Api, HealthAndMetricsAnswerWhileARestartRuns) {
  SyncUnderTest s;
  ASSERT_TRUE(s.start());
  ASSERT_TRUE(s.caught_up());
  s.target.stop();
  std::atomic<bool> restarted{false};
  std::thread restart([&] {
    s.call("POST", "/syncer/restart");
    restarted = true;
  });
  // The restart is under way once the log says so.
  EXPECT_TRUE(s.ferry.wait_for_log("restarting every input", seconds(30)));
  int answered = 0;
  for (int i = 0; i < 10 && !restarted; i++) {
    HttpResult h = http("GET", s.ferry.api() + "/debug/health", "", {}, 2);
    HttpResult m = http("GET", s.ferry.api() + "/prometheus", "", {}, 2);
    EXPECT_EQ(h.status, 200) << h.error;
    EXPECT_EQ(m.status, 200) << m.error;
    answered++;
  }
  EXPECT_FALSE(restarted) << "the restart ended before the checks: nothing was proven";
  EXPECT_EQ(answered, 10);
  restart.join();
  ASSERT_TRUE(s.target.restart());
  EXPECT_EQ(s.ferry.stop(), 0) << s.ferry.output();
}

TEST(Api, DeleteExitsZeroAndARestartResumesWithoutAFullSync) {
  SyncUnderTest s;
  ASSERT_TRUE(s.start());
  // The full sync must be over before the stop: a stop during it rightly
  // makes the restart take a new one.
  s.source.cmd({"SET", "full-sync-done", "1"});
  ASSERT_TRUE(s.caught_up());
  for (int i = 0; i < 200; i++)
    s.source.cmd({"RPUSH", "list", std::to_string(i)});
  HttpResult r = s.call("DELETE", "/");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(json::parse(r.body)["result"], "stopping");
  EXPECT_EQ(s.ferry.wait_exit(seconds(30)), 0) << s.ferry.output();
  EXPECT_NE(s.ferry.log().find("stopped"), std::string::npos);
  for (int i = 0; i < 200; i++)
    s.source.cmd({"RPUSH", "list", std::to_string(i)});
  ASSERT_TRUE(s.start_ferry());
  ASSERT_TRUE(s.caught_up());
  expect_equal_data(s.source, s.target);
  EXPECT_EQ(s.source.info_int("stats", "sync_full"), 1);
  EXPECT_EQ(s.target.cmd({"LLEN", "list"}).integer, 400);
  EXPECT_EQ(s.ferry.stop(), 0) << s.ferry.output();
}

TEST(Api, AStopCutShortByTheTimeoutExitsOneAndLosesNothing) {
  SyncUnderTest s;
  ASSERT_TRUE(s.start("  gracefullStopTimeout: 1s\n"));
  s.source.cmd({"SET", "stream-flows", "1"});
  ASSERT_TRUE(s.caught_up());
  s.target.freeze();
  for (int i = 0; i < 300; i++)
    s.source.cmd({"INCR", "during-freeze"});
  ASSERT_TRUE(wait_received(s.ferry, s.source, seconds(30)));
  std::string before = s.status().dump();
  HttpResult r = s.call("DELETE", "/");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(s.ferry.wait_exit(seconds(30)), 1)
      << before << s.source.log() << s.ferry.output() << s.ferry.log();
  EXPECT_NE(s.ferry.output().find("graceful stop timed out"), std::string::npos)
      << s.ferry.output();
  s.target.unfreeze();
  ASSERT_TRUE(s.start_ferry());
  ASSERT_TRUE(s.caught_up());
  expect_equal_data(s.source, s.target);
  EXPECT_EQ(s.target.cmd({"GET", "during-freeze"}).str, "300");
  EXPECT_EQ(s.source.info_int("stats", "sync_full"), 1);
  EXPECT_EQ(s.ferry.stop(), 0) << s.ferry.output();
}

}  // namespace
}  // namespace ferry::test
