// udp_forge: sends UDP datagrams with any IPv4 source address and port (a spoofer on the pod
// network, for the hostile-peer tests; docs/security.md). Run inside a lab namespace:
//
//   ip netns exec NS udp_forge SRC_IP SRC_PORT DST_IP DST_PORT HEX [HEX...]
//
// Each HEX is one datagram's payload. Raw socket with IP_HDRINCL (root); UDP checksum 0, which
// IPv4 allows (RFC 768). Exit status 0 when every datagram was sent.
#include <arpa/inet.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

bool ParseHex(const char* text, std::vector<uint8_t>* out) {
  const size_t n = std::strlen(text);
  if (n % 2 != 0) return false;
  for (size_t i = 0; i < n; i += 2) {
    char byte[3] = {text[i], text[i + 1], 0};
    char* end = nullptr;
    out->push_back(static_cast<uint8_t>(std::strtoul(byte, &end, 16)));
    if (end != byte + 2) return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 6) {
    std::fprintf(stderr, "usage: %s SRC_IP SRC_PORT DST_IP DST_PORT HEX [HEX...]\n", argv[0]);
    return 2;
  }
  in_addr src{}, dst{};
  if (inet_pton(AF_INET, argv[1], &src) != 1 || inet_pton(AF_INET, argv[3], &dst) != 1) {
    std::fprintf(stderr, "udp_forge: IPv4 addresses only\n");
    return 2;
  }
  const int fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);  // implies IP_HDRINCL
  if (fd < 0) {
    std::perror("udp_forge: socket");
    return 1;
  }
  for (int a = 5; a < argc; ++a) {
    std::vector<uint8_t> payload;
    if (!ParseHex(argv[a], &payload)) {
      std::fprintf(stderr, "udp_forge: argument %d is not hex\n", a);
      return 2;
    }
    std::vector<uint8_t> packet(sizeof(iphdr) + sizeof(udphdr) + payload.size());
    auto* ip = reinterpret_cast<iphdr*>(packet.data());
    ip->version = 4;
    ip->ihl = 5;
    ip->ttl = 64;
    ip->protocol = IPPROTO_UDP;
    ip->tot_len = htons(static_cast<uint16_t>(packet.size()));
    ip->saddr = src.s_addr;
    ip->daddr = dst.s_addr;  // the kernel fills in the ID and the header checksum
    auto* udp = reinterpret_cast<udphdr*>(packet.data() + sizeof(iphdr));
    udp->source = htons(static_cast<uint16_t>(std::atoi(argv[2])));
    udp->dest = htons(static_cast<uint16_t>(std::atoi(argv[4])));
    udp->len = htons(static_cast<uint16_t>(sizeof(udphdr) + payload.size()));
    udp->check = 0;
    std::memcpy(packet.data() + sizeof(iphdr) + sizeof(udphdr), payload.data(), payload.size());
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_addr = dst;
    if (sendto(fd, packet.data(), packet.size(), 0, reinterpret_cast<sockaddr*>(&to),
               sizeof(to)) != static_cast<ssize_t>(packet.size())) {
      std::perror("udp_forge: sendto");
      close(fd);
      return 1;
    }
  }
  close(fd);
  return 0;
}
