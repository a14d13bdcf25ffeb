#include "tests/support/swanctl_sas.h"

#include <charconv>

namespace ipsec::testing {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Line-by-line parser state: the chain of open sections, and an open list if any.
struct ParseState {
  std::vector<ViciSection>* messages;
  std::vector<ViciSection> stack;
  std::vector<std::string>* list = nullptr;
};

bool ParseLine(std::string_view line, ParseState& st, std::string* why) {
  if (st.list != nullptr) {
    if (line == "]") {
      st.list = nullptr;
    } else {
      st.list->emplace_back(line);
    }
    return true;
  }
  if (line == "}") {
    if (st.stack.empty()) return (*why = "unbalanced '}'", false);
    ViciSection done = std::move(st.stack.back());
    st.stack.pop_back();
    (st.stack.empty() ? *st.messages : st.stack.back().sections).push_back(std::move(done));
    return true;
  }
  size_t eq = line.find(" =");
  bool key_value = eq != std::string_view::npos && line.substr(0, eq).find(' ') == line.npos;
  if (!st.stack.empty() && key_value) {
    std::string key(line.substr(0, eq));
    std::string_view value = Trim(line.substr(eq + 2));
    if (value == "[") {
      st.stack.back().lists.emplace_back(key, std::vector<std::string>());
      st.list = &st.stack.back().lists.back().second;
    } else {
      st.stack.back().values.emplace_back(key, std::string(value));
    }
    return true;
  }
  if (EndsWith(line, " {") || line == "{") {
    ViciSection section;
    section.name = std::string(Trim(line.substr(0, line.size() - 1)));
    st.stack.push_back(std::move(section));
    return true;
  }
  *why = "expected 'key = value', 'name {', 'list = [' or '}'";
  return false;
}

bool ToInt(const std::string* s, int64_t* out) {
  if (s == nullptr) return true;
  auto [p, ec] = std::from_chars(s->data(), s->data() + s->size(), *out);
  return ec == std::errc() && p == s->data() + s->size();
}

// Typed access to a section's values; remembers the first malformed number.
class Fields {
 public:
  explicit Fields(const ViciSection& s) : s_(s) {}
  std::string Str(std::string_view key) const {
    const std::string* v = s_.Value(key);
    return v ? *v : std::string();
  }
  bool Bool(std::string_view key) const { return Str(key) == "yes"; }
  template <typename T>
  void Num(std::string_view key, T* out) {
    int64_t v = static_cast<int64_t>(*out);
    if (!ToInt(s_.Value(key), &v)) {
      if (bad_.empty()) bad_ = std::string(key) + " = " + *s_.Value(key);
      return;
    }
    *out = static_cast<T>(v);
  }
  std::vector<std::string> List(std::string_view key) const {
    const auto* l = s_.List(key);
    return l ? *l : std::vector<std::string>();
  }
  const std::string& bad() const { return bad_; }

 private:
  const ViciSection& s_;
  std::string bad_;
};

bool ToChild(const ViciSection& s, ChildSaInfo* c, std::string* error) {
  Fields f(s);
  c->key = s.name;
  c->name = f.Str("name");
  f.Num("uniqueid", &c->unique_id);
  f.Num("reqid", &c->reqid);
  c->state = f.Str("state");
  c->mode = f.Str("mode");
  c->protocol = f.Str("protocol");
  c->encap = f.Bool("encap");
  c->spi_in = f.Str("spi-in");
  c->spi_out = f.Str("spi-out");
  c->encr_alg = f.Str("encr-alg");
  f.Num("encr-keysize", &c->encr_keysize);
  c->integ_alg = f.Str("integ-alg");
  f.Num("integ-keysize", &c->integ_keysize);
  c->dh_group = f.Str("dh-group");
  f.Num("bytes-in", &c->bytes_in);
  f.Num("packets-in", &c->packets_in);
  f.Num("bytes-out", &c->bytes_out);
  f.Num("packets-out", &c->packets_out);
  f.Num("rekey-time", &c->rekey_time);
  f.Num("life-time", &c->life_time);
  f.Num("install-time", &c->install_time);
  c->local_ts = f.List("local-ts");
  c->remote_ts = f.List("remote-ts");
  c->raw = s;
  if (!f.bad().empty()) *error = "child SA " + s.name + ": bad number " + f.bad();
  return f.bad().empty();
}

bool ToIke(const ViciSection& s, IkeSaInfo* ike, std::string* error) {
  Fields f(s);
  ike->name = s.name;
  f.Num("uniqueid", &ike->unique_id);
  f.Num("version", &ike->version);
  ike->state = f.Str("state");
  ike->local_host = f.Str("local-host");
  f.Num("local-port", &ike->local_port);
  ike->local_id = f.Str("local-id");
  ike->remote_host = f.Str("remote-host");
  f.Num("remote-port", &ike->remote_port);
  ike->remote_id = f.Str("remote-id");
  ike->initiator = f.Bool("initiator");
  ike->initiator_spi = f.Str("initiator-spi");
  ike->responder_spi = f.Str("responder-spi");
  ike->nat_local = f.Bool("nat-local");
  ike->nat_remote = f.Bool("nat-remote");
  ike->nat_fake = f.Bool("nat-fake");
  ike->nat_any = f.Bool("nat-any");
  ike->encr_alg = f.Str("encr-alg");
  f.Num("encr-keysize", &ike->encr_keysize);
  ike->integ_alg = f.Str("integ-alg");
  f.Num("integ-keysize", &ike->integ_keysize);
  ike->prf_alg = f.Str("prf-alg");
  ike->dh_group = f.Str("dh-group");
  f.Num("established", &ike->established);
  f.Num("rekey-time", &ike->rekey_time);
  f.Num("reauth-time", &ike->reauth_time);
  if (!f.bad().empty()) return (*error = "IKE SA " + s.name + ": bad number " + f.bad(), false);
  if (const ViciSection* children = s.Section("child-sas")) {
    for (const auto& cs : children->sections) {
      ChildSaInfo child;
      if (!ToChild(cs, &child, error)) return false;
      ike->child_sas.push_back(std::move(child));
    }
  }
  ike->raw = s;
  return true;
}

}  // namespace

const std::string* ViciSection::Value(std::string_view key) const {
  for (const auto& [k, v] : values) {
    if (k == key) return &v;
  }
  return nullptr;
}

const std::vector<std::string>* ViciSection::List(std::string_view key) const {
  for (const auto& [k, v] : lists) {
    if (k == key) return &v;
  }
  return nullptr;
}

const ViciSection* ViciSection::Section(std::string_view section_name) const {
  for (const auto& s : sections) {
    if (s.name == section_name) return &s;
  }
  return nullptr;
}

bool ParseViciPretty(std::string_view text, std::vector<ViciSection>* messages,
                     std::string* error) {
  ParseState st{messages};
  int line_no = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = Trim(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++line_no;
    if (line.empty()) continue;
    std::string why;
    if (!ParseLine(line, st, &why)) {
      *error = "vici text line " + std::to_string(line_no) + " '" + std::string(line) + "': " + why;
      return false;
    }
  }
  if (!st.stack.empty() || st.list != nullptr) {
    *error = "vici text ends inside section '" + st.stack.back().name + "'";
    return false;
  }
  return true;
}

bool ParseListSas(std::string_view pretty, std::vector<IkeSaInfo>* sas, std::string* error) {
  std::vector<ViciSection> messages;
  if (!ParseViciPretty(pretty, &messages, error)) return false;
  for (const auto& message : messages) {
    if (message.name != "list-sa event") continue;
    for (const auto& section : message.sections) {
      IkeSaInfo ike;
      if (!ToIke(section, &ike, error)) return false;
      sas->push_back(std::move(ike));
    }
  }
  return true;
}

const ChildSaInfo* IkeSaInfo::InstalledChild(std::string_view child_name) const {
  for (const auto& c : child_sas) {
    if (c.name == child_name && c.installed()) return &c;
  }
  return nullptr;
}

std::string DescribeSas(const std::vector<IkeSaInfo>& sas) {
  if (sas.empty()) return "(no SAs)";
  std::string out;
  for (const auto& ike : sas) {
    out += ike.name + "#" + std::to_string(ike.unique_id) + " " + ike.state + " " + ike.local_host +
           "..." + ike.remote_host + " " + ike.encr_alg + "-" + std::to_string(ike.encr_keysize) +
           "/" + ike.integ_alg + "/" + ike.prf_alg + "/" + ike.dh_group + "\n";
    for (const auto& c : ike.child_sas) {
      out += "  " + c.key + " " + c.state + " " + c.mode + " " + c.protocol +
             (c.encap ? " encap" : "") + " " + c.spi_in + "_i " + c.spi_out + "_o " + c.encr_alg +
             "-" + std::to_string(c.encr_keysize) + "/" + c.integ_alg + " in " +
             std::to_string(c.packets_in) + "p out " + std::to_string(c.packets_out) + "p\n";
    }
  }
  return out;
}

}  // namespace ipsec::testing
