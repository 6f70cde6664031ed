#include "server/object_routes.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <charconv>
#include <ctime>
#include <nlohmann/json.hpp>

#include "common/object_path.h"
#include "server/byte_range.h"
#include "server/run_blocking.h"

namespace unicache {

namespace asio = boost::asio;
namespace http = boost::beast::http;

namespace {

// Upper bound on background block fetches per node, so readahead cannot flood the pool.
constexpr size_t kMaxReadAheadInFlight = 256;

std::string Quoted(const std::string& s) { return "\"" + s + "\""; }

// Returns true when an If-Match header value matches `version` (a list of quoted tags or "*").
bool IfMatchAccepts(std::string_view header, const std::string& version) {
  if (header == "*") return true;
  std::string quoted = Quoted(version);
  size_t pos = 0;
  while (pos < header.size()) {
    size_t comma = header.find(',', pos);
    std::string_view tag =
        header.substr(pos, comma == std::string_view::npos ? header.npos : comma - pos);
    while (!tag.empty() && tag.front() == ' ') tag.remove_prefix(1);
    while (!tag.empty() && tag.back() == ' ') tag.remove_suffix(1);
    if (tag.starts_with("W/")) tag.remove_prefix(2);
    if (tag == quoted || tag == version) return true;
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return false;
}

// Returns the response headers of an object GET/HEAD.
HttpHeaders ObjectHeaders(const ObjectInfo& info, const std::optional<ByteRange>& range,
                          const char* cache_status) {
  HttpHeaders h = {
      {"ETag", Quoted(info.version)},     {"Last-Modified", HttpDate(info.mtime_ms)},
      {"Accept-Ranges", "bytes"},         {"Content-Type", "application/octet-stream"},
      {"X-Unicache-Cache", cache_status},
  };
  if (range) {
    h.emplace_back("Content-Range", "bytes " + std::to_string(range->first) + "-" +
                                        std::to_string(range->last) + "/" +
                                        std::to_string(info.size));
  }
  return h;
}

// Returns {"path","size","etag","last_modified_ms"} of one object.
std::string ObjectJson(const ObjectInfo& o) {
  nlohmann::json j = {
      {"path", o.path}, {"size", o.size}, {"etag", o.version}, {"last_modified_ms", o.mtime_ms}};
  return j.dump() + "\n";
}

// Returns the JSON body of a listing page.
std::string ListJson(const std::string& origin, const std::string& prefix, const ListPage& page) {
  nlohmann::json objects = nlohmann::json::array();
  for (const ObjectInfo& o : page.objects) {
    objects.push_back({{"path", o.path},
                       {"size", o.size},
                       {"etag", o.version},
                       {"last_modified_ms", o.mtime_ms}});
  }
  nlohmann::json body = {{"origin", origin},
                         {"prefix", prefix},
                         {"objects", objects},
                         {"prefixes", page.prefixes},
                         {"next_token", page.next_token}};
  return body.dump() + "\n";
}

// Parses max-keys: an integer in 1..10000.
Result<size_t> ParseMaxKeys(const std::string& text) {
  size_t n = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || p != text.data() + text.size() || n < 1 || n > 10000) {
    return InvalidArgument("max-keys must be an integer in 1..10000");
  }
  return n;
}

}  // namespace

std::string HttpDate(int64_t epoch_ms) {
  std::time_t t = static_cast<std::time_t>(epoch_ms / 1000);
  std::tm tm;
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

ObjectRoutes::ObjectRoutes(ObjectService* service, asio::thread_pool* pool, size_t readahead_blocks)
    : service_(service), pool_(pool), readahead_blocks_(readahead_blocks) {}

void ObjectRoutes::ReadAhead(const std::string& origin, const ObjectInfo& info, uint64_t from,
                             uint64_t to) {
  for (uint64_t i = from; i < to; ++i) {
    if (service_->HasBlock(origin, info, i)) continue;
    if (readahead_inflight_.fetch_add(1) >= kMaxReadAheadInFlight) {
      readahead_inflight_.fetch_sub(1);
      return;
    }
    asio::post(*pool_, [this, origin, info, i] {
      // Errors surface when the reader reaches this block and fetches it itself.
      service_->GetBlockBlocking(origin, info, i).status().IgnoreError();
      readahead_inflight_.fetch_sub(1);
    });
  }
}

asio::awaitable<Result<BlockRef>> ObjectRoutes::FetchBlock(const std::string& origin,
                                                           const ObjectInfo& info, uint64_t index,
                                                           bool forwarded) {
  if (BlockRef hot = service_->GetBlockIfInRam(origin, info, index)) co_return hot;
  co_return co_await RunBlocking(*pool_, [this, &origin, &info, index, forwarded] {
    return service_->GetBlockBlocking(origin, info, index, nullptr, forwarded);
  });
}

asio::awaitable<void> ObjectRoutes::GetObject(const Request& req, ResponseWriter& writer,
                                              const std::string& origin, const std::string& path) {
  if (Status st = ValidateObjectPath(path); !st.ok()) {
    co_return co_await writer.SendError(400, st);
  }
  if (!service_->HasOrigin(origin)) {
    co_return co_await writer.SendError(404, NotFound("unknown origin '" + origin + "'"));
  }
  // A request from another node is served here whoever owns the block: one hop at most.
  const bool forwarded = req.find(kForwardedHeader) != req.end();
  // Resolve the version; a version that changes under the first block read is resolved again.
  ObjectInfo info;
  Result<BlockRef> first = Internal("unset");
  std::optional<ByteRange> range;
  bool first_cached = false;  // the first block was in the store before this request
  bool opened = false;        // this request's open read the first blocks
  for (int attempt = 0; attempt < 3; ++attempt) {
    std::optional<ObjectInfo> cached =
        attempt == 0 ? service_->CachedStat(origin, path) : std::nullopt;
    if (cached) {
      info = *cached;
    } else {
      // A first GET from the object's start opens it with a read that also brings its
      // metadata; a HEAD, a range further on or a second attempt asks for the metadata alone.
      auto range_header = req.find(http::field::range);
      const bool open =
          attempt == 0 && req.method() == http::verb::get &&
          RangeStartsAtZero(range_header == req.end() ? std::string_view() : range_header->value());
      Result<ObjectInfo> stat =
          co_await RunBlocking(*pool_, [this, &origin, &path, attempt, open, &opened] {
            return open ? service_->OpenBlocking(origin, path, &opened)
                        : service_->StatBlocking(origin, path, attempt > 0);
          });
      if (!stat.ok())
        co_return co_await writer.SendError(HttpStatusFor(stat.status()), stat.status());
      info = std::move(stat).value();
    }
    auto if_match = req.find(http::field::if_match);
    if (if_match != req.end() && !IfMatchAccepts(if_match->value(), info.version)) {
      co_return co_await writer.SendError(
          412, PreconditionFailed("object version does not match If-Match"),
          Header("ETag", Quoted(info.version)));
    }
    auto range_header = req.find(http::field::range);
    Result<std::optional<ByteRange>> parsed = ParseRange(
        range_header == req.end() ? std::string_view() : range_header->value(), info.size);
    if (!parsed.ok()) {
      int status = parsed.status().code() == StatusCode::kOutOfRange ? 416 : 400;
      if (range_header != req.end() && parsed.status().code() == StatusCode::kInvalidArgument &&
          parsed.status().message().find("multiple") != std::string::npos) {
        status = 416;
      }
      co_return co_await writer.SendError(
          status, parsed.status(), Header("Content-Range", "bytes */" + std::to_string(info.size)));
    }
    range = *parsed;
    if (info.size == 0 || req.method() == http::verb::head) break;
    uint64_t first_index = (range ? range->first : 0) / service_->block_size();
    first_cached = !opened && service_->HasBlock(origin, info, first_index);
    first = co_await FetchBlock(origin, info, first_index, forwarded);
    if (first.ok() || first.status().code() != StatusCode::kPreconditionFailed) break;
  }
  if (info.size > 0 && req.method() != http::verb::head && !first.ok()) {
    co_return co_await writer.SendError(HttpStatusFor(first.status()), first.status());
  }

  const uint64_t bs = service_->block_size();
  uint64_t begin = range ? range->first : 0;
  uint64_t length = range ? range->length() : info.size;
  uint64_t first_block = begin / bs;
  uint64_t end_block = info.size == 0 ? 0 : (begin + length - 1) / bs + 1;
  bool all_cached = true;
  for (uint64_t i = first_block + 1; i < end_block && all_cached; ++i) {
    all_cached = service_->HasBlock(origin, info, i);
  }
  bool hit = all_cached && (info.size == 0 || req.method() == http::verb::head || first_cached);
  const char* cache_status =
      hit                                                                                  ? "hit"
      : !forwarded && info.size > 0 && service_->OwnedElsewhere(origin, info, first_block) ? "peer"
                                                                                           : "miss";
  if (forwarded) writer.set_frontend("peer");
  writer.Start(range ? 206 : 200, length, ObjectHeaders(info, range, cache_status));
  if (req.method() == http::verb::head || length == 0) {
    co_await writer.Finish();
    co_return;
  }

  uint64_t pos = begin;
  uint64_t end = begin + length;
  for (uint64_t index = first_block; index < end_block; ++index) {
    if (!all_cached && readahead_blocks_ > 0) {
      ReadAhead(origin, info, index + 1, std::min(end_block, index + 1 + readahead_blocks_));
    }
    // Not a conditional expression: g++ 12 mishandles co_await inside ?: operands.
    Result<BlockRef> block = Internal("unset");
    if (index == first_block) {
      block = std::move(first);
    } else {
      block = co_await FetchBlock(origin, info, index, forwarded);
    }
    if (!block.ok()) {
      // The header is out: all we can do is cut the body short so the client sees an error.
      spdlog::warn("aborting {}/{} at byte {}: {}", origin, path, pos, block.status().ToString());
      writer.Abort();
      co_return;
    }
    uint64_t block_start = index * bs;
    uint64_t from = pos - block_start;
    uint64_t to = std::min<uint64_t>((*block)->size(), end - block_start);
    if (to <= from) {
      writer.Abort();
      co_return;
    }
    BlockRef keep = *block;  // held across the write
    if (!co_await writer.Write(keep->bytes().subspan(from, to - from))) co_return;
    pos += to - from;
  }
}

asio::awaitable<void> ObjectRoutes::PutObject(const Request& req, ResponseWriter& writer,
                                              const std::string& origin, const std::string& path) {
  if (Status st = ValidateObjectPath(path); !st.ok()) co_return co_await writer.SendError(400, st);
  if (!service_->HasOrigin(origin)) {
    co_return co_await writer.SendError(404, NotFound("unknown origin '" + origin + "'"));
  }
  const std::string& body = req.body();
  Result<ObjectInfo> info = co_await RunBlocking(*pool_, [this, &origin, &path, &body] {
    return service_->WriteBlocking(origin, path,
                                   std::as_bytes(std::span(body.data(), body.size())));
  });
  if (!info.ok()) {
    int status =
        info.status().code() == StatusCode::kUnimplemented ? 405 : HttpStatusFor(info.status());
    co_return co_await writer.SendError(status, info.status());
  }
  co_await writer.Send(201, ObjectJson(*info), "application/json",
                       Header("ETag", Quoted(info->version)));
}

asio::awaitable<void> ObjectRoutes::List(const RequestTarget& target, ResponseWriter& writer,
                                         const std::string& origin, const std::string& prefix) {
  if (Status st = ValidatePrefix(prefix); !st.ok()) co_return co_await writer.SendError(400, st);
  if (!service_->HasOrigin(origin)) {
    co_return co_await writer.SendError(404, NotFound("unknown origin '" + origin + "'"));
  }
  ListOptions options;
  options.prefix = prefix;
  options.delimiter = target.Param("delimiter");
  options.token = target.Param("token");
  Result<size_t> max_keys = ParseMaxKeys(target.Param("max-keys", "1000"));
  if (!max_keys.ok()) co_return co_await writer.SendError(400, max_keys.status());
  options.max_keys = *max_keys;
  if (!options.delimiter.empty() && options.delimiter != "/") {
    co_return co_await writer.SendError(400, InvalidArgument("delimiter must be '/' or empty"));
  }
  Result<ListPage> page = co_await RunBlocking(
      *pool_, [this, &origin, &options] { return service_->ListBlocking(origin, options); });
  if (!page.ok()) co_return co_await writer.SendError(HttpStatusFor(page.status()), page.status());
  co_await writer.Send(200, ListJson(origin, prefix, *page), "application/json");
}

}  // namespace unicache
