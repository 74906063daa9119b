#include "api/http_server.h"

#include <pistache/endpoint.h>
#include <pistache/http.h>

#include "api/api.h"
#include "common/log.h"
#include "net/endpoint.h"

namespace ferry {
namespace {

using namespace Pistache;

class Handler : public Http::Handler {
 public:
  HTTP_PROTOTYPE(Handler)

  explicit Handler(Api* api) : api_(api) {}

  void onRequest(const Http::Request& request, Http::ResponseWriter writer) override {
    HttpRequest r;
    r.method = Http::methodString(request.method());
    r.path = request.resource();
    for (auto it = request.query().parameters_begin(); it != request.query().parameters_end();
         ++it) {
      r.query[it->first] = it->second;
    }
    auto auth = request.headers().tryGetRaw("Authorization");
    if (auth) r.authorization = auth->value();
    HttpResponse out = api_->handle(r);
    writer.headers().add<Http::Header::ContentType>(out.content_type);
    if (!out.allow.empty()) {
      std::vector<Http::Method> methods;
      for (const auto& [name, method] :
           {std::pair{"GET", Http::Method::Get}, std::pair{"POST", Http::Method::Post},
            std::pair{"DELETE", Http::Method::Delete}}) {
        if (out.allow.find(name) != std::string::npos) methods.push_back(method);
      }
      writer.headers().add<Http::Header::Allow>(methods);
    }
    writer.send(static_cast<Http::Code>(out.status), out.body);
  }

 private:
  Api* api_;
};

}  // namespace

struct HttpServer::Impl {
  std::shared_ptr<Http::Endpoint> endpoint;
};

Status HttpServer::start(const std::string& listen, Api* api, std::unique_ptr<HttpServer>* out) {
  Endpoint ep;
  Status st = Endpoint::parse(listen, &ep);
  if (!st.is_ok()) return Status::invalid_argument("server.listen: " + st.message());
  std::unique_ptr<HttpServer> server(new HttpServer());
  server->impl_ = std::make_unique<Impl>();
  try {
    auto endpoint =
        std::make_shared<Http::Endpoint>(Address(ep.host, Port(static_cast<uint16_t>(ep.port))));
    endpoint->init(Http::Endpoint::options()
                       .threads(2)
                       .flags(Tcp::Options::ReuseAddr)
                       .maxRequestSize(64 * 1024)
                       .maxResponseSize(64 * 1024 * 1024));
    endpoint->setHandler(Http::make_handler<Handler>(api));
    endpoint->serveThreaded();
    server->impl_->endpoint = endpoint;
  } catch (const std::exception& e) {
    return Status::io_error("server.listen " + listen + ": cannot serve the API: " + e.what());
  }
  LOG_INFO("API listening on http://%s", listen.c_str());
  *out = std::move(server);
  return Status::ok();
}

void HttpServer::stop() {
  if (impl_ && impl_->endpoint) {
    impl_->endpoint->shutdown();
    impl_->endpoint.reset();
  }
}

HttpServer::~HttpServer() {
  stop();
}

}  // namespace ferry
