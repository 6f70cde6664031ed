// Status and Result<T> are part of the public API (include/unicache/status.h); this header lets
// project code include them from common/ like everything else.
#pragma once

#include "unicache/status.h"
