#include "app/sync_command.h"

#include <signal.h>

#include <atomic>
#include <cstdio>
#include <thread>

#include "api/api.h"
#include "api/http_server.h"
#include "app/version.h"
#include "common/log.h"
#include "config/config_loader.h"
#include "pipeline/supervisor.h"

namespace ferry {
namespace {

Status init_logging(const LogConfig& lc) {
  log::Options opts;
  FERRY_RETURN_IF_ERROR(log::parse_level(lc.level, &opts.level));
  opts.file = lc.file_name;
  opts.to_stdout = lc.file_name.empty() ? true : lc.to_stdout;
  opts.json = lc.format == "json";
  return log::init(opts);
}

}  // namespace

int run_sync(const std::string& config_path) {
  // Signals go to one place: block them in every thread (all created after this point)
  // and wait for them on a dedicated thread. A signal that comes during start-up stays
  // pending until then.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  Config config;
  Status st = load_config_file(config_path, &config);
  if (!st.is_ok()) {
    std::fprintf(stderr, "ferry: %s\n", st.message().c_str());
    return 2;
  }
  st = init_logging(config.log);
  if (!st.is_ok()) {
    std::fprintf(stderr, "ferry: %s\n", st.message().c_str());
    return 2;
  }
  for (const std::string& w : config.warnings)
    LOG_WARN("%s", w.c_str());

  std::atomic<bool> stop{false};
  std::atomic<bool> done{false};
  std::thread waiter([&] {
    struct timespec ts = {0, 200 * 1000 * 1000};
    while (!done) {
      int sig = sigtimedwait(&signals, nullptr, &ts);
      if (sig > 0) {
        LOG_INFO("received %s: stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
        stop = true;
        return;
      }
    }
  });

  LOG_INFO("ferry %s: sync with configuration %s", FERRY_VERSION, config_path.c_str());
  int code = 0;
  {
    Supervisor supervisor(config);
    // The API comes up first, so health checks answer while the inputs start.
    Api api(&supervisor, &config, Api::Hooks{[&stop] { stop = true; }});
    std::unique_ptr<HttpServer> http;
    st = HttpServer::start(config.server.listen, &api, &http);
    if (st.is_ok()) st = supervisor.start();
    if (!st.is_ok()) {
      LOG_ERROR("%s", st.message().c_str());
      std::fprintf(stderr, "ferry: %s\n", st.message().c_str());
      code = st.code() == Status::Code::kInvalidArgument ? 2 : 1;
    } else {
      supervisor.run(&stop);
      std::string fatal = supervisor.fatal_reason();
      bool drained = supervisor.shutdown();
      if (!fatal.empty()) {
        std::fprintf(stderr, "ferry: %s\n", fatal.c_str());
        code = 1;
      } else if (!drained) {
        LOG_ERROR("graceful stop timed out after %lld ms",
                  static_cast<long long>(config.server.graceful_stop_timeout.count()));
        std::fprintf(stderr, "ferry: graceful stop timed out\n");
        code = 1;
      } else {
        LOG_INFO("stopped");
      }
    }
    if (http) http->stop();
  }
  done = true;
  waiter.join();
  return code;
}

}  // namespace ferry
