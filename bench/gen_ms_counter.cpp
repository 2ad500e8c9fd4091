// Benchmark helper (not part of the build): counts the frames arriving on a
// device per millisecond, by kernel receive timestamp, from a TPACKET_V3 RX
// ring, and prints one JSON line: packets, pps over the trimmed window, and
// the per-ms spread (mean, stddev, CV, min, max). Runs inside the receiving
// namespace; stops by itself after --seconds.
//   gen_ms_counter DEV SECONDS UDP_DST_PORT TRIM_MS
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

static uint64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ULL + uint64_t(ts.tv_nsec);
}

int main(int argc, char **argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: %s DEV SECONDS UDP_DST_PORT TRIM_MS\n", argv[0]);
    return 2;
  }
  const char *dev = argv[1];
  const double seconds = std::atof(argv[2]);
  const unsigned port = unsigned(std::atoi(argv[3]));
  const uint64_t trim_ns = uint64_t(std::atoll(argv[4])) * 1000000ULL;
  int fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_IP));
  if (fd < 0) { std::perror("socket(AF_PACKET)"); return 1; }
  int v = TPACKET_V3;
  if (setsockopt(fd, SOL_PACKET, PACKET_VERSION, &v, sizeof v) != 0) { std::perror("PACKET_VERSION"); return 1; }
  tpacket_req3 req{};
  req.tp_block_size = 1 << 20;
  req.tp_block_nr = 64;
  req.tp_frame_size = 2048;
  req.tp_frame_nr = req.tp_block_size / req.tp_frame_size * req.tp_block_nr;
  req.tp_retire_blk_tov = 10; // ms
  if (setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof req) != 0) { std::perror("PACKET_RX_RING"); return 1; }
  size_t len = size_t(req.tp_block_size) * req.tp_block_nr;
  auto *map = static_cast<uint8_t *>(mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
  if (map == MAP_FAILED) { std::perror("mmap"); return 1; }
  sockaddr_ll ll{};
  ll.sll_family = AF_PACKET;
  ll.sll_protocol = htons(ETH_P_IP);
  ll.sll_ifindex = int(if_nametoindex(dev));
  if (ll.sll_ifindex == 0 || bind(fd, reinterpret_cast<sockaddr *>(&ll), sizeof ll) != 0) { std::perror("bind"); return 1; }
  std::printf("{\"ready\": true}\n");
  std::fflush(stdout);

  std::vector<uint64_t> stamps;
  stamps.reserve(1 << 24);
  const uint64_t end = now_ns() + uint64_t(seconds * 1e9);
  unsigned block = 0;
  while (now_ns() < end) {
    auto *bd = reinterpret_cast<tpacket_block_desc *>(map + size_t(block) * req.tp_block_size);
    if ((bd->hdr.bh1.block_status & TP_STATUS_USER) == 0) {
      pollfd p{fd, POLLIN | POLLERR, 0};
      poll(&p, 1, 50);
      continue;
    }
    auto *h = reinterpret_cast<tpacket3_hdr *>(reinterpret_cast<uint8_t *>(bd) + bd->hdr.bh1.offset_to_first_pkt);
    for (unsigned i = 0; i < bd->hdr.bh1.num_pkts; ++i) {
      const uint8_t *f = reinterpret_cast<const uint8_t *>(h) + h->tp_mac;
      // IPv4 + UDP to the port (no IP options in the lab's frames).
      if (h->tp_snaplen >= 38 && f[12] == 0x08 && f[13] == 0x00 && f[23] == 17 &&
          ((unsigned(f[36]) << 8) | f[37]) == port) {
        stamps.push_back(uint64_t(h->tp_sec) * 1000000000ULL + h->tp_nsec);
      }
      h = reinterpret_cast<tpacket3_hdr *>(reinterpret_cast<uint8_t *>(h) + h->tp_next_offset);
    }
    bd->hdr.bh1.block_status = TP_STATUS_KERNEL;
    block = (block + 1) % req.tp_block_nr;
  }
  tpacket_stats_v3 st{};
  socklen_t sl = sizeof st;
  getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &st, &sl);
  std::sort(stamps.begin(), stamps.end());
  double pps = 0, mean = 0, sd = 0, cv = 0;
  uint64_t mn = 0, mx = 0, nms = 0, inwin = 0;
  if (stamps.size() > 2) {
    const uint64_t a = stamps.front() + trim_ns, b = stamps.back() - std::min(trim_ns, stamps.back());
    if (b > a + 1000000ULL) {
      nms = (b - a) / 1000000ULL;
      std::vector<uint64_t> ms(nms, 0);
      for (uint64_t t : stamps)
        if (t >= a && t < a + nms * 1000000ULL) { ++ms[(t - a) / 1000000ULL]; ++inwin; }
      pps = double(inwin) / (double(nms) / 1000.0);
      double s = 0, q = 0;
      mn = ms[0];
      for (uint64_t c : ms) { s += double(c); q += double(c) * double(c); mn = std::min(mn, c); mx = std::max(mx, c); }
      mean = s / double(nms);
      sd = std::sqrt(std::max(0.0, q / double(nms) - mean * mean));
      cv = mean > 0 ? sd / mean : 0;
    }
  }
  std::printf("{\"packets\": %zu, \"ring_drops\": %u, \"window_ms\": %lu, \"window_packets\": %lu, "
              "\"pps\": %.1f, \"per_ms_mean\": %.3f, \"per_ms_stddev\": %.3f, \"per_ms_cv\": %.4f, "
              "\"per_ms_min\": %lu, \"per_ms_max\": %lu}\n",
              stamps.size(), st.tp_drops, (unsigned long)nms, (unsigned long)inwin, pps, mean, sd, cv,
              (unsigned long)mn, (unsigned long)mx);
  munmap(map, len);
  close(fd);
  return 0;
}
