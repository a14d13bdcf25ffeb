#include "sidecar/log/redact.h"

#include <array>
#include <cctype>

namespace ipsec::sidecar::log {
namespace {

// Secret key names, lower case, with '-' and camel case folded to '_' by Normalize().
constexpr std::array<std::string_view, 9> kSecretNames = {
    "preshared_key", "presharedkey", "pre_shared_key", "psk",  "private_key",
    "secret",        "password",     "passphrase",     "token"};

// Lower case; '-' becomes '_'; an upper-case letter after a lower-case one gets a '_' first
// ("presharedKey" -> "preshared_key").
std::string Normalize(std::string_view key) {
  std::string out;
  out.reserve(key.size() + 4);
  for (size_t i = 0; i < key.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(key[i]);
    if (std::isupper(c) && i > 0 && std::islower(static_cast<unsigned char>(key[i - 1]))) {
      out.push_back('_');
    }
    out.push_back(c == '-' ? '_' : static_cast<char>(std::tolower(c)));
  }
  return out;
}

bool IsKeyChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
}

// Length of the value starting at text[pos]: a quoted string (with escapes) or a bare token
// up to whitespace, ',', ';', '}' or ']'.
size_t ValueLength(std::string_view text, size_t pos) {
  if (pos >= text.size()) return 0;
  if (text[pos] == '"' || text[pos] == '\'') {
    char quote = text[pos];
    size_t i = pos + 1;
    while (i < text.size() && text[i] != quote) i += (text[i] == '\\') ? 2 : 1;
    return std::min(i + 1, text.size()) - pos;
  }
  size_t i = pos;
  while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i])) && text[i] != ',' &&
         text[i] != ';' && text[i] != '}' && text[i] != ']') {
    ++i;
  }
  return i - pos;
}

size_t SkipSpaces(std::string_view text, size_t pos) {
  while (pos < text.size() && (text[pos] == ' ' || text[pos] == '\t')) ++pos;
  return pos;
}

}  // namespace

bool IsSecretKey(std::string_view key) {
  const std::string norm = Normalize(key);
  // "preshared_key_file", "token_path": where a secret lives, not the secret.
  auto ends_with = [&norm](std::string_view s) {
    return norm.size() >= s.size() && norm.compare(norm.size() - s.size(), s.size(), s) == 0;
  };
  if (ends_with("_file") || ends_with("_path")) return false;
  for (std::string_view name : kSecretNames) {
    if (norm.find(name) != std::string::npos) return true;
  }
  return false;
}

std::string ScrubText(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    if (!IsKeyChar(text[i])) {
      out.push_back(text[i++]);
      continue;
    }
    size_t end = i;
    while (end < text.size() && IsKeyChar(text[end])) ++end;
    std::string_view word = text.substr(i, end - i);
    out.append(word);
    i = end;
    if (!IsSecretKey(word)) continue;
    // Optional closing quote of a JSON key, spaces, then ':' or '='.
    size_t j = i;
    if (j < text.size() && (text[j] == '"' || text[j] == '\'')) ++j;
    j = SkipSpaces(text, j);
    if (j >= text.size() || (text[j] != ':' && text[j] != '=')) continue;
    j = SkipSpaces(text, j + 1);
    size_t len = ValueLength(text, j);
    if (len == 0) continue;
    out.append(text.substr(i, j - i));
    out.append(kRedacted);
    i = j + len;
  }
  return out;
}

engine::telemetry::Event ScrubEvent(const engine::telemetry::Event& event) {
  engine::telemetry::Event out;
  out.type = event.type;
  out.severity = event.severity;
  out.message = ScrubText(event.message);
  out.fields.reserve(event.fields.size());
  for (const auto& [key, value] : event.fields) {
    out.fields.emplace_back(key, IsSecretKey(key) ? std::string(kRedacted) : ScrubText(value));
  }
  return out;
}

}  // namespace ipsec::sidecar::log
