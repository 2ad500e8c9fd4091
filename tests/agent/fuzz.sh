#!/usr/bin/env bash
# Fuzzes the agent's FrameDecoder and message validators with libFuzzer for a
# bounded time. Usage: fuzz.sh [SECONDS=30] [WORK_DIR=a temporary one]
# Exit 0: no crash, leak or UB report; 1: a finding (the input is kept in
# WORK_DIR/crash-*); 77: skipped, no clang++-14 or fuzzer runtime.
set -euo pipefail
secs=${1:-30}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work=${2:-}
cleanup=0
if [[ -z $work ]]; then
  work=$(mktemp -d)
  cleanup=1
  trap 'if ((cleanup)); then rm -rf "$work"; fi' EXIT
fi
mkdir -p "$work"

cxx=$(command -v clang++-14 || true)
if [[ -z $cxx ]]; then
  echo "SKIP: clang++-14 not found (apt-get install clang-14 libclang-rt-14-dev)"
  exit 77
fi
# The runtime is libclang-rt-14-dev; probe with a trivial fuzzer.
echo 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }' >"$work/probe.cpp"
if ! "$cxx" -fsanitize=fuzzer "$work/probe.cpp" -o "$work/probe" 2>"$work/probe.log"; then
  echo "SKIP: clang++-14 has no libFuzzer runtime (apt-get install libclang-rt-14-dev): $(head -c 300 "$work/probe.log")"
  exit 77
fi

flags=(-std=c++20 -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined
       -fno-sanitize-recover=undefined -I"$root/harness/agent")
if [[ ! -x $work/fuzz_decoder || $here/fuzz_decoder.cpp -nt $work/fuzz_decoder ||
      $root/harness/agent/protocol.cpp -nt $work/fuzz_decoder || $root/harness/agent/protocol.hpp -nt $work/fuzz_decoder ]]; then
  echo "fuzz: building with $cxx"
  "$cxx" "${flags[@]}" "$here/fuzz_decoder.cpp" "$root/harness/agent/protocol.cpp" -lfmt -o "$work/fuzz_decoder"
fi

# New inputs go to the work corpus, never into the seed corpus in the tree.
mkdir -p "$work/corpus"
echo "fuzz: running for ${secs}s"
set +e
"$work/fuzz_decoder" "$work/corpus" "$here/corpus" -max_total_time="$secs" -max_len=8192 -timeout=10 -error_exitcode=1 -timeout_exitcode=1 \
  -rss_limit_mb=2048 -artifact_prefix="$work/" -print_final_stats=1 >"$work/fuzz.log" 2>&1
rc=$?
set -e
grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|Done|#[0-9]+ +DONE)' "$work/fuzz.log" || true
if ((rc != 0)); then
  tail -n 60 "$work/fuzz.log"
  cleanup=0 # keep the reproducer
  echo "fuzz: FAILED (exit $rc); reproducer: $(ls "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-* 2>/dev/null | head -1)"
  exit 1
fi
echo "fuzz: no crash, leak or UB in ${secs}s"
