#include "api/http_server.h"

#include <pistache/endpoint.h>
#include <pistache/http.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include "api/api.h"
#include "common/log.h"
#include "net/endpoint.h"

namespace ferry {
namespace {

using namespace Pistache;

// One thread that runs the requests that change something, one at a time, so that a slow one
// (a restart waits for the target) never holds the I/O threads that answer health checks,
// metrics and status.
class ControlThread {
 public:
  ControlThread() : thread_([this] { run(); }) {}
  ~ControlThread() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  void post(std::function<void()> task) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      tasks_.push_back(std::move(task));
    }
    cv_.notify_all();
  }

 private:
  void run() {
    std::unique_lock<std::mutex> lock(mu_);
    while (true) {
      cv_.wait(lock, [&] { return stop_ || !tasks_.empty(); });
      if (tasks_.empty()) return;
      std::function<void()> task = std::move(tasks_.front());
      tasks_.pop_front();
      lock.unlock();
      task();
      lock.lock();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  bool stop_ = false;
  std::thread thread_;
};

void send(Http::ResponseWriter& writer, const HttpResponse& out) {
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

class Handler : public Http::Handler {
 public:
  HTTP_PROTOTYPE(Handler)

  Handler(Api* api, std::shared_ptr<ControlThread> control) : api_(api), control_(control) {}

  void onRequest(const Http::Request& request, Http::ResponseWriter writer) override {
    HttpRequest r;
    r.method = Http::methodString(request.method());
    r.path = request.resource();
    for (auto it = request.query().parameters_begin(); it != request.query().parameters_end();
         ++it) {
      r.query[it->first] = it->second;
    }
    auto header = [&](const char* name) {
      auto h = request.headers().tryGetRaw(name);
      return h ? h->value() : std::string();
    };
    r.authorization = header("Authorization");
    r.origin = header("Origin");
    r.fetch_site = header("Sec-Fetch-Site");
    if (!Api::mutates(r)) {
      send(writer, api_->handle(r));
      return;
    }
    auto moved = std::make_shared<Http::ResponseWriter>(std::move(writer));
    Api* api = api_;
    control_->post([api, r, moved] { send(*moved, api->handle(r)); });
  }

 private:
  Api* api_;
  std::shared_ptr<ControlThread> control_;
};

}  // namespace

struct HttpServer::Impl {
  std::shared_ptr<ControlThread> control = std::make_shared<ControlThread>();
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
    endpoint->setHandler(Http::make_handler<Handler>(api, server->impl_->control));
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
  if (impl_) impl_->control.reset();
}

HttpServer::~HttpServer() {
  stop();
}

}  // namespace ferry
