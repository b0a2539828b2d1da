package tests

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/trading-ha/trading-ha/infra/backup"
	"github.com/trading-ha/trading-ha/infra/naming"
	"github.com/trading-ha/trading-ha/proof/offline"
)

// day2Change is a typical change to a deployed stack: config overrides, or
// an edit of files that are not the program's inputs.
type day2Change struct {
	name string
	// overrides per stack (the value may depend on the stack's own).
	overrides func(base *offline.Recording) map[string]string
	// edit changes files of a copy of the project (docs, say).
	edit func(t *testing.T, dir string)
}

// day2Diff is what the engine would do for one change, by URN.
type day2Diff struct {
	created, deleted []string
	// updated maps a URN to its changed inputs; replaced lists the URNs
	// whose changed inputs force a new resource.
	updated  map[string][]string
	replaced []string
}

// immutableTypes are pulumi-aws types every input change of which creates a
// new resource: an ECS task definition is a new revision
// (RegisterTaskDefinition; Terraform AWS provider docs r/ecs_task_definition:
// every argument "Forces new resource"), which never collides (the family
// name takes a new revision number).
var immutableTypes = []string{"aws:ecs/taskDefinition:TaskDefinition"}

// nameInputs are the inputs holding a resource's physical name; a change
// to one replaces the resource in every AWS type the program uses.
var nameInputs = []string{"name", "bucket", "identifier", "clusterIdentifier", "functionName", "alarmName", "roleName"}

// diffRecordings compares two recordings of one stack as the engine
// would: resources matched by URN (or alias), inputs compared per key.
func diffRecordings(base, next *offline.Recording) day2Diff {
	d := day2Diff{updated: map[string][]string{}}
	old := map[string]*offline.Resource{}
	for _, r := range base.Resources {
		old[r.URN] = r
	}
	seen := map[string]bool{}
	for _, r := range next.Resources {
		o, ok := old[r.URN]
		if !ok {
			d.created = append(d.created, r.URN)
			continue
		}
		seen[r.URN] = true
		if !r.Custom {
			continue
		}
		var changed []string
		keys := map[string]bool{}
		for k := range r.Inputs {
			keys[k] = true
		}
		for k := range o.Inputs {
			keys[k] = true
		}
		for k := range keys {
			if slices.Contains(r.IgnoreChanges, k) {
				continue // the engine keeps the old value (ignoreChanges)
			}
			if !reflect.DeepEqual(r.Inputs[k], o.Inputs[k]) {
				changed = append(changed, k)
			}
		}
		if len(changed) == 0 {
			continue
		}
		sort.Strings(changed)
		d.updated[r.URN] = changed
		if forcesReplace(r.Type, changed) {
			d.replaced = append(d.replaced, r.URN)
		}
	}
	for _, r := range base.Resources {
		if !seen[r.URN] {
			d.deleted = append(d.deleted, r.URN)
		}
	}
	sort.Strings(d.created)
	sort.Strings(d.deleted)
	sort.Strings(d.replaced)
	return d
}

// forcesReplace: a name input, an input naming.Replacements lists as
// replace-forcing for the type, or any input of an immutable type.
func forcesReplace(typ string, changed []string) bool {
	if slices.Contains(immutableTypes, typ) {
		return true
	}
	for _, c := range changed {
		if slices.Contains(nameInputs, c) {
			return true
		}
	}
	for _, rp := range naming.Replacements {
		if rp.Type != typ {
			continue
		}
		for _, c := range changed {
			if slices.Contains(rp.Forcing, c) {
				return true
			}
		}
	}
	return false
}

// physicalName is the name AWS holds a resource under, "" when unnamed.
func physicalName(r *offline.Resource) string {
	for _, k := range nameInputs {
		if v, ok := r.Inputs[k].(string); ok && v != "" {
			return v
		}
	}
	return ""
}

// collisions: a replacement (create-before-delete, Pulumi's default) or a
// create beside a delete that would need, while the old resource still
// exists, the physical name it holds.
func collisions(base, next *offline.Recording, d day2Diff) []string {
	byURN := func(rec *offline.Recording) map[string]*offline.Resource {
		m := map[string]*offline.Resource{}
		for _, r := range rec.Resources {
			m[r.URN] = r
		}
		return m
	}
	oldR, newR := byURN(base), byURN(next)
	var out []string
	for _, u := range d.replaced {
		o, n := oldR[u], newR[u]
		if n.Type == "aws:ecs/taskDefinition:TaskDefinition" {
			continue
		}
		if name := physicalName(n); name != "" && name == physicalName(o) && !deleteBeforeReplace(n.Type) {
			out = append(out, fmt.Sprintf("%s is replaced under the name it holds, %q", u, name))
		}
	}
	for _, c := range d.created {
		n := newR[c]
		for _, del := range d.deleted {
			o := oldR[del]
			if o.Type == n.Type && physicalName(n) != "" && physicalName(n) == physicalName(o) {
				out = append(out, fmt.Sprintf("%s is created under %q, which %s still holds", c, physicalName(n), del))
			}
		}
	}
	return out
}

func deleteBeforeReplace(typ string) bool {
	for _, rp := range naming.Replacements {
		if rp.Type == typ && rp.Guard == naming.DeleteBeforeReplace {
			return true
		}
	}
	return false
}

// urnType is a URN's resource type (the last of its type chain).
func urnType(urn string) string {
	parts := strings.Split(urn, "::")
	typ := parts[len(parts)-2]
	return typ[strings.LastIndex(typ, "$")+1:]
}

// short names a URN by type (without package and module) and name.
func short(urn string) string {
	typ := urnType(urn)
	parts := strings.Split(urn, "::")
	return typ[strings.LastIndex(typ, ":")+1:] + " " + parts[len(parts)-1]
}

var day2Changes = []day2Change{
	{name: "appPort 8080 -> 8081", overrides: func(*offline.Recording) map[string]string {
		return map[string]string{"trading-ha:appPort": "8081"}
	}},
	{name: "dbInstanceClass -> db.r7g.xlarge", overrides: func(*offline.Recording) map[string]string {
		return map[string]string{"trading-ha:dbInstanceClass": "db.r7g.xlarge"}
	}},
	{name: "desiredCount +3 (one more task per AZ, with minCapacity)", overrides: func(base *offline.Recording) map[string]string {
		n := 3
		if v, ok := base.Config["trading-ha:desiredCount"]; ok {
			fmt.Sscan(v, &n)
		}
		// Config requires minCapacity >= desiredCount (both move together)
		// and a floor the AZs left carry when one is lost (a multiple of 3).
		return map[string]string{"trading-ha:desiredCount": fmt.Sprint(n + 3), "trading-ha:minCapacity": fmt.Sprint(n + 3)}
	}},
	{name: "canarySchedule -> rate(2 minutes)", overrides: func(*offline.Recording) map[string]string {
		return map[string]string{"trading-ha:canarySchedule": "rate(2 minutes)"}
	}},
	{name: "a desk added (rates-tky)", overrides: func(base *offline.Recording) map[string]string {
		desks := `["eq-ldn","fx-nyc"]`
		if v, ok := base.Config["trading-ha:tradingDesks"]; ok {
			desks = v
		}
		return map[string]string{"trading-ha:tradingDesks": strings.TrimSuffix(strings.TrimSpace(desks), "]") + `,"rates-tky"]`}
	}},
	{name: "backupRetentionDays +5", overrides: func(base *offline.Recording) map[string]string {
		n := 0
		if v, ok := base.Config["trading-ha:backupRetentionDays"]; ok {
			fmt.Sscan(v, &n)
		}
		return map[string]string{"trading-ha:backupRetentionDays": fmt.Sprint(n + 5)}
	}},
	{name: "doc edit (README, docs/)", edit: func(t *testing.T, dir string) {
		for _, f := range []string{"README.md", "docs/deploy.md"} {
			p := filepath.Join(dir, f)
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, append(b, "\nEdited.\n"...), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}},
}

// TestDay2Changes applies each typical change to each recorded stack and
// holds what the engine would do to the rules of a second `pulumi up`: no
// replacement under a name the old resource holds, the image inputs
// unchanged (no change touches app/), and every change visible where it
// belongs. The per-change table is logged (go test -v -run TestDay2Changes).
func TestDay2Changes(t *testing.T) {
	imageTypes := []string{"docker-build:index:Image", "aws:ecr/repository:Repository"}
	forStacks(t, func(t *testing.T, stack string, base *offline.Recording) {
		for _, c := range day2Changes {
			t.Run(c.name, func(t *testing.T) {
				var next *offline.Recording
				var err error
				if c.edit != nil {
					dir := t.TempDir()
					copyTree(t, "..", dir, []string{"Pulumi.yaml", "Pulumi." + stack + ".yaml", "go.mod", "go.sum", "app", "README.md", "docs"})
					c.edit(t, dir)
					next, err = offline.Run(dir, stack, nil)
				} else {
					next, err = offline.Run("..", stack, c.overrides(base))
				}
				if err != nil {
					t.Fatalf("record with the change: %v", err)
				}
				d := diffRecordings(base, next)
				for _, col := range collisions(base, next, d) {
					t.Error(col)
				}
				for u, keys := range d.updated {
					if slices.Contains(imageTypes, urnType(u)) {
						t.Errorf("%s changes the image inputs %v: the image is rebuilt although app/ did not change", short(u), keys)
					}
				}
				deployMayApply(t, next, d)
				var lines []string
				for _, u := range d.replaced {
					lines = append(lines, "replace "+short(u)+" "+strings.Join(d.updated[u], ","))
				}
				for u, keys := range d.updated {
					if !slices.Contains(d.replaced, u) {
						lines = append(lines, "update  "+short(u)+" "+strings.Join(keys, ","))
					}
				}
				for _, u := range d.created {
					lines = append(lines, "create  "+short(u))
				}
				for _, u := range d.deleted {
					lines = append(lines, "delete  "+short(u))
				}
				sort.Strings(lines)
				if len(lines) == 0 {
					lines = []string{"nothing"}
				}
				t.Logf("%s / %s:\n  %s", stack, c.name, strings.Join(lines, "\n  "))
				day2Expect(t, c.name, d, lines)
			})
		}
	})
}

// day2Expect holds each change to what it must do.
func day2Expect(t *testing.T, change string, d day2Diff, lines []string) {
	t.Helper()
	has := func(prefix string) bool {
		for _, l := range lines {
			if strings.HasPrefix(l, prefix) {
				return true
			}
		}
		return false
	}
	switch {
	case strings.HasPrefix(change, "doc edit"):
		if len(lines) != 1 || lines[0] != "nothing" {
			t.Errorf("a doc edit changes the stack: %v", lines)
		}
	case strings.HasPrefix(change, "appPort"):
		if !has("replace TargetGroup") || !has("replace TaskDefinition") {
			t.Errorf("appPort: want the target group and the task definition replaced, got %v", lines)
		}
	case strings.HasPrefix(change, "canarySchedule"):
		if !has("update  Canary") || len(d.replaced) != 0 {
			t.Errorf("canarySchedule: want the canary updated in place and nothing replaced, got %v", lines)
		}
	case strings.HasPrefix(change, "a desk added"):
		if !has("create  UserPoolClient") {
			t.Errorf("a desk added: want a new app client, got %v", lines)
		}
	case strings.HasPrefix(change, "desiredCount"):
		// Autoscaling owns the running count: the service keeps it
		// (ignoreChanges), the scaling target's minimum moves.
		if has("update  Service") || !has("update  Target service-app minCapacity") {
			t.Errorf("desiredCount: want the scaling target updated and the service left to autoscaling, got %v", lines)
		}
	case strings.HasPrefix(change, "backupRetentionDays"):
		if !has("update  Plan backup-plan rules") || len(d.replaced) != 0 {
			t.Errorf("backupRetentionDays: want the plan updated in place, got %v", lines)
		}
	case strings.HasPrefix(change, "dbInstanceClass"):
		if !has("update  ClusterInstance") {
			t.Errorf("dbInstanceClass: want the instances updated in place, got %v", lines)
		}
	}
}

// vaultGuarded are the updates our vault access policies guard: changing
// a vault's lock or its policy calls the LockActions.
var vaultGuarded = []string{"aws:backup/vaultLockConfiguration:VaultLockConfiguration", "aws:backup/vaultPolicy:VaultPolicy"}

// deployMayApply: when a change updates a vault's lock or policy, every
// vault access policy of the changed stack exempts the deploy role
// (deployRoleArn) from the Deny of those actions, so the deploy role's
// `pulumi up` is not refused by our own policy.
func deployMayApply(t *testing.T, next *offline.Recording, d day2Diff) {
	t.Helper()
	touched := false
	for u := range d.updated {
		touched = touched || slices.Contains(vaultGuarded, urnType(u))
	}
	if !touched {
		return
	}
	deploy := next.Config["trading-ha:deployRoleArn"]
	for _, vp := range next.ByType("aws:backup/vaultPolicy:VaultPolicy") {
		var doc policyDoc
		jsonInput(t, vp, "policy", &doc)
		got := exempted(t, doc, vp.Name)
		for _, a := range backup.LockActions {
			if ex, denied := got[a]; denied && (deploy == "" || !slices.Contains(ex, deploy)) {
				t.Errorf("%s denies %s to the deploy role %q: the update that changes the vault lock would fail with AccessDenied", vp.Name, a, deploy)
			}
		}
	}
}
