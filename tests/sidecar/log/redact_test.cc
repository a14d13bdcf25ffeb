#include "sidecar/log/redact.h"

#include <gtest/gtest.h>

#include <vector>

namespace ipsec::sidecar::log {
namespace {

using engine::telemetry::Event;
using engine::telemetry::Severity;

TEST(RedactTest, SecretKeyNames) {
  for (const char* key : {"preshared_key", "PreShared-Key", "presharedKey", "psk", "ike_psk",
                          "private_key", "privateKey", "client_secret", "secret", "password",
                          "passphrase", "token", "bearer_token"}) {
    EXPECT_TRUE(IsSecretKey(key)) << key;
  }
  for (const char* key : {"policy", "scope", "key_exchange", "rule", "preshared_key_file",
                          "token_file", "private_key_path", "route", "generation"}) {
    EXPECT_FALSE(IsSecretKey(key)) << key;
  }
}

TEST(RedactTest, ScrubTextFindsSecretsInFreeText) {
  struct Case {
    const char* in;
    const char* out;
  };
  const std::vector<Case> cases = {
      {"psk=hunter2", "psk=<redacted>"},
      {"psk = hunter2 rest", "psk = <redacted> rest"},
      {R"({"preshared_key": "a b\"c", "x": 1})", R"({"preshared_key": <redacted>, "x": 1})"},
      {"secret:abc,def", "secret:<redacted>,def"},
      {"token='t0k' next", "token=<redacted> next"},
      {"the token is wrong", "the token is wrong"},
      {"no secrets here: a=b", "no secrets here: a=b"},
      {"psk=", "psk="},
      {"trailing psk", "trailing psk"},
      {R"(unterminated "psk": "abc)", R"(unterminated "psk": <redacted>)"},
  };
  for (const auto& c : cases) EXPECT_EQ(ScrubText(c.in), c.out) << c.in;
}

TEST(RedactTest, ScrubEventRedactsFieldsAndMessage) {
  Event e{"audit.policy_change", Severity::kWarning, "body had preshared_key=s3cr3t"};
  e.With("policy", "web").With("psk", "s3cr3t").With("detail", "password: s3cr3t");
  Event out = ScrubEvent(e);
  EXPECT_EQ(out.type, e.type);
  EXPECT_EQ(out.severity, e.severity);
  EXPECT_EQ(out.message, "body had preshared_key=<redacted>");
  ASSERT_EQ(out.fields.size(), 3u);
  EXPECT_EQ(out.fields[0].second, "web");
  EXPECT_EQ(out.fields[1].second, "<redacted>");
  EXPECT_EQ(out.fields[2].second, "password: <redacted>");
}

class Recorder : public engine::telemetry::EventSink {
 public:
  void Emit(const Event& e) override { events.push_back(e); }
  std::vector<Event> events;
};

TEST(RedactTest, RedactingSinkForwardsScrubbedEvents) {
  Recorder next;
  RedactingSink sink(next);
  sink.Emit(Event{"x", Severity::kInfo, "m"}.With("private_key", "PEM"));
  ASSERT_EQ(next.events.size(), 1u);
  EXPECT_EQ(next.events[0].fields[0].second, "<redacted>");
}

}  // namespace
}  // namespace ipsec::sidecar::log
