#!/usr/bin/env bash
# test_web.sh DEEPC - the built-in web chat page (GET /) in headless Chromium:
# tests/web/webui.test.mjs (node --test, playwright-core driving Debian's
# /usr/bin/chromium) against the real `deepc serve` on a fixture model.
# Installs tests/web/node_modules from package-lock.json when it is missing.
# Screenshots: $DEEPC_SCREENSHOT_DIR (default build/) webui.png, webui-phone.png.
set -uo pipefail
deepc="${1:-build/deepc}"
case "$deepc" in /*) ;; *) deepc="$PWD/$deepc" ;; esac
cd "$(dirname "$0")/.." || exit 1

for tool in node npm; do
  command -v "$tool" >/dev/null || { echo "FAIL: test_web: '$tool' not found (scripts/setup.sh installs it)"; exit 1; }
done
[ -x "${DEEPC_CHROMIUM:-/usr/bin/chromium}" ] || { echo "FAIL: test_web: no Chromium at ${DEEPC_CHROMIUM:-/usr/bin/chromium} (scripts/setup.sh installs it)"; exit 1; }
if [ ! -d tests/web/node_modules/playwright-core ]; then
  echo "test_web: npm ci in tests/web"
  (cd tests/web && timeout 300 npm ci --no-audit --no-fund) || { echo "FAIL: test_web: npm ci in tests/web failed"; exit 1; }
fi

DEEPC_BIN="$deepc" timeout -k 10 150 node --test tests/web/*.test.mjs
rc=$?
if [ $rc -ne 0 ]; then
  [ $rc -eq 124 ] && echo "FAIL: test_web: timed out after 150 s"
  echo "FAIL: test_web (node --test exited $rc)"
  exit 1
fi
echo "test_web: ok"
