#include "engine/ike/auth_signature.h"

#include <algorithm>
#include <optional>

namespace ipsec::engine::ike {
namespace {

using codec::AuthMethod;
using crypto::EcdsaEncoding;
using crypto::KeyType;
using crypto::SignatureScheme;

bool Contains(const std::vector<uint16_t>& list, uint16_t v) {
  return std::find(list.begin(), list.end(), v) != list.end();
}

// The classic method for a key: §3.8 method 1 for RSA (PKCS #1 v1.5 with SHA-1), RFC 4754 §7
// methods 9/10/11 for ECDSA, each tied to one curve and hash.
struct ClassicMethod {
  AuthMethod method;
  SignatureScheme scheme;
};

std::optional<ClassicMethod> ClassicFor(KeyType type) {
  switch (type) {
    case KeyType::kRsa:
      return ClassicMethod{AuthMethod::kRsaSignature, SignatureScheme::kRsaPkcs1Sha1};
    case KeyType::kEcdsaP256:
      return ClassicMethod{AuthMethod::kEcdsaSha256P256, SignatureScheme::kEcdsaSha256};
    case KeyType::kEcdsaP384:
      return ClassicMethod{AuthMethod::kEcdsaSha384P384, SignatureScheme::kEcdsaSha384};
    case KeyType::kEcdsaP521:
      return ClassicMethod{AuthMethod::kEcdsaSha512P521, SignatureScheme::kEcdsaSha512};
    case KeyType::kEd25519:
      return std::nullopt;  // RFC 8420: only through RFC 7427
  }
  return std::nullopt;
}

// The key type a classic method requires (RFC 4754 §7 pairs each ECDSA method with a curve).
std::optional<KeyType> KeyForClassic(AuthMethod method) {
  switch (method) {
    case AuthMethod::kRsaSignature:
      return KeyType::kRsa;
    case AuthMethod::kEcdsaSha256P256:
      return KeyType::kEcdsaP256;
    case AuthMethod::kEcdsaSha384P384:
      return KeyType::kEcdsaP384;
    case AuthMethod::kEcdsaSha512P521:
      return KeyType::kEcdsaP521;
    default:
      return std::nullopt;
  }
}

std::string MethodName(AuthMethod method) {
  return "method " + std::to_string(static_cast<int>(method));
}

SignatureCheck Problem(SignatureProblem problem, std::string scheme, std::string detail) {
  return SignatureCheck{problem, std::move(scheme), std::move(detail)};
}

SignatureCheck VerifyWith(const crypto::PublicKey& key, SignatureScheme scheme,
                          EcdsaEncoding encoding, std::string name, ByteSpan octets,
                          ByteSpan signature) {
  if (Status s = crypto::Verify(key, scheme, octets, signature, encoding); !s.ok()) {
    return Problem(SignatureProblem::kBadSignature, name,
                   "bad signature: the " + name + " AUTH does not verify with the " +
                       key.Description() + " key of the certificate");
  }
  return SignatureCheck{SignatureProblem::kNone, std::move(name), ""};
}

// RFC 7427 §3: Authentication Data = ASN.1 Length (1 octet) | AlgorithmIdentifier | Signature.
SignatureCheck VerifyDigitalSignature(const crypto::PublicKey& key, ByteSpan data,
                                      ByteSpan octets) {
  if (data.empty() || data.size() <= 1u + data[0]) {
    return Problem(SignatureProblem::kMalformed, "RFC 7427",
                   "malformed RFC 7427 AUTH data (ASN.1 length beyond the payload)");
  }
  ByteSpan algorithm = data.subspan(1, data[0]);
  ByteSpan signature = data.subspan(1u + data[0]);
  auto scheme = crypto::SchemeFromAlgorithmIdentifier(algorithm);
  if (!scheme) {
    return Problem(SignatureProblem::kUnsupported, "RFC 7427",
                   "RFC 7427 AUTH names a signature algorithm we do not support");
  }
  std::string name = std::string(crypto::SchemeName(*scheme)) + " (RFC 7427)";
  if (!Contains(OurSignatureHashes(), crypto::SignatureHashId(*scheme))) {
    return Problem(SignatureProblem::kUnsupported, name,
                   "the " + name + " AUTH uses a hash we did not announce (RFC 7427 §4)");
  }
  if (!crypto::SchemeFitsKey(*scheme, key.type())) {
    return Problem(SignatureProblem::kWrongKey, name,
                   "wrong key: an " + name + " AUTH cannot come from the certificate's " +
                       key.Description() + " key");
  }
  return VerifyWith(key, *scheme, EcdsaEncoding::kDer, name, octets, signature);
}

}  // namespace

const std::vector<uint16_t>& OurSignatureHashes() {
  static const std::vector<uint16_t> kHashes = {2, 3, 4, 5};  // RFC 7427 §7, RFC 8420 §2
  return kHashes;
}

Bytes EncodeSignatureHashes(const std::vector<uint16_t>& hashes) {
  Bytes out;
  for (uint16_t h : hashes) {
    out.push_back(static_cast<uint8_t>(h >> 8));
    out.push_back(static_cast<uint8_t>(h));
  }
  return out;
}

std::vector<uint16_t> DecodeSignatureHashes(ByteSpan data) {
  std::vector<uint16_t> out;
  for (size_t i = 0; i + 1 < data.size(); i += 2) {
    out.push_back(static_cast<uint16_t>(data[i] << 8 | data[i + 1]));
  }
  return out;
}

bool IsSignatureMethod(AuthMethod method) {
  return method == AuthMethod::kDigitalSignature || KeyForClassic(method).has_value();
}

Result<codec::AuthPayload> CreateSignatureAuth(const crypto::PrivateKey& key,
                                               const std::vector<uint16_t>& peer_hashes,
                                               ByteSpan octets) {
  // RFC 7427 §4: Digital Signature once the peer announced hashes, with one of them.
  for (SignatureScheme scheme : crypto::SchemesFor(key.Public())) {
    if (!Contains(peer_hashes, crypto::SignatureHashId(scheme))) continue;
    auto signature = crypto::Sign(key, scheme, octets, EcdsaEncoding::kDer);
    if (!signature.ok()) return signature.error();
    Bytes algorithm = crypto::AlgorithmIdentifierDer(scheme);
    Bytes data{static_cast<uint8_t>(algorithm.size())};
    data.insert(data.end(), algorithm.begin(), algorithm.end());
    data.insert(data.end(), signature->begin(), signature->end());
    return codec::AuthPayload{AuthMethod::kDigitalSignature, std::move(data)};
  }
  auto classic = ClassicFor(key.type());
  if (!classic) {
    return MakeError(ErrorCode::kFailedPrecondition,
                     std::string("a ") + crypto::KeyTypeName(key.type()) +
                         " key signs only with RFC 7427 and a hash the peer did not announce");
  }
  auto signature = crypto::Sign(key, classic->scheme, octets, EcdsaEncoding::kRaw);
  if (!signature.ok()) return signature.error();
  return codec::AuthPayload{classic->method, std::move(signature).value()};
}

std::string DescribeSignatureAuth(const codec::AuthPayload& auth) {
  if (auth.method == AuthMethod::kDigitalSignature) {
    const Bytes& data = auth.data;
    if (!data.empty() && data.size() > 1u + data[0]) {
      if (auto scheme = crypto::SchemeFromAlgorithmIdentifier(ByteSpan(data).subspan(1, data[0]))) {
        return std::string(crypto::SchemeName(*scheme)) + " (RFC 7427)";
      }
    }
    return "RFC 7427";
  }
  if (auto required = KeyForClassic(auth.method)) {
    return std::string(crypto::SchemeName(ClassicFor(*required)->scheme)) + " (" +
           MethodName(auth.method) + ")";
  }
  return MethodName(auth.method);
}

SignatureCheck VerifySignatureAuth(const crypto::PublicKey& key, const codec::AuthPayload& auth,
                                   ByteSpan octets) {
  if (auth.method == AuthMethod::kDigitalSignature) {
    return VerifyDigitalSignature(key, auth.data, octets);
  }
  auto required = KeyForClassic(auth.method);
  if (!required) {
    return Problem(SignatureProblem::kUnsupported, MethodName(auth.method),
                   "AUTH " + MethodName(auth.method) + " is not a signature method we support");
  }
  auto classic = ClassicFor(*required);
  std::string name =
      std::string(crypto::SchemeName(classic->scheme)) + " (" + MethodName(auth.method) + ")";
  if (key.type() != *required) {
    return Problem(SignatureProblem::kWrongKey, name,
                   "wrong key: AUTH " + name + " needs an " + crypto::KeyTypeName(*required) +
                       " key, the certificate has " + key.Description());
  }
  return VerifyWith(key, classic->scheme, EcdsaEncoding::kRaw, name, octets, auth.data);
}

}  // namespace ipsec::engine::ike
