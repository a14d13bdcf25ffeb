#include "fuzz/ike_state_harness.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <set>

#include "engine/ike/codec/header.h"
#include "engine/ike/codec/message.h"
#include "engine/ike/ike_sa.h"
#include "fuzz/ike_fuzz_keys.h"

namespace ipsec::fuzz {
namespace {

namespace codec = engine::ike::codec;
namespace policy = engine::policy;
using engine::dataplane::SaDirection;
using engine::dataplane::SaProtocol;
using testing::Datagram;
using testing::IkePeer;

constexpr const char* kRule = "r";
constexpr uint32_t kFilterEntry = 1;

policy::SecurityMethod Bundle() {
  policy::SecurityMethod m;  // AES-GCM-16-128 ESP under AH (HMAC-SHA-256-128)
  m.protocol = policy::IpsecProtocol::kAhEsp;
  m.ah_integrity = policy::IntegrityAlgorithm::kHmacSha256_128;
  return m;
}

uint64_t SpiOf(const std::string& hex) { return std::strtoull(hex.c_str(), nullptr, 16); }

// What an unauthentic datagram must not change of an IKE SA with keys.
struct SaState {
  std::string state;
  uint32_t message_id_out = 0;
  uint32_t message_id_in = 0;
  std::vector<uint32_t> child_spis;
  bool operator==(const SaState&) const = default;
};

std::string Describe(const SaState& s) {
  std::string out = s.state + " out=" + std::to_string(s.message_id_out) +
                    " in=" + std::to_string(s.message_id_in) + " children:";
  for (uint32_t spi : s.child_spis) out += " " + std::to_string(spi);
  return out;
}

}  // namespace

StateHarness::StateHarness(Scenario scenario) : scenario_(scenario) {
  auto a = testing::SimpleConfig("10.1.0.1", "10.2.0.1", "secret");
  auto b = testing::SimpleConfig("10.2.0.1", "10.1.0.1", "secret");
  for (auto* c : {a.get(), b.get()}) {
    c->rules[0].filter_entries = {kFilterEntry};
    switch (scenario) {
      case Scenario::kTransport:
        c->rules[0].tunnel_endpoint.reset();
        break;
      case Scenario::kBundle:
        c->rules[0].security_methods = {Bundle()};
        break;
      case Scenario::kPfsChildLimit:
        c->rules[0].session_key_pfs = true;
        c->max_child_sas = 2;
        break;
      default:
        break;
    }
  }
  if (scenario == Scenario::kBundleRefused) a->rules[0].security_methods = {Bundle()};
  if (scenario == Scenario::kNat) net_.PutABehindNat();
  net_.a.manager->SetConfig(a);
  net_.b.manager->SetConfig(b);
  for (IkePeer* p : {&net_.a, &net_.b}) {
    p->observer.on_sa = [this](const engine::ike::IkeSa& sa) {
      if (!sa.HasKeys()) return;
      auto key = std::make_pair(sa.spi_i, sa.spi_r);
      if (keys_.count(key) > 0) return;
      const auto& alg = sa.algorithms;
      keys_.emplace(key,
                    SaKeys{codec::SkKeys::FromKeymat(alg.encryption, alg.encryption_key_bits,
                                                     sa.keys.sk_ei, alg.integrity, sa.keys.sk_ai),
                           codec::SkKeys::FromKeymat(alg.encryption, alg.encryption_key_bits,
                                                     sa.keys.sk_er, alg.integrity, sa.keys.sk_ar)});
    };
  }
  // What the peers send to each other is theirs: authentic.
  net_.deliver = [this](IkePeer&, const Datagram& d) { Deliver(d, /*authentic=*/true); };
}

void StateHarness::Fail(const std::string& what) {
  std::fprintf(stderr, "ike_state invariant broken after step %llu (scenario %d): %s\n",
               static_cast<unsigned long long>(steps_), static_cast<int>(scenario_), what.c_str());
  for (IkePeer* p : {&net_.a, &net_.b}) {
    std::fprintf(stderr, "--- peer %s log (last 40 lines)\n", p->address.ToString().c_str());
    const auto& log = p->observer.log;
    for (size_t i = log.size() > 40 ? log.size() - 40 : 0; i < log.size(); ++i) {
      std::fprintf(stderr, "  %s\n", log[i].c_str());
    }
    std::fprintf(stderr, "--- peer %s data path calls (last 40)\n", p->address.ToString().c_str());
    const auto calls = p->backend.CallLog();
    for (size_t i = calls.size() > 40 ? calls.size() - 40 : 0; i < calls.size(); ++i) {
      std::fprintf(stderr, "  %s\n", calls[i].c_str());
    }
  }
  std::abort();
}

void StateHarness::Run(ByteSpan operations) {
  auto id = net_.a.manager->Initiate(kRule, net_.a.endpoint(), net_.b.endpoint(), net_.now);
  if (!id.ok()) Fail("A cannot initiate: " + id.error().ToString());
  Check();
  ProgramReader in(operations);
  // Bounded work per input: a program of 4 KiB makes at most this many operations.
  for (int n = 0; n < 512 && !in.done(); ++n) {
    Apply(static_cast<Op>(in.Next() % static_cast<uint8_t>(Op::kCount)), in);
    Check();
  }
}

Datagram StateHarness::Routed(Datagram d) const {
  if (net_.nat) net_.nat(d);
  return d;
}

const Datagram* StateHarness::SentAt(uint8_t k) {
  if (net_.sent_log.empty()) return nullptr;
  return &net_.sent_log[k % net_.sent_log.size()];
}

void StateHarness::Apply(Op op, ProgramReader& in) {
  auto& wire = net_.wire;
  switch (op) {
    case Op::kStep:
      net_.DeliverOne();
      break;
    case Op::kDeliverAll:
      net_.DeliverAll(64);
      break;
    case Op::kDrop:
      if (!wire.empty()) wire.pop_front();
      break;
    case Op::kDuplicate:
      if (!wire.empty()) {
        Datagram copy = wire.front();
        Deliver(copy, true);
      }
      break;
    case Op::kSwap:
      if (wire.size() >= 2) std::swap(wire[0], wire[1]);
      break;
    case Op::kReplay:
      if (const Datagram* d = SentAt(in.Next())) Deliver(Routed(*d), true);
      break;
    case Op::kMutate: {
      const Datagram* d = SentAt(in.Next());
      const int n = in.Next() % 8 + 1;
      if (d == nullptr) break;
      Datagram m = Routed(*d);
      for (int i = 0; i < n; ++i) {
        const uint8_t pos = in.Next();
        const uint8_t value = in.Next();
        if (m.data.empty()) break;
        // Half the positions fall in the 28 header octets (SPIs, exchange, flags, message ID).
        const size_t at =
            pos < 128 ? pos % std::min<size_t>(m.data.size(), 28) : (pos * 7u) % m.data.size();
        m.data[at] = value;
      }
      if (n == 8 && !m.data.empty()) m.data.resize(m.data.size() - 1 - in.Next() % m.data.size());
      Deliver(m, m.data == Routed(*d).data);
      break;
    }
    case Op::kReencrypt: {
      const Datagram* d = SentAt(in.Next());
      if (d != nullptr) {
        Datagram copy = Routed(*d);
        Reencrypt(copy, in);
      }
      break;
    }
    case Op::kAdvance:
      net_.Advance(std::chrono::milliseconds(1ll << (in.Next() % 22)));
      break;
    case Op::kRun:
      net_.Run(std::chrono::milliseconds(1ll << (in.Next() % 22)));
      break;
    case Op::kRekey:
    case Op::kDelete: {
      IkePeer& p = Peer(in.Next());
      const uint8_t i = in.Next();
      auto ids = SaIds(p, false);
      if (ids.empty()) break;
      const std::string& id = ids[i % ids.size()];
      (void)(op == Op::kRekey ? p.manager->Rekey(id, net_.now) : p.manager->Delete(id, net_.now));
      break;
    }
    case Op::kInitiateChild: {
      IkePeer& p = Peer(in.Next());
      const uint8_t i = in.Next();
      auto ids = SaIds(p, true);
      if (!ids.empty()) (void)p.manager->InitiateChild(ids[i % ids.size()], kRule, net_.now);
      break;
    }
    case Op::kInitiate: {
      IkePeer& p = Peer(in.Next());
      (void)p.manager->Initiate(kRule, p.endpoint(), Other(p).endpoint(), net_.now);
      break;
    }
    case Op::kAcquire: {
      IkePeer& p = Peer(in.Next());
      const uint8_t proto = in.Next();
      engine::dataplane::BackendEvents::Acquire a;
      a.source = p.address;
      a.destination = Other(p).address;
      if (proto & 1) std::swap(a.source, a.destination);  // unsecured inbound (FAQ 17)
      a.protocol = static_cast<uint8_t>(proto & 2 ? 17 : 0);
      a.source_port = a.protocol == 17 ? 4000 : 0;
      a.destination_port = a.protocol == 17 ? 5000 : 0;
      a.filter_entry = proto & 4 ? kFilterEntry + 1 : kFilterEntry;
      (void)p.backend.FireAcquire(a);
      break;
    }
    case Op::kExpire: {
      IkePeer& p = Peer(in.Next());
      const uint8_t i = in.Next();
      const bool hard = in.Next() % 2 == 1;
      auto sas = p.backend.Sas();
      if (!sas.empty()) {
        const auto& sa = sas[i % sas.size()];
        (void)p.backend.FireExpire(sa.protocol, sa.spi, hard);
      }
      break;
    }
    case Op::kForge:
      Forge(Peer(in.Next()), in);
      break;
    case Op::kCount:
      break;
  }
}

void StateHarness::Reencrypt(const Datagram& original, ProgramReader& in) {
  const uint8_t mode = in.Next();
  auto message = codec::DecodeMessage(original.data);
  if (!message.ok() || !message->encrypted || message->encrypted->type != codec::PayloadType::kSk) {
    return;
  }
  const codec::Header& h = message->header;
  auto it = keys_.find({h.initiator_spi, h.responder_spi});
  if (it == keys_.end()) return;
  const codec::SkKeys& keys =
      h.flags & codec::kFlagInitiator ? it->second.from_initiator : it->second.from_responder;
  auto plain = codec::DecryptProtected(original.data, *message, keys);
  if (!plain.ok()) Fail("a datagram a peer sent does not decrypt with its SA's keys");
  Bytes inner = *plain;
  codec::Header header = h;
  codec::PayloadType first = message->encrypted->first_inner;
  switch (mode % 4) {
    case 0: {  // octets overwritten
      const int n = in.Next() % 8 + 1;
      for (int i = 0; i < n && !inner.empty(); ++i) {
        const uint8_t pos = in.Next();
        inner[(pos * 5u) % inner.size()] = in.Next();
      }
      break;
    }
    case 1: {  // content replaced by the program's octets
      const int n = in.Next();
      inner.clear();
      for (int i = 0; i < n; ++i) inner.push_back(in.Next());
      first = static_cast<codec::PayloadType>(in.Next());
      break;
    }
    case 2:  // cut short
      inner.resize(inner.size() - std::min<size_t>(inner.size(), in.Next() % 64 + 1));
      break;
    case 3:  // the same content under another message ID, exchange or flags
      header.message_id += static_cast<int8_t>(in.Next());
      if (in.Next() & 1) header.flags ^= codec::kFlagResponse;
      if (in.Next() & 1) {
        header.exchange_type = static_cast<codec::ExchangeType>(34 + in.Next() % 4);
      }
      break;
  }
  FuzzRandom random;
  auto wire = codec::EncodeProtected(header, first, inner, keys, random);
  if (!wire.ok()) return;
  Datagram d = original;
  d.data = std::move(*wire);
  Deliver(d, /*authentic=*/true);
}

void StateHarness::Forge(IkePeer& to, ProgramReader& in) {
  const auto sas = to.manager->Snapshot(net_.now);
  const uint8_t which = in.Next();
  const uint32_t message_id = in.Next();
  const uint8_t kind = in.Next();
  if (sas.empty()) return;
  const auto& sa = sas[which % sas.size()];
  codec::Message m;
  m.header.initiator_spi = SpiOf(sa.spi_i);
  m.header.responder_spi = SpiOf(sa.spi_r);
  m.header.exchange_type = static_cast<codec::ExchangeType>(34 + kind % 4);
  // As the other side would send it: its role's Initiator flag, request or response.
  const bool from_original_initiator = sa.role == "responder";
  m.header.flags = static_cast<uint8_t>((from_original_initiator ? codec::kFlagInitiator : 0) |
                                        (kind & 4 ? codec::kFlagResponse : 0));
  m.header.message_id = kind & 8 ? sa.message_id_in : message_id;
  m.payloads.push_back(
      {codec::PayloadType::kNotify, false,
       codec::Payload(codec::MakeNotify(kind & 16 ? codec::NotifyType::kInitialContact
                                                  : codec::NotifyType::kInvalidSpi))});
  if (kind & 32) {
    codec::DeletePayload del;
    del.protocol = codec::ProtocolId::kIke;
    m.payloads.push_back({codec::PayloadType::kDelete, false, codec::Payload(del)});
  }
  const uint16_t port = kind & 64 ? 4500 : 500;
  Datagram d{Other(to).endpoint(port), to.endpoint(port), codec::EncodeMessage(m)};
  Deliver(d, /*authentic=*/false);
}

std::vector<std::string> StateHarness::SaIds(IkePeer& p, bool ike_only) {
  std::vector<std::string> ids;
  for (const auto& sa : p.manager->Snapshot(net_.now)) {
    ids.push_back(sa.id);
    if (ike_only) continue;
    for (const auto& c : sa.children) ids.push_back(c.id);
  }
  return ids;
}

void StateHarness::Deliver(const Datagram& d, bool authentic) {
  IkePeer& to = net_.PeerAt(d.to.address);
  ++steps_;
  // The receiver's IKE SAs that have keys: an unauthentic datagram must change none of them.
  std::map<std::string, SaState> before;
  const int downs = to.observer.ike_down, child_downs = to.observer.child_down;
  if (!authentic) {
    for (const auto& sa : to.manager->Snapshot(net_.now)) {
      if (keys_.count({SpiOf(sa.spi_i), SpiOf(sa.spi_r)}) == 0) continue;
      SaState s{sa.state, sa.message_id_out, sa.message_id_in, {}};
      for (const auto& c : sa.children) s.child_spis.push_back(c.spi_in);
      before.emplace(sa.id, std::move(s));
    }
  }
  to.manager->OnDatagram(d.to, d.from, d.data, net_.now);
  if (authentic) return;
  std::map<std::string, SaState> after;
  for (const auto& sa : to.manager->Snapshot(net_.now)) {
    SaState s{sa.state, sa.message_id_out, sa.message_id_in, {}};
    for (const auto& c : sa.children) s.child_spis.push_back(c.spi_in);
    after.emplace(sa.id, std::move(s));
  }
  for (const auto& [id, s] : before) {
    auto it = after.find(id);
    if (it == after.end()) Fail(id + " (" + Describe(s) + ") removed by an unauthentic datagram");
    if (!(it->second == s)) {
      Fail(id + " changed by an unauthentic datagram: " + Describe(s) + " -> " +
           Describe(it->second));
    }
  }
  if (to.observer.ike_down != downs || to.observer.child_down != child_downs) {
    Fail("an SA went down on an unauthentic datagram: " + to.observer.last_down_reason);
  }
}

void StateHarness::Check() {
  CheckPeer(net_.a);
  CheckPeer(net_.b);
}

void StateHarness::CheckPeer(IkePeer& p) {
  const std::string who = "peer " + p.address.ToString() + ": ";
  if (std::string diff = p.manager->CheckAdmission(); !diff.empty()) {
    Fail(who + "admission bookkeeping differs from the SA table: " + diff);
  }
  const auto config = p.manager->config();
  const auto& rule = config->rules[0];
  std::set<std::pair<SaProtocol, uint32_t>> listed;
  for (const auto& sa : p.manager->Snapshot(net_.now)) {
    for (const auto& c : sa.children) {
      if (c.rule != kRule) Fail(who + c.id + " of rule '" + c.rule + "'");
      for (uint32_t spi : {c.spi_in, c.spi_out}) listed.insert({SaProtocol::kEsp, spi});
      for (uint32_t spi : {c.ah_spi_in, c.ah_spi_out}) listed.insert({SaProtocol::kAh, spi});
    }
  }
  const bool ah_allowed = scenario_ == Scenario::kBundle;
  for (const auto& sa : p.backend.Sas()) {
    const std::string name = std::string(sa.protocol == SaProtocol::kAh ? "AH" : "ESP") + " SA " +
                             std::to_string(sa.spi) +
                             (sa.direction == SaDirection::kInbound ? " in" : " out");
    if (listed.count({sa.protocol, sa.spi}) == 0) {
      Fail(who + name + " is in the data path but belongs to no child SA the engine lists");
    }
    if (sa.protocol == SaProtocol::kAh && !ah_allowed) Fail(who + name + ": AH not negotiated");
    if (sa.rule != kRule) Fail(who + name + " of rule '" + sa.rule + "'");
    // RFC 7296 §2.9: inside the rule's traffic (one pair: local -> remote).
    const auto& traffic = rule.traffic[0];
    for (const auto& ts : sa.local_ts) {
      if (!ts.addresses.ContainedIn(traffic.local.addresses)) {
        Fail(who + name + ": local selector " + ts.addresses.ToString() + " outside the rule");
      }
    }
    for (const auto& ts : sa.remote_ts) {
      if (!ts.addresses.ContainedIn(traffic.remote.addresses)) {
        Fail(who + name + ": remote selector " + ts.addresses.ToString() + " outside the rule");
      }
    }
  }
}

void StateHarness::Teardown() {
  net_.DeliverAll(10000);
  for (int round = 0; round < 3; ++round) {
    net_.a.manager->DeleteAll(net_.now);
    net_.b.manager->DeleteAll(net_.now);
    Check();
    // Every exchange completes or runs out of retransmissions; half-open SAs expire.
    net_.Run(std::chrono::hours(1));
    Check();
    if (net_.a.manager->sa_count() == 0 && net_.b.manager->sa_count() == 0) break;
  }
  for (IkePeer* p : {&net_.a, &net_.b}) {
    const std::string who = "peer " + p->address.ToString() + " after teardown: ";
    if (p->manager->sa_count() != 0) {
      std::string left;
      for (const auto& sa : p->manager->Snapshot(net_.now)) {
        left += " " + sa.id + " (" + sa.state + ", " + sa.role + ", " + sa.remote +
                ", out=" + std::to_string(sa.message_id_out) +
                ", in=" + std::to_string(sa.message_id_in) + ", " +
                std::to_string(sa.children.size()) + " child SAs" +
                (sa.failure.empty() ? "" : ", " + sa.failure) + ")";
      }
      Fail(who + std::to_string(p->manager->sa_count()) + " IKE SAs left:" + left);
    }
    if (!p->backend.Sas().empty()) {
      Fail(who + std::to_string(p->backend.Sas().size()) + " SAs left in the data path");
    }
    if (!p->backend.ReservedSpis().empty()) {
      Fail(who + std::to_string(p->backend.ReservedSpis().size()) +
           " SPIs allocated, neither installed nor released");
    }
    if (!p->backend.Policies().empty()) {
      Fail(who + std::to_string(p->backend.Policies().size()) + " policies left");
    }
  }
}

Bytes SeedProgram(Scenario scenario, bool extras) {
  auto op = [](Op o) { return static_cast<uint8_t>(o); };
  Bytes p = {static_cast<uint8_t>(scenario)};
  auto add = [&p](std::initializer_list<uint8_t> octets) {
    p.insert(p.end(), octets.begin(), octets.end());
  };
  // IKE_SA_INIT request and response, IKE_AUTH request and response.
  add({op(Op::kStep), op(Op::kStep)});
  if (extras) add({op(Op::kReplay), 0, op(Op::kMutate), 1, 1, 40, 0xff});
  add({op(Op::kStep), op(Op::kStep)});
  if (extras) add({op(Op::kReplay), 2, op(Op::kReencrypt), 2, 3, 1, 0, 0});
  // Child SA rekeys from each side (CREATE_CHILD_SA, INFORMATIONAL Delete).
  add({op(Op::kRekey), 0, 1, op(Op::kDeliverAll), op(Op::kRekey), 1, 1, op(Op::kDeliverAll)});
  if (extras) add({op(Op::kForge), 0, 0, 32, op(Op::kReencrypt), 6, 0, 2, 9, 0x29, 20, 0});
  // A further child SA, then an IKE SA rekey, an acquire, time passing.
  add({op(Op::kInitiateChild), 0, 0, op(Op::kDeliverAll), op(Op::kRekey), 1, 0, op(Op::kDeliverAll),
       op(Op::kAcquire), 0, 2, op(Op::kDeliverAll), op(Op::kRun), 16});
  // Delete a child SA, then the IKE SA.
  add({op(Op::kDelete), 0, 1, op(Op::kDeliverAll), op(Op::kDelete), 1, 0, op(Op::kDeliverAll)});
  return p;
}

}  // namespace ipsec::fuzz
