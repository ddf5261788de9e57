#!/usr/bin/env bash
# Installs what pillowtop needs on a fresh clone: npm packages (when missing or stale) and the
# Temporal CLI (found on the machine, or built once from source into ~/.cache/pillowtop).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "pillowtop: installing npm packages…" >&2
  npm ci --no-audit --no-fund --loglevel=error
fi
node --import tsx -e 'process.stdout.write(require("./src/dev/temporal-cli").ensureTemporalCli() + "\n")' >/dev/null
