#include "gen/af_packet_tx.hpp"

#include "droplab/cli.hpp"
#include "droplab/clock.hpp"
#include "droplab/payload.hpp"
#include "gen/report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

namespace droplab::gen {
namespace {

constexpr auto kArpTimeout = std::chrono::milliseconds(1500);
constexpr std::uint64_t kFlushPollNs = 100'000;

LinkInfo checked_link(const TxSetup& setup) {
  LinkInfo link = resolve_link(setup.flow_dst(setup.first_flow), setup.dev);
  const std::size_t ip_bytes = setup.wire_size - kEthHeaderBytes - kEthFcsBytes;
  if (ip_bytes > static_cast<std::size_t>(link.mtu)) {
    throw UsageError(fmt::format("--size {}: its {}-byte IP packets exceed the MTU {} of {}; the "
                                 "largest --size on this device is {} bytes",
                                 setup.wire_size, ip_bytes, link.mtu, link.dev,
                                 link.mtu + kEthHeaderBytes + kEthFcsBytes));
  }
  return link;
}

} // namespace

AfPacketTx::AfPacketTx(const TxSetup& setup)
    : setup_(setup), link_(checked_link(setup)),
      ring_(link_, setup.wire_size - kEthFcsBytes, setup.qdisc_bypass) {
  if (setup.dst_mac) {
    dst_mac_ = *setup.dst_mac;
    mac_source_ = "--dst-mac";
  } else if (auto m = neighbour_mac(link_.next_hop, link_.dev)) {
    dst_mac_ = *m;
    mac_source_ = "neighbour table";
  } else if (auto r = arp_resolve(link_, link_.next_hop, kArpTimeout)) {
    dst_mac_ = *r;
    mac_source_ = "ARP";
  } else {
    throw std::runtime_error(fmt::format(
        "af_packet: no MAC for next hop {} on {}: no neighbour entry and no ARP reply within "
        "{} ms; give --dst-mac",
        ipv4_to_string(link_.next_hop), link_.dev, kArpTimeout.count()));
  }
  templates_.reserve(setup.flows);
  for (std::uint32_t f = setup.first_flow; f < setup.first_flow + setup.flows; ++f) {
    templates_.emplace_back(FrameAddrs{.src_mac = link_.mac,
                                       .dst_mac = dst_mac_,
                                       .src = setup.src_range ? setup.src_range->at(f) : link_.addr,
                                       .dst = setup.flow_dst(f),
                                       .src_port = src_port(f),
                                       .dst_port = setup.dst.port,
                                       .bad_udp_checksum = setup.bad_udp_checksum});
  }
}

std::uint16_t AfPacketTx::src_port(std::uint32_t flow) const {
  if (setup_.src_port) return static_cast<std::uint16_t>(*setup_.src_port + flow);
  return static_cast<std::uint16_t>(1024 + (kAfPacketBasePort - 1024 + flow) % (65536 - 1024));
}

bool AfPacketTx::frame_free(std::uint32_t i) const {
  // Acquire: the kernel's status write happens after it is done with the frame.
  const auto status = __atomic_load_n(&ring_.header(i)->tp_status, __ATOMIC_ACQUIRE);
  return (status & (TP_STATUS_SEND_REQUEST | TP_STATUS_SENDING)) == 0;
}

void AfPacketTx::send(std::span<const TxMessage> msgs, std::uint64_t send_ns,
                      std::span<int> outcome) {
  std::fill(outcome.begin(), outcome.end(), kTxNotTried);
  const std::size_t n = std::min(msgs.size(), outcome.size());
  bool kicked = false;
  std::size_t queued = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (!frame_free(head_)) {
      // Frames still waiting: one kick may free them (veth transmits
      // synchronously); if not, the ring is full and the rest waits.
      if (!kicked) {
        if (int err = ring_.kick(); err != 0) ++kick_errors_[err];
        ++kicks_;
        kicked = true;
      }
      if (!frame_free(head_)) {
        ++ring_full_;
        outcome[i] = EAGAIN;
        break;
      }
    }
    tpacket2_hdr* h = ring_.header(head_);
    if (h->tp_status == TP_STATUS_WRONG_FORMAT) ++wrong_format_;
    const TxMessage& m = msgs[i];
    const std::size_t wire = m.payload_bytes + kWireOverheadBytes;
    const std::size_t len = templates_[m.flow - setup_.first_flow].build(
        std::span<std::byte>(ring_.data(head_), ring_.max_frame_len()), wire,
        PayloadHeader{.flow = static_cast<std::uint16_t>(setup_.flow_id_base + m.flow), .seq = m.seq, .send_ns = send_ns});
    h->tp_len = static_cast<std::uint32_t>(len);
    __atomic_store_n(&h->tp_status, TP_STATUS_SEND_REQUEST, __ATOMIC_RELEASE);
    head_ = (head_ + 1) % ring_.frames();
    outcome[i] = kTxSent;
    ++queued;
  }
  if (queued > 0) {
    if (int err = ring_.kick(); err != 0) ++kick_errors_[err];
    ++kicks_;
  }
}

void AfPacketTx::flush(std::uint64_t deadline_ns) {
  for (;;) {
    bool pending = false;
    for (std::uint32_t i = 0; i < ring_.frames() && !pending; ++i)
      pending = !frame_free(i);
    if (!pending || mono_ns() >= deadline_ns) return;
    if (int err = ring_.kick(); err != 0) ++kick_errors_[err];
    ++kicks_;
    sleep_until_mono(mono_ns() + kFlushPollNs);
  }
}

BackendStats AfPacketTx::stats() const {
  BackendStats s{{"ring_full", ring_full_},
                 {"kicks", kicks_},
                 {"wrong_format", wrong_format_},
                 {"ring_frames", ring_.frames()}};
  for (const auto& [err, n] : kick_errors_)
    s["kick_" + errno_name(err)] += n;
  return s;
}

} // namespace droplab::gen
