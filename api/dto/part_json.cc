#include "api/dto/part_json.h"

#include "api/dto/address_json.h"
#include "engine/policy/names.h"

namespace ipsec::api::dto {
namespace {

using policy::AuthKind;

std::vector<std::string> Names(std::initializer_list<const char*> names) {
  return std::vector<std::string>(names.begin(), names.end());
}

Status ReadConnectionType(const Json& v, const std::string& path, policy::ConnectionType& out) {
  if (v.is_string()) {
    if (v.get_ref<const std::string&>() != "all") {
      return InvalidAt(path,
                       "connection_type is \"all\" or a list of interface names, not "
                       "another string; write a list such as [\"eth0\"] for one interface");
    }
    out = policy::ConnectionType{};
    return Status::Ok();
  }
  if (!v.is_array()) return WrongType(path, "\"all\" or a list of interface names", v);
  policy::ConnectionType ct;
  ct.all_interfaces = false;
  Status s = ReadArray(v, path, [&](const Json& item, const std::string& item_path) -> Status {
    auto name = ReadString(item, item_path);
    if (!name.ok()) return name.error();
    ct.interfaces.push_back(std::move(name).value());
    return Status::Ok();
  });
  if (!s.ok()) return s;
  out = std::move(ct);
  return Status::Ok();
}

Json ConnectionTypeToJson(const policy::ConnectionType& ct) {
  if (ct.all_interfaces) return "all";
  return ct.interfaces;
}

// The fields of an auth method that belong to its type; any other is an error.
Status CheckAuthFields(const ObjectReader& r, AuthKind kind) {
  struct FieldOwner {
    const char* field;
    AuthKind kind;
  };
  static constexpr FieldOwner kOwners[] = {{"preshared_key", AuthKind::kPreSharedKey},
                                           {"preshared_key_file", AuthKind::kPreSharedKey},
                                           {"certificate_authority", AuthKind::kCertificate}};
  for (const auto& owner : kOwners) {
    if (owner.kind != kind && r.Has(owner.field)) {
      return InvalidAt(ChildPath(r.path(), owner.field),
                       std::string(owner.field) + " applies only to type " +
                           policy::Name(owner.kind) + ", not " + policy::Name(kind));
    }
  }
  return Status::Ok();
}

}  // namespace

// ---- Filters and filter lists ---------------------------------------------------------------

Result<policy::Filter> FilterFromJson(const Json& j) {
  policy::Filter f;
  ObjectReader r(j, "", "filter");
  r.String("description", f.description);
  auto address = [](policy::AddressSpec& out) {
    return [&out](const Json& v, const std::string& path) -> Status {
      auto text = ReadString(v, path);
      if (!text.ok()) return text.error();
      auto a = ParseAddressSpec(*text, path);
      if (!a.ok()) return a.error();
      out = *a;
      return Status::Ok();
    };
  };
  r.Field("source", address(f.source));
  r.Field("destination", address(f.destination));
  r.Field("protocol", [&](const Json& v, const std::string& path) -> Status {
    auto p = ProtocolFromJson(v, path);
    if (!p.ok()) return p.error();
    f.protocol = *p;
    return Status::Ok();
  });
  auto ports = [](policy::PortRange& out) {
    return [&out](const Json& v, const std::string& path) -> Status {
      auto p = PortsFromJson(v, path);
      if (!p.ok()) return p.error();
      out = *p;
      return Status::Ok();
    };
  };
  r.Field("source_ports", ports(f.source_ports));
  r.Field("destination_ports", ports(f.destination_ports));
  r.Bool("mirrored", f.mirrored);
  if (Status s = r.Finish(); !s.ok()) return s.error();
  return f;
}

Json FilterToJson(const policy::Filter& f) {
  return Json{{"description", f.description},
              {"source", AddressSpecToString(f.source)},
              {"destination", AddressSpecToString(f.destination)},
              {"protocol", ProtocolToJson(f.protocol)},
              {"source_ports", PortsToJson(f.source_ports)},
              {"destination_ports", PortsToJson(f.destination_ports)},
              {"mirrored", f.mirrored}};
}

Result<policy::FilterList> FilterListFromJson(const Json& j) {
  policy::FilterList list;
  ObjectReader r(j, "", "filter list");
  r.String("name", list.name, ObjectReader::kRequired);
  r.String("description", list.description);
  r.Field("filters", Into(list.filters, [](const Json& v) {
            return ListFromJson<policy::Filter>(v, FilterFromJson);
          }));
  if (Status s = r.Finish(); !s.ok()) return s.error();
  return list;
}

Json FilterListToJson(const policy::FilterList& f) {
  Json filters = Json::array();
  for (const auto& filter : f.filters) filters.push_back(FilterToJson(filter));
  return Json{{"name", f.name}, {"description", f.description}, {"filters", std::move(filters)}};
}

// ---- Security methods and filter actions ------------------------------------------------------

Result<policy::SecurityMethod> SecurityMethodFromJson(const Json& j) {
  policy::SecurityMethod m;
  ObjectReader r(j, "", "security method");
  r.Enum("protocol", m.protocol, policy::ParseIpsecProtocol, Names({"esp", "ah", "ah+esp"}),
         "IPsec protocol");
  r.Enum("esp_encryption", m.esp_encryption, policy::ParseEncryption, policy::EncryptionNames(),
         "encryption algorithm");
  r.Enum("esp_integrity", m.esp_integrity, policy::ParseIntegrity, policy::IntegrityNames(),
         "integrity algorithm");
  r.Enum("ah_integrity", m.ah_integrity, policy::ParseIntegrity, policy::IntegrityNames(),
         "integrity algorithm");
  r.Uint64("lifetime_kilobytes", m.lifetime_kilobytes);
  r.Uint32("lifetime_seconds", m.lifetime_seconds);
  if (Status s = r.Finish(); !s.ok()) return s.error();
  return m;
}

Json SecurityMethodToJson(const policy::SecurityMethod& m) {
  return Json{{"protocol", policy::Name(m.protocol)},
              {"esp_encryption", policy::Name(m.esp_encryption)},
              {"esp_integrity", policy::Name(m.esp_integrity)},
              {"ah_integrity", policy::Name(m.ah_integrity)},
              {"lifetime_kilobytes", m.lifetime_kilobytes},
              {"lifetime_seconds", m.lifetime_seconds}};
}

Result<std::vector<policy::SecurityMethod>> SecurityMethodsFromJson(const Json& j) {
  return ListFromJson<policy::SecurityMethod>(j, SecurityMethodFromJson);
}

Json SecurityMethodsToJson(const std::vector<policy::SecurityMethod>& methods) {
  Json out = Json::array();
  for (const auto& m : methods) out.push_back(SecurityMethodToJson(m));
  return out;
}

Result<policy::FilterAction> FilterActionFromJson(const Json& j) {
  policy::FilterAction a;
  ObjectReader r(j, "", "filter action");
  r.String("name", a.name, ObjectReader::kRequired);
  r.String("description", a.description);
  r.Enum("type", a.type, policy::ParseActionType, Names({"permit", "block", "negotiate"}),
         "filter action type");
  r.Field("security_methods", Into(a.security_methods, SecurityMethodsFromJson));
  r.Bool("accept_unsecured", a.accept_unsecured);
  r.Bool("allow_fallback_to_clear", a.allow_fallback_to_clear);
  r.Bool("session_key_pfs", a.session_key_pfs);
  if (Status s = r.Finish(); !s.ok()) return s.error();
  return a;
}

Json FilterActionToJson(const policy::FilterAction& a) {
  return Json{{"name", a.name},
              {"description", a.description},
              {"type", policy::Name(a.type)},
              {"security_methods", SecurityMethodsToJson(a.security_methods)},
              {"accept_unsecured", a.accept_unsecured},
              {"allow_fallback_to_clear", a.allow_fallback_to_clear},
              {"session_key_pfs", a.session_key_pfs}};
}

// ---- Authentication methods and rules -----------------------------------------------------

Result<policy::AuthMethod> AuthMethodFromJson(const Json& j) {
  policy::AuthMethod m;
  ObjectReader r(j, "", "authentication method");
  r.Enum("type", m.kind, policy::ParseAuthKind, Names({"psk", "certificate", "kerberos"}),
         "authentication method type", ObjectReader::kRequired);
  r.Field("preshared_key", [&](const Json& v, const std::string& path) -> Status {
    auto key = ReadString(v, path);
    if (!key.ok()) return key.error();
    if (*key == SecretBytes::kRedacted) {
      return InvalidAt(path, "\"<redacted>\" is what responses show in place of a preshared key "
                             "(keys are write-only); send the key itself or "
                             "preshared_key_file");
    }
    m.preshared_key = SecretBytes(*key);
    return Status::Ok();
  });
  r.String("preshared_key_file", m.preshared_key_file);
  r.String("certificate_authority", m.certificate_authority);
  if (Status s = r.Finish(); !s.ok()) return s.error();
  if (Status s = CheckAuthFields(r, m.kind); !s.ok()) return s.error();
  return m;
}

Json AuthMethodToJson(const policy::AuthMethod& m, SecretMode mode) {
  Json out{{"type", policy::Name(m.kind)}};
  switch (m.kind) {
    case AuthKind::kPreSharedKey:
      if (!m.preshared_key.empty()) {
        out["preshared_key"] = mode == SecretMode::kInclude ? std::string(m.preshared_key.view())
                                                            : SecretBytes::kRedacted;
      }
      if (!m.preshared_key_file.empty()) out["preshared_key_file"] = m.preshared_key_file;
      break;
    case AuthKind::kCertificate:
      out["certificate_authority"] = m.certificate_authority;
      break;
    case AuthKind::kKerberos:
      break;
  }
  return out;
}

Result<std::vector<policy::AuthMethod>> AuthMethodsFromJson(const Json& j) {
  return ListFromJson<policy::AuthMethod>(j, AuthMethodFromJson);
}

Json AuthMethodsToJson(const std::vector<policy::AuthMethod>& methods, SecretMode mode) {
  Json out = Json::array();
  for (const auto& m : methods) out.push_back(AuthMethodToJson(m, mode));
  return out;
}

Result<policy::Rule> RuleFromJson(const Json& j) {
  policy::Rule rule;
  ObjectReader r(j, "", "rule");
  r.String("name", rule.name, ObjectReader::kRequired);
  r.String("description", rule.description);
  r.String("filter_list", rule.filter_list, ObjectReader::kRequired);
  r.String("filter_action", rule.filter_action, ObjectReader::kRequired);
  r.Field("auth_methods", Into(rule.auth_methods, AuthMethodsFromJson));
  r.Field("tunnel_endpoint", [&](const Json& v, const std::string& path) -> Status {
    if (v.is_null()) return Status::Ok();
    if (!v.is_string()) return WrongType(path, "an address or null (transport mode)", v);
    auto a = ParseAddress(v.get_ref<const std::string&>(), path);
    if (!a.ok()) return a.error();
    rule.tunnel_endpoint = *a;
    return Status::Ok();
  });
  r.Field("connection_type", [&](const Json& v, const std::string& path) -> Status {
    return ReadConnectionType(v, path, rule.connection_type);
  });
  r.Bool("active", rule.active);
  if (Status s = r.Finish(); !s.ok()) return s.error();
  return rule;
}

Json RuleToJson(const policy::Rule& r, SecretMode mode) {
  return Json{{"name", r.name},
              {"description", r.description},
              {"filter_list", r.filter_list},
              {"filter_action", r.filter_action},
              {"auth_methods", AuthMethodsToJson(r.auth_methods, mode)},
              {"tunnel_endpoint",
               r.tunnel_endpoint ? Json(r.tunnel_endpoint->ToString()) : Json(nullptr)},
              {"connection_type", ConnectionTypeToJson(r.connection_type)},
              {"active", r.active}};
}

}  // namespace ipsec::api::dto
