#include "server/objects/object_routes.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/this_coro.hpp>
#include <cstring>
#include <ctime>

#include "common/http_answer.h"
#include "common/http_date.h"
#include "common/object_json.h"
#include "common/object_path.h"
#include "common/text.h"
#include "server/objects/byte_range.h"
#include "server/objects/conditional.h"

namespace unicache {

namespace asio = boost::asio;
namespace http = boost::beast::http;

namespace {

// Upper bound on background block fetches per node, so readahead cannot fill the queues.
constexpr size_t kMaxReadAheadInFlight = 256;

// Returns the response headers of an object GET/HEAD.
HttpHeaders ObjectHeaders(const ObjectInfo& info, const std::optional<ByteRange>& range,
                          const char* cache_status,
                          std::string content_type = "application/octet-stream") {
  HttpHeaders h = {
      {"ETag", QuoteEtag(info.version)},  {"Last-Modified", FormatHttpDate(info.mtime_ms)},
      {"Accept-Ranges", "bytes"},         {"Content-Type", std::move(content_type)},
      {"X-Unicache-Cache", cache_status}, {kLastModifiedMsHeader, std::to_string(info.mtime_ms)},
  };
  if (range) {
    h.emplace_back("Content-Range", "bytes " + std::to_string(range->first) + "-" +
                                        std::to_string(range->last) + "/" +
                                        std::to_string(info.size));
  }
  return h;
}

// Replaces the headers of `h` named in `overrides` (case-insensitively) and adds the others.
HttpHeaders WithOverrides(HttpHeaders h, const HttpHeaders& overrides) {
  for (const auto& [name, value] : overrides) {
    auto same = [&](const auto& header) { return AsciiLower(header.first) == AsciiLower(name); };
    std::erase_if(h, same);
    h.emplace_back(name, value);
  }
  return h;
}

// Returns the request's conditional headers.
Conditions ConditionsOf(const Request& req) {
  auto value = [&req](http::field f) -> std::optional<std::string_view> {
    auto it = req.find(f);
    if (it == req.end()) return std::nullopt;
    return std::string_view(it->value());
  };
  return Conditions{value(http::field::if_match), value(http::field::if_none_match),
                    value(http::field::if_modified_since), value(http::field::if_unmodified_since),
                    value(http::field::if_range)};
}

// Parses max-keys: an integer in 1..10000.
Result<size_t> ParseMaxKeys(const std::string& text) {
  std::optional<size_t> n = ParseDecimal<size_t>(text);
  if (!n || *n < 1 || *n > 10000) return InvalidArgument("max-keys must be an integer in 1..10000");
  return *n;
}

}  // namespace

ObjectRoutes::ObjectRoutes(ObjectService* service, size_t readahead_blocks)
    : service_(service), readahead_blocks_(readahead_blocks) {}

void ObjectRoutes::ReadAhead(const asio::any_io_executor& loop, const std::string& origin,
                             const ObjectInfo& info, uint64_t from, uint64_t to) {
  for (uint64_t i = from; i < to; ++i) {
    if (service_->HasBlock(origin, info, i)) continue;
    if (readahead_inflight_.fetch_add(1) >= kMaxReadAheadInFlight) {
      readahead_inflight_.fetch_sub(1);
      return;
    }
    asio::co_spawn(loop, ReadAheadOne(origin, info, i), asio::detached);
  }
}

asio::awaitable<void> ObjectRoutes::ReadAheadOne(std::string origin, ObjectInfo info,
                                                 uint64_t index) {
  // Errors surface when the reader reaches this block and fetches it itself.
  Result<BlockRef> block = co_await service_->GetBlock(origin, info, index);
  block.status().IgnoreError();
  readahead_inflight_.fetch_sub(1);
}

asio::awaitable<Result<BlockRef>> ObjectRoutes::FetchBlock(const std::string& origin,
                                                           const ObjectInfo& info, uint64_t index,
                                                           bool forwarded) {
  if (BlockRef hot = service_->GetBlockIfInRam(origin, info, index)) co_return hot;
  co_return co_await service_->GetBlock(origin, info, index, nullptr, forwarded);
}

asio::awaitable<bool> ObjectRoutes::WriteBytes(ResponseWriter& writer, const std::string& origin,
                                               const ObjectInfo& info, uint64_t begin, uint64_t end,
                                               Result<BlockRef> first, bool read_ahead,
                                               bool forwarded) {
  const uint64_t bs = service_->block_size();
  const uint64_t first_block = begin / bs;
  const uint64_t end_block = (end - 1) / bs + 1;
  uint64_t pos = begin;
  const asio::any_io_executor loop = co_await asio::this_coro::executor;
  for (uint64_t index = first_block; index < end_block; ++index) {
    if (read_ahead && readahead_blocks_ > 0) {
      ReadAhead(loop, origin, info, index + 1, std::min(end_block, index + 1 + readahead_blocks_));
    }
    // Not a conditional expression: g++ 12 mishandles co_await inside ?: operands.
    Result<BlockRef> block = Internal("unset");
    if (index == first_block && first.ok()) {
      block = std::move(first);
    } else {
      block = co_await FetchBlock(origin, info, index, forwarded);
    }
    if (!block.ok()) {
      // The header is out: all we can do is cut the body short so the client sees an error.
      spdlog::warn("aborting {}/{} at byte {}: {}", origin, info.path, pos,
                   block.status().ToString());
      writer.Abort();
      co_return false;
    }
    uint64_t block_start = index * bs;
    uint64_t from = pos - block_start;
    uint64_t to = std::min<uint64_t>((*block)->size(), end - block_start);
    if (to <= from) {
      writer.Abort();
      co_return false;
    }
    BlockRef keep = *block;  // held across the write
    if (!co_await writer.Write(keep->bytes().subspan(from, to - from))) co_return false;
    pos += to - from;
  }
  co_return true;
}

asio::awaitable<void> ObjectRoutes::GetObject(const Request& req, ResponseWriter& writer,
                                              const std::string& origin, const std::string& path,
                                              const HttpHeaders& overrides) {
  if (Status st = ValidateObjectPath(path); !st.ok()) {
    co_return co_await writer.SendError(400, st);
  }
  if (!service_->HasOrigin(origin)) {
    co_return co_await writer.SendError(404, NotFound("unknown origin '" + origin + "'"));
  }
  // A request from another node is served here whoever owns the block: one hop at most.
  const bool forwarded = req.find(kForwardedHeader) != req.end();
  const Conditions conditions = ConditionsOf(req);
  auto range_header = req.find(http::field::range);
  const std::string_view range_value =
      range_header == req.end() ? std::string_view() : range_header->value();
  // Resolve the version; a version that changes under the first block read is resolved again.
  ObjectInfo info;
  Result<BlockRef> first = Internal("unset");
  std::vector<ByteRange> ranges;  // none: the whole object
  bool first_cached = false;      // the first block was in the store before this request
  StatNote note;                  // what resolving the metadata did
  for (int attempt = 0; attempt < 3; ++attempt) {
    std::optional<ObjectInfo> cached =
        attempt == 0 ? service_->CachedStat(origin, path) : std::nullopt;
    if (cached) {
      info = *cached;
    } else {
      // A first GET from the object's start opens it with a read that also brings its
      // metadata; a HEAD, a range further on, a revalidation (likely a 304) or a second attempt
      // asks for the metadata alone.
      const bool revalidation = conditions.if_none_match || conditions.if_modified_since;
      const bool open = attempt == 0 && req.method() == http::verb::get && !revalidation &&
                        RangeStartsAtZero(range_value);
      Result<ObjectInfo> stat = Internal("unset");
      if (open) {
        stat = co_await service_->Open(origin, path, &note);
      } else {
        stat = co_await service_->Stat(origin, path, attempt > 0, &note);
      }
      if (!stat.ok()) co_return co_await writer.SendError(stat.status());
      info = std::move(stat).value();
    }
    switch (EvaluatePreconditions(conditions, info)) {
      case Precondition::kFailed:
        co_return co_await writer.SendError(
            412, PreconditionFailed("object version does not match the request's conditions"),
            Header("ETag", QuoteEtag(info.version)));
      case Precondition::kNotModified:
        writer.Start(304, 0, WithOverrides(ObjectHeaders(info, std::nullopt, "hit"), overrides));
        co_await writer.Finish();
        co_return;
      case Precondition::kPass:
        break;
    }
    ranges.clear();
    if (RangeApplies(conditions, info)) {
      Result<std::vector<ByteRange>> resolved = ResolveRanges(range_value, info.size);
      if (!resolved.ok()) {
        co_return co_await writer.SendError(
            416, resolved.status(),
            Header("Content-Range", "bytes */" + std::to_string(info.size)));
      }
      ranges = std::move(resolved).value();
    }
    if (info.size == 0 || req.method() == http::verb::head) break;
    uint64_t first_index = (ranges.empty() ? 0 : ranges[0].first) / service_->block_size();
    first_cached = !note.opened && service_->HasBlock(origin, info, first_index);
    first = co_await FetchBlock(origin, info, first_index, forwarded);
    if (first.ok() || first.status().code() != StatusCode::kPreconditionFailed) break;
  }
  if (info.size > 0 && req.method() != http::verb::head && !first.ok()) {
    co_return co_await writer.SendError(first.status());
  }
  const bool partial = !ranges.empty();  // 206, else 200 with the whole object
  if (!partial && info.size > 0) ranges.push_back(ByteRange{0, info.size - 1});

  const uint64_t bs = service_->block_size();
  bool all_cached = true;
  for (size_t r = 0; r < ranges.size() && all_cached; ++r) {
    for (uint64_t i = ranges[r].first / bs; i <= ranges[r].last / bs && all_cached; ++i) {
      if (r == 0 && i == ranges[0].first / bs) continue;  // the first block: first_cached
      all_cached = service_->HasBlock(origin, info, i);
    }
  }
  bool hit = all_cached && (info.size == 0 || req.method() == http::verb::head || first_cached);
  const uint64_t first_block = ranges.empty() ? 0 : ranges[0].first / bs;
  const char* cache_status =
      note.stale                                                                           ? "stale"
      : hit                                                                                ? "hit"
      : !forwarded && info.size > 0 && service_->OwnedElsewhere(origin, info, first_block) ? "peer"
                                                                                           : "miss";
  if (forwarded) writer.set_frontend("peer");
  if (!partial || ranges.size() == 1) {
    std::optional<ByteRange> range;
    if (partial) range = ranges[0];
    const uint64_t length = ranges.empty() ? 0 : ranges[0].length();
    writer.Start(partial ? 206 : 200, length,
                 WithOverrides(ObjectHeaders(info, range, cache_status), overrides));
    if (req.method() == http::verb::head || length == 0) {
      co_await writer.Finish();
      co_return;
    }
    co_await WriteBytes(writer, origin, info, ranges[0].first, ranges[0].last + 1, std::move(first),
                        !all_cached, forwarded);
    co_return;
  }

  // Several ranges: one multipart/byteranges body (RFC 9110 section 14.6), parts in request order.
  const MultipartRanges multipart(ranges, info.size);
  HttpHeaders multipart_overrides = overrides;  // the parts' type is not the body's
  std::erase_if(multipart_overrides,
                [](const auto& h) { return AsciiLower(h.first) == "content-type"; });
  writer.Start(
      206, multipart.content_length(),
      WithOverrides(ObjectHeaders(info, std::nullopt, cache_status, multipart.content_type()),
                    multipart_overrides));
  if (req.method() == http::verb::head) {
    co_await writer.Finish();
    co_return;
  }
  for (size_t r = 0; r < ranges.size(); ++r) {
    const std::string part_head = multipart.PartHead(r);
    if (!co_await writer.Write(std::as_bytes(std::span(part_head)))) co_return;
    Result<BlockRef> part_first = Internal("fetched by WriteBytes");
    if (r == 0) part_first = std::move(first);
    if (!co_await WriteBytes(writer, origin, info, ranges[r].first, ranges[r].last + 1,
                             std::move(part_first), !all_cached, forwarded)) {
      co_return;
    }
  }
  const std::string tail = multipart.Tail();
  co_await writer.Write(std::as_bytes(std::span(tail)));
}

asio::awaitable<void> ObjectRoutes::PutObject(const Request& req, RequestBody& body,
                                              ResponseWriter& writer, const std::string& origin,
                                              const std::string& path) {
  if (Status st = ValidateObjectPath(path); !st.ok()) co_return co_await writer.SendError(400, st);
  if (!service_->HasOrigin(origin)) {
    co_return co_await writer.SendError(404, NotFound("unknown origin '" + origin + "'"));
  }
  // The body streams to the origin as it arrives (a single origin PUT states its length first).
  std::optional<uint64_t> size =
      body.streamed() ? body.length() : std::optional<uint64_t>(req.body().size());
  if (!size) {
    co_return co_await writer.SendError(
        411, InvalidArgument("an upload needs a Content-Length (chunked bodies are not taken)"));
  }
  size_t buffered = 0;  // bytes of req.body() handed on, when the body was read whole
  const BodyRead read = [&](std::span<std::byte> dst) -> asio::awaitable<Result<size_t>> {
    if (body.streamed()) co_return co_await body.Read(dst);
    const size_t n = std::min(dst.size(), req.body().size() - buffered);
    std::memcpy(dst.data(), req.body().data() + buffered, n);
    buffered += n;
    co_return n;
  };
  Result<ObjectInfo> info = co_await service_->Write(origin, path, *size, read);
  if (!info.ok()) {
    int status =
        info.status().code() == StatusCode::kUnimplemented ? 405 : HttpStatusFor(info.status());
    co_return co_await writer.SendError(status, info.status());
  }
  co_await writer.Send(201, ObjectInfoToJson(*info), "application/json",
                       Header("ETag", QuoteEtag(info->version)));
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
  Result<ListPage> page = co_await service_->List(origin, options);
  if (!page.ok()) co_return co_await writer.SendError(page.status());
  co_await writer.Send(200, ListPageToJson(origin, prefix, *page), "application/json");
}

}  // namespace unicache
