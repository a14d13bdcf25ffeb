#include "sidecar/ipsecctl/cli.h"

#include <CLI/CLI.hpp>
#include <exception>
#include <functional>
#include <memory>
#include <string>

#include "sidecar/ipsecctl/api_call.h"
#include "sidecar/ipsecctl/commands.h"
#include "sidecar/ipsecctl/exit_codes.h"

namespace ipsec::sidecar::ipsecctl {
namespace {

// The chosen command, run after parsing succeeded.
using Action = std::function<int(Commands&)>;

constexpr const char* kDescription =
    "ipsecctl: manage the IPsec policy of this pod's ipsec-sidecar through its REST API\n"
    "(docs/api.md). Shows the policy in force, the compiled filter table, SAs and statistics,\n"
    "and which rule decides a given packet.";

CLI::Option* AddGlobalOptions(CLI::App& app, GlobalOptions& global) {
  app.add_option("--api", global.api, "the daemon's API, HOST:PORT or [V6]:PORT")
      ->envname("IPSECCTL_API")
      ->capture_default_str();
  CLI::Option* token_file =
      app.add_option("--token-file", global.token_file, "file holding the API's bearer token")
          ->envname("IPSECCTL_TOKEN_FILE")
          ->capture_default_str();
  app.add_option("--token", global.token,
                 "the bearer token itself (visible to ps; prefer --token-file)")
      ->envname("IPSECCTL_TOKEN");
  app.add_flag("--tls", global.tls, "speak TLS to the API");
  app.add_option("--ca-file", global.ca_file, "PEM CA certificate(s) to verify the API (TLS)");
  app.add_flag("--insecure", global.insecure, "TLS without verifying the API's certificate");
  app.add_option("--timeout", global.timeout_seconds, "seconds to wait for each step")
      ->capture_default_str();
  app.add_option("-o,--output", global.output, "output format")
      ->check(CLI::IsMember({"table", "json"}))
      ->capture_default_str();
  return token_file;
}

void AddPolicyCommands(CLI::App& app, Action& action) {
  CLI::App* policy = app.add_subcommand("policy",
                                        "pod-scope policies: apply, list, get, "
                                        "delete, assign, unassign");
  policy->require_subcommand(1);
  auto file = std::make_shared<std::string>();
  auto assign = std::make_shared<bool>(false);
  CLI::App* apply = policy->add_subcommand(
      "apply", "create or replace a policy from a JSON or YAML file (PUT /v1/policies/{name})");
  apply->add_option("-f,--file", *file, "the policy file, '-' for standard input")->required();
  apply->add_flag("--assign", *assign, "also assign the policy at pod scope");
  apply->callback([&action, file, assign] {
    action = [file, assign](Commands& c) { return c.PolicyApply(*file, *assign); };
  });
  policy->add_subcommand("list", "list pod-scope policies")->callback([&action] {
    action = [](Commands& c) { return c.PolicyList(); };
  });
  auto name = std::make_shared<std::string>();
  for (const char* verb : {"get", "delete", "assign"}) {
    std::string what = std::string(verb) == "get"      ? "show a policy"
                       : std::string(verb) == "delete" ? "delete a policy (refused while assigned)"
                                                       : "assign a policy at pod scope";
    CLI::App* sub = policy->add_subcommand(verb, what);
    sub->add_option("name", *name, "the policy's name")->required();
    std::string v = verb;
    sub->callback([&action, name, v] {
      action = [name, v](Commands& c) {
        return v == "get"      ? c.PolicyGet(*name)
               : v == "delete" ? c.PolicyDelete(*name)
                               : c.PolicyAssign(*name);
      };
    });
  }
  policy->add_subcommand("unassign", "remove the pod-scope assignment")->callback([&action] {
    action = [](Commands& c) { return c.PolicyUnassign(); };
  });
}

void AddShowCommands(CLI::App& app, Action& action) {
  CLI::App* show = app.add_subcommand("show", "the state in force (like netsh ipsec dynamic show)");
  show->require_subcommand(1);
  show->add_subcommand("policy", "which policy is in force, per scope, and why")
      ->callback([&action] { action = [](Commands& c) { return c.ShowPolicy(); }; });
  auto specific = std::make_shared<bool>(false);
  CLI::App* filters = show->add_subcommand("filters", "the filters of the policy in force");
  filters->add_flag("--specific", *specific,
                    "the expanded, weighted filter table (mirrors, 'me', exemptions)");
  filters->callback([&action, specific] {
    action = [specific](Commands& c) { return c.ShowFilters(*specific); };
  });
  show->add_subcommand("sa", "IKE (main mode) and child (quick mode) SAs")
      ->alias("sas")
      ->callback([&action] { action = [](Commands& c) { return c.ShowSas(); }; });
  show->add_subcommand("stats", "IKE and policy statistics")
      ->alias("statistics")
      ->callback([&action] { action = [](Commands& c) { return c.ShowStats(); }; });
}

void AddSaCommands(CLI::App& app, Action& action) {
  CLI::App* sa = app.add_subcommand("sa", "security associations: initiate, rekey, delete");
  sa->require_subcommand(1);
  auto rule = std::make_shared<std::string>();
  auto peer = std::make_shared<std::string>();
  CLI::App* initiate = sa->add_subcommand(
      "initiate", "start an IKE SA and its first child SA for a rule (POST /v1/sas)");
  initiate->add_option("--rule", *rule, "a rule of the policy in force that negotiates")
      ->required();
  initiate->add_option("--peer", *peer,
                       "the peer's IP address (default: the rule's tunnel "
                       "endpoint)");
  initiate->callback([&action, rule, peer] {
    action = [rule, peer](Commands& c) { return c.SaInitiate(*rule, *peer); };
  });
  auto id = std::make_shared<std::string>();
  CLI::App* remove = sa->add_subcommand(
      "delete", "tear down an SA, sending Delete to the peer (DELETE /v1/sas/{id})");
  remove->add_option("id", *id, "ike-<n> (with its child SAs) or child-<reqid>")->required();
  remove->callback([&action, id] { action = [id](Commands& c) { return c.SaDelete(*id); }; });
  CLI::App* rekey =
      sa->add_subcommand("rekey", "rekey an SA now, make-before-break (POST /v1/sas/{id}/rekey)");
  rekey->add_option("id", *id, "child-<reqid> or ike-<n>")->required();
  rekey->callback([&action, id] { action = [id](Commands& c) { return c.SaRekey(*id); }; });
}

void AddMatchCommand(CLI::App& app, Action& action) {
  auto args = std::make_shared<MatchArgs>();
  auto sport = std::make_shared<int>(0);
  auto dport = std::make_shared<int>(0);
  CLI::App* match =
      app.add_subcommand("match", "which filter entry decides a packet, and why (POST /v1/match)");
  match->add_option("--direction", args->direction, "in or out")
      ->required()
      ->check(CLI::IsMember({"in", "out", "inbound", "outbound"}));
  match->add_option("--src", args->source, "source address")->required();
  match->add_option("--dst", args->destination, "destination address")->required();
  match->add_option("--proto", args->protocol, "protocol: tcp, udp, icmp, … or 0-255");
  CLI::Option* s = match->add_option("--sport", *sport, "source port")->check(CLI::Range(0, 65535));
  CLI::Option* d =
      match->add_option("--dport", *dport, "destination port")->check(CLI::Range(0, 65535));
  match->add_option("--interface", args->interface, "interface the packet crosses");
  match->callback([&action, args, sport, dport, s, d] {
    if (s->count() > 0) args->source_port = *sport;
    if (d->count() > 0) args->destination_port = *dport;
    action = [args](Commands& c) { return c.Match(*args); };
  });
}

void AddOtherCommands(CLI::App& app, Action& action, std::ostream& err) {
  CLI::App* set = app.add_subcommand("set", "change run-time settings");
  set->require_subcommand(1);
  auto state = std::make_shared<std::string>();
  CLI::App* logging = set->add_subcommand("ike-logging", "turn the IKE negotiation log on or off");
  logging->add_option("state", *state, "on or off")
      ->required()
      ->check(CLI::IsMember({"on", "off"}));
  logging->callback([&action, state] {
    action = [state](Commands& c) { return c.SetIkeLogging(*state == "on"); };
  });
  CLI::App* remove = app.add_subcommand("delete", "remove local policy");
  remove->require_subcommand(1);
  auto yes = std::make_shared<bool>(false);
  CLI::App* all = remove->add_subcommand(
      "all", "remove every pod-scope policy and the pod assignment (FAQ 44); needs --yes");
  all->add_flag("--yes", *yes, "confirm");
  all->callback([&action, &err, yes] {
    action = [yes, &err](Commands& c) {
      if (!*yes) {
        err << "ipsecctl: 'delete all' removes every pod-scope policy and the pod assignment; "
               "add --yes to confirm\n";
        return static_cast<int>(kExitUsage);
      }
      return c.DeleteAll();
    };
  });
  CLI::App* templates = app.add_subcommand("templates", "the predefined policies");
  templates->require_subcommand(1);
  templates->add_subcommand("list", "list the templates")->callback([&action] {
    action = [](Commands& c) { return c.TemplatesList(); };
  });
  auto name = std::make_shared<std::string>();
  auto policy_name = std::make_shared<std::string>();
  CLI::App* show = templates->add_subcommand("show", "a policy to start from");
  show->add_option("template", *name, "respond-only, request-security or require-security")
      ->required();
  show->add_option("--name", *policy_name, "the name to give the policy");
  show->callback([&action, name, policy_name] {
    action = [name, policy_name](Commands& c) { return c.TemplatesShow(*name, *policy_name); };
  });
}

}  // namespace

int Run(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
  try {
    GlobalOptions global;
    Action action;
    CLI::App app(kDescription, "ipsecctl");
    // Subcommands inherit the footer they see when added: the short one; the top gets all.
    app.footer(
        "Global options (--api, --token-file, -o, ...): ipsecctl --help\n"
        "Exit codes: 0 ok, 1 usage, 2 rejected (4xx), 3 unreachable, 4 auth (401), 5 server "
        "error");
    app.fallthrough();
    app.require_subcommand(1, 1);
    CLI::Option* token_file = AddGlobalOptions(app, global);
    AddPolicyCommands(app, action);
    AddShowCommands(app, action);
    AddSaCommands(app, action);
    AddMatchCommand(app, action);
    AddOtherCommands(app, action, err);
    app.footer(kExitCodeHelp);
    try {
      app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
      return app.exit(e, out, err) == 0 ? kExitOk : kExitUsage;
    }
    if (!action) {
      err << "ipsecctl: no command given; see ipsecctl --help\n";
      return kExitUsage;
    }
    global.token_file_given = token_file->count() > 0;
    auto api = Api::Create(global, err);
    if (!api.ok()) {
      err << "ipsecctl: " << api.error().message << "\n";
      return kExitUsage;
    }
    Commands commands(*api.value(), global.output == "json", out, err);
    return action(commands);
  } catch (const std::exception& e) {
    err << "ipsecctl: internal error: " << e.what() << "\n";
    return kExitServer;
  }
}

}  // namespace ipsec::sidecar::ipsecctl
