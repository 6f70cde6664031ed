#include "server/objects/upload_pipe.h"

#include <algorithm>
#include <boost/asio/async_result.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstring>
#include <memory>

#include "server/work/run_on.h"

namespace unicache {

namespace asio = boost::asio;

void UploadPipe::Begin() {
  std::function<void()> resume;
  {
    std::lock_guard lock(mu_);
    pieces_.assign(kPieces, std::vector<std::byte>(kPieceBytes));
    for (size_t i = 0; i < kPieces; ++i) free_.push_back(i);
    resume = std::exchange(producer_waiting_, nullptr);
  }
  if (resume) resume();
}

asio::awaitable<std::span<std::byte>> UploadPipe::NextFree() {
  {
    std::lock_guard lock(mu_);
    if (closed_) co_return std::span<std::byte>();
    if (!free_.empty()) {
      filling_ = free_.back();
      free_.pop_back();
      co_return std::span(pieces_[filling_]);
    }
  }
  // Not begun yet, or both pieces are with the consumer: wait until one is free (or closed).
  co_await asio::async_initiate<const asio::use_awaitable_t<>&, void(std::shared_ptr<bool>)>(
      [this](auto handler) {
        auto h = std::make_shared<decltype(handler)>(std::move(handler));
        std::function<void()> resume = [h] { ResumeWith(h, std::make_shared<bool>(true)); };
        std::unique_lock lock(mu_);
        if (closed_ || !free_.empty()) {
          lock.unlock();
          resume();
          return;
        }
        producer_waiting_ = std::move(resume);
      },
      asio::use_awaitable);
  std::lock_guard lock(mu_);
  if (closed_) co_return std::span<std::byte>();
  filling_ = free_.back();
  free_.pop_back();
  co_return std::span(pieces_[filling_]);
}

void UploadPipe::Publish(size_t n) {
  {
    std::lock_guard lock(mu_);
    filled_.emplace_back(filling_, n);
  }
  published_.notify_one();
}

void UploadPipe::Fail(Status error) {
  {
    std::lock_guard lock(mu_);
    error_ = std::move(error);
  }
  published_.notify_one();
}

Result<size_t> UploadPipe::Pull(std::span<std::byte> dst) {
  std::function<void()> resume;
  size_t n = 0;
  {
    std::unique_lock lock(mu_);
    published_.wait(lock, [this] { return !filled_.empty() || !error_.ok(); });
    if (filled_.empty()) return error_;
    auto [piece, bytes] = filled_.front();
    n = std::min(dst.size(), bytes - taken_);
    std::memcpy(dst.data(), pieces_[piece].data() + taken_, n);
    taken_ += n;
    if (taken_ == bytes) {
      filled_.pop_front();
      taken_ = 0;
      free_.push_back(piece);
      resume = std::exchange(producer_waiting_, nullptr);
    }
  }
  if (resume) resume();
  return n;
}

void UploadPipe::Close() {
  std::function<void()> resume;
  {
    std::lock_guard lock(mu_);
    closed_ = true;
    resume = std::exchange(producer_waiting_, nullptr);
  }
  if (resume) resume();
}

}  // namespace unicache
