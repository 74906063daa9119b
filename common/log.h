// Process-wide logging: leveled, printf-style, one line per record, to stdout and/or a
// file, as text or JSON lines. Thread-safe; a record is written with one write call.
#pragma once

#include <string>

#include "common/status.h"

namespace ferry::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

struct Options {
  Level level = Level::kInfo;
  std::string file;  // empty: no file
  bool to_stdout = true;
  bool json = false;
};

// Applies options; opens the file (append). Safe to call again (reopens).
Status init(const Options& options);
Status parse_level(const std::string& text, Level* level);
bool enabled(Level level);

void write(Level level, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

}  // namespace ferry::log

#define LOG_DEBUG(...)                                               \
  do {                                                               \
    if (::ferry::log::enabled(::ferry::log::Level::kDebug))          \
      ::ferry::log::write(::ferry::log::Level::kDebug, __VA_ARGS__); \
  } while (0)
#define LOG_INFO(...) ::ferry::log::write(::ferry::log::Level::kInfo, __VA_ARGS__)
#define LOG_WARN(...) ::ferry::log::write(::ferry::log::Level::kWarn, __VA_ARGS__)
#define LOG_ERROR(...) ::ferry::log::write(::ferry::log::Level::kError, __VA_ARGS__)
