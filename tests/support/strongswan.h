#pragma once

// strongSwan's charon as a real IKEv2 peer in a lab namespace (docs/lab.md, LAB-NOTES.md).
// Each Charon has its own directory (strongswan.conf, swanctl/, log, vici socket) and its own
// /run (`unshare -m` + a bind mount: the pid file path is compiled in), so several run side
// by side. ESP goes through kernel-libipsec (user space, TUN ipsec0, UDP-encapsulated, tunnel
// mode only): this kernel has no ESP. It is ended by PID only (SIGTERM, then SIGKILL), also
// when destroyed after a failed assertion.
//
//   std::string error;
//   auto charon = Charon::Start(lab->pod(1), "responder", CharonOptions{}, &error);
//   ASSERT_TRUE(charon) << error;
//   ASSERT_TRUE(charon->Load(config, &error)) << error;
//   ASSERT_TRUE(initiator->Initiate("net", &error)) << error;
//   auto sa = charon->WaitForChild("host", "net", std::chrono::seconds(5), &error);
//   ASSERT_TRUE(sa) << error;
//   EXPECT_EQ(sa->encr_alg, "AES_GCM_16");

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/charon_keys.h"
#include "tests/support/process.h"
#include "tests/support/strongswan_config.h"
#include "tests/support/swanctl_sas.h"

namespace ipsec::testing {

// Empty when everything the strongSwan lab needs is installed and we are root; otherwise what
// is missing and how to get it (interop tests fail with this message, they never skip).
std::string MissingStrongswanPrerequisites();

class Charon {
 public:
  // Starts charon in network namespace `netns` and waits until its vici socket answers.
  // `label` names it in messages. nullptr with `error` (including the log's tail) on failure.
  static std::unique_ptr<Charon> Start(const std::string& netns, const std::string& label,
                                       const CharonOptions& options, std::string* error,
                                       std::chrono::seconds timeout = std::chrono::seconds(10));
  ~Charon();
  Charon(const Charon&) = delete;
  Charon& operator=(const Charon&) = delete;

  // Writes swanctl.conf and the credential files, then `swanctl --load-all`. Replaces what
  // an earlier Load wrote.
  bool Load(const SwanctlConfig& config, std::string* error);

  // swanctl <args> --uri <this charon's socket>; `args` starts with the command.
  CommandResult Swanctl(const std::vector<std::string>& args,
                        std::chrono::seconds timeout = std::chrono::seconds(30)) const;

  // swanctl --initiate --child `child` [--ike `ike`], waiting for the result.
  bool Initiate(const std::string& child, std::string* error, const std::string& ike = "",
                std::chrono::seconds timeout = std::chrono::seconds(10));
  bool InitiateIke(const std::string& ike, std::string* error,
                   std::chrono::seconds timeout = std::chrono::seconds(10));
  bool RekeyChild(const std::string& child, std::string* error);
  bool RekeyIke(const std::string& ike, std::string* error);
  bool TerminateChild(const std::string& child, std::string* error);
  bool TerminateIke(const std::string& ike, std::string* error);

  // Current SAs (swanctl --list-sas --pretty), parsed. nullopt with `error` on failure.
  std::optional<std::vector<IkeSaInfo>> ListSas(std::string* error) const;
  std::string ListSasText() const;
  // Polls until IKE SA `ike` is ESTABLISHED with an INSTALLED child of config `child` (or,
  // with child empty, just established); returns that IKE SA.
  std::optional<IkeSaInfo> WaitForChild(const std::string& ike, const std::string& child,
                                        std::chrono::milliseconds timeout, std::string* error);
  // Polls until no IKE SA named `ike` is listed.
  bool WaitForNoIke(const std::string& ike, std::chrono::milliseconds timeout, std::string* error);

  // The derived keys of the current SAs as tshark rows (needs CharonOptions::log_keys).
  bool TsharkKeys(std::vector<IkeSaKeys>* ike_rows, std::vector<EspSaKeys>* esp_rows,
                  std::string* error, bool with_addresses = false) const;

  std::string Log() const;
  std::string LogTail(int lines = 40) const;
  bool WaitForLog(const std::string& needle, std::chrono::milliseconds timeout) const;

  int Stop();   // SIGTERM, SIGKILL after 5 s; the waitpid status, -1 if it had to be killed
  void Kill();  // SIGKILL at once, as a crash (the peer's dead peer detection must notice)
  bool Running();
  pid_t pid() const { return process_ ? process_->pid() : -1; }

  const std::string& netns() const { return netns_; }
  const std::string& label() const { return label_; }
  const std::string& dir() const { return dir_.path(); }
  std::string swanctl_dir() const { return dir_.path() + "/swanctl"; }
  std::string log_path() const { return CharonLogPath(dir_.path()); }
  std::string vici_uri() const { return CharonViciUri(dir_.path()); }

 private:
  Charon() = default;
  bool SimpleCommand(const std::vector<std::string>& args, std::string* error);
  std::vector<std::string> Environment() const;

  std::string netns_;
  std::string label_;
  TempDir dir_;
  std::unique_ptr<BackgroundProcess> process_;
};

}  // namespace ipsec::testing
