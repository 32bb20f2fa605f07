#!/usr/bin/env bash
# Builds llmdo with -Werror and runs the whole test suite, then builds it
# again with AddressSanitizer + UndefinedBehaviorSanitizer and runs the
# suite once more, then fuzzes each libFuzzer target briefly (when clang can
# link libFuzzer; scripts/fuzz.sh runs them longer). Exits non-zero if
# anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh --test
jobs=$(nproc)

echo "== build (-Wall -Wextra -Werror)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLLMDO_WERROR=ON >/dev/null
cmake --build build -j "$jobs" >/dev/null
echo "== tests"
(cd build && ctest -j "$jobs" --output-on-failure)

echo "== build (AddressSanitizer + UndefinedBehaviorSanitizer)"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DLLMDO_WERROR=ON -DLLMDO_SANITIZE=ON >/dev/null
cmake --build build-asan -j "$jobs" >/dev/null
echo "== tests under sanitizers"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest -j "$jobs" --output-on-failure)

echo "== fuzz smoke (scripts/fuzz.sh, 10 s per target)"
if scripts/fuzz.sh --available; then
  scripts/fuzz.sh 10
else
  echo "skipped: clang cannot link libFuzzer here (scripts/deps.sh --test installs clang and libclang-rt-14-dev)"
fi
