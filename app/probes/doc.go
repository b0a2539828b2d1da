// Package probes holds TestProbesAgainstTheRealService: the post-deploy
// smoke test (proof/smoke) and the CloudWatch Synthetics canary script
// (infra/monitoring/canary/apiCanary.js, run with node) against the real
// trading service on loopback dependencies (app/internal/testkit/stack:
// PostgreSQL, dynalite, a Cognito-shaped client-credentials issuer, fake SSM
// and EventBridge), each authenticating as its own app client, and checks
// that every order they placed was published as OrderPlaced on the bus.
package probes
