#!/usr/bin/env bash
# The embedded default: the whole stack on one machine (see `pillowtop dev --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec node --import tsx src/cli/main.ts dev "$@"
