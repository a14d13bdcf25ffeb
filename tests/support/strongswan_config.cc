#include "tests/support/strongswan_config.h"

#include <cstdio>
#include <sstream>

namespace ipsec::testing {

const char* const kCharonPlugins =
    "random nonce x509 revocation constraints pubkey pkcs1 pkcs7 pkcs8 pkcs12 pgp dnskey sshkey "
    "pem openssl gcm chapoly curve25519 xcbc cmac hmac kdf drbg attr kernel-libipsec "
    "kernel-netlink resolve socket-default vici updown counters";

namespace {

std::string YesNo(bool b) { return b ? "yes" : "no"; }

std::string FormatDouble(double d) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.3g", d);
  std::string s = buf;
  if (s.find('.') == std::string::npos && s.find('e') == std::string::npos) s += ".0";
  return s;
}

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += ",";
    out += item;
  }
  return out;
}

// Writes `key = value` at `indent` when the value is non-empty.
class Writer {
 public:
  void Line(int indent, const std::string& text) {
    out_ << std::string(indent * 2, ' ') << text << "\n";
  }
  void Set(int indent, const std::string& key, const std::string& value) {
    if (!value.empty()) Line(indent, key + " = " + value);
  }
  void Extra(int indent, const KeyValues& extra) {
    for (const auto& [k, v] : extra) Line(indent, k + " = " + v);
  }
  std::string str() const { return out_.str(); }

 private:
  std::ostringstream out_;
};

void WriteLogger(Writer& w, const CharonOptions& o, const std::string& dir) {
  w.Line(2, "charon {");
  w.Set(3, "path", CharonLogPath(dir));
  w.Set(3, "time_format", "%H:%M:%S");
  w.Set(3, "time_add_ms", "yes");
  w.Set(3, "ike_name", "yes");  // "<conn|unique id>" on each line: CharonKeysFromLog needs it
  w.Set(3, "append", "no");
  w.Set(3, "flush_line", "yes");
  std::map<std::string, int> levels = o.log_levels;
  if (o.log_keys) {
    levels["ike"] = 4;
    levels["chd"] = 4;
  }
  for (const auto& [subsystem, level] : levels) w.Set(3, subsystem, std::to_string(level));
  w.Line(2, "}");
}

void WriteAuth(Writer& w, const std::string& section, const AuthConfig& a) {
  w.Line(3, section + " {");
  w.Set(4, "auth", a.auth);
  if (!a.id.empty()) w.Set(4, "id", QuoteSwanctlValue(a.id));
  if (!a.certs.empty()) w.Set(4, "certs", Join(a.certs));
  if (!a.cacerts.empty()) w.Set(4, "cacerts", Join(a.cacerts));
  w.Extra(4, a.extra);
  w.Line(3, "}");
}

void WriteChild(Writer& w, const ChildConfig& c) {
  w.Line(4, c.name + " {");
  w.Set(5, "local_ts", Join(c.local_ts));
  w.Set(5, "remote_ts", Join(c.remote_ts));
  w.Set(5, "esp_proposals", c.esp_proposals);
  w.Set(5, "mode", c.mode);
  w.Set(5, "rekey_time", c.rekey_time);
  w.Set(5, "life_time", c.life_time);
  w.Set(5, "start_action", StartActionName(c.start_action));
  w.Set(5, "dpd_action", c.dpd_action);
  w.Set(5, "close_action", c.close_action);
  w.Extra(5, c.extra);
  w.Line(4, "}");
}

void WriteConnection(Writer& w, const ConnectionConfig& c) {
  w.Line(1, c.name + " {");
  w.Set(2, "version", std::to_string(c.version));
  w.Set(2, "local_addrs", Join(c.local_addrs));
  w.Set(2, "remote_addrs", Join(c.remote_addrs));
  w.Set(2, "proposals", c.proposals);
  if (c.encap) w.Set(2, "encap", YesNo(*c.encap));
  if (c.mobike) w.Set(2, "mobike", YesNo(*c.mobike));
  w.Set(2, "fragmentation", c.fragmentation);
  w.Set(2, "dpd_delay", c.dpd_delay);
  w.Set(2, "rekey_time", c.rekey_time);
  w.Set(2, "over_time", c.over_time);
  w.Set(2, "reauth_time", c.reauth_time);
  w.Set(2, "unique", c.unique);
  w.Extra(2, c.extra);
  WriteAuth(w, "local", c.local);
  WriteAuth(w, "remote", c.remote);
  w.Line(2, "children {");
  for (const auto& child : c.children) WriteChild(w, child);
  w.Line(2, "}");
  w.Line(1, "}");
}

}  // namespace

std::string CharonLogPath(const std::string& dir) { return dir + "/charon.log"; }
std::string CharonViciUri(const std::string& dir) { return "unix://" + dir + "/charon.vici"; }

const char* StartActionName(StartAction action) {
  switch (action) {
    case StartAction::kTrap:
      return "trap";
    case StartAction::kStart:
      return "start";
    case StartAction::kNone:
      break;
  }
  return "none";
}

std::string QuoteSwanctlValue(const std::string& value) {
  std::string out = "\"";
  for (char ch : value) {
    if (ch == '"' || ch == '\\') out += '\\';
    out += ch;
  }
  return out + "\"";
}

std::string RenderStrongswanConf(const CharonOptions& o, const std::string& dir) {
  Writer w;
  w.Line(0, "# One lab charon (tests/support/strongswan.h); see docs/lab.md.");
  w.Line(0, "charon {");
  w.Set(1, "load", kCharonPlugins);
  w.Set(1, "port", std::to_string(o.port));
  w.Set(1, "port_nat_t", std::to_string(o.port_nat_t));
  w.Set(1, "retransmit_timeout", FormatDouble(o.retransmit_timeout));
  w.Set(1, "retransmit_base", FormatDouble(o.retransmit_base));
  w.Set(1, "retransmit_tries", std::to_string(o.retransmit_tries));
  w.Set(1, "dos_protection", YesNo(o.dos_protection));
  if (o.cookie_threshold) w.Set(1, "cookie_threshold", std::to_string(*o.cookie_threshold));
  if (o.block_threshold) w.Set(1, "block_threshold", std::to_string(*o.block_threshold));
  if (o.init_limit_half_open) {
    w.Set(1, "init_limit_half_open", std::to_string(*o.init_limit_half_open));
  }
  if (o.ikesa_table_size) w.Set(1, "ikesa_table_size", std::to_string(*o.ikesa_table_size));
  w.Set(1, "reuse_ikesa", YesNo(o.reuse_ikesa));
  w.Set(1, "make_before_break", YesNo(o.make_before_break));
  w.Set(1, "threads", std::to_string(o.threads));
  w.Set(1, "install_virtual_ip", "no");
  w.Extra(1, o.extra);
  w.Line(1, "filelog {");
  WriteLogger(w, o, dir);
  w.Line(1, "}");
  w.Line(1, "plugins {");
  std::map<std::string, KeyValues> plugins = o.plugin_settings;
  plugins["vici"].insert(plugins["vici"].begin(), {"socket", CharonViciUri(dir)});
  plugins["resolve"].insert(plugins["resolve"].begin(), {"file", dir + "/resolv.conf"});
  for (const auto& [plugin, settings] : plugins) {
    w.Line(2, plugin + " {");
    w.Extra(3, settings);
    w.Line(2, "}");
  }
  w.Line(1, "}");
  w.Line(0, "}");
  return w.str();
}

std::string RenderSwanctlConf(const SwanctlConfig& config) {
  Writer w;
  w.Line(0, "# Written by the interop lab (tests/support/strongswan.h).");
  w.Line(0, "connections {");
  for (const auto& c : config.connections) WriteConnection(w, c);
  w.Line(0, "}");
  w.Line(0, "secrets {");
  for (const auto& key : config.shared_keys) {
    w.Line(1, "ike-" + key.name + " {");
    for (size_t i = 0; i < key.ids.size(); ++i) {
      w.Set(2, "id-" + std::to_string(i + 1), QuoteSwanctlValue(key.ids[i]));
    }
    w.Set(2, "secret", QuoteSwanctlValue(key.secret));
    w.Line(1, "}");
  }
  w.Line(0, "}");
  return w.str();
}

}  // namespace ipsec::testing
