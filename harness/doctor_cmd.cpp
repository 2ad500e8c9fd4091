#include "doctor_cmd.hpp"

#include "preflight.hpp"
#include "profile.hpp"

#include "droplab/json_util.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <iostream>

namespace droplab::harness {
namespace {

namespace fs = std::filesystem;

struct ProfileVerdict {
  std::string name;
  std::string path;
  std::vector<doctor::Unmet> unmet;
  std::string error; // the profile itself did not load
};

std::string status(bool ok) {
  return ok ? "yes" : "no";
}

void print_text(const doctor::HostReport& r, const std::vector<ProfileVerdict>& profiles) {
  fmt::print("droplab doctor: Linux {} {}, {} CPUs\n\n", r.kernel, r.machine, r.cpus);
  std::size_t w = 0;
  for (const auto& f : r.features)
    w = std::max(w, f.title.size());
  for (const auto& f : r.features)
    fmt::print("  {:<{}}  {:<3}  {}\n", f.title, w, status(f.available), f.detail);

  fmt::print("\nsysctls (host):\n");
  std::size_t kw = 0;
  for (const auto& [k, p] : r.host_sysctls)
    kw = std::max(kw, k.size());
  for (const auto& [k, p] : r.netns_sysctls)
    kw = std::max(kw, k.size());
  for (const auto& [k, p] : r.host_sysctls) {
    if (p.exists && p.writable)
      fmt::print("  {:<{}}  yes  {}\n", k, kw, p.value);
    else
      fmt::print("  {:<{}}  no   {}\n", k, kw, p.detail);
  }
  fmt::print("sysctls (inside a lab namespace):\n");
  for (const auto& [k, p] : r.netns_sysctls) {
    if (p.exists && p.writable)
      fmt::print("  {:<{}}  yes  {}\n", k, kw, p.value);
    else
      fmt::print("  {:<{}}  no   {}\n", k, kw, p.detail);
  }
  if (!r.counters.empty()) {
    fmt::print("counters:\n");
    for (const auto& [k, p] : r.counters)
      fmt::print("  {:<{}}  {:<3}  {}\n", k, kw, status(p.available), p.detail);
  }

  fmt::print("\ndrop reason names this kernel knows ({}):", r.drop_reason_names.size());
  std::size_t col = 80;
  for (const auto& n : r.drop_reason_names) {
    if (col + n.size() + 1 > 78) {
      fmt::print("\n   ");
      col = 3;
    }
    fmt::print(" {}", n);
    col += n.size() + 1;
  }
  fmt::print("\n\nshipped profiles:\n");
  std::size_t pw = 0;
  for (const auto& p : profiles)
    pw = std::max(pw, p.name.size());
  std::size_t runnable = 0;
  for (const auto& p : profiles) {
    if (!p.error.empty()) {
      fmt::print("  {:<{}}  does not load: {}\n", p.name, pw, p.error);
    } else if (p.unmet.empty()) {
      ++runnable;
      fmt::print("  {:<{}}  can run here\n", p.name, pw);
    } else {
      fmt::print("  {:<{}}  cannot run here:\n", p.name, pw);
      for (const auto& u : p.unmet)
        fmt::print("  {:<{}}    {}: {}\n", "", pw, u.what, u.reason);
    }
  }
  fmt::print("{} of {} shipped profiles can run on this kernel\n", runnable, profiles.size());
}

} // namespace

std::vector<std::string> shipped_profile_paths() {
  std::vector<std::string> out;
  for (const auto& name : profile_names(profile_dirs()))
    out.push_back(resolve_profile(name));
  return out;
}

int doctor_command(const DoctorOptions& opt) {
  std::vector<ProfileVerdict> verdicts;
  std::vector<doctor::Needs> needs;
  std::vector<Profile> loaded;
  for (const auto& path : shipped_profile_paths()) {
    ProfileVerdict v{fs::path(path).stem().string(), path, {}, {}};
    try {
      loaded.push_back(load_profile(path));
      needs.push_back(profile_needs(loaded.back()));
    } catch (const std::exception& e) {
      v.error = e.what();
    }
    verdicts.push_back(std::move(v));
  }
  const doctor::HostReport report = doctor::probe_host({.all = true, .needs = needs});
  std::size_t i = 0;
  for (auto& v : verdicts) {
    if (v.error.empty()) v.unmet = doctor::unmet(needs[i++], report);
  }
  if (!opt.json) {
    print_text(report, verdicts);
    return 0;
  }
  nlohmann::json j = report;
  j["schema_version"] = 1;
  nlohmann::json ps = nlohmann::json::array();
  for (const auto& v : verdicts) {
    nlohmann::json p = {
        {"name", v.name}, {"path", v.path}, {"can_run", v.error.empty() && v.unmet.empty()}};
    nlohmann::json why = nlohmann::json::array();
    for (const auto& u : v.unmet)
      why.push_back({{"what", u.what}, {"reason", u.reason}});
    if (!v.error.empty()) why.push_back({{"what", "the profile"}, {"reason", v.error}});
    p["unmet"] = why;
    ps.push_back(p);
  }
  j["profiles"] = ps;
  std::cout << j.dump(2) << "\n";
  return 0;
}

} // namespace droplab::harness
