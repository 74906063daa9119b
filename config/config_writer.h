// Writes the effective configuration back out (GET /syncer/config): every key with its
// value, defaults filled in, secrets masked as "******". The YAML form loads back as the
// same configuration (secrets aside); the JSON form has the same tree.
#pragma once

#include <string>

#include "config/config.h"

namespace ferry {

std::string config_to_yaml(const Config& config);
std::string config_to_json(const Config& config);

// What a secret is shown as.
inline constexpr const char* kMaskedSecret = "******";

}  // namespace ferry
