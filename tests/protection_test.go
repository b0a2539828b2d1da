package tests

import (
	"strings"
	"testing"

	"github.com/trading-ha/trading-ha/proof/offline"
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
// (type, logical name, input path, value when protected, value when not);
// optional ones exist only in some stacks (the DR vault and key with
// drRegion, the trail bucket with auditTrail) and are checked where they do.
var protections = []struct {
	typ, name, path string
	on, off         any
	optional        bool
}{
	{tCluster, "aurora", "deletionProtection", true, false, false},
	{tCluster, "aurora", "skipFinalSnapshot", false, true, false},
	{tCluster, "aurora", "deleteAutomatedBackups", false, true, false},
	{"aws:dynamodb/table:Table", "sessions-sessions", "deletionProtectionEnabled", true, false, false},
	{"aws:lb/loadBalancer:LoadBalancer", "alb", "enableDeletionProtection", true, false, false},
	{"aws:s3/bucketV2:BucketV2", "data", "forceDestroy", false, true, false},
	{"aws:s3/bucketV2:BucketV2", "logs", "forceDestroy", true, true, false},
	{"aws:kms/key:Key", "key-data", "deletionWindowInDays", 30, 7, false},
	{"aws:kms/key:Key", "key-telemetry", "deletionWindowInDays", 30, 7, false},
	{"aws:backup/vault:Vault", "vault", "forceDestroy", false, true, false},
	{"aws:cognito/userPool:UserPool", "pool", "deletionProtection", "ACTIVE", "INACTIVE", false},
	{"aws:backup/vault:Vault", "vault-dr", "forceDestroy", false, true, true},
	{"aws:kms/key:Key", "dr-key", "deletionWindowInDays", 30, 7, true},
	{"aws:s3/bucketV2:BucketV2", "trail", "forceDestroy", false, true, true},
}

func checkProtections(t *testing.T, rec *offline.Recording, on bool) {
	t.Helper()
	for _, p := range protections {
		want := p.off
		if on {
			want = p.on
		}
		r, err := rec.One(p.typ, p.name)
		switch {
		case err != nil && p.optional:
			continue
		case err != nil:
			t.Fatal(err)
		}
		eq(t, r, p.path, want)
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
// (docs/destroy.md) is deletionProtection=false with dbReaderMaxCount
// pinned to dbReaderCount, and `pulumi up`; with the key off, every
// protection is off, the readers Aurora Auto Scaling added are scaled in,
// and `pulumi destroy` removes it all. And the switch (with the accounts a
// protected stack must name) protects dev.
func TestTwoStepDestroyTurnsEveryProtectionOff(t *testing.T) {
	rec, err := recordWith(t, "prod", map[string]string{"trading-ha:deletionProtection": "false", "trading-ha:dbReaderMaxCount": "2"})
	if err != nil {
		t.Fatal(err)
	}
	checkProtections(t, rec, false)
	readersPinned(t, rec)
	// A protected stack must name its accounts (allowedAccountIds) and
	// the role it deploys with (deployRoleArn, docs/backup.md).
	rec, err = recordWith(t, "dev", map[string]string{"trading-ha:deletionProtection": "true", "trading-ha:allowedAccountIds": `["` + acct + `"]`,
		"trading-ha:deployRoleArn": "arn:aws:iam::" + acct + ":role/deploy-dev"})
	if err != nil {
		t.Fatal(err)
	}
	checkProtections(t, rec, true)
}

// readersPinned asserts the Aurora reader scaling target cannot scale out:
// its maximum is its minimum, the readers Pulumi creates.
func readersPinned(t *testing.T, rec *offline.Recording) {
	t.Helper()
	target := one(t, rec, tScaleTarget, "aurora-readers")
	if lo, hi := get(t, target, "minCapacity"), get(t, target, "maxCapacity"); !same(lo, hi) {
		t.Errorf("reader scaling target min %v max %v on an unprotected stack: readers Aurora Auto Scaling adds would block `pulumi destroy`", lo, hi)
	}
}

// TestUnprotectedStacksDoNotScaleReaders: a stack without deletion
// protection promises a one-step destroy, so its reader autoscaling is
// pinned (readers AWS adds are not deleted with the stack and a cluster
// with instances cannot be deleted). Turning protection off without
// pinning, prod's old step one, is refused naming the key and the rule.
func TestUnprotectedStacksDoNotScaleReaders(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		if !protected(stack) {
			readersPinned(t, rec)
		}
	})
	rejects(t, "prod", map[string]string{"trading-ha:deletionProtection": "false"},
		[]string{"trading-ha:dbReaderMaxCount", `"5"`, "must equal dbReaderCount (2) while deletionProtection is false", "docs/destroy.md"})
	rejects(t, "dev", map[string]string{"trading-ha:dbReaderMaxCount": "3"},
		[]string{"trading-ha:dbReaderMaxCount", `"3"`, "must equal dbReaderCount (1) while deletionProtection is false"})
}
