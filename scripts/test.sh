#!/usr/bin/env bash
# The test command: installs, typechecks, then runs every test against real servers
# (Temporal dev server, pouchdb-server, PostgreSQL) started by test/run-tests.ts.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
bash scripts/install-chromium.sh
echo "pillowtop: typechecking…" >&2
npx tsc --noEmit
exec node --import tsx test/run-tests.ts "$@"
