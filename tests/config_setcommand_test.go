package tests

import (
	"strings"
	"testing"
)

// TestMissingKeyPrintsItsSetCommand: a missing key's message gives the
// command that sets that key: the full name for another namespace (a bare
// name would set trading-ha:region), the bare name for the project's own
// keys, --secret where the value carries a credential, --path for the
// tags object, and no "declare a default" for the per-stack key that
// must not have one.
func TestMissingKeyPrintsItsSetCommand(t *testing.T) {
	cases := []struct {
		name, stack, key string
		want             []string
		notWant          []string
	}{
		{"aws:region", "dev", "aws:region",
			[]string{"config aws:region is not set", "`pulumi config set aws:region <value>`"},
			[]string{"`pulumi config set region", "declare a default in Pulumi.yaml"}},
		{"aws:defaultTags", "prod", "aws:defaultTags",
			[]string{"config aws:defaultTags is not set", "`pulumi config set --path aws:defaultTags.tags.<Tag> <value>`", "Application, Environment, Owner, CostCenter, DataClassification"},
			[]string{"`pulumi config set defaultTags"}},
		{"environmentSuffix", "dev", "trading-ha:environmentSuffix",
			[]string{"config trading-ha:environmentSuffix is not set", "`pulumi config set environmentSuffix <value>`"},
			[]string{"declare a default in Pulumi.yaml"}},
		{"project key with a default", "prod", "trading-ha:logRetentionDays",
			[]string{"config trading-ha:logRetentionDays is not set", "declare a default in Pulumi.yaml", "`pulumi config set logRetentionDays <value>`"},
			nil},
		{"paging endpoint is a secret", "prod", "trading-ha:pageHttpsEndpoint",
			[]string{"config trading-ha:pageHttpsEndpoint is not set", "`pulumi config set --secret pageHttpsEndpoint <value>`"},
			nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec, err := recordWith(t, c.stack, map[string]string{c.key: ""})
			refused(t, rec, err, c.want)
			for _, w := range c.notWant {
				if err != nil && strings.Contains(err.Error(), w) {
					t.Errorf("error %q contains %q", err, w)
				}
			}
		})
	}
}
