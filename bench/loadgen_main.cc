// ferry_loadgen: the benchmark's paced write load, on its own. For trying a syncer by hand:
//   ferry_loadgen 127.0.0.1:6379 50000 10     (50k commands/s for 10 s; rate 0 = flat out)
#include <cstdio>
#include <string>

#include "bench/loadgen.h"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: ferry_loadgen HOST:PORT RATE SECONDS\n");
    return 2;
  }
  ferry::bench::LoadOptions o;
  ferry::Status st = ferry::Endpoint::parse(argv[1], &o.server);
  if (!st.is_ok()) {
    std::fprintf(stderr, "ferry_loadgen: %s\n", st.message().c_str());
    return 2;
  }
  o.rate = std::stod(argv[2]);
  o.duration = std::chrono::milliseconds(static_cast<int64_t>(std::stod(argv[3]) * 1000));
  ferry::bench::LoadResult r = ferry::bench::run_load(o);
  std::printf("%llu commands in %.2f s: %.0f/s%s%s\n", static_cast<unsigned long long>(r.commands),
              r.seconds, r.rate(), r.error.empty() ? "" : "; error: ", r.error.c_str());
  return r.error.empty() ? 0 : 1;
}
