// A throwaway network and mount namespace for probes that have to create
// something to know whether it works.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <functional>

namespace droplab::doctor {

// Runs `fn` in a forked child that first unshares a new network namespace and
// a private mount namespace (with its own sysfs, so /sys/class/net shows the
// child's devices) and brings up lo. The child writes fn's JSON back and exits;
// everything it made dies with its namespaces. A child that fails, crashes or
// outlives `timeout` yields {"error": "..."}; throws std::system_error only if
// the child cannot be started.
nlohmann::json run_in_scratch_netns(const std::function<nlohmann::json()>& fn,
                                    std::chrono::milliseconds timeout);

} // namespace droplab::doctor
