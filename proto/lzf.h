// LZF (liblzf's format), as Redis uses it for compressed RDB strings.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "common/status.h"

namespace ferry {

// Decompresses `in` into exactly `out_len` bytes at `out`. Fails (never reads or writes out of
// bounds) when the input is malformed or does not expand to exactly out_len bytes.
Status lzf_decompress(std::string_view in, char* out, size_t out_len);

// Compresses `in`; returns false when the result would not be smaller than in.size() - 4
// (Redis then stores the string verbatim). Used by tests and benchmarks to build RDBs.
bool lzf_compress(std::string_view in, std::string* out);

}  // namespace ferry
