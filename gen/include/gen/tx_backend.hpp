// The seam between the generator's schedule (which flow, which sequence, when)
// and the kernel interface that puts datagrams on the wire. sendmmsg is the
// one implementation today; AF_PACKET and io_uring backends plug in here.
#pragma once

#include "droplab/addr.hpp"
#include "gen/config.hpp"

#include <cstddef>
#include <cstdint>
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

// Per-message outcome codes written by TxBackend::send(); a positive value is
// the errno the kernel returned for that message.
inline constexpr int kTxSent = 0;
inline constexpr int kTxNotTried = -1;

// What every backend needs to open its sockets or rings.
struct TxSetup {
  Endpoint dst;
  std::uint32_t flows = 1;
  std::optional<std::uint16_t> src_port; // flow i binds P+i
  std::size_t wire_size = 64;
  std::uint32_t batch = 32; // most messages per send() call
};

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
};

struct BackendChoice {
  std::unique_ptr<TxBackend> backend;
  std::string reason; // why this backend, for the report
};

// Opens the backend `kind` asks for ("auto" probes and picks). Throws
// UsageError for a setup the path cannot carry (e.g. --size above the MTU),
// std::system_error for a failed socket call.
BackendChoice open_backend(BackendKind kind, const TxSetup &setup);

} // namespace droplab::gen
