// Api: the REST control plane of ../docs/api.md as plain request -> response, with no HTTP
// library in sight (http_server.* carries it over Pistache). Every answer but the metrics
// and the YAML configuration is JSON; every error is {"error": "..."} naming what was wrong,
// and a request answered with an error has changed nothing. It acts on the sync only
// through the Control interface.
#pragma once

#include <functional>
#include <map>
#include <string>

#include "config/config.h"
#include "pipeline/control.h"

namespace ferry {

struct HttpRequest {
  std::string method;  // GET, POST, DELETE, ...
  std::string path;    // without the query
  std::map<std::string, std::string> query;
  std::string authorization;  // the Authorization header, if any
  std::string origin;         // the Origin header, if any (browsers send it)
  std::string fetch_site;     // the Sec-Fetch-Site header, if any
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::string allow;  // 405: the methods the path takes
};

class Api {
 public:
  struct Hooks {
    std::function<void()> exit;  // DELETE /: begin the graceful stop (returns at once)
  };

  Api(Control* control, const Config* config, Hooks hooks);
  HttpResponse handle(const HttpRequest& request);
  // Whether the request may change something (and so may take long): what the transport
  // runs on its control thread rather than inline.
  static bool mutates(const HttpRequest& request);

 private:
  // A mutation a web page made the browser send (cross-site request forgery): refused.
  bool from_another_site(const HttpRequest& request) const;
  HttpResponse status();
  HttpResponse ready();
  HttpResponse config(const HttpRequest& request);
  HttpResponse with_inputs(const HttpRequest& request, const std::string& action);
  HttpResponse gc();
  HttpResponse metrics();

  Control* control_;
  const Config* config_;
  Hooks hooks_;
};

}  // namespace ferry
