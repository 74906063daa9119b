#include "tests/support/redis_server.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <thread>

#include "tests/support/corpus.h"
#include "tests/support/redis_args.h"

namespace ferry::test {

RedisServer::~RedisServer() {
  stop();
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

bool RedisServer::start(const Options& options) {
  options_ = options;
  dir_ = make_temp_dir("ferry-redis");
  if (dir_.empty()) return false;
  for (int attempt = 0; attempt < 5; attempt++) {
    port_ = options.port ? options.port : free_port();
    if (launch()) return true;
    proc_.kill();
  }
  return false;
}

bool RedisServer::launch() {
  std::vector<std::string> argv = redis_server_argv(port_, dir_);
  if (!options_.rdb.empty()) {
    write_file(dir_ + "/dump.rdb", options_.rdb);
    argv.insert(argv.end(), {"--dbfilename", "dump.rdb"});
  }
  if (!options_.aof.empty()) {
    write_file(dir_ + "/old.aof", options_.aof);
    argv.insert(argv.end(), {"--appendonly", "yes", "--appendfilename", "old.aof"});
  }
  argv.insert(argv.end(), options_.args.begin(), options_.args.end());
  if (!proc_.start(argv, dir_ + "/stdout.log")) return false;
  return wait_ready();
}

bool RedisServer::wait_ready() {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    if (!proc_.running()) return false;
    auto c = std::make_unique<RedisClient>();
    if (c->connect(endpoint(), Credentials(), std::chrono::seconds(60)).is_ok()) {
      Reply r;
      if (c->command({"PING"}, &r).is_ok() && r.type == Reply::Type::kStatus) {
        client_ = std::move(c);
        return true;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

bool RedisServer::restart() {
  stop();
  options_.rdb.clear();
  options_.aof.clear();
  return launch();
}

void RedisServer::stop() {
  client_.reset();
  if (!proc_.running()) return;
  proc_.signal(SIGCONT);
  proc_.signal(SIGTERM);
  if (!proc_.wait(std::chrono::seconds(10), nullptr)) proc_.kill();
}

void RedisServer::freeze() {
  proc_.signal(SIGSTOP);
}
void RedisServer::unfreeze() {
  proc_.signal(SIGCONT);
}

std::string RedisServer::log() const {
  return read_file(dir_ + "/redis.log");
}

Reply RedisServer::try_cmd(const std::vector<std::string>& argv) {
  Reply r;
  if (!client_) {
    client_ = std::make_unique<RedisClient>();
    Status st = client_->connect(endpoint(), Credentials(), std::chrono::seconds(60));
    if (!st.is_ok()) {
      client_.reset();
      r.type = Reply::Type::kError;
      r.str = st.message();
      return r;
    }
  }
  Status st = client_->command(argv, &r);
  if (!st.is_ok()) {
    client_.reset();
    r.type = Reply::Type::kError;
    r.str = st.message();
  }
  return r;
}

Reply RedisServer::cmd(const std::vector<std::string>& argv) {
  Reply r = try_cmd(argv);
  if (r.is_error()) {
    std::string line;
    for (const auto& a : argv)
      line += (line.empty() ? "" : " ") + a.substr(0, 40);
    ADD_FAILURE() << "redis " << address() << ": " << line << " -> " << r.str;
  }
  return r;
}

std::string RedisServer::digest() {
  Reply r = cmd({"DEBUG", "DIGEST"});
  return r.str;
}

std::map<std::string, std::string> RedisServer::info(const std::string& section) {
  Reply r = cmd({"INFO", section});
  std::map<std::string, std::string> out;
  size_t pos = 0;
  while (pos < r.str.size()) {
    size_t eol = r.str.find("\r\n", pos);
    if (eol == std::string::npos) eol = r.str.size();
    std::string line = r.str.substr(pos, eol - pos);
    size_t colon = line.find(':');
    if (colon != std::string::npos && line[0] != '#') {
      out[line.substr(0, colon)] = line.substr(colon + 1);
    }
    pos = eol + 2;
  }
  return out;
}

int64_t RedisServer::info_int(const std::string& section, const std::string& field) {
  auto m = info(section);
  auto it = m.find(field);
  return it == m.end() ? -1 : std::strtoll(it->second.c_str(), nullptr, 10);
}

std::unique_ptr<RedisClient> RedisServer::connect() const {
  auto c = std::make_unique<RedisClient>();
  if (!c->connect(endpoint(), Credentials(), std::chrono::seconds(5)).is_ok()) return nullptr;
  return c;
}

}  // namespace ferry::test
