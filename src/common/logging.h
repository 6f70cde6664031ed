// Logging setup. Code logs with spdlog directly (SPDLOG_* macros or spdlog::info).
#pragma once

#include <string_view>

#include "common/status.h"

namespace unicache {

// Sets the global log level from "trace|debug|info|warn|error|off" and logs to stderr.
// Returns InvalidArgument for an unknown level.
Status InitLogging(std::string_view level);

// Returns `text` with anything that looks like a credential replaced by "***": query parameters
// sig/se/sp/skoid/X-Amz-Signature/X-Amz-Credential/AccountKey and "Authorization" header values.
std::string RedactSecrets(std::string_view text);

}  // namespace unicache
