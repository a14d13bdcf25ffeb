#include "tests/support/tshark.h"

#include <signal.h>
#include <sys/wait.h>

#include <filesystem>
#include <thread>

namespace ipsec::testing {
namespace {

constexpr char kAggregator = '\x1f';  // between occurrences of one field (never in values)

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t pos = s.find(sep, start);
    out.push_back(s.substr(start, pos - start));
    if (pos == std::string::npos) break;
    start = pos + 1;
  }
  return out;
}

// tshark's stderr lines that are not mere noise (the root warning).
std::string Problems(const std::string& err) {
  std::string out;
  for (const auto& line : Split(err, '\n')) {
    if (line.empty() || line.find("Running as user") != std::string::npos) continue;
    out += line + "\n";
  }
  return out;
}

}  // namespace

std::unique_ptr<Capture> Capture::Start(const std::string& netns, const std::string& interface,
                                        const std::string& pcap_path, std::string* error,
                                        const std::string& filter, std::chrono::seconds timeout) {
  if (Shell("command -v tcpdump >/dev/null").exit_code != 0) {
    *error = "tcpdump is missing: run scripts/install-deps.sh";
    return nullptr;
  }
  std::unique_ptr<Capture> capture(new Capture());
  capture->path_ = pcap_path;
  capture->log_path_ = pcap_path + ".tcpdump.log";
  // tcpdump, not dumpcap: dumpcap (Wireshark 4.0) has no immediate mode, so packets still in
  // the kernel's TPACKET_V3 block are lost when it stops. --immediate-mode -U: every packet
  // reaches the file at once. -Z root: no privilege drop (the file is in a root-only TempDir).
  // "listening on" marks the start. setpriv --pdeathsig: tcpdump dies with the test process.
  std::vector<std::string> argv = {
      "ip",      "netns", "exec",   netns,     "setpriv", "--pdeathsig",      "KILL",
      "tcpdump", "-n",    "-i",     interface, "-U",      "--immediate-mode", "-Z",
      "root",    "-w",    pcap_path};
  if (!filter.empty()) argv.push_back(filter);
  capture->process_ = std::make_unique<BackgroundProcess>(argv, capture->log_path_);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (capture->Output().find("listening on") != std::string::npos) return capture;
    if (!capture->process_->Running()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  *error =
      "tcpdump did not start capturing on " + netns + "/" + interface + ": " + capture->Output();
  return nullptr;
}

Capture::~Capture() {
  std::string ignored;
  if (!stopped_) Stop(&ignored, std::chrono::milliseconds(0));
}

bool Capture::Stop(std::string* error, std::chrono::milliseconds linger) {
  if (stopped_) return true;
  stopped_ = true;
  std::this_thread::sleep_for(linger);
  int status = process_->Stop(SIGINT, std::chrono::seconds(5));
  if (status == -1) {
    process_->Kill();
    *error = "tcpdump did not stop on SIGINT: " + Output();
    return false;
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    *error = "tcpdump ended with status " + std::to_string(status) + ": " + Output();
    return false;
  }
  return true;
}

std::string Capture::Output() const { return ReadFile(log_path_); }

bool DissectedPacket::Has(const std::string& field) const {
  auto it = fields.find(field);
  return it != fields.end() && !it->second.empty();
}

std::string DissectedPacket::Get(const std::string& field) const {
  auto it = fields.find(field);
  return it == fields.end() || it->second.empty() ? "" : it->second.front();
}

std::vector<std::string> DissectedPacket::All(const std::string& field) const {
  auto it = fields.find(field);
  return it == fields.end() ? std::vector<std::string>() : it->second;
}

Tshark::Tshark() : config_dir_(home_.path() + "/.config/wireshark") {
  std::filesystem::create_directories(config_dir_);
  preferences_["esp.enable_encryption_decode"] = "TRUE";
  preferences_["esp.enable_authentication_check"] = "TRUE";
}

bool Tshark::AddIkeSa(const IkeSaKeys& keys, std::string* error) {
  std::string line;
  if (!IkeDecryptionTableLine(keys, &line, error)) return false;
  ike_lines_.push_back(line);
  return true;
}

void Tshark::AddKeyTableText(const std::string& ikev2_decryption_table,
                             const std::string& esp_sa) {
  auto add = [](const std::string& text, std::vector<std::string>* lines) {
    size_t start = 0;
    while (start < text.size()) {
      size_t end = text.find('\n', start);
      if (end == std::string::npos) end = text.size();
      if (end > start) lines->push_back(text.substr(start, end - start));
      start = end + 1;
    }
  };
  add(ikev2_decryption_table, &ike_lines_);
  add(esp_sa, &esp_lines_);
}

bool Tshark::AddEspSa(const EspSaKeys& keys, std::string* error) {
  std::string line;
  if (!EspSaLine(keys, &line, error)) return false;
  esp_lines_.push_back(line);
  return true;
}

void Tshark::SetPreference(const std::string& name, const std::string& value) {
  preferences_[name] = value;
}

void Tshark::WriteFiles() const {
  std::string prefs = "# Written by tests/support/tshark.cc\n";
  for (const auto& [k, v] : preferences_) prefs += k + ": " + v + "\n";
  WriteFile(config_dir_ + "/preferences", prefs);
  std::string ike, esp;
  for (const auto& l : ike_lines_) ike += l + "\n";
  for (const auto& l : esp_lines_) esp += l + "\n";
  WriteFile(config_dir_ + "/ikev2_decryption_table", ike);
  WriteFile(config_dir_ + "/esp_sa", esp);
}

CommandResult Tshark::Run(const std::vector<std::string>& args) const {
  WriteFiles();
  std::vector<std::string> argv = {"env", "HOME=" + home_.path(),
                                   "XDG_CONFIG_HOME=" + home_.path() + "/.config", "tshark"};
  argv.insert(argv.end(), args.begin(), args.end());
  return ipsec::testing::Run(argv, "", std::chrono::seconds(60));
}

bool Tshark::Dissect(const std::string& pcap, const std::string& display_filter,
                     const std::vector<std::string>& fields, std::vector<DissectedPacket>* packets,
                     std::string* error) const {
  std::vector<std::string> args = {"-n",
                                   "-r",
                                   pcap,
                                   "-T",
                                   "fields",
                                   "-E",
                                   "separator=/t",
                                   "-E",
                                   "occurrence=a",
                                   "-E",
                                   std::string("aggregator=") + kAggregator};
  if (!display_filter.empty()) args.insert(args.end(), {"-Y", display_filter});
  for (const auto& f : fields) args.insert(args.end(), {"-e", f});
  CommandResult r = Run(args);
  std::string problems = Problems(r.err);
  if (r.exit_code != 0 || !problems.empty()) {
    *error = "tshark " + pcap + " (exit " + std::to_string(r.exit_code) + "): " + problems;
    return false;
  }
  for (const auto& line : Split(r.out, '\n')) {
    if (line.empty()) continue;
    std::vector<std::string> cells = Split(line, '\t');
    DissectedPacket packet;
    for (size_t i = 0; i < fields.size() && i < cells.size(); ++i) {
      if (!cells[i].empty()) packet.fields[fields[i]] = Split(cells[i], kAggregator);
    }
    packets->push_back(std::move(packet));
  }
  return true;
}

std::string Tshark::Summary(const std::string& pcap, const std::string& display_filter) const {
  std::vector<std::string> args = {"-n", "-r", pcap};
  if (!display_filter.empty()) args.insert(args.end(), {"-Y", display_filter});
  CommandResult r = Run(args);
  return r.out + Problems(r.err);
}

}  // namespace ipsec::testing
