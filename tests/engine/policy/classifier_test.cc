#include "engine/policy/classifier.h"

#include <gtest/gtest.h>

#include <random>
#include <thread>

#include "engine/policy/weights.h"
#include "tests/engine/policy/policy_test_util.h"

namespace ipsec::engine::policy {
namespace {

using namespace ::ipsec::engine::policy::testing;  // NOLINT: test builders

// "r" + std::to_string(i), spelled so GCC 12 raises no false -Wrestrict.
std::string Numbered(const char* prefix, int i) {
  std::string out = prefix;
  out += std::to_string(i);
  return out;
}

// ---- The reference: a linear scan with the rank rule of classifier.h --------------------

Classifier::Verdict Reference(const FilterTable& t, const PacketKey& p) {
  const TableEntry* best = nullptr;
  for (const TableEntry& e : t.entries) {
    if (!Matches(e, p)) continue;
    if (best == nullptr || e.weight > best->weight ||
        (e.weight == best->weight &&
         (e.action > best->action || (e.action == best->action && e.id < best->id)))) {
      best = &e;
    }
  }
  Classifier::Verdict v;
  v.entry = best;
  if (best == nullptr) return v;
  v.action = best->action;
  if (v.action == Action::kNegotiate && NeverSecured(t, p.destination)) {
    v.action = Action::kPermit;
    v.never_secured = true;
  }
  return v;
}

// ---- Behaviour -----------------------------------------------------------------------------

TEST(ClassifierTest, EmptyTablePermitsByDefault) {
  Classifier c(EmptyTable());
  Decision d = c.Classify(Packet(Direction::kOutbound, "10.0.0.1", "10.0.0.2", kProtoTcp, 1, 2));
  EXPECT_EQ(d.action, Action::kPermit);
  EXPECT_EQ(d.entry, nullptr);
  EXPECT_EQ(d.reason, "no filter matched: unmatched traffic is permitted (FAQ 6)");
}

Policy WebTier() {
  Policy p = BasePolicy("web-tier");
  AddRule(p, "db",
          {MakeFilter(AddressSpec::Me(), Net("10.99.2.0/24"), kProtoTcp, {},
                      PortRange::Single(5432))},
          "secure");
  AddRule(p, "allow-all", {MakeFilter(AddressSpec::Any(), AddressSpec::Any())}, "permit");
  AddRule(p, "no-telnet",
          {MakeFilter(AddressSpec::Any(), AddressSpec::Me(), kProtoTcp, {}, PortRange::Single(23),
                      false)},
          "block");
  return p;
}

TEST(ClassifierTest, MostSpecificEntryDecides) {
  Classifier c(CompileOk(WebTier()));
  Decision d =
      c.Classify(Packet(Direction::kOutbound, "10.99.1.2", "10.99.2.3", kProtoTcp, 40000, 5432));
  EXPECT_EQ(d.action, Action::kNegotiate);
  ASSERT_NE(d.entry, nullptr);
  EXPECT_EQ(d.reason, "matched rule 'db' (filter list 'db', filter 0), weight " +
                          std::to_string(d.entry->weight));
  // The reply matches the mirrored copy.
  d = c.Classify(Packet(Direction::kInbound, "10.99.2.3", "10.99.1.2", kProtoTcp, 5432, 40000));
  EXPECT_EQ(d.action, Action::kNegotiate);
  EXPECT_NE(d.reason.find("filter 0, mirrored copy), weight"), std::string::npos) << d.reason;
  // Another port of the db falls to the any <-> any permit.
  d = c.Classify(Packet(Direction::kOutbound, "10.99.1.2", "10.99.2.3", kProtoTcp, 40000, 5433));
  EXPECT_EQ(d.action, Action::kPermit);
  ASSERT_NE(d.entry, nullptr);
  EXPECT_EQ(d.entry->origin.rule, "allow-all");
  d = c.Classify(Packet(Direction::kInbound, "8.8.8.8", "192.168.7.5", kProtoTcp, 40000, 23));
  EXPECT_EQ(d.action, Action::kBlock);
  // Telnet from us is not inbound telnet.
  d = c.Classify(Packet(Direction::kOutbound, "192.168.7.5", "8.8.8.8", kProtoTcp, 40000, 23));
  EXPECT_EQ(d.action, Action::kPermit);
}

TEST(ClassifierTest, Ipv6Throughout) {
  Policy p = BasePolicy();
  AddRule(p, "v6-db", {MakeFilter(AddressSpec::Me(), Net("fd00:99:2::/64"))}, "secure");
  // Unmirrored and without "me": packets to fd00:99::/32 in either direction.
  AddRule(p, "v6-block",
          {MakeFilter(AddressSpec::Any(IpFamily::kV6), Net("fd00:99::/32"), {}, {}, {}, false)},
          "block");
  Classifier c(CompileOk(p));
  EXPECT_EQ(c.Classify(Packet(Direction::kOutbound, "fd00:99:1::2", "fd00:99:2::7")).action,
            Action::kNegotiate);
  EXPECT_EQ(c.Classify(Packet(Direction::kInbound, "fd00:99:2::7", "fd00:99:1::2")).action,
            Action::kNegotiate);
  EXPECT_EQ(c.Classify(Packet(Direction::kOutbound, "fd00:99:1::2", "fd00:99:3::7")).action,
            Action::kBlock);
  EXPECT_EQ(c.Classify(Packet(Direction::kOutbound, "fd00:99:1::2", "2001:db8::1")).entry,
            nullptr);
  // An IPv4 packet never meets IPv6 entries.
  EXPECT_EQ(c.Classify(Packet(Direction::kOutbound, "10.99.1.2", "10.99.2.7")).entry, nullptr);
}

TEST(ClassifierTest, EqualWeightTiesGoToTheMostRestrictive) {
  Policy p = BasePolicy();
  // Both match 10.0.0.1 -> 10.99.2.1 with address specificity 96 + 0.
  AddRule(p, "from-net", {MakeFilter(Net("10.0.0.0/24"), AddressSpec::Any(), {}, {}, {}, false)},
          "permit");
  AddRule(p, "to-net", {MakeFilter(AddressSpec::Any(), Net("10.99.2.0/24"), {}, {}, {}, false)},
          "block");
  Classifier c(CompileOk(p));
  Decision d = c.Classify(Packet(Direction::kOutbound, "10.0.0.1", "10.99.2.1"));
  EXPECT_EQ(d.action, Action::kBlock);
  EXPECT_EQ(d.entry->origin.rule, "to-net");
}

TEST(ClassifierTest, ReasonNamesOverriddenRules) {
  Policy p = BasePolicy();
  const Filter f = MakeFilter(AddressSpec::Me(IpFamily::kV4), One("10.7.0.1"));
  AddRule(p, "x", {f}, "permit");
  AddRule(p, "y", {f}, "block");
  Classifier c(CompileOk(p));
  Decision d = c.Classify(Packet(Direction::kOutbound, "10.99.1.2", "10.7.0.1"));
  EXPECT_EQ(d.action, Action::kBlock);
  EXPECT_NE(d.reason.find("matched rule 'y'"), std::string::npos) << d.reason;
  EXPECT_NE(d.reason.find("; overrode rule 'x' (permit)"), std::string::npos) << d.reason;
}

TEST(ClassifierTest, ReasonSummarisesManyOverridden) {
  Policy p = BasePolicy();
  const Filter f = MakeFilter(One("10.0.0.1"), One("10.7.0.1"), {}, {}, {}, false);
  for (int i = 0; i < 6; ++i) AddRule(p, Numbered("r", i), {f}, "permit");
  Classifier c(CompileOk(p));
  Decision d = c.Classify(Packet(Direction::kOutbound, "10.0.0.1", "10.7.0.1"));
  EXPECT_NE(d.reason.find("rule 'r3' (permit) and 2 more"), std::string::npos) << d.reason;
}

TEST(ClassifierTest, InterfacesRestrictEntries) {
  Policy p = BasePolicy();
  AddRule(p, "eth0-only", {MakeFilter(AddressSpec::Any(), AddressSpec::Any())}, "block")
      .connection_type = ConnectionType{false, {"eth0"}};
  Classifier c(CompileOk(p));
  EXPECT_EQ(c.Classify(Packet(Direction::kOutbound, "10.0.0.1", "10.0.0.2", 6, 1, 2, "eth0"))
                .action,
            Action::kBlock);
  EXPECT_EQ(c.Classify(Packet(Direction::kOutbound, "10.0.0.1", "10.0.0.2", 6, 1, 2, "net1"))
                .entry,
            nullptr);
  // An unknown interface matches only entries for every interface.
  EXPECT_EQ(c.Classify(Packet(Direction::kOutbound, "10.0.0.1", "10.0.0.2", 6, 1, 2, "")).entry,
            nullptr);
}

TEST(ClassifierTest, MulticastAndBroadcastAreNeverSecured) {
  Policy p = BasePolicy();
  AddRule(p, "secure-all", {MakeFilter(AddressSpec::Any(), AddressSpec::Any())}, "secure");
  Classifier c(CompileOk(p));
  for (std::string_view dst : {"224.0.0.251", "239.255.255.250", "255.255.255.255",
                               "10.99.1.255", "192.168.7.255"}) {
    Decision d = c.Classify(Packet(Direction::kOutbound, "10.99.1.2", dst, kProtoUdp, 5353, 5353));
    EXPECT_EQ(d.action, Action::kPermit) << dst;
    ASSERT_NE(d.entry, nullptr);
    EXPECT_EQ(d.entry->origin.rule, "secure-all");
    EXPECT_NE(d.reason.find("IPsec never secures multicast or broadcast traffic (FAQ 21)"),
              std::string::npos)
        << d.reason;
    Classifier::Verdict v = c.Lookup(Packet(Direction::kOutbound, "10.99.1.2", dst));
    EXPECT_TRUE(v.never_secured);
  }
  Decision d = c.Classify(Packet(Direction::kOutbound, "fd00:99:1::2", "ff02::fb"));
  EXPECT_EQ(d.action, Action::kPermit);
  EXPECT_NE(d.reason.find("ff02::fb is multicast"), std::string::npos) << d.reason;
  // Unicast, including the network address of the pod's subnet, is secured.
  EXPECT_EQ(c.Classify(Packet(Direction::kOutbound, "10.99.1.2", "10.99.1.0")).action,
            Action::kNegotiate);
  EXPECT_EQ(c.Classify(Packet(Direction::kInbound, "10.99.1.9", "10.99.1.2")).action,
            Action::kNegotiate);
}

TEST(ClassifierTest, BlockedMulticastStaysBlocked) {
  Policy p = BasePolicy();
  AddRule(p, "secure-all", {MakeFilter(AddressSpec::Any(), AddressSpec::Any())}, "secure");
  AddRule(p, "no-mcast", {MakeFilter(AddressSpec::Any(), Net("224.0.0.0/4"), {}, {}, {}, false)},
          "block");
  Classifier c(CompileOk(p));
  Decision d = c.Classify(Packet(Direction::kOutbound, "10.99.1.2", "224.0.0.251"));
  EXPECT_EQ(d.action, Action::kBlock);
  EXPECT_EQ(d.entry->origin.rule, "no-mcast");
}

TEST(ClassifierTest, MixedFamilyPacketMatchesNothing) {
  Policy p = BasePolicy();
  AddRule(p, "all", {MakeFilter(AddressSpec::Any(), AddressSpec::Any())}, "block");
  Classifier c(CompileOk(p));
  PacketKey k = Packet(Direction::kOutbound, "10.0.0.1", "fd00::1");
  EXPECT_EQ(c.Classify(k).entry, nullptr);
}

TEST(ClassifierTest, HandBuiltTableRanksByWeightNotId) {
  FilterTable t;
  TableEntry low;
  low.id = 1;
  low.source = IpRange::Full(IpFamily::kV4);
  low.destination = IpRange::Full(IpFamily::kV4);
  low.action = Action::kBlock;
  low.weight = 5;
  TableEntry high = low;
  high.id = 2;
  high.action = Action::kPermit;
  high.weight = 9;
  t.entries = {low, high};
  Classifier c(std::move(t));
  EXPECT_EQ(c.Classify(Packet(Direction::kOutbound, "1.2.3.4", "5.6.7.8")).entry->id, 2u);
}

// Large enough that the index's tables take the huge-page allocation path.
TEST(ClassifierTest, LargeTable) {
  Policy p = BasePolicy();
  std::vector<Filter> filters;
  for (uint32_t i = 0; i < 70000; ++i) {
    filters.push_back(MakeFilter(AddressSpec::Me(IpFamily::kV4),
                                 AddressSpec::Single(IpAddress::V4(0x0b000000u + i)), {}, {}, {},
                                 false));
  }
  AddRule(p, "many", std::move(filters), "secure");
  CompileContext ctx;
  ctx.interfaces = {PodInterface{"eth0", {{Ip("10.99.1.2"), 24}}}};
  Classifier c(CompileOk(p, ctx));
  ASSERT_EQ(c.table().entries.size(), 70000u);
  for (uint32_t i = 0; i < 70000; i += 997) {
    PacketKey k = Packet(Direction::kOutbound, "10.99.1.2", "0.0.0.0");
    k.destination = IpAddress::V4(0x0b000000u + i);
    Decision d = c.Classify(k);
    ASSERT_NE(d.entry, nullptr);
    EXPECT_EQ(d.entry->destination.first, k.destination);
    EXPECT_EQ(d.action, Action::kNegotiate);
  }
  EXPECT_EQ(c.Classify(Packet(Direction::kOutbound, "10.99.1.2", "12.0.0.0")).entry, nullptr);
}

// ---- Randomized comparison with the reference -----------------------------------------------

class RandomTables {
 public:
  explicit RandomTables(uint32_t seed) : rng_(seed) {}

  // Addresses come from small pools so that entries overlap and packets hit them.
  IpAddress Address(IpFamily f) {
    if (f == IpFamily::kV4) return IpAddress::V4(0x0a000000u | Pick(0, 0x3ff));
    return IpAddress(IpFamily::kV6, (Uint128{0xfd00} << 112) | Pick(0, 0x3ff));
  }
  IpRange Range(IpFamily f) {
    switch (Pick(0, 9)) {
      case 0:
        return IpRange::Full(f);
      case 1:
      case 2:
      case 3:
        return IpRange::Single(Address(f));
      case 4:
      case 5:
      case 6:
        return IpRange::FromPrefix(Address(f), FamilyBits(f) - static_cast<int>(Pick(1, 12)));
      default: {
        IpAddress a = Address(f), b = Address(f);
        if (b < a) std::swap(a, b);
        return IpRange{a, b};
      }
    }
  }
  PortRange Ports() {
    switch (Pick(0, 3)) {
      case 0:
        return PortRange::Single(static_cast<uint16_t>(Pick(0, 20)));
      case 1: {
        uint16_t a = static_cast<uint16_t>(Pick(0, 20)), b = static_cast<uint16_t>(Pick(0, 20));
        return PortRange{std::min(a, b), std::max(a, b)};
      }
      default:
        return PortRange{};
    }
  }
  TableEntry Entry(uint32_t id) {
    TableEntry e;
    e.id = id;
    const IpFamily f = Pick(0, 1) ? IpFamily::kV4 : IpFamily::kV6;
    e.direction = Pick(0, 1) ? Direction::kOutbound : Direction::kInbound;
    e.source = Range(f);
    e.destination = Range(f);
    const uint32_t proto = Pick(0, 3);
    if (proto > 0) e.protocol = proto == 1 ? kProtoTcp : proto == 2 ? kProtoUdp : kProtoIcmp;
    if (e.protocol && ProtocolHasPorts(*e.protocol)) {
      e.source_ports = Ports();
      e.destination_ports = Ports();
    }
    const uint32_t itf = Pick(0, 5);
    if (itf == 1) e.interfaces = {"eth0"};
    if (itf == 2) e.interfaces = {"eth0", "net1"};
    e.action = static_cast<Action>(Pick(0, 2));
    // Real weights, and sometimes a coarse one so that many entries tie.
    e.weight = Pick(0, 3) == 0 ? Pick(0, 3)
                               : EntryWeight(kRuleTier, e.source, e.destination, e.protocol,
                                             e.source_ports, e.destination_ports);
    return e;
  }
  FilterTable Table(size_t n) {
    FilterTable t;
    for (size_t i = 0; i < n; ++i) t.entries.push_back(Entry(static_cast<uint32_t>(i + 1)));
    // Ids in random order: the classifier must rank by weight and action, not by position.
    std::shuffle(t.entries.begin(), t.entries.end(), rng_);
    t.broadcast_addresses = {IpAddress::V4(0x0a0000ffu)};
    return t;
  }
  PacketKey Packet(const FilterTable& t) {
    PacketKey p;
    IpFamily f = Pick(0, 1) ? IpFamily::kV4 : IpFamily::kV6;
    p.direction = Pick(0, 1) ? Direction::kOutbound : Direction::kInbound;
    p.source = Address(f);
    p.destination = Address(f);
    if (Pick(0, 1) && !t.entries.empty()) {  // aim at an entry
      const TableEntry& e = t.entries[Pick(0, static_cast<uint32_t>(t.entries.size() - 1))];
      p.direction = e.direction;
      p.source = Inside(e.source);
      p.destination = Inside(e.destination);
    }
    if (Pick(0, 20) == 0 && p.destination.is_v4()) p.destination = Ip("224.0.0.5");
    if (Pick(0, 20) == 0 && p.destination.is_v4()) p.destination = IpAddress::V4(0x0a0000ffu);
    const uint32_t proto = Pick(0, 3);
    p.protocol = proto == 0 ? kProtoTcp : proto == 1 ? kProtoUdp : proto == 2 ? kProtoIcmp : 47;
    if (ProtocolHasPorts(p.protocol)) {
      p.source_port = static_cast<uint16_t>(Pick(0, 22));
      p.destination_port = static_cast<uint16_t>(Pick(0, 22));
    }
    const uint32_t itf = Pick(0, 3);
    p.interface = itf == 0 ? "eth0" : itf == 1 ? "net1" : itf == 2 ? "" : "lo";
    return p;
  }

 private:
  uint32_t Pick(uint32_t lo, uint32_t hi) {
    return std::uniform_int_distribution<uint32_t>(lo, hi)(rng_);
  }
  IpAddress Inside(const IpRange& r) {
    const Uint128 span = r.last.value() - r.first.value();
    const uint64_t offset = rng_() % (static_cast<uint64_t>(std::min<Uint128>(span, 1u << 30)) + 1);
    return IpAddress(r.family(), r.first.value() + offset);
  }
  std::mt19937_64 rng_;
};

void ExpectSameAsReference(const Classifier& c, RandomTables& gen, int packets,
                           bool expect_matches = true) {
  int matched = 0;
  for (int i = 0; i < packets; ++i) {
    const PacketKey p = gen.Packet(c.table());
    const Classifier::Verdict want = Reference(c.table(), p);
    const Classifier::Verdict got = c.Lookup(p);
    ASSERT_EQ(got.entry, want.entry)
        << "packet " << i << ": " << Name(p.direction) << " " << p.source.ToString() << " -> "
        << p.destination.ToString() << " proto " << int{p.protocol} << " ports "
        << p.source_port << "->" << p.destination_port << " itf '" << p.interface << "': got id "
        << (got.entry ? got.entry->id : 0) << ", want id " << (want.entry ? want.entry->id : 0);
    ASSERT_EQ(got.action, want.action);
    ASSERT_EQ(got.never_secured, want.never_secured);
    matched += want.entry != nullptr;
  }
  if (expect_matches) {
    EXPECT_GT(matched, packets / 4);  // the comparison met real matches
  }
}

TEST(ClassifierRandomTest, AgreesWithLinearReference) {
  for (uint32_t seed : {1u, 2u, 3u, 4u}) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    RandomTables gen(seed);
    Classifier c(gen.Table(4000));
    ExpectSameAsReference(c, gen, 5000);
  }
}

TEST(ClassifierRandomTest, AgreesOnSmallTables) {
  for (uint32_t seed = 100; seed < 140; ++seed) {
    RandomTables gen(seed);
    Classifier c(gen.Table(seed % 7 * 3));
    ExpectSameAsReference(c, gen, 200, /*expect_matches=*/false);
  }
}

TEST(ClassifierRandomTest, AgreesOnCompiledPolicies) {
  std::mt19937 rng(7);
  RandomTables gen(8);
  Policy p = BasePolicy();
  p.exemptions = Exemptions{};
  const char* actions[] = {"permit", "block", "secure"};
  for (int r = 0; r < 40; ++r) {
    std::vector<Filter> filters;
    for (int f = 0; f < 25; ++f) {
      const IpFamily fam = rng() % 2 ? IpFamily::kV4 : IpFamily::kV6;
      const IpRange dst = gen.Range(fam);
      AddressSpec src = rng() % 3 == 0 ? AddressSpec::Me() : AddressSpec::Range(
                                                                 gen.Address(fam), gen.Address(fam));
      if (src.kind == AddressKind::kRange && src.range.last < src.range.first) {
        std::swap(src.range.first, src.range.last);
      }
      Filter filter = MakeFilter(src, AddressSpec::Range(dst.first, dst.last));
      if (rng() % 2) {
        filter.protocol = kProtoTcp;
        filter.destination_ports = gen.Ports();
      }
      filter.mirrored = rng() % 2;
      filters.push_back(filter);
    }
    // Securing can only be asked of unicast ranges; our pools are unicast.
    AddRule(p, Numbered("r", r), std::move(filters), actions[rng() % 3]);
  }
  CompileContext ctx = Pod();
  ctx.interfaces[0].addresses.push_back({IpAddress::V4(0x0a000005u), 22});
  ctx.interfaces[0].addresses.push_back({IpAddress(IpFamily::kV6, (Uint128{0xfd00} << 112) | 5),
                                         64});
  ctx.node_address = IpAddress::V4(0x0a000001u);
  Classifier c(CompileOk(p, ctx));
  EXPECT_GT(c.table().entries.size(), 1000u);
  EXPECT_GT(c.table().conflicts_resolved, 0u);
  ExpectSameAsReference(c, gen, 20000);
}

TEST(ClassifierRandomTest, ConcurrentLookupsAgree) {
  RandomTables gen(99);
  Classifier c(gen.Table(2000));
  std::vector<PacketKey> packets;
  for (int i = 0; i < 2000; ++i) packets.push_back(gen.Packet(c.table()));
  std::vector<const TableEntry*> expected;
  for (const PacketKey& p : packets) expected.push_back(c.Lookup(p).entry);
  std::vector<std::thread> threads;
  std::vector<int> mismatches(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 5; ++round) {
        for (size_t i = 0; i < packets.size(); ++i) {
          mismatches[t] += c.Classify(packets[i]).entry != expected[i];
        }
      }
    });
  }
  for (std::thread& th : threads) th.join();
  for (int m : mismatches) EXPECT_EQ(m, 0);
}

}  // namespace
}  // namespace ipsec::engine::policy
