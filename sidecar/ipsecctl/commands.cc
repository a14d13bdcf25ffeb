#include "sidecar/ipsecctl/commands.h"

#include <algorithm>
#include <cctype>

#include "sidecar/ipsecctl/policy_file.h"
#include "sidecar/ipsecctl/views.h"

namespace ipsec::sidecar::ipsecctl {
namespace {

using api::client::EscapePathSegment;

std::string PolicyTarget(const std::string& name) {
  return "/v1/policies/" + EscapePathSegment(name);
}

bool AllDigits(const std::string& s) {
  return !s.empty() &&
         std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
}

}  // namespace

Json MatchBody(const MatchArgs& args) {
  Json body = Json::object();
  body["direction"] = args.direction.rfind("in", 0) == 0 ? "inbound" : "outbound";
  if (!args.interface.empty()) body["interface"] = args.interface;
  body["source"] = args.source;
  body["destination"] = args.destination;
  if (AllDigits(args.protocol) && args.protocol.size() <= 3) {
    body["protocol"] = std::stoi(args.protocol);
  } else if (!args.protocol.empty()) {
    body["protocol"] = args.protocol;
  }
  if (args.source_port) body["source_port"] = *args.source_port;
  if (args.destination_port) body["destination_port"] = *args.destination_port;
  return body;
}

void Commands::PrintJson(const Json& j) {
  out_ << j.dump(2, ' ', false, Json::error_handler_t::replace) << "\n";
}

// Prints a successful reply with `view` (or as JSON); returns the reply's exit code.
template <class View>
int Commands::Print(const Reply& reply, View view) {
  if (reply.exit_code != kExitOk) return reply.exit_code;
  if (reply.json.is_null() && !reply.response.body.empty()) {
    err_ << "ipsecctl: the API answered with a body that is not JSON\n";
    return kExitServer;
  }
  if (json_) {
    if (!reply.json.is_null()) PrintJson(reply.json);
  } else {
    view(reply.json);
  }
  return kExitOk;
}

int Commands::PolicyApply(const std::string& file, bool assign) {
  auto policy = LoadPolicyFile(file);
  if (!policy.ok()) {
    err_ << "ipsecctl: " << policy.error().message;
    if (!policy.error().path.empty()) err_ << " (at " << policy.error().path << ")";
    err_ << "\n";
    return kExitUsage;
  }
  std::string name = policy.value()["name"].get<std::string>();
  Json body(policy.value());
  Reply put = api_.Call("PUT", PolicyTarget(name), &body);
  if (put.exit_code != kExitOk) return put.exit_code;
  Reply assigned;
  if (assign) {
    Json body = {{"policy", name}};
    assigned = api_.Call("PUT", "/v1/assignment", &body);
  }
  if (json_) {
    PrintJson(assign ? Json{{"policy", put.json}, {"assignment", assigned.json}} : put.json);
  } else {
    out_ << "policy '" << name << "' " << (put.response.status == 201 ? "created" : "replaced");
    std::string revision = put.Revision();
    if (!revision.empty()) out_ << " (revision " << revision << ")";
    out_ << "\n";
    if (assign && assigned.exit_code == kExitOk) {
      out_ << "policy '" << name << "' assigned at pod scope\n\n";
      PrintAssignment(assigned.json, out_);
    }
  }
  return assign ? assigned.exit_code : kExitOk;
}

int Commands::PolicyList() {
  return Print(api_.Call("GET", "/v1/policies"), [&](const Json& j) { PrintPolicyList(j, out_); });
}

int Commands::PolicyGet(const std::string& name) {
  Reply reply = api_.Call("GET", PolicyTarget(name));
  return Print(reply, [&](const Json& j) { PrintPolicy(j, reply.Revision(), out_); });
}

int Commands::PolicyDelete(const std::string& name) {
  Reply reply = api_.Call("DELETE", PolicyTarget(name));
  if (reply.exit_code == kExitOk && !json_) out_ << "policy '" << name << "' deleted\n";
  return reply.exit_code;
}

int Commands::PolicyAssign(const std::string& name) {
  Json body = {{"policy", name}};
  return Print(api_.Call("PUT", "/v1/assignment", &body),
               [&](const Json& j) { PrintAssignment(j, out_); });
}

int Commands::PolicyUnassign() {
  return Print(api_.Call("DELETE", "/v1/assignment"),
               [&](const Json& j) { PrintAssignment(j, out_); });
}

int Commands::ShowPolicy() {
  return Print(api_.Call("GET", "/v1/assignment"),
               [&](const Json& j) { PrintAssignment(j, out_); });
}

int Commands::ShowFilters(bool specific) {
  if (specific) {
    return Print(api_.Call("GET", "/v1/filters?specific=true"),
                 [&](const Json& j) { PrintSpecificFilters(j, out_); });
  }
  return Print(api_.Call("GET", "/v1/filters"),
               [&](const Json& j) { PrintGenericFilters(j, out_); });
}

int Commands::ShowSas() {
  return Print(api_.Call("GET", "/v1/sas"), [&](const Json& j) { PrintSas(j, out_); });
}

int Commands::ShowStats() {
  return Print(api_.Call("GET", "/v1/stats"), [&](const Json& j) { PrintStats(j, out_); });
}

int Commands::SaInitiate(const std::string& rule, const std::string& peer) {
  Json body = {{"rule", rule}};
  if (!peer.empty()) body["peer"] = peer;
  return Print(api_.Call("POST", "/v1/sas", &body), [&](const Json& j) {
    out_ << "initiated " << Cell(Field(j, "id")) << " for rule '" << rule << "'"
         << (peer.empty() ? "" : " with " + peer) << "; see 'ipsecctl show sa' for how it goes\n";
  });
}

int Commands::SaDelete(const std::string& id) {
  Reply reply = api_.Call("DELETE", "/v1/sas/" + EscapePathSegment(id));
  if (reply.exit_code == kExitOk && !json_) out_ << "SA " << id << " deleted\n";
  return reply.exit_code;
}

int Commands::SaRekey(const std::string& id) {
  return Print(api_.Call("POST", "/v1/sas/" + EscapePathSegment(id) + "/rekey"), [&](const Json&) {
    out_ << "rekeying " << id << "; see 'ipsecctl show sa' for the new SA\n";
  });
}

int Commands::Match(const MatchArgs& args) {
  Json body = MatchBody(args);
  return Print(api_.Call("POST", "/v1/match", &body), [&](const Json& j) { PrintMatch(j, out_); });
}

int Commands::SetIkeLogging(bool enabled) {
  Json body = {{"enabled", enabled}};
  return Print(api_.Call("PUT", "/v1/config/ike-logging", &body), [&](const Json& j) {
    out_ << "IKE logging: " << (Field(j, "enabled") == true ? "on" : "off") << "\n";
  });
}

int Commands::DeleteAll() {
  return Print(api_.Call("DELETE", "/v1/policies"), [&](const Json& j) {
    const Json& deleted = Field(j, "deleted");
    out_ << "removed " << Cell(deleted)
         << (deleted == 1 ? " pod-scope policy" : " pod-scope policies")
         << " and the pod-scope assignment\n";
  });
}

int Commands::TemplatesList() {
  return Print(api_.Call("GET", "/v1/templates"), [&](const Json& j) { PrintTemplates(j, out_); });
}

int Commands::TemplatesShow(const std::string& name, const std::string& policy_name) {
  std::string target = "/v1/templates/" + EscapePathSegment(name);
  if (!policy_name.empty()) target += "?name=" + EscapePathSegment(policy_name);
  return Print(api_.Call("GET", target), [&](const Json& j) { PrintPolicy(j, "", out_); });
}

}  // namespace ipsec::sidecar::ipsecctl
