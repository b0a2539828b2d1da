package iamcheck

import (
	"fmt"
	"sort"
	"strings"
)

// A resource-based policy governs only requests on the resource it is
// attached to and on what that resource contains: a bucket policy the
// bucket and its objects, a key policy its key, a topic, queue or bus
// policy their own topic, queue or bus (and the bus's rules), a vault
// access policy the vault and its recovery points. A statement whose
// Resource names something else, or whose action AWS authorizes on a
// resource type the Resource does not name, never matches a request: an
// Allow grants nothing and a Deny protects nothing, and AWS accepts both
// without a word. Target describes the attached resource so Validate can
// hold every statement to it.

// Scope is one kind of resource a resource-based policy governs: the
// attached resource itself or a kind of resource it contains.
type Scope struct {
	// Service and Type name the resource type in the service authorization
	// reference ("s3", "object"); actions match the scope when the
	// reference authorizes them on this type.
	Service, Type string
	// ARN is the ARN of the resources of this scope, with IAM wildcards:
	// arn:aws:s3:::logs-dev/* for the objects of bucket logs-dev. Empty
	// means any ARN of the type (the reference's pattern): AWS Backup
	// recovery points carry the ARN of the service that made them.
	ARN string

	toks    []tok // ARN, or the type's pattern when ARN is empty
	pattern []tok // the type's pattern in the reference
}

// Target is the resource a resource-based policy is attached to, as
// ValidateOn checks it.
type Target struct {
	// Name says what the policy is attached to, for findings.
	Name string
	// Scopes are what the policy governs, the attached resource first. A
	// Resource without wildcards names one resource: it belongs to the
	// first scope whose ARN it fits, and to none when it first fits a
	// scope's type but not its ARN, being another resource of that type (a
	// vault's own ARN is the vault and another vault's ARN is no recovery
	// point, although the reference's recovery point pattern is loose
	// enough to fit both). A Resource with wildcards, or "*", reaches every
	// scope it can match.
	Scopes []Scope
	// Services are the service prefixes whose requests the policy governs.
	// For the constructors with Scopes it is the scopes' services; a VPC
	// endpoint policy has no Scopes: it governs every request to its
	// service, on any resource, checked against the reference as in an
	// identity policy.
	Services []string
	// Kind is Resource for all but RoleTrust.
	Kind Kind

	// noResource, when set, is why a statement without Resource or
	// NotResource never matches on this target (the AWS page saying so).
	noResource string
}

// BucketPolicy is an S3 bucket policy on the bucket with this ARN
// (arn:aws:s3:::<name>): it governs the bucket and its objects (Amazon S3
// User Guide, "Bucket policies for Amazon S3": the Resource of a bucket
// policy is the bucket, arn:aws:s3:::<bucket>, or objects in it,
// arn:aws:s3:::<bucket>/<key>).
func BucketPolicy(bucketARN string) Target {
	return scoped("bucket "+bucketARN,
		Scope{Service: "s3", Type: "bucket", ARN: bucketARN},
		Scope{Service: "s3", Type: "object", ARN: bucketARN + "/*"})
}

// KeyPolicy is a KMS key policy on the key with this ARN. In a key policy
// the Resource "*" means this key (AWS KMS Developer Guide, "Key policies
// in AWS KMS", Resource element: "the asterisk (*) identifies the KMS key
// to which the key policy is attached"), so only actions AWS authorizes on
// the key resource type can match; the key's own ARN names it too. An
// empty keyARN stands for a key whose ARN is not known yet.
//
// A key policy statement without Resource has no effect, and KMS accepts
// it silently (AWS KMS API Reference, PutKeyPolicy and CreateKey, Policy:
// "If either of the required Resource or Action elements are missing from
// a key policy statement, the policy statement has no effect"): an error.
func KeyPolicy(keyARN string) Target {
	t := scoped("key "+orAny(keyARN), Scope{Service: "kms", Type: "key", ARN: keyARN})
	t.noResource = "AWS KMS API Reference, PutKeyPolicy: a key policy statement without Resource has no effect"
	return t
}

// TopicPolicy is an SNS topic policy: it governs its topic only.
func TopicPolicy(topicARN string) Target {
	return scoped("topic "+topicARN, Scope{Service: "sns", Type: "topic", ARN: topicARN})
}

// QueuePolicy is an SQS queue policy: it governs its queue only.
func QueuePolicy(queueARN string) Target {
	return scoped("queue "+queueARN, Scope{Service: "sqs", Type: "queue", ARN: queueARN})
}

// EventBusPolicy is an EventBridge event bus policy on the bus with this
// ARN (arn:<partition>:events:<region>:<account>:event-bus/<name>): it
// governs the bus and the rules on it, rule/<name>/<rule> (Amazon
// EventBridge User Guide, "Permissions for event buses in Amazon
// EventBridge": a bus policy can allow PutEvents, PutRule and PutTargets).
func EventBusPolicy(busARN string) (Target, error) {
	prefix, name, ok := strings.Cut(busARN, ":event-bus/")
	if !ok || name == "" || strings.Contains(name, "/") {
		return Target{}, fmt.Errorf("iamcheck: %q is not an event bus ARN (…:event-bus/<name>)", busARN)
	}
	return scoped("event bus "+busARN,
		Scope{Service: "events", Type: "event-bus", ARN: busARN},
		Scope{Service: "events", Type: "rule-on-custom-event-bus", ARN: prefix + ":rule/" + name + "/*"}), nil
}

// VaultPolicy is an AWS Backup vault access policy on the vault with this
// ARN. It governs the vault and the recovery points in it (AWS Backup
// Developer Guide, "Vault access policies": policies are assigned "to
// backup vaults and the resources they contain"); the reference authorizes
// the recovery point actions (backup:DeleteRecoveryPoint,
// backup:UpdateRecoveryPointLifecycle, backup:StartRestoreJob …) on the
// recoveryPoint type, whose ARN is the recovery point's (the page's "Deny
// access to a resource type in a backup vault" names EBS snapshot ARNs,
// its "Deny access to delete recovery points in a backup vault" names
// "*"), never the vault's. A Deny of those actions on the vault ARN alone
// protects no recovery point.
func VaultPolicy(vaultARN string) Target {
	return scoped("backup vault "+vaultARN,
		Scope{Service: "backup", Type: "backupVault", ARN: vaultARN},
		Scope{Service: "backup", Type: "recoveryPoint"})
}

// LogResourcePolicy is a CloudWatch Logs resource policy of an account in
// a region: it governs that account's log groups and log streams there
// (Amazon CloudWatch Logs API Reference, PutResourcePolicy: the policy
// allows AWS services "to put log events to this account").
func LogResourcePolicy(partition, region, account string) Target {
	base := "arn:" + partition + ":logs:" + region + ":" + account + ":log-group:"
	return scoped("the log groups of account "+account+" in "+region,
		Scope{Service: "logs", Type: "log-group", ARN: base + "*"},
		Scope{Service: "logs", Type: "log-stream", ARN: base + "*:log-stream:*"})
}

// endpointPrefixes are the endpoint service names whose IAM service prefix
// is not their first label (AWS PrivateLink Guide, "AWS services that
// integrate with AWS PrivateLink"; the prefixes are the service
// authorization reference's): CloudWatch's endpoint is monitoring, its
// actions cloudwatch:*.
var endpointPrefixes = map[string]string{"monitoring": "cloudwatch"}

// VPCEndpointPolicy is the policy of a VPC endpoint for the service named
// com.amazonaws.<region>.<service>[.<sub>] (ecr.api and ecr.dkr are ecr).
// An endpoint policy governs the requests that pass the endpoint, which
// are requests to that service on any of its resources (AWS PrivateLink
// Guide, "Control access to VPC endpoints using endpoint policies"): an
// action of another service never passes it.
func VPCEndpointPolicy(serviceName string) (Target, error) {
	parts := strings.Split(serviceName, ".")
	if len(parts) < 4 || parts[0] != "com" || parts[1] != "amazonaws" || !regionCode(parts[2]) {
		return Target{}, fmt.Errorf("iamcheck: %q is not an endpoint service name com.amazonaws.<region>.<service>", serviceName)
	}
	svc := parts[3]
	if p, ok := endpointPrefixes[svc]; ok {
		svc = p
	}
	return Target{Name: "VPC endpoint for " + serviceName, Services: []string{svc}, Kind: Resource}, nil
}

// RoleTrust is an IAM role's trust policy, the resource-based policy of
// the role: the role is its only resource, so it has no Resource element,
// and it grants only the sts actions that assume the role or shape its
// session (IAM User Guide, "Roles terms and concepts", trust policy).
func RoleTrust(roleName string) Target {
	return Target{Name: "trust policy of role " + roleName, Services: []string{"sts"}, Kind: Trust}
}

func scoped(name string, scopes ...Scope) Target {
	t := Target{Name: name, Scopes: scopes, Kind: Resource}
	for _, s := range scopes {
		if !containsFold(t.Services, s.Service) {
			t.Services = append(t.Services, s.Service)
		}
	}
	return t
}

func orAny(arn string) string {
	if arn == "" {
		return "(any)"
	}
	return arn
}

func containsFold(list []string, s string) bool {
	for _, e := range list {
		if strings.EqualFold(e, s) {
			return true
		}
	}
	return false
}

// ValidateOn checks a resource-based policy attached to t: everything
// Validate checks for the target's kind, and, statement by statement,
// that each action is one the attached resource's service authorizes,
// that each Resource is the attached resource or something it contains,
// and that each action can match some resource the Resource names.
func (d *Data) ValidateOn(doc string, t Target) ([]Finding, Stats, error) {
	if t.Kind == Identity {
		return nil, Stats{}, fmt.Errorf("iamcheck: target %s: an identity policy has no target; use Validate", t.Name)
	}
	if err := d.compile(&t); err != nil {
		return nil, Stats{}, err
	}
	return d.validate(doc, t.Kind, &t)
}

// compile resolves each scope's tokens; t is the caller's copy, so the
// Scopes slice is copied before it is written.
func (d *Data) compile(t *Target) error {
	t.Scopes = append([]Scope(nil), t.Scopes...)
	for i := range t.Scopes {
		s := &t.Scopes[i]
		p, ok := d.arns[strings.ToLower(s.Service)+"/"+strings.ToLower(s.Type)]
		if !ok {
			return fmt.Errorf("iamcheck: target %s: the reference has no resource type %s %s", t.Name, s.Service, s.Type)
		}
		s.pattern, s.toks = p.toks, p.toks
		if s.ARN != "" {
			s.toks = compileGlob(s.ARN)
		}
	}
	return nil
}

// reach returns the indexes of the scopes resource r can name.
func (t *Target) reach(r string) []int {
	var out []int
	if r == "*" {
		for i := range t.Scopes {
			out = append(out, i)
		}
		return out
	}
	concrete := !strings.ContainsAny(r, "*?") && !strings.Contains(r, "${")
	g := compileGlob(r)
	for i, s := range t.Scopes {
		switch {
		case intersects(s.toks, g):
			out = append(out, i)
			if concrete {
				return out
			}
		case concrete && intersects(s.pattern, g):
			return nil // another resource of this scope's type
		}
	}
	return out
}

// onTarget holds a statement of a resource-based policy to its target.
func (v *validator) onTarget(id string, st *statement, acts []resolved) {
	t := v.target
	for _, r := range acts {
		if r.name == "*" || r.service == "" || containsFold(t.Services, r.service) {
			continue
		}
		v.add(Error, CheckTarget, id, "action %s: a policy on %s governs only %s requests, so the statement %s",
			r.name, t.Name, strings.Join(t.Services, ", "), never(st.Effect))
	}
	if len(t.Scopes) == 0 || len(st.NotResource) > 0 {
		return
	}
	resources := st.Resource
	if len(resources) == 0 {
		if t.noResource != "" {
			v.add(Error, CheckTarget, id, "no Resource on %s, so the statement %s (%s)", t.Name, never(st.Effect), t.noResource)
		}
		return
	}
	reached := map[int]bool{}
	var names []string
	for _, r := range resources {
		idx := t.reach(r)
		if len(idx) == 0 {
			v.add(Error, CheckTarget, id, "resource %s is neither %s nor anything it contains, so the statement %s for it",
				r, t.Name, never(st.Effect))
		}
		for _, i := range idx {
			if !reached[i] {
				reached[i] = true
				names = append(names, t.Scopes[i].Type)
			}
		}
	}
	if len(reached) == 0 {
		return
	}
	for _, r := range acts {
		if r.name == "*" || !containsFold(t.Services, r.service) {
			continue
		}
		if v.matchesReached(r, reached) {
			continue
		}
		v.add(Error, CheckTarget, id, "%s of %s can never match: AWS authorizes it on %s; Resource %s names only %s of %s, so the statement %s",
			st.Effect, r.name, v.typeNames(r), strings.Join(resources, ", "), strings.Join(names, ", "), t.Name, never(st.Effect))
	}
}

// matchesReached reports whether some action r stands for is authorized
// on a resource type among the reached scopes.
func (v *validator) matchesReached(r resolved, reached map[int]bool) bool {
	for _, a := range r.actions {
		for _, rt := range a.ResourceTypes {
			for i := range reached {
				s := v.target.Scopes[i]
				if strings.EqualFold(s.Service, r.service) && strings.EqualFold(s.Type, rt.Name) {
					return true
				}
			}
		}
	}
	return false
}

// typeNames lists the resource types of r's actions, or says it has none.
func (v *validator) typeNames(r resolved) string {
	seen := map[string]bool{}
	var out []string
	for _, a := range r.actions {
		for _, rt := range a.ResourceTypes {
			if !seen[rt.Name] {
				seen[rt.Name] = true
				out = append(out, rt.Name)
			}
		}
	}
	if len(out) == 0 {
		return "no resource (only Resource \"*\" of an identity policy)"
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

// never says what a statement that cannot match does: nothing.
func never(effect string) string {
	if effect == "Deny" {
		return "protects nothing"
	}
	return "grants nothing"
}
