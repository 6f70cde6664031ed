// The token hash chain is part of the public API (include/unicache/token_hash.h); this header
// lets project code include it from kv/ like everything else.
#pragma once

#include "unicache/token_hash.h"
