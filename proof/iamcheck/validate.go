package iamcheck

import (
	"encoding/json"
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"
)

// Kind is the role a policy document plays; it decides which elements the
// document must and must not have.
type Kind int

const (
	// Identity is a policy attached to a principal (role policy, managed
	// policy): no Principal element.
	Identity Kind = iota
	// Resource is a resource-based policy (key, bucket, topic, queue, bus,
	// vault, repository, endpoint, log resource policy): Principal required.
	Resource
	// Trust is a role's assume-role policy: Principal required, only sts
	// actions that assume a role or tag its session, no Resource.
	Trust
)

func (k Kind) String() string {
	switch k {
	case Identity:
		return "identity"
	case Resource:
		return "resource"
	case Trust:
		return "trust"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Severity grades a finding; the suite treats both as failures.
type Severity int

const (
	// Error is a document AWS rejects or a grant that can never apply.
	Error Severity = iota
	// Warning is a grant that works partly or depends on luck.
	Warning
)

func (s Severity) String() string {
	if s == Warning {
		return "warning"
	}
	return "error"
}

// Check names, one per rule; fixtures and allowlists refer to them.
const (
	CheckDocument  = "document"
	CheckAction    = "action"
	CheckOperator  = "condition-operator"
	CheckCondKey   = "condition-key"
	CheckCondType  = "condition-type"
	CheckResource  = "resource"
	CheckCoverage  = "resource-coverage"
	CheckPrincipal = "principal"
	CheckTrust     = "trust"
	// CheckTarget holds a resource-based policy to the resource it is
	// attached to (ValidateOn): a Resource that is neither that resource
	// nor something it contains, an action of another service, or an
	// action AWS authorizes on no resource type the Resource names. Such a
	// statement never matches: an Allow grants nothing, a Deny protects
	// nothing.
	CheckTarget = "resource-target"
)

// Finding is one problem in a document.
type Finding struct {
	Severity  Severity
	Check     string
	Statement string // Sid, or #<index> when the statement has none
	Message   string
}

func (f Finding) String() string {
	return fmt.Sprintf("%s [%s] statement %s: %s", f.Severity, f.Check, f.Statement, f.Message)
}

// Stats counts what Validate looked at.
type Stats struct {
	Statements int
	Actions    int
	Resources  int
	Conditions int
	Principals int
}

// Add adds o's counts to s, for totals over several documents.
func (s *Stats) Add(o Stats) {
	s.Statements += o.Statements
	s.Actions += o.Actions
	s.Resources += o.Resources
	s.Conditions += o.Conditions
	s.Principals += o.Principals
}

// trustActions are the actions a trust policy may allow: assuming the role
// and the session operations evaluated with it.
// https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_terms-and-concepts.html#iam-term-trust-policy
var trustActions = map[string]bool{
	"sts:assumerole":                true,
	"sts:assumerolewithsaml":        true,
	"sts:assumerolewithwebidentity": true,
	"sts:tagsession":                true,
	"sts:setsourceidentity":         true,
	"sts:setcontext":                true,
}

// baseOperators are IAM's condition operators without qualifiers.
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
var baseOperators = map[string]string{
	"StringEquals": "String", "StringNotEquals": "String",
	"StringEqualsIgnoreCase": "String", "StringNotEqualsIgnoreCase": "String",
	"StringLike": "String", "StringNotLike": "String",
	"NumericEquals": "Numeric", "NumericNotEquals": "Numeric",
	"NumericLessThan": "Numeric", "NumericLessThanEquals": "Numeric",
	"NumericGreaterThan": "Numeric", "NumericGreaterThanEquals": "Numeric",
	"DateEquals": "Date", "DateNotEquals": "Date",
	"DateLessThan": "Date", "DateLessThanEquals": "Date",
	"DateGreaterThan": "Date", "DateGreaterThanEquals": "Date",
	"Bool":         "Bool",
	"BinaryEquals": "Binary",
	"IpAddress":    "IPAddress", "NotIpAddress": "IPAddress",
	"ArnEquals": "ARN", "ArnLike": "ARN", "ArnNotEquals": "ARN", "ArnNotLike": "ARN",
	"Null": "Null",
}

// operatorFits reports whether an operator family applies to a key type.
// String operators work on ARN keys too (IAM compares the text).
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_ARN
func operatorFits(family, keyType string) bool {
	t := strings.TrimPrefix(keyType, "ArrayOf")
	switch family {
	case "Null":
		return true
	case "String":
		return t == "String" || t == "ARN"
	case "ARN":
		// AWS's own key policies use ArnLike on String keys that hold ARNs
		// (kms:EncryptionContext:aws:logs:arn), so only non-text keys fail.
		return t == "ARN" || t == "String"
	default:
		return t == family
	}
}

// parseOperator splits ForAnyValue:StringLikeIfExists into its parts.
func parseOperator(op string) (qualifier, base string, ifExists, ok bool) {
	base = op
	for _, q := range []string{"ForAnyValue:", "ForAllValues:"} {
		if strings.HasPrefix(base, q) {
			qualifier, base = strings.TrimSuffix(q, ":"), strings.TrimPrefix(base, q)
		}
	}
	if strings.HasSuffix(base, "IfExists") {
		base, ifExists = strings.TrimSuffix(base, "IfExists"), true
	}
	_, ok = baseOperators[base]
	if base == "Null" && ifExists {
		ok = false // Null tests presence; it has no IfExists form
	}
	return qualifier, base, ifExists, ok
}

type statement struct {
	Sid          string
	Effect       string
	Principal    json.RawMessage
	NotPrincipal json.RawMessage
	Action       strs
	NotAction    strs
	Resource     strs
	NotResource  strs
	Condition    map[string]map[string]json.RawMessage
}

// strs is an IAM element that may be a string or a list of strings.
type strs []string

func (s *strs) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*s = strs{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return fmt.Errorf("want a string or a list of strings: %w", err)
	}
	*s = many
	return nil
}

var statementKeys = map[string]bool{
	"Sid": true, "Effect": true, "Principal": true, "NotPrincipal": true, "Action": true,
	"NotAction": true, "Resource": true, "NotResource": true, "Condition": true,
}

// resolved is one action name of a statement and the reference actions it
// stands for (several for a wildcard).
type resolved struct {
	name     string
	service  string
	wildcard bool
	actions  []Action
}

// Validate checks one policy document (JSON) of the given kind. It returns
// the findings, counts of what it checked, and an error only when the
// document is not a JSON policy at all. A resource-based policy is checked
// more closely against the resource it is attached to with ValidateOn.
func (d *Data) Validate(doc string, kind Kind) ([]Finding, Stats, error) {
	return d.validate(doc, kind, nil)
}

func (d *Data) validate(doc string, kind Kind, target *Target) ([]Finding, Stats, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal([]byte(doc), &top); err != nil {
		return nil, Stats{}, fmt.Errorf("iamcheck: policy is not a JSON object: %w", err)
	}
	v := &validator{d: d, kind: kind, target: target}
	for k := range top {
		if k != "Version" && k != "Statement" && k != "Id" {
			v.add(Error, CheckDocument, "-", "unknown top-level element %q", k)
		}
	}
	var version string
	if raw, ok := top["Version"]; !ok || json.Unmarshal(raw, &version) != nil || version != "2012-10-17" {
		v.add(Warning, CheckDocument, "-", "Version is %q, want \"2012-10-17\" (policy variables need it)", version)
	}
	var raws []json.RawMessage
	if raw, ok := top["Statement"]; !ok {
		v.add(Error, CheckDocument, "-", "no Statement element")
	} else if json.Unmarshal(raw, &raws) != nil {
		raws = []json.RawMessage{raw} // a single statement object
	}
	var sts []*statement
	for i, raw := range raws {
		id := fmt.Sprintf("#%d", i)
		var keys map[string]json.RawMessage
		if err := json.Unmarshal(raw, &keys); err != nil {
			v.add(Error, CheckDocument, id, "statement is not an object: %v", err)
			continue
		}
		var st statement
		if err := json.Unmarshal(raw, &st); err != nil {
			v.add(Error, CheckDocument, id, "statement does not parse: %v", err)
			continue
		}
		if st.Sid != "" {
			id = st.Sid
		}
		for k := range keys {
			if !statementKeys[k] {
				v.add(Error, CheckDocument, id, "unknown element %q", k)
			}
		}
		v.stats.Statements++
		v.statement(id, &st)
		sts = append(sts, &st)
	}
	v.coverage(sts)
	sort.SliceStable(v.out, func(i, j int) bool { return v.out[i].String() < v.out[j].String() })
	return v.out, v.stats, nil
}

type validator struct {
	d      *Data
	kind   Kind
	target *Target // nil for Validate
	out    []Finding
	stats  Stats
}

func (v *validator) add(s Severity, check, stmt, format string, args ...any) {
	v.out = append(v.out, Finding{Severity: s, Check: check, Statement: stmt, Message: fmt.Sprintf(format, args...)})
}

func (v *validator) statement(id string, st *statement) {
	if st.Effect != "Allow" && st.Effect != "Deny" {
		v.add(Error, CheckDocument, id, "Effect is %q, want Allow or Deny", st.Effect)
	}
	if (len(st.Action) == 0) == (len(st.NotAction) == 0) {
		v.add(Error, CheckDocument, id, "needs exactly one of Action and NotAction")
	}
	hasPrincipal := len(st.Principal) > 0 || len(st.NotPrincipal) > 0
	hasResource := len(st.Resource) > 0 || len(st.NotResource) > 0
	switch v.kind {
	case Identity:
		if hasPrincipal {
			v.add(Error, CheckPrincipal, id, "an identity policy cannot name a Principal")
		}
		if !hasResource {
			v.add(Error, CheckDocument, id, "needs Resource or NotResource")
		}
	case Resource:
		if !hasPrincipal {
			v.add(Error, CheckPrincipal, id, "a resource policy needs a Principal")
		}
	case Trust:
		if !hasPrincipal {
			v.add(Error, CheckTrust, id, "a trust policy needs a Principal")
		}
		if hasResource {
			v.add(Error, CheckTrust, id, "a trust policy cannot name a Resource (the role is the resource)")
		}
		if len(st.NotAction) > 0 {
			v.add(Error, CheckTrust, id, "a trust policy should list its sts actions, not NotAction")
		}
		for _, a := range st.Action {
			if !trustActions[strings.ToLower(a)] {
				v.add(Error, CheckTrust, id, "action %s is not one a trust policy grants (sts:AssumeRole, sts:AssumeRoleWithWebIdentity, sts:AssumeRoleWithSAML, sts:TagSession, sts:SetSourceIdentity, sts:SetContext)", a)
			}
		}
	}
	v.principal(id, st.Principal)
	v.principal(id, st.NotPrincipal)

	acts := v.actions(id, st.Action)
	v.actions(id, st.NotAction)
	v.conditions(id, st, acts)
	switch {
	case v.kind == Trust:
	case v.target != nil && len(v.target.Scopes) > 0:
		// The target decides which resource types "*" and each ARN name.
		v.resourceSyntax(id, st)
		v.onTarget(id, st, acts)
	default:
		v.resources(id, st, acts)
		if v.target != nil {
			v.onTarget(id, st, acts)
		}
	}
}

// actions resolves and checks Action or NotAction names.
func (v *validator) actions(id string, names []string) []resolved {
	var out []resolved
	for _, n := range names {
		v.stats.Actions++
		if n == "*" {
			out = append(out, resolved{name: n, wildcard: true})
			continue
		}
		svc, act, ok := strings.Cut(n, ":")
		if !ok || svc == "" || act == "" {
			v.add(Error, CheckAction, id, "action %q is not <service>:<action>", n)
			continue
		}
		svc = strings.ToLower(svc)
		s, ok := v.d.Services[svc]
		if !ok {
			if v.d.known[svc] {
				v.add(Error, CheckAction, id, "action %s: service %s is not in the reference subset; add it to proof/iamcheck/data/services.txt and run node gen.mjs", n, svc)
			} else {
				v.add(Error, CheckAction, id, "action %s: no service %q in the service authorization reference", n, svc)
			}
			continue
		}
		r := resolved{name: n, service: svc, wildcard: strings.ContainsAny(act, "*?")}
		if r.wildcard {
			pat := strings.ToLower(act)
			keys := make([]string, 0, len(s.Actions))
			for k := range s.Actions {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				if m, _ := path.Match(pat, k); m {
					r.actions = append(r.actions, s.Actions[k])
				}
			}
			if len(r.actions) == 0 {
				v.add(Error, CheckAction, id, "action %s matches no %s action", n, svc)
				continue
			}
		} else {
			a, ok := s.Actions[strings.ToLower(act)]
			if !ok {
				v.add(Error, CheckAction, id, "action %s does not exist in %s", n, svc)
				continue
			}
			r.actions = []Action{a}
		}
		out = append(out, r)
	}
	return out
}

// keysOf returns the condition keys an action supports: its own and those
// of its resource types, as listed in the reference. A policy on a target
// keeps the keys of every type too: a request through an S3 access point
// is also evaluated against the bucket policy, with the access point's
// keys (s3:DataAccessPointArn) in its context.
func (v *validator) keysOf(svc string, a Action) []string {
	keys := append([]string{}, a.ConditionKeys...)
	keys = append(keys, actionKeySupplements[strings.ToLower(svc+":"+a.Name)]...)
	for _, rt := range a.ResourceTypes {
		keys = append(keys, rt.ConditionKeys...)
		if t, ok := v.d.Services[svc].ResourceTypes[strings.ToLower(rt.Name)]; ok {
			keys = append(keys, t.ConditionKeys...)
		}
	}
	return keys
}

// actionKeySupplements are condition keys an action supports that the
// service authorization reference defines for the service but does not
// list on the action, each with the AWS documentation that says the action
// supports it.
var actionKeySupplements = map[string][]string{
	// Step Functions Developer Guide, "Call HTTPS APIs in Step Functions
	// workflows", IAM permissions to run an HTTP Task: the example policy
	// conditions states:InvokeHTTPEndpoint on states:HTTPMethod and
	// states:HTTPEndpoint; the reference defines both keys for states but
	// lists none on InvokeHTTPEndpoint.
	"states:invokehttpendpoint": {"states:HTTPEndpoint", "states:HTTPMethod"},
}

func keyListed(list []string, key string) bool {
	for _, k := range list {
		if strings.EqualFold(k, key) {
			return true
		}
		if strings.Contains(k, "${") {
			parts := placeholder.Split(k, -1)
			for i, p := range parts {
				parts[i] = regexp.QuoteMeta(p)
			}
			if re, err := regexp.Compile("(?i)^" + strings.Join(parts, ".+") + "$"); err == nil && re.MatchString(key) {
				return true
			}
		}
	}
	return false
}

func (v *validator) conditions(id string, st *statement, acts []resolved) {
	ops := make([]string, 0, len(st.Condition))
	for op := range st.Condition {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	for _, op := range ops {
		qualifier, base, ifExists, ok := parseOperator(op)
		if !ok {
			v.add(Error, CheckOperator, id, "condition operator %q is not an IAM operator", op)
		}
		keys := make([]string, 0, len(st.Condition[op]))
		for k := range st.Condition[op] {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, key := range keys {
			v.stats.Conditions++
			ck, found := v.conditionKey(id, key, acts, ifExists || base == "Null" || st.Effect == "Deny")
			if !found || !ok {
				continue
			}
			if !operatorFits(baseOperators[base], ck.Type) {
				v.add(Warning, CheckCondType, id, "%s on %s: the key is of type %s", op, key, ck.Type)
			}
			multi := strings.HasPrefix(ck.Type, "ArrayOf")
			if qualifier != "" && !multi {
				v.add(Warning, CheckCondType, id, "%s on single-valued key %s: set operators are for multivalued keys", op, key)
			}
			if qualifier == "" && multi && base != "Null" {
				v.add(Warning, CheckCondType, id, "%s on multivalued key %s needs ForAnyValue: or ForAllValues:", op, key)
			}
		}
	}
}

// conditionKey checks that key exists and applies to the statement's
// actions. lenient (IfExists, Null, Deny) drops the per-action warning.
func (v *validator) conditionKey(id, key string, acts []resolved, lenient bool) (ConditionKey, bool) {
	if g, ok := v.d.Global(key); ok {
		return g, true
	}
	svc, _, ok := strings.Cut(key, ":")
	if !ok {
		v.add(Error, CheckCondKey, id, "condition key %q has no service prefix", key)
		return ConditionKey{}, false
	}
	svc = strings.ToLower(svc)
	if svc == "aws" {
		v.add(Error, CheckCondKey, id, "condition key %s does not exist: not a global condition key", key)
		return ConditionKey{}, false
	}
	if _, ok := v.d.Services[svc]; !ok {
		if v.d.known[svc] {
			v.add(Error, CheckCondKey, id, "condition key %s: service %s is not in the reference subset; add it to proof/iamcheck/data/services.txt", key, svc)
		} else {
			v.add(Error, CheckCondKey, id, "condition key %s: no service %q in the service authorization reference", key, svc)
		}
		return ConditionKey{}, false
	}
	ck, ok := v.d.ServiceKey(svc, key)
	if !ok {
		v.add(Error, CheckCondKey, id, "condition key %s does not exist in %s", key, svc)
		return ConditionKey{}, false
	}
	var supported, unsupported []string
	for _, r := range acts {
		if r.name == "*" {
			supported = append(supported, r.name)
			continue
		}
		// A wildcard stands for many actions; it is enough that the key
		// applies to some of them (kms:Decrypt* with an encryption context).
		// A plain action resolves to one, which must list the key.
		some := false
		for _, a := range r.actions {
			if keyListed(v.keysOf(r.service, a), key) {
				some = true
				break
			}
		}
		if some {
			supported = append(supported, r.name)
		} else {
			unsupported = append(unsupported, r.name)
		}
	}
	switch {
	case len(acts) == 0:
	case len(supported) == 0:
		v.add(Error, CheckCondKey, id, "condition key %s applies to none of the actions %s", key, strings.Join(unsupported, ", "))
	case len(unsupported) > 0 && !lenient:
		v.add(Warning, CheckCondKey, id, "condition key %s does not apply to %s (the condition can never match for it; use ...IfExists or split the statement)", key, strings.Join(unsupported, ", "))
	}
	return ck, true
}

// resourceSyntax counts Resource and NotResource entries and reports those
// that are neither "*" nor an ARN.
func (v *validator) resourceSyntax(id string, st *statement) {
	v.stats.Resources += len(st.Resource) + len(st.NotResource)
	for _, r := range append(append([]string{}, st.Resource...), st.NotResource...) {
		if r != "*" && !strings.HasPrefix(r, "arn:") {
			v.add(Error, CheckResource, id, "resource %q is neither * nor an ARN", r)
		}
	}
}

// resources checks every Resource against the resource types of the
// statement's actions.
func (v *validator) resources(id string, st *statement, acts []resolved) {
	v.resourceSyntax(id, st)
	if len(st.Resource) == 0 || len(acts) == 0 {
		return
	}
	fitsAny := map[string]bool{}
	for _, r := range acts {
		if r.name == "*" {
			for _, res := range st.Resource {
				fitsAny[res] = true
			}
			continue
		}
		granted := false
		for _, a := range r.actions {
			if len(a.ResourceTypes) == 0 {
				for _, res := range st.Resource {
					if res == "*" {
						granted, fitsAny[res] = true, true
					}
				}
				continue
			}
			for _, res := range st.Resource {
				if v.fitsAction(r.service, a, res) {
					granted, fitsAny[res] = true, true
				}
			}
		}
		if granted {
			continue
		}
		if !r.wildcard && len(r.actions) == 1 && len(r.actions[0].ResourceTypes) == 0 {
			v.add(Error, CheckResource, id, "action %s supports only Resource \"*\", not %s", r.name, strings.Join(st.Resource, ", "))
		} else {
			v.add(Error, CheckResource, id, "action %s: no resource of %s fits its resource types (%s)", r.name, strings.Join(st.Resource, ", "), v.typeList(r))
		}
	}
	for _, res := range st.Resource {
		if !fitsAny[res] {
			v.add(Error, CheckResource, id, "resource %s fits no resource type of the statement's actions", res)
		}
	}
}

func (v *validator) fitsAction(svc string, a Action, res string) bool {
	if res == "*" {
		return true
	}
	for _, rt := range a.ResourceTypes {
		if p, ok := v.d.arns[svc+"/"+strings.ToLower(rt.Name)]; ok && p.fits(res) {
			return true
		}
	}
	return false
}

func (v *validator) typeList(r resolved) string {
	seen := map[string]bool{}
	var out []string
	for _, a := range r.actions {
		for _, rt := range a.ResourceTypes {
			if p, ok := v.d.arns[r.service+"/"+strings.ToLower(rt.Name)]; ok && !seen[rt.Name] {
				seen[rt.Name] = true
				out = append(out, rt.Name+" "+p.text)
			}
		}
	}
	if len(out) == 0 {
		return "only *"
	}
	return strings.Join(out, "; ")
}

// coverage checks each action an Allow names (not a wildcard) against the
// resource types the reference lists for it, across the document's Allow
// statements. A required type no statement covers is an error. An optional
// type is a warning only when the document names resources of that type for
// other actions: the resources are in scope, yet this action cannot touch
// them (rds:FailoverDBCluster granted on the cluster while the role knows the
// instances it may promote). Optional types the document never mentions
// (S3 access points) are alternatives, not gaps, and so are the optional
// types of an action with no required type (ec2:CreateTags lists 106 taggable
// types, any one of which is a valid target).
func (v *validator) coverage(sts []*statement) {
	if v.kind == Trust {
		return
	}
	type grant struct {
		svc string
		a   Action
		ids []string
		res []string
	}
	grants := map[string]*grant{}
	var order []string
	var named []string // every specific resource the document allows
	for _, st := range sts {
		if st.Effect == "Allow" {
			for _, r := range st.Resource {
				if r != "*" {
					named = append(named, r)
				}
			}
		}
	}
	for i, st := range sts {
		if st.Effect != "Allow" || len(st.Resource) == 0 {
			continue
		}
		id := st.Sid
		if id == "" {
			id = fmt.Sprintf("#%d", i)
		}
		for _, n := range st.Action {
			svc, act, ok := strings.Cut(n, ":")
			if !ok || strings.ContainsAny(act, "*?") {
				continue
			}
			svc = strings.ToLower(svc)
			s, ok := v.d.Services[svc]
			if !ok {
				continue
			}
			a, ok := s.Actions[strings.ToLower(act)]
			if !ok {
				continue
			}
			k := svc + ":" + strings.ToLower(act)
			g := grants[k]
			if g == nil {
				g = &grant{svc: svc, a: a}
				grants[k] = g
				order = append(order, k)
			}
			g.ids = append(g.ids, id)
			g.res = append(g.res, st.Resource...)
		}
	}
	for _, k := range order {
		g := grants[k]
		for _, rt := range g.a.ResourceTypes {
			p, ok := v.d.arns[g.svc+"/"+strings.ToLower(rt.Name)]
			if !ok {
				continue
			}
			covered := false
			for _, res := range g.res {
				if res == "*" || p.fits(res) {
					covered = true
					break
				}
			}
			if covered {
				continue
			}
			if rt.Required {
				v.add(Error, CheckCoverage, strings.Join(g.ids, ","), "%s:%s is granted on %s but not on its required resource type %s (%s)",
					g.svc, g.a.Name, strings.Join(g.res, ", "), rt.Name, p.text)
				continue
			}
			if !hasRequired(g.a) {
				continue
			}
			var inScope []string
			for _, r := range named {
				if p.fits(r) {
					inScope = append(inScope, r)
				}
			}
			if len(inScope) > 0 {
				v.add(Warning, CheckCoverage, strings.Join(g.ids, ","), "%s:%s is granted on %s but not on its optional resource type %s (%s), though the document names such resources: %s",
					g.svc, g.a.Name, strings.Join(g.res, ", "), rt.Name, p.text, strings.Join(inScope, ", "))
			}
		}
	}
}

var (
	accountID  = regexp.MustCompile(`^\d{12}$`)
	awsPrinARN = regexp.MustCompile(`^arn:aws[a-z-]*:(iam::\d{12}:(root|role/.+|user/.+|federated-user/.+)|sts::\d{12}:(assumed-role/.+|federated-user/.+))$`)
)

// principal checks a Principal or NotPrincipal element.
func (v *validator) principal(id string, raw json.RawMessage) {
	if len(raw) == 0 {
		return
	}
	var star string
	if json.Unmarshal(raw, &star) == nil {
		v.stats.Principals++
		if star != "*" {
			v.add(Error, CheckPrincipal, id, "principal %q: a string principal must be \"*\"", star)
		}
		return
	}
	var m map[string]strs
	if err := json.Unmarshal(raw, &m); err != nil {
		v.add(Error, CheckPrincipal, id, "principal does not parse: %v", err)
		return
	}
	types := make([]string, 0, len(m))
	for t := range m {
		types = append(types, t)
	}
	sort.Strings(types)
	for _, t := range types {
		for _, p := range m[t] {
			v.stats.Principals++
			switch t {
			case "Service":
				if !KnownServicePrincipal(p) {
					v.add(Error, CheckPrincipal, id, "service principal %q is not one AWS documents (proof/iamcheck/principals.go)", p)
				}
			case "AWS":
				if p != "*" && !accountID.MatchString(p) && !awsPrinARN.MatchString(p) {
					v.add(Error, CheckPrincipal, id, "AWS principal %q is not *, an account ID or an IAM/STS principal ARN", p)
				}
			case "Federated":
				if !strings.HasPrefix(p, "arn:") && !strings.Contains(p, ".") {
					v.add(Error, CheckPrincipal, id, "federated principal %q is neither a provider ARN nor a provider domain", p)
				}
			case "CanonicalUser":
			default:
				v.add(Error, CheckPrincipal, id, "principal type %q is not AWS, Service, Federated or CanonicalUser", t)
			}
		}
	}
}

func hasRequired(a Action) bool {
	for _, rt := range a.ResourceTypes {
		if rt.Required {
			return true
		}
	}
	return false
}
