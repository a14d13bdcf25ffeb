// ipsec-sidecar: IPsec for a Kubernetes pod. See README.md and docs/.
#include <cstdio>

#include "sidecar/app/config.h"
#include "sidecar/app/daemon.h"

int main(int argc, char** argv) {
  int exit_code = -1;
  auto config = ipsec::sidecar::app::ParseConfig(argc, argv, &exit_code);
  if (!config.ok()) {
    std::fputs(config.error().message.c_str(), exit_code == 0 ? stdout : stderr);
    return exit_code;
  }
  config->commit = IPSEC_GIT_COMMIT;
  return ipsec::sidecar::app::Daemon(std::move(config).value()).Run();
}
