// The ObjectReader of the native client: sequential detection and background readahead into
// a small per-reader block cache.
#pragma once

#include <memory>
#include <string>

#include "unicache/client.h"

namespace unicache {

class ClusterClient;

// Returns a reader of `object` that reads through `client` (borrowed; must outlive the reader).
std::unique_ptr<ObjectReader> NewObjectReader(ClusterClient* client, std::string origin,
                                              ObjectStat object);

}  // namespace unicache
