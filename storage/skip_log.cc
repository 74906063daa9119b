#include "storage/skip_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "common/units.h"

namespace ferry {
namespace {

constexpr int64_t kSyncEveryMs = 100;

Status errno_status(const std::string& what) {
  return Status::io_error(what + ": " + std::strerror(errno));
}

std::string to_line(const std::string& input, const SkipRecord& r) {
  nlohmann::ordered_json j;
  j["time"] = format_wall_time(r.time_ms);
  j["input"] = input;
  j["phase"] = r.phase;
  j["offset"] = r.offset;
  j["db"] = r.db;
  j["command"] = r.command;
  j["key"] = r.key;
  j["args"] = r.args;
  j["answer"] = r.answer;
  j["reason"] = r.reason;
  j["at_queue_time"] = r.at_queue_time;
  // Arguments are printable already; replace anything else rather than fail.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace

Status SkipLog::open(const std::string& dir, const std::string& input, Options options,
                     std::unique_ptr<SkipLog>* out) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::io_error("cannot create " + dir + ": " + ec.message());
  std::unique_ptr<SkipLog> log(new SkipLog());
  log->input_ = input;
  log->options_ = options;
  log->path_ = dir + "/" + input + ".jsonl";
  log->fd_ = ::open(log->path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log->fd_ < 0) return errno_status("cannot open " + log->path_);
  struct stat st;
  if (fstat(log->fd_, &st) == 0) log->size_ = static_cast<uint64_t>(st.st_size);
  *out = std::move(log);
  return Status::ok();
}

SkipLog::~SkipLog() {
  if (fd_ >= 0) {
    fdatasync(fd_);
    ::close(fd_);
  }
}

uint64_t SkipLog::written() const {
  std::lock_guard<std::mutex> lock(mu_);
  return written_;
}

Status SkipLog::rotate() {
  fdatasync(fd_);
  ::close(fd_);
  fd_ = -1;
  for (int i = options_.keep_files; i >= 1; i--) {
    std::string from = i == 1 ? path_ : path_ + "." + std::to_string(i - 1);
    std::string to = path_ + "." + std::to_string(i);
    if (::rename(from.c_str(), to.c_str()) != 0 && errno != ENOENT) {
      return errno_status("cannot rotate " + from);
    }
  }
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0) return errno_status("cannot open " + path_);
  size_ = 0;
  return Status::ok();
}

Status SkipLog::append(const std::vector<SkipRecord>& records) {
  if (records.empty()) return Status::ok();
  std::string text;
  for (const SkipRecord& r : records)
    text += to_line(input_, r);
  std::lock_guard<std::mutex> lock(mu_);
  if (fd_ < 0) return Status::io_error("the skip record " + path_ + " is not open");
  if (size_ > 0 && size_ + text.size() > options_.max_file_bytes) FERRY_RETURN_IF_ERROR(rotate());
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd_, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_status("cannot write " + path_);
    done += static_cast<size_t>(n);
  }
  size_ += text.size();
  written_ += records.size();
  dirty_ = true;
  int64_t now = mono_ms();
  if (now - last_sync_ms_ >= kSyncEveryMs) {
    last_sync_ms_ = now;
    dirty_ = false;
    if (fdatasync(fd_) != 0) return errno_status("cannot sync " + path_);
  }
  return Status::ok();
}

void SkipLog::sync_if_dirty() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!dirty_ || fd_ < 0) return;
  dirty_ = false;
  last_sync_ms_ = mono_ms();
  fdatasync(fd_);
}

}  // namespace ferry
