// Before a run changes anything: can this kernel run the profile at all? The
// same probes and the same verdict as `droplab doctor`.
#pragma once

#include "profile.hpp"

#include "droplab/doctor/doctor.hpp"

#include <vector>

namespace droplab::harness {

// What the profile asks of the kernel (its sysctls, qdisc, nft rules, offloads,
// backends, host counters its expectation needs to move).
doctor::Needs profile_needs(const Profile& prof);

// Probes what `prof` needs; throws ProfileError (exit 2) naming every unmet
// need and why, before anything on the host changes. Profiles with hosts are
// left to their agents.
void check_profile_on_host(const Profile& prof);

// One line per unmet need, as the refusal prints them.
std::string describe_unmet(const std::vector<doctor::Unmet>& unmet);

} // namespace droplab::harness
