// HttpServer: carries the Api over HTTP/1.1 with Pistache, on server.listen. Only
// http_server.cc includes Pistache. Requests are served on their own small thread pool, so
// a slow control operation (a restart) does not stop health checks.
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
