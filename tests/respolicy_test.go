package tests

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/trading-ha/trading-ha/proof/iamcheck"
	"github.com/trading-ha/trading-ha/proof/offline"
)

// attachedTo resolves the resource a resource-based policy of the
// recording is attached to, from the attaching resource's inputs and the
// recorded outputs of what they name. ok is false for an identity policy;
// an error is a resource policy of a kind the test does not know, or a
// reference it cannot resolve.
func attachedTo(rec *offline.Recording, p policyInput) (iamcheck.Target, bool, error) {
	in := func(k string) string { s, _ := p.res.Inputs[k].(string); return s }
	// byOutput is the recorded resource of typ whose output key is v.
	byOutput := func(typ, key, v string) (*offline.Resource, error) {
		for _, r := range rec.ByType(typ) {
			if fmt.Sprint(r.Outputs[key]) == v {
				return r, nil
			}
		}
		return nil, fmt.Errorf("%s %s: no %s with %s %q", p.res.Type, p.res.Name, typ, key, v)
	}
	arnOf := func(typ, key, v string) (string, error) {
		r, err := byOutput(typ, key, v)
		if err != nil {
			return "", err
		}
		return inProviderRegion(rec, r), nil
	}
	switch {
	case policyKind(p) == iamcheck.Identity:
		return iamcheck.Target{}, false, nil
	case p.res.Type == "aws:iam/role:Role" && p.path == "assumeRolePolicy":
		return iamcheck.RoleTrust(p.res.Name), true, nil
	case p.res.Type == "aws:s3/bucketPolicy:BucketPolicy" && p.path == "policy":
		return iamcheck.BucketPolicy("arn:aws:s3:::" + in("bucket")), true, nil
	case p.res.Type == "aws:kms/key:Key" && p.path == "policy":
		return iamcheck.KeyPolicy(inProviderRegion(rec, p.res)), true, nil
	case p.res.Type == "aws:sns/topicPolicy:TopicPolicy" && p.path == "policy":
		return iamcheck.TopicPolicy(in("arn")), true, nil
	case p.res.Type == "aws:sqs/queuePolicy:QueuePolicy" && p.path == "policy":
		a, err := arnOf("aws:sqs/queue:Queue", "url", in("queueUrl"))
		return iamcheck.QueuePolicy(a), true, err
	case p.res.Type == "aws:cloudwatch/eventBusPolicy:EventBusPolicy" && p.path == "policy":
		a, err := arnOf("aws:cloudwatch/eventBus:EventBus", "name", in("eventBusName"))
		if err != nil {
			return iamcheck.Target{}, true, err
		}
		t, err := iamcheck.EventBusPolicy(a)
		return t, true, err
	case p.res.Type == "aws:backup/vaultPolicy:VaultPolicy" && p.path == "policy":
		a, err := arnOf("aws:backup/vault:Vault", "name", in("backupVaultName"))
		return iamcheck.VaultPolicy(a), true, err
	case p.res.Type == "aws:cloudwatch/logResourcePolicy:LogResourcePolicy" && p.path == "policyDocument":
		return iamcheck.LogResourcePolicy("aws", providerRegion(rec, p.res), acct), true, nil
	case p.res.Type == "aws:ec2/vpcEndpoint:VpcEndpoint" && p.path == "policy":
		t, err := iamcheck.VPCEndpointPolicy(in("serviceName"))
		return t, true, err
	}
	return iamcheck.Target{}, true, fmt.Errorf("%s %s %s: a resource policy of a kind this test cannot attach to its resource; teach attachedTo", p.res.Type, p.res.Name, p.path)
}

// providerRegion is the region of the provider r is created with: the
// default provider's, or the DR provider's for the DR vault and its key.
func providerRegion(rec *offline.Recording, r *offline.Resource) string {
	for _, p := range rec.ByType("pulumi:providers:aws") {
		if strings.HasPrefix(r.Provider, p.URN+"::") {
			if region, ok := p.Inputs["region"].(string); ok && region != "" {
				return region
			}
		}
	}
	return offline.Region
}

// inProviderRegion is r's recorded arn in the region of r's provider: the
// mocks build every ARN in the default region (proof/offline
// outputs.go), AWS in the region the resource is created in.
func inProviderRegion(rec *offline.Recording, r *offline.Resource) string {
	arn := fmt.Sprint(r.Outputs["arn"])
	f := strings.SplitN(arn, ":", 5)
	if len(f) == 5 && f[3] != "" {
		f[3] = providerRegion(rec, r)
	}
	return strings.Join(f, ":")
}

// TestResourcePoliciesOnTheirTargets validates every resource-based
// policy both stacks write — bucket, key, topic, queue, bus, vault, log
// resource and VPC endpoint policies and every role's trust policy —
// against the resource it is attached to (iamcheck.ValidateOn): each
// Resource is that resource or something it contains, and each action can
// match it. Any finding fails; there is no allowlist.
func TestResourcePoliciesOnTheirTargets(t *testing.T) {
	data, err := iamcheck.Load()
	if err != nil {
		t.Fatal(err)
	}
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		byType := map[string]int{}
		var total iamcheck.Stats
		for _, p := range policyDocs(rec) {
			target, ok, err := attachedTo(rec, p)
			if err != nil {
				t.Error(err)
				continue
			}
			if !ok {
				continue
			}
			byType[strings.TrimPrefix(p.res.Type, "aws:")]++
			fs, st, err := data.ValidateOn(p.doc, target)
			if err != nil {
				t.Errorf("%s %s %s: %v", p.res.Type, p.res.Name, p.path, err)
				continue
			}
			total.Add(st)
			for _, f := range fs {
				t.Errorf("%s %s %s (on %s): %s", p.res.Type, p.res.Name, p.path, target.Name, f)
			}
		}
		// Every kind of resource policy the program writes is here.
		for _, typ := range []string{"iam/role:Role", "s3/bucketPolicy:BucketPolicy", "kms/key:Key", "sns/topicPolicy:TopicPolicy",
			"sqs/queuePolicy:QueuePolicy", "cloudwatch/eventBusPolicy:EventBusPolicy", "backup/vaultPolicy:VaultPolicy",
			"cloudwatch/logResourcePolicy:LogResourcePolicy"} {
			if byType[typ] == 0 {
				t.Errorf("no %s policy validated: the walk or the recording lost it", typ)
			}
		}
		var kinds []string
		for typ, n := range byType {
			kinds = append(kinds, fmt.Sprintf("%s %d", typ, n))
		}
		sort.Strings(kinds)
		t.Logf("stack %s: %d statements, %d actions, %d resources on their targets: %s",
			stack, total.Statements, total.Actions, total.Resources, strings.Join(kinds, ", "))
	})
}
