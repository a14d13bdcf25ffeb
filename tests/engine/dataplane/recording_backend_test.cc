#include "engine/dataplane/recording_backend.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "engine/common/bytes.h"

namespace ipsec::engine::dataplane {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using Op = RecordingBackend::Operation;

IpAddress Ip(const char* text) { return *IpAddress::Parse(text); }

SaConfig MakeSa(uint32_t spi, SaDirection direction, uint32_t reqid = 1) {
  SaConfig sa;
  sa.spi = spi;
  sa.direction = direction;
  sa.reqid = reqid;
  sa.local = {Ip("10.0.0.1"), 4500};
  sa.remote = {Ip("10.0.0.2"), 4500};
  sa.udp_encapsulation = true;
  sa.algorithms.encryption_id = 20;  // AES-GCM-16
  sa.algorithms.encryption_key_bits = 128;
  sa.algorithms.encryption_key = SecretBytes("TOPSECRET-KEY-MATERIAL");
  sa.algorithms.integrity_key = SecretBytes("INTEGRITY-SECRET");
  sa.local_ts = {{IpRange::Single(Ip("10.0.0.1"))}};
  sa.remote_ts = {{IpRange::Single(Ip("10.0.0.2"))}};
  sa.rule = "rule-a";
  sa.peer = "peer.example";
  return sa;
}

PolicyConfig MakePolicy(uint32_t reqid, SaDirection direction) {
  PolicyConfig p;
  p.reqid = reqid;
  p.direction = direction;
  p.local_ts = {{IpRange::Single(Ip("10.0.0.1"))}};
  p.remote_ts = {{IpRange::Single(Ip("10.0.0.2"))}};
  return p;
}

class RecordingEvents : public BackendEvents {
 public:
  explicit RecordingEvents(RecordingBackend* backend = nullptr) : backend_(backend) {}
  void OnAcquire(const Acquire& acquire) override { acquires.push_back(acquire); }
  void OnExpire(SaProtocol protocol, uint32_t spi, bool hard) override {
    expires.push_back({protocol, spi, hard});
    // Events arrive without the backend's lock held: calling back must not deadlock.
    if (backend_ != nullptr) sas_seen.push_back(backend_->Sas().size());
  }
  struct Expire {
    SaProtocol protocol;
    uint32_t spi;
    bool hard;
  };
  std::vector<Acquire> acquires;
  std::vector<Expire> expires;
  std::vector<size_t> sas_seen;

 private:
  RecordingBackend* backend_;
};

TEST(RecordingBackendTest, IsNamedRecording) {
  RecordingBackend backend;
  EXPECT_STREQ(backend.name(), "recording");
}

TEST(RecordingBackendTest, SequentialSpisStartWhereAskedAndSkipTheReservedRange) {
  RecordingBackend backend({.first_spi = 1});  // 1-255 reserved (RFC 4303 §2.1)
  EXPECT_EQ(*backend.AllocateSpi(SaProtocol::kEsp), 256u);
  EXPECT_EQ(*backend.AllocateSpi(SaProtocol::kAh), 257u);
  RecordingBackend wrapping({.first_spi = 0xffffffff});
  EXPECT_EQ(*wrapping.AllocateSpi(SaProtocol::kEsp), 0xffffffffu);
  EXPECT_EQ(*wrapping.AllocateSpi(SaProtocol::kEsp), 256u);  // wrapped past 0..255
}

TEST(RecordingBackendTest, DefaultInstancesHandOutDisjointSpis) {
  RecordingBackend a;
  RecordingBackend b;
  const uint32_t spi_a = *a.AllocateSpi(SaProtocol::kEsp);
  const uint32_t spi_b = *b.AllocateSpi(SaProtocol::kEsp);
  EXPECT_GE(spi_a, RecordingBackend::kMinSpi);
  EXPECT_NE(spi_a >> 16, spi_b >> 16);
}

TEST(RecordingBackendTest, SpisAreUniqueAndSkipInstalledOnes) {
  RecordingBackend backend({.first_spi = 0x1000});
  ASSERT_TRUE(backend.AddSa(MakeSa(0x1001, SaDirection::kOutbound)).ok());  // the peer's SPI
  std::set<uint32_t> seen;
  for (int i = 0; i < 100; ++i) {
    const uint32_t spi = *backend.AllocateSpi(SaProtocol::kEsp);
    EXPECT_NE(spi, 0x1001u);
    EXPECT_TRUE(seen.insert(spi).second);
  }
  EXPECT_EQ(backend.ReservedSpis().size(), 100u);
}

// A deterministic Random that returns small values first, then repeats.
class ScriptedRandom : public Random {
 public:
  explicit ScriptedRandom(std::vector<uint32_t> values) : values_(std::move(values)) {}
  void Fill(uint8_t* out, size_t n) override {
    uint32_t v = values_[next_++ % values_.size()];
    std::memcpy(out, &v, std::min(n, sizeof(v)));
  }

 private:
  std::vector<uint32_t> values_;
  size_t next_ = 0;
};

TEST(RecordingBackendTest, RandomSpisRedrawReservedAndTakenValues) {
  ScriptedRandom random({0, 255, 0xabcdef01, 0xabcdef01, 7, 0x12345678});
  RecordingBackend backend({.random = &random});
  EXPECT_EQ(*backend.AllocateSpi(SaProtocol::kEsp), 0xabcdef01u);
  EXPECT_EQ(*backend.AllocateSpi(SaProtocol::kEsp), 0x12345678u);
  ScriptedRandom stuck({5});
  RecordingBackend exhausted({.random = &stuck});
  Result<uint32_t> none = exhausted.AllocateSpi(SaProtocol::kEsp);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, ErrorCode::kUnavailable);
}

TEST(RecordingBackendTest, InstallsAChildSaPairAndRecordsTheOrder) {
  RecordingBackend backend({.first_spi = 0x2000});
  const uint32_t inbound = *backend.AllocateSpi(SaProtocol::kEsp);
  EXPECT_THAT(backend.ReservedSpis(), ElementsAre(inbound));
  ASSERT_TRUE(backend.AddSa(MakeSa(inbound, SaDirection::kInbound)).ok());
  ASSERT_TRUE(backend.AddSa(MakeSa(0xc0ffee00, SaDirection::kOutbound)).ok());
  ASSERT_TRUE(backend.AddPolicy(MakePolicy(1, SaDirection::kOutbound)).ok());
  ASSERT_TRUE(backend.AddPolicy(MakePolicy(1, SaDirection::kInbound)).ok());
  EXPECT_TRUE(backend.ReservedSpis().empty());  // AddSa consumed the reservation

  EXPECT_THAT(backend.Calls(),
              ElementsAre("AllocateSpi", "AddSa", "AddSa", "AddPolicy", "AddPolicy"));
  const std::vector<SaConfig> sas = backend.Sas();
  ASSERT_EQ(sas.size(), 2u);
  EXPECT_EQ(sas[0].spi, inbound);
  EXPECT_EQ(sas[1].spi, 0xc0ffee00u);
  EXPECT_EQ(sas[0].algorithms.encryption_key.view(), "TOPSECRET-KEY-MATERIAL");  // a copy
  EXPECT_EQ(sas[1].rule, "rule-a");
  std::optional<SaConfig> found = backend.FindSa(0xc0ffee00);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->direction, SaDirection::kOutbound);
  EXPECT_FALSE(backend.FindSa(SaProtocol::kAh, 0xc0ffee00).has_value());
  EXPECT_FALSE(backend.FindSa(0x99999).has_value());
  ASSERT_EQ(backend.Policies().size(), 2u);
  EXPECT_EQ(backend.Policies()[0].direction, SaDirection::kOutbound);
  EXPECT_TRUE(backend.FindPolicy(1, SaDirection::kInbound).has_value());
  EXPECT_FALSE(backend.FindPolicy(2, SaDirection::kInbound).has_value());
}

TEST(RecordingBackendTest, TheCallLogNeverShowsKeys) {
  RecordingBackend backend({.first_spi = 0x3000});
  ASSERT_TRUE(backend.AddSa(MakeSa(0x3000, SaDirection::kInbound)).ok());
  ASSERT_TRUE(backend
                  .UpdateSaEndpoints(SaProtocol::kEsp, 0x3000, {Ip("10.0.0.1"), 4500},
                                     {Ip("192.0.2.9"), 31337}, true)
                  .ok());
  const std::vector<std::string> log = backend.CallLog();
  ASSERT_EQ(log.size(), 2u);
  EXPECT_THAT(log[0], HasSubstr("esp 0x00003000 in tunnel reqid=1"));
  EXPECT_THAT(log[0], HasSubstr("encr=20/128"));
  EXPECT_THAT(log[1], HasSubstr("192.0.2.9:31337"));
  for (const std::string& line : log) {
    EXPECT_THAT(line, Not(HasSubstr("TOPSECRET")));
    EXPECT_THAT(line, Not(HasSubstr("INTEGRITY-SECRET")));
    EXPECT_THAT(line, Not(HasSubstr(ToHex(AsBytes("TOPSECRET")))));
  }
}

TEST(RecordingBackendTest, RejectsDuplicatesReservedSpisAndUnknownKeys) {
  RecordingBackend backend({.first_spi = 0x4000});
  ASSERT_TRUE(backend.AddSa(MakeSa(0x4000, SaDirection::kInbound)).ok());
  EXPECT_EQ(backend.AddSa(MakeSa(0x4000, SaDirection::kOutbound)).error().code,
            ErrorCode::kAlreadyExists);
  SaConfig ah = MakeSa(0x4000, SaDirection::kInbound);
  ah.protocol = SaProtocol::kAh;
  EXPECT_TRUE(backend.AddSa(ah).ok());  // another protocol, another SA
  EXPECT_EQ(backend.AddSa(MakeSa(0, SaDirection::kInbound)).error().code,
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(backend.AddSa(MakeSa(255, SaDirection::kInbound)).error().code,
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(backend.DeleteSa(SaProtocol::kEsp, 0x9999).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(backend.UpdateSaEndpoints(SaProtocol::kEsp, 0x9999, {}, {}, false).error().code,
            ErrorCode::kNotFound);
  EXPECT_EQ(backend.QuerySa(SaProtocol::kEsp, 0x9999).error().code, ErrorCode::kNotFound);
  ASSERT_TRUE(backend.AddPolicy(MakePolicy(7, SaDirection::kOutbound)).ok());
  EXPECT_EQ(backend.AddPolicy(MakePolicy(7, SaDirection::kOutbound)).error().code,
            ErrorCode::kAlreadyExists);
  EXPECT_EQ(backend.DeletePolicy(7, SaDirection::kInbound).error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(backend.DeletePolicy(7, SaDirection::kOutbound).ok());
  EXPECT_TRUE(backend.Policies().empty());
  EXPECT_THAT(backend.CallLog()[1], HasSubstr("-> already_exists"));
}

TEST(RecordingBackendTest, DeleteSaRemovesAnSaOrReleasesAnAllocatedSpi) {
  RecordingBackend backend({.first_spi = 0x5000});
  const uint32_t unused = *backend.AllocateSpi(SaProtocol::kEsp);  // negotiation failed
  EXPECT_EQ(backend.DeleteSa(SaProtocol::kAh, unused).error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(backend.DeleteSa(SaProtocol::kEsp, unused).ok());
  EXPECT_TRUE(backend.ReservedSpis().empty());
  ASSERT_TRUE(backend.AddSa(MakeSa(0x6000, SaDirection::kInbound)).ok());
  EXPECT_TRUE(backend.DeleteSa(SaProtocol::kEsp, 0x6000).ok());
  EXPECT_TRUE(backend.Sas().empty());
  EXPECT_EQ(backend.DeleteSa(SaProtocol::kEsp, 0x6000).error().code, ErrorCode::kNotFound);
}

TEST(RecordingBackendTest, UpdateSaEndpointsMovesAnSa) {
  RecordingBackend backend;
  ASSERT_TRUE(backend.AddSa(MakeSa(0x7000, SaDirection::kOutbound)).ok());
  const Endpoint local{Ip("10.0.0.1"), 4500};
  const Endpoint remote{Ip("198.51.100.1"), 40000};
  ASSERT_TRUE(backend.UpdateSaEndpoints(SaProtocol::kEsp, 0x7000, local, remote, true).ok());
  const SaConfig sa = *backend.FindSa(0x7000);
  EXPECT_EQ(sa.remote, remote);
  EXPECT_TRUE(sa.udp_encapsulation);
}

TEST(RecordingBackendTest, InjectedFailuresHappenOnceEachAndChangeNothing) {
  RecordingBackend backend({.first_spi = 0x8000});
  backend.FailNext(Op::kAddSa, MakeError(ErrorCode::kUnavailable, "netlink busy"));
  backend.FailNext(Op::kAllocateSpi, MakeError(ErrorCode::kInternal, "x"), 2);
  EXPECT_FALSE(backend.AllocateSpi(SaProtocol::kEsp).ok());
  EXPECT_FALSE(backend.AllocateSpi(SaProtocol::kEsp).ok());
  EXPECT_TRUE(backend.AllocateSpi(SaProtocol::kEsp).ok());
  Status failed = backend.AddSa(MakeSa(0x9000, SaDirection::kInbound));
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().message, "netlink busy");
  EXPECT_FALSE(backend.FindSa(0x9000).has_value());
  EXPECT_TRUE(backend.AddSa(MakeSa(0x9000, SaDirection::kInbound)).ok());
  backend.FailNext(Op::kQuerySa, MakeError(ErrorCode::kUnavailable, "y"));
  EXPECT_FALSE(backend.QuerySa(SaProtocol::kEsp, 0x9000).ok());
  EXPECT_TRUE(backend.QuerySa(SaProtocol::kEsp, 0x9000).ok());
  EXPECT_EQ(backend.query_count(), 2u);
  EXPECT_THAT(backend.Calls(),
              ElementsAre("AllocateSpi", "AllocateSpi", "AllocateSpi", "AddSa", "AddSa"));
  backend.ClearCalls();
  EXPECT_TRUE(backend.Calls().empty());
}

TEST(RecordingBackendTest, CountersDriveIdleTimeoutsAndByteLifetimes) {
  RecordingBackend backend;
  RecordingEvents events(&backend);
  backend.SetEvents(&events);
  SaConfig sa = MakeSa(0xa000, SaDirection::kInbound);
  sa.lifetime.soft_bytes = 1000;
  sa.lifetime.hard_bytes = 1500;
  ASSERT_TRUE(backend.AddSa(sa).ok());
  EXPECT_EQ(backend.QuerySa(SaProtocol::kEsp, 0xa000)->last_used_unix, 0);

  ASSERT_TRUE(backend.SetCounters(SaProtocol::kEsp, 0xa000, {10, 1, 1700000000}).ok());
  EXPECT_EQ(backend.QuerySa(SaProtocol::kEsp, 0xa000)->bytes, 10u);
  EXPECT_EQ(backend.QuerySa(SaProtocol::kEsp, 0xa000)->last_used_unix, 1700000000);

  ASSERT_TRUE(backend.AddTraffic(SaProtocol::kEsp, 0xa000, 900, 3, 1700000060).ok());
  EXPECT_TRUE(events.expires.empty());
  ASSERT_TRUE(backend.AddTraffic(SaProtocol::kEsp, 0xa000, 100, 1, 1700000061).ok());
  ASSERT_EQ(events.expires.size(), 1u);  // soft at 1000 bytes: rekey
  EXPECT_FALSE(events.expires[0].hard);
  ASSERT_TRUE(backend.AddTraffic(SaProtocol::kEsp, 0xa000, 100, 1, 1700000062).ok());
  EXPECT_EQ(events.expires.size(), 1u);  // soft fires once
  const SaCounters c = *backend.QuerySa(SaProtocol::kEsp, 0xa000);
  EXPECT_EQ(c.bytes, 1110u);
  EXPECT_EQ(c.packets, 6u);
  EXPECT_EQ(c.last_used_unix, 1700000062);
  ASSERT_TRUE(backend.AddTraffic(SaProtocol::kEsp, 0xa000, 500, 1, 1700000063).ok());
  ASSERT_EQ(events.expires.size(), 2u);  // hard: the SA is gone before IKE hears of it
  EXPECT_TRUE(events.expires[1].hard);
  EXPECT_EQ(events.sas_seen[1], 0u);
  EXPECT_EQ(backend.SetCounters(SaProtocol::kEsp, 0xa000, {}).error().code, ErrorCode::kNotFound);
}

TEST(RecordingBackendTest, FiresAcquiresAndExpiresIntoTheRegisteredEvents) {
  RecordingBackend backend;
  BackendEvents::Acquire acquire;
  acquire.source = Ip("10.0.0.1");
  acquire.destination = Ip("10.0.0.2");
  acquire.protocol = 6;
  acquire.destination_port = 443;
  acquire.filter_entry = 12;
  EXPECT_FALSE(backend.FireAcquire(acquire));  // nobody listening
  RecordingEvents events(&backend);
  backend.SetEvents(&events);
  EXPECT_EQ(backend.events(), &events);
  EXPECT_TRUE(backend.FireAcquire(acquire));
  ASSERT_EQ(events.acquires.size(), 1u);
  EXPECT_EQ(events.acquires[0].destination_port, 443);
  EXPECT_EQ(events.acquires[0].filter_entry, 12u);

  ASSERT_TRUE(backend.AddSa(MakeSa(0xb000, SaDirection::kInbound)).ok());
  EXPECT_TRUE(backend.FireExpire(SaProtocol::kEsp, 0xb000, /*hard=*/false));
  EXPECT_TRUE(backend.FindSa(0xb000).has_value());  // soft: still installed
  EXPECT_TRUE(backend.FireExpire(SaProtocol::kEsp, 0xb000, /*hard=*/true));
  EXPECT_FALSE(backend.FindSa(0xb000).has_value());  // hard: gone
  ASSERT_EQ(events.expires.size(), 2u);
  EXPECT_EQ(events.expires[1].spi, 0xb000u);
  EXPECT_TRUE(events.expires[1].hard);
  backend.SetEvents(nullptr);
  EXPECT_FALSE(backend.FireExpire(SaProtocol::kEsp, 0xb000, true));
}

TEST(RecordingBackendTest, IsSafeFromManyThreads) {
  RecordingBackend backend({.first_spi = 0x10000});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&backend, t] {
      for (int i = 0; i < 250; ++i) {
        const uint32_t spi = *backend.AllocateSpi(SaProtocol::kEsp);
        ASSERT_TRUE(backend.AddSa(MakeSa(spi, SaDirection::kInbound, t * 1000 + i)).ok());
        (void)backend.QuerySa(SaProtocol::kEsp, spi);
        (void)backend.Sas();
        if (i % 2 == 0) {
          ASSERT_TRUE(backend.DeleteSa(SaProtocol::kEsp, spi).ok());
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(backend.Sas().size(), 500u);
  EXPECT_EQ(backend.Calls().size(), 4u * (250 + 250 + 125));
}

}  // namespace
}  // namespace ipsec::engine::dataplane
