#include "api/dto/filter_table_json.h"

#include "api/dto/address_json.h"
#include "engine/policy/names.h"

namespace ipsec::api::dto {
namespace {

using policy::OriginKind;

Json InterfacesToJson(const std::vector<std::string>& interfaces) {
  if (interfaces.empty()) return "all";
  return interfaces;
}

Json OptionalString(const std::string& s) { return s.empty() ? Json(nullptr) : Json(s); }

Json OptionalAddress(const std::optional<IpAddress>& a) {
  return a ? Json(a->ToString()) : Json(nullptr);
}

Json ProtocolText(std::optional<uint8_t> protocol) {
  Json p = ProtocolToJson(protocol);
  return p.is_string() ? p : Json(std::to_string(*protocol));
}

Result<policy::Direction> ParseDirection(const Json& v, const std::string& path) {
  auto s = ReadString(v, path);
  if (!s.ok()) return s.error();
  if (*s == "outbound") return policy::Direction::kOutbound;
  if (*s == "inbound") return policy::Direction::kInbound;
  return ObjectReader::UnknownName(path, "direction", *s, {"outbound", "inbound"});
}

ValueReader AddressInto(IpAddress& out) {
  return [&out](const Json& v, const std::string& path) -> Status {
    auto s = ReadString(v, path);
    if (!s.ok()) return s.error();
    auto a = ParseAddress(*s, path);
    if (!a.ok()) return a.error();
    out = *a;
    return Status::Ok();
  };
}

ValueReader PortInto(uint16_t& out) {
  return [&out](const Json& v, const std::string& path) -> Status {
    auto p = PortFromJson(v, path);
    if (!p.ok()) return p.error();
    out = *p;
    return Status::Ok();
  };
}

}  // namespace

Json EntryOriginToJson(const policy::EntryOrigin& o) {
  if (o.kind == OriginKind::kExemption) {
    return Json{{"kind", "exemption"}, {"exemption", o.exemption}};
  }
  return Json{{"kind", "rule"},
              {"rule", o.rule},
              {"filter_list", o.filter_list},
              {"filter_index", o.filter_index},
              {"mirror", o.mirror}};
}

Json GenericFilterToJson(const policy::GenericFilter& g) {
  const bool rule = g.origin.kind == OriginKind::kRule;
  const policy::Filter& f = g.filter;
  return Json{{"rule", rule ? Json(g.origin.rule) : Json(nullptr)},
              {"filter_list", rule ? Json(g.origin.filter_list) : Json(nullptr)},
              {"filter_index", rule ? Json(g.origin.filter_index) : Json(nullptr)},
              {"exemption", rule ? Json(nullptr) : Json(g.origin.exemption)},
              {"description", f.description},
              {"source", AddressSpecToString(f.source)},
              {"destination", AddressSpecToString(f.destination)},
              {"protocol", ProtocolText(f.protocol)},
              {"source_ports", PortsToString(f.source_ports)},
              {"destination_ports", PortsToString(f.destination_ports)},
              {"mirrored", f.mirrored},
              {"action", policy::Name(g.action)},
              {"filter_action", OptionalString(g.filter_action)},
              {"tunnel_endpoint", OptionalAddress(g.tunnel_endpoint)},
              {"interfaces", InterfacesToJson(g.interfaces)},
              {"weight", g.weight}};
}

Json TableEntryToJson(const policy::TableEntry& e) {
  Json overridden = Json::array();
  for (const auto& o : e.overridden) {
    overridden.push_back(
        Json{{"origin", EntryOriginToJson(o.origin)}, {"action", policy::Name(o.action)}});
  }
  return Json{{"id", e.id},
              {"direction", policy::Name(e.direction)},
              {"source", e.source.ToString()},
              {"destination", e.destination.ToString()},
              {"protocol", ProtocolText(e.protocol)},
              {"source_ports", PortsToString(e.source_ports)},
              {"destination_ports", PortsToString(e.destination_ports)},
              {"interfaces", InterfacesToJson(e.interfaces)},
              {"action", policy::Name(e.action)},
              {"weight", e.weight},
              {"origin", EntryOriginToJson(e.origin)},
              {"filter_action", OptionalString(e.filter_action)},
              {"tunnel_endpoint", OptionalAddress(e.tunnel_endpoint)},
              {"overridden", std::move(overridden)}};
}

Json FilterTableToJson(const policy::FilterTable& table, const TableInfo& info, bool specific) {
  Json out{{"policy", info.policy ? Json(*info.policy) : Json(nullptr)},
           {"scope", info.scope ? Json(policy::Name(*info.scope)) : Json(nullptr)},
           {"generation", info.generation},
           {"default_action", "permit"},
           {"default_response_rule", table.default_response_active ? "active" : "inactive"},
           {"warnings", table.warnings}};
  if (specific) {
    Json entries = Json::array();
    for (const auto& e : table.entries) entries.push_back(TableEntryToJson(e));
    out["conflicts_resolved"] = table.conflicts_resolved;
    out["entries"] = std::move(entries);
  } else {
    Json filters = Json::array();
    for (const auto& g : table.generic) filters.push_back(GenericFilterToJson(g));
    out["filters"] = std::move(filters);
  }
  return out;
}

policy::PacketKey MatchRequest::Key() const {
  policy::PacketKey key;
  key.direction = direction;
  key.interface = interface;
  key.source = source;
  key.destination = destination;
  key.protocol = protocol;
  key.source_port = source_port;
  key.destination_port = destination_port;
  return key;
}

Result<MatchRequest> MatchRequestFromJson(const Json& j) {
  MatchRequest m;
  ObjectReader r(j, "", "match request");
  r.Field(
      "direction",
      [&](const Json& v, const std::string& path) -> Status {
        auto d = ParseDirection(v, path);
        if (!d.ok()) return d.error();
        m.direction = *d;
        return Status::Ok();
      },
      ObjectReader::kRequired);
  r.String("interface", m.interface);
  r.Field("source", AddressInto(m.source), ObjectReader::kRequired);
  r.Field("destination", AddressInto(m.destination), ObjectReader::kRequired);
  r.Field("protocol", [&](const Json& v, const std::string& path) -> Status {
    auto p = ProtocolFromJson(v, path);
    if (!p.ok()) return p.error();
    m.protocol = p->value_or(0);
    return Status::Ok();
  });
  r.Field("source_port", PortInto(m.source_port));
  r.Field("destination_port", PortInto(m.destination_port));
  if (Status s = r.Finish(); !s.ok()) return s.error();
  if (m.source.family() != m.destination.family()) {
    return InvalidAt("/destination", std::string("the source is ") +
                                         FamilyName(m.source.family()) +
                                         " but the destination is " +
                                         FamilyName(m.destination.family()) +
                                         "; a packet has one family");
  }
  if (!policy::ProtocolHasPorts(m.protocol) && (m.source_port != 0 || m.destination_port != 0)) {
    return InvalidAt(m.source_port != 0 ? "/source_port" : "/destination_port",
                     "ports apply only to tcp, udp and sctp, but the protocol is '" +
                         policy::ProtocolName(m.protocol) + "'; set the protocol or omit ports");
  }
  return m;
}

Json MatchToJson(policy::Action action, const policy::TableEntry* entry, const std::string& reason,
                 const std::optional<std::string>& policy_name, uint64_t generation) {
  const bool by_rule = entry != nullptr && entry->origin.kind == OriginKind::kRule;
  return Json{{"action", policy::Name(action)},
              {"policy", policy_name ? Json(*policy_name) : Json(nullptr)},
              {"generation", generation},
              {"rule", by_rule ? Json(entry->origin.rule) : Json(nullptr)},
              {"weight", entry != nullptr ? Json(entry->weight) : Json(nullptr)},
              {"entry", entry != nullptr ? TableEntryToJson(*entry) : Json(nullptr)},
              {"reason", reason}};
}

}  // namespace ipsec::api::dto
