// A TCP endpoint "host:port" and the credentials used on it.
#pragma once

#include <string>

#include "common/status.h"

namespace ferry {

struct Endpoint {
  std::string host;
  int port = 0;

  std::string to_string() const { return host + ":" + std::to_string(port); }
  static Status parse(const std::string& text, Endpoint* out);
  bool operator==(const Endpoint& o) const { return host == o.host && port == o.port; }
};

struct Credentials {
  std::string user;      // empty: the default user
  std::string password;  // empty: no AUTH
};

}  // namespace ferry
