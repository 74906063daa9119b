// `ferry sync -c FILE`: the real-time sync daemon. Returns the process exit code:
// 0 after a clean stop (SIGTERM, SIGINT), 1 when it stopped on an error or the graceful stop
// timed out, 2 on a bad configuration. Errors are printed as one line on stderr.
#pragma once

#include <string>

namespace ferry {

int run_sync(const std::string& config_path);

}  // namespace ferry
