#pragma once

// ipsecctl's commands: each sends its request(s), prints a table (or the API's JSON with
// -o json) to `out`, and returns an exit code (exit_codes.h). Errors go to `err`.

#include <optional>
#include <ostream>
#include <string>

#include "sidecar/ipsecctl/api_call.h"

namespace ipsec::sidecar::ipsecctl {

struct MatchArgs {
  std::string direction;  // in | out | inbound | outbound
  std::string source;
  std::string destination;
  std::string protocol;  // empty: any
  std::string interface;
  std::optional<int> source_port;
  std::optional<int> destination_port;
};

// The request body of POST /v1/match.
Json MatchBody(const MatchArgs& args);

class Commands {
 public:
  Commands(Api& api, bool json, std::ostream& out, std::ostream& err)
      : api_(api), json_(json), out_(out), err_(err) {}

  int PolicyApply(const std::string& file, bool assign);
  int PolicyList();
  int PolicyGet(const std::string& name);
  int PolicyDelete(const std::string& name);
  int PolicyAssign(const std::string& name);
  int PolicyUnassign();
  int ShowPolicy();
  int ShowFilters(bool specific);
  int ShowSas();
  int ShowStats();
  // POST /v1/sas: start an IKE SA for `rule` (peer empty: the rule's tunnel endpoint).
  int SaInitiate(const std::string& rule, const std::string& peer);
  // DELETE /v1/sas/{id}: "ike-<n>" (with its child SAs, sending Delete) or "child-<reqid>".
  int SaDelete(const std::string& id);
  int SaRekey(const std::string& id);
  int Match(const MatchArgs& args);
  int SetIkeLogging(bool enabled);
  int DeleteAll();
  int TemplatesList();
  int TemplatesShow(const std::string& name, const std::string& policy_name);

 private:
  template <class View>
  int Print(const Reply& reply, View view);
  void PrintJson(const Json& j);

  Api& api_;
  const bool json_;
  std::ostream& out_;
  std::ostream& err_;
};

}  // namespace ipsec::sidecar::ipsecctl
