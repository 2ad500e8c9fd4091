// Reading and writing sysctls and sysfs attributes, in our own network
// namespace or in a lab namespace. Callers journal a change before writing it.
#pragma once

#include <string>

namespace droplab::harness {

// How the kernel prints a multi-valued sysctl, normalised: runs of
// whitespace collapsed to one space ("4096\t87380" -> "4096 87380").
std::string normalize_sysctl_value(const std::string& s);

// "net.core.rmem_max" -> "/proc/sys/net/core/rmem_max".
std::string sysctl_path(const std::string& key);

// Values are returned with runs of whitespace collapsed to one space
// ("4096\t87380\t6291456" -> "4096 87380 6291456"). `netns` "" = ours.
// Throws std::system_error naming the key (ENOENT: the kernel lacks it).
std::string read_sysctl(const std::string& key, const std::string& netns = "");
void write_sysctl(const std::string& key, const std::string& value, const std::string& netns = "");

// sysfs paths ("/sys/class/net/DEV/queues/rx-0/rps_cpus") of a device that
// lives in `netns`: sysfs shows the devices of the namespace it was mounted
// in, so this mounts a private sysfs in a short-lived child (as `ip netns
// exec` does) and reads or writes there.
std::string read_sysfs(const std::string& path, const std::string& netns = "");
void write_sysfs(const std::string& path, const std::string& value, const std::string& netns = "");

} // namespace droplab::harness
