#include "api/dto/policy_json.h"

#include "api/dto/json_reader.h"
#include "api/dto/part_json.h"
#include "engine/policy/names.h"
#include "engine/policy/templates.h"

namespace ipsec::api::dto {
namespace {

Result<policy::IkeProposal> ProposalFromJson(const Json& j) {
  policy::IkeProposal p;
  ObjectReader r(j, "", "IKE proposal");
  r.Enum("encryption", p.encryption, policy::ParseEncryption, policy::EncryptionNames(),
         "encryption algorithm");
  r.Enum("integrity", p.integrity, policy::ParseIntegrity, policy::IntegrityNames(),
         "integrity algorithm");
  r.Enum("prf", p.prf, policy::ParsePrf, policy::PrfNames(), "PRF");
  // A group by name or by its IANA number (14, 19, 31, ...).
  r.Field("dh_group", [&](const Json& v, const std::string& path) -> Status {
    std::optional<policy::DhGroup> g;
    std::string text;
    if (v.is_number_integer()) {
      text = v.dump();
    } else if (v.is_string()) {
      text = v.get<std::string>();
    } else {
      return WrongType(path, "a Diffie-Hellman group name or number", v);
    }
    g = policy::ParseDhGroup(text);
    if (!g) {
      return ObjectReader::UnknownName(path, "Diffie-Hellman group", text,
                                       policy::DhGroupNames());
    }
    p.dh_group = *g;
    return Status::Ok();
  });
  if (Status s = r.Finish(); !s.ok()) return s.error();
  return p;
}

Json ProposalToJson(const policy::IkeProposal& p) {
  return Json{{"encryption", policy::Name(p.encryption)},
              {"integrity", policy::Name(p.integrity)},
              {"prf", policy::Name(p.prf)},
              {"dh_group", policy::Name(p.dh_group)}};
}

Result<policy::KeyExchangeSettings> KeyExchangeFromJson(const Json& j) {
  policy::KeyExchangeSettings kx;
  kx.proposals = policy::DefaultIkeProposals();
  ObjectReader r(j, "", "key exchange settings");
  r.Field("proposals", Into(kx.proposals, [](const Json& v) {
            return ListFromJson<policy::IkeProposal>(v, ProposalFromJson);
          }));
  r.Uint32("ike_sa_lifetime_seconds", kx.ike_sa_lifetime_seconds);
  r.Uint32("max_child_sas_per_ike_sa", kx.max_child_sas_per_ike_sa);
  if (Status s = r.Finish(); !s.ok()) return s.error();
  return kx;
}

Json KeyExchangeToJson(const policy::KeyExchangeSettings& kx) {
  Json proposals = Json::array();
  for (const auto& p : kx.proposals) proposals.push_back(ProposalToJson(p));
  return Json{{"proposals", std::move(proposals)},
              {"ike_sa_lifetime_seconds", kx.ike_sa_lifetime_seconds},
              {"max_child_sas_per_ike_sa", kx.max_child_sas_per_ike_sa}};
}

Result<policy::Exemptions> ExemptionsFromJson(const Json& j) {
  policy::Exemptions e;
  ObjectReader r(j, "", "exemptions");
  r.Bool("ike", e.ike);
  r.Bool("dns", e.dns);
  r.Bool("netbios_name", e.netbios_name);
  r.Bool("kubelet_probes", e.kubelet_probes);
  if (Status s = r.Finish(); !s.ok()) return s.error();
  return e;
}

Json ExemptionsToJson(const policy::Exemptions& e) {
  return Json{{"ike", e.ike},
              {"dns", e.dns},
              {"netbios_name", e.netbios_name},
              {"kubelet_probes", e.kubelet_probes}};
}

template <typename T, typename Encode>
Json ListToJson(const std::vector<T>& items, Encode encode) {
  Json out = Json::array();
  for (const auto& item : items) out.push_back(encode(item));
  return out;
}

}  // namespace

Result<policy::DefaultResponseRule> DefaultResponseFromJson(const Json& j) {
  policy::DefaultResponseRule d;
  ObjectReader r(j, "", "default response rule");
  r.Bool("active", d.active);
  r.Field("security_methods", Into(d.security_methods, SecurityMethodsFromJson));
  r.Field("auth_methods", Into(d.auth_methods, AuthMethodsFromJson));
  if (Status s = r.Finish(); !s.ok()) return s.error();
  return d;
}

Json DefaultResponseToJson(const policy::DefaultResponseRule& d, SecretMode mode) {
  return Json{{"active", d.active},
              {"security_methods", SecurityMethodsToJson(d.security_methods)},
              {"auth_methods", AuthMethodsToJson(d.auth_methods, mode)}};
}

Result<policy::Policy> PolicyFromJson(const Json& j) {
  policy::Policy p;
  p.key_exchange.proposals = policy::DefaultIkeProposals();
  ObjectReader r(j, "", "policy");
  r.String("name", p.name, ObjectReader::kRequired);
  r.String("description", p.description);
  r.Uint32("polling_interval_seconds", p.polling_interval_seconds);
  r.Bool("allow_legacy_algorithms", p.allow_legacy_algorithms);
  r.Field("key_exchange", Into(p.key_exchange, KeyExchangeFromJson));
  r.Field("filter_lists", Into(p.filter_lists, [](const Json& v) {
            return ListFromJson<policy::FilterList>(v, FilterListFromJson);
          }));
  r.Field("filter_actions", Into(p.filter_actions, [](const Json& v) {
            return ListFromJson<policy::FilterAction>(v, FilterActionFromJson);
          }));
  r.Field("rules", Into(p.rules, [](const Json& v) {
            return ListFromJson<policy::Rule>(v, RuleFromJson);
          }));
  r.Field("default_response_rule", Into(p.default_response, DefaultResponseFromJson));
  r.Field("exemptions", Into(p.exemptions, ExemptionsFromJson));
  if (Status s = r.Finish(); !s.ok()) return s.error();
  return p;
}

Json PolicyToJson(const policy::Policy& p, SecretMode mode) {
  return Json{
      {"name", p.name},
      {"description", p.description},
      {"polling_interval_seconds", p.polling_interval_seconds},
      {"allow_legacy_algorithms", p.allow_legacy_algorithms},
      {"key_exchange", KeyExchangeToJson(p.key_exchange)},
      {"filter_lists", ListToJson(p.filter_lists, FilterListToJson)},
      {"filter_actions", ListToJson(p.filter_actions, FilterActionToJson)},
      {"rules", ListToJson(p.rules, [mode](const policy::Rule& r) { return RuleToJson(r, mode); })},
      {"default_response_rule", DefaultResponseToJson(p.default_response, mode)},
      {"exemptions", ExemptionsToJson(p.exemptions)},
  };
}

}  // namespace ipsec::api::dto
