#include "common/units.h"

#include <cctype>
#include <cstdio>
#include <ctime>
#include <limits>

namespace ferry {
namespace {

std::string lower(std::string s) {
  for (char& c : s)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Splits "123abc" into 123 and "abc"; false when there is no leading number or it overflows.
bool split_number(const std::string& text, uint64_t* number, std::string* unit) {
  size_t i = 0;
  while (i < text.size() && text[i] == ' ')
    i++;
  size_t start = i;
  uint64_t n = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
    uint64_t d = static_cast<uint64_t>(text[i] - '0');
    if (n > (std::numeric_limits<uint64_t>::max() - d) / 10) return false;
    n = n * 10 + d;
    i++;
  }
  if (i == start) return false;
  size_t end = text.size();
  while (end > i && text[end - 1] == ' ')
    end--;
  *number = n;
  *unit = lower(text.substr(i, end - i));
  return true;
}

}  // namespace

Status parse_duration(const std::string& text, std::chrono::milliseconds* out) {
  uint64_t n;
  std::string unit;
  if (!split_number(text, &n, &unit)) {
    return Status::invalid_argument("'" + text + "' is not a duration (e.g. 500ms, 5s, 2m, 12h)");
  }
  uint64_t factor;
  if (unit == "ms") {
    factor = 1;
  } else if (unit.empty() || unit == "s") {
    factor = 1000;
  } else if (unit == "m") {
    factor = 60 * 1000;
  } else if (unit == "h") {
    factor = 3600 * 1000;
  } else {
    return Status::invalid_argument("'" + text + "' has an unknown duration unit '" + unit +
                                    "' (expected ms, s, m or h)");
  }
  if (n > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) / factor) {
    return Status::invalid_argument("duration '" + text + "' is too large");
  }
  *out = std::chrono::milliseconds(static_cast<int64_t>(n * factor));
  return Status::ok();
}

Status parse_size(const std::string& text, uint64_t* out) {
  uint64_t n;
  std::string unit;
  if (!split_number(text, &n, &unit)) {
    return Status::invalid_argument("'" + text + "' is not a size (e.g. 4096, 64KiB, 16mb, 1g)");
  }
  uint64_t factor;
  if (unit.empty() || unit == "b") {
    factor = 1;
  } else if (unit == "k") {
    factor = 1000;
  } else if (unit == "m") {
    factor = 1000 * 1000;
  } else if (unit == "g") {
    factor = 1000ull * 1000 * 1000;
  } else if (unit == "kb" || unit == "kib") {
    factor = 1024;
  } else if (unit == "mb" || unit == "mib") {
    factor = 1024 * 1024;
  } else if (unit == "gb" || unit == "gib") {
    factor = 1024ull * 1024 * 1024;
  } else {
    return Status::invalid_argument("'" + text + "' has an unknown size unit '" + unit +
                                    "' (expected k, m, g, kb, mb, gb, KiB, MiB or GiB)");
  }
  if (n > std::numeric_limits<uint64_t>::max() / factor) {
    return Status::invalid_argument("size '" + text + "' is too large");
  }
  *out = n * factor;
  return Status::ok();
}

std::string format_bytes(uint64_t bytes) {
  char buf[32];
  if (bytes < 1024) {
    snprintf(buf, sizeof(buf), "%llu B", static_cast<unsigned long long>(bytes));
  } else if (bytes < 1024ull * 1024) {
    snprintf(buf, sizeof(buf), "%.1f KiB", static_cast<double>(bytes) / 1024);
  } else if (bytes < 1024ull * 1024 * 1024) {
    snprintf(buf, sizeof(buf), "%.1f MiB", static_cast<double>(bytes) / (1024.0 * 1024));
  } else {
    snprintf(buf, sizeof(buf), "%.2f GiB", static_cast<double>(bytes) / (1024.0 * 1024 * 1024));
  }
  return buf;
}

std::string format_duration(std::chrono::milliseconds d) {
  int64_t ms = d.count();
  char buf[48];
  if (ms < 1000) {
    snprintf(buf, sizeof(buf), "%lldms", static_cast<long long>(ms));
  } else if (ms < 60 * 1000) {
    snprintf(buf, sizeof(buf), "%.1fs", static_cast<double>(ms) / 1000);
  } else if (ms < 3600 * 1000) {
    snprintf(buf, sizeof(buf), "%lldm%02llds", static_cast<long long>(ms / 60000),
             static_cast<long long>((ms / 1000) % 60));
  } else {
    snprintf(buf, sizeof(buf), "%lldh%02lldm", static_cast<long long>(ms / 3600000),
             static_cast<long long>((ms / 60000) % 60));
  }
  return buf;
}

std::string format_wall_time(int64_t ms) {
  time_t secs = static_cast<time_t>(ms / 1000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  char buf[64];
  snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
           tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
           static_cast<int>(ms % 1000));
  return buf;
}

}  // namespace ferry
