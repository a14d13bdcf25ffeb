#pragma once

// An IKE SA (FAQ 47: the main mode SA) and everything negotiated under it. A plain state object:
// the tasks of task_manager.h read and change it on the IKE thread; the manager owns it.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/common/bytes.h"
#include "engine/common/endpoint.h"
#include "engine/crypto/key_exchange.h"
#include "engine/ike/child_sa.h"
#include "engine/ike/identity.h"
#include "engine/ike/ike_config.h"
#include "engine/ike/keys.h"
#include "engine/ike/peer_authentication.h"
#include "engine/ike/proposals.h"

namespace ipsec::engine::ike {

enum class IkeSaState {
  kConnecting,  // IKE_SA_INIT / IKE_AUTH under way
  kEstablished,
  kRekeying,  // an IKE SA rekey is under way
  kRekeyed,   // superseded by its rekeyed successor; waits for the Delete
  kDeleting,  // our Delete is under way
  kDead,      // to be removed by the manager
};
const char* Name(IkeSaState s);

using SteadyTime = std::chrono::steady_clock::time_point;

struct IkeSa {
  uint64_t id = 0;  // unique in this process, for the API ("ike-<id>")
  uint64_t spi_i = 0;
  uint64_t spi_r = 0;
  bool original_initiator = false;
  IkeSaState state = IkeSaState::kConnecting;
  std::shared_ptr<const IkeConfig> config;  // the policy snapshot this SA was made with

  Endpoint local;
  Endpoint remote;
  bool nat_local = false;   // we are behind a NAT (RFC 7296 §2.23)
  bool nat_remote = false;  // the peer is behind a NAT
  // --force-udp-encapsulation: ESP goes in UDP 4500 although no NAT was seen (where firewalls or
  // Kubernetes NetworkPolicies pass UDP but not IP protocol 50). We fake our NAT detection hash
  // so the peer encapsulates too, as strongSwan's `encap = yes` does.
  bool force_encapsulation = false;
  bool floated = false;              // moved to UDP 4500
  uint16_t nat_t_local_port = 4500;  // where we float to (RFC 7296 §2.23)
  uint16_t nat_t_remote_port = 4500;

  IkeAlgorithms algorithms;
  IkeKeys keys;
  Bytes nonce_i;
  Bytes nonce_r;
  Bytes init_request;  // the IKE_SA_INIT messages as sent (AUTH signs them, §2.15)
  Bytes init_response;
  std::unique_ptr<crypto::KeyExchange> key_exchange;  // until the shared secret is derived
  // RFC 7296 §2.14 leaves it to the responder when it derives SKEYSEED; ours waits for the
  // first message after IKE_SA_INIT (IkeManager::CompleteKeyExchange), so that answering an
  // IKE_SA_INIT costs no Diffie-Hellman: a flood of them only makes half-open SAs. Until then:
  // our key pair (maybe a reused one, dh_reuse.h) and the peer's KE data.
  std::shared_ptr<const crypto::KeyExchange> pending_dh;
  Bytes pending_peer_ke;
  bool keys_pending() const { return pending_dh != nullptr; }
  bool peer_supports_fragmentation = false;           // RFC 7383 §2.3
  // RFC 7427 §4: the hash algorithms the peer announced in IKE_SA_INIT; empty: none, so we
  // sign with the classic AUTH methods.
  std::vector<uint16_t> peer_signature_hashes;

  // RFC 7296 §2.23 (and RFC 3948): child SAs carry ESP in UDP on the NAT-T ports.
  bool UdpEncapsulated() const { return nat_local || nat_remote || force_encapsulation; }

  Identity local_id;
  Identity remote_id;
  std::string rule;  // the rule (or default response rule) the peer authenticated under
  // How each side authenticated (FAQ 37: the monitor shows the method): "preshared key",
  // "ecdsa-sha256 (RFC 7427)", "rsa-pkcs1-sha1 (method 1)".
  std::string local_auth;
  std::string remote_auth;
  // The credential that verified the peer (peer_authentication.h): child SAs only of rules that
  // accept it. Set by IKE_AUTH, inherited by a rekeyed IKE SA (§2.18). Holds the key: never
  // logged or shown.
  std::optional<PeerAuthentication> peer_authentication;
  std::vector<ChildSa> children;
  uint32_t children_created = 0;  // FAQ 18 "sessions" under this IKE SA

  SteadyTime created{};
  SteadyTime established{};
  SteadyTime rekey_at = SteadyTime::max();
  SteadyTime expire_at = SteadyTime::max();
  SteadyTime last_inbound{};  // any authenticated message from the peer (DPD, §2.4)
  int64_t established_unix = 0;
  std::string failure;  // why it failed, for the API and the log
  // §2.8.2: the peer rekeyed this IKE SA while our own rekey of it was under way.
  std::optional<RekeyCollision> peer_rekey;
  // §2.8.1: the peer rekeyed one of our child SAs while our own rekey of it was under way;
  // `old_spi_in` is our inbound SPI of that (old) pair. Kept here rather than in the old pair:
  // the peer may delete the old pair before our CREATE_CHILD_SA completes (its Delete
  // overtaking its answer to us), and our exchange still needs the record to learn that its new
  // pair is the redundant one. One at most: we have one request outstanding (§2.3), so one
  // child SA of ours is being rekeyed at a time; cleared when that exchange ends. On the heap:
  // rare, and every half-open SA would carry its bytes (dos.h kHalfOpenBytesPerSa).
  struct ChildRekeyCollision {
    uint32_t old_spi_in = 0;
    RekeyCollision peer;
  };
  std::unique_ptr<ChildRekeyCollision> child_rekey_collision;
  // kRekeyed: when we delete it ourselves if the peer has not (IkeTimers::RekeyedGrace).
  SteadyTime grace_until = SteadyTime::max();

  // IKE_SA_INIT derived the keys (SK_d, SK_e*, SK_a*, SK_p*): messages can be protected.
  bool HasKeys() const { return !keys.sk_d.empty(); }
  uint64_t local_spi() const { return original_initiator ? spi_i : spi_r; }
  uint64_t remote_spi() const { return original_initiator ? spi_r : spi_i; }
  // The keys that protect what we send, and what the peer sends.
  const SecretBytes& sk_e_out() const { return original_initiator ? keys.sk_ei : keys.sk_er; }
  const SecretBytes& sk_a_out() const { return original_initiator ? keys.sk_ai : keys.sk_ar; }
  const SecretBytes& sk_e_in() const { return original_initiator ? keys.sk_er : keys.sk_ei; }
  const SecretBytes& sk_a_in() const { return original_initiator ? keys.sk_ar : keys.sk_ai; }
  ChildSa* FindChildByInboundSpi(uint32_t spi);
  // The peer names a child SA by its inbound SPI (our outbound one) and protocol (§3.10, §3.11):
  // an ESP or AH pair's, or the AH half of an AH+ESP bundle (FAQ 46).
  ChildSa* FindChildByOutboundSpi(uint32_t spi, codec::ProtocolId protocol);
};

}  // namespace ipsec::engine::ike
