#pragma once

// The IKE state machine under a program of operations (ike_state_fuzz, its seed writer and the
// unit tests that replay its findings): two in-process peers (tests/support/ike_peers.h: A the
// initiator 10.1.0.1, B the responder 10.2.0.1) with a fixed clock, seeded Random and OpenSSL's
// random as a fixed stream, so a program always exchanges the same bytes.
//
// A program is octet 0 (the Scenario) and then operations, each an opcode octet and its
// arguments (Op below says which); it ends where the input does. A starts the exchange before
// the first operation. The operations deliver, drop, duplicate, reorder and replay what the
// peers sent; deliver copies mutated by octets of the program (unauthentic: they fail the
// integrity check or are unprotected) or decrypted, mutated and re-encrypted with the IKE SA's
// own SK keys (authentic: they reach the exchanges behind the integrity check); move the clock;
// and call what the daemon calls (Initiate, InitiateChild, Rekey, Delete, acquires and
// expiries from the data path).
//
// After every step Check() asserts the invariants; a broken one prints what and aborts (a
// libFuzzer finding):
//  - each engine's admission bookkeeping matches its SA table (IkeManager::CheckAdmission);
//  - every SA in a data path belongs to a child SA its engine lists (no orphan, no leak), of
//    rule "r", with traffic selectors inside the rule's traffic (no SA the policy does not
//    allow), and AH only where the scenario negotiates AH+ESP;
//  - a datagram that is not authentic (mutated, unprotected) changes no IKE SA that has keys:
//    its state, message IDs (RFC 7296 §2.2, §2.21.4) and child SAs stay, and no SA goes down;
//  - at the end (Teardown: both delete everything, time runs out every exchange), no IKE SA is
//    left, and each data path holds no SA, no policy and no reserved SPI: every SPI allocated
//    was installed or released.

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "engine/common/bytes.h"
#include "engine/ike/codec/sk.h"
#include "tests/support/ike_peers.h"

namespace ipsec::fuzz {

enum class Scenario : uint8_t {
  kEspTunnel,      // PSK, AES-GCM ESP, tunnel mode
  kTransport,      // the same in transport mode
  kBundle,         // FAQ 46's AH+ESP bundle on both sides
  kBundleRefused,  // A offers only AH+ESP, B only ESP: B's answer is refused
  kNat,            // A behind a NAT (UDP 4500, encapsulated ESP)
  kPfsChildLimit,  // PFS, and FAQ 18's child SA limit of 2 (the IKE SA is rekeyed first)
  kCount,
};

enum class Op : uint8_t {
  kStep,           // deliver the first datagram in flight
  kDeliverAll,     // deliver until none is in flight (at most 64)
  kDrop,           // lose the first datagram in flight
  kDuplicate,      // deliver a copy of the first datagram, keep it in flight
  kSwap,           // the first two datagrams in flight change places
  kReplay,         // k: deliver again the k-th datagram ever sent
  kMutate,         // k n (pos val)*n: the k-th datagram sent with n octets overwritten
  kReencrypt,      // k mode n ...: the k-th datagram's SK content changed, protected again
  kAdvance,        // e: the clock moves 2^(e%22) ms, timers run (what they send stays in flight)
  kRun,            // e: the same with every datagram delivered as it is sent
  kRekey,          // p i: peer p rekeys its i-th SA (IKE or child) through the API
  kDelete,         // p i: peer p deletes its i-th SA
  kInitiateChild,  // p i: a further child SA under peer p's i-th IKE SA
  kInitiate,       // p: peer p starts an IKE SA with the other
  kAcquire,        // p proto: peer p's data path asks for an SA for a packet to the other
  kExpire,         // p i h: peer p's data path reports its i-th SA's lifetime (h odd: hard)
  kForge,          // p id kind: an unprotected INFORMATIONAL on peer p's IKE SA (notify/delete)
  kCount,
};

// The program's octets, read as the operations need them; 0 once exhausted.
class ProgramReader {
 public:
  explicit ProgramReader(ByteSpan program) : data_(program) {}
  bool done() const { return pos_ >= data_.size(); }
  uint8_t Next() { return done() ? 0 : data_[pos_++]; }

 private:
  ByteSpan data_;
  size_t pos_ = 0;
};

class StateHarness {
 public:
  explicit StateHarness(Scenario scenario);
  StateHarness(const StateHarness&) = delete;
  StateHarness& operator=(const StateHarness&) = delete;

  // A starts the exchange; then each operation, Check() after each step.
  void Run(ByteSpan operations);
  // Both peers delete everything and time runs out every exchange; then nothing may be left.
  void Teardown();
  // The invariants above (but the end state's); aborts with a message on a broken one.
  void Check();

  testing::TwoPeers& net() { return net_; }
  // Everything either peer sent (before any NAT), in order.
  const std::vector<testing::Datagram>& sent() const { return net_.sent_log; }

 private:
  struct SaKeys {
    engine::ike::codec::SkKeys from_initiator;
    engine::ike::codec::SkKeys from_responder;
  };
  void Apply(Op op, ProgramReader& in);
  testing::IkePeer& Peer(uint8_t selector) { return selector % 2 == 0 ? net_.a : net_.b; }
  testing::IkePeer& Other(testing::IkePeer& p) { return &p == &net_.a ? net_.b : net_.a; }
  // Hands `d` to its peer; `authentic`: the bytes are a peer's own or were protected with the
  // SA's keys (else the unauthentic-datagram invariant is checked around it).
  void Deliver(const testing::Datagram& d, bool authentic);
  // The k-th datagram sent, as it reaches its peer (through the NAT, if any).
  const testing::Datagram* SentAt(uint8_t k);
  testing::Datagram Routed(testing::Datagram d) const;
  void Reencrypt(const testing::Datagram& original, ProgramReader& in);
  void Forge(testing::IkePeer& to, ProgramReader& in);
  // Ids the API takes: "ike-<n>" then "child-<reqid>" of each IKE SA, in snapshot order.
  std::vector<std::string> SaIds(testing::IkePeer& p, bool ike_only);
  void CheckPeer(testing::IkePeer& p);
  [[noreturn]] void Fail(const std::string& what);

  Scenario scenario_;
  testing::TwoPeers net_;
  std::map<std::pair<uint64_t, uint64_t>, SaKeys> keys_;  // by (SPIi, SPIr)
  uint64_t steps_ = 0;
};

// Scenario and a program that drives the whole life of an SA: IKE_SA_INIT, IKE_AUTH, child SA
// rekey from each side, a further child SA, an IKE SA rekey, a Delete; with `extras`, replays,
// a mutated datagram and a re-encrypted one in between. For the seed writer.
Bytes SeedProgram(Scenario scenario, bool extras);

}  // namespace ipsec::fuzz
