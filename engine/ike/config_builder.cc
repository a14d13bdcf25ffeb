#include "engine/ike/config_builder.h"

#include <algorithm>

#include "engine/ike/auth_cert.h"
#include "engine/policy/templates.h"

namespace ipsec::engine::ike {
namespace {

std::vector<Credential> Resolve(const std::vector<policy::AuthMethod>& methods,
                                const std::string& who, const ConfigBuildOptions& options,
                                CertificateResolver& certificates,
                                std::vector<std::string>* warnings) {
  std::vector<Credential> out;
  for (const auto& m : methods) {
    Credential c;
    c.kind = m.kind;
    c.certificate_authority = m.certificate_authority;
    if (m.kind == policy::AuthKind::kPreSharedKey) {
      if (!m.preshared_key.empty()) {
        c.psk = m.preshared_key;
      } else if (options.read_secret) {
        auto key = options.read_secret(m.preshared_key_file);
        if (!key.ok()) {
          warnings->push_back(who + ": cannot read preshared key file " + m.preshared_key_file +
                              ": " + key.error().message);
          continue;
        }
        c.psk = std::move(key).value();
      } else {
        warnings->push_back(who + ": preshared key files are not readable here");
        continue;
      }
    }
    if (m.kind == policy::AuthKind::kCertificate) {
      certificates.Resolve(c, who, warnings);
      // RFC 7296 §3.5: the ID we send must be named by our certificate (auth_cert.h).
      if (options.local_identity && c.local_certificate != nullptr) {
        if (Status s = MatchIdentity(*options.local_identity, c.local_certificate->chain.front());
            !s.ok()) {
          warnings->push_back(who + ": our identity " + options.local_identity->ToString() +
                              " is not named by certificate '" + c.local_certificate->name +
                              "', so the certificate's subject DN is sent instead (" +
                              s.error().message + ")");
        }
      }
    }
    out.push_back(std::move(c));
  }
  return out;
}

dataplane::TrafficSelector Selector(const IpRange& addresses, const std::optional<uint8_t>& proto,
                                    const policy::PortRange& ports) {
  return dataplane::TrafficSelector{addresses, proto.value_or(0), ports.first, ports.last};
}

// Appends `t` unless `traffic` already holds the same selectors.
void AddTraffic(std::vector<RuleTraffic>& traffic, const RuleTraffic& t) {
  if (std::none_of(traffic.begin(), traffic.end(), [&](const RuleTraffic& x) {
        return x.local == t.local && x.remote == t.remote;
      })) {
    traffic.push_back(t);
  }
}

}  // namespace

std::shared_ptr<const IkeConfig> BuildIkeConfig(const policy::Policy& policy,
                                                const policy::FilterTable& table,
                                                const ConfigBuildOptions& options,
                                                std::vector<std::string>* warnings) {
  auto config = std::make_shared<IkeConfig>();
  config->policy = policy.name;
  config->ike_proposals = policy.key_exchange.proposals.empty() ? policy::DefaultIkeProposals()
                                                                : policy.key_exchange.proposals;
  config->ike_lifetime_seconds = policy.key_exchange.ike_sa_lifetime_seconds;
  config->max_child_sas = policy.key_exchange.max_child_sas_per_ike_sa;
  config->timers = options.timers;
  config->cluster_peers = options.cluster_peers;
  config->local_identity = options.local_identity;
  config->dos = options.dos;
  CertificateStore loaded;
  if (options.load_certificates) loaded = options.load_certificates(warnings);
  CertificateResolver certificates(options.load_certificates ? loaded : options.certificates);
  config->allow_legacy_algorithms = policy.allow_legacy_algorithms;
  for (const policy::Rule& rule : policy.rules) {
    const policy::FilterAction* action = policy.FindFilterAction(rule.filter_action);
    if (!rule.active || action == nullptr || action->type != policy::ActionType::kNegotiate) {
      continue;
    }
    NegotiateRule r;
    r.name = rule.name;
    r.credentials =
        Resolve(rule.auth_methods, "rule '" + rule.name + "'", options, certificates, warnings);
    r.security_methods = action->security_methods.empty() ? policy::DefaultSecurityMethods()
                                                          : action->security_methods;
    r.session_key_pfs = action->session_key_pfs;
    r.accept_unsecured = action->accept_unsecured;
    r.allow_fallback_to_clear = action->allow_fallback_to_clear;
    r.tunnel_endpoint = rule.tunnel_endpoint;
    // The traffic it secures: its outbound entries that survived conflicts (FAQ 23). Entries
    // of both directions are remembered for acquires and unsecured inbound packets. An outbound
    // entry from elsewhere to one of the pod's addresses (the reversed copy of a mirrored
    // filter between two explicit addresses: peer -> us) never matches a packet of ours: it
    // would only widen our TSi/TSr (RFC 7296 §2.9) with the peer's address as ours. It is left
    // out, unless that would leave the rule no traffic at all. With the pod's addresses unknown
    // nothing is left out; sources the list does not hold (loopback) are kept.
    auto holds_ours = [&](const IpRange& range) {
      return std::any_of(table.local_addresses.begin(), table.local_addresses.end(),
                         [&](const IpAddress& a) { return range.Contains(a); });
    };
    std::vector<RuleTraffic> elsewhere;
    for (const policy::TableEntry& e : table.entries) {
      if (e.origin.kind != policy::OriginKind::kRule || e.origin.rule != rule.name ||
          e.action != policy::Action::kNegotiate) {
        continue;
      }
      r.filter_entries.push_back(e.id);
      if (e.direction != policy::Direction::kOutbound) continue;
      RuleTraffic t{Selector(e.source, e.protocol, e.source_ports),
                    Selector(e.destination, e.protocol, e.destination_ports)};
      const bool toward_us = !holds_ours(e.source) && holds_ours(e.destination);
      AddTraffic(toward_us ? elsewhere : r.traffic, t);
    }
    if (r.traffic.empty()) {
      for (const RuleTraffic& t : elsewhere) AddTraffic(r.traffic, t);
    }
    config->rules.push_back(std::move(r));
  }
  if (policy.default_response.active) {
    NegotiateRule d;
    d.name = kDefaultResponseRule;
    d.dynamic_traffic = true;
    d.credentials = Resolve(policy.default_response.auth_methods, "the default response rule",
                            options, certificates, warnings);
    d.security_methods = policy.default_response.security_methods.empty()
                             ? policy::DefaultSecurityMethods()
                             : policy.default_response.security_methods;
    config->default_response = std::move(d);
  }
  return config;
}

}  // namespace ipsec::engine::ike
