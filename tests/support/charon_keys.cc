#include "tests/support/charon_keys.h"

#include <cctype>
#include <charconv>
#include <cstdlib>
#include <map>
#include <set>

namespace ipsec::testing {
namespace {

std::string_view TrimLeft(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  return s;
}

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

template <typename T>
bool ParseNum(std::string_view s, T* out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

// "12:00:00.123 14[CHD] <c2|2> message" -> thread "14", IKE SA unique id 2, "message".
struct LogLine {
  std::string_view thread;
  uint32_t ike_id = 0;
  std::string_view msg;
};

bool SplitLogLine(std::string_view line, LogLine* out) {
  size_t sp = line.find(' ');
  if (sp == std::string_view::npos) return false;
  std::string_view rest = line.substr(sp + 1);
  size_t open = rest.find('[');
  size_t close = rest.find("] ");
  if (open == std::string_view::npos || close == std::string_view::npos || open > close) {
    return false;
  }
  out->thread = rest.substr(0, open);
  rest = rest.substr(close + 2);
  if (StartsWith(rest, "<")) {
    size_t end = rest.find("> ");
    if (end == std::string_view::npos) return false;
    std::string_view tag = rest.substr(1, end - 1);
    size_t bar = tag.rfind('|');
    if (!ParseNum(bar == std::string_view::npos ? tag : tag.substr(bar + 1), &out->ike_id)) {
      out->ike_id = 0;
    }
    rest = rest.substr(end + 2);
  }
  out->msg = rest;
  return true;
}

// A key whose hex dump lines are still to come on one thread.
struct PendingKey {
  std::string label;
  size_t remaining = 0;
  std::string hex;
  uint32_t ike_id = 0;
};

// "   0: E5 66 3D ..  .f=." -> appends up to `pending.remaining` bytes as lowercase hex.
bool ConsumeDumpLine(std::string_view msg, PendingKey& pending) {
  msg = TrimLeft(msg);
  size_t colon = msg.find(": ");
  if (colon == std::string_view::npos || colon == 0) return false;
  for (char c : msg.substr(0, colon)) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  std::string_view bytes = msg.substr(colon + 2);
  size_t n = pending.remaining < 16 ? pending.remaining : 16;
  for (size_t i = 0; i < n; ++i) {
    if (bytes.size() < 2 || !std::isxdigit(static_cast<unsigned char>(bytes[0])) ||
        !std::isxdigit(static_cast<unsigned char>(bytes[1]))) {
      return false;
    }
    pending.hex += static_cast<char>(std::tolower(static_cast<unsigned char>(bytes[0])));
    pending.hex += static_cast<char>(std::tolower(static_cast<unsigned char>(bytes[1])));
    bytes.remove_prefix(bytes.size() >= 3 ? 3 : 2);
  }
  pending.remaining -= n;
  return true;
}

bool IsKeyLabel(std::string_view label) {
  static const char* const kLabels[] = {"Sk_d secret",
                                        "Sk_ei secret",
                                        "Sk_er secret",
                                        "Sk_ai secret",
                                        "Sk_ar secret",
                                        "encryption initiator key",
                                        "encryption responder key",
                                        "integrity initiator key",
                                        "integrity responder key"};
  for (const char* l : kLabels) {
    if (label == l) return true;
  }
  return false;
}

class KeyLogParser {
 public:
  void Line(std::string_view raw) {
    LogLine line;
    if (!SplitLogLine(raw, &line)) return;
    std::string thread(line.thread);
    auto pending = pending_.find(thread);
    if (pending != pending_.end()) {
      if (ConsumeDumpLine(line.msg, pending->second) && pending->second.remaining > 0) return;
      if (pending->second.remaining == 0) Store(thread, pending->second);
      pending_.erase(pending);
    }
    Header(thread, line);
  }

  CharonKeyLog Finish() {
    for (auto& block : out_.child) block.initiator = initiated_.count(block.child_unique_id) > 0;
    return std::move(out_);
  }

 private:
  void Header(const std::string& thread, const LogLine& line) {
    std::string_view msg = line.msg;
    static constexpr std::string_view kEstablishing = "establishing CHILD_SA ";
    static constexpr std::string_view kInstalling = "state change: CREATED => INSTALLING";
    if (StartsWith(msg, kEstablishing) ||
        (StartsWith(msg, "CHILD_SA ") && msg.find(kInstalling) != std::string_view::npos)) {
      size_t open = msg.find('{');
      size_t close = msg.find('}');
      uint32_t id = 0;
      if (open == std::string_view::npos || close < open ||
          !ParseNum(msg.substr(open + 1, close - open - 1), &id)) {
        return;
      }
      if (StartsWith(msg, kEstablishing)) {
        initiated_.insert(id);
      } else {
        current_child_[thread] = id;
      }
      return;
    }
    size_t arrow = msg.find(" => ");
    if (arrow == std::string_view::npos || !IsKeyLabel(msg.substr(0, arrow))) return;
    std::string_view size = msg.substr(arrow + 4);
    size = size.substr(0, size.find(' '));
    PendingKey key{std::string(msg.substr(0, arrow)), 0, "", line.ike_id};
    if (!ParseNum(size, &key.remaining)) return;
    if (key.remaining == 0) {
      Store(thread, key);
    } else {
      pending_[thread] = key;
    }
  }

  void Store(const std::string& thread, const PendingKey& key) {
    const std::string& l = key.label;
    if (l == "Sk_d secret") {
      out_.ike.push_back({key.ike_id});
      ike_index_[thread] = out_.ike.size() - 1;
      return;
    }
    if (l == "encryption initiator key") {
      out_.child.push_back({key.ike_id, current_child_[thread]});
      child_index_[thread] = out_.child.size() - 1;
    }
    if (StartsWith(l, "Sk_")) {
      auto it = ike_index_.find(thread);
      if (it == ike_index_.end()) return;
      CharonIkeKeyBlock& b = out_.ike[it->second];
      std::string* field = l == "Sk_ei secret"   ? &b.sk_ei
                           : l == "Sk_er secret" ? &b.sk_er
                           : l == "Sk_ai secret" ? &b.sk_ai
                                                 : &b.sk_ar;
      *field = key.hex;
      return;
    }
    auto it = child_index_.find(thread);
    if (it == child_index_.end()) return;
    CharonChildKeyBlock& b = out_.child[it->second];
    std::string* field = l == "encryption initiator key"   ? &b.encr_i
                         : l == "encryption responder key" ? &b.encr_r
                         : l == "integrity initiator key"  ? &b.integ_i
                                                           : &b.integ_r;
    *field = key.hex;
  }

  CharonKeyLog out_;
  std::map<std::string, PendingKey> pending_;
  std::map<std::string, size_t> ike_index_, child_index_;
  std::map<std::string, uint32_t> current_child_;
  std::set<uint32_t> initiated_;
};

template <typename T>
bool ParseHexNum(const std::string& s, T* out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out, 16);
  return !s.empty() && ec == std::errc() && p == s.data() + s.size();
}

bool ChildRows(const IkeSaInfo& ike, const ChildSaInfo& child, const CharonChildKeyBlock& k,
               bool with_addresses, std::vector<EspSaKeys>* rows, std::string* error) {
  auto encr = EncrIdFromStrongswan(child.encr_alg);
  auto integ = IntegIdFromStrongswan(child.integ_alg);
  EspSaKeys out, in;
  if (!encr || !integ || !ParseHexNum(child.spi_out, &out.spi) ||
      !ParseHexNum(child.spi_in, &in.spi)) {
    *error = "child SA " + child.key + ": cannot map " + child.encr_alg + "/" + child.integ_alg +
             " or SPIs " + child.spi_in + "/" + child.spi_out;
    return false;
  }
  for (EspSaKeys* row : {&out, &in}) {
    row->ipv6 = ike.local_host.find(':') != std::string::npos;
    row->encr = *encr;
    row->integ = *integ;
  }
  if (with_addresses) {
    out.src = in.dst = ike.local_host;
    out.dst = in.src = ike.remote_host;
  }
  out.encr_key = k.initiator ? k.encr_i : k.encr_r;
  out.integ_key = k.initiator ? k.integ_i : k.integ_r;
  in.encr_key = k.initiator ? k.encr_r : k.encr_i;
  in.integ_key = k.initiator ? k.integ_r : k.integ_i;
  rows->push_back(out);
  rows->push_back(in);
  return true;
}

}  // namespace

CharonKeyLog ParseCharonKeyLog(std::string_view log) {
  KeyLogParser parser;
  while (!log.empty()) {
    size_t nl = log.find('\n');
    parser.Line(log.substr(0, nl));
    log = nl == std::string_view::npos ? std::string_view() : log.substr(nl + 1);
  }
  parser.Line("");  // completes a key at the very end
  return parser.Finish();
}

bool CharonTsharkKeys(const CharonKeyLog& keys, const std::vector<IkeSaInfo>& sas,
                      bool with_addresses, std::vector<IkeSaKeys>* ike_rows,
                      std::vector<EspSaKeys>* esp_rows, std::string* error) {
  for (const auto& ike : sas) {
    const CharonIkeKeyBlock* block = nullptr;
    for (const auto& b : keys.ike) {
      if (b.ike_unique_id == ike.unique_id) block = &b;
    }
    if (block != nullptr) {
      IkeSaKeys row;
      auto encr = EncrIdFromStrongswan(ike.encr_alg);
      auto integ = IntegIdFromStrongswan(ike.integ_alg);
      if (!encr || !integ || !ParseHexNum(ike.initiator_spi, &row.spi_i) ||
          !ParseHexNum(ike.responder_spi, &row.spi_r)) {
        *error = "IKE SA " + ike.name + ": cannot map " + ike.encr_alg + "/" + ike.integ_alg;
        return false;
      }
      row.encr = *encr;
      row.encr_key_bits = ike.encr_keysize;
      row.integ = *integ;
      row.sk_ei = block->sk_ei;
      row.sk_er = block->sk_er;
      row.sk_ai = block->sk_ai;
      row.sk_ar = block->sk_ar;
      ike_rows->push_back(row);
    }
    for (const auto& child : ike.child_sas) {
      if (child.protocol != "ESP") continue;
      for (const auto& k : keys.child) {
        if (k.child_unique_id != child.unique_id) continue;
        if (!ChildRows(ike, child, k, with_addresses, esp_rows, error)) return false;
      }
    }
  }
  return true;
}

}  // namespace ipsec::testing
