// The /v1 JSON of objects, written by nodes and read by clients in one place:
//   an object:  {"path", "size", "etag", "last_modified_ms"}
//   a listing:  {"origin", "prefix", "objects": [object...], "prefixes": [...], "next_token"}
#pragma once

#include <string>
#include <string_view>

#include "common/object_info.h"
#include "common/status.h"

namespace unicache {

// Returns an object's JSON (one line, with a newline).
std::string ObjectInfoToJson(const ObjectInfo& object);
// Returns a listing page's JSON (one line, with a newline).
std::string ListPageToJson(std::string_view origin, std::string_view prefix, const ListPage& page);

// Parses an object's JSON: "path", "size" and "etag" are required, "last_modified_ms" defaults
// to 0. InvalidArgument naming `what` for anything else.
Result<ObjectInfo> ObjectInfoFromJson(std::string_view json, const std::string& what);
// Parses a listing page's JSON; every object as ObjectInfoFromJson, "prefixes" strings.
Result<ListPage> ListPageFromJson(std::string_view json, const std::string& what);

}  // namespace unicache
