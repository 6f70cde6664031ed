#include "common/json_read.h"

namespace unicache {

Result<nlohmann::json> ParseJsonObject(std::string_view text, const std::string& what) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return InvalidArgument(what + ": not a JSON object ('" + std::string(text.substr(0, 60)) +
                           "')");
  }
  return j;
}

}  // namespace unicache
