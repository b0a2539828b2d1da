// Command network-database deploys three of trading-ha's components in a
// stack of its own: the KMS keys (security), the awsx VPC (network) and the
// Aurora PostgreSQL cluster (database), wired as infra.Deploy wires them,
// with explicit providers and nothing else of the platform.
package main

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// platformDir is the platform's project directory, relative to this
// example's: its Pulumi.yaml declares the default of every config key the
// components' config.Config is parsed from (platform.go).
const platformDir = "../.."

func main() {
	pulumi.Run(Program(platformDir))
}
