// The seam between the generator's schedule (which flow, which sequence, when)
// and the kernel interface that puts datagrams on the wire. sendmmsg is the
// first implementation; af_packet_tx and io_uring_tx plug in beside it.
#pragma once

#include "droplab/addr.hpp"
#include "gen/config.hpp"

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace droplab::gen {

// One datagram to send: its droplab header fields and UDP payload length.
struct TxMessage {
  std::uint16_t flow = 0;
  std::uint32_t seq = 0;
  std::uint32_t payload_bytes = 0;
};

// Writes `msg`'s droplab header (flow id_base + msg.flow, its sequence, the send
// time) at the start of `slot` and returns the datagram's length: its payload
// size, at most the slot. The socket backends' one way to fill a send buffer.
std::size_t fill_slot(std::span<std::byte> slot, const TxMessage& msg, std::uint16_t flow_id_base,
                      std::uint64_t send_ns);

// Per-message outcome codes written by TxBackend::send(); a positive value is
// the errno the kernel returned for that message.
inline constexpr int kTxSent = 0;
inline constexpr int kTxNotTried = -1;

// What every backend needs to open its sockets or rings. One backend
// instance serves one thread and the flows first_flow .. first_flow+flows-1.
struct TxSetup {
  Endpoint dst;
  std::uint32_t flows = 1;
  std::optional<std::uint16_t> src_port; // flow i binds P+i
  std::size_t wire_size = 64;            // the largest frame the run sends
  std::uint32_t batch = 32;              // most messages per syscall / submit
  // Datagrams per UDP GSO buffer (sendmmsg, io_uring; 1 = off). send() then
  // takes up to batch * gso datagrams: batch buffers of gso segments each.
  std::uint32_t gso = 1;
  std::uint32_t first_flow = 0;
  // Added to every flow number in the payload (--flow-id-base): senders on
  // several hosts feeding one sink keep their flows apart.
  std::uint16_t flow_id_base = 0;
  std::optional<AddrRange> dst_range; // flow f sends to dst_range->at(f)
  std::optional<AddrRange> src_range; // af_packet: flow f's source address
  std::string dev;                    // af_packet: empty = from the route to dst
  std::optional<std::array<std::uint8_t, 6>> dst_mac;
  bool qdisc_bypass = false;
  bool zerocopy = false;
  bool bad_udp_checksum = false; // af_packet: --fault udp-csum

  // The destination address of (global) flow `flow`.
  in_addr flow_dst(std::uint32_t flow) const { return dst_range ? dst_range->at(flow) : dst.addr; }
};

// Backend-specific outcome counters, by name ("ring_full", "kick_ENOBUFS",
// "zc_copied"), reported per thread; zero values are kept.
using BackendStats = std::map<std::string, std::uint64_t>;

class TxBackend {
public:
  virtual ~TxBackend() = default;
  virtual std::string_view name() const = 0;

  // Sends `msgs` in order, stamping `send_ns` (CLOCK_REALTIME) into each
  // header, and writes outcome[i] = kTxSent, an errno, or kTxNotTried.
  // Contract: the sent messages are a prefix of `msgs` (nothing after the
  // first failure is tried), so unsent sequence numbers can be reused and
  // the receiver sees contiguous sequences. Never throws, never blocks.
  virtual void send(std::span<const TxMessage> msgs, std::uint64_t send_ns,
                    std::span<int> outcome) = 0;

  // The UDP source port flow `flow` sends from, for the report.
  virtual std::uint16_t src_port(std::uint32_t flow) const = 0;

  // Hands the kernel whatever the backend still holds (frames queued in a
  // ring), waiting at most until deadline_ns (CLOCK_MONOTONIC).
  virtual void flush(std::uint64_t /*deadline_ns*/) {}
  virtual BackendStats stats() const { return {}; }
  // What the backend changed during the run and why (a GSO fallback), for
  // the report; empty if nothing.
  virtual std::string note() const { return {}; }
};

// Decides which backend runs: `kind` itself (throwing std::runtime_error
// naming the missing capability if it cannot work here), or for Auto the
// first of af_packet, io_uring, sendmmsg whose probe succeeds (io_uring,
// sendmmsg when setup.gso > 1). `reason` says
// why, including why faster backends were passed over.
BackendKind choose_backend(BackendKind kind, const TxSetup& setup, std::string& reason);

// Opens one instance of a concrete backend. Throws UsageError for a setup the
// path cannot carry (e.g. --size above the MTU), std::system_error for a
// failed socket call.
std::unique_ptr<TxBackend> make_backend(BackendKind kind, const TxSetup& setup);

} // namespace droplab::gen
