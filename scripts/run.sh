#!/usr/bin/env bash
# Builds corsd and runs it in the foreground with a policy file
# (default conf/corsd.yaml). Usage: scripts/run.sh [FILE]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh build
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DCORSD_TESTS=OFF >/dev/null
cmake --build build/release -j"$(nproc)"
exec build/release/corsd -c "${1:-conf/corsd.yaml}"
