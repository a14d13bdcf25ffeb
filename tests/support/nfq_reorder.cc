// ipsec_nfq_reorder: reorders real packets for fault tests (the lab kernel has no netem, and
// nftables cannot delay). It takes the packets an nftables `queue num N` rule sends to
// NFQUEUE N, lets most through at once (verdict accept), and holds some (`--hold-percent`) for a
// random time between `--min-delay-ms` and `--max-delay-ms` before accepting them, so that the
// packets queued after a held one overtake it: the kernel reinjects packets in verdict order.
// Nothing is dropped or changed.
//
//   ipsec_nfq_reorder --queue N --stats FILE [--hold-percent P] [--min-delay-ms A]
//                     [--max-delay-ms B] [--seed S]
//
// FILE is rewritten after each verdict batch as one line "ready packets=… held=… overtaken=…"
// ("overtaken": held packets that left after a packet that came later, i.e. real reorders);
// "ready" means the queue is bound, so the nftables rule may be added. SIGTERM or SIGINT
// accepts the held packets and exits 0. Runs as root in the namespace whose traffic it queues.

#include <arpa/inet.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
#include <linux/netfilter.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Held {
  uint32_t id;
  uint64_t seq;  // arrival order
  Clock::time_point release;
};

struct State {
  nfq_q_handle* queue = nullptr;
  std::mt19937_64 random;
  int hold_percent = 20;
  int min_delay_ms = 5;
  int max_delay_ms = 150;
  uint64_t arrived = 0;
  uint64_t released_max_seq = 0;  // the latest arrival let through so far (1-based)
  uint64_t held = 0;
  uint64_t overtaken = 0;
  std::vector<Held> holding;
  std::string stats_path;
};

volatile sig_atomic_t g_stop = 0;
void OnSignal(int) { g_stop = 1; }

void Accept(State& s, uint32_t id, uint64_t seq) {
  nfq_set_verdict(s.queue, id, NF_ACCEPT, 0, nullptr);
  if (seq > s.released_max_seq) s.released_max_seq = seq;
}

void WriteStats(const State& s) {
  const std::string tmp = s.stats_path + ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "w");
  if (f == nullptr) return;
  std::fprintf(f, "ready packets=%llu held=%llu overtaken=%llu holding=%zu\n",
               static_cast<unsigned long long>(s.arrived), static_cast<unsigned long long>(s.held),
               static_cast<unsigned long long>(s.overtaken), s.holding.size());
  std::fclose(f);
  std::rename(tmp.c_str(), s.stats_path.c_str());
}

int OnPacket(nfq_q_handle*, nfgenmsg*, nfq_data* data, void* arg) {
  State& s = *static_cast<State*>(arg);
  nfqnl_msg_packet_hdr* hdr = nfq_get_msg_packet_hdr(data);
  if (hdr == nullptr) return 0;
  const uint32_t id = ntohl(hdr->packet_id);
  const uint64_t seq = ++s.arrived;
  if (static_cast<int>(s.random() % 100) < s.hold_percent) {
    const int span = s.max_delay_ms - s.min_delay_ms + 1;
    const int delay = s.min_delay_ms + static_cast<int>(s.random() % span);
    s.holding.push_back({id, seq, Clock::now() + std::chrono::milliseconds(delay)});
    ++s.held;
  } else {
    Accept(s, id, seq);
  }
  return 0;
}

// Accepts the held packets whose time has come (all of them when `all`); the time until the
// next one is due, in ms (-1: none held).
int ReleaseDue(State& s, bool all) {
  const auto now = Clock::now();
  int next_ms = -1;
  for (size_t i = 0; i < s.holding.size();) {
    const Held h = s.holding[i];
    if (all || h.release <= now) {
      if (s.released_max_seq > h.seq) ++s.overtaken;
      Accept(s, h.id, h.seq);
      s.holding[i] = s.holding.back();
      s.holding.pop_back();
      continue;
    }
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(h.release - now).count() + 1;
    if (next_ms < 0 || ms < next_ms) next_ms = static_cast<int>(ms);
    ++i;
  }
  return next_ms;
}

int Usage() {
  std::fprintf(stderr,
               "usage: ipsec_nfq_reorder --queue N --stats FILE [--hold-percent P] "
               "[--min-delay-ms A] [--max-delay-ms B] [--seed S]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  State s;
  int queue_num = -1;
  uint64_t seed = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const char* value = argv[i + 1];
    if (flag == "--queue") {
      queue_num = std::atoi(value);
    } else if (flag == "--stats") {
      s.stats_path = value;
    } else if (flag == "--hold-percent") {
      s.hold_percent = std::atoi(value);
    } else if (flag == "--min-delay-ms") {
      s.min_delay_ms = std::atoi(value);
    } else if (flag == "--max-delay-ms") {
      s.max_delay_ms = std::atoi(value);
    } else if (flag == "--seed") {
      seed = std::strtoull(value, nullptr, 10);
    } else {
      return Usage();
    }
  }
  if (queue_num < 0 || queue_num > 65535 || s.stats_path.empty() || s.min_delay_ms < 0 ||
      s.max_delay_ms < s.min_delay_ms || s.hold_percent < 0 || s.hold_percent > 100) {
    return Usage();
  }
  s.random.seed(seed);
  signal(SIGTERM, OnSignal);
  signal(SIGINT, OnSignal);

  nfq_handle* h = nfq_open();
  if (h == nullptr) {
    std::perror("nfq_open");
    return 1;
  }
  s.queue = nfq_create_queue(h, static_cast<uint16_t>(queue_num), &OnPacket, &s);
  if (s.queue == nullptr) {
    std::fprintf(stderr, "nfq_create_queue(%d) failed: %s\n", queue_num, std::strerror(errno));
    nfq_close(h);
    return 1;
  }
  if (nfq_set_mode(s.queue, NFQNL_COPY_META, 0) < 0) {  // verdicts need no payload
    std::perror("nfq_set_mode");
    return 1;
  }
  nfq_set_queue_maxlen(s.queue, 4096);
  // Over the queue's length the kernel accepts instead of dropping: this helper reorders only.
  nfq_set_queue_flags(s.queue, NFQA_CFG_F_FAIL_OPEN, NFQA_CFG_F_FAIL_OPEN);
  const int fd = nfq_fd(h);
  int rcvbuf = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
  WriteStats(s);

  std::vector<char> buf(65536);
  while (!g_stop) {
    const int wait_ms = ReleaseDue(s, false);
    pollfd p{fd, POLLIN, 0};
    const int r = poll(&p, 1, wait_ms < 0 ? 200 : wait_ms);
    if (r < 0 && errno != EINTR) break;
    if (r > 0 && (p.revents & POLLIN)) {
      for (;;) {
        const ssize_t n = recv(fd, buf.data(), buf.size(), MSG_DONTWAIT);
        if (n <= 0) break;
        nfq_handle_packet(h, buf.data(), static_cast<int>(n));
      }
    }
    ReleaseDue(s, false);
    WriteStats(s);
  }
  ReleaseDue(s, true);
  WriteStats(s);
  nfq_destroy_queue(s.queue);
  nfq_close(h);
  return 0;
}
