#include "engine/net/udp_transport.h"

#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <exception>
#include <string>
#include <utility>

#include "engine/net/socket_address.h"
#include "engine/net/udp_socket.h"

namespace ipsec::engine::net {

namespace {

// Attempts to find one ephemeral port free on every address.
constexpr int kEphemeralBindAttempts = 8;

class AtomicCounter {
 public:
  void Add(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

// False on a kernel without IPv6 (booted with ipv6.disable=1): the default addresses then
// leave out ::, rather than failing to open.
bool Ipv6Supported() {
  const int fd = ::socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno != EAFNOSUPPORT;
  ::close(fd);
  return true;
}

}  // namespace

struct UdpTransport::Impl : std::enable_shared_from_this<Impl> {
  Impl(EventLoop& l, UdpTransportOptions o) : loop(l), options(std::move(o)) {}

  struct Bound {
    std::unique_ptr<UdpSocket> socket;
    bool nat_t = false;
  };

  // Binds `port` on every local address; for port 0, the port the first bind chose on all.
  static Result<uint16_t> BindPort(boost::asio::io_context& context,
                                   const UdpTransportOptions& options, uint16_t port, bool nat_t,
                                   std::vector<Bound>& out);
  // Receive path; must run on the loop thread.
  void StartOnLoop(UdpTransportHandlers handlers);
  void ArmRead(size_t index);
  void OnReadable(size_t index);
  void Dispatch(const Bound& bound, ByteSpan data, const UdpSocket::Received& info);
  // Holds its own reference to `handler`, which may replace or release itself (SetEspHandler,
  // Close) while it runs.
  void Deliver(std::shared_ptr<const DatagramHandler> handler, Datagram datagram);
  void CloseOnLoop();
  // Any thread.
  const Bound* FindSocket(const Endpoint& local) const;
  void Send(const Endpoint& local, const Endpoint& remote, std::span<const ByteSpan> parts,
            AtomicCounter* kind_counter);

  EventLoop& loop;
  const UdpTransportOptions options;
  std::vector<Bound> sockets;  // fixed once Open returns
  uint16_t ike_port = 0;
  uint16_t nat_t_port = 0;
  std::atomic<bool> closed{false};

  // Loop thread only.
  bool started = false;
  std::shared_ptr<const DatagramHandler> ike_handler;  // null: none
  std::shared_ptr<const DatagramHandler> esp_handler;
  Bytes buffer;

  struct {
    AtomicCounter received, ike_received, esp_received, keepalives_received, malformed, too_large,
        unhandled, handler_errors, receive_errors, kernel_drops, sent, keepalives_sent, esp_sent,
        send_errors;
  } counters;
};

Result<std::unique_ptr<UdpTransport>> UdpTransport::Open(EventLoop& loop,
                                                         UdpTransportOptions options) {
  if (options.max_datagram_size == 0 || options.max_datagram_size > kMaxDatagramSize) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "max_datagram_size must be 1.." + std::to_string(kMaxDatagramSize));
  }
  if (options.receive_buffer_bytes < 0) {
    return MakeError(ErrorCode::kInvalidArgument, "receive_buffer_bytes must not be negative");
  }
  if (options.receive_batch == 0) {
    return MakeError(ErrorCode::kInvalidArgument, "receive_batch must be at least 1");
  }
  if (options.ike_port != 0 && options.ike_port == options.nat_t_port) {
    return MakeError(ErrorCode::kInvalidArgument, "the IKE and NAT-T ports must differ");
  }
  if (options.local_addresses.empty()) {
    options.local_addresses = {AnyAddress(IpFamily::kV4)};
    if (Ipv6Supported()) options.local_addresses.push_back(AnyAddress(IpFamily::kV6));
  }
  auto impl = std::make_shared<Impl>(loop, std::move(options));
  const UdpTransportOptions& o = impl->options;
  Result<uint16_t> ike = Impl::BindPort(loop.context(), o, o.ike_port, false, impl->sockets);
  if (!ike.ok()) return ike.error();
  Result<uint16_t> nat_t = Impl::BindPort(loop.context(), o, o.nat_t_port, true, impl->sockets);
  if (!nat_t.ok()) {
    for (Impl::Bound& bound : impl->sockets) bound.socket->Close();
    return nat_t.error();
  }
  impl->ike_port = *ike;
  impl->nat_t_port = *nat_t;
  impl->buffer.resize(impl->options.max_datagram_size);
  return std::unique_ptr<UdpTransport>(new UdpTransport(std::move(impl)));
}

Result<uint16_t> UdpTransport::Impl::BindPort(boost::asio::io_context& context,
                                              const UdpTransportOptions& options, uint16_t port,
                                              bool nat_t, std::vector<Bound>& out) {
  Error last;
  for (int attempt = 0; attempt < kEphemeralBindAttempts; ++attempt) {
    std::vector<Bound> bound;
    uint16_t chosen = port;
    bool failed = false;
    for (const IpAddress& address : options.local_addresses) {
      Result<std::unique_ptr<UdpSocket>> socket =
          UdpSocket::Bind(context, {address, chosen}, options.receive_buffer_bytes, nat_t,
                          nat_t ? options.nat_t_mark : 0);
      if (!socket.ok()) {
        last = socket.error();
        failed = true;
        break;
      }
      if (chosen == 0) chosen = (*socket)->local().port;
      bound.push_back({std::move(socket).value(), nat_t});
    }
    if (!failed) {
      for (auto& b : bound) out.push_back(std::move(b));
      return chosen;
    }
    for (auto& b : bound) b.socket->Close();
    // A fixed port will not come free by retrying; an ephemeral one taken on a later address
    // (another family) may be free elsewhere.
    if (port != 0 || bound.empty()) break;
  }
  return last;
}

UdpTransport::UdpTransport(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

UdpTransport::~UdpTransport() { Close(); }

void UdpTransport::Start(UdpTransportHandlers handlers) {
  // Weak: nothing queued on the loop keeps the sockets alive past the transport.
  auto start = [weak = std::weak_ptr<Impl>(impl_), handlers = std::move(handlers)]() mutable {
    if (std::shared_ptr<Impl> impl = weak.lock()) impl->StartOnLoop(std::move(handlers));
  };
  if (impl_->loop.InLoopThread()) {
    start();
  } else {
    impl_->loop.Post(std::move(start));
  }
}

namespace {
std::shared_ptr<const DatagramHandler> Share(DatagramHandler handler) {
  if (!handler) return nullptr;
  return std::make_shared<const DatagramHandler>(std::move(handler));
}
}  // namespace

void UdpTransport::SetEspHandler(DatagramHandler esp) {
  impl_->esp_handler = Share(std::move(esp));
}

void UdpTransport::Close() {
  if (impl_->closed.exchange(true)) return;
  auto close = [impl = impl_] { impl->CloseOnLoop(); };
  if (impl_->loop.InLoopThread()) {
    close();
  } else if (!impl_->loop.RunSync(close).ok()) {
    close();  // the loop thread has exited: nothing else touches the sockets
  }
}

void UdpTransport::Impl::StartOnLoop(UdpTransportHandlers handlers) {
  if (closed.load() || started) return;
  started = true;
  ike_handler = Share(std::move(handlers.ike));
  if (handlers.esp) esp_handler = Share(std::move(handlers.esp));
  for (size_t i = 0; i < sockets.size(); ++i) ArmRead(i);
}

void UdpTransport::Impl::ArmRead(size_t index) {
  std::weak_ptr<Impl> weak = weak_from_this();
  sockets[index].socket->WaitReadable([weak, index](bool readable) {
    std::shared_ptr<Impl> self = weak.lock();
    if (!readable || !self || self->closed.load()) return;
    self->OnReadable(index);
  });
}

void UdpTransport::Impl::OnReadable(size_t index) {
  const Bound& bound = sockets[index];
  for (size_t i = 0; i < options.receive_batch && !closed.load(); ++i) {
    UdpSocket::Received info;
    const int error = bound.socket->Receive(buffer, info);
    if (error == EAGAIN) break;
    if (error != 0) {
      counters.receive_errors.Add();
      continue;
    }
    counters.received.Add();
    if (info.kernel_drops != 0) counters.kernel_drops.Add(info.kernel_drops);
    if (info.truncated) {
      counters.too_large.Add();
      continue;
    }
    Dispatch(bound, ByteSpan(buffer.data(), info.size), info);
  }
  // Re-armed even after a full batch: the wait completes at once and other work gets a turn.
  if (!closed.load()) ArmRead(index);
}

void UdpTransport::Impl::Dispatch(const Bound& bound, ByteSpan data,
                                  const UdpSocket::Received& info) {
  auto make = [&](ByteSpan payload) {
    return Datagram{info.local, info.remote, Bytes(payload.begin(), payload.end()), bound.nat_t};
  };
  if (!bound.nat_t) {  // UDP 500: IKE as it is (RFC 7296 §2)
    if (data.empty()) {
      counters.malformed.Add();
      return;
    }
    counters.ike_received.Add();
    Deliver(ike_handler, make(data));
    return;
  }
  const NatTDatagram classified = ClassifyNatTDatagram(data);
  switch (classified.kind) {
    case NatTDatagramKind::kIke:
      counters.ike_received.Add();
      Deliver(ike_handler, make(classified.payload));
      return;
    case NatTDatagramKind::kEsp:
      counters.esp_received.Add();
      Deliver(esp_handler, make(classified.payload));
      return;
    case NatTDatagramKind::kKeepalive:
      counters.keepalives_received.Add();
      return;
    case NatTDatagramKind::kMalformed:
      counters.malformed.Add();
      return;
  }
}

void UdpTransport::Impl::Deliver(std::shared_ptr<const DatagramHandler> handler,
                                 Datagram datagram) {
  if (!handler) {
    counters.unhandled.Add();
    return;
  }
  try {
    (*handler)(std::move(datagram));
  } catch (...) {  // a handler bug must not stop the receive loop
    counters.handler_errors.Add();
  }
}

void UdpTransport::Impl::CloseOnLoop() {
  for (Bound& bound : sockets) bound.socket->Close();
  // Released here, on the loop thread, where whatever they captured lives.
  ike_handler = nullptr;
  esp_handler = nullptr;
}

const UdpTransport::Impl::Bound* UdpTransport::Impl::FindSocket(const Endpoint& local) const {
  const Bound* wildcard = nullptr;
  for (const Bound& bound : sockets) {
    const Endpoint& own = bound.socket->local();
    if (own.port != local.port || own.address.family() != local.address.family()) continue;
    if (own.address == local.address) return &bound;
    if (wildcard == nullptr && (bound.socket->is_wildcard() || IsUnspecified(local.address))) {
      wildcard = &bound;
    }
  }
  return wildcard;
}

void UdpTransport::Impl::Send(const Endpoint& local, const Endpoint& remote,
                              std::span<const ByteSpan> parts, AtomicCounter* kind_counter) {
  size_t size = 0;
  for (ByteSpan part : parts) size += part.size();
  if (size > options.max_datagram_size) {
    counters.too_large.Add();
    counters.send_errors.Add();
    return;
  }
  const Bound* bound = closed.load() ? nullptr : FindSocket(local);
  if (bound == nullptr || bound->socket->Send(local.address, remote, parts) != 0) {
    counters.send_errors.Add();
    return;
  }
  counters.sent.Add();
  if (kind_counter != nullptr) kind_counter->Add();
}

void UdpTransport::SendIke(const Endpoint& local, const Endpoint& remote, ByteSpan message) {
  if (local.port == impl_->nat_t_port) {  // RFC 3948 §2.2: marker, then the IKE header
    const std::array<ByteSpan, 2> parts = {ByteSpan(kNonEspMarker), message};
    impl_->Send(local, remote, parts, nullptr);
  } else {
    const std::array<ByteSpan, 1> parts = {message};
    impl_->Send(local, remote, parts, nullptr);
  }
}

void UdpTransport::SendNatKeepalive(const Endpoint& local, const Endpoint& remote) {
  static constexpr uint8_t kKeepalive[1] = {kNatKeepalive};
  if (local.port != impl_->nat_t_port) {  // RFC 3948 §2.3: keepalives belong to the NAT-T port
    impl_->counters.send_errors.Add();
    return;
  }
  const std::array<ByteSpan, 1> parts = {ByteSpan(kKeepalive)};
  impl_->Send(local, remote, parts, &impl_->counters.keepalives_sent);
}

void UdpTransport::SendEsp(const Endpoint& local, const Endpoint& remote, ByteSpan packet) {
  if (local.port != impl_->nat_t_port || packet.size() < kMinEspSize) {
    impl_->counters.send_errors.Add();
    return;
  }
  const std::array<ByteSpan, 1> parts = {packet};
  impl_->Send(local, remote, parts, &impl_->counters.esp_sent);
}

uint16_t UdpTransport::ike_port() const { return impl_->ike_port; }
uint16_t UdpTransport::nat_t_port() const { return impl_->nat_t_port; }

std::vector<Endpoint> UdpTransport::local_endpoints() const {
  std::vector<Endpoint> out;
  for (const Impl::Bound& bound : impl_->sockets) out.push_back(bound.socket->local());
  return out;
}

UdpTransportCounters UdpTransport::counters() const {
  const auto& c = impl_->counters;
  UdpTransportCounters out;
  out.received = c.received.Value();
  out.ike_received = c.ike_received.Value();
  out.esp_received = c.esp_received.Value();
  out.keepalives_received = c.keepalives_received.Value();
  out.malformed = c.malformed.Value();
  out.too_large = c.too_large.Value();
  out.unhandled = c.unhandled.Value();
  out.handler_errors = c.handler_errors.Value();
  out.receive_errors = c.receive_errors.Value();
  out.kernel_drops = c.kernel_drops.Value();
  out.sent = c.sent.Value();
  out.keepalives_sent = c.keepalives_sent.Value();
  out.esp_sent = c.esp_sent.Value();
  out.send_errors = c.send_errors.Value();
  return out;
}

}  // namespace ipsec::engine::net
