#!/usr/bin/env bash
# Builds llmdo and runs the greeter example offline (a scripted model).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc)" >/dev/null
echo "\$ build/llmdo run examples/greeter \"Hello! I'm Ada.\""
build/llmdo run examples/greeter "Hello! I'm Ada."
