// A tiny, careful extractor for the few elements of object-store listing responses (Azure List
// Blobs, S3 ListObjectsV2). Not a general XML parser: no namespaces, DTDs or mixed content.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace unicache {

// One element found by XmlChildren: its raw inner text (still entity-encoded) and raw attributes.
struct XmlElement {
  std::string_view inner;
  std::string_view attributes;
};

// Returns the elements named `tag` found directly or deeply inside `xml`, in document order,
// without descending into a match (so a <Blob> never yields its own nested elements twice).
// `<tag/>` yields an empty element. InvalidArgument if a start tag has no matching end tag.
Result<std::vector<XmlElement>> XmlChildren(std::string_view xml, std::string_view tag);

// Returns the decoded text of the first `tag` element in `xml`, or "" when there is none.
Result<std::string> XmlText(std::string_view xml, std::string_view tag);

// Decodes the five predefined entities and numeric character references (&#N; &#xN;).
Result<std::string> XmlDecode(std::string_view text);

}  // namespace unicache
