#include "tests/support/ike_peers.h"

#include "engine/policy/templates.h"

namespace ipsec::testing {

using engine::ike::IkeManager;

IkePeer::IkePeer(TwoPeers& link, std::string addr, uint64_t seed)
    : address(*IpAddress::Parse(addr)),
      random(seed),
      // SPIs from a block of the seed's (not of the process's count of backends), so a run
      // exchanges the same bytes however many ran before it in the process.
      backend(engine::dataplane::RecordingBackend::Options{static_cast<uint32_t>(seed << 16)}),
      link_(link) {
  IkeManager::Options o;
  o.random = &random;
  o.observer = &observer;
  o.sink = this;
  o.backend = &backend;
  o.clock = &clock;
  manager = std::make_unique<IkeManager>(o);
  backend.SetEvents(&events_);
}

void IkePeer::Events::OnAcquire(const Acquire& acquire) {
  (void)peer_.manager->OnAcquire(acquire, peer_.link_.now);
}

void IkePeer::Events::OnExpire(engine::dataplane::SaProtocol protocol, uint32_t spi, bool hard) {
  peer_.manager->OnExpire(protocol, spi, hard, peer_.link_.now);
}

void IkePeer::SendIke(const Endpoint& local, const Endpoint& remote, ByteSpan message) {
  Datagram d{local, remote, Bytes(message.begin(), message.end())};
  link_.sent_log.push_back(d);
  if (link_.nat) link_.nat(d);
  link_.wire.push_back(std::move(d));
}

void IkePeer::SendNatKeepalive(const Endpoint&, const Endpoint&) { ++keepalives; }

TwoPeers::TwoPeers() : a(*this, "10.1.0.1", 1), b(*this, "10.2.0.1", 2) {
  now = engine::ike::SteadyTime(std::chrono::hours(1000));
}

void TwoPeers::PutABehindNat() {
  const IpAddress outside = *IpAddress::Parse("192.0.2.7");
  nat = [this, outside](Datagram& d) {
    if (d.from.address == a.address) {
      d.from = Endpoint{outside, static_cast<uint16_t>(d.from.port + 1000)};
    } else if (d.to.address == outside) {
      d.to = Endpoint{a.address, static_cast<uint16_t>(d.to.port - 1000)};
    }
  };
}

IkePeer& TwoPeers::PeerAt(const IpAddress& address) { return address == a.address ? a : b; }

bool TwoPeers::DeliverOne() {
  if (wire.empty()) return false;
  Datagram d = std::move(wire.front());
  wire.pop_front();
  if (filter && !filter(d)) return true;
  if (deliver) {
    deliver(PeerAt(d.to.address), d);
  } else {
    PeerAt(d.to.address).manager->OnDatagram(d.to, d.from, d.data, now);
  }
  return true;
}

int TwoPeers::DeliverAll(int max) {
  int n = 0;
  while (n < max && DeliverOne()) ++n;
  return n;
}

void TwoPeers::Advance(std::chrono::milliseconds d) {
  auto end = now + d;
  for (;;) {
    auto next = std::min(a.manager->NextDeadline(), b.manager->NextDeadline());
    if (next > end) break;
    now = std::max(now, next);
    a.manager->OnTimer(now);
    b.manager->OnTimer(now);
  }
  now = end;
}

void TwoPeers::Run(std::chrono::milliseconds d) {
  auto end = now + d;
  // The wall clocks move along (whole seconds; the data path stamps last use with them).
  auto set_now = [this](engine::ike::SteadyTime t) {
    using std::chrono::duration_cast;
    using std::chrono::seconds;
    const auto moved = duration_cast<seconds>(t.time_since_epoch()).count() -
                       duration_cast<seconds>(now.time_since_epoch()).count();
    a.clock.unix_seconds += moved;
    b.clock.unix_seconds += moved;
    now = t;
  };
  for (;;) {
    DeliverAll(10000);
    auto next = std::min(a.manager->NextDeadline(), b.manager->NextDeadline());
    if (next > end) break;
    if (next > now) set_now(next);
    a.manager->OnTimer(now);
    b.manager->OnTimer(now);
  }
  DeliverAll(10000);
  set_now(end);
}

std::shared_ptr<engine::ike::IkeConfig> SimpleConfig(const std::string& local,
                                                     const std::string& remote,
                                                     const std::string& psk) {
  auto c = std::make_shared<engine::ike::IkeConfig>();
  c->policy = "test";
  c->ike_proposals = engine::policy::DefaultIkeProposals();
  engine::ike::NegotiateRule r;
  r.name = "r";
  r.credentials.push_back({engine::policy::AuthKind::kPreSharedKey, SecretBytes(psk), ""});
  r.security_methods = engine::policy::DefaultSecurityMethods();
  r.tunnel_endpoint = IpAddress::Parse(remote);
  engine::dataplane::TrafficSelector l{IpRange::Single(*IpAddress::Parse(local))};
  engine::dataplane::TrafficSelector rt{IpRange::Single(*IpAddress::Parse(remote))};
  r.traffic.push_back({l, rt});
  c->rules.push_back(std::move(r));
  return c;
}

}  // namespace ipsec::testing
