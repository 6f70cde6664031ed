#include "common/object_json.h"

#include <nlohmann/json.hpp>

#include "common/json_read.h"

namespace unicache {
namespace {

nlohmann::json ToJson(const ObjectInfo& o) {
  return {
      {"path", o.path}, {"size", o.size}, {"etag", o.version}, {"last_modified_ms", o.mtime_ms}};
}

// Throws nlohmann's exceptions (caught by ReadJsonObject) for a missing or mistyped field.
ObjectInfo FromJson(const nlohmann::json& o) {
  ObjectInfo info;
  info.path = o.at("path").get<std::string>();
  info.size = o.at("size").get<uint64_t>();
  info.version = o.at("etag").get<std::string>();
  info.mtime_ms = o.value("last_modified_ms", int64_t{0});
  return info;
}

}  // namespace

std::string ObjectInfoToJson(const ObjectInfo& object) { return ToJson(object).dump() + "\n"; }

std::string ListPageToJson(std::string_view origin, std::string_view prefix, const ListPage& page) {
  nlohmann::json objects = nlohmann::json::array();
  for (const ObjectInfo& o : page.objects) objects.push_back(ToJson(o));
  nlohmann::json body = {{"origin", origin},
                         {"prefix", prefix},
                         {"objects", std::move(objects)},
                         {"prefixes", page.prefixes},
                         {"next_token", page.next_token}};
  return body.dump() + "\n";
}

Result<ObjectInfo> ObjectInfoFromJson(std::string_view json, const std::string& what) {
  return ReadJsonObject<ObjectInfo>(
      json, what, [](const nlohmann::json& j) -> Result<ObjectInfo> { return FromJson(j); });
}

Result<ListPage> ListPageFromJson(std::string_view json, const std::string& what) {
  return ReadJsonObject<ListPage>(json, what, [](const nlohmann::json& body) -> Result<ListPage> {
    ListPage page;
    for (const auto& o : body.value("objects", nlohmann::json::array())) {
      page.objects.push_back(FromJson(o));
    }
    for (const auto& p : body.value("prefixes", nlohmann::json::array())) {
      page.prefixes.push_back(p.get<std::string>());
    }
    page.next_token = body.value("next_token", "");
    return page;
  });
}

}  // namespace unicache
