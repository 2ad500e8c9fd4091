#!/usr/bin/env bash
# Runs every shipped profile N times with `droplab run --json` and prints, per
# profile, how often its expectation held. A profile that holds only when the
# machine is quiet reproduces nothing: --load keeps both CPUs busy with two
# niced `yes` loops for the whole soak.
#
#   scripts/profile-soak.sh [N] [--load] [--profiles a,b]
#
# N defaults to 20. A profile this kernel cannot run (droplab exits 2 naming
# the missing feature, e.g. flow-limit without net.core.flow_limit_cpu_bitmap)
# is reported "refused: <reason>", not failed. Exit 1 if any runnable profile
# failed a run, 2 on bad arguments. Uses build/bin/droplab when built, else
# the droplab on PATH (and its installed profiles). Needs root and jq
# (scripts/deps.sh --test installs it).
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
  echo "usage: scripts/profile-soak.sh [N] [--load] [--profiles NAME,NAME...]" >&2
  exit 2
}

runs=20
load=0
only=""
while (($#)); do
  case $1 in
  --load) load=1 ;;
  --profiles)
    (($# >= 2)) || usage
    only=$2
    shift
    ;;
  --profiles=*) only=${1#--profiles=} ;;
  -h | --help) usage ;;
  *)
    [[ $1 =~ ^[1-9][0-9]*$ ]] || {
      echo "profile-soak: N: \"$1\" is not a run count (an integer >= 1)" >&2
      exit 2
    }
    runs=$1
    ;;
  esac
  shift
done

if [[ -x build/bin/droplab ]]; then
  droplab=build/bin/droplab
  profile_dir=profiles
elif command -v droplab >/dev/null; then
  droplab=$(command -v droplab)
  profile_dir=/usr/share/droplab/profiles
  [[ -d profiles ]] && profile_dir=profiles
else
  echo "profile-soak: no droplab: build it (scripts/build.sh) or install the package" >&2
  exit 2
fi
command -v jq >/dev/null || {
  echo "profile-soak: needs jq (scripts/deps.sh --test)" >&2
  exit 2
}
[[ $(id -u) -eq 0 ]] || {
  echo "profile-soak: run as root: droplab run creates namespaces and changes sysctls" >&2
  exit 2
}

profiles=()
if [[ -n $only ]]; then
  IFS=, read -ra names <<<"$only"
  for n in "${names[@]}"; do
    f=$profile_dir/${n%.json}.json
    [[ -f $f ]] || {
      echo "profile-soak: --profiles: no profile \"$n\" in $profile_dir" \
        "(allowed: $(basename -s .json "$profile_dir"/*.json | paste -sd, -))" >&2
      exit 2
    }
    profiles+=("$f")
  done
else
  profiles=("$profile_dir"/*.json)
fi

scratch=$(mktemp -d /tmp/droplab-soak.XXXXXX)
load_pids=()
cleanup() {
  for p in "${load_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${load_pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$scratch"
}
trap cleanup EXIT
# Stop the run in progress the way a user would (droplab restores the host on
# SIGINT and exits 130), then leave.
child=""
interrupted() {
  if [[ -n $child ]]; then
    kill -INT "$child" 2>/dev/null || true
    wait "$child" 2>/dev/null || true
  fi
  exit 130
}
trap interrupted INT TERM

if ((load)); then
  # One busy loop per CPU of this 2-CPU lab machine, niced so the run's own
  # processes still win the CPU they ask for: the point is a machine that is
  # busy, not one where the generator never runs.
  for _ in 1 2; do
    nice -n 19 yes >/dev/null &
    load_pids+=($!)
  done
fi

echo "profile-soak: $runs run(s) per profile, $([[ $load == 1 ]] && echo "both CPUs busy (2 x nice yes)" || echo "no extra load"), $droplab"
printf '%-18s %-8s %-14s %s\n' profile passed unexplained "gen rate (min..max of requested) / failures"
any_failed=0
for prof in "${profiles[@]}"; do
  name=$(basename "$prof" .json)
  pass=0 done=0 refused="" umin="" umax="" rmin="" rmax=""
  failures=()
  for ((i = 1; i <= runs; i++)); do
    json=$scratch/$name.$i.json
    err=$scratch/$name.$i.err
    rc=0
    # In the background and waited for, so a signal reaches the trap at once.
    "$droplab" run "$prof" --quiet --json "$json" >"$scratch/$name.$i.out" 2>"$err" &
    child=$!
    wait "$child" || rc=$?
    child=""
    if ((rc == 130)); then exit 130; fi
    if ((rc == 2)); then
      # droplab's refusal ends with one indented line per unmet need: those are the
      # reason (else its last line, the error as printed).
      refused=$(sed -n '/cannot run this profile/,$p' "$err" | tail -n +2 | sed 's/^ *//' |
        grep -v '^$' | paste -sd';' - | sed 's/;/; /g' || true)
      [[ -n $refused ]] || refused=$(grep -v '^\s*$' "$err" | tail -n 1 | sed 's/^droplab: error: //')
      break
    fi
    done=$((done + 1))
    if [[ -s $json ]]; then
      u=$(jq -r '.accounting.unexplained' "$json")
      r=$(jq -r 'if .gen.summary.rate_error == null then "null" else (100 + 100 * .gen.summary.rate_error | floor) end' "$json")
      [[ -z $umin || $u -lt $umin ]] && umin=$u
      [[ -z $umax || $u -gt $umax ]] && umax=$u
      if [[ $r != null ]]; then
        [[ -z $rmin || $r -lt $rmin ]] && rmin=$r
        [[ -z $rmax || $r -gt $rmax ]] && rmax=$r
      fi
    fi
    if ((rc == 0)); then
      pass=$((pass + 1))
    elif ((rc == 3)) && [[ -s $json ]]; then
      # The failed expectation's own line(s), and what the generator managed.
      why=$(jq -r '[.expect.reasons[]?] | join("; ")' "$json")
      gen=$(jq -r '.gen.summary | "gen \(.achieved_pps | floor) pps, \(.send_errors_total) send errors"' "$json")
      failures+=("run $i: $why ($gen)")
    else
      failures+=("run $i: droplab exited $rc: $(grep -v '^\s*$' "$err" | tail -n 1)")
    fi
  done
  if [[ -n $refused ]]; then
    printf '%-18s %s\n' "$name" "refused: $refused"
    continue
  fi
  ((pass == done)) || any_failed=1
  printf '%-18s %-8s %-14s %s\n' "$name" "$pass/$done" "${umin:-?}..${umax:-?}" \
    "${rmin:-?}..${rmax:-?}%"
  for f in "${failures[@]}"; do echo "    $f"; done
done
exit "$any_failed"
