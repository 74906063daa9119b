// HttpServer: carries the Api over HTTP/1.1 with Pistache, on server.listen. Only
// http_server.cc includes Pistache. Reads (health, readiness, metrics, status, config) are
// answered on the I/O threads; requests that change something run one at a time on a
// control thread of their own, so a slow one (a restart) never stops health checks.
#pragma once

#include <memory>
#include <string>

#include "common/status.h"

namespace ferry {

class Api;

class HttpServer {
 public:
  // Binds `listen` ("host:port") and starts serving; fails naming the address when it
  // cannot bind.
  static Status start(const std::string& listen, Api* api, std::unique_ptr<HttpServer>* out);
  ~HttpServer();
  void stop();

 private:
  HttpServer() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ferry
