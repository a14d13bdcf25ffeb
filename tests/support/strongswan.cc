#include "tests/support/strongswan.h"

#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <sstream>
#include <thread>

namespace ipsec::testing {
namespace {

constexpr char kCharonBinary[] = "/usr/lib/ipsec/charon";
constexpr char kPluginDir[] = "/usr/lib/ipsec/plugins";
const char* const kCredentialDirs[] = {"x509",    "x509ca", "x509ocsp", "x509aa", "x509ac",
                                       "x509crl", "pubkey", "private",  "rsa",    "ecdsa",
                                       "bliss",   "pkcs8",  "pkcs12"};

std::vector<std::string> Words(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

std::string Tail(const std::string& text, int lines) {
  size_t pos = text.size();
  for (int i = 0; i <= lines && pos != std::string::npos && pos > 0; ++i) {
    pos = text.rfind('\n', pos - 1);
  }
  return pos == std::string::npos ? text : text.substr(pos + 1);
}

}  // namespace

std::string MissingStrongswanPrerequisites() {
  std::string missing;
  if (geteuid() != 0) missing += " root (namespaces, mounts, TUN);";
  for (const char* tool : {"ip", "setpriv", "unshare", "mount", "swanctl"}) {
    if (Shell(std::string("command -v ") + tool + " >/dev/null").exit_code != 0) {
      missing += std::string(" ") + tool + ";";
    }
  }
  if (access(kCharonBinary, X_OK) != 0) missing += std::string(" ") + kCharonBinary + ";";
  for (const auto& plugin : Words(kCharonPlugins)) {
    std::string path = std::string(kPluginDir) + "/libstrongswan-" + plugin + ".so";
    if (access(path.c_str(), R_OK) != 0) missing += " charon plugin " + plugin + ";";
  }
  if (access("/dev/net/tun", R_OK | W_OK) != 0) missing += " /dev/net/tun (kernel-libipsec);";
  if (missing.empty()) return "";
  return "the strongSwan interop lab is missing:" + missing +
         " run scripts/install-deps.sh as root (packages strongswan-charon strongswan-swanctl "
         "libstrongswan-standard-plugins libcharon-extra-plugins libstrongswan-extra-plugins)";
}

std::unique_ptr<Charon> Charon::Start(const std::string& netns, const std::string& label,
                                      const CharonOptions& options, std::string* error,
                                      std::chrono::seconds timeout) {
  std::string missing = MissingStrongswanPrerequisites();
  if (!missing.empty()) {
    *error = missing;
    return nullptr;
  }
  std::unique_ptr<Charon> charon(new Charon());
  charon->netns_ = netns;
  charon->label_ = label;
  const std::string& dir = charon->dir();
  std::filesystem::create_directories(dir + "/run");
  for (const char* sub : kCredentialDirs) {
    std::filesystem::create_directories(charon->swanctl_dir() + "/" + sub);
  }
  WriteFile(dir + "/strongswan.conf", RenderStrongswanConf(options, dir));
  // The pid file (/var/run/charon.pid) is compiled in: a private /run per charon. unshare -m
  // makes mounts private, so the bind mount stays inside this charon's mount namespace.
  // setpriv --pdeathsig: charon dies with the test process, even when that crashes.
  const std::string script =
      "mount --bind \"$1\" /run && exec env STRONGSWAN_CONF=\"$2\" " + std::string(kCharonBinary);
  std::vector<std::string> argv = {
      "ip", "netns", "exec", netns, "setpriv",    "--pdeathsig",           "KILL", "unshare", "-m",
      "sh", "-c",    script, "sh",  dir + "/run", dir + "/strongswan.conf"};
  charon->process_ = std::make_unique<BackgroundProcess>(argv, dir + "/charon.stdout");
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!charon->process_->Running()) break;
    if (charon->Swanctl({"--stats"}, std::chrono::seconds(5)).exit_code == 0) return charon;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  *error = "charon '" + label + "' in " + netns +
           " did not come up: " + ReadFile(dir + "/charon.stdout") + "\n--- charon.log ---\n" +
           charon->LogTail();
  return nullptr;
}

Charon::~Charon() {
  if (process_ && process_->Running()) Stop();
}

std::vector<std::string> Charon::Environment() const {
  return {"env", "STRONGSWAN_CONF=" + dir() + "/strongswan.conf", "SWANCTL_DIR=" + swanctl_dir()};
}

CommandResult Charon::Swanctl(const std::vector<std::string>& args,
                              std::chrono::seconds timeout) const {
  std::vector<std::string> argv = Environment();
  argv.push_back("swanctl");
  argv.insert(argv.end(), args.begin(), args.end());
  argv.insert(argv.end(), {"--uri", vici_uri()});  // after the command, as swanctl wants it
  return Run(argv, "", timeout);
}

bool Charon::Load(const SwanctlConfig& config, std::string* error) {
  for (const char* sub : kCredentialDirs) {
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(swanctl_dir() + "/" + sub, ec)) {
      std::filesystem::remove(entry.path(), ec);
    }
  }
  for (const auto& file : config.files) {
    WriteFile(swanctl_dir() + "/" + file.dir + "/" + file.name, file.pem);
  }
  std::string conf = swanctl_dir() + "/swanctl.conf";
  WriteFile(conf, RenderSwanctlConf(config));
  CommandResult r = Swanctl({"--load-all", "--noprompt", "--file", conf});
  if (r.exit_code != 0) {
    *error = "charon '" + label_ + "': swanctl --load-all failed (" + std::to_string(r.exit_code) +
             "): " + r.out + r.err + "\n--- swanctl.conf ---\n" + ReadFile(conf);
    return false;
  }
  return true;
}

bool Charon::SimpleCommand(const std::vector<std::string>& args, std::string* error) {
  CommandResult r = Swanctl(args);
  if (r.exit_code == 0) return true;
  std::string command;
  for (const auto& a : args) command += " " + a;
  *error = "charon '" + label_ + "': swanctl" + command + " failed (" +
           std::to_string(r.exit_code) + "): " + Tail(r.out + r.err, 15) +
           "\n--- charon.log ---\n" + LogTail(25);
  return false;
}

bool Charon::Initiate(const std::string& child, std::string* error, const std::string& ike,
                      std::chrono::seconds timeout) {
  std::vector<std::string> args = {"--initiate", "--child", child, "--timeout",
                                   std::to_string(timeout.count())};
  if (!ike.empty()) args.insert(args.end(), {"--ike", ike});
  return SimpleCommand(args, error);
}

bool Charon::InitiateIke(const std::string& ike, std::string* error, std::chrono::seconds timeout) {
  return SimpleCommand({"--initiate", "--ike", ike, "--timeout", std::to_string(timeout.count())},
                       error);
}

bool Charon::RekeyChild(const std::string& child, std::string* error) {
  return SimpleCommand({"--rekey", "--child", child}, error);
}

bool Charon::RekeyIke(const std::string& ike, std::string* error) {
  return SimpleCommand({"--rekey", "--ike", ike}, error);
}

bool Charon::TerminateChild(const std::string& child, std::string* error) {
  return SimpleCommand({"--terminate", "--child", child, "--timeout", "10"}, error);
}

bool Charon::TerminateIke(const std::string& ike, std::string* error) {
  return SimpleCommand({"--terminate", "--ike", ike, "--timeout", "10"}, error);
}

std::string Charon::ListSasText() const { return Swanctl({"--list-sas", "--pretty"}).out; }

std::optional<std::vector<IkeSaInfo>> Charon::ListSas(std::string* error) const {
  CommandResult r = Swanctl({"--list-sas", "--pretty"});
  if (r.exit_code != 0) {
    *error = "charon '" + label_ + "': swanctl --list-sas failed: " + r.err;
    return std::nullopt;
  }
  std::vector<IkeSaInfo> sas;
  if (!ParseListSas(r.out, &sas, error)) {
    *error = "charon '" + label_ + "': " + *error + "\n" + r.out;
    return std::nullopt;
  }
  return sas;
}

std::optional<IkeSaInfo> Charon::WaitForChild(const std::string& ike, const std::string& child,
                                              std::chrono::milliseconds timeout,
                                              std::string* error) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::vector<IkeSaInfo> last;
  do {
    auto sas = ListSas(error);
    if (!sas) return std::nullopt;
    last = *sas;
    for (const auto& sa : last) {
      if (sa.name != ike || !sa.established_state()) continue;
      if (child.empty() || sa.InstalledChild(child) != nullptr) return sa;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  } while (std::chrono::steady_clock::now() < deadline);
  *error = "charon '" + label_ + "': no ESTABLISHED IKE SA '" + ike + "'" +
           (child.empty() ? "" : " with INSTALLED child '" + child + "'") + " within " +
           std::to_string(timeout.count()) + " ms; SAs:\n" + DescribeSas(last) +
           "--- charon.log ---\n" + LogTail(25);
  return std::nullopt;
}

bool Charon::WaitForNoIke(const std::string& ike, std::chrono::milliseconds timeout,
                          std::string* error) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::vector<IkeSaInfo> last;
  do {
    auto sas = ListSas(error);
    if (!sas) return false;
    last = *sas;
    bool found = false;
    for (const auto& sa : last) found = found || sa.name == ike;
    if (!found) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  } while (std::chrono::steady_clock::now() < deadline);
  *error = "charon '" + label_ + "': IKE SA '" + ike + "' still listed after " +
           std::to_string(timeout.count()) + " ms:\n" + DescribeSas(last);
  return false;
}

bool Charon::TsharkKeys(std::vector<IkeSaKeys>* ike_rows, std::vector<EspSaKeys>* esp_rows,
                        std::string* error, bool with_addresses) const {
  auto sas = ListSas(error);
  if (!sas) return false;
  return CharonTsharkKeys(ParseCharonKeyLog(Log()), *sas, with_addresses, ike_rows, esp_rows,
                          error);
}

std::string Charon::Log() const { return ReadFile(log_path()); }

std::string Charon::LogTail(int lines) const { return Tail(Log(), lines); }

bool Charon::WaitForLog(const std::string& needle, std::chrono::milliseconds timeout) const {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  do {
    if (Log().find(needle) != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  } while (std::chrono::steady_clock::now() < deadline);
  return false;
}

int Charon::Stop() {
  if (!process_) return -1;
  int status = process_->Stop(SIGTERM, std::chrono::seconds(5));
  if (status == -1) process_->Kill();
  return status;
}

void Charon::Kill() {
  if (process_) process_->Kill();
}

bool Charon::Running() { return process_ && process_->Running(); }

}  // namespace ipsec::testing
