#pragma once

// strongSwan configuration for the interop lab (docs/lab.md), described in C++ and rendered to
// text: strongswan.conf for one charon (CharonOptions) and swanctl.conf with its credential
// files (SwanctlConfig). Pure functions, no I/O: the Charon fixture (strongswan.h) writes the
// files and loads them. Values are strongSwan's own syntax (proposal strings such as
// "aes128gcm16-prfsha256-x25519", durations such as "30s"), so a test reads like a swanctl.conf.

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace ipsec::testing {

using KeyValues = std::vector<std::pair<std::string, std::string>>;

// The plugins every lab charon loads, in this order. kernel-libipsec comes before
// kernel-netlink: the first kernel-ipsec backend loaded wins, and this kernel has no ESP
// (LAB-NOTES.md), so charon's ESP runs in user space over its TUN device ipsec0.
extern const char* const kCharonPlugins;

// strongswan.conf settings of one charon (the `charon { }` section).
struct CharonOptions {
  // filelog levels per subsystem (-1 silent .. 4 raw); "default" applies to the rest.
  std::map<std::string, int> log_levels = {{"default", 1}, {"ike", 2}, {"cfg", 2},
                                           {"knl", 1},     {"net", 1}, {"enc", 1},
                                           {"chd", 2},     {"mgr", 1}, {"lib", 1}};
  // Logs the derived IKE and child SA keys (ike and chd at level 4) so that
  // CharonKeysFromLog (charon_keys.h) can hand them to tshark. Noisy; off by default.
  bool log_keys = false;
  int port = 500;
  int port_nat_t = 4500;
  // Short retransmits so a test with a dead or lossy peer ends quickly: timeouts at
  // timeout * base^n for n <= tries, i.e. about 1 + 1.4 + 2 s with the defaults.
  double retransmit_timeout = 1.0;
  double retransmit_base = 1.4;
  int retransmit_tries = 2;
  // IKEv2 DoS protection (cookies, blocking); relax for load tests.
  bool dos_protection = true;
  std::optional<int> cookie_threshold;
  std::optional<int> block_threshold;
  std::optional<int> init_limit_half_open;
  std::optional<int> ikesa_table_size;  // power of two
  bool reuse_ikesa = true;              // no: each initiate opens a new IKE SA
  bool make_before_break = true;
  // Worker threads. Not fewer than 16: receivers (sockets, netlink, TUN), the scheduler and
  // vici hold threads for good, and with 8 vici requests hang unanswered.
  int threads = 16;
  // Extra `key = value` lines inside charon { }, and inside charon.plugins { <plugin> { } }.
  KeyValues extra;
  std::map<std::string, KeyValues> plugin_settings;
};

// Renders strongswan.conf. `dir` holds the log (charon.log), the vici socket (charon.vici) and
// the resolv.conf the resolve plugin would write (never /etc/resolv.conf).
std::string RenderStrongswanConf(const CharonOptions& options, const std::string& dir);
std::string CharonLogPath(const std::string& dir);
std::string CharonViciUri(const std::string& dir);

// One side of an IKE SA's authentication round (swanctl.conf local{} / remote{}).
struct AuthConfig {
  std::string auth = "psk";          // psk | pubkey | ...
  std::string id;                    // IKE identity: FQDN, address, DN ("C=CH, O=x, CN=y")
  std::vector<std::string> certs;    // local: file names in swanctl/x509
  std::vector<std::string> cacerts;  // remote: require a chain to these (swanctl/x509ca)
  KeyValues extra;
};

enum class StartAction { kNone, kTrap, kStart };

struct ChildConfig {
  std::string name;
  std::vector<std::string> local_ts;  // empty: the IKE address
  std::vector<std::string> remote_ts;
  std::string esp_proposals = "aes128gcm16";
  std::string mode = "tunnel";  // kernel-libipsec supports tunnel mode only
  std::string rekey_time;       // e.g. "1h"; empty: strongSwan's default
  std::string life_time;
  StartAction start_action = StartAction::kNone;
  std::string dpd_action;    // clear | trap | restart
  std::string close_action;  // none | clear | trap | start
  KeyValues extra;
};

struct ConnectionConfig {
  std::string name;
  int version = 2;
  std::vector<std::string> local_addrs;
  std::vector<std::string> remote_addrs;  // empty: %any (responder only)
  std::string proposals = "aes128gcm16-prfsha256-x25519";
  AuthConfig local;
  AuthConfig remote;
  std::vector<ChildConfig> children;
  std::optional<bool> encap;  // force UDP encapsulation (NAT-T even without NAT)
  std::string fragmentation;  // yes | accept | force | no
  std::string dpd_delay;      // e.g. "2s"
  std::string rekey_time;     // IKE SA rekey
  std::string over_time;
  std::string reauth_time;
  std::string unique = "never";  // never | no | keep | replace
  std::optional<bool> mobike = false;
  KeyValues extra;
};

// A PSK for the IKE SAs between `ids` (swanctl.conf secrets { ike-<name> { } }).
struct SharedKey {
  std::string name;
  std::vector<std::string> ids;
  std::string secret;
};

// A PEM file in swanctl's credential directories: "x509" (own certificates), "x509ca" (trusted
// CAs), "private" (private keys of any type).
struct CredentialFile {
  std::string dir;
  std::string name;
  std::string pem;
};

struct SwanctlConfig {
  std::vector<ConnectionConfig> connections;
  std::vector<SharedKey> shared_keys;
  std::vector<CredentialFile> files;

  void AddCert(const std::string& name, const std::string& pem) {
    files.push_back({"x509", name, pem});
  }
  void AddCaCert(const std::string& name, const std::string& pem) {
    files.push_back({"x509ca", name, pem});
  }
  void AddPrivateKey(const std::string& name, const std::string& pem) {
    files.push_back({"private", name, pem});
  }
};

std::string RenderSwanctlConf(const SwanctlConfig& config);

// A value as swanctl.conf reads it: quoted, with " and \ escaped.
std::string QuoteSwanctlValue(const std::string& value);
const char* StartActionName(StartAction action);

}  // namespace ipsec::testing
