// Package appsuite runs the service module's tests from the root module.
//
// app/ is a Go module of its own (github.com/trading-ha/trading-ha/app,
// required by the root module through a replace to ./app), and no package
// pattern crosses into a nested module: `go test ./...` in the repository
// root lists the root module's packages only, and so does it with a go.work
// that uses both modules (tried: the same packages with and without one,
// none under app/; a go.work would only make `./app/...` resolvable from the
// root, while refusing the -mod=mod that .ci/run sets). There is therefore no
// go.work: TestAppModule runs `go test ./...` in app/, so the root's
// `go test ./...` still runs every test of the service, built from the
// service module's own go.mod and go.sum, as its image is.
package appsuite
