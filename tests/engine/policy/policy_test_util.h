#pragma once

// Builders shared by the policy tests: short ways to write addresses, filters and policies.

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/policy/compiler.h"
#include "engine/policy/model.h"

namespace ipsec::engine::policy::testing {

inline IpAddress Ip(std::string_view text) {
  auto a = IpAddress::Parse(text);
  EXPECT_TRUE(a.has_value()) << text;
  return a.value_or(IpAddress());
}

inline AddressSpec One(std::string_view text) { return AddressSpec::Single(Ip(text)); }

inline AddressSpec Net(std::string_view prefix) {
  auto p = ParsePrefix(prefix);
  EXPECT_TRUE(p.has_value()) << prefix;
  return AddressSpec::Subnet(p->first, p->second);
}

inline AddressSpec Span(std::string_view first, std::string_view last) {
  return AddressSpec::Range(Ip(first), Ip(last));
}

inline IpRange R(std::string_view text) {  // "a", "a/len" or "a-b"
  if (auto p = ParsePrefix(text)) return IpRange::FromPrefix(p->first, p->second);
  size_t dash = text.find('-');
  if (dash != std::string_view::npos) {
    return IpRange{Ip(text.substr(0, dash)), Ip(text.substr(dash + 1))};
  }
  return IpRange::Single(Ip(text));
}

inline Filter MakeFilter(AddressSpec source, AddressSpec destination,
                         std::optional<uint8_t> protocol = std::nullopt,
                         PortRange source_ports = {}, PortRange destination_ports = {},
                         bool mirrored = true) {
  Filter f;
  f.source = source;
  f.destination = destination;
  f.protocol = protocol;
  f.source_ports = source_ports;
  f.destination_ports = destination_ports;
  f.mirrored = mirrored;
  return f;
}

inline FilterAction MakeAction(std::string name, ActionType type) {
  FilterAction a;
  a.name = std::move(name);
  a.type = type;
  return a;
}

// A policy with the three standard actions "permit", "block" and "secure" and, unless a test
// turns them on, no exemptions, so tables hold only what the test adds.
inline Policy BasePolicy(std::string name = "test") {
  Policy p;
  p.name = std::move(name);
  p.filter_actions = {MakeAction("permit", ActionType::kPermit),
                      MakeAction("block", ActionType::kBlock),
                      MakeAction("secure", ActionType::kNegotiate)};
  p.exemptions = Exemptions{false, false, false, false};
  return p;
}

// Adds a filter list `name` and a rule `name` using it with `action`.
inline Rule& AddRule(Policy& p, const std::string& name, std::vector<Filter> filters,
                     const std::string& action) {
  p.filter_lists.push_back(FilterList{name, "", std::move(filters)});
  Rule r;
  r.name = name;
  r.filter_list = name;
  r.filter_action = action;
  p.rules.push_back(r);
  return p.rules.back();
}

// A pod with eth0 (10.99.1.2/24, fd00:99:1::2/64) and net1 (192.168.7.5/24).
inline CompileContext Pod() {
  CompileContext c;
  c.interfaces = {
      PodInterface{"eth0", {{Ip("10.99.1.2"), 24}, {Ip("fd00:99:1::2"), 64}}},
      PodInterface{"net1", {{Ip("192.168.7.5"), 24}}},
  };
  return c;
}

inline FilterTable CompileOk(const Policy& p, const CompileContext& c = Pod()) {
  Result<FilterTable> t = CompilePolicy(p, c);
  EXPECT_TRUE(t.ok()) << (t.ok() ? "" : t.error().ToString());
  return t.ok() ? std::move(t).value() : FilterTable{};
}

inline PacketKey Packet(Direction d, std::string_view src, std::string_view dst,
                        uint8_t protocol = 0, uint16_t sport = 0, uint16_t dport = 0,
                        std::string_view itf = "eth0") {
  PacketKey k;
  k.direction = d;
  k.interface = itf;
  k.source = Ip(src);
  k.destination = Ip(dst);
  k.protocol = protocol;
  k.source_port = sport;
  k.destination_port = dport;
  return k;
}

}  // namespace ipsec::engine::policy::testing
