// Package probes holds TestProbesAgainstTheRealService: the post-deploy
// smoke test (app/probes/smoke) and the CloudWatch Synthetics canary script
// (infra/monitoring/canary/apiCanary.js, run with node) against the real
// trading service on loopback dependencies (app/internal/testkit/stack:
// PostgreSQL, dynalite, a Cognito-shaped client-credentials issuer, fake SSM
// and EventBridge), each authenticating as its own app client, and checks
// that every order they placed was published as OrderPlaced on the bus.
//
// Where the smoke test lives: app/ is a Go module of its own
// (github.com/trading-ha/trading-ha/app) that must not require the root
// module, which requires it, and its image is built from app/ alone. This
// test needs both the smoke test and app/internal/testkit, which only
// packages under app/ may import, so the smoke test's package moved here
// from proof/smoke whole: not copied, and not split, since its contract
// steps and its AWS steps are one run. It stays proof, not product: the
// image's build context holds only the packages the binary is built from
// (app/Dockerfile.dockerignore, held to `go list -deps ./cmd/trading` by
// tests.TestImageContract), so an edit here neither rebuilds nor retags the
// image; operators run it with scripts/smoke, in the root module.
package probes
