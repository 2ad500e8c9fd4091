// TxBackend over an AF_PACKET PACKET_TX_RING: frames are built in place in
// the mmap'd ring (Ethernet/IPv4/UDP with valid checksums and the droplab
// payload header) and handed to the kernel with one sendto() per batch.
//
// "Sent" means queued in the ring. A full ring is a counted outcome (EAGAIN,
// "ring_full"), never a wait; a failed kick is counted by errno. On veth a
// frame the receiver's backlog drops is still "sent" here and shows as the
// device's tx_dropped (docs/receive-path.md, "Traps").
#pragma once

#include "gen/frame.hpp"
#include "gen/link.hpp"
#include "gen/packet_ring.hpp"
#include "gen/tx_backend.hpp"

#include <vector>

namespace droplab::gen {

// Default first source port when --src-port is not given (no socket is
// bound, so any port works; flow f uses it + f, wrapping above 1023).
inline constexpr std::uint16_t kAfPacketBasePort = 49152;

class AfPacketTx final : public TxBackend {
public:
  // Resolves the link and the next hop's MAC (neighbour table, ARP, or
  // --dst-mac), checks the MTU and opens the ring. Throws UsageError for a
  // frame above the MTU, std::runtime_error / std::system_error otherwise.
  explicit AfPacketTx(const TxSetup& setup);

  std::string_view name() const override { return "af_packet"; }
  void send(std::span<const TxMessage> msgs, std::uint64_t send_ns,
            std::span<int> outcome) override;
  std::uint16_t src_port(std::uint32_t flow) const override;
  void flush(std::uint64_t deadline_ns) override;
  BackendStats stats() const override;

  const LinkInfo& link() const { return link_; }
  const Mac& dst_mac() const { return dst_mac_; }
  std::string mac_source() const { return mac_source_; }

private:
  bool frame_free(std::uint32_t i) const;

  TxSetup setup_;
  LinkInfo link_;
  Mac dst_mac_{};
  std::string mac_source_; // "--dst-mac", "neighbour table" or "ARP"
  PacketRing ring_;
  std::vector<FrameTemplate> templates_; // per flow of this backend
  std::uint32_t head_ = 0;
  std::uint64_t ring_full_ = 0;
  std::uint64_t kicks_ = 0;
  std::uint64_t wrong_format_ = 0;
  std::map<int, std::uint64_t> kick_errors_;
};

} // namespace droplab::gen
