// Status and Result<T> are part of the public API (include/unicache/status.h); this header lets
// project code include them from common/ like everything else.
#pragma once

#include "unicache/status.h"

// The project's short names for the public, prefixed macros.
#define RETURN_IF_ERROR(expr) UNICACHE_RETURN_IF_ERROR(expr)
#define ASSIGN_OR_RETURN(lhs, rexpr) UNICACHE_ASSIGN_OR_RETURN(lhs, rexpr)
