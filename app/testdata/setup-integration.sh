#!/usr/bin/env bash
# Installs what the trading service's integration tests and failover drill
# need, idempotently: PostgreSQL server binaries (Debian package), the
# pgaudit extension for each installed server version (the throwaway
# servers preload it, as the Aurora cluster parameter group does, and the
# migrate step creates it) and dynalite (npm, pinned by
# app/testdata/node/package-lock.json).
#
#   bash app/testdata/setup-integration.sh
#   (cd app && TRADING_REQUIRE_INTEGRATION=1 go test ./...)
#   TRADING_REQUIRE_INTEGRATION=1 go test ./scripts/drill/...
#
# Runs as root (CI) or with sudo available. Safe to run repeatedly.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

have_pg() {
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/pg_ctl" ] && [ -x "$d/initdb" ] && return 0
  done
  return 1
}

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

if have_pg; then
  echo "setup-integration: PostgreSQL server already installed"
else
  echo "setup-integration: installing PostgreSQL server (apt)"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends postgresql >/dev/null
  # The Debian package starts a cluster service; the tests run their own.
  if command -v pg_ctlcluster >/dev/null 2>&1; then
    for c in $(ls /etc/postgresql 2>/dev/null); do $SUDO pg_ctlcluster "$c" main stop 2>/dev/null || true; done
  fi
fi
# pgaudit: one Debian package per server major version (postgresql-<v>-pgaudit).
missing_audit=""
for d in /usr/lib/postgresql/*/bin; do
  [ -x "$d/pg_ctl" ] || continue
  v="$(basename "$(dirname "$d")")"
  [ -f "$(dirname "$d")/lib/pgaudit.so" ] || missing_audit="$missing_audit postgresql-$v-pgaudit"
done
if [ -z "$missing_audit" ]; then
  echo "setup-integration: pgaudit already installed"
else
  echo "setup-integration: installing$missing_audit (apt)"
  $SUDO apt-get update -qq
  # shellcheck disable=SC2086 # one word per package
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing_audit >/dev/null
fi
for d in /usr/lib/postgresql/*/bin; do
  [ -x "$d/pg_ctl" ] || continue
  [ -f "$(dirname "$d")/lib/pgaudit.so" ] || { echo "setup-integration: pgaudit missing for $d after install" >&2; exit 1; }
done
if [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
  echo "setup-integration: root needs a 'postgres' OS user to run the server as" >&2
  exit 1
fi
command -v runuser >/dev/null 2>&1 || { echo "setup-integration: runuser (util-linux) missing" >&2; exit 1; }

command -v node >/dev/null 2>&1 || { echo "setup-integration: node (>= 18) is required for dynalite" >&2; exit 1; }
if [ -f "$here/node/node_modules/dynalite/cli.js" ]; then
  echo "setup-integration: dynalite already installed"
else
  echo "setup-integration: installing dynalite (npm ci)"
  (cd "$here/node" && npm ci --no-audit --no-fund --loglevel=error)
fi
echo "setup-integration: ready ($(ls -d /usr/lib/postgresql/*/bin | tail -1) with pgaudit, dynalite $(node -p "require('$here/node/node_modules/dynalite/package.json').version"))"
