#include "api/api.h"

#include <nlohmann/json.hpp>

#include "api/metrics.h"
#include "common/log.h"
#include "config/config_writer.h"

namespace ferry {
namespace {

using Json = nlohmann::ordered_json;

HttpResponse json_response(int status, const Json& body) {
  HttpResponse r;
  r.status = status;
  r.body = body.dump() + "\n";
  return r;
}

HttpResponse error(int status, const std::string& message) {
  return json_response(status, Json{{"error", message}});
}

HttpResponse from_status(const Status& st) {
  switch (st.code()) {
    case Status::Code::kInvalidArgument:
      return error(400, st.message());
    case Status::Code::kFailedPrecondition:
      return error(409, st.message());
    default:
      return error(500, st.message());
  }
}

// Constant time, so the token cannot be guessed byte by byte from response times.
bool same_secret(const std::string& given, const std::string& want) {
  if (want.empty()) return false;
  unsigned char diff = given.size() == want.size() ? 0 : 1;
  for (size_t i = 0; i < want.size(); i++) {
    diff |= static_cast<unsigned char>((i < given.size() ? given[i] : 0) ^ want[i]);
  }
  return diff == 0;
}

// yes/no parameters: absent means no.
bool flag(const HttpRequest& r, const std::string& name, bool* out, std::string* err) {
  auto it = r.query.find(name);
  if (it == r.query.end() || it->second == "no" || it->second == "false" || it->second == "0") {
    *out = false;
    return true;
  }
  if (it->second == "yes" || it->second == "true" || it->second == "1" || it->second.empty()) {
    *out = true;
    return true;
  }
  *err = name + "='" + it->second + "': expected yes or no";
  return false;
}

Json input_json(const InputStatus& s) {
  Json j;
  // The contract's four fields, then ferry's own.
  j["Input"] = s.input;
  if (!s.slots.empty()) j["Slots"] = s.slots;
  j["Role"] = s.role;
  j["Transaction"] = s.transaction;
  j["State"] = input_state_name(s.state);
  j["Link"] = s.link;
  j["Replid"] = s.replid;
  j["SourceOffset"] = s.source_offset;
  j["CachedOffset"] = s.cached_offset;
  j["AppliedOffset"] = s.applied_offset;
  j["AppliedPhase"] = s.applied_phase;
  j["LagBytes"] = s.lag_bytes;
  j["LagSeconds"] = s.lag_seconds;
  Json fs;
  fs["InProgress"] = s.full_sync;
  fs["RdbSize"] = s.rdb_size;
  fs["RdbReceived"] = s.rdb_received;
  fs["RdbParsed"] = s.rdb_parsed;
  fs["KeysParsed"] = s.rdb_keys_parsed;
  fs["KeysApplied"] = s.rdb_keys_applied;
  fs["SourceKeys"] = s.source_keys;
  j["FullSync"] = fs;
  j["CommandsApplied"] = s.commands_applied;
  j["CommandsFailed"] = s.commands_failed;
  j["CommandsFiltered"] = s.commands_filtered;
  j["TransactionsSplit"] = s.transactions_split;
  Json skipped = Json::object();
  for (const auto& [reason, n] : s.skipped_by_reason)
    skipped[reason] = n;
  j["CommandsSkipped"] = skipped;
  j["SkipRecord"] = s.skip_record;
  j["FullSyncs"] = s.full_syncs;
  j["PartialSyncs"] = s.partial_syncs;
  j["Reconnects"] = s.reconnects;
  j["CacheBytes"] = s.cache_bytes;
  j["Error"] = s.error;
  j["Waiting"] = s.waiting;
  j["Ready"] = s.ready;
  return j;
}

}  // namespace

Api::Api(Control* control, const Config* config, Hooks hooks)
    : control_(control), config_(config), hooks_(std::move(hooks)) {}

bool Api::mutates(const HttpRequest& request) {
  return request.method != "GET" && request.method != "HEAD" ? true : request.path == "/storage/gc";
}

bool Api::from_another_site(const HttpRequest& request) const {
  // Browsers say where a request comes from; other clients say nothing. The API's own
  // origin is what the browser would send for a page the API itself served.
  if (!request.fetch_site.empty() && request.fetch_site != "same-origin" &&
      request.fetch_site != "none") {
    return true;
  }
  // (The Host header is not trusted: a page can rebind a name of its own to 127.0.0.1.)
  if (request.origin.empty()) return false;
  const std::string& listen = config_->server.listen;
  const std::string port = listen.substr(listen.rfind(':'));
  for (const std::string& own :
       {"http://" + listen, "http://localhost" + port, "http://127.0.0.1" + port}) {
    if (request.origin == own) return false;
  }
  return true;
}

HttpResponse Api::handle(const HttpRequest& request) {
  struct Route {
    const char* path;
    std::vector<std::string> methods;
  };
  const std::string& metrics_path = config_->server.metric_route_path;
  const std::string& m = request.method;
  const std::string& p = request.path;

  // Health and metrics answer without the token (probes and scrapers rarely carry one).
  if (p == "/debug/health") {
    if (m != "GET" && m != "HEAD") {
      HttpResponse r = error(405, "GET " + p + " only");
      r.allow = "GET";
      return r;
    }
    return json_response(200, Json{{"status", "ok"}});
  }
  if (p == "/debug/ready") {
    if (m != "GET" && m != "HEAD") {
      HttpResponse r = error(405, "GET " + p + " only");
      r.allow = "GET";
      return r;
    }
    return ready();
  }
  if (p == metrics_path) {
    if (m != "GET" && m != "HEAD") {
      HttpResponse r = error(405, "GET " + p + " only");
      r.allow = "GET";
      return r;
    }
    return metrics();
  }

  static const std::vector<Route> routes = {
      {"/", {"DELETE"}},
      {"/syncer/restart", {"POST"}},
      {"/syncer/pause", {"POST"}},
      {"/syncer/resume", {"POST"}},
      {"/syncer/status", {"GET"}},
      {"/syncer/config", {"GET"}},
      {"/syncer/fullsync", {"POST"}},
      {"/syncer/handover", {"POST"}},
      {"/storage/gc", {"GET", "POST"}},
  };
  const Route* route = nullptr;
  for (const Route& r : routes) {
    if (p == r.path) route = &r;
  }
  if (!route) return error(404, "no such endpoint: " + p);
  bool allowed = false;
  std::string allow;
  for (const std::string& method : route->methods) {
    allowed = allowed || method == m;
    allow += (allow.empty() ? "" : ", ") + method;
  }
  if (!allowed) {
    HttpResponse r = error(405, m + " " + p + " is not supported; use " + allow);
    r.allow = allow;
    return r;
  }
  const std::string& token = config_->server.api_token;
  if (!token.empty() && !same_secret(request.authorization, "Bearer " + token)) {
    return error(401, "this endpoint needs the header 'Authorization: Bearer <server.apiToken>'");
  }
  if (mutates(request) && from_another_site(request)) {
    LOG_WARN("API: refused %s %s from origin '%s' (site '%s')", m.c_str(), p.c_str(),
             request.origin.c_str(), request.fetch_site.c_str());
    return error(403, "a request from a web page (Origin '" + request.origin +
                          "') may not change the sync; use curl or another client");
  }

  if (p == "/") {
    LOG_INFO("API: exit requested");
    if (hooks_.exit) hooks_.exit();
    return json_response(200, Json{{"result", "stopping"}});
  }
  if (p == "/syncer/status") return status();
  if (p == "/syncer/config") return config(request);
  if (p == "/storage/gc") return gc();
  if (p == "/syncer/restart") {
    Status st = control_->restart();
    if (!st.is_ok()) return from_status(st);
    return json_response(200, Json{{"result", "restarted"}});
  }
  return with_inputs(request, p.substr(p.rfind('/') + 1));
}

// Readiness: every input runs (or is paused on purpose). Else 503 with the reasons.
HttpResponse Api::ready() {
  Json reasons = Json::array();
  std::vector<InputStatus> inputs = control_->inputs();
  for (const InputStatus& s : inputs) {
    if (!s.ready) reasons.push_back(Json{{"input", s.input}, {"reason", s.not_ready}});
  }
  for (const std::string& why : control_->not_ready())
    reasons.push_back(Json{{"reason", why}});
  if (inputs.empty() && reasons.empty()) reasons.push_back(Json{{"reason", "no input runs"}});
  if (reasons.empty()) return json_response(200, Json{{"status", "ready"}});
  return json_response(503, Json{{"status", "not ready"}, {"reasons", reasons}});
}

HttpResponse Api::status() {
  Json arr = Json::array();
  for (const InputStatus& s : control_->inputs())
    arr.push_back(input_json(s));
  return json_response(200, arr);
}

HttpResponse Api::config(const HttpRequest& request) {
  auto it = request.query.find("format");
  std::string format = it == request.query.end() ? "yaml" : it->second;
  HttpResponse r;
  if (format == "json") {
    r.body = config_to_json(*config_);
  } else if (format == "yaml") {
    r.content_type = "application/yaml";
    r.body = config_to_yaml(*config_);
  } else {
    return error(400, "format='" + format + "': expected yaml or json");
  }
  return r;
}

HttpResponse Api::with_inputs(const HttpRequest& request, const std::string& action) {
  auto it = request.query.find("inputs");
  if (it == request.query.end() || it->second.empty()) {
    return error(400, "missing inputs: give inputs=all or inputs=host:port,...");
  }
  bool flushdb = false;
  std::string err;
  if (!flag(request, "flushdb", &flushdb, &err)) return error(400, err);
  std::vector<std::string> inputs;
  Status st = control_->resolve_inputs(it->second, &inputs);
  if (!st.is_ok()) return from_status(st);
  if (action == "pause") {
    st = control_->pause(inputs);
  } else if (action == "resume") {
    st = control_->resume(inputs);
  } else if (action == "fullsync") {
    LOG_INFO("API: full sync of %zu input(s)%s", inputs.size(), flushdb ? ", flushdb" : "");
    st = control_->full_sync(inputs, flushdb);
  } else if (action == "handover") {
    st = control_->handover(inputs);
  } else {
    return error(404, "no such endpoint: " + request.path);
  }
  if (!st.is_ok()) return from_status(st);
  return json_response(200, Json{{"result", "ok"}, {"inputs", inputs}});
}

HttpResponse Api::gc() {
  uint64_t freed = control_->gc();
  return json_response(200, Json{{"freed_bytes", freed}});
}

HttpResponse Api::metrics() {
  HttpResponse r;
  r.content_type = "text/plain; version=0.0.4";
  r.body = render_metrics(control_->inputs());
  return r;
}

}  // namespace ferry
