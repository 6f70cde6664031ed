// The origin interface: the source of truth unicache caches (a directory, an Azure container, an
// S3 bucket, a plain HTTP server). Every backend implements it; the server only sees this.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/object_info.h"
#include "common/status.h"

namespace unicache {

// Receives an object's bytes in order, as they arrive. An error it returns ends the read.
using ByteSink = std::function<Status(std::span<const std::byte>)>;

// Receives an object's metadata as a read of it states it, before any of its bytes. An error it
// returns ends the read with that error.
using InfoSink = std::function<Status(const ObjectInfo&)>;

// Supplies the next bytes of a body being written: fills the front of `dst` and returns how many
// bytes it put there (0: no more). An error it returns ends the write with that error.
using ByteSource = std::function<Result<size_t>(std::span<std::byte> dst)>;

// ReadStream()'s length for "to the end of the object".
inline constexpr uint64_t kToEnd = std::numeric_limits<uint64_t>::max();

// REQUIRES of all methods: paths were checked with ValidateObjectPath / ValidatePrefix.
// Implementations are thread-safe: the server calls them from many threads at once. Calls block;
// the server runs them off its event loop.
class Origin {
 public:
  virtual ~Origin() = default;

  // Returns the URI scheme of this backend ("file", "azure", "s3", "http").
  virtual std::string_view Scheme() const = 0;

  // Returns the object's size and version. NotFound if it does not exist (or is a directory).
  virtual Result<ObjectInfo> Stat(std::string_view path) = 0;

  // Reads up to dst.size() bytes at `offset` of the object at `version` into `dst`; returns the
  // number of bytes read (short only at the end of the object). PreconditionFailed when the
  // object no longer has `version`; Unavailable/DeadlineExceeded for transient failures.
  virtual Result<size_t> Read(std::string_view path, std::string_view version, uint64_t offset,
                              std::span<std::byte> dst) = 0;

  // Hands `length` bytes at `offset` of the object at `version` (or all of them to its end, for
  // kToEnd) to `sink` in order, with one origin request where the backend can: a read of a
  // whole object sends no range at all. Returns the number of bytes delivered (short only at
  // the end of the object). Errors as Read(); a sink error ends the read with that error.
  // The default reads in Read()-sized pieces.
  virtual Result<uint64_t> ReadStream(std::string_view path, std::string_view version,
                                      uint64_t offset, uint64_t length, const ByteSink& sink);

  // Reads the object from its start, at whatever version it has now, and learns that version
  // from the read itself: `on_info` gets the metadata Stat() would return before `sink` gets
  // any of the first `length` bytes (kToEnd: all of them). One origin request where the backend
  // can, where Stat() then ReadStream() take two. Returns the number of bytes delivered (fewer
  // than `length` only at the end of the object). NotFound as Stat(); other errors as
  // ReadStream(). The default calls Stat(), then ReadStream() at the version it returned.
  virtual Result<uint64_t> OpenStream(std::string_view path, uint64_t length,
                                      const InfoSink& on_info, const ByteSink& sink);

  // Lists objects under options.prefix.
  virtual Result<ListPage> List(const ListOptions& options) = 0;

  // Replaces the object at `path` with the `size` bytes `source` supplies, pulled in pieces and
  // never held whole (write-through saves). Returns the new info. A source error, or a source
  // that ends early, fails the write and leaves the object as it was. Unimplemented for
  // read-only backends.
  virtual Result<ObjectInfo> WriteStream(std::string_view path, uint64_t size,
                                         const ByteSource& source) = 0;

  // Removes the object at `path`; OK when there was none. The default is Unimplemented, for
  // read-only backends.
  virtual Status Delete(std::string_view path);

  // WriteStream() of `data`.
  Result<ObjectInfo> Write(std::string_view path, std::span<const std::byte> data);

  // Makes calls in flight end soon, and later calls fail at once, with Unavailable: the node is
  // stopping, and a hung origin must not hold it up. Not undone. Backends that wait on the
  // network override it.
  virtual void Cancel() {}
};

// A named origin as given on the command line: NAME=URI.
struct OriginSpec {
  std::string name;
  std::string uri;
};

// Parses "NAME=URI" or a bare directory (named "local"). Names are [A-Za-z0-9_-]{1,64}.
Result<OriginSpec> ParseOriginSpec(std::string_view text);

// Opens the backend for spec.uri: file:///abs/dir or a bare path, azure://..., s3://...,
// http(s)://... . Credentials come from the environment, never from the URI. Errors name the
// origin. `max_concurrency` bounds the requests in flight to it (RetryOptions).
Result<std::unique_ptr<Origin>> OpenOrigin(const OriginSpec& spec, int max_concurrency = 64);

}  // namespace unicache
