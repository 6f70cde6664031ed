#include "common/logging.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <regex>
#include <string>

namespace unicache {

Status InitLogging(std::string_view level) {
  auto lvl = spdlog::level::from_str(std::string(level));
  if (lvl == spdlog::level::off && level != "off") {
    return InvalidArgument("unknown log level '" + std::string(level) +
                           "': use trace, debug, info, warn, error or off");
  }
  static bool installed = false;
  if (!installed) {
    auto logger = spdlog::stderr_color_mt("unicache");
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
    spdlog::set_default_logger(logger);
    installed = true;
  }
  spdlog::set_level(lvl);
  return Status::Ok();
}

std::string RedactSecrets(std::string_view text) {
  static const std::regex kQuery(
      R"(((?:^|[?&;])(?:sig|se|sp|skoid|sktid|X-Amz-Signature|X-Amz-Credential|X-Amz-Security-Token|AccountKey|SharedAccessSignature)=)[^&;\s]*)",
      std::regex::icase);
  static const std::regex kAuth(R"((Authorization:\s*)[^\r\n]*)", std::regex::icase);
  std::string s = std::regex_replace(std::string(text), kQuery, "$1***");
  return std::regex_replace(s, kAuth, "$1***");
}

}  // namespace unicache
