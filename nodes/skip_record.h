// The skip record's line for a command a stage leaves out for good before it is sent (the
// filter: the target would refuse it; the route stage: a cluster target cannot take it).
#pragma once

#include <string>

#include "net/error_policy.h"
#include "nodes/messages.h"
#include "storage/skip_log.h"

namespace ferry {

SkipRecord skip_record_of(const Packet& packet, size_t index, const std::string& why,
                          SkipReason reason);

}  // namespace ferry
