// ferry into a Redis Cluster target, timed as a user would: from ferry's start until its
// status says the full sync is applied, and from the first write of a burst of pipelined
// commands until ferry has applied the source's offset — beside ferry into a standalone
// target on the same data, and with slot transactions (exactly once per slot) against
// replayTransaction: false. With --cluster-source: a source cluster into a target cluster
// (3 masters each) against three native replicas syncing the source's masters at once.
// Several rounds, medians; ferry's CPU and peak RSS from /proc. Servers and clusters are the
// tests' (tests/support): real redis-server processes on loopback.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <iostream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "bench/harness.h"
#include "proto/crc16.h"
#include "tests/support/ferry_process.h"
#include "tests/support/http_client.h"
#include "tests/support/load.h"
#include "tests/support/redis_cluster.h"

namespace ferry::bench {
namespace {

using std::chrono::seconds;

struct Args {
  int keys = 500000;
  int commands = 300000;
  int rounds = 3;
  bool cluster_source = false;  // cluster → cluster against native replicas instead
};

struct Result {
  double full_sync_s = 0, full_sync_cpu = 0;
  double stream_s = 0, stream_cpu = 0;
};

std::string config(const std::string& source, const std::string& target, bool cluster,
                   bool transactions) {
  return "server:\n  listen: 127.0.0.1:" + std::to_string(test::free_port()) +
         "\ninput:\n  redis:\n    addresses: [" + source +
         "]\noutput:\n  redis:\n    addresses: [" + target +
         "]\n    type: " + (cluster ? "cluster" : "standalone") +
         "\n  replay:\n    replayTransaction: " + (transactions ? "true" : "false") + "\n";
}

std::vector<std::vector<std::string>> burst(int n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<std::vector<std::string>> out;
  out.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; i++) {
    std::string k = std::to_string(rng() % 100000);
    switch (i % 3) {
      case 0:
        out.push_back({"INCR", "c:" + k});
        break;
      case 1:
        out.push_back({"SET", "s:" + k, "v" + std::to_string(i)});
        break;
      default:
        out.push_back({"HSET", "h:" + k, "f", std::to_string(i)});
    }
  }
  return out;
}

// One round: a source of `keys` keys, ferry into `target`, then a burst of commands.
Result round(const Args& args, bool cluster, bool transactions, uint32_t seed) {
  test::RedisServer source;
  test::RedisServer standalone;
  test::RedisCluster masters;
  if (!source.start()) throw std::runtime_error("source did not start");
  source.cmd({"DEBUG", "POPULATE", std::to_string(args.keys), "key", "32"});
  std::string target;
  if (cluster) {
    if (!masters.start()) throw std::runtime_error("cluster did not start");
    target = masters.node(0).address();
  } else {
    if (!standalone.start()) throw std::runtime_error("target did not start");
    target = standalone.address();
  }
  test::FerryProcess ferry;
  Result r;
  const int64_t t0 = now_us();
  if (!ferry.start(config(source.address(), target, cluster, transactions))) {
    throw std::runtime_error("ferry did not start");
  }
  auto applied_stream = [&](uint64_t offset) {
    test::json st = test::input_status(ferry);
    return st.is_object() && st.value("AppliedPhase", "") == "stream" &&
           st.value("AppliedOffset", uint64_t{0}) >= offset;
  };
  if (!test::wait_until([&] { return applied_stream(0); }, std::chrono::minutes(10))) {
    throw std::runtime_error("the full sync did not end: " + ferry.log());
  }
  r.full_sync_s = static_cast<double>(now_us() - t0) / 1e6;
  r.full_sync_cpu = proc_stats(ferry.pid()).cpu_seconds;
  auto cmds = burst(args.commands, seed);
  const double cpu0 = proc_stats(ferry.pid()).cpu_seconds;
  const int64_t t1 = now_us();
  if (test::pipeline(source.endpoint(), cmds, 1000) != 0) throw std::runtime_error("burst failed");
  const uint64_t want = test::source_offset(source);
  if (!test::wait_until([&] { return applied_stream(want); }, std::chrono::minutes(10))) {
    throw std::runtime_error("the burst was not applied: " + ferry.log());
  }
  r.stream_s = static_cast<double>(now_us() - t1) / 1e6;
  r.stream_cpu = proc_stats(ferry.pid()).cpu_seconds - cpu0;
  ferry.stop();
  return r;
}

// Cluster → cluster: `keys` keys of 16 bytes, each SET on the source master serving its slot
// (three loaders at once), loaded once for every round.
void load_cluster(test::RedisCluster& source, int keys) {
  std::vector<test::RedisServer*> masters = source.masters();
  std::vector<std::vector<int>> of_master(masters.size());
  std::vector<int> master_of_slot(kClusterSlots, -1);
  for (int s = 0; s < kClusterSlots; s++) {  // one question per slot
    auto it = std::find(masters.begin(), masters.end(), source.master_of_slot(s));
    if (it == masters.end()) throw std::runtime_error("a slot of the source has no master");
    master_of_slot[s] = static_cast<int>(it - masters.begin());
  }
  for (int i = 0; i < keys; i++) {
    const int m = master_of_slot[key_slot("key:" + std::to_string(i))];
    of_master[static_cast<size_t>(m)].push_back(i);
  }
  std::vector<std::thread> loaders;
  std::atomic<bool> failed{false};
  for (size_t m = 0; m < masters.size(); m++) {
    loaders.emplace_back([&, m] {
      const std::vector<int>& ids = of_master[m];
      for (size_t at = 0; at < ids.size(); at += 100000) {
        std::vector<std::vector<std::string>> cmds;
        for (size_t i = at; i < std::min(ids.size(), at + 100000); i++) {
          const std::string n = std::to_string(ids[i]);
          cmds.push_back({"SET", "key:" + n,
                          "value:" + std::string(10 - std::min<size_t>(10, n.size()), '0') + n});
        }
        if (test::pipeline(masters[m]->endpoint(), cmds, 1000) != 0) failed = true;
      }
    });
  }
  for (std::thread& t : loaders)
    t.join();
  if (failed) throw std::runtime_error("loading the source cluster failed");
}

// Three native replicas (plain redis-servers, REPLICAOF) of the source's masters at once:
// from the REPLICAOF commands until every link is up with all of its master's keys.
double native_replicas(test::RedisCluster& source) {
  std::vector<test::RedisServer*> masters = source.masters();
  std::vector<std::unique_ptr<BenchServer>> replicas;
  for (size_t m = 0; m < masters.size(); m++) {
    replicas.push_back(std::make_unique<BenchServer>("native-replica"));
    if (!replicas.back()->start()) throw std::runtime_error("a replica did not start");
  }
  const int64_t t0 = now_us();
  for (size_t m = 0; m < masters.size(); m++) {
    replicas[m]->cmd({"REPLICAOF", "127.0.0.1", std::to_string(masters[m]->port())});
  }
  for (size_t m = 0; m < masters.size(); m++) {
    const int64_t want = masters[m]->cmd({"DBSIZE"}).integer;
    bool up = test::wait_until(
        [&] {
          return replicas[m]->info_str("replication", "master_link_status") == "up" &&
                 replicas[m]->dbsize() >= want;
        },
        std::chrono::minutes(10));
    if (!up) throw std::runtime_error("a native replica did not sync");
  }
  return static_cast<double>(now_us() - t0) / 1e6;
}

struct ClusterRound {
  double seconds = 0, cpu = 0;
  uint64_t peak_rss = 0;
};

// ferry from the source cluster into a new 3-master cluster: from its start until every
// input streams (its RDB applied).
ClusterRound ferry_cluster_round(test::RedisCluster& source, bool transactions) {
  test::RedisCluster target;
  if (!target.start()) throw std::runtime_error("the target cluster did not start");
  const std::string cfg =
      "server:\n  listen: 127.0.0.1:" + std::to_string(test::free_port()) +
      "\ninput:\n  redis:\n    addresses: [" + source.node(0).address() +
      "]\n    type: cluster\n  syncFrom: master\noutput:\n  redis:\n    addresses: [" +
      target.node(0).address() + "]\n    type: cluster\n  replay:\n    replayTransaction: " +
      (transactions ? "true" : "false") + "\n";
  test::FerryProcess ferry;
  const int64_t t0 = now_us();
  if (!ferry.start(cfg)) throw std::runtime_error("ferry did not start");
  auto streaming = [&] {
    test::HttpResult r = test::http("GET", ferry.api() + "/syncer/status");
    test::json all = test::json::parse(r.body, nullptr, false);
    if (!all.is_array() || all.size() != source.masters().size()) return false;
    for (const test::json& row : all) {
      if (row.value("AppliedPhase", "") != "stream") return false;
    }
    return true;
  };
  if (!test::wait_until(streaming, std::chrono::minutes(10))) {
    throw std::runtime_error("the full sync did not end: " + ferry.log());
  }
  ClusterRound r;
  r.seconds = static_cast<double>(now_us() - t0) / 1e6;
  ProcStats st = proc_stats(ferry.pid());
  r.cpu = st.cpu_seconds;
  r.peak_rss = st.peak_rss;
  ferry.stop();
  return r;
}

int run_cluster_source(const Args& args) {
  test::RedisCluster source;
  if (!source.start()) throw std::runtime_error("the source cluster did not start");
  load_cluster(source, args.keys);
  std::cout << "machine: " << machine_description() << "\n";
  std::cout << "source: a 3-master cluster holding " << args.keys
            << " keys of 16 bytes (each SET on its slot's master); target: a new 3-master "
               "cluster each round. Native: three redis-server replicas syncing the three "
               "masters at once. "
            << args.rounds << " rounds, alternating, medians\n\n";
  std::vector<double> native, tx, tx_cpu, plain, plain_cpu;
  std::vector<double> tx_rss, plain_rss;
  for (int i = 0; i < args.rounds; i++) {
    native.push_back(native_replicas(source));
    ClusterRound a = ferry_cluster_round(source, true);
    ClusterRound b = ferry_cluster_round(source, false);
    tx.push_back(a.seconds);
    tx_cpu.push_back(a.cpu);
    tx_rss.push_back(static_cast<double>(a.peak_rss));
    plain.push_back(b.seconds);
    plain_cpu.push_back(b.cpu);
    plain_rss.push_back(static_cast<double>(b.peak_rss));
    std::cerr << "round " << i + 1 << ": native " << native.back() << " s, ferry " << a.seconds
              << " s (slot transactions), " << b.seconds << " s (replayTransaction: false)\n";
  }
  const double n = median(native);
  std::cout
      << "| case | full sync | ratio to native | keys/s | ferry CPU s per M keys | ferry peak "
         "RSS |\n|---|---|---|---|---|---|\n";
  char line[512];
  std::snprintf(line, sizeof(line), "| 3 native replicas | %.2f s | 1.00 | %.0f | | |\n", n,
                args.keys / n);
  std::cout << line;
  auto row = [&](const char* name, const std::vector<double>& t, const std::vector<double>& cpu,
                 const std::vector<double>& rss) {
    const double f = median(t);
    std::snprintf(line, sizeof(line), "| %s | %.2f s | %.2f | %.0f | %.2f | %.0f MiB |\n", name, f,
                  f / n, args.keys / f, median(cpu) / (args.keys / 1e6), median(rss) / (1 << 20));
    std::cout << line << std::flush;
  };
  row("ferry, slot transactions", tx, tx_cpu, tx_rss);
  row("ferry, replayTransaction: false", plain, plain_cpu, plain_rss);
  return 0;
}

int run(const Args& args) {
  struct Case {
    const char* name;
    bool cluster, transactions;
  };
  const Case cases[] = {
      {"standalone → standalone, transactions", false, true},
      {"standalone → cluster (3 masters), slot transactions", true, true},
      {"standalone → cluster (3 masters), replayTransaction: false", true, false}};
  std::cout << "machine: " << machine_description() << "\n";
  std::cout << args.keys << " keys of 32 bytes (DEBUG POPULATE), then " << args.commands
            << " pipelined commands (INCR, SET, HSET over 300k keys); " << args.rounds
            << " rounds, medians\n\n";
  std::cout << "| case | full sync | keys/s | ferry CPU s per M keys | burst applied | "
               "commands/s | ferry CPU s per M commands |\n|---|---|---|---|---|---|---|\n";
  for (const Case& c : cases) {
    std::vector<double> fs, fc, ss, sc;
    for (int i = 0; i < args.rounds; i++) {
      Result r = round(args, c.cluster, c.transactions, static_cast<uint32_t>(i + 1));
      fs.push_back(r.full_sync_s);
      fc.push_back(r.full_sync_cpu);
      ss.push_back(r.stream_s);
      sc.push_back(r.stream_cpu);
    }
    const double f = median(fs), s = median(ss);
    char line[512];
    std::snprintf(line, sizeof(line), "| %s | %.2f s | %.0f | %.2f | %.2f s | %.0f | %.2f |\n",
                  c.name, f, args.keys / f, median(fc) / (args.keys / 1e6), s, args.commands / s,
                  median(sc) / (args.commands / 1e6));
    std::cout << line << std::flush;
  }
  return 0;
}

}  // namespace
}  // namespace ferry::bench

int main(int argc, char** argv) {
  ferry::bench::Args args;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    if (a == "--keys" && i + 1 < argc) {
      args.keys = std::stoi(argv[++i]);
    } else if (a == "--commands" && i + 1 < argc) {
      args.commands = std::stoi(argv[++i]);
    } else if (a == "--rounds" && i + 1 < argc) {
      args.rounds = std::stoi(argv[++i]);
    } else if (a == "--cluster-source") {
      args.cluster_source = true;
    } else {
      std::cerr << "usage: ferry_cluster_bench [--keys N] [--commands N] [--rounds N] "
                   "[--cluster-source]\n";
      return 2;
    }
  }
  try {
    return args.cluster_source ? ferry::bench::run_cluster_source(args) : ferry::bench::run(args);
  } catch (const std::exception& e) {
    std::cerr << "ferry_cluster_bench: " << e.what() << "\n";
    return 1;
  }
}
