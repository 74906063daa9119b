// Control: the one narrow interface through which the control plane (the REST API, the
// signal handler) acts on the running sync. It never exposes nodes or graphs.
#pragma once

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
  // Inputs are named by their source node "host:port". An unknown name fails and changes
  // nothing.
  virtual Status pause(const std::vector<std::string>& inputs) = 0;
  virtual Status resume(const std::vector<std::string>& inputs) = 0;
};

}  // namespace ferry
