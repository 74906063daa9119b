#include "common/log.h"

#include <fcntl.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <mutex>

namespace ferry::log {
namespace {

std::atomic<int> g_level{static_cast<int>(Level::kInfo)};
std::mutex g_mu;
Options g_options;
int g_fd = -1;

const char* level_name(Level level) {
  switch (level) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarn:
      return "warn";
    case Level::kError:
      return "error";
  }
  return "?";
}

void append_json_escaped(std::string* out, const char* s, size_t n) {
  static const char* kHex = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        if (c < 0x20) {
          out->append("\\u00");
          out->push_back(kHex[c >> 4]);
          out->push_back(kHex[c & 15]);
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
  }
}

void write_all(int fd, const std::string& line) {
  size_t off = 0;
  while (off < line.size()) {
    ssize_t n = ::write(fd, line.data() + off, line.size() - off);
    if (n <= 0) return;
    off += static_cast<size_t>(n);
  }
}

}  // namespace

Status parse_level(const std::string& text, Level* level) {
  if (text == "debug") {
    *level = Level::kDebug;
  } else if (text == "info") {
    *level = Level::kInfo;
  } else if (text == "warn" || text == "warning") {
    *level = Level::kWarn;
  } else if (text == "error") {
    *level = Level::kError;
  } else {
    return Status::invalid_argument("unknown log level '" + text +
                                    "' (expected debug, info, warn or error)");
  }
  return Status::ok();
}

Status init(const Options& options) {
  std::lock_guard<std::mutex> lock(g_mu);
  if (g_fd >= 0) {
    ::close(g_fd);
    g_fd = -1;
  }
  if (!options.file.empty()) {
    g_fd = ::open(options.file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (g_fd < 0) {
      return Status::io_error("cannot open log file '" + options.file +
                              "': " + std::strerror(errno));
    }
  }
  g_options = options;
  g_level.store(static_cast<int>(options.level));
  return Status::ok();
}

bool enabled(Level level) {
  return static_cast<int>(level) >= g_level.load(std::memory_order_relaxed);
}

void write(Level level, const char* fmt, ...) {
  if (!enabled(level)) return;
  char msg[4096];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  if (n < 0) return;
  size_t len = std::min(static_cast<size_t>(n), sizeof(msg) - 1);

  struct timeval tv;
  gettimeofday(&tv, nullptr);
  struct tm tm;
  localtime_r(&tv.tv_sec, &tm);
  char ts[64];
  size_t tl = strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(ts + tl, sizeof(ts) - tl, ".%03d", static_cast<int>(tv.tv_usec / 1000));

  std::lock_guard<std::mutex> lock(g_mu);
  std::string line;
  line.reserve(len + 64);
  if (g_options.json) {
    line.append("{\"ts\":\"").append(ts).append("\",\"level\":\"").append(level_name(level));
    line.append("\",\"msg\":\"");
    append_json_escaped(&line, msg, len);
    line.append("\"}\n");
  } else {
    line.append(ts).append(" ").append(level_name(level)).append(" ");
    line.append(msg, len).append("\n");
  }
  if (g_fd >= 0) write_all(g_fd, line);
  if (g_options.to_stdout || g_fd < 0) write_all(STDOUT_FILENO, line);
}

}  // namespace ferry::log
