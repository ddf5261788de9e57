#!/bin/sh
# Runs once, when the postgresql volume is new (docker-entrypoint-initdb.d, as the superuser).
# Two roles, neither a superuser:
#   temporal   may create databases: temporal-sql-tool creates and owns Temporal's two
#   pillowtop  owns the database pillowtop (checkpoints and the processors' tables) and nothing else
set -eu
: "${TEMPORAL_DB_PASSWORD:?set TEMPORAL_DB_PASSWORD in .env}" "${PILLOWTOP_DB_PASSWORD:?set PILLOWTOP_DB_PASSWORD in .env}"
psql -v ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" --dbname postgres \
  --set temporal_password="$TEMPORAL_DB_PASSWORD" --set pillowtop_password="$PILLOWTOP_DB_PASSWORD" <<'SQL'
CREATE ROLE temporal LOGIN CREATEDB PASSWORD :'temporal_password';
CREATE ROLE pillowtop LOGIN PASSWORD :'pillowtop_password';
CREATE DATABASE pillowtop OWNER pillowtop;
REVOKE ALL ON DATABASE pillowtop FROM PUBLIC;
SQL
