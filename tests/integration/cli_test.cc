// The command line as a user meets it: help, version, and exit codes with one-line reasons.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include "tests/support/corpus.h"
#include "tests/support/ferry_process.h"
#include "tests/support/process.h"

namespace ferry::test {
namespace {

struct CliRun {
  int code = -1;
  std::string output;
};

CliRun run_ferry(const std::vector<std::string>& args) {
  std::string dir = make_temp_dir("ferry-cli");
  std::vector<std::string> argv = {FerryProcess::binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  Process p;
  CliRun r;
  if (!p.start(argv, dir + "/out")) return r;
  int status = 0;
  if (p.wait(std::chrono::seconds(20), &status) && WIFEXITED(status)) r.code = WEXITSTATUS(status);
  r.output = read_file(dir + "/out");
  return r;
}

TEST(Cli, HelpAndVersion) {
  CliRun h = run_ferry({"--help"});
  EXPECT_EQ(h.code, 0);
  EXPECT_NE(h.output.find("sync -c FILE"), std::string::npos);
  CliRun v = run_ferry({"--version"});
  EXPECT_EQ(v.code, 0);
  EXPECT_EQ(v.output.rfind("ferry ", 0), 0u) << v.output;
}

TEST(Cli, UsageErrorsExitWithTwo) {
  EXPECT_EQ(run_ferry({}).code, 2);
  EXPECT_EQ(run_ferry({"frobnicate"}).code, 2);
  CliRun no_file = run_ferry({"sync"});
  EXPECT_EQ(no_file.code, 2);
  EXPECT_NE(no_file.output.find("configuration file"), std::string::npos);
  CliRun missing = run_ferry({"sync", "-c", "/nonexistent/ferry.yaml"});
  EXPECT_EQ(missing.code, 2);
  EXPECT_NE(missing.output.find("/nonexistent/ferry.yaml"), std::string::npos);
}

TEST(Cli, BadConfigNamesKeyAndLine) {
  std::string dir = make_temp_dir("ferry-cli");
  write_file(dir + "/bad.yaml",
             "input:\n  redis:\n    addresses: [127.0.0.1:1]\noutput:\n  redis:\n"
             "    addresses: [127.0.0.1:2]\n  replay:\n    batchCmdCount: lots\n");
  CliRun r = run_ferry({"sync", "--config", dir + "/bad.yaml"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output.find("bad.yaml:8"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("output.replay.batchCmdCount"), std::string::npos) << r.output;
  // One line.
  EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
}

TEST(Cli, UnreachableTargetIsAClearError) {
  std::string dir = make_temp_dir("ferry-cli");
  int port = free_port();
  write_file(dir + "/c.yaml",
             "input:\n  redis:\n    addresses: [127.0.0.1:1]\noutput:\n  redis:\n"
             "    addresses: [127.0.0.1:" +
                 std::to_string(port) + "]\n");
  // The probe waits up to 10 s for the target to appear before giving up.
  CliRun r = run_ferry({"sync", "-c", dir + "/c.yaml"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.output.find("cannot reach the target 127.0.0.1:" + std::to_string(port)),
            std::string::npos)
      << r.output;
}

}  // namespace
}  // namespace ferry::test
