#!/usr/bin/env bash
# Installs the Debian 12 packages llmdo needs, when they are missing.
#   scripts/deps.sh          what building needs
#   scripts/deps.sh --test   plus what the test suite needs
# As root it runs apt-get; otherwise it prints the exact command and fails.
set -euo pipefail

packages=(gcc make cmake pkg-config liblua5.4-dev libcurl4-openssl-dev lua-cjson-dev
          libyaml-dev libuv1-dev libedit-dev libpcre2-dev lua-argparse)
if [ "${1:-}" = "--test" ]; then
  packages+=(python3 procps lua-check clang-format json-schema-test-suite git clang libclang-rt-14-dev parallel)
fi

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "llmdo needs these Debian packages: ${missing[*]}" >&2
  echo "install them with: sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 1
fi
echo "installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null; then
  apt-get update >/dev/null
  apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null
fi
