// ferry: keeps a target Redis in sync with a source Redis.
#include <malloc.h>
#include <signal.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "app/sync_command.h"
#include "app/version.h"

namespace {

const char* kUsage =
    "usage: ferry <command> [options]\n"
    "\n"
    "commands:\n"
    "  sync -c FILE     run the real-time sync daemon (also --config FILE)\n"
    "\n"
    "options:\n"
    "  -h, --help       show this help\n"
    "  -v, --version    show the version\n";

}  // namespace

int main(int argc, char** argv) {
  // Many threads each get their own malloc arena by default, and memory freed in one stays
  // cached there: cap the arenas so the resident size follows the configured budgets.
  mallopt(M_ARENA_MAX, 2);
  // Buffers from 256 KiB up (RDB chunks, big batches, big values) are mapped and unmapped
  // on their own. By default glibc raises this threshold as such buffers are freed, after
  // which they come from the heap and leave it fragmented: a 1 GB full sync then peaked at
  // 160 MiB resident instead of 100 MiB.
  mallopt(M_MMAP_THRESHOLD, 256 * 1024);
  // SIGTERM/SIGINT are taken by `sync`'s signal thread; block them before anything else so
  // one arriving during start-up is not lost (nor kills the process halfway).
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  if (argc < 2) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  std::string cmd = argv[1];
  if (cmd == "-h" || cmd == "--help" || cmd == "help") {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (cmd == "-v" || cmd == "--version" || cmd == "version") {
    std::printf("ferry %s\n", FERRY_VERSION);
    return 0;
  }
  if (cmd == "sync") {
    std::string config;
    for (int i = 2; i < argc; i++) {
      std::string a = argv[i];
      if ((a == "-c" || a == "--config") && i + 1 < argc) {
        config = argv[++i];
      } else if (a.rfind("--config=", 0) == 0) {
        config = a.substr(9);
      } else if (a == "-h" || a == "--help") {
        std::fputs(kUsage, stdout);
        return 0;
      } else {
        std::fprintf(stderr, "ferry: unknown option '%s' for sync\n%s", a.c_str(), kUsage);
        return 2;
      }
    }
    if (config.empty()) {
      std::fprintf(stderr, "ferry: sync needs a configuration file: ferry sync -c FILE\n");
      return 2;
    }
    return ferry::run_sync(config);
  }
  std::fprintf(stderr, "ferry: unknown command '%s'\n%s", cmd.c_str(), kUsage);
  return 2;
}
