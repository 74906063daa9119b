// Writes the fuzzers' starting corpora from the project's test data: every record of the
// RDB corpus as a value seed (type byte + value bytes), RESP command streams and replies,
// LZF blocks, the example configurations. Usage: fuzz_seeds <project root> <out dir>.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "proto/lzf.h"
#include "proto/rdb_reader.h"
#include "proto/resp.h"

namespace fs = std::filesystem;

namespace {

void write(const fs::path& dir, const std::string& name, const std::string& bytes) {
  fs::create_directories(dir);
  std::ofstream(dir / name, std::ios::binary) << bytes;
}

std::string read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

struct Values : ferry::rdb::RdbSink {
  fs::path dir;
  std::string prefix;
  int n = 0;
  void on_key(const ferry::rdb::KeyRecord& r) override {
    if (r.value.size() > 64 * 1024) return;
    write(dir, prefix + "-" + std::to_string(n++),
          std::string(1, static_cast<char>(r.type)) + std::string(r.value));
  }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s <project root> <out dir>\n", argv[0]);
    return 2;
  }
  const fs::path root = argv[1], out = argv[2];
  const fs::path corpus = root / "tests" / "data" / "rdb";
  for (const auto& f : fs::recursive_directory_iterator(corpus)) {
    if (f.path().extension() != ".rdb") continue;
    std::string bytes = read(f.path());
    write(out / "rdb_reader", f.path().filename().string(), bytes);
    Values v;
    v.dir = out / "values";
    v.prefix = f.path().stem().string();
    ferry::rdb::RdbReader reader(ferry::rdb::RdbReader::Options(), &v);
    (void)reader.feed(bytes);
  }
  std::string stream;
  ferry::resp::append_command(&stream, {"SELECT", "3"});
  ferry::resp::append_command(&stream, {"MULTI"});
  ferry::resp::append_command(&stream, {"SET", "k", "v", "PXAT", "1764582000000"});
  ferry::resp::append_command(&stream, {"RPUSH", "l", std::string(300, 'x')});
  ferry::resp::append_command(&stream, {"EXEC"});
  ferry::resp::append_command(&stream, {"PING"});
  write(out / "resp", "stream", std::string(1, '\x05') + stream);
  write(out / "resp", "inline", std::string(1, '\x01') + "PING\r\n*1\r\n$4\r\nPING\r\n");
  write(out / "reply_reader", "replies",
        std::string(1, '\x07') +
            "+OK\r\n+QUEUED\r\n-ERR x\r\n:42\r\n$3\r\nabc\r\n$-1\r\n*-1\r\n*2\r\n:1\r\n*1\r\n"
            "$0\r\n\r\n_\r\n,1.5\r\n#t\r\n%1\r\n+a\r\n:1\r\n");
  std::string packed;
  std::string text;
  for (int i = 0; i < 200; i++)
    text += "ferry-" + std::to_string(i % 17);
  if (ferry::lzf_compress(text, &packed)) {
    size_t n = text.size() / 4;
    write(out / "lzf", "text",
          std::string{static_cast<char>(n >> 8), static_cast<char>(n)} + packed);
  }
  for (const auto& f : fs::directory_iterator(root / "configs")) {
    if (f.path().extension() == ".yaml") {
      write(out / "config", f.path().filename().string(), read(f.path()));
    }
  }
  return 0;
}
