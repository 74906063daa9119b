#include "net/redis_client.h"

#include <hiredis/hiredis.h>

#include <cstdio>
#include <sstream>

namespace ferry {

struct RedisClient::Impl {
  redisContext* ctx = nullptr;
  ~Impl() {
    if (ctx) redisFree(ctx);
  }
};

RedisClient::RedisClient() : impl_(std::make_unique<Impl>()) {}
RedisClient::~RedisClient() = default;

bool RedisClient::connected() const {
  return impl_->ctx != nullptr;
}

void RedisClient::close() {
  if (impl_->ctx) {
    redisFree(impl_->ctx);
    impl_->ctx = nullptr;
  }
}

Status RedisClient::connect(const Endpoint& ep, const Credentials& creds,
                            std::chrono::milliseconds timeout) {
  close();
  ep_ = ep;
  struct timeval tv;
  tv.tv_sec = timeout.count() / 1000;
  tv.tv_usec = (timeout.count() % 1000) * 1000;
  redisContext* ctx = redisConnectWithTimeout(ep.host.c_str(), ep.port, tv);
  if (!ctx) return Status::io_error("cannot connect to " + ep.to_string());
  if (ctx->err) {
    Status st = Status::io_error("cannot connect to " + ep.to_string() + ": " + ctx->errstr);
    redisFree(ctx);
    return st;
  }
  redisSetTimeout(ctx, tv);
  impl_->ctx = ctx;
  if (!creds.password.empty()) {
    std::vector<std::string> auth = {"AUTH"};
    if (!creds.user.empty()) auth.push_back(creds.user);
    auth.push_back(creds.password);
    Reply r;
    Status st = command(auth, &r);
    if (st.is_ok() && r.is_error()) {
      st = Status::invalid_argument("AUTH to " + ep.to_string() + " failed: " + r.str);
    }
    if (!st.is_ok()) {
      close();
      return st;
    }
  }
  return Status::ok();
}

namespace {

void convert(const redisReply* r, Reply* out) {
  switch (r->type) {
    case REDIS_REPLY_STRING:
      out->type = Reply::Type::kString;
      out->str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      out->type = Reply::Type::kStatus;
      out->str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      out->type = Reply::Type::kError;
      out->str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      out->type = Reply::Type::kInteger;
      out->integer = r->integer;
      break;
    case REDIS_REPLY_ARRAY:
      out->type = Reply::Type::kArray;
      out->elements.resize(r->elements);
      for (size_t i = 0; i < r->elements; i++)
        convert(r->element[i], &out->elements[i]);
      break;
    default:
      out->type = Reply::Type::kNil;
  }
}

}  // namespace

Status RedisClient::command(const std::vector<std::string>& argv, Reply* reply) {
  if (!impl_->ctx) return Status::io_error("not connected to " + ep_.to_string());
  std::vector<const char*> args;
  std::vector<size_t> lens;
  for (const auto& a : argv) {
    args.push_back(a.data());
    lens.push_back(a.size());
  }
  void* raw = redisCommandArgv(impl_->ctx, static_cast<int>(args.size()), args.data(), lens.data());
  if (!raw) {
    Status st = Status::io_error("request to " + ep_.to_string() + " failed: " +
                                 (impl_->ctx->errstr[0] ? impl_->ctx->errstr : "no reply"));
    close();
    return st;
  }
  *reply = Reply();
  convert(static_cast<redisReply*>(raw), reply);
  freeReplyObject(raw);
  return Status::ok();
}

Status RedisClient::checked(const std::vector<std::string>& argv, Reply* reply) {
  Reply local;
  Reply* r = reply ? reply : &local;
  FERRY_RETURN_IF_ERROR(command(argv, r));
  if (r->is_error()) {
    return Status::io_error((argv.empty() ? std::string() : argv[0]) + " on " + ep_.to_string() +
                            " failed: " + r->str);
  }
  return Status::ok();
}

Status RedisClient::info(const std::string& section, std::map<std::string, std::string>* fields) {
  Reply r;
  FERRY_RETURN_IF_ERROR(checked({"INFO", section}, &r));
  fields->clear();
  std::istringstream in(r.str);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    (*fields)[line.substr(0, colon)] = line.substr(colon + 1);
  }
  return Status::ok();
}

bool RedisVersion::parse(const std::string& text, RedisVersion* out) {
  RedisVersion v;
  v.text = text;
  if (std::sscanf(text.c_str(), "%d.%d.%d", &v.major, &v.minor, &v.patch) < 1) return false;
  *out = v;
  return true;
}

}  // namespace ferry
