#include "engine/policy/exemptions.h"

#include "engine/policy/weights.h"

namespace ipsec::engine::policy {
namespace {

constexpr std::optional<IpFamily> kBothFamilies = std::nullopt;

// Traffic to and from one well-known port, seen from the pod. A remote port covers our
// requests and their replies (DNS client); a local port covers a peer's requests to us and our
// replies (IKE responder).
struct PortPattern {
  const char* exemption;
  const char* description;
  uint8_t protocol;
  bool remote;  // the port is the peer's; else ours
  uint16_t port;
  std::optional<IpFamily> family;  // nullopt: both
};

constexpr PortPattern kIkePatterns[] = {
    {"ike", "IKE to a peer's UDP 500", kProtoUdp, true, 500, kBothFamilies},
    {"ike", "IKE to our UDP 500", kProtoUdp, false, 500, kBothFamilies},
    {"ike", "IKE NAT-T to a peer's UDP 4500", kProtoUdp, true, 4500, kBothFamilies},
    {"ike", "IKE NAT-T to our UDP 4500", kProtoUdp, false, 4500, kBothFamilies},
};
constexpr PortPattern kDnsPatterns[] = {
    {"dns", "DNS over UDP", kProtoUdp, true, 53, kBothFamilies},
    {"dns", "DNS over TCP", kProtoTcp, true, 53, kBothFamilies},
};
constexpr PortPattern kNetbiosPatterns[] = {
    {"netbios", "NetBIOS name service", kProtoUdp, true, 137, IpFamily::kV4},
};

std::vector<IpFamily> Families(std::optional<IpFamily> f) {
  if (f) return {*f};
  return {IpFamily::kV4, IpFamily::kV6};
}

TableEntry MakeEntry(const char* exemption, Direction direction, const IpRange& source,
                     const IpRange& destination, std::optional<uint8_t> protocol,
                     const PortRange& source_ports, const PortRange& destination_ports) {
  TableEntry e;
  e.direction = direction;
  e.source = source;
  e.destination = destination;
  e.protocol = protocol;
  e.source_ports = source_ports;
  e.destination_ports = destination_ports;
  e.action = Action::kPermit;
  e.weight = EntryWeight(kExemptionTier, source, destination, protocol, source_ports,
                         destination_ports);
  e.origin.kind = OriginKind::kExemption;
  e.origin.exemption = exemption;
  return e;
}

GenericFilter MakeGeneric(const char* exemption, Filter filter) {
  GenericFilter g;
  g.origin.kind = OriginKind::kExemption;
  g.origin.exemption = exemption;
  g.action = Action::kPermit;
  g.weight = GenericWeight(kExemptionTier, filter);
  g.filter = std::move(filter);
  return g;
}

void AppendPattern(const PortPattern& p, std::vector<TableEntry>* entries,
                   std::vector<GenericFilter>* generic) {
  const PortRange any;
  const PortRange port = PortRange::Single(p.port);
  // Outbound packets carry our port as source; inbound ones as destination.
  const PortRange& out_src = p.remote ? any : port;
  const PortRange& out_dst = p.remote ? port : any;
  for (IpFamily f : Families(p.family)) {
    const IpRange all = IpRange::Full(f);
    entries->push_back(
        MakeEntry(p.exemption, Direction::kOutbound, all, all, p.protocol, out_src, out_dst));
    entries->push_back(
        MakeEntry(p.exemption, Direction::kInbound, all, all, p.protocol, out_dst, out_src));
  }
  Filter f;
  f.description = p.description;
  f.source = AddressSpec::Me(p.family);
  f.destination = AddressSpec::Any(p.family);
  f.protocol = p.protocol;
  f.source_ports = out_src;
  f.destination_ports = out_dst;
  f.mirrored = true;
  generic->push_back(MakeGeneric(p.exemption, std::move(f)));
}

// ESP and AH themselves: the protected traffic must pass, whatever the rules say (FAQ 52).
void AppendIpsecProtocol(const char* exemption, uint8_t protocol,
                         std::vector<TableEntry>* entries, std::vector<GenericFilter>* generic) {
  for (IpFamily f : Families(kBothFamilies)) {
    const IpRange all = IpRange::Full(f);
    for (Direction d : {Direction::kOutbound, Direction::kInbound}) {
      entries->push_back(MakeEntry(exemption, d, all, all, protocol, {}, {}));
    }
  }
  Filter f;
  f.description = std::string(exemption) + " (IP protocol " + std::to_string(protocol) + ")";
  f.protocol = protocol;
  f.mirrored = true;
  generic->push_back(MakeGeneric(exemption, std::move(f)));
}

// The kubelet probes the pod from the node's address; without known pod addresses we exempt
// the node's traffic to any address of its family rather than let probes fail.
void AppendKubeletProbes(const IpAddress& node, const CompileContext& context,
                         std::vector<TableEntry>* entries, std::vector<GenericFilter>* generic) {
  const char* kName = "kubelet-probes";
  std::vector<IpRange> mine;
  for (const PodInterface& itf : context.interfaces) {
    for (const InterfaceAddress& a : itf.addresses) {
      if (a.address.family() == node.family()) mine.push_back(IpRange::Single(a.address));
    }
  }
  if (mine.empty()) mine.push_back(IpRange::Full(node.family()));
  const IpRange node_range = IpRange::Single(node);
  for (const IpRange& me : mine) {
    entries->push_back(MakeEntry(kName, Direction::kInbound, node_range, me, kProtoTcp, {}, {}));
    entries->push_back(MakeEntry(kName, Direction::kOutbound, me, node_range, kProtoTcp, {}, {}));
  }
  Filter f;
  f.description = "kubelet health probes from the node";
  f.source = AddressSpec::Single(node);
  f.destination = AddressSpec::Me(node.family());
  f.protocol = kProtoTcp;
  f.mirrored = true;
  generic->push_back(MakeGeneric(kName, std::move(f)));
}

}  // namespace

void AppendExemptions(const Exemptions& exemptions, const CompileContext& context,
                      std::vector<TableEntry>* entries, std::vector<GenericFilter>* generic) {
  if (exemptions.ike) {
    for (const PortPattern& p : kIkePatterns) AppendPattern(p, entries, generic);
    AppendIpsecProtocol("esp", kProtoEsp, entries, generic);
    AppendIpsecProtocol("ah", kProtoAh, entries, generic);
  }
  if (exemptions.dns) {
    for (const PortPattern& p : kDnsPatterns) AppendPattern(p, entries, generic);
  }
  if (exemptions.netbios_name) {
    for (const PortPattern& p : kNetbiosPatterns) AppendPattern(p, entries, generic);
  }
  if (exemptions.kubelet_probes && context.node_address) {
    AppendKubeletProbes(*context.node_address, context, entries, generic);
  }
}

}  // namespace ipsec::engine::policy
