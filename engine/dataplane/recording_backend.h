#pragma once

// RecordingBackend: a dataplane::Backend that carries no packets. It keeps what IKE installs
// (SAs, policies, reserved SPIs) and a log of every call, so tests can check what a negotiation
// handed to the data path and in which order, and drive the data path's side by hand: set SA
// counters (idle timeouts, byte lifetimes), fire acquires and expires, make calls fail. IKE
// tests use it until the userspace ESP backend lands (issue 4); it is also the backend of the
// benchmark's in-process peers.
//
// Thread-safe: every method takes one mutex. Events are delivered with it released, so a
// BackendEvents implementation may call back into the backend.
//
// The call log names operations and SPIs, never keys (SaAlgorithms keys are SecretBytes).

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engine/common/random.h"
#include "engine/common/result.h"
#include "engine/dataplane/backend.h"

namespace ipsec::engine::dataplane {

class RecordingBackend final : public Backend {
 public:
  // SPIs 1-255 are reserved by IANA and 0 is never sent (RFC 4303 §2.1): none is handed out.
  static constexpr uint32_t kMinSpi = 256;

  struct Options {
    // Sequential SPIs start here. 0: a block of 2^16 per instance (0x00010000, 0x00020000, ...
    // in creation order), so two in-process peers never hand out the same SPIs.
    uint32_t first_spi = 0;
    // Not owned; may be null. When set, SPIs are drawn from it (still >= kMinSpi, unique).
    Random* random = nullptr;
  };

  // The operations that change the data path, as Calls() names them.
  enum class Operation {
    kAllocateSpi,
    kAddSa,
    kUpdateSaEndpoints,
    kDeleteSa,
    kAddPolicy,
    kDeletePolicy,
    kQuerySa,  // counted, not logged (IKE polls it)
    kSetClearFallback,
    kEndClearFallback,
  };
  static const char* OperationName(Operation operation);  // "AllocateSpi", "AddSa", ...

  RecordingBackend();
  explicit RecordingBackend(Options options);

  // Backend. SAs are keyed by (protocol, SPI): AddSa of a key that exists is kAlreadyExists,
  // an SPI below kMinSpi kInvalidArgument; DeleteSa, UpdateSaEndpoints and QuerySa of an
  // unknown key kNotFound. DeleteSa also releases an SPI that was only allocated. Policies are
  // keyed by (reqid, direction), with the same errors.
  const char* name() const override { return "recording"; }
  Result<uint32_t> AllocateSpi(SaProtocol protocol) override;
  Status AddSa(const SaConfig& sa) override;
  Status UpdateSaEndpoints(SaProtocol protocol, uint32_t spi, const Endpoint& local,
                           const Endpoint& remote, bool udp_encapsulation) override;
  Status DeleteSa(SaProtocol protocol, uint32_t spi) override;
  Status AddPolicy(const PolicyConfig& policy) override;
  Status DeletePolicy(uint32_t reqid, SaDirection direction) override;
  Result<SaCounters> QuerySa(SaProtocol protocol, uint32_t spi) const override;
  // Fallbacks to clear are keyed by (rule, peer); ending one that is not there is kNotFound.
  Status SetClearFallback(const ClearFallback& fallback) override;
  Status EndClearFallback(const std::string& rule, const IpAddress& peer) override;
  void SetEvents(BackendEvents* events) override;

  // --- Driving the data path's side.
  // The next `times` calls of `operation` fail with `error`, logged and without effect.
  void FailNext(Operation operation, Error error, int times = 1);
  // What QuerySa reports for an installed SA.
  Status SetCounters(SaProtocol protocol, uint32_t spi, const SaCounters& counters);
  // Traffic through an SA, as a data path counts it: adds to its counters, sets last use, and
  // at the byte lifetimes fires OnExpire once soft, then once hard (removing the SA first, as a
  // data path does when the hard limit is hit).
  Status AddTraffic(SaProtocol protocol, uint32_t spi, uint64_t bytes, uint64_t packets,
                    int64_t now_unix);
  // Delivers to the registered events; false when none are registered. A hard expire removes
  // the SA first, if installed; unknown SPIs are delivered all the same.
  bool FireAcquire(const BackendEvents::Acquire& acquire);
  bool FireExpire(SaProtocol protocol, uint32_t spi, bool hard);

  // --- Reading back (snapshots).
  std::vector<SaConfig> Sas() const;                   // in installation order
  std::optional<SaConfig> FindSa(uint32_t spi) const;  // ESP first, then AH
  std::optional<SaConfig> FindSa(SaProtocol protocol, uint32_t spi) const;
  std::vector<PolicyConfig> Policies() const;  // in installation order
  std::vector<ClearFallback> ClearFallbacks() const;  // in force, by (rule, peer)
  std::optional<PolicyConfig> FindPolicy(uint32_t reqid, SaDirection direction) const;
  std::vector<uint32_t> ReservedSpis() const;  // allocated, neither added nor deleted yet
  // Operation names in call order, failed calls included ("AllocateSpi", "AddSa", ...).
  // QuerySa, which IKE polls, is counted in query_count() instead.
  std::vector<std::string> Calls() const;
  // The same calls with their arguments and outcome, for failure messages. Never keys.
  std::vector<std::string> CallLog() const;
  void ClearCalls();
  uint64_t query_count() const;
  BackendEvents* events() const;

 private:
  using SaKey = std::pair<SaProtocol, uint32_t>;
  using PolicyKey = std::pair<uint32_t, SaDirection>;
  struct SaEntry {
    SaConfig config;
    SaCounters counters;
    uint64_t order = 0;
    bool soft_fired = false;
  };
  struct PolicyEntry {
    PolicyConfig config;
    uint64_t order = 0;
  };

  // Must hold mutex_.
  bool SpiInUse(uint32_t spi) const;
  Result<uint32_t> NextSpi();
  // Consumes one injected failure of `operation`, if any.
  std::optional<Error> TakeFailure(Operation operation) const;
  void Log(Operation operation, std::string detail, const Status& outcome);

  const Options options_;
  mutable std::mutex mutex_;
  uint32_t next_spi_;                                         // guarded by mutex_
  uint64_t next_order_ = 0;                                   // guarded by mutex_
  std::map<SaKey, SaEntry> sas_;                              // guarded by mutex_
  std::map<uint32_t, SaProtocol> reserved_;                   // guarded by mutex_
  std::map<PolicyKey, PolicyEntry> policies_;                 // guarded by mutex_
  std::map<std::pair<std::string, IpAddress>, ClearFallback> fallbacks_;  // guarded by mutex_
  mutable std::map<Operation, std::vector<Error>> failures_;  // guarded by mutex_
  std::vector<std::pair<Operation, std::string>> log_;        // guarded by mutex_
  mutable uint64_t queries_ = 0;                              // guarded by mutex_
  BackendEvents* events_ = nullptr;                           // guarded by mutex_; not owned
};

}  // namespace ipsec::engine::dataplane
