// `droplab doctor [--json]`: what this host's kernel offers droplab, probed for
// real, and which shipped profiles can run here (and why not). A report: exits
// 0 even when features are missing.
#pragma once

#include <string>
#include <vector>

namespace droplab::harness {

struct DoctorOptions {
  bool json = false; // the report as JSON on stdout
};

int doctor_command(const DoctorOptions& opt);

// The shipped profiles' paths: every name profile_names() finds in profile_dirs().
std::vector<std::string> shipped_profile_paths();

} // namespace droplab::harness
