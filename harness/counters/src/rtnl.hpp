// One rtnetlink request/response exchange over libmnl (internal to droplab_counters).
// The socket is opened on the calling thread, so inside in_netns() it belongs to that
// namespace: a netlink socket keeps the namespace it was created in.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

struct nlmsghdr;

namespace droplab::counters::detail {

struct RtnlReply {
  // Each reply message whole (header included); NLMSG_DONE and ACKs are not kept.
  std::vector<std::vector<std::byte>> messages;
  int err = 0;       // errno of the failing step (socket, send, recv, or the kernel's answer)
  std::string error; // "RTM_GETLINK va0: No such device"
};

// Sends `req` (nlmsg_seq and nlmsg_pid are filled in) on a fresh NETLINK_ROUTE socket
// and collects the reply: all parts of a dump (NLM_F_DUMP) or the single answer.
// Never throws for netlink errors; `what` prefixes the error text.
RtnlReply rtnl_exchange(nlmsghdr* req, const std::string& what);

} // namespace droplab::counters::detail
