#include "engine/ike/child_negotiation.h"

#include <algorithm>

namespace ipsec::engine::ike {
namespace {

using codec::NotifyType;
using codec::PayloadType;

const policy::SecurityMethod* MethodFor(const NegotiateRule& rule, const ChildAlgorithms& a) {
  for (const auto& m : rule.security_methods) {
    if (a.protocol == codec::ProtocolId::kAh) {
      if (m.protocol == policy::IpsecProtocol::kAh && ToTransform(m.ah_integrity) == a.integrity) {
        return &m;
      }
      continue;
    }
    EncryptionTransform e = ToTransform(m.esp_encryption);
    // FAQ 46: an ah+esp method only for a bundle, with its AH integrity; esp only without.
    const bool bundle_method = m.protocol == policy::IpsecProtocol::kAhEsp;
    if (m.protocol != policy::IpsecProtocol::kAh && bundle_method == a.bundle() &&
        (!bundle_method || ToTransform(m.ah_integrity) == a.ah_integrity) && e.id == a.encryption &&
        e.key_bits == a.encryption_key_bits &&
        (IsAead(e.id) || ToTransform(m.esp_integrity) == a.integrity)) {
      return &m;
    }
  }
  return nullptr;
}

Bytes SpiBytes(uint32_t spi) {
  return {static_cast<uint8_t>(spi >> 24), static_cast<uint8_t>(spi >> 16),
          static_cast<uint8_t>(spi >> 8), static_cast<uint8_t>(spi)};
}

bool Within(const Selectors& inner, const Selectors& outer) {
  for (const auto& s : inner) {
    bool covered = false;
    for (const auto& o : outer) {
      auto i = Intersect(s, o);
      covered = covered || (i && *i == s);
    }
    if (!covered) return false;
  }
  return true;
}

// Builds the child SA record and installs it. `method` gives the lifetimes.
ChildOutcome Finish(IkeSa& sa, ChildInstaller& installer, ChildSa child,
                    const policy::SecurityMethod& method, const SecretBytes* pfs_secret,
                    ByteSpan ni, ByteSpan nr, bool we_initiated, SteadyTime now, int64_t now_unix,
                    ChildInstaller::Scope scope) {
  ChildOutcome out;
  auto keys =
      DeriveChildKeys(child.algorithms, sa.algorithms.prf, sa.keys.sk_d, pfs_secret, ni, nr);
  if (!keys.ok()) {
    out.reason = FailureReason::kInternal;
    out.detail = keys.error().ToString();
    return out;
  }
  // §2.8.1: both peers count the same bytes (and often start the same second), so a fixed
  // soft lifetime makes them rekey together and collide. Each side draws its point in
  // [rekey_fraction - rekey_jitter, rekey_fraction] from its own random inbound SPI.
  const IkeTimers& timers = sa.config->timers;
  const double u = static_cast<double>(child.spi_in % 4096) / 4096.0;
  const double soft = std::max(0.0, timers.rekey_fraction - timers.rekey_jitter * u);
  if (Status s = installer.Install(sa, child, *keys, we_initiated, method.lifetime_kilobytes,
                                   method.lifetime_seconds, soft, scope);
      !s.ok()) {
    out.reason = FailureReason::kInternal;
    out.detail = "the data path refused the child SA: " + s.error().ToString();
    return out;
  }
  child.established = now;
  child.established_unix = now_unix;
  child.expire_at = now + std::chrono::seconds(method.lifetime_seconds);
  child.rekey_at = now + std::chrono::milliseconds(
                             static_cast<int64_t>(method.lifetime_seconds * 1000.0 * soft));
  child.lifetime_bytes = method.lifetime_kilobytes * 1024;
  // FAQ 18: one more derivation of session keys from this IKE SA's SK_d (§2.17), new child SA
  // or rekey alike; IkeManager rekeys the IKE SA when the next one would exceed the limit.
  ++sa.children_created;
  out.child = std::move(child);
  return out;
}

ChildOutcome Failure(FailureReason reason, std::string detail) {
  ChildOutcome out;
  out.reason = reason;
  out.detail = std::move(detail);
  return out;
}

}  // namespace

Result<ChildRequest> PrepareChildRequest(ChildInstaller& installer, const NegotiateRule& rule,
                                         Selectors local_ts, Selectors remote_ts,
                                         codec::DhGroup pfs_group, bool udp_encapsulated) {
  ChildRequest r;
  r.rule = rule.name;
  r.local_ts = std::move(local_ts);
  r.remote_ts = std::move(remote_ts);
  r.transport = !rule.tunnel_endpoint.has_value();
  // RFC 3715 §2.1: AH cannot cross a NAT; across one, offer the ESP methods only, without the
  // AH+ESP bundles (when none is plain ESP, the offer stays and the responder refuses it,
  // naming the reason).
  std::vector<policy::SecurityMethod> methods = rule.security_methods;
  if (udp_encapsulated && std::any_of(methods.begin(), methods.end(), [](const auto& m) {
        return m.protocol == policy::IpsecProtocol::kEsp;
      })) {
    std::erase_if(methods, [](const auto& m) { return m.protocol != policy::IpsecProtocol::kEsp; });
  }
  const bool ah = !methods.empty() && methods[0].protocol == policy::IpsecProtocol::kAh;
  auto spi = installer.AllocateSpi(ah ? codec::ProtocolId::kAh : codec::ProtocolId::kEsp);
  if (!spi.ok()) return spi.error();
  r.spi_in = *spi;
  if (std::any_of(methods.begin(), methods.end(),
                  [](const auto& m) { return m.protocol == policy::IpsecProtocol::kAhEsp; })) {
    // FAQ 46 (bundle.h): the AH half's inbound SPI, offered in the bundle notification.
    auto ah_spi = installer.AllocateSpi(codec::ProtocolId::kAh);
    if (!ah_spi.ok()) {
      installer.Release(ah ? codec::ProtocolId::kAh : codec::ProtocolId::kEsp, r.spi_in);
      return ah_spi.error();
    }
    r.ah_spi_in = *ah_spi;
    r.bundle = MakeBundleOffer(methods, r.ah_spi_in);
  }
  if (pfs_group != codec::DhGroup::kNone) {
    auto ke = crypto::KeyExchange::Generate(static_cast<crypto::Group>(pfs_group));
    if (!ke.ok()) return ke.error();
    r.pfs = std::move(ke).value();
  }
  r.offer = MakeChildOffer(methods, r.spi_in, pfs_group);
  r.methods = std::move(methods);
  return r;
}

void ReleaseChildRequest(ChildInstaller& installer, ChildRequest& r) {
  if (r.spi_in != 0) {
    installer.Release(
        r.offer.proposals.empty() ? codec::ProtocolId::kEsp : r.offer.proposals[0].protocol,
        r.spi_in);
    r.spi_in = 0;
  }
  if (r.ah_spi_in != 0) {
    installer.Release(codec::ProtocolId::kAh, r.ah_spi_in);
    r.ah_spi_in = 0;
  }
}

void AddChildRequest(const ChildRequest& r, OutMessage& out) {
  // RFC 7296 §1.3.1: HDR, SK {SA, Ni, [KEi], TSi, TSr}; the nonce is the task's (it is also in
  // IKE_AUTH's absence). Transport mode is asked for with a notification (§1.3.1).
  if (r.transport) out.AddNotify(NotifyType::kUseTransportMode);
  if (r.bundle) out.Add(PayloadType::kNotify, ToNotify(*r.bundle));  // FAQ 46, bundle.h
  out.Add(PayloadType::kSa, r.offer);
  if (r.pfs) {
    out.Add(PayloadType::kKe,
            codec::KePayload{static_cast<codec::DhGroup>(r.pfs->group()), r.pfs->PublicValue()});
  }
  out.Add(PayloadType::kTsi, ToPayload(r.local_ts));
  out.Add(PayloadType::kTsr, ToPayload(r.remote_ts));
}

ChildOutcome CompleteChildRequest(ChildRequest& r, const InMessage& in, IkeSa& sa,
                                  ChildInstaller& installer, ByteSpan ni, ByteSpan nr,
                                  SteadyTime now, int64_t now_unix) {
  if (const auto* error = in.ErrorNotify()) {
    return Failure(ReasonForNotify(error->type), "peer refused the child SA: notify " +
                                                     std::to_string(static_cast<int>(error->type)));
  }
  const auto* sa_reply = in.Find<codec::SaPayload>(PayloadType::kSa);
  const auto* tsi = in.Find<codec::TsPayload>(PayloadType::kTsi);
  const auto* tsr = in.Find<codec::TsPayload>(PayloadType::kTsr);
  if (sa_reply == nullptr || tsi == nullptr || tsr == nullptr) {
    return Failure(FailureReason::kInvalidMessage, "response lacks SA, TSi or TSr");
  }
  std::optional<BundleNotify> bundle_reply;
  if (const auto* n = in.Notify(kAhEspBundleNotify)) {
    auto parsed = ParseBundleNotify(*n);
    if (!parsed.ok()) return Failure(FailureReason::kInvalidMessage, parsed.error().message);
    bundle_reply = std::move(parsed).value();
  }
  // From here on the responder has installed its child SA: a refusal deletes it.
  auto refuse = [&](FailureReason reason, std::string detail) {
    ChildOutcome out = Failure(reason, std::move(detail));
    out.delete_spi_in = r.spi_in;
    return out;
  };
  auto choice = AcceptChildReply(r.offer, *sa_reply, r.bundle ? &*r.bundle : nullptr,
                                 bundle_reply ? &*bundle_reply : nullptr);
  if (!choice.ok()) {
    return refuse(choice.error().code == ErrorCode::kFailedPrecondition
                      ? FailureReason::kNoProposalChosen
                      : FailureReason::kInvalidMessage,
                  choice.error().message);
  }
  if (choice->algorithms.protocol == codec::ProtocolId::kAh && sa.UdpEncapsulated()) {
    return refuse(FailureReason::kNoProposalChosen,
                  "the peer chose AH, which cannot cross the NAT between us (RFC 3715 §2.1; "
                  "RFC 3948 encapsulates ESP only): offer ESP");
  }
  Selectors local = FromPayload(*tsi);
  Selectors remote = FromPayload(*tsr);
  // §2.9: the responder may only narrow what we proposed.
  if (local.empty() || remote.empty() || !Within(local, r.local_ts) ||
      !Within(remote, r.remote_ts)) {
    return refuse(FailureReason::kTsUnacceptable, "responder's selectors exceed our proposal");
  }
  const NegotiateRule* rule = sa.config->FindRule(r.rule);
  const policy::SecurityMethod* method = rule ? MethodFor(*rule, choice->algorithms) : nullptr;
  if (method == nullptr) return refuse(FailureReason::kInternal, "rule changed under way");
  // ... and every (TSi, TSr) combination the SA would carry must be one the rule allows (our
  // offer is; this guards what we keep across rekeys too). The mode is not asked: a tunnel
  // answer to a transport offer still lies within the offer.
  if (!CrossProductAllowed(
          AllowedTraffic(*rule, sa.local.address, sa.remote.address, /*transport=*/false), local,
          remote)) {
    return refuse(FailureReason::kTsUnacceptable,
                  "responder's selectors TSi " + ToString(local) + " TSr " + ToString(remote) +
                      " combine traffic no filter of rule '" + rule->name + "' allows");
  }
  std::optional<SecretBytes> pfs_secret;
  if (r.pfs) {
    const auto* ke = in.Find<codec::KePayload>(PayloadType::kKe);
    if (ke == nullptr) return refuse(FailureReason::kInvalidMessage, "PFS: no KEr");
    auto shared = r.pfs->ComputeShared(ke->data);
    if (!shared.ok()) return refuse(FailureReason::kInvalidMessage, shared.error().message);
    pfs_secret = std::move(shared).value();
  }
  ChildSa child;
  child.reqid = r.reqid != 0 ? r.reqid : installer.NextReqid();
  child.rule = r.rule;
  child.mode = r.transport && in.Notify(NotifyType::kUseTransportMode)
                   ? dataplane::SaMode::kTransport
                   : dataplane::SaMode::kTunnel;
  child.algorithms = choice->algorithms;
  child.spi_in = r.spi_in;
  child.spi_out = choice->peer_spi;
  if (child.algorithms.bundle()) {
    child.ah_spi_in = r.ah_spi_in;
    child.ah_spi_out = bundle_reply->ah_spi;
  }
  child.initiated_by_us = true;
  child.local_ts = std::move(local);
  child.remote_ts = std::move(remote);
  return Finish(sa, installer, std::move(child), *method, pfs_secret ? &*pfs_secret : nullptr, ni,
                nr, /*we_initiated=*/true, now, now_unix,
                ChildInstaller::Scope{/*policies=*/r.reqid == 0, r.defer_outbound});
}

std::vector<RuleTraffic> AllowedTraffic(const NegotiateRule& rule, const IpAddress& local,
                                        const IpAddress& remote, bool transport) {
  if (rule.dynamic_traffic) {
    return {RuleTraffic{dataplane::TrafficSelector{IpRange::Single(local)},
                        dataplane::TrafficSelector{IpRange::Single(remote)}}};
  }
  return transport ? BetweenEndpoints(rule.traffic, local, remote) : rule.traffic;
}

NarrowedTraffic ChildOffer(const NegotiateRule& rule, const IpAddress& local,
                           const IpAddress& remote, const std::optional<RuleTraffic>& first) {
  return Offer(AllowedTraffic(rule, local, remote, !rule.tunnel_endpoint.has_value()), first);
}

const NegotiateRule* FindRuleForTraffic(const IkeConfig& config, const Selectors& tsi,
                                        const Selectors& tsr,
                                        const std::optional<PeerAuthentication>& peer,
                                        std::string* refused) {
  for (const auto& rule : config.rules) {
    if (Narrow(rule.traffic, tsi, tsr).local.empty()) continue;
    if (Satisfies(peer, rule)) return &rule;
    if (refused != nullptr) *refused += (refused->empty() ? "'" : ", '") + rule.name + "'";
  }
  if (config.default_response && Satisfies(peer, *config.default_response)) {
    return &*config.default_response;
  }
  return nullptr;
}

ChildOutcome RespondChild(const ResponderChild& p, const InMessage& in, IkeSa& sa,
                          ChildInstaller& installer, OutMessage& out, SteadyTime now,
                          int64_t now_unix, std::optional<codec::NotifyType>* notify) {
  auto refuse = [&](NotifyType type, FailureReason reason, std::string detail) {
    *notify = type;
    return Failure(reason, std::move(detail));
  };
  const auto* offer = in.Find<codec::SaPayload>(PayloadType::kSa);
  const auto* tsi_payload = in.Find<codec::TsPayload>(PayloadType::kTsi);
  const auto* tsr_payload = in.Find<codec::TsPayload>(PayloadType::kTsr);
  if (offer == nullptr || tsi_payload == nullptr || tsr_payload == nullptr || p.rule == nullptr) {
    return refuse(NotifyType::kInvalidSyntax, FailureReason::kInvalidMessage,
                  "request lacks SA, TSi or TSr");
  }
  Selectors tsi = FromPayload(*tsi_payload);
  Selectors tsr = FromPayload(*tsr_payload);
  const bool transport =
      in.Notify(NotifyType::kUseTransportMode) != nullptr && !p.rule->tunnel_endpoint.has_value();
  // §2.9: inside the rule's traffic, every combination inside one of its pairs; the default
  // response rule's dynamic filters are our address and the peer's (FAQ 19).
  NarrowedTraffic traffic =
      Narrow(AllowedTraffic(*p.rule, sa.local.address, sa.remote.address, transport), tsi, tsr);
  if (traffic.local.empty() || traffic.remote.empty()) {
    return refuse(NotifyType::kTsUnacceptable, FailureReason::kTsUnacceptable,
                  "rule '" + p.rule->name + "' allows none of TSi " + ToString(tsi) + " TSr " +
                      ToString(tsr) +
                      (p.rule->dynamic_traffic || transport
                           ? " (only traffic between " + sa.remote.address.ToString() + " and " +
                                 sa.local.address.ToString() + ")"
                           : ""));
  }
  ChildDhRule dh;
  dh.ignore_offered = p.in_ike_auth;
  dh.wanted = p.rule->session_key_pfs ? sa.algorithms.dh_group : codec::DhGroup::kNone;
  dh.required = p.rule->session_key_pfs && !p.in_ike_auth;
  // AH cannot cross a NAT (RFC 3715 §2.1: its ICV covers the addresses a NAT rewrites; RFC
  // 3948 encapsulates ESP only): with UDP encapsulation only ESP proposals are eligible.
  codec::SaPayload eligible = *offer;
  if (sa.UdpEncapsulated()) {
    std::erase_if(eligible.proposals,
                  [](const codec::Proposal& pr) { return pr.protocol == codec::ProtocolId::kAh; });
  }
  // FAQ 46 (bundle.h): the AH halves of bundle proposals. Across a NAT none is eligible.
  std::optional<BundleNotify> bundle;
  if (const auto* n = in.Notify(kAhEspBundleNotify); n != nullptr && !sa.UdpEncapsulated()) {
    auto parsed = ParseBundleNotify(*n);
    if (!parsed.ok()) {
      return refuse(NotifyType::kInvalidSyntax, FailureReason::kInvalidMessage,
                    parsed.error().message);
    }
    bundle = std::move(parsed).value();
  }
  auto choice =
      ChooseChildProposal(eligible, p.rule->security_methods, dh, bundle ? &*bundle : nullptr);
  if (!choice.ok()) {
    return refuse(NotifyType::kNoProposalChosen, FailureReason::kNoProposalChosen,
                  choice.error().message +
                      (eligible.proposals.size() != offer->proposals.size()
                           ? " (AH proposals are not eligible across a NAT, RFC 3715 §2.1)"
                           : ""));
  }
  const policy::SecurityMethod* method = MethodFor(*p.rule, choice->algorithms);
  auto spi = installer.AllocateSpi(choice->algorithms.protocol);
  if (method == nullptr || !spi.ok()) {
    return refuse(NotifyType::kTemporaryFailure, FailureReason::kInternal,
                  "cannot allocate an SPI");
  }
  uint32_t ah_spi = 0;  // a bundle's AH half (FAQ 46)
  if (choice->algorithms.bundle()) {
    auto allocated = installer.AllocateSpi(codec::ProtocolId::kAh);
    if (!allocated.ok()) {
      installer.Release(choice->algorithms.protocol, *spi);
      return refuse(NotifyType::kTemporaryFailure, FailureReason::kInternal,
                    "cannot allocate an SPI");
    }
    ah_spi = *allocated;
  }
  auto release = [&] {
    installer.Release(choice->algorithms.protocol, *spi);
    if (ah_spi != 0) installer.Release(codec::ProtocolId::kAh, ah_spi);
  };
  std::optional<SecretBytes> pfs_secret;
  std::unique_ptr<crypto::KeyExchange> our_ke;
  if (choice->algorithms.dh_group != codec::DhGroup::kNone) {
    const auto* ke = in.Find<codec::KePayload>(PayloadType::kKe);
    if (ke == nullptr || ke->group != choice->algorithms.dh_group) {
      release();
      Bytes group{static_cast<uint8_t>(static_cast<uint16_t>(choice->algorithms.dh_group) >> 8),
                  static_cast<uint8_t>(static_cast<uint16_t>(choice->algorithms.dh_group))};
      out.AddNotify(NotifyType::kInvalidKePayload, group);  // §1.3: tell which group
      *notify = NotifyType::kInvalidKePayload;
      return Failure(FailureReason::kInvalidKePayload, "KE group differs from the chosen one");
    }
    auto generated = crypto::KeyExchange::Generate(static_cast<crypto::Group>(ke->group));
    auto shared = generated.ok() ? (*generated)->ComputeShared(ke->data)
                                 : Result<SecretBytes>(generated.error());
    if (!shared.ok()) {
      release();
      return refuse(NotifyType::kInvalidSyntax, FailureReason::kInvalidMessage,
                    shared.error().message);
    }
    our_ke = std::move(generated).value();
    pfs_secret = std::move(shared).value();
  }
  ChildSa child;
  child.reqid = p.rekey_reqid != 0 ? p.rekey_reqid : installer.NextReqid();
  child.rule = p.rule->name;
  child.mode = transport ? dataplane::SaMode::kTransport : dataplane::SaMode::kTunnel;
  child.algorithms = choice->algorithms;
  child.spi_in = *spi;
  child.spi_out = choice->peer_spi;
  if (ah_spi != 0) {
    child.ah_spi_in = ah_spi;
    child.ah_spi_out = bundle->ah_spi;
  }
  child.local_ts = traffic.local;
  child.remote_ts = traffic.remote;
  ChildOutcome outcome = Finish(sa, installer, child, *method, pfs_secret ? &*pfs_secret : nullptr,
                                p.ni, p.nr, /*we_initiated=*/false, now, now_unix,
                                ChildInstaller::Scope{/*policies=*/p.rekey_reqid == 0,
                                                      /*defer_outbound=*/p.rekey_reqid != 0});
  if (!outcome.child) {
    release();
    *notify = NotifyType::kTemporaryFailure;
    return outcome;
  }
  codec::Proposal reply = choice->reply;
  reply.spi = SpiBytes(*spi);
  if (transport) out.AddNotify(NotifyType::kUseTransportMode);
  if (ah_spi != 0) {
    out.Add(PayloadType::kNotify,
            ToNotify(BundleNotify{ah_spi, {{reply.number, choice->algorithms.ah_integrity}}}));
  }
  out.Add(PayloadType::kSa, codec::SaPayload{{reply}});
  if (our_ke) {
    out.Add(PayloadType::kKe, codec::KePayload{choice->algorithms.dh_group, our_ke->PublicValue()});
  }
  out.Add(PayloadType::kTsi, ToPayload(traffic.remote));
  out.Add(PayloadType::kTsr, ToPayload(traffic.local));
  return outcome;
}

}  // namespace ipsec::engine::ike
