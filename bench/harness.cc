#include "bench/harness.h"

#include <signal.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "tests/support/redis_args.h"

namespace ferry::bench {

int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

BenchServer::~BenchServer() {
  stop();
}

bool BenchServer::start(const std::vector<std::string>& extra) {
  port_ = test::free_port();
  dir_ = test::make_temp_dir("ferry-bench-" + name_);
  std::vector<std::string> argv = test::redis_server_argv(port_, dir_);
  argv.insert(argv.end(), extra.begin(), extra.end());
  if (!proc_.start(argv, dir_ + "/stdout.log")) return false;
  for (int i = 0; i < 200; i++) {
    client_ = std::make_unique<RedisClient>();
    if (client_->connect(endpoint(), Credentials(), std::chrono::seconds(2)).is_ok()) {
      Reply r;
      if (client_->command({"PING"}, &r).is_ok() && r.str == "PONG") {
        // From now on, commands may take long (DEBUG DIGEST of a big dataset).
        client_ = std::make_unique<RedisClient>();
        return client_->connect(endpoint(), Credentials(), std::chrono::minutes(10)).is_ok();
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

void BenchServer::stop() {
  client_.reset();
  if (proc_.running()) {
    proc_.signal(SIGKILL);
    proc_.wait(std::chrono::seconds(10), nullptr);
  }
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
    dir_.clear();
  }
}

Reply BenchServer::cmd(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
  Reply r;
  Status st;
  if (!client_ || !client_->connected()) {
    client_ = std::make_unique<RedisClient>();
    st = client_->connect(endpoint(), Credentials(), timeout);
  }
  if (st.is_ok()) st = client_->command(argv, &r);
  std::string line;
  for (const auto& a : argv)
    line += (line.empty() ? "" : " ") + a.substr(0, 40);
  if (!st.is_ok()) {
    client_.reset();
    throw std::runtime_error(name_ + " " + address() + ": " + line + ": " + st.message());
  }
  if (r.is_error()) throw std::runtime_error(name_ + " " + address() + ": " + line + ": " + r.str);
  return r;
}

std::string BenchServer::info_str(const std::string& section, const std::string& field) {
  std::string text = cmd({"INFO", section}).str;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.rfind(field + ":", 0) == 0) return line.substr(field.size() + 1);
  }
  return "";
}

int64_t BenchServer::info_int(const std::string& section, const std::string& field) {
  std::string v = info_str(section, field);
  return v.empty() ? 0 : std::stoll(v);
}

ProcStats proc_stats(pid_t pid) {
  ProcStats s;
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    auto kib = [&](const char* name) -> uint64_t {
      return std::stoull(line.substr(std::string(name).size())) * 1024;
    };
    if (line.rfind("VmHWM:", 0) == 0) s.peak_rss = kib("VmHWM:");
    if (line.rfind("VmRSS:", 0) == 0) s.rss = kib("VmRSS:");
  }
  std::ifstream stat_file("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(stat_file)), std::istreambuf_iterator<char>());
  size_t close = stat.rfind(')');
  if (close != std::string::npos) {
    std::istringstream rest(stat.substr(close + 2));
    std::vector<std::string> f;
    std::string x;
    while (rest >> x)
      f.push_back(x);
    if (f.size() > 12) {
      s.cpu_seconds =
          (std::stod(f[11]) + std::stod(f[12])) / static_cast<double>(sysconf(_SC_CLK_TCK));
    }
  }
  return s;
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size())));
  return v[std::min(v.size() - 1, rank == 0 ? 0 : rank - 1)];
}

namespace {

std::string run(const char* command) {
  std::string out;
  FILE* p = popen(command, "r");
  if (!p) return out;
  std::array<char, 256> buf;
  while (fgets(buf.data(), buf.size(), p))
    out += buf.data();
  pclose(p);
  while (!out.empty() && (out.back() == '\n' || out.back() == ' '))
    out.pop_back();
  return out;
}

}  // namespace

std::string machine_description() {
  std::string model = run("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2");
  while (!model.empty() && model.front() == ' ')
    model.erase(model.begin());
  std::string mem = run("grep MemTotal /proc/meminfo | awk '{printf \"%.1f GiB\", $2/1048576}'");
  struct utsname u;
  uname(&u);
  std::string redis = run("redis-server --version | grep -o 'v=[0-9.]*' | cut -c3-");
  std::ostringstream o;
  o << model << ", " << std::thread::hardware_concurrency() << " CPUs, " << mem << " RAM, Linux "
    << u.release << ", redis-server " << redis;
  return o.str();
}

}  // namespace ferry::bench
