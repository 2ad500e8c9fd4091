#include "gen/tx_backend.hpp"

#include "gen/sendmmsg_tx.hpp"

#include <stdexcept>

namespace droplab::gen {

BackendChoice open_backend(BackendKind kind, const TxSetup &setup) {
  std::string reason;
  switch (kind) {
  case BackendKind::Sendmmsg: reason = "requested with --backend sendmmsg"; break;
  case BackendKind::Auto:
    // Only one backend is built so far; AF_PACKET and io_uring will be probed
    // ahead of it when they exist.
    reason = "auto: sendmmsg is the only backend built (AF_PACKET and io_uring not yet)";
    break;
  }
  if (!SendmmsgTx::available()) {
    throw std::runtime_error("sendmmsg(2) is not available (ENOSYS/EPERM from a probe call)");
  }
  return BackendChoice{std::make_unique<SendmmsgTx>(setup), reason};
}

} // namespace droplab::gen
