package tests

import (
	"strings"
	"testing"

	"github.com/trading-ha/trading-ha/internal/offline"
)

// protected reports whether a stack file turns deletionProtection on:
// prod does (Pulumi.prod.yaml), dev stays one-step destroyable.
func protected(stack string) bool { return stack == "prod" }

// viaDRProvider reports whether r is deployed through the drRegion
// provider, which must carry the home provider's default tags.
func viaDRProvider(t *testing.T, rec *offline.Recording, r *offline.Resource) bool {
	t.Helper()
	for _, p := range rec.ByType("pulumi:providers:aws") {
		if p.Name == "aws-dr" && strings.HasPrefix(r.Provider, p.URN+"::") {
			return true
		}
	}
	return false
}

// protections are the values the deletionProtection switch sets, as
// (type, logical name, input path, value when protected, value when not).
var protections = []struct {
	typ, name, path string
	on, off         any
}{
	{tCluster, "aurora", "deletionProtection", true, false},
	{tCluster, "aurora", "skipFinalSnapshot", false, true},
	{tCluster, "aurora", "deleteAutomatedBackups", false, true},
	{"aws:dynamodb/table:Table", "sessions-sessions", "deletionProtectionEnabled", true, false},
	{"aws:lb/loadBalancer:LoadBalancer", "alb", "enableDeletionProtection", true, false},
	{"aws:s3/bucketV2:BucketV2", "data", "forceDestroy", false, true},
	{"aws:s3/bucketV2:BucketV2", "logs", "forceDestroy", true, true},
	{"aws:kms/key:Key", "key-data", "deletionWindowInDays", 30, 7},
	{"aws:kms/key:Key", "key-telemetry", "deletionWindowInDays", 30, 7},
	{"aws:backup/vault:Vault", "vault", "forceDestroy", false, true},
}

func checkProtections(t *testing.T, rec *offline.Recording, on bool) {
	t.Helper()
	for _, p := range protections {
		want := p.off
		if on {
			want = p.on
		}
		eq(t, one(t, rec, p.typ, p.name), p.path, want)
	}
	c := one(t, rec, tCluster, "aurora")
	snap, has := c.Inputs["finalSnapshotIdentifier"]
	switch {
	case on && snap != "aurora-final-"+rec.Config["trading-ha:environmentSuffix"]:
		t.Errorf("finalSnapshotIdentifier = %v, want aurora-final-<suffix>", snap)
	case !on && has:
		t.Errorf("finalSnapshotIdentifier = %v on an unprotected stack; destroy would leave a snapshot", snap)
	}
}

// TestProtectedProdDestroyableDev: prod's stack file protects everything
// holding business data; dev stays one-step destroyable.
func TestProtectedProdDestroyableDev(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		checkProtections(t, rec, protected(stack))
	})
}

// TestTwoStepDestroyTurnsEveryProtectionOff: step one of the prod destroy
// (docs/deploy.md) is deletionProtection=false and `pulumi up`; with the
// key off, every protection is off and `pulumi destroy` removes it all.
// And the switch (with the accounts a protected stack must name) protects dev.
func TestTwoStepDestroyTurnsEveryProtectionOff(t *testing.T) {
	rec, err := recordWith(t, "prod", map[string]string{"trading-ha:deletionProtection": "false"})
	if err != nil {
		t.Fatal(err)
	}
	checkProtections(t, rec, false)
	// A protected stack must name its accounts (allowedAccountIds) and
	// the role it deploys with (deployRoleArn, docs/backup.md).
	rec, err = recordWith(t, "dev", map[string]string{"trading-ha:deletionProtection": "true", "trading-ha:allowedAccountIds": `["` + acct + `"]`,
		"trading-ha:deployRoleArn": "arn:aws:iam::" + acct + ":role/deploy-dev"})
	if err != nil {
		t.Fatal(err)
	}
	checkProtections(t, rec, true)
}
