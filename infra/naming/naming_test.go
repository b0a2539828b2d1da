package naming

import (
	"strings"
	"testing"
)

// TestEveryKindCitesItsSource: every kind has a character set and the AWS
// page its limits come from.
func TestEveryKindCitesItsSource(t *testing.T) {
	for _, k := range Kinds {
		if k.Charset == nil || k.Source == "" {
			t.Errorf("kind %s lacks a charset or a source", k.Type)
		}
		for _, r := range k.Rules {
			if r.Source == "" || r.Says == "" {
				t.Errorf("kind %s has a rule without text or source", k.Type)
			}
		}
	}
}

// TestEveryKindKeepsEveryRule walks every kind with short, typical and
// longest suffixes against its length, charset and every rule.
func TestEveryKindKeepsEveryRule(t *testing.T) {
	n, _ := MaxSuffixLen()
	for _, suffix := range []string{"a", "dev", "prod", "qa-1", "a-" + strings.Repeat("b", n-2), strings.Repeat("z", n)} {
		if err := CheckSuffix(suffix); err != nil {
			t.Errorf("suffix %q: %v", suffix, err)
		}
	}
}

// TestRulesFire: each rule refuses a name that breaks it (a fixture per
// rule), so a rule that silently stops applying fails here.
func TestRulesFire(t *testing.T) {
	for _, c := range []struct {
		kind Kind
		name string
		want string
	}{
		{SecurityGroupDB, "sg-db-dev", `"sg-"`},
		{SecurityGroupALB, "secgroup alb%dev", "characters"},
		{ALB, "internal-alb-dev", `"internal-"`},
		{ALB, "alb-dev-", "hyphen"},
		{ALB, "-alb-dev", "hyphen"},
		{ALB, "alb_dev", "characters"},
		{ALB, "alb-" + strings.Repeat("x", 29), "at most 32"},
		{TargetGroup, "tg-dev-", "hyphen"},
		{DataBucket, "xn--data-dev-00000000", `"xn--"`},
		{DataBucket, "sthree-data-dev", `"sthree-"`},
		{DataBucket, "amzn-s3-demo-data", `"amzn-s3-demo-"`},
		{DataBucket, "data-dev-s3alias", `"-s3alias"`},
		{DataBucket, "data-dev--ol-s3", `"--ol-s3"`},
		{DataBucket, "data-dev.mrap", `".mrap"`},
		{DataBucket, "data-dev--x-s3", `"--x-s3"`},
		{DataBucket, "data-dev--table-s3", `"--table-s3"`},
		{DataBucket, "data..dev", "adjacent periods"},
		{DataBucket, "192.168.5.4", "IP address"},
		{DataBucket, "Data-dev", "characters"},
		{KMSDataAlias, "alias/aws/kms-data-dev", `"alias/aws/"`},
		{AuroraCluster, "aurora--dev", "consecutive hyphens"},
		{AuroraCluster, "aurora-dev-", "hyphen"},
		{AuroraCluster, "1aurora-dev", "characters"},
		{DBSubnetGroup, "default", `"default"`},
		{EventBus, "default", `"default"`},
		{EventBus, "events/dev", "characters"},
		{Canary, "canary-" + strings.Repeat("x", 15), "at most 21"},
		{Canary, "Canary-dev", "characters"},
		{TaskRole, "role-task/dev", "characters"},
		{HealthCheckSM, "sm health", "characters"},
		{RestoreTestingPlan, "restore-testing-dev", "characters"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := Check(c.kind, c.name)
			if err == nil {
				t.Fatalf("%s name %q accepted; AWS refuses it", c.kind.Type, c.name)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not say %s", err, c.want)
			}
		})
	}
}

// TestCheckParameter: SSM refuses aws/ssm roots in any case and hierarchies
// deeper than 15 levels.
func TestCheckParameter(t *testing.T) {
	if err := CheckParameter(New("dev").Parameter("db", "writer-host")); err != nil {
		t.Errorf("our own hierarchy refused: %v", err)
	}
	for _, bad := range []string{"/aws/x", "/AWS/x", "/ssm/x", "ssmx", "/trading/dev/a b", "/" + strings.Repeat("a/", 15) + "b"} {
		if CheckParameter(bad) == nil {
			t.Errorf("parameter name %q accepted; SSM refuses it", bad)
		}
	}
}

// TestCheckDomain: reserved names (and names below them) and bare TLDs are
// refused with their RFC; ordinary names pass.
func TestCheckDomain(t *testing.T) {
	for _, ok := range []string{"trading.acmebank.net", "dev.trading.acmebank.co.uk", "examples.com", "mytest.org"} {
		if err := CheckDomain(ok); err != nil {
			t.Errorf("%s refused: %v", ok, err)
		}
	}
	for bad, cite := range map[string]string{
		"example.com": "RFC 2606", "dev.trading-ha.example.com": "RFC 2606", "x.example.net": "RFC 2606",
		"a.example.org": "RFC 2606", "a.example": "RFC 2606", "trading.test": "RFC 6761", "x.invalid": "RFC 6761",
		"x.localhost": "RFC 6761", "desk.local": "RFC 6762", "x.onion": "RFC 7686", "nas.home.arpa": "RFC 8375",
		"com": "top-level",
	} {
		err := CheckDomain(bad)
		if err == nil || !strings.Contains(err.Error(), cite) {
			t.Errorf("%s: got %v, want a refusal citing %s", bad, err, cite)
		}
	}
}

// TestServiceLogGroupNames: the groups services open on first write are
// named from what they write for (the ECS cluster, the Lambda function),
// so the stack can create them first.
func TestServiceLogGroupNames(t *testing.T) {
	n := New("dev")
	if got, want := n.ContainerInsightsLogGroup(), "/aws/ecs/containerinsights/"+n.Name(ECSCluster)+"/performance"; got != want {
		t.Errorf("ContainerInsightsLogGroup = %q, want %q (the cluster's name)", got, want)
	}
	if got := LambdaLogGroup("cwsyn-canary-dev-1"); got != "/aws/lambda/cwsyn-canary-dev-1" {
		t.Errorf("LambdaLogGroup = %q", got)
	}
	if err := Check(ContainerInsightsLogGroup, n.ContainerInsightsLogGroup()); err != nil {
		t.Error(err)
	}
}
