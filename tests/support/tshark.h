#pragma once

// Packet capture inside a lab namespace (tcpdump) and decoding with tshark, the lab's
// independent decoder of IKEv2 and ESP (docs/lab.md). Tshark runs with a private
// configuration directory per instance (HOME and XDG_CONFIG_HOME point into a TempDir), so
// key tables and preferences never leak between runs or into the user's profile.
//
//   auto capture = Capture::Start(lab.node(), "vn1abc123", dir + "/x.pcap", &error);
//   ... traffic ...
//   capture->Stop(&error);
//   Tshark tshark;
//   tshark.AddEspSa(keys);
//   auto packets = tshark.Dissect(capture->path(), "icmp", {"ip.src", "icmp.type"}, &error);
//   EXPECT_EQ(packets[0].Get("icmp.type"), "8");

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/process.h"
#include "tests/support/tshark_keys.h"

namespace ipsec::testing {

// tcpdump on `interface` inside network namespace `netns`, writing a pcap (immediate mode:
// each packet is in the file as soon as it is seen). Stopped by PID (SIGINT), also when
// destroyed.
class Capture {
 public:
  // Returns nullptr with `error` when tcpdump is missing or does not start capturing within
  // `timeout`. `filter` is a capture filter (BPF syntax), empty for everything.
  static std::unique_ptr<Capture> Start(const std::string& netns, const std::string& interface,
                                        const std::string& pcap_path, std::string* error,
                                        const std::string& filter = "",
                                        std::chrono::seconds timeout = std::chrono::seconds(10));
  ~Capture();
  Capture(const Capture&) = delete;
  Capture& operator=(const Capture&) = delete;

  // Waits `linger` for packets still in flight, then SIGINT and waits for tcpdump to write
  // and exit. False with `error` (tcpdump's output) when it did not end cleanly.
  bool Stop(std::string* error, std::chrono::milliseconds linger = std::chrono::milliseconds(200));
  const std::string& path() const { return path_; }
  std::string Output() const;  // tcpdump's own messages (packet counts, errors)

 private:
  Capture() = default;
  std::string path_;
  std::string log_path_;
  std::unique_ptr<BackgroundProcess> process_;
  bool stopped_ = false;
};

// One packet's dissected fields: each requested field with all its occurrences in the packet
// (a field that occurs twice, e.g. ip.src in ESP-in-UDP decrypted to an inner IP packet, has
// two values, outer first).
struct DissectedPacket {
  std::map<std::string, std::vector<std::string>> fields;

  bool Has(const std::string& field) const;
  // First occurrence, or "" when absent.
  std::string Get(const std::string& field) const;
  std::vector<std::string> All(const std::string& field) const;
};

class Tshark {
 public:
  Tshark();  // a fresh private profile; ESP decryption and ICV checking switched on
  Tshark(const Tshark&) = delete;
  Tshark& operator=(const Tshark&) = delete;

  // Key tables; false with `error` for an algorithm tshark 4.0 cannot decrypt.
  bool AddIkeSa(const IkeSaKeys& keys, std::string* error);
  bool AddEspSa(const EspSaKeys& keys, std::string* error);
  // Lines of key tables as a key export wrote them (our sidecar's --debug-export-keys-dir
  // files), taken as they are: empty lines are dropped.
  void AddKeyTableText(const std::string& ikev2_decryption_table, const std::string& esp_sa);
  // A preference line "name: value" (e.g. "isakmp.udp_port: 500").
  void SetPreference(const std::string& name, const std::string& value);

  // tshark -r `pcap` [-Y `display_filter`] -T fields -e ... ; one DissectedPacket per packet
  // that matches. False with `error` (tshark's stderr) when tshark fails or reports a key
  // table it could not load.
  bool Dissect(const std::string& pcap, const std::string& display_filter,
               const std::vector<std::string>& fields, std::vector<DissectedPacket>* packets,
               std::string* error) const;
  // One summary line per packet (tshark's default output), for failure messages.
  std::string Summary(const std::string& pcap, const std::string& display_filter = "") const;
  // tshark with these arguments and the private profile.
  CommandResult Run(const std::vector<std::string>& args) const;

  const std::string& config_dir() const { return config_dir_; }

 private:
  void WriteFiles() const;
  TempDir home_;
  std::string config_dir_;
  std::vector<std::string> ike_lines_;
  std::vector<std::string> esp_lines_;
  std::map<std::string, std::string> preferences_;
};

}  // namespace ipsec::testing
