#pragma once

// Parses `swanctl --list-sas --pretty` into structs, so an interop test can assert on what
// strongSwan negotiated ("ESTABLISHED, AES_GCM_16/128, child INSTALLED, encap"). The pretty
// form is used, not --raw: raw prints `key=value` separated by spaces, which is ambiguous for
// values with spaces (DN identities "C=CH, O=x, CN=y"); pretty puts one value per line.
// Pure: no I/O. Samples of real output are under tests/support/testdata/.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ipsec::testing {

// One section of a vici message as swanctl --pretty prints it:
//   name {
//     key = value
//     list = [
//       item
//     ]
//     sub { ... }
//   }
struct ViciSection {
  std::string name;
  std::vector<std::pair<std::string, std::string>> values;
  std::vector<std::pair<std::string, std::vector<std::string>>> lists;
  std::vector<ViciSection> sections;

  // nullptr when absent.
  const std::string* Value(std::string_view key) const;
  const std::vector<std::string>* List(std::string_view key) const;
  const ViciSection* Section(std::string_view name) const;
};

// Parses every top-level message ("list-sa event { ... }", "list-sas reply { }"). Returns false
// and sets `error` (with the line number) on malformed input.
bool ParseViciPretty(std::string_view text, std::vector<ViciSection>* messages, std::string* error);

struct ChildSaInfo {
  std::string key;   // section name, e.g. "c1-2"
  std::string name;  // child config name
  uint32_t unique_id = 0;
  uint32_t reqid = 0;
  std::string state;     // INSTALLED, REKEYED, DELETED, ...
  std::string mode;      // TUNNEL, TRANSPORT
  std::string protocol;  // ESP, AH
  bool encap = false;    // UDP-encapsulated (always with kernel-libipsec)
  std::string spi_in;    // 8 hex digits as printed
  std::string spi_out;
  std::string encr_alg;  // e.g. AES_GCM_16, AES_CBC
  int encr_keysize = 0;
  std::string integ_alg;  // e.g. HMAC_SHA2_256_128; empty for AEAD
  int integ_keysize = 0;
  std::string dh_group;  // set when the child SA used PFS
  uint64_t bytes_in = 0, packets_in = 0, bytes_out = 0, packets_out = 0;
  int64_t rekey_time = -1, life_time = -1, install_time = -1;  // seconds, -1 if absent
  std::vector<std::string> local_ts, remote_ts;
  ViciSection raw;

  bool installed() const { return state == "INSTALLED"; }
};

struct IkeSaInfo {
  std::string name;
  uint32_t unique_id = 0;
  int version = 0;
  std::string state;  // ESTABLISHED, CONNECTING, REKEYING, DELETING, ...
  std::string local_host, remote_host;
  int local_port = 0, remote_port = 0;
  std::string local_id, remote_id;
  bool initiator = false;
  std::string initiator_spi, responder_spi;  // 16 hex digits as printed
  bool nat_local = false, nat_remote = false, nat_fake = false, nat_any = false;
  std::string encr_alg;
  int encr_keysize = 0;
  std::string integ_alg;
  int integ_keysize = 0;
  std::string prf_alg;
  std::string dh_group;
  int64_t established = -1, rekey_time = -1, reauth_time = -1;  // seconds
  std::vector<ChildSaInfo> child_sas;
  ViciSection raw;

  bool established_state() const { return state == "ESTABLISHED"; }
  // The installed child SA of config `name`, else nullptr.
  const ChildSaInfo* InstalledChild(std::string_view name) const;
};

// Parses the output of `swanctl --list-sas --pretty` (one "list-sa event" per IKE SA).
bool ParseListSas(std::string_view pretty, std::vector<IkeSaInfo>* sas, std::string* error);

// One line per SA, for test failure messages.
std::string DescribeSas(const std::vector<IkeSaInfo>& sas);

}  // namespace ipsec::testing
