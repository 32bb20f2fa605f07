#!/usr/bin/env bash
# Installs the Debian 12 packages llmdo needs, when they are missing.
#   scripts/deps.sh          what building needs
#   scripts/deps.sh --test   plus what the test suite needs, and the
#                            reference MCP server (npm ci in tests/mcp)
# As root it runs apt-get; otherwise it prints the exact command and fails.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

# The reference MCP server the tests run, at the version tests/mcp's
# package-lock.json pins, into tests/mcp/node_modules (git-ignored). If it
# cannot be installed the suite still runs: the tests that need it fail
# under CI and are reported skipped elsewhere.
mcp_server() {
  local dir=$root/tests/mcp
  [ -f "$dir/node_modules/.package-lock.json" ] && [ ! "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ] \
    && return 0
  echo "installing the reference MCP server (npm ci in tests/mcp)" >&2
  if ! (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >&2); then
    echo "warning: npm ci failed in tests/mcp: the tests against @modelcontextprotocol/server-everything" \
      "will fail under CI (and be skipped elsewhere)" >&2
  fi
}

packages=(gcc make cmake pkg-config liblua5.4-dev libcurl4-openssl-dev lua-cjson-dev
          libyaml-dev libuv1-dev libedit-dev libpcre2-dev lua-argparse)
if [ "${1:-}" = "--test" ]; then
  packages+=(python3 procps lua-check clang-format json-schema-test-suite git clang libclang-rt-14-dev parallel)
  # Node for the reference MCP server (a node from elsewhere will do)
  command -v node >/dev/null && command -v npm >/dev/null || packages+=(nodejs npm)
fi

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  [ "${1:-}" = "--test" ] && mcp_server
  exit 0
fi

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
[ "${1:-}" = "--test" ] && mcp_server
exit 0
