#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz) with clang, ASan and UBSan in
# build-fuzz/ and runs each for SECONDS (default 60), as many at once as
# there are CPUs (FUZZ_JOBS), then prints the executions per target. Inputs that add coverage go to
# build-fuzz/corpus/<target>; the seeds in tests/fuzz/corpus/<target> are
# read, never written. A crash, leak, timeout or broken property leaves its
# input in build-fuzz/crashes/ and makes the script fail.
#   scripts/fuzz.sh [SECONDS]     build, then run every target
#   scripts/fuzz.sh --available   succeed when $CC (default clang) links libFuzzer
set -euo pipefail
cd "$(dirname "$0")/.."
cc=${CC:-clang}

available() {
  command -v "$cc" >/dev/null 2>&1 || return 1
  local tmp ok=0
  tmp=$(mktemp -d)
  printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
    'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }' >"$tmp/probe.c"
  "$cc" -fsanitize=fuzzer,address,undefined "$tmp/probe.c" -o "$tmp/probe" >/dev/null 2>&1 || ok=1
  rm -rf "$tmp"
  return $ok
}

if [ "${1:-}" = "--available" ]; then
  available
  exit
fi
secs=${1:-60}
if ! [[ "$secs" =~ ^[1-9][0-9]*$ ]]; then
  echo "fuzz.sh: SECONDS must be a positive whole number, not '$secs'" >&2
  exit 2
fi
if ! available; then
  echo "fuzz.sh: $cc cannot link libFuzzer (-fsanitize=fuzzer): install clang and libclang-rt-14-dev" \
    "(scripts/deps.sh --test)" >&2
  exit 1
fi

out=build-fuzz
CC=$cc cmake -S . -B "$out" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLLMDO_WERROR=ON -DLLMDO_FUZZ=ON >/dev/null
cmake --build "$out" -j "$(nproc)" --target fuzz >/dev/null
mkdir -p "$out/crashes" "$out/logs"

targets=()
for src in tests/fuzz/fuzz_*.c; do
  t=$(basename "$src" .c)
  targets+=("${t#fuzz_}")
done

# Runs one target; its output goes to logs/<target>.log, its status to logs/<target>.rc.
run() {
  local t=$1 rc=0 dict=()
  mkdir -p "$out/corpus/$t"
  [ -f "tests/fuzz/$t.dict" ] && dict=(-dict="tests/fuzz/$t.dict")
  # -timeout: one input may take 10 s at most; -rss_limit_mb: 2 GB at most
  "$out/tests/fuzz/fuzz_$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    "${dict[@]}" -artifact_prefix="$out/crashes/$t-" "$out/corpus/$t" "tests/fuzz/corpus/$t" \
    >"$out/logs/$t.log" 2>&1 || rc=$?
  echo "$rc" >"$out/logs/$t.rc"
}

jobs=${FUZZ_JOBS:-$(nproc)}
for t in "${targets[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
  run "$t" &
done
wait

failed=()
summary=()
for t in "${targets[@]}"; do
  log="$out/logs/$t.log"
  rc=$(cat "$out/logs/$t.rc")
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
  if [ "$rc" -ne 0 ]; then
    failed+=("$t")
    echo "== fuzz_$t FAILED (exit $rc); the end of $log:" >&2
    tail -n 40 "$log" >&2
  fi
  summary+=("$(printf '%-12s %12s execs %8s execs/s%s' "$t" "${execs:-?}" "${rate:-?}" \
    "$([ "$rc" -ne 0 ] && echo "  FAILED")")")
done

echo "fuzzing, $secs s per target:"
printf '  %s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz.sh: failing targets: ${failed[*]} (inputs in $out/crashes/)" >&2
  exit 1
fi
