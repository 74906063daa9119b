#include "config/config.h"

namespace ferry {

const char* name_of(FlushPolicy p) {
  switch (p) {
    case FlushPolicy::kAuto:
      return "auto";
    case FlushPolicy::kEveryWrite:
      return "everywrite";
    case FlushPolicy::kDuration:
      return "duration";
  }
  return "?";
}

const char* name_of(KeyExists k) {
  switch (k) {
    case KeyExists::kReplace:
      return "replace";
    case KeyExists::kIgnore:
      return "ignore";
    case KeyExists::kError:
      return "error";
  }
  return "?";
}

const char* name_of(FunctionExists f) {
  switch (f) {
    case FunctionExists::kReplace:
      return "replace";
    case FunctionExists::kFlush:
      return "flush";
    case FunctionExists::kAppend:
      return "append";
  }
  return "?";
}

const char* name_of(RedisType t) {
  switch (t) {
    case RedisType::kStandalone:
      return "standalone";
    case RedisType::kCluster:
      return "cluster";
  }
  return "?";
}

const char* name_of(SyncFrom s) {
  switch (s) {
    case SyncFrom::kMaster:
      return "master";
    case SyncFrom::kSlave:
      return "slave";
    case SyncFrom::kPreferSlave:
      return "prefer_slave";
  }
  return "?";
}

const char* name_of(InputMode m) {
  switch (m) {
    case InputMode::kStatic:
      return "static";
    case InputMode::kDynamic:
      return "dynamic";
  }
  return "?";
}

}  // namespace ferry
