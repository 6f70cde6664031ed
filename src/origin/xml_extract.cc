#include "origin/xml_extract.h"

#include <charconv>

namespace unicache {
namespace {

// Returns the index just past the '>' that ends the tag starting at `lt`, honouring quoted
// attribute values; npos if unterminated.
size_t TagEnd(std::string_view xml, size_t lt) {
  char quote = 0;
  for (size_t i = lt + 1; i < xml.size(); ++i) {
    char c = xml[i];
    if (quote != 0) {
      if (c == quote) quote = 0;
    } else if (c == '"' || c == '\'') {
      quote = c;
    } else if (c == '>') {
      return i + 1;
    }
  }
  return std::string_view::npos;
}

bool IsNameEnd(char c) {
  return c == '>' || c == '/' || c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

// Returns the index past markup that is not an element (<?...?>, <!--...-->, <![CDATA[...]]>,
// <!...>) starting at `lt`, or 0 when `lt` starts an element tag.
size_t SkipNonElement(std::string_view xml, size_t lt) {
  std::string_view rest = xml.substr(lt);
  auto past = [&](std::string_view end) -> size_t {
    size_t p = xml.find(end, lt);
    return p == std::string_view::npos ? xml.size() : p + end.size();
  };
  if (rest.starts_with("<?")) return past("?>");
  if (rest.starts_with("<!--")) return past("-->");
  if (rest.starts_with("<![CDATA[")) return past("]]>");
  if (rest.starts_with("<!")) return past(">");
  return 0;
}

// True when the tag at `lt` (start "<name" or end "</name") names `tag`.
bool NamesTag(std::string_view xml, size_t name_at, std::string_view tag) {
  if (xml.compare(name_at, tag.size(), tag) != 0) return false;
  size_t after = name_at + tag.size();
  return after < xml.size() && IsNameEnd(xml[after]);
}

}  // namespace

Result<std::vector<XmlElement>> XmlChildren(std::string_view xml, std::string_view tag) {
  std::vector<XmlElement> out;
  size_t pos = 0;
  while ((pos = xml.find('<', pos)) != std::string_view::npos) {
    if (size_t skip = SkipNonElement(xml, pos); skip != 0) {
      pos = skip;
      continue;
    }
    size_t end = TagEnd(xml, pos);
    if (end == std::string_view::npos) return InvalidArgument("malformed XML: unterminated tag");
    bool closing = pos + 1 < xml.size() && xml[pos + 1] == '/';
    if (closing || !NamesTag(xml, pos + 1, tag)) {
      pos = end;
      continue;
    }
    size_t attr_begin = pos + 1 + tag.size();
    bool self_closing = xml[end - 2] == '/';
    std::string_view attrs = xml.substr(attr_begin, end - attr_begin - (self_closing ? 2 : 1));
    if (self_closing) {
      out.push_back({std::string_view(), attrs});
      pos = end;
      continue;
    }
    // Find the matching end tag, counting nested elements of the same name.
    int depth = 1;
    size_t scan = end;
    size_t inner_end = std::string_view::npos;
    while (depth > 0) {
      scan = xml.find('<', scan);
      if (scan == std::string_view::npos)
        return InvalidArgument("malformed XML: no </" + std::string(tag) + ">");
      if (size_t skip = SkipNonElement(xml, scan); skip != 0) {
        scan = skip;
        continue;
      }
      size_t tag_end = TagEnd(xml, scan);
      if (tag_end == std::string_view::npos)
        return InvalidArgument("malformed XML: unterminated tag");
      bool is_close = xml[scan + 1] == '/';
      if (is_close && NamesTag(xml, scan + 2, tag)) {
        if (--depth == 0) inner_end = scan;
      } else if (!is_close && NamesTag(xml, scan + 1, tag) && xml[tag_end - 2] != '/') {
        ++depth;
      }
      scan = tag_end;
    }
    out.push_back({xml.substr(end, inner_end - end), attrs});
    pos = scan;
  }
  return out;
}

Result<std::string> XmlText(std::string_view xml, std::string_view tag) {
  ASSIGN_OR_RETURN(std::vector<XmlElement> found, XmlChildren(xml, tag));
  if (found.empty()) return std::string();
  return XmlDecode(found.front().inner);
}

Result<std::string> XmlDecode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '&') {
      out.push_back(text[i]);
      continue;
    }
    size_t semi = text.find(';', i);
    if (semi == std::string_view::npos || semi - i > 12) {
      return InvalidArgument("malformed XML entity");
    }
    std::string_view ent = text.substr(i + 1, semi - i - 1);
    if (ent == "amp")
      out.push_back('&');
    else if (ent == "lt")
      out.push_back('<');
    else if (ent == "gt")
      out.push_back('>');
    else if (ent == "quot")
      out.push_back('"');
    else if (ent == "apos")
      out.push_back('\'');
    else if (ent.size() > 1 && ent[0] == '#') {
      bool hex = ent[1] == 'x' || ent[1] == 'X';
      std::string_view digits = ent.substr(hex ? 2 : 1);
      unsigned long cp = 0;
      auto [p, ec] =
          std::from_chars(digits.data(), digits.data() + digits.size(), cp, hex ? 16 : 10);
      if (ec != std::errc() || p != digits.data() + digits.size() || cp == 0 || cp > 0x10FFFF) {
        return InvalidArgument("malformed XML character reference");
      }
      // Encode the code point as UTF-8.
      if (cp < 0x80) {
        out.push_back(static_cast<char>(cp));
      } else if (cp < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
      } else if (cp < 0x10000) {
        out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
      } else {
        out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
      }
    } else {
      return InvalidArgument("unknown XML entity");
    }
    i = semi;
  }
  return out;
}

}  // namespace unicache
