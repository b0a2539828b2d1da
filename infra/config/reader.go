package config

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Lookup returns the raw string value of a fully qualified config key
// ("trading-ha:logRetentionDays", "aws:region") and whether it is set.
// Structured values (arrays, objects) arrive JSON-encoded, as the Pulumi
// engine passes them to a Go program.
type Lookup func(key string) (string, bool)

// reader reads typed values out of a Lookup and collects every problem it
// meets instead of stopping at the first, so one preview reports them all.
type reader struct {
	lookup Lookup
	errs   Errors
}

// Error is one invalid or missing config key: the key, the value it had and
// the rule it broke.
type Error struct {
	Key   string
	Value string
	Rule  string
}

func (e *Error) Error() string {
	if e.Value == "" {
		return fmt.Sprintf("config %s is not set: %s", e.Key, e.Rule)
	}
	return fmt.Sprintf("config %s = %q: %s", e.Key, e.Value, e.Rule)
}

// Errors is every config problem found in one load.
type Errors []*Error

func (es Errors) Error() string {
	lines := make([]string, 0, len(es)+1)
	lines = append(lines, fmt.Sprintf("invalid stack configuration (%d problem(s)); nothing was deployed:", len(es)))
	for _, e := range es {
		lines = append(lines, "  - "+e.Error())
	}
	return strings.Join(lines, "\n")
}

func (r *reader) fail(key, value, rule string, args ...any) {
	r.errs = append(r.errs, &Error{Key: key, Value: value, Rule: fmt.Sprintf(rule, args...)})
}

// raw returns the value of a key that must be set. Pulumi.yaml declares a
// default for every project key but the per-stack ones (MinimalKeys), so
// a missing project key with a default means the project file and the
// program disagree; a per-stack key or another namespace's key (aws:) is
// set in the stack file.
func (r *reader) raw(key string) (string, bool) {
	v, ok := r.lookup(key)
	if !ok {
		if perStack(key) {
			r.fail(key, "", "required in every stack file; run %s", SetCommand(key))
		} else {
			r.fail(key, "", "required; declare a default in Pulumi.yaml or run %s", SetCommand(key))
		}
		return "", false
	}
	return v, true
}

// perStack reports whether a key has no default on purpose: another
// namespace's key, or a project key every stack sets (KindRequired and
// no Because in MinimalKeys).
func perStack(key string) bool {
	if !strings.HasPrefix(key, Project+":") {
		return true
	}
	for _, m := range MinimalKeys {
		if m.Key == key && m.Kind == KindRequired && m.Because == "" {
			return true
		}
	}
	return false
}

// SecretKeys are the project keys whose value carries a credential: set
// them with --secret so the stack file holds them encrypted.
var SecretKeys = []string{Project + ":pageHttpsEndpoint"}

// SetCommand is the command that sets a fully qualified key in the
// current stack, quoted for a message. `pulumi config set` puts a bare
// name in the project's namespace, so a key of another namespace keeps
// its prefix (aws:region; a bare region would set trading-ha:region);
// secret keys take --secret; aws:defaultTags, an object, is set a tag at
// a time with --path.
func SetCommand(key string) string {
	name := key
	if p := Project + ":"; strings.HasPrefix(key, p) {
		name = strings.TrimPrefix(key, p)
	}
	switch {
	case key == "aws:defaultTags":
		return "`pulumi config set --path aws:defaultTags.tags.<Tag> <value>` for each of " + strings.Join(RequiredTags, ", ")
	case slices.Contains(SecretKeys, key):
		return "`pulumi config set --secret " + name + " <value>`"
	}
	return "`pulumi config set " + name + " <value>`"
}

// str reads a string that must match pattern; describe says the rule in words.
func (r *reader) str(key string, pattern *regexp.Regexp, describe string) string {
	v, ok := r.raw(key)
	if !ok {
		return ""
	}
	if pattern != nil && !pattern.MatchString(v) {
		r.fail(key, v, "must be %s", describe)
	}
	return v
}

// oneOf reads a string that must be one of allowed.
func (r *reader) oneOf(key string, allowed ...string) string {
	v, ok := r.raw(key)
	if !ok {
		return ""
	}
	if !slices.Contains(allowed, v) {
		r.fail(key, v, "must be one of %s", strings.Join(allowed, ", "))
	}
	return v
}

// integer reads an integer within [lo, hi].
func (r *reader) integer(key string, lo, hi int) int {
	v, ok := r.raw(key)
	if !ok {
		return 0
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		r.fail(key, v, "must be an integer between %d and %d", lo, hi)
		return 0
	}
	if n < lo || n > hi {
		r.fail(key, v, "must be between %d and %d", lo, hi)
	}
	return n
}

// integerIn reads an integer that must be one of the allowed values (for
// example the retention periods CloudWatch Logs accepts).
func (r *reader) integerIn(key string, allowed []int, what string) int {
	v, ok := r.raw(key)
	if !ok {
		return 0
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || !slices.Contains(allowed, n) {
		r.fail(key, v, "must be one of the %s: %s", what, joinInts(allowed))
		return 0
	}
	return n
}

func joinInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ", ")
}

// boolean reads true or false.
func (r *reader) boolean(key string) bool {
	v, ok := r.raw(key)
	if !ok {
		return false
	}
	b, err := strconv.ParseBool(strings.TrimSpace(v))
	if err != nil {
		r.fail(key, v, "must be true or false")
	}
	return b
}

// strings reads a JSON array of strings with between lo and hi elements.
func (r *reader) strings(key string, lo, hi int) []string {
	v, ok := r.raw(key)
	if !ok {
		return nil
	}
	var out []string
	if err := json.Unmarshal([]byte(v), &out); err != nil {
		r.fail(key, v, "must be a list of strings")
		return nil
	}
	if len(out) < lo || len(out) > hi {
		r.fail(key, v, "must list between %d and %d entries", lo, hi)
	}
	return out
}

// duration reads a Go duration ("90s", "8h") within [lo, hi].
func (r *reader) duration(key string, lo, hi time.Duration) time.Duration {
	v, ok := r.raw(key)
	if !ok {
		return 0
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		r.fail(key, v, "must be a duration such as 90s or 8h")
		return 0
	}
	if d < lo || d > hi {
		r.fail(key, v, "must be between %s and %s", lo, hi)
	}
	return d
}

// cidr reads an IPv4 prefix whose length lies within [lo, hi].
func (r *reader) cidr(key string, lo, hi int) netip.Prefix {
	v, ok := r.raw(key)
	if !ok {
		return netip.Prefix{}
	}
	p, err := netip.ParsePrefix(v)
	if err != nil || !p.Addr().Is4() || p.Masked() != p {
		r.fail(key, v, "must be an IPv4 network in CIDR notation, such as 10.40.0.0/16")
		return netip.Prefix{}
	}
	if p.Bits() < lo || p.Bits() > hi {
		r.fail(key, v, "prefix length must be between /%d and /%d", lo, hi)
	}
	return p
}

// optional reads a string that may be empty; when set it must match pattern.
func (r *reader) optional(key string, pattern *regexp.Regexp, describe string) string {
	v, _ := r.lookup(key)
	if v != "" && pattern != nil && !pattern.MatchString(v) {
		r.fail(key, v, "must be %s", describe)
	}
	return v
}
