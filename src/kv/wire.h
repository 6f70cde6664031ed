// Little-endian field writers and a bounds-checked reader, shared by the KV wire formats (the
// HTTP batch bodies and the local shared-memory protocol).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace unicache::wire {

inline void PutU8(std::string& out, uint8_t v) { out.push_back(static_cast<char>(v)); }
inline void PutU16(std::string& out, uint16_t v) {
  char b[2] = {static_cast<char>(v & 0xff), static_cast<char>(v >> 8)};
  out.append(b, 2);
}
inline void PutU32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
inline void PutU64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
// u16 length, then the bytes. REQUIRES: s.size() < 65536.
inline void PutStr16(std::string& out, std::string_view s) {
  PutU16(out, static_cast<uint16_t>(s.size()));
  out += s;
}

// Reads fields off the front of a buffer; every call fails (returns false) once it runs short.
class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}
  bool U8(uint8_t* v) { return Fixed(v, 1); }
  bool U16(uint16_t* v) { return Fixed(v, 2); }
  bool U32(uint32_t* v) { return Fixed(v, 4); }
  bool U64(uint64_t* v) { return Fixed(v, 8); }
  bool Bytes(size_t n, std::string_view* v) {
    if (data_.size() < n) return false;
    *v = data_.substr(0, n);
    data_.remove_prefix(n);
    return true;
  }
  bool Str16(std::string_view* v) {
    uint16_t n = 0;
    return U16(&n) && Bytes(n, v);
  }
  std::string_view rest() const { return data_; }

 private:
  template <typename T>
  bool Fixed(T* v, size_t n) {
    if (data_.size() < n) return false;
    uint64_t x = 0;
    for (size_t i = 0; i < n; ++i) x |= uint64_t(static_cast<uint8_t>(data_[i])) << (8 * i);
    *v = static_cast<T>(x);
    data_.remove_prefix(n);
    return true;
  }
  std::string_view data_;
};

}  // namespace unicache::wire
