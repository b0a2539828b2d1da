package main

import (
	"crypto/sha1" //nolint:gosec // awsx names images by a SHA-1 of the build signature
	"encoding/hex"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/provider"
)

// Versions of the packages awsx v2.22.0 registers its children with
// (pulumi-awsx awsx/package.json: @pulumi/aws 6.66.3, @pulumi/docker-build
// 0.0.8). They only matter for a child that falls back to a default
// provider; the program hands awsx explicit ones.
const (
	awsxAWSVersion         = "6.66.3"
	awsxDockerBuildVersion = "0.0.8"
)

// component is an awsx component as registered from the provider.
type component struct {
	pulumi.ResourceState
}

// custom is a child custom resource; the Go SDK fills the tagged outputs
// the component reads.
type custom struct {
	pulumi.CustomResourceState
	AllocationID pulumi.StringOutput `pulumi:"allocationId"`
	Ref          pulumi.StringOutput `pulumi:"ref"`
}

// construct dispatches on the component type; raw are the inputs as sent,
// for the values awsx needs known when it builds (zones, CIDR, specs).
func construct(raw resource.PropertyMap) provider.ConstructFunc {
	return func(ctx *pulumi.Context, typ, name string, inputs provider.ConstructInputs, options pulumi.ResourceOption) (*provider.ConstructResult, error) {
		switch typ {
		case "awsx:ec2:Vpc":
			return constructVpc(ctx, name, raw, options)
		case "awsx:ecr:Image":
			return constructImage(ctx, name, raw, inputs, options)
		}
		return nil, fmt.Errorf("stand-in awsx does not model component %s (add it to proof/engine/standin/awsx.go)", typ)
	}
}

// known unwraps secrets and known output values; ok is false for an
// unknown value.
func known(v resource.PropertyValue) (resource.PropertyValue, bool) {
	for {
		switch {
		case v.IsComputed():
			return v, false
		case v.IsOutput():
			if !v.OutputValue().Known {
				return v, false
			}
			v = v.OutputValue().Element
		case v.IsSecret():
			v = v.SecretValue().Element
		default:
			return v, true
		}
	}
}

// plainString is a known string input, "" when absent.
func plainString(m resource.PropertyMap, k string) (string, error) {
	v, ok := m[resource.PropertyKey(k)]
	if !ok || v.IsNull() {
		return "", nil
	}
	v, ok = known(v)
	if !ok || !v.IsString() {
		return "", fmt.Errorf("%s must be a known string", k)
	}
	return v.StringValue(), nil
}

func plainNumber(m resource.PropertyMap, k string) (int, error) {
	v, ok := m[resource.PropertyKey(k)]
	if !ok || v.IsNull() {
		return 0, nil
	}
	v, ok = known(v)
	if !ok || !v.IsNumber() {
		return 0, fmt.Errorf("%s must be a known number", k)
	}
	return int(v.NumberValue()), nil
}

func plainStrings(m resource.PropertyMap, k string) ([]string, error) {
	v, ok := m[resource.PropertyKey(k)]
	if !ok || v.IsNull() {
		return nil, nil
	}
	v, ok = known(v)
	if !ok || !v.IsArray() {
		return nil, fmt.Errorf("%s must be a known list", k)
	}
	var out []string
	for _, e := range v.ArrayValue() {
		e, ok := known(e)
		if !ok || !e.IsString() {
			return nil, fmt.Errorf("%s must hold known strings", k)
		}
		out = append(out, e.StringValue())
	}
	return out, nil
}

func plainMap(m resource.PropertyMap, k string) (resource.PropertyMap, error) {
	v, ok := m[resource.PropertyKey(k)]
	if !ok || v.IsNull() {
		return nil, nil
	}
	v, ok = known(v)
	if !ok || !v.IsObject() {
		return nil, fmt.Errorf("%s must be a known object", k)
	}
	return v.ObjectValue(), nil
}

func plainTags(m resource.PropertyMap, k string) (map[string]string, error) {
	obj, err := plainMap(m, k)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for key := range obj {
		s, err := plainString(obj, string(key))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		out[string(key)] = s
	}
	return out, nil
}

// tags merges tag maps left to right into a StringMap.
func tags(maps ...map[string]string) pulumi.StringMap {
	out := pulumi.StringMap{}
	for _, m := range maps {
		for k, v := range m {
			out[k] = pulumi.String(v)
		}
	}
	return out
}

// vpcPassThrough are the awsx VpcArgs that are aws.ec2.Vpc inputs: awsx
// spreads its args into the aws Vpc, whose SDK keeps only its own inputs.
var vpcPassThrough = []string{
	"assignGeneratedIpv6CidrBlock", "enableDnsHostnames", "enableDnsSupport", "enableNetworkAddressUsageMetrics",
	"instanceTenancy", "ipv6CidrBlock", "ipv6CidrBlockNetworkBorderGroup", "ipv6IpamPoolId", "ipv6NetmaskLength",
}

// constructVpc registers what awsx v2.22.0's ec2.Vpc registers
// (pulumi-awsx awsx/ec2/vpc.ts): the aws Vpc under the component; under
// the Vpc an internet gateway and one subnet per zone and spec; under each
// subnet its route table (with its association, and a default route for
// public and NATed private subnets under the table) and, for public
// subnets as the NAT strategy says, an Elastic IP and a NAT gateway named
// <vpc>-<zone number>. Only the layouts this program uses are modelled;
// anything else fails, naming the input.
func constructVpc(ctx *pulumi.Context, name string, raw resource.PropertyMap, options pulumi.ResourceOption) (*provider.ConstructResult, error) {
	fail := func(err error) (*provider.ConstructResult, error) {
		return nil, fmt.Errorf("stand-in awsx:ec2:Vpc %s: %w", name, err)
	}
	for _, k := range []string{"vpcEndpointSpecs", "ipv4IpamPoolId", "ipv4NetmaskLength"} {
		if v, ok := raw[resource.PropertyKey(k)]; ok && !v.IsNull() {
			return fail(fmt.Errorf("%s is not modelled", k))
		}
	}
	cidr, err := plainString(raw, "cidrBlock")
	if err != nil {
		return fail(err)
	}
	if cidr == "" {
		cidr = "10.0.0.0/16" // awsx's historical default (vpc.ts decideCidrBlockVpcInput)
	}
	strategy, err := plainString(raw, "subnetStrategy")
	if err != nil {
		return fail(err)
	}
	if strategy != "Auto" {
		return fail(fmt.Errorf("subnetStrategy %q is not modelled (only Auto)", strategy))
	}
	azMask, err := plainNumber(raw, "availabilityZoneCidrMask")
	if err != nil {
		return fail(err)
	}
	userTags, err := plainTags(raw, "tags")
	if err != nil {
		return fail(err)
	}
	nat := "OnePerAz"
	if ng, err := plainMap(raw, "natGateways"); err != nil {
		return fail(err)
	} else if ng != nil {
		if s, err := plainString(ng, "strategy"); err != nil {
			return fail(err)
		} else if s != "" {
			nat = s
		}
		if v, ok := ng["elasticIpAllocationIds"]; ok && !v.IsNull() {
			return fail(fmt.Errorf("natGateways.elasticIpAllocationIds is not modelled"))
		}
	}
	var specs []subnetSpec
	if v, ok := raw["subnetSpecs"]; ok && !v.IsNull() {
		v, ok := known(v)
		if !ok || !v.IsArray() {
			return fail(fmt.Errorf("subnetSpecs must be a known list"))
		}
		for _, e := range v.ArrayValue() {
			e, ok := known(e)
			if !ok || !e.IsObject() {
				return fail(fmt.Errorf("subnetSpecs must hold known objects"))
			}
			o := e.ObjectValue()
			for _, k := range []string{"cidrBlocks", "size"} {
				if v, ok := o[resource.PropertyKey(k)]; ok && !v.IsNull() {
					return fail(fmt.Errorf("subnetSpecs.%s is not modelled", k))
				}
			}
			var s subnetSpec
			if s.Type, err = plainString(o, "type"); err != nil {
				return fail(err)
			}
			if s.Name, err = plainString(o, "name"); err != nil {
				return fail(err)
			}
			if s.CIDRMask, err = plainNumber(o, "cidrMask"); err != nil {
				return fail(err)
			}
			if s.Tags, err = plainTags(o, "tags"); err != nil {
				return fail(err)
			}
			specs = append(specs, s)
		}
	} else {
		return fail(fmt.Errorf("subnetSpecs is required by the stand-in (awsx's default layout is not modelled)"))
	}

	comp := &component{}
	if err := ctx.RegisterComponentResource("awsx:ec2:Vpc", name, comp, options); err != nil {
		return fail(fmt.Errorf("register component: %w", err))
	}
	azs, err := plainStrings(raw, "availabilityZoneNames")
	if err != nil {
		return fail(err)
	}
	if len(azs) == 0 {
		// awsx asks the provider for the region's zones and takes the
		// first numberOfAvailabilityZones (default 3): vpc.ts getDefaultAzs.
		n, err := plainNumber(raw, "numberOfAvailabilityZones")
		if err != nil {
			return fail(err)
		}
		if n == 0 {
			n = 3
		}
		var res struct {
			Names []string `pulumi:"names"`
		}
		if err := ctx.Invoke("aws:index/getAvailabilityZones:getAvailabilityZones", map[string]any{}, &res, pulumi.Parent(comp)); err != nil {
			return fail(fmt.Errorf("getAvailabilityZones: %w", err))
		}
		if len(res.Names) < n {
			return fail(fmt.Errorf("the region has %d zones, want %d", len(res.Names), n))
		}
		azs = res.Names[:n]
	}
	if err := checkNAT(nat, specs); err != nil {
		return fail(err)
	}
	plan, err := planSubnets(name, cidr, azs, specs, azMask)
	if err != nil {
		return fail(err)
	}

	aws := pulumi.Version(awsxAWSVersion)
	shared := map[string]string{"Name": name}
	for k, v := range userTags {
		shared[k] = v
	}
	vpcProps := pulumi.Map{"cidrBlock": pulumi.String(cidr), "tags": tags(shared)}
	for _, k := range vpcPassThrough {
		if v, ok := raw[resource.PropertyKey(k)]; ok && !v.IsNull() {
			pv, ok := known(v)
			if !ok {
				return fail(fmt.Errorf("%s must be known", k))
			}
			vpcProps[k] = pulumi.Any(pv.Mappable())
		}
	}
	vpc := &custom{}
	if err := ctx.RegisterResource("aws:ec2/vpc:Vpc", name, vpcProps, vpc, pulumi.Parent(comp), aws); err != nil {
		return fail(err)
	}
	underVpc := []pulumi.ResourceOption{pulumi.Parent(vpc), pulumi.DependsOn([]pulumi.Resource{vpc}), aws}
	igw := &custom{}
	if err := ctx.RegisterResource("aws:ec2/internetGateway:InternetGateway", name, pulumi.Map{
		"vpcId": vpc.ID(), "tags": tags(shared),
	}, igw, underVpc...); err != nil {
		return fail(err)
	}

	var subnets, tables, assocs, routes, gateways, eips []*custom
	var public, private, isolated []*custom
	for _, s := range plan {
		subnet := &custom{}
		if err := ctx.RegisterResource("aws:ec2/subnet:Subnet", s.Name, pulumi.Map{
			"vpcId": vpc.ID(), "availabilityZone": pulumi.String(s.AZ),
			"mapPublicIpOnLaunch": pulumi.Bool(strings.EqualFold(s.Type, "public")), "cidrBlock": pulumi.String(s.CIDR),
			"tags": tags(shared, s.Tags, map[string]string{"Name": s.Name, "SubnetType": s.Type}),
		}, subnet, underVpc...); err != nil {
			return fail(err)
		}
		subnets = append(subnets, subnet)
		switch strings.ToLower(s.Type) {
		case "public":
			public = append(public, subnet)
		case "private":
			private = append(private, subnet)
		default:
			isolated = append(isolated, subnet)
		}
		underSubnet := []pulumi.ResourceOption{pulumi.Parent(subnet), pulumi.DependsOn([]pulumi.Resource{subnet}), aws}
		table := &custom{}
		if err := ctx.RegisterResource("aws:ec2/routeTable:RouteTable", s.Name, pulumi.Map{
			"vpcId": vpc.ID(), "tags": tags(shared, map[string]string{"Name": s.Name, "SubnetType": s.Type}),
		}, table, underSubnet...); err != nil {
			return fail(err)
		}
		tables = append(tables, table)
		underTable := []pulumi.ResourceOption{pulumi.Parent(table), pulumi.DependsOn([]pulumi.Resource{table}), aws}
		assoc := &custom{}
		if err := ctx.RegisterResource("aws:ec2/routeTableAssociation:RouteTableAssociation", s.Name, pulumi.Map{
			"routeTableId": table.ID(), "subnetId": subnet.ID(),
		}, assoc, underTable...); err != nil {
			return fail(err)
		}
		assocs = append(assocs, assoc)

		if strings.EqualFold(s.Type, "public") && natHere(nat, len(gateways), s.AZIndex) {
			gwName := fmt.Sprintf("%s-%d", name, s.AZIndex+1)
			eip := &custom{}
			if err := ctx.RegisterResource("aws:ec2/eip:Eip", gwName, pulumi.Map{
				"tags": tags(userTags, map[string]string{"Name": gwName}),
			}, eip, underSubnet...); err != nil {
				return fail(err)
			}
			eips = append(eips, eip)
			gw := &custom{}
			if err := ctx.RegisterResource("aws:ec2/natGateway:NatGateway", gwName, pulumi.Map{
				"subnetId": subnet.ID(), "allocationId": eip.AllocationID,
				"tags": tags(userTags, map[string]string{"Name": gwName}),
			}, gw, underSubnet...); err != nil {
				return fail(err)
			}
			gateways = append(gateways, gw)
		}
		var route pulumi.Map
		switch {
		case strings.EqualFold(s.Type, "public"):
			route = pulumi.Map{"gatewayId": igw.ID()}
		case strings.EqualFold(s.Type, "private") && !strings.EqualFold(nat, "None"):
			gw := gateways[0]
			if strings.EqualFold(nat, "OnePerAz") {
				gw = gateways[s.AZIndex]
			}
			route = pulumi.Map{"natGatewayId": gw.ID()}
		}
		if route != nil {
			route["routeTableId"] = table.ID()
			route["destinationCidrBlock"] = pulumi.String("0.0.0.0/0")
			r := &custom{}
			if err := ctx.RegisterResource("aws:ec2/route:Route", s.Name, route, r, underTable...); err != nil {
				return fail(err)
			}
			routes = append(routes, r)
		}
	}

	layout := pulumi.Array{}
	for _, s := range specs {
		entry := pulumi.Map{"type": pulumi.String(s.Type)}
		if s.Name != "" {
			entry["name"] = pulumi.String(s.Name)
		}
		if s.CIDRMask != 0 {
			entry["cidrMask"] = pulumi.Int(s.CIDRMask)
		}
		layout = append(layout, entry)
	}
	state := pulumi.Map{
		"vpc": pulumi.NewResourceInput(vpc), "vpcId": vpc.ID().ToStringOutput(),
		"internetGateway": pulumi.NewResourceInput(igw),
		"subnets":         refs(subnets), "routeTables": refs(tables), "routeTableAssociations": refs(assocs),
		"routes": refs(routes), "natGateways": refs(gateways), "eips": refs(eips), "vpcEndpoints": pulumi.ResourceArray{},
		"publicSubnetIds": ids(public), "privateSubnetIds": ids(private), "isolatedSubnetIds": ids(isolated),
		"subnetLayout": layout,
	}
	if err := ctx.RegisterResourceOutputs(comp, state); err != nil {
		return fail(fmt.Errorf("register outputs: %w", err))
	}
	return &provider.ConstructResult{URN: comp.URN(), State: state}, nil
}

// checkNAT is awsx's rule: a NAT strategy other than None needs public
// and private subnets (vpc.ts validateNatGatewayStrategy).
func checkNAT(strategy string, specs []subnetSpec) error {
	switch strings.ToLower(strategy) {
	case "none":
		return nil
	case "oneperaz", "single":
		var pub, priv bool
		for _, s := range specs {
			pub = pub || strings.EqualFold(s.Type, "public")
			priv = priv || strings.EqualFold(s.Type, "private")
		}
		if !pub || !priv {
			return fmt.Errorf("NAT gateway strategy %s needs both private and public subnets", strategy)
		}
		return nil
	}
	return fmt.Errorf("unknown NAT gateway strategy %q", strategy)
}

// natHere is awsx's shouldCreateNatGateway: one gateway for Single, one
// per zone for OnePerAz, none for None.
func natHere(strategy string, made, azIndex int) bool {
	switch strings.ToLower(strategy) {
	case "single":
		return made < 1
	case "oneperaz":
		return made < azIndex+1
	}
	return false
}

func refs(rs []*custom) pulumi.ResourceArray {
	out := pulumi.ResourceArray{}
	for _, r := range rs {
		out = append(out, pulumi.NewResourceInput(r))
	}
	return out
}

// ids is the list of the resources' IDs, unknown while any is (awsx lifts
// Output<string>[] into one output).
func ids(rs []*custom) pulumi.StringArrayOutput {
	in := make([]any, len(rs))
	for i, r := range rs {
		in[i] = r.ID()
	}
	return pulumi.All(in...).ApplyT(func(vs []any) []string {
		out := make([]string, len(vs))
		for i, v := range vs {
			out[i] = fmt.Sprint(v)
		}
		return out
	}).(pulumi.StringArrayOutput)
}

// constructImage is awsx v2.22.0's ecr.Image (pulumi-awsx
// awsx/ecr/image.ts): once the repository URL is known it asks ECR for
// push credentials (aws:ecr/getAuthorizationToken, under the component)
// and registers a docker-build:index:Image under the component, tagged
// <repositoryUrl>:<image name>, pushed, cached inline; imageUri is the
// built ref without its tag. awsx does all of this in an apply on its
// inputs, so in a preview of a new stack, where the repository URL is
// unknown, no child is registered and imageUri is unknown.
func constructImage(ctx *pulumi.Context, name string, raw resource.PropertyMap, inputs provider.ConstructInputs, options pulumi.ResourceOption) (*provider.ConstructResult, error) {
	fail := func(err error) (*provider.ConstructResult, error) {
		return nil, fmt.Errorf("stand-in awsx:ecr:Image %s: %w", name, err)
	}
	comp := &component{}
	if err := ctx.RegisterComponentResource("awsx:ecr:Image", name, comp, options); err != nil {
		return fail(fmt.Errorf("register component: %w", err))
	}
	in, err := inputs.Map()
	if err != nil {
		return fail(err)
	}
	url, ok := in["repositoryUrl"]
	if !ok {
		return fail(fmt.Errorf("repositoryUrl is required"))
	}
	var b imageBuild
	for k, dst := range map[string]*string{
		"context": &b.Context, "dockerfile": &b.Dockerfile, "platform": &b.Platform, "target": &b.Target,
		"imageName": &b.ImageName, "imageTag": &b.ImageTag, "registryId": &b.RegistryID,
	} {
		if *dst, err = plainString(raw, k); err != nil {
			return fail(err)
		}
	}
	if b.Args, err = plainTags(raw, "args"); err != nil {
		return fail(err)
	}
	if b.CacheFrom, err = plainStrings(raw, "cacheFrom"); err != nil {
		return fail(err)
	}
	uri := pulumi.ToOutput(url).ApplyT(func(v any) (pulumi.StringOutput, error) {
		repo, ok := v.(string)
		if !ok {
			return pulumi.StringOutput{}, fmt.Errorf("stand-in awsx:ecr:Image %s: repositoryUrl %v is not a string", name, v)
		}
		return b.register(ctx, comp, repo)
	}).(pulumi.StringOutput)
	state := pulumi.Map{"imageUri": uri}
	if err := ctx.RegisterResourceOutputs(comp, state); err != nil {
		return fail(fmt.Errorf("register outputs: %w", err))
	}
	return &provider.ConstructResult{URN: comp.URN(), State: state}, nil
}

// imageBuild holds awsx ecr.Image's build inputs.
type imageBuild struct {
	Context, Dockerfile, Platform, Target, ImageName, ImageTag, RegistryID string
	Args                                                                   map[string]string
	CacheFrom                                                              []string
}

// uniqueName is awsx's createUniqueImageName: the SHA-1 of the context,
// dockerfile, build args and stack, and "-container".
func (b imageBuild) uniqueName(stack string) string {
	sig := b.Context
	if sig == "" {
		sig = "."
	}
	if b.Dockerfile != "" {
		sig += ";dockerfile=" + b.Dockerfile
	}
	keys := make([]string, 0, len(b.Args))
	for k := range b.Args {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		sig += fmt.Sprintf(";arg[%s]=%s", k, b.Args[k])
	}
	sum := sha1.Sum([]byte(sig + stack)) //nolint:gosec // a name, as awsx computes it
	return hex.EncodeToString(sum[:]) + "-container"
}

// registryArgs are getAuthorizationToken's arguments.
type registryArgs struct {
	RegistryID string `pulumi:"registryId"`
}

// credentials are the parts of getAuthorizationToken's result awsx uses.
type credentials struct {
	UserName      string `pulumi:"userName"`
	Password      string `pulumi:"password"`
	ProxyEndpoint string `pulumi:"proxyEndpoint"`
}

// credentialsOutput is the invoke's output type.
type credentialsOutput struct{ *pulumi.OutputState }

// ElementType is the result type.
func (credentialsOutput) ElementType() reflect.Type {
	return reflect.TypeOf((*credentials)(nil)).Elem()
}

func init() { pulumi.RegisterOutputType(credentialsOutput{}) }

var tagged = regexp.MustCompile(`^(.*):([^@]+)(@sha256:.+)$`)

func (b imageBuild) register(ctx *pulumi.Context, comp *component, repo string) (pulumi.StringOutput, error) {
	imageName := b.ImageName
	if imageName == "" {
		imageName = b.ImageTag
	}
	if imageName == "" {
		imageName = b.uniqueName(ctx.Stack())
	}
	canonical := repo + ":" + imageName
	registry := b.RegistryID
	if registry == "" {
		registry, _, _ = strings.Cut(strings.TrimPrefix(repo, "https://"), ".")
	}
	// The output form, as awsx calls it (auth.ts getDockerCredentials):
	// the password is a secret, which the direct form refuses.
	creds := ctx.InvokeOutput("aws:ecr/getAuthorizationToken:getAuthorizationToken", registryArgs{RegistryID: registry},
		credentialsOutput{}, pulumi.InvokeOutputOptions{InvokeOptions: []pulumi.InvokeOption{pulumi.Parent(comp)}}).(credentialsOutput)
	cacheFrom := pulumi.Array{}
	for _, c := range b.CacheFrom {
		cacheFrom = append(cacheFrom, pulumi.Map{"registry": pulumi.Map{"ref": pulumi.String(c)}})
	}
	if len(cacheFrom) == 0 {
		cacheFrom = append(cacheFrom, pulumi.Map{"registry": pulumi.Map{"ref": pulumi.String(canonical)}})
	}
	context := b.Context
	if context == "" {
		context = "."
	}
	platforms := pulumi.StringArray{}
	if b.Platform != "" {
		platforms = append(platforms, pulumi.String(b.Platform))
	}
	dockerfile := pulumi.Map{}
	if b.Dockerfile != "" {
		dockerfile["location"] = pulumi.String(b.Dockerfile)
	}
	props := pulumi.Map{
		"tags": pulumi.StringArray{pulumi.String(canonical)}, "cacheFrom": cacheFrom,
		"cacheTo": pulumi.Array{pulumi.Map{"inline": pulumi.Map{}}}, "context": pulumi.Map{"location": pulumi.String(context)},
		"dockerfile": dockerfile, "platforms": platforms, "push": pulumi.Bool(true),
		"registries": pulumi.Array{pulumi.Map{
			"address":  creds.ApplyT(func(c credentials) string { return strings.TrimPrefix(c.ProxyEndpoint, "https://") }),
			"username": creds.ApplyT(func(c credentials) string { return c.UserName }),
			"password": pulumi.ToSecret(creds.ApplyT(func(c credentials) string { return c.Password })),
		}},
	}
	if len(b.Args) > 0 {
		props["buildArgs"] = tags(b.Args)
	}
	if b.Target != "" {
		props["target"] = pulumi.String(b.Target)
	}
	img := &custom{}
	if err := ctx.RegisterResource("docker-build:index:Image", imageName, props, img, pulumi.Parent(comp), pulumi.Version(awsxDockerBuildVersion)); err != nil {
		return pulumi.StringOutput{}, fmt.Errorf("stand-in awsx:ecr:Image: register docker-build image: %w", err)
	}
	return img.Ref.ApplyT(func(ref string) string { return tagged.ReplaceAllString(ref, "$1$3") }).(pulumi.StringOutput), nil
}
