// Names the calling thread (as top, perf and /proc show it): at most 15 characters.
#pragma once

#include <pthread.h>

#include <string>

namespace ferry {

inline void set_thread_name(const std::string& name) {
  pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
}

}  // namespace ferry
