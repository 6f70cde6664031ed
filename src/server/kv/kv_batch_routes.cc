// KvRoutes' batch operations: the HTTP encoding of batch-get, batch-exists, batch-put and
// prefix-match around KvService, which splits them by owner.
#include "kv/batch_codec.h"
#include "server/kv/kv_routes.h"

namespace unicache {

namespace asio = boost::asio;

asio::awaitable<void> KvRoutes::BatchGet(Call& c, ResponseWriter& w, bool exists_only) {
  Result<std::vector<std::string>> decoded = DecodeKeyList(c.body);
  if (!decoded.ok()) co_return co_await w.SendError(400, decoded.status());
  const std::vector<std::string> keys = std::move(decoded).value();
  const std::string lease = c.target->Param("lease");
  const KvScope scope = c.scope();
  KvBatchGetAnswer a = co_await service_->BatchGet(scope, keys, lease, exists_only);
  if (exists_only) {
    co_return co_await w.Send(200, EncodeStatusList(a.statuses), kKvBatchContentType);
  }
  const size_t n = keys.size();
  KvGetHead head;
  head.statuses = a.statuses;
  head.lengths.resize(n);
  uint64_t total = 0;
  for (size_t i = 0; i < n; ++i) {
    head.lengths[i] =
        a.statuses[i] == KvItemStatus::kOk ? static_cast<uint32_t>(a.values[i].size()) : 0;
    total += head.lengths[i];
  }
  std::string buffer = EncodeGetHead(head);
  w.Start(200, buffer.size() + total, Header("Content-Type", std::string(kKvBatchContentType)));
  // Small values are coalesced into one write; large ones go out straight from the store.
  constexpr size_t kCoalesce = 64 * 1024;
  for (size_t i = 0; i < n; ++i) {
    if (head.lengths[i] == 0) continue;
    if (a.values[i].size() < kCoalesce) {
      buffer += a.values[i];
      continue;
    }
    if (!buffer.empty()) {
      if (!co_await w.Write(std::as_bytes(std::span(buffer.data(), buffer.size())))) co_return;
      buffer.clear();
    }
    if (!co_await w.Write(std::as_bytes(std::span(a.values[i].data(), a.values[i].size())))) {
      co_return;
    }
  }
  if (!buffer.empty()) co_await w.Write(std::as_bytes(std::span(buffer.data(), buffer.size())));
  co_await w.Finish();
}

asio::awaitable<void> KvRoutes::BatchPut(Call& c, ResponseWriter& w) {
  Result<std::vector<KvPutItem>> decoded = DecodePutBatch(c.body);
  if (!decoded.ok()) co_return co_await w.SendError(400, decoded.status());
  const std::vector<KvPutItem> items = std::move(decoded).value();  // views into c.body
  const KvScope scope = c.scope();
  std::vector<KvItemStatus> statuses = co_await service_->BatchPut(scope, items);
  co_await w.Send(200, EncodeStatusList(statuses), kKvBatchContentType);
}

asio::awaitable<void> KvRoutes::PrefixMatch(Call& c, ResponseWriter& w) {
  Result<std::vector<std::string>> decoded = DecodeKeyList(c.body);
  if (!decoded.ok()) co_return co_await w.SendError(400, decoded.status());
  const std::vector<std::string> keys = std::move(decoded).value();
  uint64_t lease_ms = 0;
  if (std::string l = c.target->Param("lease"); !l.empty()) {
    lease_ms = std::strtoull(l.c_str(), nullptr, 10);
    if (lease_ms == 0) {
      co_return co_await w.SendError(400, InvalidArgument("lease must be 1..3600000 ms"));
    }
  }
  const std::string lease_id = c.target->Param("lease_id");
  const KvScope scope = c.scope();
  Result<KvPrefixAnswer> a = co_await service_->PrefixMatch(scope, keys, lease_ms, lease_id);
  if (!a.ok()) co_return co_await w.SendError(400, a.status());
  co_await w.Send(200, EncodePrefixAnswer(static_cast<uint32_t>(a->matched), a->lease_id),
                  kKvBatchContentType);
}

}  // namespace unicache
