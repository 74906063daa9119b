// ferry into a Redis Cluster target, timed as a user would: from ferry's start until its
// status says the full sync is applied, and from the first write of a burst of pipelined
// commands until ferry has applied the source's offset — beside ferry into a standalone
// target on the same data, and with slot transactions (exactly once per slot) against
// replayTransaction: false. Several rounds, medians; ferry's CPU from /proc. Servers and
// clusters are the tests' (tests/support): real redis-server processes on loopback.
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "bench/harness.h"
#include "tests/support/ferry_process.h"
#include "tests/support/load.h"
#include "tests/support/redis_cluster.h"

namespace ferry::bench {
namespace {

using std::chrono::seconds;

struct Args {
  int keys = 500000;
  int commands = 300000;
  int rounds = 3;
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
    } else {
      std::cerr << "usage: ferry_cluster_bench [--keys N] [--commands N] [--rounds N]\n";
      return 2;
    }
  }
  try {
    return ferry::bench::run(args);
  } catch (const std::exception& e) {
    std::cerr << "ferry_cluster_bench: " << e.what() << "\n";
    return 1;
  }
}
