// Package listener models, from a stack's recording, what its public HTTPS
// listener does with a request before any task sees it: the listener
// rules in priority order, then the default action. The mock suite holds
// the rules to the paths the probes and the service use, and the game
// day's HAProxy renders them, so both read the listener the program
// declares rather than a copy of it.
package listener

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/trading-ha/trading-ha/proof/offline"
)

// Action is a listener action as recorded: "forward", or "fixed-response"
// with its status, content type and body.
type Action struct {
	Type, Status, ContentType, Body string
}

// String is "forward" or "fixed <status>".
func (a Action) String() string {
	if a.Type == "fixed-response" {
		return "fixed " + a.Status
	}
	return a.Type
}

// Rule is one listener rule: every condition must match (path patterns:
// any of the values; methods: any of them).
type Rule struct {
	Name     string
	Priority int
	Paths    []string
	Methods  []string
	Action   Action
}

// Listener is the recorded public HTTPS listener (key "https"): its rules,
// lowest priority number first, and its default action.
type Listener struct {
	Rules   []Rule
	Default Action
}

// Load reads the listener keyed "https" and the rules attached to it.
func Load(rec *offline.Recording) (Listener, error) {
	var l Listener
	https, err := rec.One("aws:lb/listener:Listener", "https")
	if err != nil {
		return l, fmt.Errorf("the HTTPS listener: %w", err)
	}
	defs, _ := https.Input("defaultActions").([]any)
	if len(defs) == 0 {
		return l, fmt.Errorf("listener %s has no default action", https.Name)
	}
	if l.Default, err = action(defs[0]); err != nil {
		return l, fmt.Errorf("listener %s: %w", https.Name, err)
	}
	arn := https.Outputs["arn"]
	for _, r := range rec.ByType("aws:lb/listenerRule:ListenerRule") {
		if r.Inputs["listenerArn"] != arn {
			continue
		}
		rule := Rule{Name: r.Name}
		p, _ := r.Input("priority").(float64)
		rule.Priority = int(p)
		acts, _ := r.Input("actions").([]any)
		if len(acts) == 0 {
			return l, fmt.Errorf("rule %s has no action", r.Name)
		}
		if rule.Action, err = action(acts[0]); err != nil {
			return l, fmt.Errorf("rule %s: %w", r.Name, err)
		}
		conds, _ := r.Input("conditions").([]any)
		for _, c := range conds {
			cond, _ := c.(map[string]any)
			switch {
			case cond["pathPattern"] != nil:
				rule.Paths = append(rule.Paths, strs(offline.Lookup(cond, "pathPattern.values"))...)
			case cond["httpRequestMethod"] != nil:
				rule.Methods = append(rule.Methods, strs(offline.Lookup(cond, "httpRequestMethod.values"))...)
			default:
				return l, fmt.Errorf("rule %s: condition %v is not modelled", r.Name, cond)
			}
		}
		l.Rules = append(l.Rules, rule)
	}
	sort.Slice(l.Rules, func(i, j int) bool { return l.Rules[i].Priority < l.Rules[j].Priority })
	return l, nil
}

func action(a any) (Action, error) {
	m, _ := a.(map[string]any)
	t, _ := m["type"].(string)
	switch t {
	case "forward":
		return Action{Type: t}, nil
	case "fixed-response":
		s := func(k string) string { v, _ := offline.Lookup(m, "fixedResponse."+k).(string); return v }
		return Action{Type: t, Status: s("statusCode"), ContentType: s("contentType"), Body: s("messageBody")}, nil
	}
	return Action{}, fmt.Errorf("action type %q is not modelled", t)
}

func strs(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, x := range list {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// PathRegexp is an ALB path-pattern value as an anchored regular
// expression: case sensitive, "*" matches 0 or more characters and "?"
// exactly one (Elastic Load Balancing, Application Load Balancers, "Path
// conditions").
func PathRegexp(pattern string) string {
	var re strings.Builder
	re.WriteString("^")
	for _, r := range pattern {
		switch r {
		case '*':
			re.WriteString(".*")
		case '?':
			re.WriteString(".")
		default:
			re.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	re.WriteString("$")
	return re.String()
}

// Matches says whether the rule's every condition holds for the request.
func (r Rule) Matches(method, path string) bool {
	if len(r.Paths) > 0 && !anyOf(r.Paths, func(p string) bool { return regexp.MustCompile(PathRegexp(p)).MatchString(path) }) {
		return false
	}
	if len(r.Methods) > 0 && !anyOf(r.Methods, func(m string) bool { return m == method }) {
		return false
	}
	return true
}

func anyOf(list []string, f func(string) bool) bool {
	for _, v := range list {
		if f(v) {
			return true
		}
	}
	return false
}

// Answer is what the listener does with the request, and the name of the
// rule that decided ("default" for the default action).
func (l Listener) Answer(method, path string) (Action, string) {
	for _, r := range l.Rules {
		if r.Matches(method, path) {
			return r.Action, r.Name
		}
	}
	return l.Default, "default"
}
