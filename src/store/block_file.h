// Block files: the SSD tier's on-disk format, one file per block.
//
// A file is a 64-byte header, zeros up to kBlockDataOffset (4 KiB), then the block's bytes, so
// the whole file is written with one O_DIRECT write (the data stays out of the page cache: the
// RAM tier is the cache, and on the VMs measured a buffered write cost ~2 ms of CPU per MiB).
// All integers are little-endian.
//   offset  size  field
//        0     4  magic "UCBK"
//        4     2  format version (kBlockFileVersion)
//        6     2  data offset (kBlockDataOffset)
//        8    16  key (hi, lo)
//       24     8  data length
//       32     8  XXH3-64 of the data
//       40    16  reserved, zero
//       56     8  XXH3-64 of bytes 0..55 (the header checksum)
// Files are written to "<name>.tmp" and renamed into place, so a block file is either complete
// or absent; a torn file (crash before rename, lost page cache) is caught by its length or its
// checksums.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/hash.h"
#include "common/status.h"
#include "store/block.h"

namespace unicache {

inline constexpr uint32_t kBlockFileMagic = 0x4b424355;  // "UCBK" read as little-endian
inline constexpr uint16_t kBlockFileVersion = 2;         // 1 had its data at offset 64
inline constexpr size_t kBlockHeaderSize = 64;
inline constexpr size_t kBlockDataOffset = 4096;  // also the file's size beyond its data
inline constexpr std::string_view kBlockFileSuffix = ".blk";
inline constexpr std::string_view kTempFileSuffix = ".tmp";

// The decoded header of a block file. Value type.
struct BlockHeader {
  Key128 key;
  uint64_t data_length = 0;
  uint64_t data_checksum = 0;
};

// Returns the encoded header (with its header checksum).
std::array<std::byte, kBlockHeaderSize> EncodeBlockHeader(const BlockHeader& header);

// Decodes `bytes` (kBlockHeaderSize of them). ChecksumMismatch for a bad magic or checksum,
// InvalidArgument for an unknown version.
Result<BlockHeader> DecodeBlockHeader(const std::byte* bytes);

// Returns "<root>/ab/<32 hex digits>.blk" where "ab" are the key's first two hex digits.
std::string BlockFilePath(const std::string& root, const Key128& key);

// Writes `block` as the file for `key` under `root` (temp file, optional fdatasync, rename),
// creating the fan-out directory when missing. On failure no file for `key` is left behind.
// Uses O_DIRECT where the file system supports it, buffered writes elsewhere (e.g. tmpfs).
Status WriteBlockFile(const std::string& root, const Key128& key, const Block& block, bool sync);

// Reads and verifies the file for `key` under `root`, which should hold `expected_length` bytes
// of data. NotFound when the file is missing; ChecksumMismatch when it is short, long, for
// another key, or its bytes do not match their checksum; other errno-based errors as they come.
Result<BlockRef> ReadBlockFile(const std::string& root, const Key128& key,
                               uint64_t expected_length);

// Validates the file at `path` by its header and length only (data is not read): returns the
// header, or ChecksumMismatch for a torn or foreign file, or an errno-based error.
Result<BlockHeader> ProbeBlockFile(const std::string& path);

}  // namespace unicache
