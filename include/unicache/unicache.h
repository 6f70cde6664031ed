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

/* ---- KV cache (inference): docs/KV.md ----------------------------------------------------
 * A uc_kv talks to any node of a cluster; batches are split by owner on the node. With a local
 * socket (the node's --kv-socket, by default CACHE_DIR/kv.sock) the client also creates a
 * shared-memory region of `segment_bytes` and registers it with the node once: calls whose
 * value buffers all lie inside that region (uc_kv_segment) move no value bytes over a socket;
 * the node copies them straight into and out of the region. Other buffers go over HTTP.
 * Keys are opaque bytes (1..1024), values 0..64 MiB. A uc_kv is thread-safe. */
typedef struct uc_kv uc_kv; /* opaque */

/* Per-item outcomes of batches, as uc_code values: UC_OK, UC_NOT_FOUND (miss),
 * UC_INVALID_ARGUMENT (bad key or size), UC_RESOURCE_EXHAUSTED (quota, or a get buffer too
 * small: the value's size is still reported), UC_UNAVAILABLE (no owner reachable). */

/* Connects to `peers` ("HOST:PORT[,HOST:PORT...]"). `local_socket` may be NULL or "" (HTTP
 * only); else `segment_bytes` > 0 is the size of the shared region to create. The caller closes
 * *out with uc_kv_close(). */
UC_EXPORT uc_code uc_kv_connect(const char* peers, const char* local_socket, size_t segment_bytes,
                                uc_kv** out);

/* Closes `kv` (NULL is allowed). The shared region is unmapped: drop pointers into it first. */
UC_EXPORT void uc_kv_close(uc_kv* kv);

/* Stores the shared region's address and size (NULL and 0 without a local socket). The region
 * is the caller's to write values into and read values from (e.g. the engine's host KV pool). */
UC_EXPORT uc_code uc_kv_segment(uc_kv* kv, void** base, size_t* size);

/* Publishes `len` bytes under the key (visible only once complete; a second put of the key
 * keeps the first value). ttl_ms: 0 = the namespace default, < 0 = never expires. */
UC_EXPORT uc_code uc_kv_put(uc_kv* kv, const char* ns, const void* key, size_t key_len,
                            const void* value, size_t len, int64_t ttl_ms);

/* Reads the value into `buf` (capacity `cap`); stores its size in *n. UC_NOT_FOUND on a miss,
 * UC_RESOURCE_EXHAUSTED when `cap` is too small. `lease` (NULL or "" for none) is released
 * after the read. */
UC_EXPORT uc_code uc_kv_get(uc_kv* kv, const char* ns, const void* key, size_t key_len, void* buf,
                            size_t cap, const char* lease, size_t* n);

/* Removes the key on its owner; *existed (may be NULL) says whether it was there. */
UC_EXPORT uc_code uc_kv_delete(uc_kv* kv, const char* ns, const void* key, size_t key_len,
                               int* existed);

/* Publishes `count` values in one request (gather: value i from values[i], lens[i] bytes);
 * stores one outcome per item in statuses[i]. The call fails as a whole only on transport or
 * namespace errors. */
UC_EXPORT uc_code uc_kv_batch_put(uc_kv* kv, const char* ns, size_t count, const void* const* keys,
                                  const size_t* key_lens, const void* const* values,
                                  const size_t* lens, int64_t ttl_ms, uc_code* statuses);

/* Reads `count` values, value i into bufs[i] of capacity caps[i] (scatter); stores its size in
 * sizes[i] and its outcome in statuses[i]. `lease` as for uc_kv_get. */
UC_EXPORT uc_code uc_kv_batch_get(uc_kv* kv, const char* ns, size_t count, const void* const* keys,
                                  const size_t* key_lens, void* const* bufs, const size_t* caps,
                                  const char* lease, size_t* sizes, uc_code* statuses);

/* Stores in present[i] 1 when key i is cached, else 0 (no side effects). */
UC_EXPORT uc_code uc_kv_batch_exists(uc_kv* kv, const char* ns, size_t count,
                                     const void* const* keys, const size_t* key_lens,
                                     uint8_t* present);

/* Stores in *matched how many leading keys are cached cluster-wide (stops at the first miss).
 * With lease_ms > 0 the matched values are pinned until read with the lease, released, or
 * lease_ms passes; the lease id (NUL-terminated) goes to lease_out[lease_cap] (may be NULL when
 * lease_ms is 0). UC_RESOURCE_EXHAUSTED when lease_cap is too small (64 is enough). */
UC_EXPORT uc_code uc_kv_prefix_match(uc_kv* kv, const char* ns, size_t count,
                                     const void* const* keys, const size_t* key_lens,
                                     int64_t lease_ms, size_t* matched, char* lease_out,
                                     size_t lease_cap);

/* Drops a lease on every node; *released (may be NULL) says whether any node held it. */
UC_EXPORT uc_code uc_kv_release(uc_kv* kv, const char* ns, const char* lease, int* released);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* UNICACHE_UNICACHE_H_ */
