// ipsecctl: the command-line client of the ipsec-sidecar REST API. See cli.h and docs/cli.md.

#include <iostream>

#include "sidecar/ipsecctl/cli.h"

int main(int argc, char** argv) {
  return ipsec::sidecar::ipsecctl::Run(argc, argv, std::cout, std::cerr);
}
