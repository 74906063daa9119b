// Control: the one narrow interface through which the control plane (the REST API, the
// signal handler) acts on the running sync. It never exposes nodes or graphs. Errors are
// kInvalidArgument for a bad request (nothing done) and kFailedPrecondition for a request
// the current state does not allow (nothing done).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "pipeline/input_status.h"

namespace ferry {

class Control {
 public:
  virtual ~Control() = default;
  // Every input, sorted by host then port.
  virtual std::vector<InputStatus> inputs() const = 0;
  // Turns an `inputs` request parameter — "all", or a comma-separated list of source node
  // addresses — into input names, each once, in the status order. Anything that names no
  // input (or an empty spec) fails, naming it.
  virtual Status resolve_inputs(const std::string& spec, std::vector<std::string>* out) const = 0;
  // Inputs are named by their source node "host:port". An unknown name fails and changes
  // nothing. Pausing keeps receiving the source into the local cache.
  virtual Status pause(const std::vector<std::string>& inputs) = 0;
  virtual Status resume(const std::vector<std::string>& inputs) = 0;
  // Stops every input and starts them again (topology rediscovered, resuming from the
  // checkpoints); paused inputs stay paused.
  virtual Status restart() = 0;
  // Drops the inputs' cache and checkpoints and syncs them again from a fresh full sync;
  // with `flushdb`, first empties what they write to on the target (refused, changing
  // nothing, when the inputs do not map one to one onto target nodes).
  virtual Status full_sync(const std::vector<std::string>& inputs, bool flushdb) = 0;
  // Gives up leadership of the inputs to another process of the cluster group.
  virtual Status handover(const std::vector<std::string>& inputs) = 0;
  // Frees cached data no input needs any more; returns the bytes freed.
  virtual uint64_t gc() = 0;
  // Why the process is not ready beyond its inputs' own states (an input that could not be
  // started, ...); empty when nothing else is wrong.
  virtual std::vector<std::string> not_ready() const = 0;
};

}  // namespace ferry
