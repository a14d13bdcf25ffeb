#include "sidecar/ipsecctl/views.h"

#include <vector>

#include "sidecar/ipsecctl/table.h"

namespace ipsec::sidecar::ipsecctl {
namespace {

std::string Compact(const Json& j) {
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

bool Flag(const Json& j, std::string_view key) {
  const Json& v = Field(j, key);
  return v.is_boolean() && v.get<bool>();
}

std::string AuthMethods(const Json& methods) {
  std::vector<std::string> parts;
  for (const Json& m : methods) {
    std::string type = Str(m, "type");
    if (type == "certificate") type = Cat({type, "(", Str(m, "certificate_authority"), ")"});
    parts.push_back(type);
  }
  return parts.empty() ? "-" : Join(parts, ", ");
}

std::string SecurityMethod(const Json& m) {
  std::string protocol = Str(m, "protocol");
  std::string out = protocol;
  if (protocol.find("esp") != std::string::npos) {
    out = Cat({out, " ", Str(m, "esp_encryption"), "/", Str(m, "esp_integrity")});
  }
  if (protocol.find("ah") != std::string::npos) out = Cat({out, " ah:", Str(m, "ah_integrity")});
  return Cat({out, " ", Str(m, "lifetime_kilobytes"), "KB/", Str(m, "lifetime_seconds"), "s"});
}

std::string Proposals(const Json& proposals) {
  std::vector<std::string> parts;
  for (const Json& p : proposals) {
    parts.push_back(Str(p, "encryption") + "/" + Str(p, "integrity") + "/" + Str(p, "prf") + "/" +
                    Str(p, "dh_group"));
  }
  return parts.empty() ? "(defaults)" : Join(parts, ", ");
}

std::string Exemptions(const Json& exemptions) {
  if (!exemptions.is_object()) return Cell(exemptions);
  std::vector<std::string> parts;
  for (const auto& [name, on] : exemptions.items()) {
    parts.push_back(name + (on.is_boolean() && !on.get<bool>() ? "=off" : "=on"));
  }
  return Join(parts, " ");
}

void PrintRules(const Json& policy, std::ostream& out) {
  Table rules(
      {"NAME", "FILTER LIST", "FILTER ACTION", "AUTHENTICATION", "TUNNEL", "INTERFACES", "ACTIVE"});
  for (const Json& r : Array(policy, "rules")) {
    rules.AddRow({Str(r, "name"), Str(r, "filter_list"), Str(r, "filter_action"),
                  AuthMethods(Array(r, "auth_methods")), Str(r, "tunnel_endpoint"),
                  Str(r, "connection_type"), Str(r, "active")});
  }
  out << "\nRULES\n";
  if (rules.empty())
    out << "(none)\n";
  else
    rules.Print(out);
}

void PrintFilterLists(const Json& policy, std::ostream& out) {
  Table lists({"LIST", "#", "SOURCE", "DESTINATION", "PROTOCOL", "SRC PORTS", "DST PORTS",
               "MIRRORED", "DESCRIPTION"});
  for (const Json& list : Array(policy, "filter_lists")) {
    int index = 0;
    for (const Json& f : Array(list, "filters")) {
      lists.AddRow({Str(list, "name"), std::to_string(index++), Str(f, "source"),
                    Str(f, "destination"), Str(f, "protocol"), Str(f, "source_ports"),
                    Str(f, "destination_ports"), Str(f, "mirrored"), Str(f, "description")});
    }
    if (index == 0) lists.AddRow({Str(list, "name"), "-", "(no filters)"});
  }
  out << "\nFILTER LISTS\n";
  if (lists.empty())
    out << "(none)\n";
  else
    lists.Print(out);
}

void PrintFilterActions(const Json& policy, std::ostream& out) {
  Table actions({"NAME", "TYPE", "SECURITY METHODS", "OPTIONS"});
  for (const Json& a : Array(policy, "filter_actions")) {
    std::vector<std::string> methods;
    for (const Json& m : Array(a, "security_methods")) methods.push_back(SecurityMethod(m));
    std::vector<std::string> options;
    if (Flag(a, "accept_unsecured")) options.push_back("accept-unsecured");
    if (Flag(a, "allow_fallback_to_clear")) options.push_back("fallback-to-clear");
    if (Flag(a, "session_key_pfs")) options.push_back("pfs");
    actions.AddRow({Str(a, "name"), Str(a, "type"), methods.empty() ? "-" : Join(methods, "; "),
                    options.empty() ? "-" : Join(options, ",")});
  }
  out << "\nFILTER ACTIONS\n";
  if (actions.empty())
    out << "(none)\n";
  else
    actions.Print(out);
}

}  // namespace

std::string Cell(const Json& value) {
  if (value.is_null()) return "-";
  if (value.is_string()) return value.get<std::string>();
  if (value.is_boolean()) return value.get<bool>() ? "yes" : "no";
  if (value.is_array()) {
    std::vector<std::string> parts;
    for (const Json& item : value) parts.push_back(Cell(item));
    return parts.empty() ? "-" : Join(parts, ",");
  }
  return Compact(value);
}

const Json& Field(const Json& j, std::string_view key) {
  static const Json kNull;
  if (!j.is_object()) return kNull;
  auto it = j.find(key);
  return it == j.end() ? kNull : *it;
}

std::string Str(const Json& j, std::string_view key) { return Cell(Field(j, key)); }

const Json& Array(const Json& j, std::string_view key) {
  static const Json kEmpty = Json::array();
  const Json& v = Field(j, key);
  return v.is_array() ? v : kEmpty;
}

std::string Cat(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (std::string_view part : parts) out.append(part);
  return out;
}

std::string Join(const std::vector<std::string>& parts, std::string_view separator) {
  std::string out;
  for (const auto& part : parts) {
    if (!out.empty()) out += separator;
    out += part;
  }
  return out;
}

void PrintPolicyList(const Json& list, std::ostream& out) {
  const Json& policies = Array(list, "policies");
  if (policies.empty()) {
    out << "No pod-scope policies.\n";
    return;
  }
  Table table({"NAME", "REVISION", "ASSIGNED", "RULES", "DESCRIPTION"});
  for (const Json& entry : policies) {
    const Json& p = Field(entry, "policy");
    table.AddRow({Str(p, "name"), Str(entry, "revision"), Str(entry, "assigned"),
                  std::to_string(Array(p, "rules").size()), Str(p, "description")});
  }
  table.Print(out);
}

void PrintPolicy(const Json& policy, std::string_view revision, std::ostream& out) {
  KeyValues head;
  head.Add("Policy", Str(policy, "name") +
                         (revision.empty() ? "" : " (revision " + std::string(revision) + ")"));
  head.Add("Description", Str(policy, "description"));
  head.Add("Polling interval", Str(policy, "polling_interval_seconds") + " s");
  const Json& kx = Field(policy, "key_exchange");
  head.Add("IKE proposals", Proposals(Array(kx, "proposals")));
  head.Add("IKE SA lifetime", Str(kx, "ike_sa_lifetime_seconds") + " s");
  head.Add("Max child SAs per IKE SA", Str(kx, "max_child_sas_per_ike_sa"));
  head.Add("Legacy algorithms", Flag(policy, "allow_legacy_algorithms") ? "allowed" : "no");
  head.Add("Exemptions", Exemptions(Field(policy, "exemptions")));
  const Json& drr = Field(policy, "default_response_rule");
  head.Add("Default response rule",
           drr.is_null() ? "-" : (Flag(drr, "active") ? "active" : "inactive"));
  head.Print(out);
  PrintRules(policy, out);
  PrintFilterLists(policy, out);
  PrintFilterActions(policy, out);
}

void PrintAssignment(const Json& status, std::ostream& out) {
  const Json& in_force = Field(status, "in_force");
  KeyValues head;
  head.Add("In force", in_force.is_null()
                           ? "none: all traffic is permitted (no scope assigns a policy)"
                           : Str(in_force, "policy") + " (" + Str(in_force, "scope") + " scope)");
  head.Add("Reason", Str(status, "reason"));
  head.Print(out);
  Table scopes({"SCOPE", "POLICY", "SOURCE", "UPDATED", "ERROR"});
  for (const Json& s : Array(status, "scopes")) {
    std::string error = Str(s, "error");
    scopes.AddRow({Str(s, "scope"), Str(s, "policy"), Str(s, "source"), Str(s, "updated"),
                   error.empty() ? "-" : error});
  }
  out << "\n";
  scopes.Print(out);
}

}  // namespace ipsec::sidecar::ipsecctl
