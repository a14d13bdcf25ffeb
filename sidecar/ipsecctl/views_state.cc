// Views of the effective state: filters, SAs, statistics, match decisions, templates.

#include <ctime>

#include "sidecar/ipsecctl/table.h"
#include "sidecar/ipsecctl/views.h"

namespace ipsec::sidecar::ipsecctl {
namespace {

// "Policy web-tier (pod scope), generation 7; unmatched traffic: permit"
void PrintTableHead(const Json& filters, std::ostream& out) {
  const Json& policy = Field(filters, "policy");
  if (policy.is_null()) {
    out << "No policy in force";
  } else {
    out << "Policy " << Cell(policy) << " (" << Str(filters, "scope") << " scope), generation "
        << Str(filters, "generation");
  }
  out << "; unmatched traffic: " << Str(filters, "default_action");
  if (!Field(filters, "conflicts_resolved").is_null()) {
    out << "; conflicts resolved: " << Str(filters, "conflicts_resolved");
  }
  out << "\n";
  const Json& warnings = Field(filters, "warnings");
  if (warnings.is_array()) {
    for (const Json& w : warnings) out << "warning: " << Cell(w) << "\n";
  }
}

std::string Origin(const Json& origin) {
  std::string kind = Str(origin, "kind");
  if (kind == "rule") {
    return "rule " + Str(origin, "rule") + " (" + Str(origin, "filter_list") + " #" +
           Str(origin, "filter_index") + (Field(origin, "mirror") == true ? ", mirror)" : ")");
  }
  if (kind == "exemption") return "exemption " + Str(origin, "exemption");
  return Cell(origin);
}

std::string Overridden(const Json& overridden) {
  std::vector<std::string> parts;
  for (const Json& o : overridden) {
    const Json& origin = Field(o, "origin");
    std::string who =
        Str(origin, "kind") == "exemption" ? Str(origin, "exemption") : Str(origin, "rule");
    parts.push_back(who + ":" + Str(o, "action"));
  }
  return parts.empty() ? "-" : Join(parts, ",");
}

void Flatten(const Json& j, const std::string& prefix, KeyValues& lines) {
  if (!j.is_object()) {
    lines.Add(prefix.empty() ? "value" : prefix, Cell(j));
    return;
  }
  for (const auto& [key, value] : j.items()) {
    std::string name = prefix.empty() ? key : prefix + "." + key;
    if (value.is_object()) {
      Flatten(value, name, lines);
    } else {
      lines.Add(name, Cell(value));
    }
  }
}

}  // namespace

void PrintGenericFilters(const Json& filters, std::ostream& out) {
  PrintTableHead(filters, out);
  Table table({"RULE", "FILTER LIST", "#", "SOURCE", "DESTINATION", "PROTOCOL", "SRC PORTS",
               "DST PORTS", "MIRRORED", "ACTION", "FILTER ACTION", "TUNNEL", "INTERFACES",
               "WEIGHT"});
  for (const Json& f : Array(filters, "filters")) {
    const Json& exemption = Field(f, "exemption");
    std::string rule = exemption.is_null() ? Str(f, "rule") : "exemption " + Cell(exemption);
    table.AddRow({rule, Str(f, "filter_list"), Str(f, "filter_index"), Str(f, "source"),
                  Str(f, "destination"), Str(f, "protocol"), Str(f, "source_ports"),
                  Str(f, "destination_ports"), Str(f, "mirrored"), Str(f, "action"),
                  Str(f, "filter_action"), Str(f, "tunnel_endpoint"), Str(f, "interfaces"),
                  Str(f, "weight")});
  }
  if (table.empty()) {
    out << "No filters.\n";
  } else {
    out << "\n";
    table.Print(out);
  }
}

void PrintSpecificFilters(const Json& filters, std::ostream& out) {
  PrintTableHead(filters, out);
  Table table({"ID", "DIRECTION", "SOURCE", "DESTINATION", "PROTOCOL", "SRC PORTS", "DST PORTS",
               "INTERFACES", "ACTION", "WEIGHT", "ORIGIN", "OVERRIDES"});
  for (const Json& e : Array(filters, "entries")) {
    table.AddRow({Str(e, "id"), Str(e, "direction"), Str(e, "source"), Str(e, "destination"),
                  Str(e, "protocol"), Str(e, "source_ports"), Str(e, "destination_ports"),
                  Str(e, "interfaces"), Str(e, "action"), Str(e, "weight"),
                  Origin(Field(e, "origin")), Overridden(Array(e, "overridden"))});
  }
  if (table.empty()) {
    out << "No filter entries.\n";
  } else {
    out << "\n";
    table.Print(out);
  }
}

namespace {

// Unix seconds as "2026-11-27T10:00:00Z"; 0 (never) as "-".
std::string UnixTime(const Json& value) {
  if (!value.is_number_integer() || value.get<int64_t>() <= 0) return "-";
  std::time_t t = static_cast<std::time_t>(value.get<int64_t>());
  std::tm tm{};
  if (gmtime_r(&t, &tm) == nullptr) return Cell(value);
  char buf[32];
  size_t n = std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return std::string(buf, n);
}

// "1234/5": bytes/packets one way.
std::string Traffic(const Json& sa, std::string_view bytes, std::string_view packets) {
  return Cat({Str(sa, bytes), "/", Str(sa, packets)});
}

}  // namespace

// The FAQ's IP Security Monitor (FAQ 37-38): main mode SAs, then the quick mode SAs under them.
void PrintSas(const Json& sas, std::ostream& out) {
  Table ike({"ID", "STATE", "ROLE", "LOCAL", "REMOTE", "LOCAL ID", "REMOTE ID", "RULE",
             "ALGORITHMS", "NAT", "ESTABLISHED", "REKEY IN", "EXPIRES IN"});
  Table child({"ID", "IKE SA", "RULE", "STATE", "MODE", "PROTO", "SPI IN", "SPI OUT", "LOCAL TS",
               "REMOTE TS", "ALGORITHMS", "PFS", "UDP ENCAP", "IN B/PKTS", "OUT B/PKTS",
               "LAST TRAFFIC", "ESTABLISHED", "REKEY IN", "EXPIRES IN"});
  std::vector<std::string> failures;
  for (const Json& s : Array(sas, "ike_sas")) {
    std::string nat = Field(s, "nat_local") == true && Field(s, "nat_remote") == true ? "both"
                      : Field(s, "nat_local") == true                                 ? "local"
                      : Field(s, "nat_remote") == true                                ? "remote"
                                                                                      : "-";
    ike.AddRow({Str(s, "id"), Str(s, "state"), Str(s, "role"), Str(s, "local"), Str(s, "remote"),
                Str(s, "local_id"), Str(s, "remote_id"), Str(s, "rule"), Str(s, "algorithms"), nat,
                UnixTime(Field(s, "established_unix")), Str(s, "rekey_in_seconds"),
                Str(s, "expire_in_seconds")});
    if (const Json& f = Field(s, "failure"); f.is_string() && !f.get<std::string>().empty()) {
      failures.push_back(Cat({Str(s, "id"), ": ", f.get<std::string>()}));
    }
    for (const Json& c : Array(s, "child_sas")) {
      child.AddRow({Str(c, "id"), Str(s, "id"), Str(c, "rule"), Str(c, "state"), Str(c, "mode"),
                    Str(c, "protocol"), Str(c, "spi_in"), Str(c, "spi_out"), Str(c, "local_ts"),
                    Str(c, "remote_ts"), Str(c, "algorithms"), Str(c, "pfs"),
                    Str(c, "udp_encapsulation"), Traffic(c, "bytes_in", "packets_in"),
                    Traffic(c, "bytes_out", "packets_out"), UnixTime(Field(c, "last_used_unix")),
                    UnixTime(Field(c, "established_unix")), Str(c, "rekey_in_seconds"),
                    Str(c, "expire_in_seconds")});
    }
  }
  out << "IKE SAs (main mode)\n";
  if (ike.empty()) {
    out << "(none)\n";
  } else {
    ike.Print(out);
  }
  for (const auto& f : failures) out << "failed " << f << "\n";
  out << "\nChild SAs (quick mode)\n";
  if (child.empty()) {
    out << "(none)\n";
  } else {
    child.Print(out);
  }
}

// IKE statistics as "key: value" lines, then configured versus established per rule (a tunnel
// rule without a child SA is DOWN), then the policy's figures.
void PrintStats(const Json& stats, std::ostream& out) {
  KeyValues lines;
  Json rest = stats;
  const Json rules = Array(Field(stats, "ike"), "rules");
  if (rest.is_object() && rest.contains("ike") && rest["ike"].is_object()) {
    rest["ike"].erase("rules");
  }
  Flatten(rest, "", lines);
  lines.Print(out);
  if (rules.empty()) return;
  Table table({"RULE", "CONFIGURED", "IKE SAS", "CHILD SAS", "STATUS"});
  for (const Json& r : rules) {
    const bool tunnel = Field(r, "tunnel") == true;
    const Json& children = Field(r, "child_sas");
    const bool up = children.is_number() && children.get<double>() > 0;
    table.AddRow({Str(r, "rule"), tunnel ? "tunnel (always up)" : "on demand", Str(r, "ike_sas"),
                  Str(r, "child_sas"), up ? "up" : (tunnel ? "DOWN" : "idle")});
  }
  out << "\nRules (configured versus established)\n";
  table.Print(out);
}

void PrintMatch(const Json& decision, std::ostream& out) {
  KeyValues lines;
  lines.Add("Action", Str(decision, "action"));
  const Json& rule = Field(decision, "rule");
  const Json& entry = Field(decision, "entry");
  if (!rule.is_null()) {
    lines.Add("Rule", Cell(rule));
  } else {
    lines.Add("Rule", entry.is_null() ? "- (no filter matched)" : Origin(Field(entry, "origin")));
  }
  lines.Add("Weight", Str(decision, "weight"));
  lines.Add("Policy",
            Cat({Str(decision, "policy"), " (generation ", Str(decision, "generation"), ")"}));
  if (!entry.is_null()) {
    lines.Add("Entry",
              Cat({"#", Str(entry, "id"), " ", Str(entry, "direction"), " ", Str(entry, "source"),
                   " -> ", Str(entry, "destination"), " ", Str(entry, "protocol"), " ports ",
                   Str(entry, "source_ports"), " -> ", Str(entry, "destination_ports"), ", ",
                   Origin(Field(entry, "origin"))}));
  }
  lines.Add("Reason", Str(decision, "reason"));
  lines.Print(out);
}

void PrintTemplates(const Json& templates, std::ostream& out) {
  Table table({"TEMPLATE"});
  for (const Json& name : Array(templates, "templates")) table.AddRow({Cell(name)});
  table.Print(out);
}

}  // namespace ipsec::sidecar::ipsecctl
