#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/policy/model.h"

namespace ipsec::engine::policy {

// The FAQ's predefined policies (FAQ 12), as templates an operator starts from:
//   respond-only     "Client (Respond Only)": no rules; the default response rule answers.
//   request-security "Server (Request Security)": all IP traffic negotiates, accepts unsecured
//                    communication and falls back to clear; ICMP permitted.
//   require-security "Secure Server (Require Security)": all IP traffic must be secured, no
//                    fallback, no unsecured inbound; ICMP permitted.
// Each uses PSK-less placeholders: the caller supplies authentication methods.
std::vector<std::string> TemplateNames();
std::optional<Policy> MakeTemplate(std::string_view template_name, std::string policy_name,
                                   const std::vector<AuthMethod>& auth_methods);

// The defaults the templates and an empty proposal list use: AES-GCM first (DESIGN.md).
std::vector<SecurityMethod> DefaultSecurityMethods();
std::vector<IkeProposal> DefaultIkeProposals();

}  // namespace ipsec::engine::policy
