// Child processes for tests: start a program with arguments, its output going to a file;
// signal it; wait for it with a deadline.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace ferry::test {

class Process {
 public:
  Process() = default;
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  // Starts argv[0] (searched in PATH) with stdout and stderr appended to output_file.
  bool start(const std::vector<std::string>& argv, const std::string& output_file);
  bool running();
  void signal(int sig);
  // Waits for the exit; false on timeout. *status is the raw wait status.
  bool wait(std::chrono::milliseconds timeout, int* status);
  // SIGKILL and reap, if still running.
  void kill();
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  bool reaped_ = true;
  int status_ = 0;
};

// Picks a TCP port on loopback that is free, and whose port+10000 is free too (the Redis
// Cluster bus), from a range unlikely to hold system services.
int free_port();
// The same, from [lo, hi).
int free_port(int lo, int hi);

std::string make_temp_dir(const std::string& prefix);
void write_file(const std::string& path, const std::string& data);

}  // namespace ferry::test
