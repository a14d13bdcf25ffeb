// The IKE log (FAQ 39) fed by a running IKE engine: switched on and off through the API
// (PUT /v1/config/ike-logging, wired to IkeLog as the daemon wires it), it records each
// negotiation's steps and outcome on both sides — and never the preshared key.

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <thread>

#include "engine/policy/compiler.h"
#include "engine/service/ike_runtime.h"
#include "sidecar/log/ike_log.h"
#include "tests/engine/policy/policy_test_util.h"
#include "tests/sidecar/temp_dir.h"
#include "tests/support/api_harness.h"

namespace ipsec::sidecar::log {
namespace {

using namespace std::chrono_literals;
using engine::policy::testing::AddRule;
using engine::policy::testing::BasePolicy;
using engine::policy::testing::Ip;
using engine::policy::testing::MakeFilter;
using engine::policy::testing::One;
using ipsec::testing::ApiHarness;
using ipsec::testing::BodyJson;
using ipsec::testing::Code;
using sidecar::testing::ReadFile;
using sidecar::testing::TempDir;
namespace service = engine::service;

constexpr const char kResponderPsk[] = "responder-psk-987654321";

engine::policy::CompileContext Loopback(const std::string& me) {
  engine::policy::CompileContext c;
  c.interfaces = {engine::policy::PodInterface{"lo", {{Ip(me), 8}}}};
  return c;
}

bool WaitFor(const std::function<bool()>& done, std::chrono::milliseconds budget = 5s) {
  auto deadline = std::chrono::steady_clock::now() + budget;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return done();
}

// A responder on 127.0.0.2 without an API: its IKE log is switched on directly.
struct Responder {
  std::unique_ptr<IkeLog> log;
  std::unique_ptr<service::IkeRuntime> runtime;
};

std::unique_ptr<Responder> StartResponder(const std::string& dir, const std::string& psk) {
  auto r = std::make_unique<Responder>();
  auto log = IkeLog::Open({.directory = dir});
  EXPECT_TRUE(log.ok());
  if (!log.ok()) return nullptr;
  r->log = std::move(log).value();
  EXPECT_TRUE(r->log->Enable().ok());
  service::IkeRuntime::Options o;
  o.listen_addresses = {Ip("127.0.0.2")};
  o.ike_port = 0;
  o.nat_t_port = 0;
  o.events = r->log.get();
  auto rt = service::IkeRuntime::Start(std::move(o));
  EXPECT_TRUE(rt.ok()) << (rt.ok() ? "" : rt.error().ToString());
  if (!rt.ok()) return nullptr;
  r->runtime = std::move(rt).value();
  engine::policy::Policy p = BasePolicy("pair");
  auto& rule = AddRule(p, "pair", {MakeFilter(One("127.0.0.2"), One("127.0.0.1"))}, "secure");
  rule.auth_methods = {engine::policy::AuthMethod{engine::policy::AuthKind::kPreSharedKey,
                                                  SecretBytes(psk), "", ""}};
  auto table = engine::policy::CompilePolicy(p, Loopback("127.0.0.2"));
  EXPECT_TRUE(table.ok());
  if (!table.ok()) return nullptr;
  r->runtime->ApplyPolicy(&p, *table);
  return r;
}

// The initiator: a real EngineService behind the API's router, its IKE events going to an
// IkeLog that the API switches (as sidecar/app/daemon.cc does).
class IkeLogLiveTest : public ::testing::Test {
 protected:
  void Start(const std::string& responder_psk) {
    responder_ = StartResponder(dir_.File("responder"), responder_psk);
    ASSERT_NE(responder_, nullptr);
    auto log = IkeLog::Open({.directory = dir_.File("initiator")});
    ASSERT_TRUE(log.ok());
    log_ = std::move(log).value();
    api_.service().OnIkeLoggingChanged([this](bool on) {
      if (on) {
        EXPECT_TRUE(log_->Enable().ok());
      } else {
        log_->Disable();
      }
    });
    service::IkeRuntime::Options o;
    o.listen_addresses = {Ip("127.0.0.1")};
    o.ike_port = 0;
    o.nat_t_port = 0;
    o.peer_ike_port = responder_->runtime->ike_port();
    o.events = log_.get();
    auto rt = service::IkeRuntime::Start(std::move(o));
    ASSERT_TRUE(rt.ok()) << rt.error().ToString();
    runtime_ = std::move(rt).value();
    api_.service().AttachIke(runtime_.get());
    ASSERT_EQ(Code(api_.Post("/v1/policies", R"({"name": "pair",
      "filter_lists": [{"name": "peer", "filters": [{"source": "127.0.0.1",
                                                      "destination": "127.0.0.2"}]}],
      "filter_actions": [{"name": "secure", "type": "negotiate"}],
      "rules": [{"name": "pair", "filter_list": "peer", "filter_action": "secure",
                 "auth_methods": [{"type": "psk", "preshared_key": "hunter2-secret"}]}]})")),
              201);
    ASSERT_EQ(Code(api_.Put("/v1/assignment", R"({"policy": "pair"})")), 200);
  }
  void TearDown() override {
    api_.service().AttachIke(nullptr);
    runtime_.reset();
    responder_.reset();
  }

  std::string Initiate() {
    auto res = api_.Post("/v1/sas", R"({"rule": "pair", "peer": "127.0.0.2"})");
    EXPECT_EQ(Code(res), 201) << res.body();
    return Code(res) == 201 ? BodyJson(res)["id"].get<std::string>() : "";
  }
  size_t IkeSas() { return BodyJson(api_.Get("/v1/sas"))["ike_sas"].size(); }

  TempDir dir_;
  ApiHarness api_{Loopback("127.0.0.1")};
  std::unique_ptr<Responder> responder_;
  std::unique_ptr<IkeLog> log_;
  std::unique_ptr<service::IkeRuntime> runtime_;
};

// `needles` appear in `text` in this order.
void ExpectInOrder(const std::string& text, std::initializer_list<std::string> needles) {
  size_t pos = 0;
  for (const auto& n : needles) {
    size_t found = text.find(n, pos);
    EXPECT_NE(found, std::string::npos) << "'" << n << "' missing (in order) from:\n" << text;
    if (found == std::string::npos) return;
    pos = found + n.size();
  }
}

TEST_F(IkeLogLiveTest, StepsAndOutcomeWhileSwitchedOnThroughTheApi) {
  Start(ApiHarness::kSecret);
  // Off (the default): a negotiation leaves no log.
  std::string first = Initiate();
  ASSERT_TRUE(WaitFor([&] {
    auto sas = BodyJson(api_.Get("/v1/sas"))["ike_sas"];
    return sas.size() == 1 && sas[0]["state"] == "established";
  }));
  EXPECT_FALSE(std::filesystem::exists(log_->path()));
  ASSERT_EQ(Code(api_.Delete("/v1/sas/" + first)), 204);
  ASSERT_TRUE(WaitFor([&] { return IkeSas() == 0; }));

  ASSERT_EQ(Code(api_.Put("/v1/config/ike-logging", R"({"enabled": true})")), 200);
  ASSERT_TRUE(log_->enabled());
  std::string id = Initiate();
  ASSERT_TRUE(WaitFor([&] {
    auto sas = BodyJson(api_.Get("/v1/sas"))["ike_sas"];
    return sas.size() == 1 && sas[0]["state"] == "established" && sas[0]["child_sas"].size() == 1;
  }));
  ASSERT_EQ(Code(api_.Delete("/v1/sas/" + id)), 204);
  ASSERT_TRUE(WaitFor([&] { return IkeSas() == 0; }));
  ASSERT_EQ(Code(api_.Put("/v1/config/ike-logging", R"({"enabled": false})")), 200);
  EXPECT_FALSE(log_->enabled());

  const std::string text = ReadFile(log_->path());
  ExpectInOrder(
      text, {"IKE logging enabled", "initiating IKE SA " + id + " to 127.0.0.2",
             "ike_sa_init initiator: success", "ike_auth initiator: success", "IKE SA established",
             "child SA installed", "IKE SA removed", "IKE logging disabled"});
  EXPECT_EQ(text.find("initiating IKE SA " + first), std::string::npos)
      << "logged while switched off:\n"
      << text;
  EXPECT_EQ(text.find(ApiHarness::kSecret), std::string::npos) << text;
  const std::string peer = ReadFile(responder_->log->path());
  ExpectInOrder(peer, {"ike_sa_init responder: success", "ike_auth responder: success",
                       "IKE SA established"});
  EXPECT_EQ(peer.find(ApiHarness::kSecret), std::string::npos) << peer;
}

TEST_F(IkeLogLiveTest, AWrongPresharedKeyShowsOnBothSides) {
  Start(kResponderPsk);
  ASSERT_EQ(Code(api_.Put("/v1/config/ike-logging", R"({"enabled": true})")), 200);
  Initiate();
  auto failed = [](const std::string& path) {
    return ReadFile(path).find("authentication_failed") != std::string::npos;
  };
  EXPECT_TRUE(WaitFor([&] { return failed(log_->path()); })) << ReadFile(log_->path());
  EXPECT_TRUE(WaitFor([&] { return failed(responder_->log->path()); }))
      << ReadFile(responder_->log->path());
  EXPECT_TRUE(WaitFor([&] { return IkeSas() == 0; }));
  for (const std::string& path : {log_->path(), responder_->log->path()}) {
    const std::string text = ReadFile(path);
    EXPECT_EQ(text.find(ApiHarness::kSecret), std::string::npos) << text;
    EXPECT_EQ(text.find(kResponderPsk), std::string::npos) << text;
    EXPECT_EQ(text.find("IKE SA established"), std::string::npos) << text;
  }
}

}  // namespace
}  // namespace ipsec::sidecar::log
