#!/usr/bin/env bash
# Builds corsd and runs the whole test suite three times: a normal build, an
# AddressSanitizer + UndefinedBehaviorSanitizer build, and under valgrind
# memcheck; then every libFuzzer target for FUZZ_SECONDS (default 60) each.
# Usage: scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh test
jobs=$(nproc)
# The packages are installed above: a test that would skip for lack of one
# fails instead.
export CORSD_REQUIRE_BROWSER=1

run_suite() {
  local dir=$1; shift
  cmake -S . -B "$dir" "$@" >/dev/null
  cmake --build "$dir" -j"$jobs"
  ctest --test-dir "$dir" --output-on-failure -j"$jobs" --timeout 600
}

echo "== normal build =="
run_suite build/test -DCMAKE_BUILD_TYPE=RelWithDebInfo

echo "== AddressSanitizer + UndefinedBehaviorSanitizer build =="
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
run_suite build/asan -DCMAKE_BUILD_TYPE=Debug -DCORSD_SANITIZE=ON

echo "== valgrind memcheck (no definite leaks, no invalid accesses) =="
unset ASAN_OPTIONS UBSAN_OPTIONS
run_suite build/valgrind -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCORSD_VALGRIND=ON

echo "== fuzzers, ${FUZZ_SECONDS:-60} s per target =="
scripts/fuzz.sh "${FUZZ_SECONDS:-60}"
