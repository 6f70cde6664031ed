/* unicache C API: the native client (direct read path) for C and for languages that load
 * libunicache.so (Python's ctypes module uses it).
 *
 * Conventions, as in LevelDB's c.h:
 *  - Every function returns a uc_code; UC_OK (0) on success. On an error the out-parameters are
 *    left unchanged and uc_last_error_message() describes the error of the calling thread's
 *    last failed call.
 *  - Strings are NUL-terminated UTF-8. Buffers passed in are borrowed for the call only.
 *  - Memory the library allocates for the caller (uc_list's JSON) is released with uc_free().
 *  - A uc_client is thread-safe: share one among threads. A uc_reader is not: one per thread
 *    or open file. A reader must be closed before its client.
 */
#ifndef UNICACHE_UNICACHE_H_
#define UNICACHE_UNICACHE_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define UC_EXPORT __attribute__((visibility("default")))
#else
#define UC_EXPORT
#endif

/* Error codes; the same order as unicache::StatusCode. */
typedef enum {
  UC_OK = 0,
  UC_INVALID_ARGUMENT = 1,
  UC_NOT_FOUND = 2,
  UC_ALREADY_EXISTS = 3,
  UC_PERMISSION_DENIED = 4,
  UC_OUT_OF_RANGE = 5,
  UC_PRECONDITION_FAILED = 6, /* the object changed since its version was read */
  UC_RESOURCE_EXHAUSTED = 7,
  UC_UNAVAILABLE = 8, /* no member could serve; retryable */
  UC_DEADLINE_EXCEEDED = 9,
  UC_CHECKSUM_MISMATCH = 10,
  UC_UNIMPLEMENTED = 11,
  UC_INTERNAL = 12
} uc_code;

typedef struct uc_client uc_client; /* opaque */
typedef struct uc_reader uc_reader; /* opaque */

/* An object's metadata. */
typedef struct {
  uint64_t size;
  int64_t mtime_ms;  /* Unix epoch milliseconds; 0 when unknown */
  char version[256]; /* the ETag without quotes, NUL-terminated (truncated if longer) */
} uc_stat_t;

/* Returns the calling thread's message for its last failed call ("" if none). The pointer is
 * valid until the thread's next call into the library. */
UC_EXPORT const char* uc_last_error_message(void);

/* Connects to a cluster. `peers_or_discovery` is "HOST:PORT[,HOST:PORT...]" or
 * "etcd:http://HOST:PORT[/prefix]" or "dns:NAME[:PORT]". On success stores a new client in
 * *out; the caller closes it with uc_close(). */
UC_EXPORT uc_code uc_connect(const char* peers_or_discovery, uc_client** out);

/* Closes `client` (NULL is allowed). REQUIRES: its readers are closed. */
UC_EXPORT void uc_close(uc_client* client);

/* Fills *out with the metadata of origin/path (cached by the client for about a second). */
UC_EXPORT uc_code uc_stat(uc_client* client, const char* origin, const char* path, uc_stat_t* out);

/* Reads up to `len` bytes at `offset` of origin/path into `buf`; stores the number of bytes
 * read in *n (short only at the end of the object, 0 past it). `version` (may be NULL or "")
 * pins the object version: UC_PRECONDITION_FAILED when the object is no longer at it. */
UC_EXPORT uc_code uc_read(uc_client* client, const char* origin, const char* path,
                          const char* version, uint64_t offset, void* buf, size_t len, size_t* n);

/* Writes `len` bytes as the whole object origin/path (write-through to the origin). Fills *out
 * with the new metadata when `out` is not NULL. */
UC_EXPORT uc_code uc_write(uc_client* client, const char* origin, const char* path,
                           const void* data, size_t len, uc_stat_t* out);

/* Lists one page of origin/prefix. `delimiter` is "" or "/", `token` "" for the first page.
 * Stores in *json_out a malloc'd JSON text {"entries":[{"path","size","version","mtime_ms",
 * "is_prefix"}],"next_token"} that the caller releases with uc_free(). */
UC_EXPORT uc_code uc_list(uc_client* client, const char* origin, const char* prefix,
                          const char* delimiter, const char* token, size_t max_keys,
                          char** json_out);

/* Releases memory the library returned. */
UC_EXPORT void uc_free(void* ptr);

/* Opens a reader of the current version of origin/path with sequential readahead; the caller
 * closes it with uc_reader_close(). */
UC_EXPORT uc_code uc_open(uc_client* client, const char* origin, const char* path, uc_reader** out);

/* Returns the metadata of the version the reader reads. */
UC_EXPORT const uc_stat_t* uc_reader_stat(const uc_reader* reader);

/* Reads up to `len` bytes at `offset` into `buf`; stores the bytes read in *n. */
UC_EXPORT uc_code uc_reader_read(uc_reader* reader, uint64_t offset, void* buf, size_t len,
                                 size_t* n);

/* Closes `reader` (NULL is allowed). */
UC_EXPORT void uc_reader_close(uc_reader* reader);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* UNICACHE_UNICACHE_H_ */
