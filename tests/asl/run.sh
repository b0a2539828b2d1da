#!/usr/bin/env bash
# Exports the runbook definitions from Go, then validates and executes them
# locally with the pinned node tooling. CI entry point for tests/asl.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="${ASL_DIR:-$root/build/asl}"
(cd "$root" && go run ./tests/asl/export -out "$out")
cd "$here"
export ASL_DIR="$out"
npm ci --no-audit --no-fund
npm test
