#!/usr/bin/env bash
# Installs the Debian bookworm packages corsd needs to build and test, only
# those that are missing. Usage: scripts/deps.sh [build|test|fuzz]
set -euo pipefail

want=(build-essential cmake pkg-config libevent-dev libyaml-dev)
if [ "${1:-build}" = test ]; then
  # systemd: systemd-analyze for test_deploy.py; chromium*: test_browser.py;
  # man-db: rendering the man pages in test_docs.py; valgrind: the memcheck run
  want+=(check python3 curl systemd chromium chromium-driver man-db valgrind)
fi
if [ "${1:-build}" = fuzz ]; then
  # scripts/fuzz.sh: clang with its libFuzzer and sanitizer runtimes
  want+=(clang libclang-rt-14-dev)
fi

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "corsd: installing ${missing[*]}" >&2
sudo=()
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || { echo "corsd: need root or sudo to install ${missing[*]}" >&2; exit 1; }
  sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}" \
  || { "${sudo[@]}" apt-get update && "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}"; }
