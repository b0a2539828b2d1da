#!/usr/bin/env bash
# The project's test command (README): formatting, vet, the Go suite (mock
# engine, unit and integration tests) and the validators on what we generate.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go'))
if [ -n "$unformatted" ]; then echo "gofmt would change: $unformatted"; exit 1; fi

echo "== go vet"
go vet ./...

echo "== actionlint"
# Pinned explicitly (the Go proxy serves it); non-zero exit on any finding.
go run github.com/rhysd/actionlint/cmd/actionlint@v1.7.12 -no-color .github/workflows/*.yml

echo "== go test"
go test -timeout 30m ./...
