// Reading JSON that another process sent (a node's answer, a peer's, etcd's) without letting an
// exception out: malformed text, a missing field or a field of another type is a Status.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "common/status.h"

namespace unicache {

// Returns `text` parsed, when it is a JSON object; InvalidArgument naming `what` otherwise.
Result<nlohmann::json> ParseJsonObject(std::string_view text, const std::string& what);

// Parses `text` as a JSON object and runs `read` on it. nlohmann's exceptions from get<>(),
// value() and at() (a field of another type, a missing one) become InvalidArgument naming
// `what`: nothing is thrown past here.
template <typename T>
Result<T> ReadJsonObject(std::string_view text, const std::string& what,
                         const std::function<Result<T>(const nlohmann::json&)>& read) {
  ASSIGN_OR_RETURN(nlohmann::json j, ParseJsonObject(text, what));
  try {
    return read(j);
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgument(what + ": unexpected JSON (" + e.what() + ")");
  }
}

}  // namespace unicache
