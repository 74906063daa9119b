// libFuzzer target: the configuration loader over any text: an error naming the key, never
// a crash.
#include <cstddef>
#include <cstdint>
#include <string>

#include "config/config_loader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  ferry::Config config;
  (void)ferry::load_config_text(text, "fuzz.yaml", &config);
  return 0;
}
