#include "engine/crypto/dn.h"

#include <openssl/asn1err.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include <climits>
#include <memory>
#include <optional>
#include <vector>

#include "engine/crypto/openssl_util.h"

namespace ipsec::engine::crypto {
namespace internal {

std::string NameToString(const X509_NAME* name) {
  // strongSwan-like: certificate order, ", " separators, short names, RFC 2253 escapes, UTF-8.
  constexpr unsigned long kFlags = (ASN1_STRFLGS_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) |
                                   XN_FLAG_SEP_CPLUS_SPC | XN_FLAG_FN_SN |
                                   XN_FLAG_DUMP_UNKNOWN_FIELDS;
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || X509_NAME_print_ex(bio.get(), name, 0, kFlags) < 0) {
    ClearOpenSslErrors();
    return {};
  }
  return BioToString(bio.get());
}

Bytes NameToDer(const X509_NAME* name) {
  unsigned char* der = nullptr;
  int len = i2d_X509_NAME(name, &der);
  if (len <= 0) {
    ClearOpenSslErrors();
    return {};
  }
  Bytes out(der, der + len);
  OPENSSL_free(der);
  return out;
}

}  // namespace internal

namespace {

using NamePtr = std::unique_ptr<X509_NAME, internal::FreeWith<X509_NAME_free>>;

NamePtr ParseName(ByteSpan der) {
  if (der.size() > INT_MAX) return nullptr;
  const unsigned char* p = der.data();
  NamePtr name(d2i_X509_NAME(nullptr, &p, static_cast<long>(der.size())));
  if (name == nullptr || p != der.data() + der.size()) {
    internal::ClearOpenSslErrors();
    return nullptr;
  }
  return name;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Splits at unescaped `sep`; unescaping is left to Unescape().
std::optional<std::vector<std::string_view>> SplitUnescaped(std::string_view text, char sep) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\') {
      if (++i == text.size()) return std::nullopt;  // dangling backslash
    } else if (text[i] == sep) {
      parts.push_back(text.substr(start, i - start));
      start = i + 1;
    }
  }
  parts.push_back(text.substr(start));
  return parts;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

// Trim() for a value that may end in an escaped space (RFC 4514 §2.4: a trailing space is
// written "\ "): spaces around it go, that one stays.
std::string_view TrimValue(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') {
    size_t backslashes = 0;
    while (backslashes + 1 < s.size() && s[s.size() - 2 - backslashes] == '\\') ++backslashes;
    if (backslashes % 2 == 1) break;  // "\ ": an escaped space, part of the value
    s.remove_suffix(1);
  }
  return s;
}

// RFC 4514 §2.4 escapes: "\" followed by a special character or by two hex digits.
std::optional<std::string> Unescape(std::string_view value) {
  std::string out;
  for (size_t i = 0; i < value.size(); ++i) {
    if (value[i] != '\\') {
      out += value[i];
      continue;
    }
    if (i + 2 < value.size() && HexValue(value[i + 1]) >= 0 && HexValue(value[i + 2]) >= 0) {
      out += static_cast<char>(HexValue(value[i + 1]) * 16 + HexValue(value[i + 2]));
      i += 2;
    } else if (i + 1 < value.size()) {
      out += value[++i];
    } else {
      return std::nullopt;
    }
  }
  return out;
}

using ObjectPtr = std::unique_ptr<ASN1_OBJECT, internal::FreeWith<ASN1_OBJECT_free>>;
using StringPtr = std::unique_ptr<ASN1_STRING, internal::FreeWith<ASN1_STRING_free>>;

// The attribute type: a short or long name ("CN", "commonName"), "E" for emailAddress
// (strongSwan's spelling), or a dotted OID, known to OpenSSL or not (an attribute OpenSSL has no
// name for prints as its OID: "1.2.3.4=#0C0161").
ObjectPtr AttributeObject(std::string_view attr) {
  std::string name(attr);
  if (attr == "E" || attr == "Email" || attr == "email") name = "emailAddress";
  ObjectPtr obj(OBJ_txt2obj(name.c_str(), /*no_name=*/0));
  internal::ClearOpenSslErrors();
  return obj;
}

// RFC 4514 §2.4: a value written "#" and the hex of its BER encoding (how DnToString prints an
// attribute OpenSSL cannot show as text), read back as that encoding says: its string type and
// content. Null when it is not one of the types a Name's values take.
StringPtr HexValueString(std::string_view hex) {
  if (hex.empty() || hex.size() % 2 != 0) return nullptr;
  Bytes der(hex.size() / 2);
  for (size_t i = 0; i < der.size(); ++i) {
    const int hi = HexValue(hex[2 * i]), lo = HexValue(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return nullptr;
    der[i] = static_cast<uint8_t>(hi * 16 + lo);
  }
  if (der.size() > INT_MAX) return nullptr;
  const unsigned char* p = der.data();
  StringPtr value(d2i_ASN1_PRINTABLE(nullptr, &p, static_cast<long>(der.size())));
  if (value == nullptr || p != der.data() + der.size()) {
    internal::ClearOpenSslErrors();
    return nullptr;
  }
  return value;
}

Status AddAttribute(X509_NAME* name, std::string_view ava, bool new_rdn) {
  size_t eq = ava.find('=');
  if (eq == std::string_view::npos) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "\"" + std::string(ava) + "\" is not attribute=value");
  }
  std::string_view attr = Trim(ava.substr(0, eq));
  ObjectPtr obj = AttributeObject(attr);
  if (obj == nullptr) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "unknown DN attribute \"" + std::string(attr) + "\"");
  }
  const std::string_view written = TrimValue(ava.substr(eq + 1));
  int added = 0;
  if (!written.empty() && written.front() == '#') {
    StringPtr value = HexValueString(written.substr(1));
    if (value == nullptr) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "bad #hex value for DN attribute \"" + std::string(attr) + "\"");
    }
    added = X509_NAME_add_entry_by_OBJ(name, obj.get(), ASN1_STRING_type(value.get()),
                                       ASN1_STRING_get0_data(value.get()),
                                       ASN1_STRING_length(value.get()), -1, new_rdn ? 0 : -1);
  } else {
    std::optional<std::string> value = Unescape(written);
    if (!value || value->empty()) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "bad value for DN attribute \"" + std::string(attr) + "\"");
    }
    // Text: OpenSSL's string type for the attribute (PrintableString for C, ...), else UTF-8.
    const auto* bytes = reinterpret_cast<const unsigned char*>(value->data());
    const int length = static_cast<int>(value->size());
    added = X509_NAME_add_entry_by_OBJ(name, obj.get(), MBSTRING_UTF8, bytes, length, -1,
                                       new_rdn ? 0 : -1);
    if (added != 1 && ERR_GET_REASON(ERR_peek_last_error()) == ASN1_R_ILLEGAL_CHARACTERS) {
      // Characters the attribute's usual type cannot hold ("C=UÓ": a certificate's
      // PrintableString with a Latin-1 octet, which prints as UTF-8): a UTF8String then, as
      // DnEqual compares names whatever their string types. The size limits still apply.
      internal::ClearOpenSslErrors();
      added = X509_NAME_add_entry_by_OBJ(name, obj.get(), V_ASN1_UTF8STRING, bytes, length, -1,
                                         new_rdn ? 0 : -1);
    }
  }
  if (added != 1) {
    return internal::OpenSslError(ErrorCode::kInvalidArgument,
                                  "DN attribute \"" + std::string(attr) + "\"");
  }
  return Status::Ok();
}

}  // namespace

Result<std::string> DnToString(ByteSpan der) {
  NamePtr name = ParseName(der);
  if (name == nullptr) return MakeError(ErrorCode::kInvalidArgument, "not a DER Name");
  return internal::NameToString(name.get());
}

Result<Bytes> DnFromString(std::string_view text) {
  std::optional<std::vector<std::string_view>> rdns = SplitUnescaped(text, ',');
  if (!rdns || Trim(text).empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "empty or malformed DN");
  }
  NamePtr name(X509_NAME_new());
  if (name == nullptr) return internal::OpenSslError(ErrorCode::kInternal, "X509_NAME_new");
  for (std::string_view rdn : *rdns) {
    std::optional<std::vector<std::string_view>> avas = SplitUnescaped(rdn, '+');
    if (!avas) return MakeError(ErrorCode::kInvalidArgument, "malformed DN");
    for (size_t i = 0; i < avas->size(); ++i) {
      if (Status s = AddAttribute(name.get(), (*avas)[i], i == 0); !s.ok()) return s.error();
    }
  }
  return internal::NameToDer(name.get());
}

bool DnEqual(ByteSpan a, ByteSpan b) {
  NamePtr name_a = ParseName(a);
  NamePtr name_b = ParseName(b);
  if (name_a == nullptr || name_b == nullptr) return false;
  bool equal = X509_NAME_cmp(name_a.get(), name_b.get()) == 0;
  internal::ClearOpenSslErrors();
  return equal;
}

}  // namespace ipsec::engine::crypto
