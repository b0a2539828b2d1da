// Package policy is the compliance suite: rules in Go over a stack (Stack:
// a mocked run from proof/offline, or what the engine sends the policy
// pack in policy/), each mapped to an AWS Security Hub Foundational
// Security Best Practices (FSBP) control where one exists, or to one of our
// own IDs (TH-*) where the platform requires more than FSBP checks. A
// finding can be exempted only by a tag next to the resource,
// "policy-exempt:<rule id>" = reason, and every exemption is listed in the
// report.
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

// Violation is one resource breaking a rule, or, when Deferred, one
// resource the rule could not decide yet. Subject is the resource that
// carries the exemption tag (a bucket for its encryption configuration,
// a role for its inline policy).
type Violation struct {
	Subject *Resource
	Message string
	// Deferred says a value the rule needs is unknown until create (a
	// preview of new resources; see Unknown): no violation, and Message
	// says which value. The rule decides when the value is known.
	Deferred bool
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
	// Deferred is true when the rule could not decide: a value it needs
	// is unknown until create (Violation.Deferred).
	Deferred bool
}

func (f Finding) String() string {
	s := fmt.Sprintf("%-12s %s: %s", f.Rule, f.Resource, f.Message)
	if f.Exempt {
		s += " [exempt: " + f.Reason + "]"
	}
	if f.Deferred {
		s += " [deferred]"
	}
	return s
}

// DeferralPrefix starts the message of a deferred finding as the policy
// pack logs it to the engine (Deferral).
const DeferralPrefix = "policy deferred: "

// Deferral is a deferred finding as one log line: "policy deferred: <rule>
// on <urn>: <what is unknown>; ...". The policy pack logs it to the engine
// as an info message, since the analyzer protocol's diagnostics are all
// violations.
func (f Finding) Deferral() string {
	return DeferralPrefix + f.Rule + " on " + f.URN + ": " + f.Message + "; decided once the value is known (pulumi up analyzes each resource after its inputs resolve)"
}

// Evaluate runs every rule over the stack. It returns the open findings,
// the exempted ones and the deferred ones (a value the rule needs is
// unknown until create: neither open nor exempt), each sorted.
func Evaluate(s *Stack) (open, exempt, deferred []Finding) {
	for _, r := range Rules {
		o, e, d := r.Evaluate(s)
		open, exempt, deferred = append(open, o...), append(exempt, e...), append(deferred, d...)
	}
	sortFindings(open)
	sortFindings(exempt)
	sortFindings(deferred)
	return open, exempt, deferred
}

// Evaluate runs one rule and splits its findings into open, exempted and
// deferred, in the order Check reports them. An exempted subject's finding
// is exempt, deferred or not; a violation whose subject's tags are unknown
// is deferred, since whether it is exempted is not known yet.
func (r Rule) Evaluate(s *Stack) (open, exempt, deferred []Finding) {
	for _, v := range r.Check(s) {
		f := Finding{Rule: r.ID, Title: r.Title, Resource: v.Subject.Type + " " + v.Subject.Name, URN: v.Subject.URN, Message: v.Message, Deferred: v.Deferred}
		reason, ok, known := exemption(v.Subject, r.ID)
		switch {
		case ok:
			f.Exempt, f.Reason = true, reason
			exempt = append(exempt, f)
		case !known && !f.Deferred:
			f.Deferred, f.Message = true, f.Message+"; exemption tags unknown until create"
			deferred = append(deferred, f)
		case f.Deferred:
			deferred = append(deferred, f)
		default:
			open = append(open, f)
		}
	}
	return open, exempt, deferred
}

func sortFindings(fs []Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		if fs[i].Rule != fs[j].Rule {
			return fs[i].Rule < fs[j].Rule
		}
		return fs[i].Resource < fs[j].Resource
	})
}

// exemption reads policy-exempt:<id> from the subject's tags; known is
// false when the tags or that tag's value are unknown.
func exemption(r *Resource, id string) (reason string, ok, known bool) {
	v := value(r, "tags")
	if IsUnknown(v) {
		return "", false, false
	}
	tags, _ := v.(map[string]any)
	if IsUnknown(tags[ExemptTagPrefix+id]) {
		return "", false, false
	}
	reason, ok = tags[ExemptTagPrefix+id].(string)
	return reason, ok && strings.TrimSpace(reason) != "", true
}

// --- helpers over recorded inputs (the accessors are in unknown.go) ---

// attached finds the resources of typ whose input field refers to owner
// (bucket configurations, policies, associations): by value when it is
// known (owner's ID, arn, name or bucket), or, where it is unknown or
// empty (a preview of a new stack), by the field's dependency on owner's
// URN, which the engine knows before any value.
func attached(rec *Stack, typ, field string, owner *Resource) []*Resource {
	var out []*Resource
	for _, r := range rec.ByType(typ) {
		v, known := str(r, field)
		byValue := known && v != "" && (v == owner.ID || v == owner.Outputs["arn"] || v == owner.Outputs["name"] || v == owner.Outputs["bucket"])
		byDependency := (!known || v == "") && dependsOn(r, field, owner)
		if byValue || byDependency {
			out = append(out, r)
		}
	}
	return out
}

// dependsOn reports whether r's input field carries a dependency on owner.
func dependsOn(r *Resource, field string, owner *Resource) bool {
	return slices.Contains(r.PropertyDeps[field], owner.URN)
}

// each runs check on every resource of typ; a verdict that does not pass
// is a violation, or a deferred finding when the check deferred.
func each(rec *Stack, typ string, check func(r *Resource) verdict) []Violation {
	var out []Violation
	for _, r := range rec.ByType(typ) {
		if v := check(r); v.failed() {
			out = append(out, v.violation(r))
		}
	}
	return out
}
