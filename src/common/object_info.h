// What unicache says about objects, the same in every layer: an origin's answer, a node's
// /v1 JSON (object_json.h), a client's view.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace unicache {

// What an origin says about one object. `version` changes whenever the bytes may have changed
// (an ETag for cloud stores; size+mtime+inode change time for a directory).
struct ObjectInfo {
  std::string path;  // relative to the origin root, '/'-separated
  uint64_t size = 0;
  std::string version;
  int64_t mtime_ms = 0;  // last modification, Unix epoch milliseconds
};

// One page of a listing. Objects sorted by path; `next_token` empty on the last page.
struct ListPage {
  std::vector<ObjectInfo> objects;
  std::vector<std::string> prefixes;  // "directories" when a delimiter was given, ending in '/'
  std::string next_token;
};

struct ListOptions {
  std::string prefix;      // only paths starting with this
  std::string delimiter;   // "" for a flat listing, "/" for one directory level
  std::string token;       // from a previous page's next_token; "" for the first page
  size_t max_keys = 1000;  // upper bound on objects + prefixes in the page
};

}  // namespace unicache
