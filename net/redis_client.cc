#include "net/redis_client.h"

#include <cstdio>
#include <sstream>

namespace ferry {
namespace {

void copy_reply(const resp::Reply& r, Reply* out) {
  using T = resp::Reply::Type;
  switch (r.type) {
    case T::kString:
    case T::kOther:  // RESP3's verbatim strings and the like: their text
      out->type = Reply::Type::kString;
      out->str.assign(r.str);
      break;
    case T::kStatus:
      out->type = Reply::Type::kStatus;
      out->str.assign(r.str);
      break;
    case T::kError:
      out->type = Reply::Type::kError;
      out->str.assign(r.str);
      break;
    case T::kInteger:
      out->type = Reply::Type::kInteger;
      out->integer = r.integer;
      break;
    case T::kArray:
      out->type = Reply::Type::kArray;
      out->elements.resize(r.elements.size());
      for (size_t i = 0; i < r.elements.size(); i++)
        copy_reply(r.elements[i], &out->elements[i]);
      break;
    case T::kNil:
      out->type = Reply::Type::kNil;
      break;
  }
}

}  // namespace

bool RedisClient::connected() const {
  return conn_.is_open();
}

void RedisClient::close() {
  conn_.close();
}

Status RedisClient::connect(const Endpoint& ep, const Credentials& creds,
                            std::chrono::milliseconds timeout) {
  ConnectOptions o;
  o.endpoint = ep;
  o.credentials = creds;
  o.connect_timeout = timeout;
  o.timeout = timeout;
  return conn_.open(o);
}

Status RedisClient::command(const std::vector<std::string>& argv, Reply* reply) {
  resp::Reply r;
  FERRY_RETURN_IF_ERROR(conn_.call_argv(argv, &r));
  *reply = Reply();
  copy_reply(r, reply);
  return Status::ok();
}

Status RedisClient::checked(const std::vector<std::string>& argv, Reply* reply) {
  Reply local;
  Reply* r = reply ? reply : &local;
  FERRY_RETURN_IF_ERROR(command(argv, r));
  if (r->is_error()) {
    return Status::io_error((argv.empty() ? std::string() : argv[0]) + " on " +
                            endpoint().to_string() + " failed: " + r->str);
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

std::shared_ptr<CommandTable> read_command_table(RedisClient& client) {
  auto table = std::make_shared<CommandTable>();
  Reply r;
  if (!client.command({"COMMAND"}, &r).is_ok() || r.type != Reply::Type::kArray) return table;
  for (const Reply& c : r.elements) {
    if (c.elements.size() < 2 || c.elements[1].type != Reply::Type::kInteger) continue;
    CommandTable::KeySpec keys{0, 0, 0};
    if (c.elements.size() >= 6) {
      keys = CommandTable::KeySpec{static_cast<int>(c.elements[3].integer),
                                   static_cast<int>(c.elements[4].integer),
                                   static_cast<int>(c.elements[5].integer)};
    }
    table->add(c.elements[0].str, static_cast<int>(c.elements[1].integer), keys);
  }
  return table;
}

bool RedisVersion::parse(const std::string& text, RedisVersion* out) {
  RedisVersion v;
  v.text = text;
  if (std::sscanf(text.c_str(), "%d.%d.%d", &v.major, &v.minor, &v.patch) < 1) return false;
  *out = v;
  return true;
}

}  // namespace ferry
