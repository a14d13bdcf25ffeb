#pragma once

// The one table of names for the model's enums, shared by the API, the CLI, logs and the
// filter table's explanations. Parse* returns nullopt on an unknown name.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/policy/model.h"

namespace ipsec::engine::policy {

const char* Name(AddressKind v);          // any, me, single, range, subnet
const char* Name(EncryptionAlgorithm v);  // null, aes128gcm16, aes256gcm16, aes128, aes256,
                                          // chacha20poly1305, 3des, des
const char* Name(IntegrityAlgorithm v);   // none, sha256, sha384, sha512, sha1, md5
const char* Name(PrfAlgorithm v);         // prfsha256, prfsha384, prfsha512, prfsha1, prfmd5
const char* Name(DhGroup v);              // modp1024, modp2048, modp3072, ecp256, ecp384,
                                          // ecp521, curve25519
const char* Name(IpsecProtocol v);        // esp, ah, ah+esp
const char* Name(ActionType v);           // permit, block, negotiate
const char* Name(AuthKind v);             // psk, certificate, kerberos
const char* Name(Scope v);                // cluster, namespace, pod

std::optional<EncryptionAlgorithm> ParseEncryption(std::string_view s);
std::optional<IntegrityAlgorithm> ParseIntegrity(std::string_view s);
std::optional<PrfAlgorithm> ParsePrf(std::string_view s);
std::optional<DhGroup> ParseDhGroup(std::string_view s);  // also accepts the IANA number
std::optional<IpsecProtocol> ParseIpsecProtocol(std::string_view s);
std::optional<ActionType> ParseActionType(std::string_view s);
std::optional<AuthKind> ParseAuthKind(std::string_view s);
std::optional<Scope> ParseScope(std::string_view s);
// Protocol by name (tcp, udp, icmp, icmpv6, esp, ah, sctp) or number 0-255.
std::optional<uint8_t> ParseProtocol(std::string_view s);
std::string ProtocolName(uint8_t p);  // a name when known, else the number

// All names of an enum, for error messages ("expected one of: ...").
std::vector<std::string> EncryptionNames();
std::vector<std::string> IntegrityNames();
std::vector<std::string> PrfNames();
std::vector<std::string> DhGroupNames();

}  // namespace ipsec::engine::policy
