#pragma once

// The child SA part of IKE_AUTH and CREATE_CHILD_SA (RFC 7296 §1.3.1, §2.9, §2.17), shared by
// both exchanges: the initiator's offer and completion, the responder's choice. The tasks call
// these; nothing here sends.

#include <memory>
#include <optional>

#include "engine/common/random.h"
#include "engine/crypto/key_exchange.h"
#include "engine/ike/child_installer.h"
#include "engine/ike/ike_observer.h"
#include "engine/ike/ike_sa.h"
#include "engine/ike/message.h"
#include "engine/ike/traffic_selectors.h"

namespace ipsec::engine::ike {

// The initiator's pending child SA.
struct ChildRequest {
  std::string rule;
  uint32_t spi_in = 0;
  codec::SaPayload offer;
  // The rule's security methods offered (numbered from 1 in `offer`): across a NAT without AH.
  std::vector<policy::SecurityMethod> methods;
  // FAQ 46: with ah+esp methods, the AH half's inbound SPI and the bundle notification.
  uint32_t ah_spi_in = 0;
  std::optional<BundleNotify> bundle;
  Selectors local_ts;
  Selectors remote_ts;
  bool transport = false;
  std::unique_ptr<crypto::KeyExchange> pfs;  // CREATE_CHILD_SA with PFS only
  // A rekey (§2.8): the reqid of the child SA it replaces, which the new one keeps (a stable
  // identity for the API and the data path's counters); 0: a new child SA, a new reqid.
  uint32_t reqid = 0;
  // §2.8.1: our rekey lost a collision, so the new SA is redundant: its outbound SA is never
  // added (kept in ChildSa::deferred_outbound), as we will not send on it.
  bool defer_outbound = false;
};

// Allocates the inbound SPI and builds the offer from the rule (its security methods; with PFS,
// `pfs_group`, which must be kNone in IKE_AUTH). `udp_encapsulated` (a NAT, or forced): AH
// methods are left out of the offer when an ESP method remains (AH cannot cross a NAT).
Result<ChildRequest> PrepareChildRequest(ChildInstaller& installer, const NegotiateRule& rule,
                                         Selectors local_ts, Selectors remote_ts,
                                         codec::DhGroup pfs_group, bool udp_encapsulated = false);
// SA, [KEi], TSi, TSr, [N(USE_TRANSPORT_MODE)], [bundle notification].
void AddChildRequest(const ChildRequest& request, OutMessage& out);
// Gives back the request's inbound SPIs (ESP or AH, and a bundle's AH) when no child SA was
// installed with them; zeroes them.
void ReleaseChildRequest(ChildInstaller& installer, ChildRequest& request);

// Completes the initiator's child SA from the response (§2.9: the responder may narrow; we
// accept a subset of what we offered whose every combination lies inside the rule's traffic).
// Installs it and returns it. Errors carry the reason: a notify from the peer or an invalid answer.
struct ChildOutcome {
  std::optional<ChildSa> child;
  FailureReason reason = FailureReason::kNone;
  std::string detail;
  // The initiator refused an answer the responder had already acted on (it installed a child
  // SA we will not use: ESP alone for an AH+ESP bundle, selectors wider than offered, ...):
  // our inbound SPI, by which a Delete names the peer's child SA (§1.4.1) so it does not linger.
  uint32_t delete_spi_in = 0;
};
ChildOutcome CompleteChildRequest(ChildRequest& request, const InMessage& response, IkeSa& sa,
                                  ChildInstaller& installer, ByteSpan ni, ByteSpan nr,
                                  SteadyTime now, int64_t now_unix);

// The responder: chooses a proposal from `rule`, narrows the traffic selectors (§2.9, to
// AllowedTraffic), installs the
// child SA and adds SA, [KEr], TSi, TSr (and USE_TRANSPORT_MODE) to `out`. On failure adds
// nothing and returns the notification to send (NO_PROPOSAL_CHOSEN, TS_UNACCEPTABLE, ...).
struct ResponderChild {
  const NegotiateRule* rule = nullptr;
  bool in_ike_auth = true;
  ByteSpan ni;  // the nonces of the exchange (IKE_SA_INIT's for IKE_AUTH, §2.17)
  ByteSpan nr;
  Random* random = nullptr;  // CREATE_CHILD_SA with PFS: our KE
  // A rekey (§2.8): the replaced child SA's reqid, kept; the new outbound SA is held back in
  // ChildSa::deferred_outbound until the initiator deletes the old SA or uses the new one.
  uint32_t rekey_reqid = 0;
};
ChildOutcome RespondChild(const ResponderChild& params, const InMessage& request, IkeSa& sa,
                          ChildInstaller& installer, OutMessage& out, SteadyTime now,
                          int64_t now_unix, std::optional<codec::NotifyType>* notify);

// What a child SA of `rule` between the IKE endpoints `local` and `remote` may carry (RFC 7296
// §2.9): the rule's pairs; in transport mode (`transport`) only what lies between the two
// endpoints (RFC 4301 §4.1); for the default response rule (FAQ 19) exactly the endpoints'
// traffic, its "dynamic" filters, whatever the mode.
std::vector<RuleTraffic> AllowedTraffic(const NegotiateRule& rule, const IpAddress& local,
                                        const IpAddress& remote, bool transport);

// The initiator's child SA offer for `rule` between the IKE endpoints `local` and `remote`
// (§2.9): Offer() over AllowedTraffic, in transport mode unless the rule has a tunnel endpoint.
// `first`: the packet that asked for it.
NarrowedTraffic ChildOffer(const NegotiateRule& rule, const IpAddress& local,
                           const IpAddress& remote, const std::optional<RuleTraffic>& first);

// The rule a CREATE_CHILD_SA request belongs to: the first rule whose traffic overlaps the
// proposed selectors and which accepts what authenticated the peer (`peer`,
// peer_authentication.h), else the default response rule (FAQ 19) if it accepts it, else
// nullptr. `refused` (may be null) gets the rules the traffic matched but the peer's
// authentication did not satisfy, for the log.
const NegotiateRule* FindRuleForTraffic(const IkeConfig& config, const Selectors& tsi,
                                        const Selectors& tsr,
                                        const std::optional<PeerAuthentication>& peer,
                                        std::string* refused = nullptr);

}  // namespace ipsec::engine::ike
