#include "tests/support/fake_master.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "proto/resp.h"
#include "tests/support/process.h"

namespace ferry::test {
namespace {

bool send_all(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

FakeMaster::~FakeMaster() {
  stop();
}

bool FakeMaster::start(const Options& options) {
  options_ = options;
  for (int attempt = 0; attempt < 20; attempt++) {
    port_ = free_port();
    listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in addr;
    std::memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port_));
    if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
        listen(listen_fd_, 16) == 0) {
      thread_ = std::thread([this] { serve(); });
      return true;
    }
    close(listen_fd_);
  }
  return false;
}

void FakeMaster::stop() {
  if (stop_.exchange(true)) return;
  if (thread_.joinable()) thread_.join();
  for (auto& t : sessions_)
    t.join();
  if (listen_fd_ >= 0) close(listen_fd_);
}

void FakeMaster::serve() {
  while (!stop_) {
    pollfd p = {listen_fd_, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    int fd = accept(listen_fd_, nullptr, nullptr);
    if (fd < 0) continue;
    sessions_.emplace_back([this, fd] { session(fd); });
  }
}

void FakeMaster::session(int fd) {
  std::string in;
  char buf[65536];
  bool streaming = false;
  while (!stop_) {
    pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    if (streaming) continue;  // REPLCONF ACKs
    in.append(buf, static_cast<size_t>(n));
    while (true) {
      std::vector<resp::ArgSpan> args;
      size_t consumed = 0, need = 0;
      std::string err;
      if (resp::parse_command(in.data(), in.size(), &args, &consumed, &need, &err) !=
          resp::Parse::kOk) {
        break;
      }
      std::string name(in.data() + args[0].off, args[0].len);
      for (char& c : name)
        c = static_cast<char>(toupper(c));
      in.erase(0, consumed);
      if (name == "INFO") {
        send_all(fd, "$12\r\n# Keyspace\r\n\r\n");
      } else if (name == "PSYNC" || name == "SYNC") {
        psyncs_++;
        std::string out =
            "+FULLRESYNC " + options_.replid + " " + std::to_string(options_.offset) + "\r\n\n";
        if (options_.diskless) {
          std::string mark(40, 'x');
          for (size_t i = 0; i < mark.size(); i++)
            mark[i] = "0123456789abcdef"[(i * 7) % 16];
          out += "$EOF:" + mark + "\r\n" + options_.rdb + mark;
        } else {
          out += "$" + std::to_string(options_.rdb.size()) + "\r\n" + options_.rdb;
        }
        send_all(fd, out);
        send_all(fd, options_.stream);
        streaming = true;
      } else {
        send_all(fd, "+OK\r\n");
      }
    }
  }
  close(fd);
}

}  // namespace ferry::test
