// Shared by the C API's translation units (c_api.cc, kv_c_api.cc): the per-thread error message
// and the guard that keeps exceptions from crossing the C boundary.
#pragma once

#include <exception>
#include <string>

#include "unicache/status.h"
#include "unicache/unicache.h"

namespace unicache::c_api {

// Returns the calling thread's last error message (what uc_last_error_message() returns).
inline std::string& LastError() {
  thread_local std::string message;
  return message;
}

// Records `st` as the thread's last error and returns its code.
inline uc_code Fail(const Status& st) {
  LastError() = st.message();  // the code is the return value: not repeated here
  return static_cast<uc_code>(st.code());
}

// Records `text` as the thread's last error and returns `code`.
inline uc_code FailText(uc_code code, const char* text) {
  LastError() = text;
  return code;
}

// Runs `body`, turning an escaped exception (e.g. bad_alloc) into UC_INTERNAL.
template <typename F>
uc_code Guard(F&& body) {
  try {
    return body();
  } catch (const std::exception& e) {
    return FailText(UC_INTERNAL, e.what());
  } catch (...) {
    return FailText(UC_INTERNAL, "unknown error");
  }
}

}  // namespace unicache::c_api
