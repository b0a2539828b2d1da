package main

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/trading-ha/trading-ha/infra/config"
	"github.com/trading-ha/trading-ha/infra/database"
	"github.com/trading-ha/trading-ha/infra/naming"
	"github.com/trading-ha/trading-ha/infra/version"
	"github.com/trading-ha/trading-ha/proof/offline"
)

// The example's stack as its files set it (Pulumi.dev.yaml).
const (
	stackName = "dev"
	suffix    = "netdb-dev"
	vpcCIDR   = "10.60.0.0/16"
)

// zones are the platform's default availability zones, which the example's
// stack does not override.
var zones = []string{"us-east-1a", "us-east-1b", "us-east-1c"}

// want is every resource the example registers, by the trading component
// it sits under ("" for the providers at the stack's root) and type: the
// three components' children and nothing else of the platform. A
// component that gains or loses a child changes this table; update it and
// the example's README together.
var want = map[string]map[string]int{
	"": {"pulumi:providers:aws": 1, "pulumi:providers:awsx": 1},
	"trading:security:Keys": {
		"trading:security:Keys": 1,
		"aws:kms/key:Key":       3,
		"aws:kms/alias:Alias":   3,
	},
	"trading:network:Network": {
		"trading:network:Network": 1,
		"awsx:ec2:Vpc":            1,
		"aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": 1,
		"aws:ec2/securityGroup:SecurityGroup":               4,
		"aws:ec2/vpcEndpoint:VpcEndpoint":                   2,
		"aws:cloudwatch/logGroup:LogGroup":                  1,
		"aws:iam/role:Role":                                 1,
		"aws:iam/rolePolicy:RolePolicy":                     1,
		"aws:ec2/flowLog:FlowLog":                           1,
	},
	"trading:database:Cluster": {
		"trading:database:Cluster":                                  1,
		"aws:rds/cluster:Cluster":                                   1,
		"aws:rds/clusterInstance:ClusterInstance":                   3,
		"aws:rds/subnetGroup:SubnetGroup":                           1,
		"aws:rds/clusterParameterGroup:ClusterParameterGroup":       1,
		"aws:cloudwatch/logGroup:LogGroup":                          1,
		"aws:iam/role:Role":                                         1,
		"aws:iam/rolePolicyAttachment:RolePolicyAttachment":         1,
		"aws:appautoscaling/target:Target":                          1,
		"aws:appautoscaling/policy:Policy":                          1,
		"aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": 1,
		"aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule":   1,
	},
}

// result is one mocked run of the example.
type result struct {
	rec *offline.Recording
	// outputs are the stack outputs deploy exported, resolved.
	outputs map[string]any
}

// run runs the example's program under the recording mocks with the config
// the engine would hand it (the example's Pulumi.yaml and Pulumi.dev.yaml),
// with overrides applied (an empty value removes the key).
func run(t *testing.T, overrides map[string]string) (*result, error) {
	t.Helper()
	cfg, err := offline.LoadStack(".", stackName)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range overrides {
		if v == "" {
			delete(cfg, k)
		} else {
			cfg[k] = v
		}
	}
	res := &result{}
	var mu sync.Mutex
	rec, err := offline.RunProgram(stackName, cfg, func(ctx *pulumi.Context) error {
		s, err := deploy(ctx, platformDir)
		if err != nil {
			return err
		}
		// Resolved before RunProgram returns: the run waits for every
		// output and apply.
		s.outputs.ToMapOutput().ApplyT(func(m map[string]any) map[string]any {
			mu.Lock()
			defer mu.Unlock()
			res.outputs = m
			return m
		})
		return nil
	})
	mu.Lock()
	defer mu.Unlock()
	res.rec = rec
	return res, err
}

func TestExample(t *testing.T) {
	res, err := run(t, nil)
	if err != nil {
		t.Fatalf("the example's dev stack: %v", err)
	}
	rec := res.rec

	t.Run("only the three components", func(t *testing.T) {
		got := map[string]map[string]int{}
		for _, r := range rec.Resources {
			if got[r.Component] == nil {
				got[r.Component] = map[string]int{}
			}
			got[r.Component][r.Type]++
		}
		if want := []string{"trading:database:Cluster", "trading:network:Network", "trading:security:Keys"}; !slices.Equal(rec.Components(), want) {
			t.Errorf("components %v, want %v and nothing else of the platform", rec.Components(), want)
		}
		for _, line := range diff(want, got) {
			t.Error(line)
		}
	})

	t.Run("children are parented under their component", func(t *testing.T) {
		for _, r := range rec.Resources {
			parent := resource.URN(r.ParentURN)
			switch {
			case strings.HasPrefix(r.Type, "pulumi:providers:"), strings.HasPrefix(r.Type, "trading:"):
				if parent != "" && parent.Type() != resource.RootStackType {
					t.Errorf("%s %s has parent %s, want the stack", r.Type, r.Name, parent)
				}
			case !parent.IsValid() || string(parent.Type()) != r.Component:
				t.Errorf("%s %s has parent %q, want its component %s directly", r.Type, r.Name, r.ParentURN, r.Component)
			}
		}
	})

	t.Run("every resource and invoke names an explicit provider", func(t *testing.T) {
		for _, r := range rec.Resources {
			if !r.Custom && !strings.HasPrefix(r.Type, "awsx:") {
				continue // the trading components and the stack
			}
			if strings.HasPrefix(r.Type, "pulumi:providers:") {
				continue
			}
			if !explicitProvider(rec, r.Provider) {
				t.Errorf("%s %s uses provider %q: a default provider, which the stack disables", r.Type, r.Name, r.Provider)
			}
		}
		vpc := one(t, rec, "awsx:ec2:Vpc")
		if !explicitProvider(rec, vpc.Providers["aws"]) {
			t.Errorf("the awsx VPC hands its children aws provider %q: a default provider", vpc.Providers["aws"])
		}
		if len(rec.Invokes) == 0 {
			t.Fatal("no invoke recorded: the account lookup is missing")
		}
		for _, inv := range rec.Invokes {
			if !explicitProvider(rec, inv.Provider) {
				t.Errorf("invoke %s uses provider %q: a default provider", inv.Token, inv.Provider)
			}
		}
		p := one(t, rec, "pulumi:providers:aws")
		if got := p.Input("region"); got != config.Region {
			t.Errorf("aws provider region %v, want %s", got, config.Region)
		}
		tags, _ := offline.Lookup(p.Inputs, "defaultTags.tags").(map[string]any)
		if tags[version.TagKey] != version.Version || tags["Environment"] != "dev" || tags["Application"] != "trading-ha-network-database" {
			t.Errorf("aws provider default tags %v, want the stack's tags and %s=%s", tags, version.TagKey, version.Version)
		}
	})

	vpc := one(t, rec, "awsx:ec2:Vpc")
	t.Run("the VPC spans three availability zones", func(t *testing.T) {
		if got := strs(vpc.Input("availabilityZoneNames")); !slices.Equal(got, zones) {
			t.Errorf("VPC zones %v, want %v", got, zones)
		}
		if got := vpc.Input("cidrBlock"); got != vpcCIDR {
			t.Errorf("VPC CIDR %v, want the stack's %s", got, vpcCIDR)
		}
		if got := vpc.Input("natGateways.strategy"); got != "Single" {
			t.Errorf("NAT strategy %v, want the stack's Single", got)
		}
		if got := len(strs(vpc.Input("subnetSpecs"))); got != 3 {
			t.Errorf("%d subnet tiers, want public, private and isolated", got)
		}
	})

	names := naming.New(suffix)
	dataKey := keyArn(t, rec, names.Name(naming.KMSDataAlias))
	telemetryKey := keyArn(t, rec, names.Name(naming.KMSTelemetryAlias))
	cluster := one(t, rec, "aws:rds/cluster:Cluster")
	t.Run("Aurora is encrypted with the example's data key", func(t *testing.T) {
		defaults, err := config.ProjectDefaults(platformDir)
		if err != nil {
			t.Fatal(err)
		}
		wantVersion := defaults[config.Project+":dbEngineVersion"]
		for path, want := range map[string]any{
			"clusterIdentifier":        names.Name(naming.AuroraCluster),
			"engine":                   database.Engine,
			"engineVersion":            wantVersion,
			"storageEncrypted":         true,
			"kmsKeyId":                 dataKey,
			"masterUserSecretKmsKeyId": dataKey,
			"deletionProtection":       false,
			"skipFinalSnapshot":        true,
		} {
			if got := cluster.Input(path); got != want {
				t.Errorf("cluster %s = %v, want %v", path, got, want)
			}
		}
		if !strings.HasPrefix(wantVersion, "14.") {
			t.Errorf("the platform's dbEngineVersion default %q is not Aurora PostgreSQL 14", wantVersion)
		}
		group := one(t, rec, "aws:cloudwatch/logGroup:LogGroup", "aurora-postgresql")
		if got := group.Input("kmsKeyId"); got != telemetryKey {
			t.Errorf("PostgreSQL log group key %v, want the example's telemetry key %s", got, telemetryKey)
		}
	})

	t.Run("Aurora has an instance in each zone, in the VPC's isolated subnets", func(t *testing.T) {
		var got []string
		for _, inst := range rec.ByType("aws:rds/clusterInstance:ClusterInstance") {
			got = append(got, fmt.Sprint(inst.Input("availabilityZone")))
			if inst.Input("performanceInsightsKmsKeyId") != dataKey {
				t.Errorf("instance %s Performance Insights key %v, want the data key", inst.Name, inst.Input("performanceInsightsKmsKeyId"))
			}
		}
		sort.Strings(got)
		if !slices.Equal(got, zones) {
			t.Errorf("instances in zones %v, want one in each of %v", got, zones)
		}
		subnets := one(t, rec, "aws:rds/subnetGroup:SubnetGroup")
		if got, want := strs(subnets.Input("subnetIds")), strs(vpc.Outputs["isolatedSubnetIds"]); len(want) != 3 || !slices.Equal(got, want) {
			t.Errorf("DB subnet group subnets %v, want the VPC's isolated subnets %v", got, want)
		}
		dbGroup := one(t, rec, "aws:ec2/securityGroup:SecurityGroup", "sg-db")
		if got := strs(cluster.Input("vpcSecurityGroupIds")); !slices.Equal(got, []string{dbGroup.ID}) {
			t.Errorf("cluster security groups %v, want the network's database group %s", got, dbGroup.ID)
		}
	})

	t.Run("outputs", func(t *testing.T) {
		tasks := one(t, rec, "aws:ec2/securityGroup:SecurityGroup", "sg-tasks")
		for name, want := range map[string]any{
			"vpcId":                 vpc.Outputs["vpcId"],
			"clientSecurityGroupId": tasks.ID,
			"dataKeyArn":            dataKey,
			"clusterIdentifier":     cluster.Input("clusterIdentifier"),
			"clusterEndpoint":       cluster.Outputs["endpoint"],
			"readerEndpoint":        cluster.Outputs["readerEndpoint"],
			"platformVersion":       version.Version,
		} {
			if got := res.outputs[name]; want == nil || got != want {
				t.Errorf("output %s = %v, want %v", name, got, want)
			}
		}
	})
}

// TestExampleConfigErrors: the example's config is the platform's, checked
// the platform's way: every problem in one error naming key, value and
// rule, and nothing registered.
func TestExampleConfigErrors(t *testing.T) {
	res, err := run(t, map[string]string{
		config.Project + ":environmentSuffix": "Net_DB",
		config.Project + ":dbReaderCount":     "3",
	})
	if err == nil {
		t.Fatal("a bad suffix and four database instances were accepted")
	}
	for _, want := range []string{config.Project + ":environmentSuffix", `"Net_DB"`, config.Project + ":dbReaderCount"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	if n := len(res.rec.Resources); n != 0 {
		t.Errorf("%d resources registered before the config was refused", n)
	}
}

// TestPlatformDefaults: the defaults come from the platform's project file (config.ProjectDefaults)
// and nowhere else.
func TestPlatformDefaults(t *testing.T) {
	d, err := config.ProjectDefaults(platformDir)
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{
		"availabilityZones":  `["us-east-1a","us-east-1b","us-east-1c"]`,
		"deletionProtection": "false",
	} {
		if got := d[config.Project+":"+key]; got != want {
			t.Errorf("platform default %s = %q, want %q", key, got, want)
		}
	}
	if _, ok := d[config.Project+":environmentSuffix"]; ok {
		t.Error("environmentSuffix has a default; the platform declares none")
	}
	// The example's own project file is not the platform's.
	cfg, err := offline.LoadStack(".", stackName)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := offline.RunProgram(stackName, cfg, func(ctx *pulumi.Context) error {
		_, err := deploy(ctx, ".")
		return err
	}); err == nil || !strings.Contains(err.Error(), "not the platform") {
		t.Errorf("the example's own project file read as the platform's: %v", err)
	}
}

// diff lists the differences between two component -> type -> count tables.
func diff(want, got map[string]map[string]int) []string {
	var out []string
	for _, comp := range union(want, got) {
		for _, typ := range union(want[comp], got[comp]) {
			if w, g := want[comp][typ], got[comp][typ]; w != g {
				where := comp
				if where == "" {
					where = "the stack's root"
				}
				out = append(out, fmt.Sprintf("%d %s under %s, want %d", g, typ, where, w))
			}
		}
	}
	return out
}

func union[V any](a, b map[string]V) []string {
	var keys []string
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

// one is the single recorded resource of a type (and, when given, name or
// key within its component).
func one(t *testing.T, rec *offline.Recording, typ string, name ...string) *offline.Resource {
	t.Helper()
	if len(name) > 0 {
		r, err := rec.One(typ, name[0])
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	rs := rec.ByType(typ)
	if len(rs) != 1 {
		t.Fatalf("%d %s resources, want 1", len(rs), typ)
	}
	return rs[0]
}

// keyArn is the ARN of the KMS key an alias names.
func keyArn(t *testing.T, rec *offline.Recording, alias string) string {
	t.Helper()
	for _, a := range rec.ByType("aws:kms/alias:Alias") {
		if a.Input("name") != alias {
			continue
		}
		for _, k := range rec.ByType("aws:kms/key:Key") {
			if k.ID == a.Input("targetKeyId") {
				arn, _ := k.Outputs["arn"].(string)
				return arn
			}
		}
		t.Fatalf("alias %s targets %v, no recorded key", alias, a.Input("targetKeyId"))
	}
	t.Fatalf("no KMS alias %s", alias)
	return ""
}

// explicitProvider reports whether a provider reference ("<urn>::<id>")
// names one of the program's own provider resources, not a default one.
func explicitProvider(rec *offline.Recording, ref string) bool {
	for _, r := range rec.Resources {
		if ref != "" && strings.HasPrefix(r.Type, "pulumi:providers:") && strings.HasPrefix(ref, r.URN+"::") {
			return !strings.HasPrefix(r.Name, "default")
		}
	}
	return false
}

// strs turns a recorded list into strings.
func strs(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, e := range list {
		out = append(out, fmt.Sprint(e))
	}
	return out
}
