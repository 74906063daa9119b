// Loads and validates the YAML configuration (the contract in docs/configuration.md).
// Unknown keys, wrong types, bad values and missing required keys are errors naming the
// key, the file and the line; known keys that are not implemented yet are accepted and
// listed in Config::warnings.
#pragma once

#include <string>

#include "common/status.h"
#include "config/config.h"

namespace ferry {

Status load_config_file(const std::string& path, Config* out);
// Same, from text; `name` is used in messages in place of a file name.
Status load_config_text(const std::string& text, const std::string& name, Config* out);

}  // namespace ferry
