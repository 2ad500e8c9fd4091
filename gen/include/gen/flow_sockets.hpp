// One connected UDP socket per flow (the sendmmsg and io_uring backends):
// DF set, bound to --src-port P+flow if given, connected to the flow's
// destination; the path MTU is checked against the largest frame.
#pragma once

#include "droplab/fd.hpp"
#include "gen/tx_backend.hpp"

#include <cstdint>
#include <vector>

namespace droplab::gen {

class FlowSockets {
public:
  // Throws UsageError (frame above the path MTU, too few descriptors) or
  // std::system_error naming the failed call and flow.
  explicit FlowSockets(const TxSetup& setup);

  // Socket and local port of global flow `flow`.
  int fd(std::uint32_t flow) const { return socks_[flow - first_flow_].get(); }
  std::uint16_t port(std::uint32_t flow) const { return ports_.at(flow - first_flow_); }

private:
  void check_path_mtu(int fd, const TxSetup& setup) const;

  std::uint32_t first_flow_;
  std::vector<Fd> socks_;
  std::vector<std::uint16_t> ports_;
};

} // namespace droplab::gen
