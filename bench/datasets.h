// Datasets the benchmark loads into a source: small strings, and a mixed set of every type
// and encoding (small listpack/intset collections, 100k-element keys, streams with a group,
// TTLs) with incompressible values, scaled to a target size.
#pragma once

#include <cstdint>
#include <string>

#include "net/endpoint.h"

namespace ferry::bench {

// `count` strings "key:<n>" of `value_size` bytes (DEBUG POPULATE: quick, compressible).
void load_small_strings(const Endpoint& server, uint64_t count, size_t value_size);

// Every type and encoding; `scale` 1.0 is about 1 GB of used memory. Values are random
// bytes, so the RDB is about as large as the data.
void load_mixed(const Endpoint& server, double scale);

// Only strings: `count` keys with random values of `value_size` bytes.
void load_random_strings(const Endpoint& server, uint64_t count, size_t value_size);

}  // namespace ferry::bench
