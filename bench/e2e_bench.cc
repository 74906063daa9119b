// ferry against native Redis replication, side by side in one run (bench/README in the
// project README): full syncs of the same datasets, incremental sync at fixed offered rates
// with replication lag percentiles, and ferry's memory and CPU. It starts its own
// redis-servers on loopback, alternates native replica and ferry for several rounds, and
// reports medians. The clock stops on events (a replica's link up with its load done;
// ferry's "full sync applied"; a probe key seen on the target); equality is verified after,
// untimed.
#include <signal.h>

#include <cinttypes>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "bench/datasets.h"
#include "bench/harness.h"
#include "bench/loadgen.h"

namespace ferry::bench {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

struct Args {
  std::string ferry = FERRY_BINARY;
  int rounds = 3;
  bool quick = false;
  bool smoke = false;  // a tiny run that only checks the harness works
  bool mixed = true;
  bool full_sync = true;  // false: the incremental section only (for quick iterations)
  int load_seconds = 8;
  std::string out;
  std::string micro_json;  // Google Benchmark JSON output to include
  std::string make_rdbs;   // write mixed.rdb and strings.rdb into this directory, then exit
  double mixed_scale = 0;  // --make-rdbs: the mixed dataset's scale (1.0: the ~1 GB set)
};

void log(const std::string& line) {
  std::cerr << "[bench] " << line << std::endl;
}

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), f, v);
  return buf;
}

std::string mib(uint64_t bytes) {
  return fmt("%.0f MiB", static_cast<double>(bytes) / (1 << 20));
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void wait_for(const std::function<bool()>& done, milliseconds timeout, const std::string& what,
              milliseconds poll = milliseconds(5)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) {
      throw std::runtime_error("timed out waiting for " + what);
    }
    std::this_thread::sleep_for(poll);
  }
}

// ferry as a separate process, configured for one source and one target.
class FerryRun {
 public:
  FerryRun(const Args& args, const BenchServer& source, const BenchServer& target)
      : dir_(test::make_temp_dir("ferry-bench-run")), source_(source.address()) {
    port_ = test::free_port();
    std::string cfg =
        "server:\n  listen: 127.0.0.1:" + std::to_string(port_) +
        "\n  gracefullStopTimeout: 60s\ninput:\n  redis:\n    addresses: [" + source.address() +
        "]\noutput:\n  redis:\n    addresses: [" + target.address() +
        "]\nchannel:\n  storer:\n    dirPath: " + dir_ +
        "/cache\nlog:\n  level: info\n  handler:\n    file:\n      fileName: " + dir_ +
        "/ferry.log\n    stdout: false\n";
    test::write_file(dir_ + "/ferry.yaml", cfg);
    if (!proc_.start({args.ferry, "sync", "-c", dir_ + "/ferry.yaml"}, dir_ + "/out.log")) {
      throw std::runtime_error("cannot start " + args.ferry);
    }
  }
  ~FerryRun() {
    stop();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::string log_text() const { return read_file(dir_ + "/ferry.log"); }
  bool log_has(const std::string& needle) const {
    return log_text().find(needle) != std::string::npos;
  }
  ProcStats stats() const { return proc_stats(proc_.pid()); }
  void stop() {
    if (proc_.running()) {
      proc_.signal(SIGTERM);
      int status = 0;
      if (!proc_.wait(seconds(90), &status)) proc_.kill();
    }
  }
  bool running() { return proc_.running(); }
  std::string checkpoint_key() const { return "ferry-checkpoint:" + source_; }

 private:
  std::string dir_;
  std::string source_;
  int port_ = 0;
  mutable test::Process proc_;
};

// The target's dataset equals the source's (ferry's checkpoint key removed first).
void verify_equal(BenchServer& source, BenchServer& target, const std::string& own_key) {
  if (!own_key.empty()) {
    target.cmd({"SELECT", "0"});
    target.cmd({"DEL", own_key});
  }
  std::string a = source.cmd({"DEBUG", "DIGEST"}).str;
  std::string b = target.cmd({"DEBUG", "DIGEST"}).str;
  if (a != b) {
    throw std::runtime_error("the target's data differs from the source's (DEBUG DIGEST " + a +
                             " vs " + b + ")");
  }
}

// ---- Full sync -------------------------------------------------------------------------------

struct FullSyncRun {
  double seconds = 0;
  uint64_t peak_rss = 0;  // ferry only
  double cpu_seconds = 0;
};

FullSyncRun native_full_sync(BenchServer& source) {
  BenchServer target("native-replica");
  if (!target.start()) throw std::runtime_error("cannot start a replica");
  const int64_t t0 = now_us();
  target.cmd({"REPLICAOF", "127.0.0.1", std::to_string(source.port())});
  wait_for(
      [&] {
        return target.info_str("replication", "master_link_status") == "up" &&
               target.info_int("replication", "master_sync_in_progress") == 0 &&
               target.info_int("persistence", "loading") == 0;
      },
      std::chrono::minutes(30), "the native replica's sync");
  FullSyncRun r;
  r.seconds = static_cast<double>(now_us() - t0) / 1e6;
  r.cpu_seconds = proc_stats(target.pid()).cpu_seconds;
  verify_equal(source, target, "");
  return r;
}

FullSyncRun ferry_full_sync(const Args& args, BenchServer& source) {
  BenchServer target("ferry-target");
  if (!target.start()) throw std::runtime_error("cannot start a target");
  const int64_t t0 = now_us();
  FerryRun ferry(args, source, target);
  wait_for(
      [&] {
        if (!ferry.running()) throw std::runtime_error("ferry exited: " + ferry.log_text());
        return ferry.log_has("full sync applied");
      },
      std::chrono::minutes(30), "ferry's full sync", milliseconds(5));
  FullSyncRun r;
  r.seconds = static_cast<double>(now_us() - t0) / 1e6;
  ProcStats st = ferry.stats();
  r.peak_rss = st.peak_rss;
  r.cpu_seconds = st.cpu_seconds;
  ferry.stop();
  verify_equal(source, target, ferry.checkpoint_key());
  return r;
}

struct FullSyncResult {
  std::string dataset;
  int64_t keys = 0;
  uint64_t used_memory = 0;
  std::vector<double> native, ferry;
  uint64_t ferry_peak_rss = 0;
  double ferry_cpu = 0;
};

FullSyncResult full_sync_section(const Args& args, const std::string& name,
                                 const std::function<void(BenchServer&)>& load) {
  BenchServer source("source");
  if (!source.start()) throw std::runtime_error("cannot start the source");
  log("loading " + name);
  load(source);
  FullSyncResult res;
  res.dataset = name;
  res.keys = source.dbsize();
  res.used_memory = static_cast<uint64_t>(source.info_int("memory", "used_memory"));
  log(name + ": " + std::to_string(res.keys) + " keys, " + mib(res.used_memory));
  for (int round = 0; round < args.rounds; round++) {
    FullSyncRun n = native_full_sync(source);
    res.native.push_back(n.seconds);
    FullSyncRun f = ferry_full_sync(args, source);
    res.ferry.push_back(f.seconds);
    res.ferry_peak_rss = std::max(res.ferry_peak_rss, f.peak_rss);
    res.ferry_cpu = std::max(res.ferry_cpu, f.cpu_seconds);
    log(name + " round " + std::to_string(round + 1) + ": native " + fmt("%.2f s", n.seconds) +
        ", ferry " + fmt("%.2f s", f.seconds) + " (peak RSS " + mib(f.peak_rss) + ")");
  }
  return res;
}

// ---- Incremental -----------------------------------------------------------------------------

struct RatePoint {
  double offered = 0;  // the rate asked for (0: flat out)
  std::vector<double> achieved, applied, p50, p99, max;
  double cpu_per_million = 0;  // ferry only: CPU seconds per million commands
};

// One syncer, every rate, on a fresh source and target.
void incremental_round(const Args& args, bool native, const std::vector<double>& rates,
                       std::vector<RatePoint>* points) {
  BenchServer source("source"), target(native ? "native-replica" : "ferry-target");
  if (!source.start() || !target.start()) throw std::runtime_error("cannot start servers");
  load_small_strings(source.endpoint(), 100'000, 32);
  std::unique_ptr<FerryRun> ferry;
  if (native) {
    target.cmd({"REPLICAOF", "127.0.0.1", std::to_string(source.port())});
  } else {
    ferry = std::make_unique<FerryRun>(args, source, target);
  }
  // Synced, and the stream flowing.
  source.cmd({"SET", "bench:ready", "1"});
  wait_for(
      [&] {
        try {
          return target.cmd({"EXISTS", "bench:ready"}).integer == 1;
        } catch (const std::runtime_error&) {
          return false;  // LOADING: a replica still loading its RDB
        }
      },
      seconds(120), "the initial sync");
  for (size_t i = 0; i < rates.size(); i++) {
    RatePoint& pt = (*points)[i];
    LoadOptions lo;
    lo.server = source.endpoint();
    lo.rate = rates[i];
    lo.duration = seconds(args.load_seconds);
    lo.seed = static_cast<uint64_t>(i + 1);
    LagProbe probe(source.endpoint(), target.endpoint(), "bench:probe");
    ProcStats before = ferry ? ferry->stats() : ProcStats();
    probe.start();
    const int64_t t0 = now_us();
    LoadResult load = run_load(lo);
    if (!load.error.empty()) throw std::runtime_error("load: " + load.error);
    if (!probe.stop()) throw std::runtime_error("the probe never reached the target");
    double applied_s = static_cast<double>(probe.last_seen_us() - t0) / 1e6;
    std::vector<double> lags = probe.lags_ms();
    pt.achieved.push_back(load.rate());
    pt.applied.push_back(static_cast<double>(load.commands) / applied_s);
    pt.p50.push_back(percentile(lags, 50));
    pt.p99.push_back(percentile(lags, 99));
    pt.max.push_back(percentile(lags, 100));
    if (ferry) {
      ProcStats after = ferry->stats();
      pt.cpu_per_million =
          std::max(pt.cpu_per_million, (after.cpu_seconds - before.cpu_seconds) /
                                           static_cast<double>(load.commands) * 1e6);
    }
    log(std::string(native ? "native" : "ferry") + " at " +
        (rates[i] > 0 ? fmt("%.0f/s", rates[i]) : std::string("flat out")) + ": sent " +
        fmt("%.0f/s", load.rate()) + ", applied " + fmt("%.0f/s", pt.applied.back()) +
        ", lag p50 " + fmt("%.1f", pt.p50.back()) + " p99 " + fmt("%.1f", pt.p99.back()) + " max " +
        fmt("%.1f ms", pt.max.back()));
  }
  if (ferry) {
    ferry->stop();
    verify_equal(source, target, ferry->checkpoint_key());
  } else {
    verify_equal(source, target, "");
  }
}

// ---- Report ------------------------------------------------------------------------------------

std::string rate_name(double r) {
  return r > 0 ? fmt("%.0fk/s", r / 1000) : "flat out";
}

// The highest offered rate whose median p99 lag is under 100 ms, and whose applied rate
// kept up with what was sent (within 5%).
double sustained(const std::vector<RatePoint>& pts) {
  double best = 0;
  for (const RatePoint& p : pts) {
    double rate = p.offered > 0 ? p.offered : median(p.achieved);
    if (median(p.p99) < 100 && median(p.applied) >= 0.95 * median(p.achieved)) {
      best = std::max(best, rate);
    }
  }
  return best;
}

std::string git_commit() {
  FILE* p = popen("git -C " FERRY_SOURCE_DIR " rev-parse --short HEAD 2>/dev/null", "r");
  if (!p) return "unknown";
  char buf[64] = {0};
  if (!fgets(buf, sizeof(buf), p)) buf[0] = 0;
  pclose(p);
  std::string s = buf;
  while (!s.empty() && s.back() == '\n')
    s.pop_back();
  return s.empty() ? "unknown" : s;
}

std::string micro_table(const std::string& path) {
  if (path.empty()) return "";
  nlohmann::json j = nlohmann::json::parse(read_file(path), nullptr, false);
  if (!j.is_object() || !j.contains("benchmarks")) return "";
  std::ostringstream o;
  o << "| benchmark | speed |\n|---|---|\n";
  for (const auto& b : j["benchmarks"]) {
    std::string name = b.value("name", "");
    std::string speed;
    if (b.contains("bytes_per_second")) {
      speed = fmt("%.0f MB/s", b["bytes_per_second"].get<double>() / 1e6);
    }
    if (b.contains("items_per_second")) {
      speed += (speed.empty() ? "" : ", ") +
               fmt("%.2f M items/s", b["items_per_second"].get<double>() / 1e6);
    }
    o << "| " << name << " | " << speed << " |\n";
  }
  return o.str();
}

int run(const Args& args) {
  const std::string machine = machine_description();
  log("machine: " + machine);
  std::vector<FullSyncResult> full;
  FullSyncResult big;
  const uint64_t small = args.smoke ? 20'000 : args.quick ? 200'000 : 1'000'000;
  if (args.full_sync) {
    full.push_back(
        full_sync_section(args, std::to_string(small / 1000) + "k small strings",
                          [&](BenchServer& s) { load_small_strings(s.endpoint(), small, 16); }));
    if (args.mixed) {
      double scale = args.smoke ? 0.002 : args.quick ? 0.05 : 1.0;
      full.push_back(full_sync_section(args,
                                       args.quick || args.smoke ? "mixed (small)" : "mixed (~1 GB)",
                                       [&](BenchServer& s) { load_mixed(s.endpoint(), scale); }));
    }
    // Memory must not grow with the dataset: the same keys, four times as many.
    Args one_round = args;
    one_round.rounds = 1;
    big =
        full_sync_section(one_round, std::to_string(small * 4 / 1000) + "k small strings",
                          [&](BenchServer& s) { load_small_strings(s.endpoint(), small * 4, 16); });
  }

  std::vector<double> rates = args.smoke ? std::vector<double>{5'000, 0}
                              : args.quick
                                  ? std::vector<double>{25'000, 0}
                                  : std::vector<double>{25'000, 50'000, 100'000, 200'000, 0};
  std::vector<RatePoint> native_pts(rates.size()), ferry_pts(rates.size());
  for (size_t i = 0; i < rates.size(); i++)
    native_pts[i].offered = ferry_pts[i].offered = rates[i];
  for (int round = 0; round < args.rounds; round++) {
    log("incremental round " + std::to_string(round + 1));
    incremental_round(args, true, rates, &native_pts);
    incremental_round(args, false, rates, &ferry_pts);
  }

  std::ostringstream md;
  md << "# ferry benchmark results\n\n";
  md << "- machine: " << machine << "\n";
  md << "- ferry commit " << git_commit() << "; " << args.rounds
     << " rounds, medians; native = a redis-server replica (`REPLICAOF`, default "
        "settings: diskless sync from the source, disk-based load)\n";
  md << "- produced by `scripts/bench.sh`" << (args.quick ? " --quick" : "") << "\n\n";
  if (!full.empty()) {
    md << "## Full sync\n\nFrom the start command (REPLICAOF / `ferry sync`) until the target "
          "holds the whole dataset; data verified equal afterwards (DEBUG DIGEST).\n\n";
    md << "| dataset | keys | source memory | native | ferry | ferry / native | ferry peak RSS |\n";
    md << "|---|---|---|---|---|---|---|\n";
    for (const FullSyncResult& r : full) {
      double n = median(r.native), f = median(r.ferry);
      md << "| " << r.dataset << " | " << r.keys << " | " << mib(r.used_memory) << " | "
         << fmt("%.2f s", n) << " | " << fmt("%.2f s", f) << " | " << fmt("%.2fx", f / n) << " | "
         << mib(r.ferry_peak_rss) << " |\n";
    }
  }
  md << "\n## Incremental\n\nA paced SET/HSET/LPUSH/ZADD/INCR mix (4 pipelined connections) for "
     << args.load_seconds
     << " s per rate; lag = time from a probe write on the source to its appearance on the "
        "target (polled every 0.5 ms); applied = commands / time until the last probe "
        "arrived.\n\n";
  md << "| offered | sent | native applied | native lag p50 / p99 / max | ferry applied | ferry "
        "lag p50 / p99 / max | ferry CPU s per M cmds |\n";
  md << "|---|---|---|---|---|---|---|\n";
  for (size_t i = 0; i < rates.size(); i++) {
    const RatePoint& n = native_pts[i];
    const RatePoint& f = ferry_pts[i];
    md << "| " << rate_name(rates[i]) << " | " << fmt("%.0f/s", median(f.achieved)) << " | "
       << fmt("%.0f/s", median(n.applied)) << " | " << fmt("%.1f", median(n.p50)) << " / "
       << fmt("%.1f", median(n.p99)) << " / " << fmt("%.1f ms", median(n.max)) << " | "
       << fmt("%.0f/s", median(f.applied)) << " | " << fmt("%.1f", median(f.p50)) << " / "
       << fmt("%.1f", median(f.p99)) << " / " << fmt("%.1f ms", median(f.max)) << " | "
       << fmt("%.2f", f.cpu_per_million) << " |\n";
  }
  double sn = sustained(native_pts), sf = sustained(ferry_pts);
  md << "\nHighest rate sustained with p99 lag < 100 ms: native " << fmt("%.0f/s", sn) << ", ferry "
     << fmt("%.0f/s", sf) << " (" << fmt("%.0f%%", sn > 0 ? 100 * sf / sn : 0) << " of native).\n";
  if (!full.empty()) {
    md << "\n## Resources\n\n";
    md << "| | value |\n|---|---|\n";
    for (const FullSyncResult& r : full) {
      md << "| ferry peak RSS, full sync of " << r.dataset << " | " << mib(r.ferry_peak_rss)
         << " |\n";
    }
    md << "| ferry peak RSS, full sync of " << big.dataset << " | " << mib(big.ferry_peak_rss)
       << " |\n";
    md << "| RSS growth, " << full[0].dataset << " → " << big.dataset << " | "
       << fmt("%+.0f%%", 100.0 * (static_cast<double>(big.ferry_peak_rss) /
                                      static_cast<double>(full[0].ferry_peak_rss) -
                                  1))
       << " |\n";
  }
  std::string micro = micro_table(args.micro_json);
  if (!micro.empty()) md << "\n## Micro benchmarks (one core)\n\n" << micro;

  std::cout << md.str();
  if (!args.out.empty()) {
    std::ofstream out(args.out);
    out << md.str();
    log("wrote " + args.out);
  }
  return 0;
}

int make_rdbs(const std::string& dir, bool quick, double mixed_scale) {
  std::filesystem::create_directories(dir);
  for (const std::string name : {"mixed", "strings"}) {
    BenchServer s("rdb-" + name);
    if (!s.start()) throw std::runtime_error("cannot start redis-server");
    if (name == "mixed") {
      load_mixed(s.endpoint(), mixed_scale > 0 ? mixed_scale : quick ? 0.01 : 0.12);
    } else {
      load_random_strings(s.endpoint(), quick ? 20'000 : 400'000, 256);
    }
    s.cmd({"SAVE"});
    std::filesystem::copy_file(s.dir() + "/dump.rdb", dir + "/" + name + ".rdb",
                               std::filesystem::copy_options::overwrite_existing);
    log("wrote " + dir + "/" + name + ".rdb (" +
        mib(std::filesystem::file_size(dir + "/" + name + ".rdb")) + ")");
  }
  return 0;
}

}  // namespace
}  // namespace ferry::bench

int main(int argc, char** argv) {
  using ferry::bench::Args;
  Args args;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << "ferry_e2e_bench: " << a << " needs a value\n";
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--smoke") {
      args.smoke = true;
      args.rounds = 1;
      args.load_seconds = 1;
    } else if (a == "--quick") {
      args.quick = true;
      args.rounds = 1;
      args.load_seconds = 3;
    } else if (a == "--rounds") {
      args.rounds = std::stoi(value());
    } else if (a == "--seconds") {
      args.load_seconds = std::stoi(value());
    } else if (a == "--no-mixed") {
      args.mixed = false;
    } else if (a == "--incremental-only") {
      args.full_sync = false;
    } else if (a == "--ferry") {
      args.ferry = value();
    } else if (a == "--out") {
      args.out = value();
    } else if (a == "--micro-json") {
      args.micro_json = value();
    } else if (a == "--make-rdbs") {
      args.make_rdbs = value();
    } else if (a == "--mixed-scale") {
      args.mixed_scale = std::stod(value());
    } else {
      std::cerr
          << "usage: ferry_e2e_bench [--smoke|--quick] [--rounds N] [--seconds S] [--no-mixed] "
             "[--incremental-only] [--ferry PATH] [--out FILE.md] [--micro-json FILE] [--make-rdbs "
             "DIR]\n";
      return 2;
    }
  }
  signal(SIGPIPE, SIG_IGN);
  try {
    if (!args.make_rdbs.empty()) {
      return ferry::bench::make_rdbs(args.make_rdbs, args.quick, args.mixed_scale);
    }
    return ferry::bench::run(args);
  } catch (const std::exception& e) {
    std::cerr << "ferry_e2e_bench: " << e.what() << "\n";
    return 1;
  }
}
