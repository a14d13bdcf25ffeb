// Writes the seed corpus of every fuzzer from real data: ike_fuzz_seeds <corpus_root> makes
// <corpus_root>/<target>/ for each target (README.md) and fills it:
//   ike_message   the codec tests' samples, charon's IKE_SA_INIT from the interop lab, and
//                 every datagram of the recorded exchanges below
//   ike_sk        SK/SKF messages and inner payloads protected with FuzzKeys()
//   ike_state     programs (ike_state_harness.h) driving a whole SA life in each scenario, with
//                 and without replays, mutations and re-encryptions
//   esp_inbound   one ESP packet and one payload per transform
//   esp_pipeline  programs: genuine packets on each SA, delivered, replayed, mutated
//   policy_json   docs/examples' policies as YAML and JSON bodies, and their parts
//   x509          the test PKI's chains (EC P-256, RSA, Ed25519) as DER, PEM and PEM chains,
//                 and certificates with odd subjects and every kind of subjectAltName

#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "api/dto/text.h"
#include "engine/common/ip_address.h"
#include "engine/ike/codec/fragments.h"
#include "engine/ike/codec/message.h"
#include "engine/ike/codec/sk.h"
#include "fuzz/ike_fuzz_keys.h"
#include "fuzz/ike_state_harness.h"
#include "tests/engine/crypto/test_pki.h"
#include "tests/support/fixed_openssl_random.h"

namespace codec = ipsec::engine::ike::codec;

namespace {

void Write(const std::string& path, const ipsec::Bytes& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

// A seed: `prefix` octets (the target's mode) then `body`.
void Write(const std::string& path, std::initializer_list<uint8_t> prefix, std::string_view body) {
  ipsec::Bytes bytes(prefix);
  bytes.insert(bytes.end(), body.begin(), body.end());
  Write(path, bytes);
}

codec::PayloadEntry Entry(codec::PayloadType type, codec::Payload payload) {
  return codec::PayloadEntry{type, false, std::move(payload)};
}

codec::Message SaInit() {
  codec::Message m;
  m.header.initiator_spi = 0x0102030405060708ull;
  m.header.exchange_type = codec::ExchangeType::kIkeSaInit;
  m.header.flags = codec::kFlagInitiator;
  codec::Proposal p;
  p.transforms = {{codec::TransformType::kEncr, 20, 256, {}},
                  {codec::TransformType::kPrf, 5, std::nullopt, {}},
                  {codec::TransformType::kDh, 31, std::nullopt, {}}};
  m.payloads = {
      Entry(codec::PayloadType::kSa, codec::SaPayload{{p}}),
      Entry(codec::PayloadType::kKe,
            codec::KePayload{codec::DhGroup::kCurve25519, ipsec::Bytes(32, 0x11)}),
      Entry(codec::PayloadType::kNonce, codec::NoncePayload{ipsec::Bytes(32, 0x22)}),
      Entry(codec::PayloadType::kNotify,
            codec::MakeNotify(codec::NotifyType::kNatDetectionSourceIp, ipsec::Bytes(20, 3))),
  };
  return m;
}

std::vector<codec::PayloadEntry> AuthInner() {
  codec::TsPayload ts{
      {codec::TrafficSelector::FromRange(ipsec::IpRange::Full(ipsec::IpFamily::kV4))}};
  codec::Proposal esp;
  esp.protocol = codec::ProtocolId::kEsp;
  esp.spi = {1, 2, 3, 4};
  esp.transforms = {{codec::TransformType::kEncr, 20, 128, {}},
                    {codec::TransformType::kEsn, 0, std::nullopt, {}}};
  return {
      Entry(codec::PayloadType::kIdi, codec::IdPayload{codec::IdType::kFqdn, {'a'}}),
      Entry(codec::PayloadType::kAuth,
            codec::AuthPayload{codec::AuthMethod::kSharedKeyMic, ipsec::Bytes(32, 5)}),
      Entry(codec::PayloadType::kSa, codec::SaPayload{{esp}}),
      Entry(codec::PayloadType::kTsi, ts),
      Entry(codec::PayloadType::kTsr, ts),
      Entry(codec::PayloadType::kDelete, codec::DeletePayload{codec::ProtocolId::kEsp, {7}}),
      Entry(codec::PayloadType::kCp, codec::CpPayload{codec::CfgType::kRequest, {{1, {}}}}),
  };
}

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The IKE_SA_INIT request strongSwan's charon sent in the interop lab (codec testdata).
ipsec::Bytes CharonIkeSaInit() {
  const std::string hex = ReadFile(std::filesystem::path(IPSEC_SOURCE_DIR) /
                                   "tests/engine/ike/codec/testdata/charon_ike_sa_init.hex");
  ipsec::Bytes out;
  int high = -1;
  for (char c : hex) {
    const int v =
        std::isxdigit(static_cast<unsigned char>(c))
            ? (std::isdigit(static_cast<unsigned char>(c)) ? c - '0' : (c | 0x20) - 'a' + 10)
            : -1;
    if (v < 0) continue;
    if (high < 0) {
      high = v;
    } else {
      out.push_back(static_cast<uint8_t>(high * 16 + v));
      high = -1;
    }
  }
  return out;
}

void MessageAndSkSeeds(const std::string& msg_dir, const std::string& sk_dir) {
  Write(msg_dir + "/ike_sa_init", codec::EncodeMessage(SaInit()));
  Write(msg_dir + "/charon_ike_sa_init", CharonIkeSaInit());
  codec::Header h = SaInit().header;
  h.exchange_type = codec::ExchangeType::kIkeAuth;
  const ipsec::Bytes inner = codec::EncodePayloadChain(AuthInner());
  const auto keys = ipsec::fuzz::FuzzKeys();
  for (size_t k = 0; k < keys.size(); ++k) {
    ipsec::fuzz::FuzzRandom random;
    auto wire = codec::EncodeProtectedMessage(h, AuthInner(), keys[k], random);
    if (!wire.ok()) continue;
    Write(msg_dir + "/ike_auth_" + std::to_string(k), *wire);
    ipsec::Bytes seed = {static_cast<uint8_t>(k), 0};
    seed.insert(seed.end(), wire->begin(), wire->end());
    Write(sk_dir + "/decrypt_" + std::to_string(k), seed);
    auto fragments =
        codec::EncodeFragments(h, codec::PayloadType::kIdi, inner, keys[k], random, 200);
    if (fragments.ok()) {
      seed = {static_cast<uint8_t>(k), 0};
      seed.insert(seed.end(), fragments->front().begin(), fragments->front().end());
      Write(sk_dir + "/fragment_" + std::to_string(k), seed);
    }
    for (uint8_t mode : {1, 2}) {
      seed = {static_cast<uint8_t>(k), mode};
      seed.insert(seed.end(), inner.begin(), inner.end());
      Write(sk_dir + "/inner_" + std::to_string(k) + "_" + std::to_string(mode), seed);
    }
  }
}

// The state programs, and every datagram their exchanges sent (recorded: real IKE_SA_INIT,
// IKE_AUTH, CREATE_CHILD_SA and INFORMATIONAL messages of each scenario) for the codec fuzzer.
void StateSeeds(const std::string& state_dir, const std::string& msg_dir) {
  using ipsec::fuzz::Scenario;
  for (uint8_t s = 0; s < static_cast<uint8_t>(Scenario::kCount); ++s) {
    for (bool extras : {false, true}) {
      const ipsec::Bytes program = ipsec::fuzz::SeedProgram(static_cast<Scenario>(s), extras);
      const std::string name = "s" + std::to_string(s) + (extras ? "_extras" : "");
      Write(state_dir + "/" + name, program);
      if (extras) continue;
      ipsec::testing::UseFixedOpenSslRandom(0x5eed);
      ipsec::fuzz::StateHarness harness(static_cast<Scenario>(s));
      harness.Run(ipsec::ByteSpan(program).subspan(1));
      harness.Teardown();
      int n = 0;
      for (const auto& d : harness.sent()) {
        Write(msg_dir + "/recorded_" + name + "_" + std::to_string(n++), d.data);
      }
    }
  }
}

void EspSeeds(const std::string& inbound_dir, const std::string& pipeline_dir) {
  // esp_inbound_fuzz: octet 0 the transform (and bit 4 ESN), octet 1 the mode.
  for (uint8_t t = 0; t < 8; ++t) {
    Write(inbound_dir + "/protect_" + std::to_string(t), {t, 2}, "a payload of some length....");
    Write(inbound_dir + "/esp_" + std::to_string(t), {static_cast<uint8_t>(t | 16), 0},
          std::string("\x01\x02\x03\x04\0\0\0\x01", 8) + std::string(64, 'e'));
  }
  // esp_pipeline_fuzz programs (its header says the operations).
  for (uint8_t sa = 0; sa < 5; ++sa) {
    Write(pipeline_dir + "/sa" + std::to_string(sa),
          ipsec::Bytes{0,  sa, 8,    'p', 'a', 'y', 'l',  'o', 'a', 'd', '!', 0,  // produce
                       0,  sa, 4,    'n', 'e', 'x', 't',  2,                      // one outside TS
                       1,  0,  1,    0,                                           // deliver, replay
                       1,  1,  2,    0,   2,   9,   0xff, 30,  1,                 // mutate
                       4,  sa, 0x9f, 0,   sa,  1,   'x',  0,   1,   2,  // skip 2^31, again
                       6,  sa, 1,    3,   3,   sa,  16,   1,   2,   3,   4,   5,  6,  7,  8,  9,
                       10, 11, 12,   13,  14,  15,  16,   17,  18,  19,  20,  21, 22, 23, 24, 25,
                       26, 27, 28,   29,  30,  31,  32,   5,   12,  0,   0,   0,  1,  1,  2,  3,
                       4,  5,  6,    7,   8,   9,   10,   11,  12,  13,  14,  15, 16});
  }
}

// policy_json_fuzz: octet 0 the route (low 3 bits) and YAML (bit 3), then the body.
void PolicySeeds(const std::string& dir) {
  const std::filesystem::path examples = std::filesystem::path(IPSEC_SOURCE_DIR) / "docs/examples";
  for (const auto& entry : std::filesystem::directory_iterator(examples)) {
    const std::string name = entry.path().stem().string();
    const std::string yaml = ReadFile(entry.path());
    Write(dir + "/" + name + "_yaml", {8}, yaml);
    auto json = ipsec::api::dto::ParseYaml(yaml);
    if (!json.ok() || !json->is_object()) continue;
    Write(dir + "/" + name + "_json", {0}, json->dump());
    auto renamed = *json;
    renamed["name"] = "p";
    Write(dir + "/" + name + "_put", {1}, renamed.dump());
    auto part = [&](const char* field, uint8_t route, const char* rename) {
      if (!json->contains(field) || !(*json)[field].is_array() || (*json)[field].empty()) return;
      auto p = (*json)[field][0];
      if (rename != nullptr) p["name"] = rename;
      Write(dir + "/" + name + "_" + field, {route}, p.dump());
    };
    part("rules", 2, "r");
    part("filter_lists", 3, "f");
    part("filter_actions", 4, "a");
    part("rules", 6, nullptr);
    if (json->contains("default_response_rule")) {
      Write(dir + "/" + name + "_default_response", {5}, (*json)["default_response_rule"].dump());
    }
  }
  Write(dir + "/assignment", {7}, R"({"policy": "base"})");
}

// x509_fuzz: octet 0 the form (0 DER, 1 PEM, 2 PEM chain).
void X509Seeds(const std::string& dir) {
  namespace pki = ipsec::engine::crypto::testing;
  int n = 0;
  for (auto kind : {pki::KeyKind::kEcP256, pki::KeyKind::kRsa2048, pki::KeyKind::kEd25519}) {
    const pki::TestChain chain = pki::MakeChain(kind);
    const std::string k = std::to_string(n++);
    int level = 0;
    for (const auto* c : {&chain.root, &chain.intermediate, &chain.leaf}) {
      const std::string tag = k + "_" + std::to_string(level++);
      Write(dir + "/der_" + tag, {0}, std::string(c->cert.Der().begin(), c->cert.Der().end()));
      Write(dir + "/pem_" + tag, {1}, c->cert.Pem());
    }
    Write(dir + "/chain_" + k, {2}, chain.leaf.cert_pem() + chain.intermediate.cert_pem());
  }
  // Subjects that need escaping, multi-valued RDNs, odd attributes; every SAN kind.
  const pki::TestCert root = pki::SelfSigned({.subject = "CN=Odd Root", .is_ca = true});
  const char* subjects[] = {
      "C=CH, O=strongSwan, CN=moon",       "CN=a\\,b, O=x\\+y, OU=\\ lead",
      "OU=one + OU=two, CN=multi",         "E=peer@example.org, CN=mail",
      "2.5.4.3=dotted, serialNumber=1234", "CN=\\#hash, L=Z\xc3\xbcrich",
  };
  int i = 0;
  for (const char* subject : subjects) {
    pki::CertOptions o;
    o.subject = subject;
    o.dns = {"peer.example", "*.wild.example"};
    o.ips = {"192.0.2.1", "2001:db8::1"};
    o.emails = {"peer@example.org"};
    const pki::TestCert c = pki::Issue(o, root);
    Write(dir + "/odd_" + std::to_string(i), {0},
          std::string(c.cert.Der().begin(), c.cert.Der().end()));
    Write(dir + "/odd_pem_" + std::to_string(i++), {2}, c.cert_pem() + root.cert_pem());
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <corpus_root>\n", argv[0]);
    return 2;
  }
  const std::string root = argv[1];
  for (const char* target : {"ike_message", "ike_sk", "ike_state", "esp_inbound", "esp_pipeline",
                             "policy_json", "x509"}) {
    std::filesystem::create_directories(root + "/" + target);
  }
  MessageAndSkSeeds(root + "/ike_message", root + "/ike_sk");
  StateSeeds(root + "/ike_state", root + "/ike_message");
  EspSeeds(root + "/esp_inbound", root + "/esp_pipeline");
  PolicySeeds(root + "/policy_json");
  X509Seeds(root + "/x509");
  return 0;
}
