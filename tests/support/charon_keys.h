#pragma once

// charon's derived keys, read back from its log, for tshark. Debian's strongSwan has no
// save-keys plugin, but at log level 4 charon dumps every derived key (keymat_v2: "Sk_ei
// secret => 20 bytes", "encryption initiator key => 16 bytes", each followed by hex dump
// lines). With CharonOptions::log_keys and the filelog's ike_name prefix ("<conn|id>"), this
// parser recovers them per IKE SA and per child SA; CharonTsharkKeys joins them with
// `swanctl --list-sas` (SPIs, algorithms) into tshark's UAT rows. That lets the lab prove
// tshark's decryption path on charon's traffic, and later compare our keys with charon's.
//
// Limits: only SAs still listed by --list-sas get rows (a rekeyed-away child or IKE SA has no
// SPIs there); an IKE SA rekey's new keys are logged under the old SA's name and are skipped.
// Pure: no I/O.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tests/support/swanctl_sas.h"
#include "tests/support/tshark_keys.h"

namespace ipsec::testing {

struct CharonIkeKeyBlock {
  uint32_t ike_unique_id = 0;              // from "<name|id>" or "<id>"
  std::string sk_ei, sk_er, sk_ai, sk_ar;  // lowercase hex
};

struct CharonChildKeyBlock {
  uint32_t ike_unique_id = 0;
  uint32_t child_unique_id = 0;  // from "CHILD_SA name{id} state change: CREATED => INSTALLING"
  bool initiator = false;        // this charon sent the exchange ("establishing CHILD_SA")
  std::string encr_i, encr_r, integ_i, integ_r;  // initiator->responder, responder->initiator
};

struct CharonKeyLog {
  std::vector<CharonIkeKeyBlock> ike;
  std::vector<CharonChildKeyBlock> child;
};

CharonKeyLog ParseCharonKeyLog(std::string_view log);

// UAT rows for the SAs in `sas` whose keys are in `keys`. ESP rows use * for addresses unless
// `with_addresses` (then the IKE SA's hosts as this charon sees them). Returns false with
// `error` when an SA's algorithms cannot be mapped; SAs without keys in the log are skipped.
bool CharonTsharkKeys(const CharonKeyLog& keys, const std::vector<IkeSaInfo>& sas,
                      bool with_addresses, std::vector<IkeSaKeys>* ike_rows,
                      std::vector<EspSaKeys>* esp_rows, std::string* error);

}  // namespace ipsec::testing
