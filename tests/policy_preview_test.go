package tests

import (
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"github.com/trading-ha/trading-ha/proof/offline"
	"github.com/trading-ha/trading-ha/proof/policy"
)

// The policy pack at the first preview of a new stack: the engine sends it
// every value a provider computes on create (and every input the program
// derives from one) as unknown (policy_pack_test.go's harness marshals
// with KeepUnknowns, as the engine does). Unknown is not missing: a rule
// passes on an unknown value it needs only the presence of, and defers
// where it needs the value; what is really absent or wrong still violates.

// TestPolicyPackPassesFirstPreview: over the analyzer protocol, the first
// preview of dev and prod (offline.RunPreview: creation-time outputs
// unknown) has no mandatory violation, the pack's violations and logged
// deferrals equal the suite's over the same recording, and the preview did
// hand the pack unknown values (some rules deferred).
func TestPolicyPackPassesFirstPreview(t *testing.T) {
	for _, stack := range Stacks {
		t.Run(stack, func(t *testing.T) {
			rec := recordPreview(t, stack)
			withUnknowns, unknownInputs := 0, 0
			for _, r := range rec.Resources {
				if len(r.Unknown) > 0 {
					withUnknowns++
				}
				unknownInputs += len(r.Unknown)
			}
			client, log := startPackLogged(t, stack, rec.Config)
			got := packViolations(t, client, rec)
			if len(got) != 0 {
				t.Errorf("%d mandatory violations at the first preview of %s:\n  %s", len(got), stack, strings.Join(got, "\n  "))
			}
			if want := suiteViolations(rec); !slices.Equal(got, want) {
				t.Errorf("pack reports %v, suite %v", got, want)
			}
			deferred := log.deferrals(t)
			if want := suiteDeferrals(rec); !slices.Equal(deferred, want) {
				t.Errorf("pack logged deferrals\n  %v\nsuite deferred\n  %v", deferred, want)
			}
			if len(deferred) == 0 {
				t.Error("nothing deferred: the preview handed the pack no unknown value a rule needs")
			}
			rules := map[string]int{}
			for _, d := range deferred {
				id, _, _ := strings.Cut(d, " ")
				rules[id]++
			}
			t.Logf("%s at first preview: %d resources, %d with unknown inputs (%d unknown input paths); %d violations, %d deferred findings by rule %v",
				stack, len(rec.Resources), withUnknowns, unknownInputs, len(got), len(deferred), rules)
		})
	}
}

// TestPolicyPackUnknownIsNotMissing: over the protocol, the same resource
// violates when a value is really absent or wrong and does not when it is
// unknown: a queue, a topic (its key ARN unknown and secret) and a log
// group with an unknown key ARN pass (presence is all they need); without
// one they violate; a bucket with no encryption configuration, or one
// encrypting with AES256, violates S3.17, while one whose configuration's
// bucket and algorithm are unknown defers; an identity policy whose
// document is unknown defers IAM.21 and TH-IAM-1.
func TestPolicyPackUnknownIsNotMissing(t *testing.T) {
	rec := unknownFixture()
	client, log := startPackLogged(t, rec.Stack, rec.Config)
	got := packViolations(t, client, rec)
	if want := suiteViolations(rec); !slices.Equal(got, want) {
		t.Errorf("pack reports\n  %v\nsuite\n  %v", got, want)
	}
	deferred := log.deferrals(t)
	if want := suiteDeferrals(rec); !slices.Equal(deferred, want) {
		t.Errorf("pack logged deferrals\n  %v\nsuite deferred\n  %v", deferred, want)
	}
	urn := func(typ, name string) string { return fixtureURN(typ, name) }
	const (
		queue     = "aws:sqs/queue:Queue"
		topic     = "aws:sns/topic:Topic"
		group     = "aws:cloudwatch/logGroup:LogGroup"
		bucket    = "aws:s3/bucketV2:BucketV2"
		iamPolicy = "aws:iam/policy:Policy"
	)
	for _, c := range []struct {
		finding          string
		violates, defers bool
	}{
		{"SQS.1 " + urn(queue, "queue-missing-dev"), true, false},
		{"SQS.1 " + urn(queue, "queue-unknown-dev"), false, false},
		{"SNS.1 " + urn(topic, "topic-empty-dev"), true, false},
		{"SNS.1 " + urn(topic, "topic-unknown-dev"), false, false},
		{"TH-ENC-1 " + urn(group, "logs-missing-dev"), true, false},
		{"TH-ENC-1 " + urn(group, "logs-unknown-dev"), false, false},
		{"TH-ENC-1 " + urn(group, "logs-retention-dev"), false, true},
		{"S3.17 " + urn(bucket, "plain-dev"), true, false},
		{"S3.17 " + urn(bucket, "aes-dev"), true, false},
		{"S3.17 " + urn(bucket, "unknown-dev"), false, true},
		{"IAM.21 " + urn(iamPolicy, "policy-unknown-dev"), false, true},
		{"TH-IAM-1 " + urn(iamPolicy, "policy-unknown-dev"), false, true},
	} {
		if v := slices.Contains(got, c.finding); v != c.violates {
			t.Errorf("%s: violation %v, want %v", c.finding, v, c.violates)
		}
		if d := slices.Contains(deferred, c.finding); d != c.defers {
			t.Errorf("%s: deferred %v, want %v", c.finding, d, c.defers)
		}
	}
	t.Logf("unknown fixture: %d violations, %d deferred findings", len(got), len(deferred))
}

// fixtureURN is the URN res() gives a fixture resource.
func fixtureURN(typ, name string) string { return res(typ, name, nil).URN }

// secretValue marks a fixture input as secret.
type secretValue struct{ v any }

// unknownRes is a fixture resource whose inputs may hold policy.Unknown{}
// (an unknown value) and secretValue (a secret one): Raw and RawOutputs
// carry them as the engine's property maps do (resource.MakeComputed,
// resource.MakeSecret), Inputs as a recording's plain values (unknown nil).
func unknownRes(typ, name string, inputs map[string]any) *offline.Resource {
	r := res(typ, name, nil)
	r.Raw = propertyMapOf(inputs)
	r.Inputs = offline.Plain(r.Raw)
	r.RawOutputs = r.Raw.Copy()
	for k, v := range r.Outputs {
		r.RawOutputs[resource.PropertyKey(k)] = resource.NewPropertyValue(v)
	}
	return r
}

func propertyMapOf(m map[string]any) resource.PropertyMap {
	out := resource.PropertyMap{}
	for k, v := range m {
		out[resource.PropertyKey(k)] = propertyOf(v)
	}
	return out
}

func propertyOf(v any) resource.PropertyValue {
	switch x := v.(type) {
	case policy.Unknown:
		return resource.MakeComputed(resource.NewProperty(""))
	case secretValue:
		return resource.MakeSecret(propertyOf(x.v))
	case map[string]any:
		return resource.NewProperty(propertyMapOf(x))
	case []any:
		arr := make([]resource.PropertyValue, len(x))
		for i, e := range x {
			arr[i] = propertyOf(e)
		}
		return resource.NewProperty(arr)
	}
	return resource.NewPropertyValue(v)
}

// unknownFixture holds, per check, a resource whose value is unknown next
// to one where it is absent or wrong (TestPolicyPackUnknownIsNotMissing).
func unknownFixture() *offline.Recording {
	unknown := policy.Unknown{}
	const encryption = "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2"
	// sse is an encryption configuration whose bucket is unknown and
	// depends on owner (as at a first preview), with the algorithm alg.
	sse := func(name string, owner *offline.Resource, alg any) *offline.Resource {
		r := unknownRes(encryption, name, map[string]any{"bucket": unknown,
			"rules": []any{map[string]any{"applyServerSideEncryptionByDefault": map[string]any{"sseAlgorithm": alg}}}})
		r.PropertyDeps = map[string][]string{"bucket": {owner.URN}}
		return r
	}
	aes := unknownRes("aws:s3/bucketV2:BucketV2", "aes-dev", map[string]any{"bucket": "aes-dev", "forceDestroy": true})
	unknownBucket := unknownRes("aws:s3/bucketV2:BucketV2", "unknown-dev", map[string]any{"bucket": "unknown-dev", "forceDestroy": true})
	return &offline.Recording{Stack: "dev", Config: map[string]string{"trading-ha:environmentSuffix": "dev"}, Resources: []*offline.Resource{
		unknownRes("aws:sqs/queue:Queue", "queue-missing-dev", map[string]any{"name": "queue-missing-dev"}),
		unknownRes("aws:sqs/queue:Queue", "queue-unknown-dev", map[string]any{"name": "queue-unknown-dev", "kmsMasterKeyId": unknown}),
		unknownRes("aws:sns/topic:Topic", "topic-empty-dev", map[string]any{"name": "topic-empty-dev", "kmsMasterKeyId": ""}),
		unknownRes("aws:sns/topic:Topic", "topic-unknown-dev", map[string]any{"name": "topic-unknown-dev", "kmsMasterKeyId": secretValue{unknown}}),
		unknownRes("aws:cloudwatch/logGroup:LogGroup", "logs-missing-dev", map[string]any{"name": "logs-missing-dev", "retentionInDays": float64(30)}),
		unknownRes("aws:cloudwatch/logGroup:LogGroup", "logs-unknown-dev", map[string]any{"name": "logs-unknown-dev", "kmsKeyId": unknown, "retentionInDays": float64(30)}),
		unknownRes("aws:cloudwatch/logGroup:LogGroup", "logs-retention-dev", map[string]any{"name": "logs-retention-dev", "kmsKeyId": "arn:k", "retentionInDays": unknown}),
		unknownRes("aws:s3/bucketV2:BucketV2", "plain-dev", map[string]any{"bucket": "plain-dev", "forceDestroy": true}),
		aes, sse("aes-sse-dev", aes, "AES256"),
		unknownBucket, sse("unknown-sse-dev", unknownBucket, unknown),
		unknownRes("aws:iam/policy:Policy", "policy-unknown-dev", map[string]any{"name": "policy-unknown-dev", "policy": unknown}),
	}}
}
