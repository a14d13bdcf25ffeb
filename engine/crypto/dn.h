#pragma once

#include <string>
#include <string_view>

#include "engine/common/bytes.h"
#include "engine/common/result.h"

namespace ipsec::engine::crypto {

// Distinguished names (X.501 Name, DER), as certificates carry them and as IKEv2's
// ID_DER_ASN1_DN identities do (RFC 7296 §3.5).
//
// The text form is strongSwan's one-line form, the one swanctl.conf identities and
// strongSwan's logs use: "C=CH, O=strongSwan, CN=moon" -- RDNs in the order of the encoding
// (not RFC 4514's reversed order), ", " between RDNs and " + " inside a multi-valued RDN,
// OpenSSL's short attribute names (C, ST, L, O, OU, CN, emailAddress, serialNumber, ...),
// RFC 4514 §2.4 escaping of special characters, UTF-8 text.

// DER Name -> text. kInvalidArgument if `der` is not one Name.
Result<std::string> DnToString(ByteSpan der);

// Text -> DER Name, for identities written in configuration. Accepts the form above (also
// without spaces after commas), "E=" for emailAddress (strongSwan's spelling), dotted OIDs as
// attribute names, and RFC 4514 escapes ("\,", "\\", "\2C"). String types follow OpenSSL's
// table (PrintableString for C, IA5String for emailAddress, UTF8String otherwise), so the
// result may differ in bytes from a certificate's encoding of the same name: compare with
// DnEqual(), not byte equality.
Result<Bytes> DnFromString(std::string_view text);

// Name equality as X.520 defines matching in practice (OpenSSL's X509_NAME_cmp on canonical
// encodings): string types, letter case and repeated spaces do not matter. False if either
// is not a Name.
bool DnEqual(ByteSpan a, ByteSpan b);

}  // namespace ipsec::engine::crypto
