#pragma once

// What the IKE lab benchmarks share (ike_setup_bench, ike_flood_bench): the strongSwan and
// daemon configurations of the bench connection (PSK, aes128gcm16-prfsha256-x25519, one child
// SA aes128gcm16 in tunnel mode between inner addresses, as charon's kernel-libipsec does tunnel
// mode only), and what they read of processes and namespaces (/proc).

#include <sys/types.h>

#include <string>

#include "tests/support/lab.h"
#include "tests/support/strongswan_config.h"

namespace ipsec::bench {

inline constexpr const char* kBenchPsk = "bench-psk-0123456789abcdef";
inline constexpr const char* kInitiatorInner = "10.199.1.1";
inline constexpr const char* kResponderInner = "10.199.2.1";

// A charon for load: quiet logs (or `verbose`), generous retransmits, a big IKE SA table.
testing::CharonOptions BenchCharonOptions(bool verbose);
// swanctl.conf of the connection "bench" (child "net") between `local` and `remote`.
testing::SwanctlConfig BenchSwanctl(bool initiator, const std::string& local,
                                    const std::string& remote);
// The daemon's policy "bench" (rule "tun") for the same connection with `peer_address`: the
// responder's, or (`initiator`) the initiator's side of it.
std::string BenchDaemonPolicy(const std::string& peer_address, bool initiator = false);
// Adds the inner address of pod `pod` (0: initiator, 1: responder) to its loopback.
bool AddInnerAddress(const testing::Lab& lab, int pod, std::string* error);

long RssKib(pid_t pid);        // VmRSS, KiB (0 if unreadable)
double CpuSeconds(pid_t pid);  // utime + stime of all threads, seconds
std::string Comm(pid_t pid);   // /proc/<pid>/comm
// UDP datagrams the kernel dropped for a full receive buffer in namespace `ns`
// (/proc/net/snmp Udp: RcvbufErrors); -1 if unreadable.
long UdpRcvbufErrors(const testing::Lab& lab, const std::string& ns);
std::string Format(const char* fmt, double v);

}  // namespace ipsec::bench
