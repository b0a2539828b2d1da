// Package policy is the compliance suite: rules in Go over a stack (Stack:
// a mocked run from internal/offline, or what the engine sends the policy
// pack in policy/), each mapped to an AWS Security Hub Foundational
// Security Best Practices (FSBP) control where one exists, or to one of our
// own IDs (TH-*) where the brief asks for more. A finding can be exempted
// only by a tag next to the resource, "policy-exempt:<rule id>" = reason,
// and every exemption is listed in the report.
package policy

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/trading-ha/trading-ha/infra/tags"
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
	Check func(*Stack) []Violation
	// PerResource says Check reads only the resource it reports (and the
	// stack config), so a Stack holding that resource alone gives the same
	// findings: the policy pack runs such a rule on each resource as the
	// engine registers it; every other rule needs the whole stack.
	PerResource bool
}

// fsbpID is the shape of a Security Hub control ID ("S3.17"); our own IDs
// (TH-*, DynamoDB.KMS) do not have it.
var fsbpID = regexp.MustCompile(`^[A-Za-z0-9]+\.[0-9]+$`)

// Control is the AWS Security Hub FSBP control the rule implements, or ""
// for our own rules.
func (r Rule) Control() string {
	if fsbpID.MatchString(r.ID) {
		return r.ID
	}
	return ""
}

// Description is the rule's title with the control it implements.
func (r Rule) Description() string {
	if c := r.Control(); c != "" {
		return r.Title + " (AWS Security Hub FSBP " + c + ")"
	}
	return r.Title + " (trading-ha " + r.ID + ")"
}

// Violation is one resource breaking a rule. Subject is the resource that
// carries the exemption tag (a bucket for its encryption configuration,
// a role for its inline policy).
type Violation struct {
	Subject *Resource
	Message string
}

// Finding is a violation with its rule and exemption status.
type Finding struct {
	Rule     string
	Title    string
	Resource string
	// URN is the subject's URN (what the policy pack reports).
	URN     string
	Message string
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

// Evaluate runs every rule over the stack. It returns the open findings
// and the exempted ones, each sorted.
func Evaluate(s *Stack) (open, exempt []Finding) {
	for _, r := range Rules {
		o, e := r.Evaluate(s)
		open, exempt = append(open, o...), append(exempt, e...)
	}
	sortFindings(open)
	sortFindings(exempt)
	return open, exempt
}

// Evaluate runs one rule and splits its findings by exemption, in the
// order Check reports them.
func (r Rule) Evaluate(s *Stack) (open, exempt []Finding) {
	for _, v := range r.Check(s) {
		f := Finding{Rule: r.ID, Title: r.Title, Resource: v.Subject.Type + " " + v.Subject.Name, URN: v.Subject.URN, Message: v.Message}
		if reason, ok := exemption(v.Subject, r.ID); ok {
			f.Exempt, f.Reason = true, reason
			exempt = append(exempt, f)
			continue
		}
		open = append(open, f)
	}
	return open, exempt
}

func sortFindings(fs []Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		if fs[i].Rule != fs[j].Rule {
			return fs[i].Rule < fs[j].Rule
		}
		return fs[i].Resource < fs[j].Resource
	})
}

// exemption reads policy-exempt:<id> from the subject's tags.
func exemption(r *Resource, id string) (string, bool) {
	tags, _ := r.Inputs["tags"].(map[string]any)
	reason, ok := tags[ExemptTagPrefix+id].(string)
	return reason, ok && strings.TrimSpace(reason) != ""
}

// --- helpers over recorded inputs ---

func str(r *Resource, path string) string {
	v, _ := lookup(r.Inputs, path).(string)
	return v
}

func boolean(r *Resource, path string) bool {
	v, _ := lookup(r.Inputs, path).(bool)
	return v
}

func number(r *Resource, path string) float64 {
	v, _ := lookup(r.Inputs, path).(float64)
	return v
}

func list(r *Resource, path string) []any {
	v, _ := lookup(r.Inputs, path).([]any)
	return v
}

// attached finds the resources of typ whose input field refers to owner's
// ID (bucket configurations, policies, associations): by value, or, where
// the value is not known yet (a preview of a new stack), by the field's
// dependency on owner's URN.
func attached(rec *Stack, typ, field string, owner *Resource) []*Resource {
	var out []*Resource
	for _, r := range rec.ByType(typ) {
		if v := str(r, field); (v != "" && (v == owner.ID || v == owner.Outputs["arn"] || v == owner.Outputs["name"] || v == owner.Outputs["bucket"])) ||
			(v == "" && slices.Contains(r.PropertyDeps[field], owner.URN)) {
			out = append(out, r)
		}
	}
	return out
}

func each(rec *Stack, typ string, check func(r *Resource) string) []Violation {
	var out []Violation
	for _, r := range rec.ByType(typ) {
		if msg := check(r); msg != "" {
			out = append(out, Violation{Subject: r, Message: msg})
		}
	}
	return out
}
