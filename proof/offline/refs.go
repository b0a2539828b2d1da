package offline

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/blang/semver"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// The awsx VPC returns its children (route tables) as resource references.
// The program reads a reference back with the engine's getResource, which
// Pulumi's mock monitor answers only for resources the program itself
// registered, never for a remote component's children. So the mocks tag
// the references with refVersion, a package version no real pulumi-aws
// has: the SDK builds a referenced resource with the resource module
// registered for the type and the reference's version (sdk/go/pulumi
// rpc.go, unmarshalResourceReference and versionedMap.Load: same major
// version, exact match first), which is routeTableModule below. It reads
// the table by ID (a ReadResource the recorder leaves out of the
// recording), standing in for the engine's getResource.
const refVersion = "0.0.1-offline"

var refSemver = semver.MustParse(refVersion)

type routeTableModule struct{}

func (routeTableModule) Version() semver.Version { return refSemver }

func (routeTableModule) Construct(ctx *pulumi.Context, name, typ, urn string) (pulumi.Resource, error) {
	if typ != routeTableType {
		return nil, fmt.Errorf("offline: no stand-in for a reference to %s", typ)
	}
	return ec2.GetRouteTable(ctx, name, pulumi.ID(routeTableID(urn)), nil)
}

func init() {
	pulumi.RegisterResourceModule("aws", "ec2/routeTable", routeTableModule{})
}

const routeTableType = "aws:ec2/routeTable:RouteTable"

// routeTableID is a route table ID as EC2 shapes it, rtb- and 17 hex
// digits (EC2 API Reference, RouteTable routeTableId: "rtb-..."; the same
// 17-digit resource IDs as sg- and vpce-), derived from the table's URN.
func routeTableID(urn string) string {
	sum := sha256.Sum256([]byte(urn))
	return "rtb-" + hex.EncodeToString(sum[:9])[:17]
}

// vpcRouteTables are the awsx VPC's routeTables output: awsx creates one
// route table per subnet, named after the subnet and parented to it
// (pulumi-awsx awsx/ec2/vpc.ts: `new aws.ec2.RouteTable(spec.subnetName,
// ..., { parent: subnet })` for every subnet spec in every AZ; subnet
// names are <vpc>-<spec>-<n>).
func vpcRouteTables(vpcURN resource.URN) []resource.PropertyValue {
	subnetParent := vpcURN.QualifiedType() + "$" + tokens.Type("aws:ec2/subnet:Subnet")
	var out []resource.PropertyValue
	for _, tier := range []string{"public", "private", "isolated"} {
		for i := range azs {
			name := fmt.Sprintf("%s-%s-%d", vpcURN.Name(), tier, i+1)
			urn := resource.NewURN(vpcURN.Stack(), vpcURN.Project(), subnetParent, tokens.Type(routeTableType), name)
			out = append(out, resource.MakeCustomResourceReference(urn, resource.ID(routeTableID(string(urn))), refVersion))
		}
	}
	return out
}
