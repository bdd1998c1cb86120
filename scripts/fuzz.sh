#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz, clang with ASan + UBSan) and runs
# each one for a bounded time on its corpus: the seeds in
# tests/fuzz/seeds/TARGET plus whatever earlier runs found, kept in
# tests/fuzz/corpus-TARGET (not in git). Fails, naming the target and
# showing its log, on any crash, leak, timeout or out-of-memory.
#
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET]   (default: $FUZZ_SECONDS or 60)
#   FUZZ_TARGETS="origin resp"  only these targets (default: every fuzz_*.c)
#   FUZZ_JOBS=N                 targets run at once (default: nproc)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh fuzz

seconds=${1:-${FUZZ_SECONDS:-60}}
jobs=${FUZZ_JOBS:-$(nproc)}
build=build/fuzz
case $seconds in '' | *[!0-9]*) echo "usage: $0 [SECONDS_PER_TARGET]" >&2; exit 2 ;; esac

CC=clang cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCORSD_FUZZ=ON >/dev/null
cmake --build "$build" -j"$(nproc)"

if [ -n "${FUZZ_TARGETS:-}" ]; then
  read -r -a targets <<<"$FUZZ_TARGETS"
else
  targets=()
  for src in tests/fuzz/fuzz_*.c; do
    t=${src#tests/fuzz/fuzz_}
    targets+=("${t%.c}")
  done
fi

# Leaks fail the run like crashes; UBSan stops at the first report.
export ASAN_OPTIONS=detect_leaks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
mkdir -p "$build/logs"

run_one() {
  local t=$1 corpus=tests/fuzz/corpus-$1 art=$build/artifacts/$1/
  local dict=()
  mkdir -p "$corpus" "$art"
  cp -n tests/fuzz/seeds/"$t"/* "$corpus"/ 2>/dev/null || true
  [ -f tests/fuzz/"$t".dict ] && dict=(-dict=tests/fuzz/"$t".dict)
  local rc=0
  "$build/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    "${dict[@]}" -print_final_stats=1 -artifact_prefix="$art" "$corpus" \
    >"$build/logs/$t.log" 2>&1 || rc=$?
  echo "$rc" >"$build/logs/$t.rc"
}

echo "fuzz: ${#targets[@]} targets, ${seconds}s each, $jobs at once; logs in $build/logs"
for t in "${targets[@]}"; do
  [ -x "$build/tests/fuzz/fuzz_$t" ] || { echo "fuzz: no target fuzz_$t" >&2; exit 2; }
  rm -f "$build/logs/$t.rc"
done
for t in "${targets[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do
    wait -n || true
  done
  run_one "$t" &
done
wait

failed=()
total=0
for t in "${targets[@]}"; do
  rc=$(cat "$build/logs/$t.rc" 2>/dev/null || echo '?')
  log=$build/logs/$t.log
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  # A target that never printed its final stats died some other way.
  if [ "$rc" != 0 ] || [ -z "$execs" ]; then
    failed+=("$t")
    printf 'fuzz_%-8s FAILED (exit %s), executions %s\n' "$t" "$rc" "${execs:-?}"
  else
    total=$((total + execs))
    printf 'fuzz_%-8s ok, executions %s\n' "$t" "$execs"
  fi
done

for t in "${failed[@]}"; do
  echo
  echo "== fuzz_$t failed; the end of $build/logs/$t.log (the input is in $build/artifacts/$t/):"
  tail -n 60 "$build/logs/$t.log"
done
if [ ${#failed[@]} -ne 0 ]; then
  echo "fuzz: FAILED: ${failed[*]}"
  exit 1
fi
echo "fuzz: all ${#targets[@]} targets ran ${seconds}s clean, $total executions in all"
