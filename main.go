// Command trading-ha is the Pulumi program; all of it lives in infra.Deploy.
package main

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/trading-ha/trading-ha/infra"
)

func main() {
	pulumi.Run(infra.Deploy)
}
