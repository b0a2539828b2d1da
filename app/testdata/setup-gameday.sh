#!/usr/bin/env bash
# Installs what the local game day (go run ./scripts/gameday) needs on
# Debian 12, idempotently and quietly: iproute2, HAProxy 2.6, pg_auto_failover
# (monitor extension for PostgreSQL 15 and pg_autoctl), plus everything
# setup-integration.sh installs (PostgreSQL, dynalite). Root or sudo.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bash "$here/setup-integration.sh"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
need=""
command -v ip >/dev/null 2>&1 || need="$need iproute2"
command -v haproxy >/dev/null 2>&1 || need="$need haproxy"
command -v pg_autoctl >/dev/null 2>&1 || need="$need pg-auto-failover-cli"
[ -f /usr/share/postgresql/15/extension/pgautofailover.control ] || need="$need postgresql-15-auto-failover"
if [ -n "$need" ]; then
  echo "setup-gameday: installing$need (apt)"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $need >/dev/null
else
  echo "setup-gameday: iproute2, haproxy, pg_auto_failover already installed"
fi
# The game day runs the recovery runbook's recorded definition with the local
# Step Functions harness of tests/asl (aws-local-stepfunctions, jsonata).
(cd "$here/../../tests/asl" && npm ci --no-audit --no-fund --loglevel=error)
