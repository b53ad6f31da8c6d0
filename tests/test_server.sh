#!/usr/bin/env bash
# test_server.sh DEEPC - acceptance tests of `deepc serve` (docs/server-api.md):
# node's test runner drives a real server through the official `openai` npm
# client and raw HTTP (tests/server/*.test.mjs). Installs the pinned client
# (package-lock.json) when tests/server/node_modules is missing.
set -uo pipefail
deepc="$1"
case "$deepc" in /*) ;; *) deepc="$PWD/$deepc" ;; esac
export DEEPC_FIXTURES="${DEEPC_FIXTURES:-../shared/fixtures}"
case "$DEEPC_FIXTURES" in /*) ;; *) DEEPC_FIXTURES="$PWD/$DEEPC_FIXTURES" ;; esac
dir="$(cd "$(dirname "$0")/server" && pwd)"

command -v node >/dev/null || { echo "FAIL: node is not installed"; exit 1; }
if [ ! -d "$dir/node_modules/openai" ]; then
  (cd "$dir" && npm ci --no-audit --no-fund) || { echo "FAIL: npm ci in tests/server failed"; exit 1; }
fi
# every server the harness starts inherits this marker; whatever outlives the
# run (a test process killed hard) is found by it and stopped below
export DEEPC_TEST_RUN_ID="server-tests-$$-$RANDOM"
sweep() {
  for env in /proc/[0-9]*/environ; do
    pid="${env#/proc/}"; pid="${pid%/environ}"
    [ "$pid" = "$$" ] && continue
    if { tr '\0' '\n' <"$env"; } 2>/dev/null | grep -qx "DEEPC_TEST_RUN_ID=$DEEPC_TEST_RUN_ID"; then
      [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$(readlink -f "$deepc")" ] && kill -9 "$pid" 2>/dev/null
    fi
  done
}
trap sweep EXIT
DEEPC_BIN="$deepc" timeout -k 10 600 node --test --test-concurrency=1 --test-timeout=120000 "$dir/"
rc=$?
[ $rc -eq 0 ] && echo "server: all tests passed" || echo "server: tests failed (node --test exit $rc)"
exit $rc
