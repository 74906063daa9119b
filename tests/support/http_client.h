// A blocking HTTP client for tests (libcurl): real requests to ferry's API.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace ferry::test {

struct HttpResult {
  long status = 0;  // 0: no answer (connection refused, timeout)
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string error;                           // why there was no answer
};

// `url` like "http://127.0.0.1:18001/syncer/status"; `token` adds "Authorization: Bearer";
// `extra_headers` are "Name: value" lines.
HttpResult http(const std::string& method, const std::string& url, const std::string& token = "",
                const std::vector<std::string>& extra_headers = {}, long timeout_s = 60);

}  // namespace ferry::test
