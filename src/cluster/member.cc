#include "cluster/member.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <set>

#include "common/text.h"

namespace unicache {
namespace {

using Json = nlohmann::json;

Json ToJsonObject(const Member& m) {
  Json j{{"id", m.id}, {"address", m.address}, {"weight", m.weight}, {"zone", m.zone}};
  if (!m.slots.empty()) j["slots"] = m.slots;
  return j;
}

Result<Member> FromJsonObject(const Json& j) {
  if (!j.is_object()) return InvalidArgument("member must be a JSON object");
  Member m;
  auto id = j.find("id");
  auto address = j.find("address");
  if (id == j.end() || !id->is_string()) return InvalidArgument("member needs a string \"id\"");
  if (address == j.end() || !address->is_string()) {
    return InvalidArgument("member needs a string \"address\"");
  }
  m.id = id->get<std::string>();
  m.address = address->get<std::string>();
  if (auto w = j.find("weight"); w != j.end()) {
    if (!w->is_number()) return InvalidArgument("member \"weight\" must be a number");
    m.weight = w->get<double>();
  }
  if (auto z = j.find("zone"); z != j.end()) {
    if (!z->is_string()) return InvalidArgument("member \"zone\" must be a string");
    m.zone = z->get<std::string>();
  }
  if (auto s = j.find("slots"); s != j.end()) {
    if (!s->is_array()) return InvalidArgument("member \"slots\" must be an array");
    for (const Json& slot : *s) {
      if (!slot.is_number_unsigned() || slot.get<uint64_t>() >= kMaxSlotNumber) {
        return InvalidArgument("member \"slots\" must hold numbers below " +
                               std::to_string(kMaxSlotNumber));
      }
      m.slots.push_back(slot.get<uint32_t>());
    }
  }
  RETURN_IF_ERROR(ValidateMember(m));
  return m;
}

}  // namespace

Result<HostPort> ParseHostPort(std::string_view address) {
  std::string quoted = "\"" + std::string(address) + "\"";
  HostPort hp;
  std::string_view port;
  if (address.starts_with('[')) {
    size_t close = address.find(']');
    if (close == std::string_view::npos || close + 1 >= address.size() ||
        address[close + 1] != ':') {
      return InvalidArgument("address " + quoted + " must be [v6address]:port");
    }
    hp.host = std::string(address.substr(1, close - 1));
    port = address.substr(close + 2);
  } else {
    size_t colon = address.rfind(':');
    if (colon == std::string_view::npos) {
      return InvalidArgument("address " + quoted + " must be host:port");
    }
    hp.host = std::string(address.substr(0, colon));
    if (hp.host.find(':') != std::string::npos) {
      return InvalidArgument("address " + quoted + ": put an IPv6 host in brackets, [v6]:port");
    }
    port = address.substr(colon + 1);
  }
  if (hp.host.empty()) return InvalidArgument("address " + quoted + " has an empty host");
  std::optional<uint16_t> value = ParseDecimal<uint16_t>(port);
  if (!value || *value == 0)
    return InvalidArgument("address " + quoted + " needs a port in 1-65535");
  hp.port = *value;
  return hp;
}

std::string FormatHostPort(std::string_view host, uint16_t port) {
  std::string s;
  if (host.find(':') != std::string_view::npos) {
    s = "[" + std::string(host) + "]";
  } else {
    s = std::string(host);
  }
  return s + ":" + std::to_string(port);
}

Status ValidateMember(const Member& m) {
  if (m.id.empty()) return InvalidArgument("member id is empty");
  Result<HostPort> hp = ParseHostPort(m.address);
  if (!hp.ok()) return hp.status().WithContext("member " + m.id);
  if (!std::isfinite(m.weight) || m.weight <= 0) {
    return InvalidArgument("member " + m.id + " needs a finite weight > 0");
  }
  if (m.slots.size() > kMaxMemberSlots) {
    return InvalidArgument("member " + m.id + " holds more than " +
                           std::to_string(kMaxMemberSlots) + " slots");
  }
  std::set<uint32_t> slots;
  for (uint32_t s : m.slots) {
    if (s >= kMaxSlotNumber) {
      return InvalidArgument("member " + m.id + " holds slot " + std::to_string(s) + ", beyond " +
                             std::to_string(kMaxSlotNumber - 1));
    }
    if (!slots.insert(s).second) {
      return InvalidArgument("member " + m.id + " lists slot " + std::to_string(s) + " twice");
    }
  }
  return Status::Ok();
}

std::string MemberToJson(const Member& m) { return ToJsonObject(m).dump(); }

Result<Member> MemberFromJson(std::string_view json) {
  Json j = Json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return InvalidArgument("member is not valid JSON");
  return FromJsonObject(j);
}

std::string MemberViewToJson(const MemberView& view) {
  Json members = Json::array();
  for (const Member& m : view.members) members.push_back(ToJsonObject(m));
  return Json{{"version", view.version}, {"members", std::move(members)}}.dump();
}

Result<MemberView> MemberViewFromJson(std::string_view json) {
  Json j = Json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object())
    return InvalidArgument("member view is not a JSON object");
  auto version = j.find("version");
  auto members = j.find("members");
  if (version == j.end() || !version->is_number_unsigned()) {
    return InvalidArgument("member view needs an unsigned \"version\"");
  }
  if (members == j.end() || !members->is_array()) {
    return InvalidArgument("member view needs a \"members\" array");
  }
  MemberView view;
  view.version = version->get<uint64_t>();
  std::set<std::string> ids;
  for (const Json& item : *members) {
    ASSIGN_OR_RETURN(Member m, FromJsonObject(item));
    if (!ids.insert(m.id).second) return InvalidArgument("member view repeats id " + m.id);
    view.members.push_back(std::move(m));
  }
  std::sort(view.members.begin(), view.members.end(),
            [](const Member& a, const Member& b) { return a.id < b.id; });
  return view;
}

}  // namespace unicache
