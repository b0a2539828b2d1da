package tests

import (
	"regexp"
	"strings"
	"testing"

	"github.com/trading-ha/trading-ha/infra/naming"
	"github.com/trading-ha/trading-ha/proof/offline"
)

// unguarded returns the resources of a replace-prone type (naming.
// Replacements) whose replacement would collide with themselves: a fixed
// physical name where the decision is namePrefix, or a name without the
// keyed tail where it is a keyed suffix.
func unguarded(rec *offline.Recording, names naming.Namer) []string {
	var bad []string
	for _, d := range naming.Replacements {
		for _, r := range rec.ByType(d.Type) {
			input := d.NameInput
			if input == "" {
				input = "name"
			}
			name, _ := r.Inputs[input].(string)
			prefix, _ := r.Inputs["namePrefix"].(string)
			base := names.Name(d.Kind)
			if name != base && !strings.HasPrefix(name, base+"-") && prefix != names.Prefix(d.Kind) {
				continue // another kind of the same type
			}
			switch d.Guard {
			case naming.NamePrefix:
				if name != "" || prefix != names.Prefix(d.Kind) {
					bad = append(bad, r.URN+": want namePrefix "+names.Prefix(d.Kind)+" ("+d.Reason+")")
				}
			case naming.DeleteBeforeReplace:
				if !r.DeleteBeforeReplace {
					bad = append(bad, r.URN+": want deleteBeforeReplace ("+d.Reason+")")
				}
			case naming.KeyedSuffix:
				if !regexp.MustCompile("^" + regexp.QuoteMeta(base) + "-[0-9a-f]{8}$").MatchString(name) {
					bad = append(bad, r.URN+": want "+base+"-<8 hex of "+strings.Join(d.Forcing, ", ")+"> ("+d.Reason+")")
				}
			}
		}
	}
	return bad
}

// TestReplaceProneKindsAreGuarded lists the kinds whose replacement would
// collide with a fixed name and checks each recorded resource of them
// carries the decided guard.
func TestReplaceProneKindsAreGuarded(t *testing.T) {
	var kinds []string
	for _, d := range naming.Replacements {
		kinds = append(kinds, d.Kind.Type+" ("+string(d.Guard)+")")
	}
	t.Logf("replace-prone kinds: %s", strings.Join(kinds, ", "))
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		seen := 0
		for _, d := range naming.Replacements {
			seen += len(rec.ByType(d.Type))
		}
		if seen < 4 {
			t.Fatalf("%d resources of replace-prone types recorded; the table no longer matches the program", seen)
		}
		for _, b := range unguarded(rec, naming.New(stack)) {
			t.Error(b)
		}
	})
	// The check bites: a security group with a fixed name.
	fixed := &offline.Recording{Resources: []*offline.Resource{{Type: "aws:ec2/securityGroup:SecurityGroup", URN: "urn:fixed",
		Inputs: map[string]any{"name": "secgroup-db-dev"}}}}
	if len(unguarded(fixed, naming.New("dev"))) != 1 {
		t.Error("a fixed-name security group was not flagged")
	}
}

// TestTargetGroupNameFollowsItsPort: changing appPort (which replaces the
// target group) gives the new group a new name, so create-before-delete
// does not collide with the group the listener still uses.
func TestTargetGroupNameFollowsItsPort(t *testing.T) {
	base := one(t, record(t, "dev"), "aws:lb/targetGroup:TargetGroup", "app")
	rec, err := recordWith(t, "dev", map[string]string{"trading-ha:appPort": "8081"})
	if err != nil {
		t.Fatal(err)
	}
	moved := one(t, rec, "aws:lb/targetGroup:TargetGroup", "app")
	if base.Inputs["name"] == moved.Inputs["name"] {
		t.Errorf("appPort 8081 kept the target group name %v: the replacement would fail with a duplicate name", moved.Inputs["name"])
	}
	if len(unguarded(rec, naming.New("dev"))) != 0 {
		t.Errorf("appPort override left unguarded kinds: %v", unguarded(rec, naming.New("dev")))
	}
}
