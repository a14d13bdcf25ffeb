#pragma once

// Defensive scrubbing of secrets in events. Engine code must never put a secret into an event
// (engine/telemetry/event.h); this is the second line of defence, applied by every sink of this
// module before anything is written: values of fields whose key names a secret are replaced by
// "<redacted>", and `key=value` / `"key": "value"` fragments naming a secret inside free text
// are redacted the same way. Pure functions; thread-safe.

#include <string>
#include <string_view>

#include "engine/telemetry/event.h"

namespace ipsec::sidecar::log {

inline constexpr const char* kRedacted = "<redacted>";

// True when `key` names a secret: it contains (case-insensitively) preshared_key, psk,
// private_key, secret, password, passphrase or token ("preshared-key" and "presharedKey" too),
// unless it ends in _file or _path (the location of a secret is not one).
bool IsSecretKey(std::string_view key);

// `text` with the value after every secret key name followed by ':' or '=' replaced by
// "<redacted>" (JSON-ish `"psk": "x"` and `psk=x` alike).
std::string ScrubText(std::string_view text);

// A copy of `event` with secret field values and secret fragments of the message redacted.
engine::telemetry::Event ScrubEvent(const engine::telemetry::Event& event);

// Forwards scrubbed events to another sink (for sinks outside this module).
class RedactingSink final : public engine::telemetry::EventSink {
 public:
  // `next` is not owned and must outlive this sink.
  explicit RedactingSink(engine::telemetry::EventSink& next) : next_(next) {}
  void Emit(const engine::telemetry::Event& event) override { next_.Emit(ScrubEvent(event)); }

 private:
  engine::telemetry::EventSink& next_;
};

}  // namespace ipsec::sidecar::log
