#!/usr/bin/env bash
# test.sh - the whole test suite, as CI runs it (.ci/run calls this):
#   1. gcc, -Wall -Wextra -Werror, optimised build: every test
#   2. clang, -Werror, AddressSanitizer + UndefinedBehaviorSanitizer (leak
#      checking on): every test again
#   3. libFuzzer targets (fuzz/), each run briefly
# Fixtures: $DEEPC_FIXTURES, default ../shared/fixtures. Build dirs: build*/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export DEEPC_FIXTURES="${DEEPC_FIXTURES:-$(realpath ../shared/fixtures)}"
jobs=$(nproc)
fuzz_seconds="${DEEPC_FUZZ_SECONDS:-20}"

echo "== gcc -Werror build + tests"
CC=gcc cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DDEEPC_WERROR=ON >/dev/null
cmake --build build -j "$jobs"
ctest --test-dir build --output-on-failure -j "$jobs"

echo "== clang -Werror, ASan+UBSan build + tests"
CC=clang cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDEEPC_WERROR=ON -DDEEPC_SANITIZE=ON >/dev/null
cmake --build build-asan -j "$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure -j "$jobs"

echo "== fuzz targets (${fuzz_seconds}s each)"
CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDEEPC_FUZZ=ON >/dev/null
cmake --build build-fuzz -j "$jobs"
bash fuzz/run.sh build-fuzz "$fuzz_seconds"
echo "== all tests passed"
