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
# aws-local-stepfunctions 3.x declares node >= 22 only for Promise.withResolvers,
# which lib/polyfill.mjs provides on Node 20 (the version we run and document);
# --loglevel=error keeps that known engine notice out of the log.
npm ci --no-audit --no-fund --loglevel=error
npm test
