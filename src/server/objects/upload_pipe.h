// UploadPipe: carries an upload's body from the event loop that reads it off the client's
// connection to the origin thread that writes it, through two pieces of bounded size, so an
// upload holds the same small amount of memory whatever its length.
#pragma once

#include <utility>  // before Asio: g++ 12 needs it for awaitable.hpp (std::exchange)

#include <boost/asio/awaitable.hpp>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <span>
#include <vector>

#include "common/status.h"

namespace unicache {

// One producer coroutine (NextFree, Publish, Fail) and one consumer thread (Begin, Pull, Close).
// The pieces exist only from Begin() to Close(): an upload queued for its origin holds none.
class UploadPipe {
 public:
  static constexpr size_t kPieceBytes = 512 << 10;
  static constexpr size_t kPieces = 2;

  // Producer. Returns a free piece to fill, awaiting the consumer's Begin() and then a free
  // piece while both are full; an empty span once the consumer has closed the pipe (the write
  // is over: read no more).
  boost::asio::awaitable<std::span<std::byte>> NextFree();
  // Hands the consumer the first `n` bytes of the piece NextFree() returned last.
  void Publish(size_t n);
  // Ends the body: Pull() returns `error` once the published bytes are consumed.
  void Fail(Status error);

  // Consumer. Allocates the pieces: the producer may start.
  void Begin();
  // Consumer. Fills `dst` with the next published bytes, waiting for them; returns how many, or
  // the producer's error.
  Result<size_t> Pull(std::span<std::byte> dst);
  // The consumer is done: a producer awaiting a free piece resumes with an empty one.
  void Close();

 private:
  std::mutex mu_;
  std::condition_variable published_;
  std::vector<std::vector<std::byte>> pieces_;
  std::vector<size_t> free_;                      // pieces the producer may fill (after Begin)
  std::deque<std::pair<size_t, size_t>> filled_;  // (piece, bytes) for the consumer, in order
  size_t filling_ = 0;                            // the piece NextFree() returned last
  size_t taken_ = 0;                              // bytes of filled_.front() already pulled
  Status error_;
  bool closed_ = false;
  std::function<void()> producer_waiting_;  // resumes a producer awaiting a free piece
};

}  // namespace unicache
