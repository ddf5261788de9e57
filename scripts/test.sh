#!/usr/bin/env bash
# The test command: installs, typechecks, lints (ESLint), then runs every test against real servers
# (Temporal dev server, pouchdb-server, PostgreSQL) started by test/run-tests.ts.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
bash scripts/install-chromium.sh
echo "pillowtop: typechecking…" >&2
npx tsc --noEmit
echo "pillowtop: linting…" >&2
npx eslint .
exec node --import tsx test/run-tests.ts "$@"
