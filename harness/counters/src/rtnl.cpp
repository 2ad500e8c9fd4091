#include "rtnl.hpp"

#include <libmnl/libmnl.h>
#include <linux/netlink.h>

#include <cerrno>
#include <ctime>
#include <memory>
#include <system_error>

namespace droplab::counters::detail {

namespace {

struct MnlSocketCloser {
  void operator()(mnl_socket* s) const noexcept { mnl_socket_close(s); }
};
using MnlSocket = std::unique_ptr<mnl_socket, MnlSocketCloser>;

RtnlReply failure(const std::string& what, const char* step, int err) {
  RtnlReply r;
  r.err = err;
  r.error = what + ": " + (step[0] ? std::string(step) + ": " : std::string()) +
            std::generic_category().message(err);
  return r;
}

} // namespace

RtnlReply rtnl_exchange(nlmsghdr* req, const std::string& what) {
  MnlSocket nl(mnl_socket_open(NETLINK_ROUTE));
  if (!nl) return failure(what, "socket(NETLINK_ROUTE)", errno);
  if (mnl_socket_bind(nl.get(), 0, MNL_SOCKET_AUTOPID) < 0)
    return failure(what, "bind(NETLINK_ROUTE)", errno);
  const unsigned portid = mnl_socket_get_portid(nl.get());
  req->nlmsg_seq = static_cast<unsigned>(::time(nullptr));
  req->nlmsg_pid = 0;
  const bool dump = (req->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP;
  if (mnl_socket_sendto(nl.get(), req, req->nlmsg_len) < 0) return failure(what, "send", errno);

  RtnlReply out;
  // 32 KiB holds one kernel dump skb (libmnl >= 1.0.5 calls this MNL_SOCKET_DUMP_SIZE).
  std::vector<char> buf(32768);
  for (;;) {
    ssize_t n = mnl_socket_recvfrom(nl.get(), buf.data(), buf.size());
    if (n < 0) return failure(what, "recv", errno);
    int len = static_cast<int>(n);
    for (auto* h = reinterpret_cast<const nlmsghdr*>(buf.data()); mnl_nlmsg_ok(h, len);
         h = mnl_nlmsg_next(h, &len)) {
      if (!mnl_nlmsg_portid_ok(h, portid) || !mnl_nlmsg_seq_ok(h, req->nlmsg_seq)) continue;
      if (h->nlmsg_type == NLMSG_DONE) return out;
      if (h->nlmsg_type == NLMSG_ERROR) {
        const auto* e = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(h));
        if (h->nlmsg_len < mnl_nlmsg_size(sizeof *e))
          return failure(what, "truncated error", EBADMSG);
        if (e->error == 0) return out; // ACK
        return failure(what, "", -e->error);
      }
      const auto* p = reinterpret_cast<const std::byte*>(h);
      out.messages.emplace_back(p, p + h->nlmsg_len);
      if (!dump) return out;
    }
  }
}

} // namespace droplab::counters::detail
