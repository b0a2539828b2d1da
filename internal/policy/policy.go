// Package policy is the compliance suite: rules in Go over a recorded stack
// (internal/offline), each mapped to an AWS Security Hub Foundational
// Security Best Practices (FSBP) control where one exists, or to one of our
// own IDs (TH-*) where the brief asks for more. A finding can be exempted
// only by a tag next to the resource, "policy-exempt:<rule id>" = reason,
// and every exemption is listed in the report.
package policy

import (
	"fmt"
	"sort"
	"strings"

	"github.com/trading-ha/trading-ha/infra/tags"
	"github.com/trading-ha/trading-ha/internal/offline"
)

// ExemptTagPrefix starts the tag key that exempts a resource from a rule.
const ExemptTagPrefix = tags.ExemptPrefix

// Rule is one compliance check.
type Rule struct {
	// ID is the rule's identifier: the FSBP control ID, or TH-* for ours.
	ID string
	// Title says what the rule demands.
	Title string
	// Check returns a violation per offending resource.
	Check func(*offline.Recording) []Violation
}

// Violation is one resource breaking a rule. Subject is the resource that
// carries the exemption tag (a bucket for its encryption configuration,
// a role for its inline policy).
type Violation struct {
	Subject *offline.Resource
	Message string
}

// Finding is a violation with its rule and exemption status.
type Finding struct {
	Rule     string
	Title    string
	Resource string
	Message  string
	// Exempt is true when the subject carries policy-exempt:<Rule>.
	Exempt bool
	Reason string
}

func (f Finding) String() string {
	s := fmt.Sprintf("%-12s %s: %s", f.Rule, f.Resource, f.Message)
	if f.Exempt {
		s += " [exempt: " + f.Reason + "]"
	}
	return s
}

// Evaluate runs every rule over the recording. It returns the open
// findings and the exempted ones, each sorted.
func Evaluate(rec *offline.Recording) (open, exempt []Finding) {
	for _, r := range Rules {
		for _, v := range r.Check(rec) {
			f := Finding{Rule: r.ID, Title: r.Title, Resource: v.Subject.Type + " " + v.Subject.Name, Message: v.Message}
			if reason, ok := exemption(v.Subject, r.ID); ok {
				f.Exempt, f.Reason = true, reason
				exempt = append(exempt, f)
				continue
			}
			open = append(open, f)
		}
	}
	less := func(fs []Finding) func(i, j int) bool {
		return func(i, j int) bool {
			if fs[i].Rule != fs[j].Rule {
				return fs[i].Rule < fs[j].Rule
			}
			return fs[i].Resource < fs[j].Resource
		}
	}
	sort.Slice(open, less(open))
	sort.Slice(exempt, less(exempt))
	return open, exempt
}

// exemption reads policy-exempt:<id> from the subject's tags.
func exemption(r *offline.Resource, id string) (string, bool) {
	tags, _ := r.Inputs["tags"].(map[string]any)
	reason, ok := tags[ExemptTagPrefix+id].(string)
	return reason, ok && strings.TrimSpace(reason) != ""
}

// --- helpers over recorded inputs ---

func str(r *offline.Resource, path string) string {
	v, _ := lookup(r.Inputs, path).(string)
	return v
}

func boolean(r *offline.Resource, path string) bool {
	v, _ := lookup(r.Inputs, path).(bool)
	return v
}

func number(r *offline.Resource, path string) float64 {
	v, _ := lookup(r.Inputs, path).(float64)
	return v
}

func list(r *offline.Resource, path string) []any {
	v, _ := lookup(r.Inputs, path).([]any)
	return v
}

// lookup walks a dotted path through plain values (offline.Lookup).
var lookup = offline.Lookup

// attached finds the resources of typ whose input field refers to owner's
// ID (bucket configurations, policies, associations).
func attached(rec *offline.Recording, typ, field string, owner *offline.Resource) []*offline.Resource {
	var out []*offline.Resource
	for _, r := range rec.ByType(typ) {
		if v := str(r, field); v != "" && (v == owner.ID || v == owner.Outputs["arn"] || v == owner.Outputs["name"] || v == owner.Outputs["bucket"]) {
			out = append(out, r)
		}
	}
	return out
}

func each(rec *offline.Recording, typ string, check func(r *offline.Resource) string) []Violation {
	var out []Violation
	for _, r := range rec.ByType(typ) {
		if msg := check(r); msg != "" {
			out = append(out, Violation{Subject: r, Message: msg})
		}
	}
	return out
}
