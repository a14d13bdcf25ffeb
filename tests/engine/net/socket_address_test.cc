#include "engine/net/socket_address.h"

#include <gtest/gtest.h>
#include <netinet/in.h>

namespace ipsec::engine::net {
namespace {

Endpoint Ep(const char* address, uint16_t port) { return {*IpAddress::Parse(address), port}; }

TEST(SocketAddressTest, RoundTripsBothFamilies) {
  for (const Endpoint& ep :
       {Ep("192.0.2.7", 500), Ep("2001:db8::1", 4500), Ep("0.0.0.0", 0), Ep("::", 65535)}) {
    sockaddr_storage storage;
    const socklen_t length = ToSockaddr(ep, storage);
    EXPECT_EQ(length, ep.address.is_v4() ? sizeof(sockaddr_in) : sizeof(sockaddr_in6));
    EXPECT_EQ(FromSockaddr(storage, length), ep);
  }
}

TEST(SocketAddressTest, PortAndAddressInNetworkOrder) {
  sockaddr_storage storage;
  ToSockaddr(Ep("10.1.2.3", 4500), storage);
  const auto* sin = reinterpret_cast<const sockaddr_in*>(&storage);
  EXPECT_EQ(sin->sin_family, AF_INET);
  EXPECT_EQ(sin->sin_port, htons(4500));
  EXPECT_EQ(sin->sin_addr.s_addr, htonl(0x0a010203));
}

TEST(SocketAddressTest, RejectsOtherFamiliesAndShortLengths) {
  sockaddr_storage storage{};
  storage.ss_family = AF_UNIX;
  EXPECT_FALSE(FromSockaddr(storage, sizeof(storage)).has_value());
  ToSockaddr(Ep("::1", 1), storage);
  EXPECT_FALSE(FromSockaddr(storage, sizeof(sockaddr_in)).has_value());
}

TEST(SocketAddressTest, Wildcards) {
  EXPECT_TRUE(IsUnspecified(AnyAddress(IpFamily::kV4)));
  EXPECT_TRUE(IsUnspecified(AnyAddress(IpFamily::kV6)));
  EXPECT_FALSE(IsUnspecified(*IpAddress::Parse("127.0.0.1")));
}

}  // namespace
}  // namespace ipsec::engine::net
