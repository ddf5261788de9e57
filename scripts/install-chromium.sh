#!/usr/bin/env bash
# Test-only: the Web UI browser test drives Debian's chromium with playwright-core (no browser download).
set -euo pipefail
if [ ! -x /usr/bin/chromium ]; then
  SUDO=""
  if [ "$(id -u)" != "0" ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi
  if command -v apt-get >/dev/null 2>&1; then
    echo "pillowtop: /usr/bin/chromium is missing; installing Debian's chromium for the Web UI browser test: ${SUDO:+sudo }apt-get update && apt-get install -y --no-install-recommends chromium" >&2
    # a failure here is reported, not fatal: the browser test then fails with its own clear message
    { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium; } >&2 ||
      echo "pillowtop: could not install chromium; test/web-ui.test.ts will fail until /usr/bin/chromium exists" >&2
  else
    echo "pillowtop: /usr/bin/chromium is missing and apt-get is not available; test/web-ui.test.ts needs it" >&2
  fi
fi
