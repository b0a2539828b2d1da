package tests

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/trading-ha/trading-ha/infra/paramtable"
	"github.com/trading-ha/trading-ha/proof/offline"
)

// secureVsInjected compares, in a recording, the SecureString parameters
// with the parameters the container reads via valueFrom; it returns the
// names in one set and not the other.
func secureVsInjected(t *testing.T, rec *offline.Recording) (secureOnly, injectedOnly []string) {
	t.Helper()
	secure := map[string]string{} // ARN -> name
	for _, p := range rec.ByType(tParameter) {
		if p.Inputs["type"] == "SecureString" {
			secure[out(t, p, "arn")] = p.Inputs["name"].(string)
		}
	}
	var defs []struct {
		Secrets []struct{ Name, ValueFrom string }
	}
	td := one(t, rec, "aws:ecs/taskDefinition:TaskDefinition", "app")
	if err := json.Unmarshal([]byte(td.Inputs["containerDefinitions"].(string)), &defs); err != nil {
		t.Fatal(err)
	}
	injected := map[string]bool{}
	for _, d := range defs {
		for _, s := range d.Secrets {
			if injected[s.ValueFrom] {
				continue // read twice by the app's task definition
			}
			if strings.HasPrefix(s.ValueFrom, "arn:aws:ssm:") {
				injected[s.ValueFrom] = true
				if _, ok := secure[s.ValueFrom]; !ok {
					injectedOnly = append(injectedOnly, s.Name+" <- "+s.ValueFrom)
				}
			}
		}
	}
	for arn, name := range secure {
		// The probes' client secrets are read by the canary and the smoke
		// test, not by the container.
		if !injected[arn] && !strings.Contains(name, "/probes/") {
			secureOnly = append(secureOnly, name)
		}
	}
	sort.Strings(secureOnly)
	sort.Strings(injectedOnly)
	return secureOnly, injectedOnly
}

// TestSecureParametersAreTheInjectedOnes: every SecureString parameter is
// one the container reads via valueFrom, and every parameter it reads via
// valueFrom is a SecureString; both come from infra/paramtable.
func TestSecureParametersAreTheInjectedOnes(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		secureOnly, injectedOnly := secureVsInjected(t, rec)
		if len(secureOnly) != 0 {
			t.Errorf("SecureString parameters the container does not read: %v", secureOnly)
		}
		if len(injectedOnly) != 0 {
			t.Errorf("container reads parameters that are not SecureString: %v", injectedOnly)
		}
		var paths []string
		for _, p := range rec.ByType(tParameter) {
			if p.Inputs["type"] == "SecureString" {
				paths = append(paths, strings.TrimPrefix(p.Inputs["name"].(string), "/trading/"+stack+"/"))
				eq(t, p, "keyId", keyArn(t, rec, "key-data"))
			}
		}
		want := []string{"probes/canary/client-secret", "probes/smoke/client-secret"}
		for _, r := range paramtable.Rows {
			want = append(want, r.Path)
		}
		sort.Strings(paths)
		sort.Strings(want)
		if !slices.Equal(paths, want) {
			t.Errorf("SecureString paths %v, want the table's %v", paths, want)
		}
	})
}

// TestSecureParameterCheckFires: the check turns red when a SecureString
// is not injected and when an injected parameter is a plain String.
func TestSecureParameterCheckFires(t *testing.T) {
	rec := record(t, "dev")
	mutated := &offline.Recording{Stack: rec.Stack, Config: rec.Config}
	for _, r := range rec.Resources {
		c := *r
		if r.Type == tParameter {
			c.Inputs = map[string]any{}
			for k, v := range r.Inputs {
				c.Inputs[k] = v
			}
			switch r.Name {
			case "params-param-env-region":
				c.Inputs["type"] = "SecureString"
			case "params-param-db-port":
				c.Inputs["type"] = "String"
			}
		}
		mutated.Resources = append(mutated.Resources, &c)
	}
	secureOnly, injectedOnly := secureVsInjected(t, mutated)
	if !slices.Equal(secureOnly, []string{"/trading/dev/env/region"}) || len(injectedOnly) != 1 || !strings.HasPrefix(injectedOnly[0], "DB_PORT") {
		t.Errorf("check on a mutated recording: secureOnly %v, injectedOnly %v", secureOnly, injectedOnly)
	}
}

// TestParamTableValuesOneToOne: the table is the one list of injected
// parameters. Each field of paramtable.Values (what the composition root
// fills) is the value of exactly one row, and each row reads exactly one
// field, so a row without a value or a value without a row fails here
// rather than in a deploy.
func TestParamTableValuesOneToOne(t *testing.T) {
	if msg := valuesOneToOne(paramtable.Rows); msg != "" {
		t.Error(msg)
	}
	// The check fires: a row reading another row's field, and a row
	// reading none.
	broken := slices.Clone(paramtable.Rows)
	broken[1].Value = broken[0].Value
	if valuesOneToOne(broken) == "" {
		t.Error("a field read by two rows passes")
	}
	broken = slices.Clone(paramtable.Rows)
	broken[0].Value = func(paramtable.Values) pulumi.StringInput { return nil }
	if valuesOneToOne(broken) == "" {
		t.Error("a row without a value passes")
	}
}

func valuesOneToOne(rows []paramtable.Injected) string {
	typ := reflect.TypeOf(paramtable.Values{})
	perRow := make([]int, len(rows))
	for i := 0; i < typ.NumField(); i++ {
		var v paramtable.Values
		reflect.ValueOf(&v).Elem().Field(i).Set(reflect.ValueOf(pulumi.String(typ.Field(i).Name)))
		users := 0
		for j, r := range rows {
			if r.Value(v) != nil {
				users++
				perRow[j]++
			}
		}
		if users != 1 {
			return fmt.Sprintf("paramtable.Values.%s is the value of %d rows, want 1", typ.Field(i).Name, users)
		}
	}
	for j, n := range perRow {
		if n != 1 {
			return fmt.Sprintf("row %s reads %d fields of paramtable.Values, want 1", rows[j].Env, n)
		}
	}
	return ""
}
