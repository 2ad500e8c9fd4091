// Collectors: the seam between counter sources and snapshots. Each adds its counters
// under a role prefix ("tx", "rx", "host") so one Snapshot holds both namespaces and
// the host. Later sources (netlink, ethtool, BPF) implement the same interface.
//
// Keys (exact):
//   NetDevCollector      <role>.dev.{rx,tx}_{packets,bytes,dropped,errors}
//   SnmpCollector        <role>.snmp.<Proto>.<Field>    every field of /proc/net/snmp
//                        <role>.netstat.<Proto>.<Field> every field of /proc/net/netstat
//   SoftnetCollector     <role>.softnet.cpu<N>.{processed,dropped,time_squeeze,
//                                               received_rps,flow_limit_count}
//                        <role>.softnet.{processed,dropped,time_squeeze,received_rps,
//                                        flow_limit_count}   (sums over CPUs)
//   UdpSocketCollector   <role>.sock.{drops,rx_queue,inode}
// A source that cannot be read yields its keys as unavailable with the reason; only
// failing to enter the namespace throws.
#pragma once

#include "droplab/counters/snapshot.hpp"
#include "droplab/counters/softnet.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace droplab::counters {

class Collector {
public:
  virtual ~Collector() = default;
  // For reports and errors, e.g. "snmp(rx, netns dl-rx)".
  virtual std::string name() const = 0;
  // Adds this source's counters to `out`.
  virtual void collect(Snapshot &out) = 0;
};

// Stamps CLOCK_MONOTONIC, then runs every collector in order.
Snapshot take_snapshot(const std::vector<std::unique_ptr<Collector>> &collectors);

// /proc/net/dev for one device. A device absent from the file gives unavailable keys.
class NetDevCollector final : public Collector {
public:
  NetDevCollector(std::string role, std::string netns, std::string ifname);
  std::string name() const override;
  void collect(Snapshot &out) override;

private:
  std::string role_, netns_, ifname_;
};

// /proc/net/snmp and /proc/net/netstat of one namespace. The fields in expected_fields()
// are always present in the snapshot (unavailable if this kernel lacks them), because
// attribution looks them up by name.
class SnmpCollector final : public Collector {
public:
  SnmpCollector(std::string role, std::string netns);
  std::string name() const override;
  void collect(Snapshot &out) override;

  // Key suffixes after "<role>.", e.g. "snmp.Udp.RcvbufErrors", "netstat.IpExt.InNoRoutes".
  static const std::vector<std::string> &expected_fields();

private:
  std::string role_, netns_;
};

// /proc/net/softnet_stat: host-wide (read in the caller's namespace), per CPU. Per-CPU
// columns are 32-bit (wrap_bits = 32); the sums are sum_of their per-CPU parts, and a
// sum is unavailable when any CPU lacks that column (flow_limit_count before 3.11).
class SoftnetCollector final : public Collector {
public:
  explicit SoftnetCollector(std::string role = "host");
  std::string name() const override;
  void collect(Snapshot &out) override;

private:
  std::string role_;
};

// The counters SoftnetCollector adds, from rows already parsed (pure: lets the key
// layout be tested on every kernel's column layout).
void add_softnet_counters(Snapshot &out, const std::string &role,
                          const std::vector<SoftnetRow> &rows, const std::string &origin);

// One UDP socket's row in /proc/net/udp or udp6 of `netns`, found by local port,
// and by inode when `inode` != 0. With inode 0 and several sockets on the port the
// counters are unavailable ("N sockets bound to port P; pass the inode").
// rx_queue and inode are gauges.
class UdpSocketCollector final : public Collector {
public:
  UdpSocketCollector(std::string role, std::string netns, std::uint16_t local_port,
                     std::uint64_t inode = 0);
  std::string name() const override;
  void collect(Snapshot &out) override;

private:
  std::string role_, netns_;
  std::uint16_t port_;
  std::uint64_t inode_;
};

} // namespace droplab::counters
