#include "engine/dataplane/userspace/userspace_backend.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "engine/dataplane/userspace/link_mtu.h"
#include "engine/esp/esp_wire.h"

namespace ipsec::engine::dataplane::userspace {
namespace {

constexpr int kPollMs = 200;
constexpr size_t kTxBatch = 64;
constexpr auto kNftReadInterval =
    std::chrono::seconds(2);  // TUN reads per wake-up before the flags are looked at again

// For measurements only (bench/): IPSEC_DATAPLANE_NO_OFFLOAD=tun,udp_gso,udp_gro turns the named
// offloads off, so each one's share can be measured with the same binary.
bool OffloadOff(const char* name) {
  const char* e = std::getenv("IPSEC_DATAPLANE_NO_OFFLOAD");
  return e != nullptr && std::strstr(e, name) != nullptr;
}

}  // namespace

UserspaceBackend::UserspaceBackend(Options options) : options_(std::move(options)) {}

Result<std::unique_ptr<UserspaceBackend>> UserspaceBackend::Create(Options options) {
  if (options.random == nullptr) {
    return MakeError(ErrorCode::kInvalidArgument, "the userspace data path needs a Random");
  }
  options.tx_workers = std::clamp(options.tx_workers, 1u, kMaxWorkers - 1);
  std::unique_ptr<UserspaceBackend> b(new UserspaceBackend(std::move(options)));
  auto tun =
      TunDevice::Open({.name = b->options_.tun_name,
                       .queues = static_cast<int>(b->options_.tx_workers),
                       // Room for ESP on the smallest link (link_mtu.h).
                       .mtu = CappedTunMtu(b->options_.tun_mtu, LinkMtuFloor(b->options_.tun_name)),
                       .offload = !OffloadOff("tun")});
  if (!tun.ok()) return tun.error();
  b->tun_ = std::move(tun).value();
  b->network_ = std::make_unique<PodNetwork>(
      PodNetworkConfig{.tun_name = b->tun_->name(), .route_table = b->options_.route_table},
      b->runner_);
  if (Status s = b->network_->Setup(); !s.ok()) return s.error();
  // One crypto context per TX worker and one for the RX thread (SaParams::workers).
  b->sas_ = std::make_unique<SaTable>(b->options_.tx_workers + 1);
  b->pipeline_ = std::make_unique<Pipeline>(*b->sas_, b->queue_, b->late_io_);
  // Path MTU toward each peer from the kernel (mtu_guard.h): too big -> ICMP error.
  b->pipeline_->SetMtuGuard(std::make_unique<MtuGuard>(std::make_unique<KernelPathMtu>()));
  b->stop_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  b->flush_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (b->stop_fd_ < 0 || b->flush_fd_ < 0) {
    return MakeError(ErrorCode::kUnavailable, "eventfd failed");
  }
  return b;
}

UserspaceBackend::~UserspaceBackend() {
  Stop();
  network_.reset();  // rules and routes; the nftables table stays in force (pod_network.h)
  for (int fd : {stop_fd_, flush_fd_}) {
    if (fd >= 0) ::close(fd);
  }
}

Status UserspaceBackend::Start(uint16_t nat_t_port) {
  if (io_) return MakeError(ErrorCode::kFailedPrecondition, "already started");
  auto io = EspIo::Open({.nat_t_port = nat_t_port,
                         .udp_gso = !OffloadOff("udp_gso"),
                         .udp_gro = !OffloadOff("udp_gro")},
                        *tun_);
  if (!io.ok()) return io.error();
  auto ah = AhSockets::Open();
  if (!ah.ok()) return ah.error();
  ah_io_ = std::move(ah).value();
  io_ = std::move(io).value();
  late_io_.io.store(io_.get());
  for (unsigned i = 0; i < options_.tx_workers; ++i) {
    threads_.emplace_back([this, i] { TxLoop(i); });
  }
  threads_.emplace_back([this] { RxLoop(options_.tx_workers); });
  return Status::Ok();
}

void UserspaceBackend::Stop() {
  if (stopping_.exchange(true)) return;
  const uint64_t one = 1;
  if (stop_fd_ >= 0) (void)!::write(stop_fd_, &one, sizeof(one));
  for (auto& t : threads_) t.join();
  threads_.clear();
  late_io_.io.store(nullptr);
  io_.reset();
  ah_io_.reset();
}

void UserspaceBackend::RequestFlush() {
  const uint64_t one = 1;
  (void)!::write(flush_fd_, &one, sizeof(one));
}

void UserspaceBackend::TxLoop(unsigned index) {
  WorkerContext w(index);
  std::vector<uint8_t> buffer(kBufferSize);
  std::vector<uint8_t> segment(kBufferSize);  // one segment of a super-packet at a time
  const int tun_fd = tun_->fd(static_cast<int>(index));
  pollfd fds[3] = {{tun_fd, POLLIN, 0}, {stop_fd_, POLLIN, 0}, {flush_fd_, POLLIN, 0}};
  const nfds_t nfds = index == 0 ? 3 : 2;
  while (!stopping_.load(std::memory_order_relaxed)) {
    if (::poll(fds, nfds, kPollMs) < 0 && errno != EINTR) break;
    if (stopping_.load(std::memory_order_relaxed)) break;
    if (index == 0) sas_->Sweep(std::chrono::steady_clock::now());
    pipeline_->Refresh(w);
    if (index == 0 && (fds[2].revents & POLLIN)) {
      uint64_t n;
      (void)!::read(flush_fd_, &n, sizeof(n));
      pipeline_->FlushQueue(w, buffer.data(), buffer.size());
      late_io_.Flush(index);
    }
    for (size_t i = 0; i < kTxBatch; ++i) {
      offload::VnetHdr hdr;
      const ssize_t n = tun_->Read(static_cast<int>(index), buffer.data() + kHeadroom,
                                   buffer.size() - kHeadroom - kTailroom, &hdr);
      if (n == -EPROTO) {
        pipeline_->Count(index, DropReason::kMalformed);
        continue;
      }
      if (n <= 0) break;
      // A super-packet (TSO/USO) is cut into segments, each protected on its own, straight
      // into the send batch (Pipeline::OutboundSegments); a partial checksum is completed
      // (offload.h). Bad vnet headers are counted drops.
      auto plan = offload::PlanSplit(hdr, buffer.data() + kHeadroom, static_cast<size_t>(n));
      if (!plan || plan->max_segment > segment.size() - kHeadroom - kTailroom) {
        pipeline_->Count(index, DropReason::kMalformed);
        continue;
      }
      if (!plan->gso) {
        pipeline_->Outbound(w, buffer.data(), buffer.size(), static_cast<size_t>(n));
        continue;
      }
      pipeline_->OutboundSegments(w, *plan, buffer.data() + kHeadroom, segment.data(),
                                  segment.size());
    }
    late_io_.Flush(index);  // one sendmmsg for the batch
  }
}

void UserspaceBackend::RxLoop(unsigned index) {
  WorkerContext w(index);
  std::vector<pollfd> fds;
  for (int fd : io_->receive_fds()) fds.push_back({fd, POLLIN, 0});
  for (int fd : ah_io_->receive_fds()) fds.push_back({fd, POLLIN, 0});
  auto inbound_ah = [&](uint8_t* buffer, size_t offset, size_t length) {
    pipeline_->InboundAh(w, buffer, AhSockets::kRxBufferSize, offset, length);
  };
  fds.push_back({stop_fd_, POLLIN, 0});
  auto inbound = [&](uint8_t* buffer, size_t offset, size_t length, const IpAddress& from) {
    pipeline_->Inbound(w, buffer, EspIo::kRxBufferSize, offset, length, from);
  };
  while (!stopping_.load(std::memory_order_relaxed)) {
    if (::poll(fds.data(), fds.size(), kPollMs) < 0 && errno != EINTR) break;
    if (stopping_.load(std::memory_order_relaxed)) break;
    pipeline_->Refresh(w);
    for (size_t i = 0; i + 1 < fds.size(); ++i) {
      if (!(fds[i].revents & POLLIN)) continue;
      if (ah_io_->Owns(fds[i].fd)) {
        ah_io_->Receive(fds[i].fd, inbound_ah);  // AH (RFC 4302): whole IP packets
        continue;
      }
      // A few batches per socket, then the others get a turn.
      for (int round = 0; round < 4; ++round) {
        const size_t got = io_->Receive(fds[i].fd, inbound);
        late_io_.Flush(index);  // the batch's coalesced TUN writes (offload::TcpCoalescer)
        if (got < EspIo::kBatch) break;
      }
    }
    late_io_.Flush(index);  // whatever any socket's packets left in the coalescer (AH too)
  }
}

void UserspaceBackend::ReadNftLocked() const {
  CommandOutcome o = runner_.Run({"nft", "list", "table", "inet", "ipsec_" + tun_->name()});
  nft_read_ = std::chrono::steady_clock::now();
  if (o.exit_code != 0) return;
  uint64_t sums[2] = {};
  size_t pos = 0;
  while ((pos = o.output.find("counter packets ", pos)) != std::string::npos) {
    pos += 16;
    const uint64_t n = std::strtoull(o.output.c_str() + pos, nullptr, 10);
    const size_t eol = o.output.find('\n', pos);
    const std::string rest = o.output.substr(pos, eol == std::string::npos ? eol : eol - pos);
    if (rest.find("\"plaintext") != std::string::npos) sums[0] += n;
    if (rest.find("\"block") != std::string::npos) sums[1] += n;
  }
  nft_last_[0] = sums[0];
  nft_last_[1] = sums[1];
}

Status UserspaceBackend::OnFilterTable(const policy::Policy* policy,
                                       std::shared_ptr<const policy::Classifier> classifier) {
  std::lock_guard lock(network_mu_);
  {
    // The table is about to be replaced: keep what its counters counted.
    std::lock_guard nft(nft_mu_);
    ReadNftLocked();
    for (int i = 0; i < 2; ++i) {
      nft_base_[i] += nft_last_[i];
      nft_last_[i] = 0;
    }
  }
  // The classifier first: Apply routes the traffic to secure into the TUN before it replaces
  // the nftables table, and the data path must not take what arrives there meanwhile for
  // permitted traffic (the empty classifier's verdict) and send it in clear with the bypass
  // mark, which nftables lets out (at start-up, right after a restart).
  pipeline_->SetClassifier(classifier);
  Status applied = Status::Ok();
  if (classifier) {
    const PodNetworkPlan plan =
        BuildPodNetworkPlan({.tun_name = tun_->name(), .route_table = options_.route_table},
                            classifier->table(), policy);
    applied = network_->Apply(plan);
    if (!applied.ok()) {
      // The classifier still follows the policy: what reaches the TUN is decided right; the
      // service reports not ready (/readyz) with this error.
      pipeline_->Count(0, DropReason::kSendError);
    }
  }
  return applied;
}

Result<uint32_t> UserspaceBackend::AllocateSpi(SaProtocol protocol) {
  (void)protocol;
  std::lock_guard lock(spi_mu_);
  for (int attempt = 0; attempt < 64; ++attempt) {
    uint32_t spi = 0;
    options_.random->Fill(reinterpret_cast<uint8_t*>(&spi), sizeof(spi));
    // RFC 4303 §2.1: 1-255 are reserved by IANA, 0 is never sent.
    if (spi < 256 || reserved_spis_.count(spi) || sas_->SpiInUse(spi)) continue;
    reserved_spis_.insert(spi);
    return spi;
  }
  return MakeError(ErrorCode::kUnavailable, "no free SPI");
}

Status UserspaceBackend::AddSa(const SaConfig& sa) {
  Status s = sas_->AddSa(sa);
  {
    std::lock_guard lock(spi_mu_);
    if (sa.direction == SaDirection::kInbound) reserved_spis_.erase(sa.spi);
  }
  if (s.ok() && sa.bundle) LeaveRoomForBundles();
  if (s.ok() && sa.direction == SaDirection::kOutbound) RequestFlush();
  return s;
}

void UserspaceBackend::LeaveRoomForBundles() {
  std::lock_guard lock(mtu_mu_);
  if (bundle_mtu_) return;
  // The kernel sizes what enters the TUN by its MTU (and clamps the TCP MSS to it, pod_network):
  // with AH on top of ESP, 40 octets more than ESP's worst case must fit the smallest link.
  // Connections that already use a larger size get ICMP errors from the MTU guard. If the
  // change fails, the next bundled SA tries again; the MTU guard covers the meantime.
  const int mtu =
      CappedTunMtu(options_.tun_mtu, LinkMtuFloor(tun_->name()), esp::kMaxBundleOverhead);
  if (mtu < tun_->mtu() && !tun_->SetMtu(mtu).ok()) return;
  bundle_mtu_ = true;
}

void UserspaceBackend::RestoreMtuAfterBundles() {
  std::lock_guard lock(mtu_mu_);
  // A bundle's SAs are added before the SAs they replace are deleted (make-before-break), so a
  // rekey never lets the count reach zero. The check runs under the lock after the table
  // changed, so a bundled SA added meanwhile lowers the MTU again after this.
  if (!bundle_mtu_ || sas_->HasBundledOutbound()) return;
  const int mtu = CappedTunMtu(options_.tun_mtu, LinkMtuFloor(tun_->name()));
  if (mtu > tun_->mtu() && !tun_->SetMtu(mtu).ok()) return;  // tried again at the next delete
  bundle_mtu_ = false;
}

Status UserspaceBackend::UpdateSaEndpoints(SaProtocol protocol, uint32_t spi, const Endpoint& local,
                                           const Endpoint& remote, bool udp_encapsulation) {
  return sas_->UpdateEndpoints(protocol, spi, local, remote, udp_encapsulation);
}

Status UserspaceBackend::DeleteSa(SaProtocol protocol, uint32_t spi) {
  {
    std::lock_guard lock(spi_mu_);
    if (reserved_spis_.erase(spi) > 0 && !sas_->SpiInUse(spi)) return Status::Ok();
  }
  Status s = sas_->DeleteSa(protocol, spi);
  RestoreMtuAfterBundles();
  return s;
}

Status UserspaceBackend::AddPolicy(const PolicyConfig& policy) {
  if (policy.direction == SaDirection::kOutbound) {
    // FAQ 19: a default-response child SA's traffic is not routed into the TUN by the filter
    // table (its filters are dynamic): route it while the policy exists.
    std::vector<IpRange> destinations;
    for (const TrafficSelector& t : policy.remote_ts) destinations.push_back(t.addresses);
    std::lock_guard lock(network_mu_);
    if (Status s = network_->AddDynamicRoutes(policy.reqid, destinations); !s.ok()) return s;
  }
  Status s = sas_->AddPolicy(policy);
  if (s.ok() && policy.direction == SaDirection::kOutbound) RequestFlush();
  return s;
}

Status UserspaceBackend::DeletePolicy(uint32_t reqid, SaDirection direction) {
  Status s = sas_->DeletePolicy(reqid, direction);
  if (direction == SaDirection::kOutbound) {
    std::lock_guard lock(network_mu_);
    (void)network_->RemoveDynamicRoutes(reqid);
  }
  return s;
}

Status UserspaceBackend::SetClearFallback(const ClearFallback& fallback) {
  std::lock_guard lock(network_mu_);
  fallbacks_[{fallback.rule, fallback.peer}] = fallback;
  return ApplyClearFallbacksLocked();
}

Status UserspaceBackend::EndClearFallback(const std::string& rule, const IpAddress& peer) {
  std::lock_guard lock(network_mu_);
  if (fallbacks_.erase({rule, peer}) == 0) {
    return MakeError(ErrorCode::kNotFound,
                     "no fallback to clear for rule '" + rule + "' with " + peer.ToString());
  }
  return ApplyClearFallbacksLocked();
}

Status UserspaceBackend::ApplyClearFallbacksLocked() {
  const auto now = std::chrono::steady_clock::now();
  std::erase_if(fallbacks_, [&](const auto& entry) { return entry.second.until <= now; });
  std::vector<ClearFallback> live;
  for (const auto& [key, f] : fallbacks_) live.push_back(f);
  // nftables first: the replies to the packets flushed below must find the peer let in.
  Status s = network_->SetClearSources(live);
  pipeline_->SetClearFallbacks(std::move(live));
  RequestFlush();  // the packets that waited for IKE go now, in clear
  return s;
}

Result<SaCounters> UserspaceBackend::QuerySa(SaProtocol protocol, uint32_t spi) const {
  return sas_->Query(protocol, spi);
}

void UserspaceBackend::SetEvents(BackendEvents* events) { pipeline_->SetEvents(events); }

DataplaneCounters UserspaceBackend::Counters() const {
  DataplaneCounters c = pipeline_->Counters();
  std::lock_guard lock(nft_mu_);
  if (std::chrono::steady_clock::now() - nft_read_ >= kNftReadInterval) ReadNftLocked();
  if (EspIo* io = late_io_.io.load()) {
    c.drops[static_cast<int>(DropReason::kSendError)] += io->send_errors();
    const EspIo::OffloadStats o = io->offload_stats();
    c.offload = {.udp_gso_sends = o.gso_messages,
                 .udp_gso_segments = o.gso_segments,
                 .udp_gro_datagrams = o.gro_datagrams,
                 .udp_gro_segments = o.gro_segments,
                 .tun_merged_segments = o.tun_merged};
  }
  if (const MtuGuard* guard = pipeline_->mtu_guard()) {
    c.icmp_errors_sent = guard->icmp_sent();
    c.icmp_errors_suppressed = guard->icmp_suppressed();
  }
  c.drops[static_cast<int>(DropReason::kPlaintext)] += nft_base_[0] + nft_last_[0];
  c.drops[static_cast<int>(DropReason::kPolicyBlock)] += nft_base_[1] + nft_last_[1];
  return c;
}

std::vector<RulePeerTraffic> UserspaceBackend::RulePeerCounters() const {
  return sas_->RulePeerCounters();
}

}  // namespace ipsec::engine::dataplane::userspace
