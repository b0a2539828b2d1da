#!/usr/bin/env bash
# Builds the Pulumi CLI from the published Go module, at the pulumi SDK's
# version in go.mod, for the engine preview (proof/engine,
# docs/validation.md "The real engine"). Nothing of pulumi's is kept in this
# repository: a throwaway module under build/engine requires
# github.com/pulumi/pulumi/pkg/v3 with the replace lines of that version's
# pkg/go.mod and `go build`s its cmd/pulumi, as pulumi's own Makefile does
# (-ldflags -X .../sdk/v3/go/common/version.Version).
#
# The binary is cached by version in $TRADING_ENGINE_CACHE (default
# ~/.cache/trading-ha/engine): a second run prints its path at once. The
# first takes about 4 minutes and 2.3 GB of build cache on two cores.
#
# Prints the binary's path on the last line of stdout.
set -euo pipefail
cd "$(dirname "$0")/../.."

version=$(go list -m -f '{{.Version}}' github.com/pulumi/pulumi/sdk/v3)
cache=${TRADING_ENGINE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/trading-ha/engine}
bin="$cache/pulumi-$version/bin/pulumi"
if [ -x "$bin" ] && [ "$("$bin" version 2>/dev/null)" = "$version" ]; then
  echo "$bin"
  exit 0
fi

mod="$PWD/build/engine/cli-$version"
rm -rf "$mod"
mkdir -p "$mod"
# pkg/go.mod of the same version holds the replace lines the CLI needs;
# `replace github.com/pulumi/pulumi/sdk/v3 => ../sdk` points into pulumi's
# repository and is replaced here by requiring the published sdk of the
# same version.
pkgmod=$(GOFLAGS=-mod=mod go mod download -json "github.com/pulumi/pulumi/pkg/v3@$version" | sed -n 's/^\s*"GoMod": "\(.*\)",\?$/\1/p')
if [ -z "$pkgmod" ] || [ ! -f "$pkgmod" ]; then
  echo "build-cli: no go.mod for github.com/pulumi/pulumi/pkg/v3@$version" >&2
  exit 1
fi
{
  echo "module trading-ha.invalid/engine-cli"
  echo
  echo "go $(go env GOVERSION | sed 's/^go//')"
  echo
  echo "require ("
  echo "	github.com/pulumi/pulumi/pkg/v3 $version"
  echo "	github.com/pulumi/pulumi/sdk/v3 $version"
  echo ")"
  echo
  grep -E '^replace ' "$pkgmod" | grep -v 'github.com/pulumi/pulumi/sdk/v3 =>' || true
} >"$mod/go.mod"
echo "build-cli: building github.com/pulumi/pulumi/pkg/v3/cmd/pulumi@$version in $mod" >&2
start=$(date +%s)
(
  cd "$mod"
  export GOFLAGS=-mod=mod GOWORK=off
  go get "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi@$version" >&2
  mkdir -p "$(dirname "$bin")"
  go build -o "$bin.tmp" \
    -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$version" \
    github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
)
mv "$bin.tmp" "$bin"
echo "build-cli: built in $(($(date +%s) - start)) s" >&2
echo "$bin"
