#!/bin/sh
# One-shot setup of Temporal on PostgreSQL, run by docker-compose.yml (temporalio/admin-tools) and by
# test/temporal-postgres.test.ts alike:
#   setup-temporal.sh schema     create Temporal's two databases (if missing) and bring their schemas
#                                to the server's version with temporal-sql-tool; before the server starts
#   setup-temporal.sh namespace  wait for the cluster, then register TEMPORAL_NAMESPACE (if missing)
# The search attributes are `pillowtop setup`'s job (the pillowtop-setup service in docker-compose.yml).
# Environment: TEMPORAL_DB_HOST, TEMPORAL_DB_PORT (5432), TEMPORAL_DB_USER, TEMPORAL_DB_PASSWORD,
# TEMPORAL_DB_NAME (temporal), TEMPORAL_VISIBILITY_DB_NAME (temporal_visibility); TEMPORAL_ADDRESS,
# TEMPORAL_NAMESPACE (default), TEMPORAL_RETENTION (72h).
set -eu

schema() {
  : "${TEMPORAL_DB_HOST:?set TEMPORAL_DB_HOST}" "${TEMPORAL_DB_USER:?set TEMPORAL_DB_USER}"
  : "${TEMPORAL_DB_PASSWORD:?set TEMPORAL_DB_PASSWORD}"
  for pair in "${TEMPORAL_DB_NAME:-temporal}:temporal" "${TEMPORAL_VISIBILITY_DB_NAME:-temporal_visibility}:visibility"; do
    db=${pair%%:*}
    kind=${pair##*:}
    set -- --plugin postgres12 --ep "$TEMPORAL_DB_HOST" -p "${TEMPORAL_DB_PORT:-5432}" \
      -u "$TEMPORAL_DB_USER" --pw "$TEMPORAL_DB_PASSWORD" --db "$db"
    # --quiet: an existing database is not an error; a wrong password fails the next step loudly
    temporal-sql-tool "$@" --quiet create-database
    temporal-sql-tool "$@" setup-schema -v 0.0
    # the schemas are embedded in temporal-sql-tool, so it always brings its own server version's
    temporal-sql-tool "$@" update-schema --schema-name "postgresql/v12/$kind"
  done
}

namespace() {
  ns=${TEMPORAL_NAMESPACE:-default}
  tries=0
  until temporal operator cluster health >/dev/null 2>&1; do
    tries=$((tries + 1))
    if [ "$tries" -ge 90 ]; then
      echo "setup-temporal: Temporal at ${TEMPORAL_ADDRESS:-localhost:7233} is not healthy after 180 s" >&2
      exit 1
    fi
    sleep 2
  done
  if temporal operator namespace describe --namespace "$ns" >/dev/null 2>&1; then
    echo "setup-temporal: namespace $ns exists"
  else
    temporal operator namespace create --namespace "$ns" --retention "${TEMPORAL_RETENTION:-72h}"
    echo "setup-temporal: registered namespace $ns"
  fi
}

case "${1:-}" in
  schema) schema ;;
  namespace) namespace ;;
  *)
    echo "usage: setup-temporal.sh schema|namespace" >&2
    exit 2
    ;;
esac
