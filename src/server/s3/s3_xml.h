// Writing S3's XML documents: escaped text, nested elements, S3's timestamps.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace unicache {

// Returns `text` with &, <, >, " and ' escaped, and control characters XML 1.0 cannot carry
// replaced by their numeric references where allowed (tab, newline, return) or dropped.
std::string XmlEscape(std::string_view text);

// Returns epoch milliseconds as S3's ISO 8601 timestamp, "2026-12-03T21:20:00.000Z".
std::string Iso8601(int64_t epoch_ms);

// Builds one document: an XML declaration and a root element (in S3's namespace, unless told
// not: <Error> documents carry none). Not thread-safe.
class XmlWriter {
 public:
  explicit XmlWriter(std::string_view root, bool with_namespace = true);
  // Adds <name>escaped text</name> inside the element open now.
  void Add(std::string_view name, std::string_view text);
  // Adds escaped text inside the element open now.
  void Text(std::string_view text);
  void Open(std::string_view name);
  void Close(std::string_view name);
  // Closes the root and returns the document.
  std::string Finish();

 private:
  std::string root_;
  std::string out_;
};

}  // namespace unicache
