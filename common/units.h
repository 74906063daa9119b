// Durations ("500ms", "5s", "2m", "12h") and sizes ("64KiB", "16mb", "1g", "4096") as the
// configuration contract spells them, and human-readable formatting of both.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "common/status.h"

namespace ferry {

// Parses a duration: a non-negative integer followed by ms, s, m or h (a bare number is
// seconds). Fails naming the text when it is not of that form.
Status parse_duration(const std::string& text, std::chrono::milliseconds* out);

// Parses a size in bytes: a plain integer, or with a unit: k/m/g (powers of 1000),
// kb/mb/gb or KiB/MiB/GiB (powers of 1024), case-insensitive, as redis.conf does.
Status parse_size(const std::string& text, uint64_t* out);

std::string format_bytes(uint64_t bytes);                  // "12.3 MiB"
std::string format_duration(std::chrono::milliseconds d);  // "1m05s", "250ms"
// A wall-clock time in ms since the epoch, UTC: "2026-12-01T09:38:56.123Z".
std::string format_wall_time(int64_t ms);

}  // namespace ferry
