#!/bin/sh
# Starts one Temporal server node with deploy/temporal/pillowtop.yaml (the directory of this script).
# TEMPORAL_SERVICES: which services this node runs, comma-separated (default: all four);
# TEMPORAL_BROADCAST_ADDRESS defaults to this host's address, as the temporalio/server image finds it.
set -eu
dir=$(cd "$(dirname "$0")" && pwd)
if [ -z "${TEMPORAL_BROADCAST_ADDRESS:-}" ]; then
  TEMPORAL_BROADCAST_ADDRESS=$(getent hosts "$(hostname)" | awk '{print $1; exit}')
  export TEMPORAL_BROADCAST_ADDRESS
fi
set --
for service in $(echo "${TEMPORAL_SERVICES:-frontend,history,matching,worker}" | tr ',' ' '); do
  set -- "$@" "--service=$service"
done
exec "${TEMPORAL_SERVER:-temporal-server}" --root / --config "$dir" --env pillowtop --allow-no-auth start "$@"
