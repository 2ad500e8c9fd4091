#include "gen/tx_backend.hpp"

#include "gen/af_packet_tx.hpp"
#include "gen/io_uring_tx.hpp"
#include "gen/packet_ring.hpp"
#include "gen/sendmmsg_tx.hpp"

#include "droplab/payload.hpp"

#include <fmt/format.h>

#include <algorithm>

#include <stdexcept>
#include <vector>

namespace droplab::gen {

std::size_t fill_slot(std::span<std::byte> slot, const TxMessage& msg, std::uint16_t flow_id_base,
                      std::uint64_t send_ns) {
  encode_payload(PayloadHeader{.flow = static_cast<std::uint16_t>(flow_id_base + msg.flow),
                               .seq = msg.seq,
                               .send_ns = send_ns},
                 slot);
  return std::min<std::size_t>(msg.payload_bytes, slot.size());
}
namespace {

// "" if `kind` can work here, else the missing capability or kernel feature.
std::string probe(BackendKind kind, const TxSetup& setup) {
  switch (kind) {
  case BackendKind::AfPacket: return PacketRing::probe();
  case BackendKind::IoUring: return IoUring::probe(setup.zerocopy);
  case BackendKind::Sendmmsg:
    return SendmmsgTx::available() ? "" : "sendmmsg(2) refused (ENOSYS/EPERM from a probe call)";
  case BackendKind::Auto: break;
  }
  return "not a concrete backend";
}

} // namespace

BackendKind choose_backend(BackendKind kind, const TxSetup& setup, std::string& reason) {
  if (kind != BackendKind::Auto) {
    if (std::string why = probe(kind, setup); !why.empty()) {
      throw std::runtime_error(
          fmt::format("--backend {} cannot work here: {}", backend_name(kind), why));
    }
    reason = fmt::format("requested with --backend {}", backend_name(kind));
    return kind;
  }
  // Preference order from bench/RESULTS.md: af_packet led (the TX ring skips
  // the socket layer and the sender's IP stack); io_uring and sendmmsg traded
  // places between runs on the shared lab machine.
  // With --gso the socket backends only (af_packet cannot segment); io_uring
  // led sendmmsg with --gso 64 in every round of bench/RESULTS.md's XDP run.
  std::string passed;
  const auto order = setup.gso > 1
                         ? std::vector<BackendKind>{BackendKind::IoUring, BackendKind::Sendmmsg}
                         : std::vector<BackendKind>{BackendKind::AfPacket, BackendKind::IoUring,
                                                    BackendKind::Sendmmsg};
  for (BackendKind k : order) {
    std::string why = probe(k, setup);
    if (why.empty()) {
      reason = fmt::format("auto: {} probed fine{}{}{}", backend_name(k),
                           passed.empty() ? ", first in preference order (bench/RESULTS.md)"
                                          : "; passed over: ",
                           passed, setup.gso > 1 ? " (--gso: socket backends only)" : "");
      return k;
    }
    passed += fmt::format("{}{} ({})", passed.empty() ? "" : ", ", backend_name(k), why);
  }
  throw std::runtime_error("no backend works here: " + passed);
}

std::unique_ptr<TxBackend> make_backend(BackendKind kind, const TxSetup& setup) {
  switch (kind) {
  case BackendKind::AfPacket: return std::make_unique<AfPacketTx>(setup);
  case BackendKind::IoUring: return std::make_unique<IoUringTx>(setup);
  case BackendKind::Sendmmsg: return std::make_unique<SendmmsgTx>(setup);
  case BackendKind::Auto: break;
  }
  throw std::logic_error("make_backend: resolve Auto with choose_backend first");
}

} // namespace droplab::gen
