#pragma once

#define FERRY_VERSION "0.1.0"
