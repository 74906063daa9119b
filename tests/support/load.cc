#include "tests/support/load.h"

#include <gtest/gtest.h>

#include <fstream>
#include <thread>

#include "net/socket.h"
#include "proto/reply_reader.h"
#include "proto/resp.h"
#include "tests/support/http_client.h"

namespace ferry::test {

bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

bool wait_ops(const Workload& writer, uint64_t more, std::chrono::milliseconds timeout) {
  uint64_t want = writer.ops() + more;
  return wait_until([&] { return writer.ops() >= want || !writer.error().empty(); }, timeout) &&
         writer.error().empty();
}

int64_t pipeline(const Endpoint& server, const std::vector<std::vector<std::string>>& commands,
                 size_t group, std::string* first_error) {
  Socket sock;
  if (!Socket::connect(server, std::chrono::seconds(5), &sock).is_ok()) return -1;
  resp::ReplyReader reader;
  resp::Reply reply;
  int64_t errors = 0;
  for (size_t at = 0; at < commands.size(); at += group) {
    size_t end = std::min(commands.size(), at + group);
    std::string wire;
    for (size_t i = at; i < end; i++) {
      std::vector<std::string_view> args(commands[i].begin(), commands[i].end());
      resp::append_array_header(&wire, args.size());
      for (std::string_view a : args)
        resp::append_bulk(&wire, a);
    }
    if (!sock.write_all(wire, std::chrono::seconds(30)).is_ok()) return -1;
    for (size_t got = at; got < end;) {
      resp::ReplyReader::Result r = reader.next(&reply);
      if (r == resp::ReplyReader::Result::kError) return -1;
      if (r == resp::ReplyReader::Result::kReply) {
        if (reply.is_error()) {
          if (errors == 0 && first_error) *first_error = std::string(reply.str);
          errors++;
        }
        got++;
        continue;
      }
      char buf[65536];
      size_t n = 0;
      if (!sock.read_some(buf, sizeof(buf), std::chrono::seconds(30), &n).is_ok() || n == 0) {
        return -1;
      }
      reader.feed(buf, n);
    }
  }
  return errors;
}

json input_status(const FerryProcess& ferry, const std::string& input) {
  HttpResult r = http("GET", ferry.api() + "/syncer/status");
  if (r.status != 200) return json();
  json all = json::parse(r.body, nullptr, false);
  if (!all.is_array() || all.empty()) return json();
  for (const json& s : all) {
    if (input.empty() || s.value("Input", "") == input) return s;
  }
  return json();
}

uint64_t source_offset(RedisServer& source) {
  return static_cast<uint64_t>(source.info_int("replication", "master_repl_offset"));
}

bool wait_received(const FerryProcess& ferry, RedisServer& source,
                   std::chrono::milliseconds timeout) {
  uint64_t want = source_offset(source);
  return wait_until(
      [&] {
        json s = input_status(ferry, source.address());
        return s.is_object() && s["SourceOffset"].get<uint64_t>() >= want;
      },
      timeout);
}

bool wait_applied(const FerryProcess& ferry, RedisServer& source,
                  std::chrono::milliseconds timeout) {
  uint64_t want = source_offset(source);
  return wait_until(
      [&] {
        json s = input_status(ferry, source.address());
        return s.is_object() && s["AppliedPhase"] == "stream" &&
               s["AppliedOffset"].get<uint64_t>() >= want;
      },
      timeout);
}

std::vector<json> read_json_lines(const std::string& path) {
  std::vector<json> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    json j = json::parse(line, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << path << ": " << line;
    out.push_back(j);
  }
  return out;
}

}  // namespace ferry::test
