package sfncheck

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// httpInvoke is the HTTP Task's Resource (after arn:<partition>:states:::).
const httpInvoke = "http:invoke"

// httpMembers are the HTTP Task's Parameters (Step Functions Developer
// Guide, "Call HTTPS APIs in Step Functions workflows", HTTP Task fields),
// lower case, with whether each is required.
var httpMembers = map[string]bool{
	"apiendpoint": true, "method": true, "authentication": true,
	"headers": false, "queryparameters": false, "requestbody": false, "transform": false,
}

// httpMethods are the methods an HTTP Task may use (same guide, Method).
var httpMethods = []string{"GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"}

// httpTask checks one HTTP Task: its members, the connection it names, and
// the grants the same guide's "IAM permissions to run an HTTP Task" lists:
// states:InvokeHTTPEndpoint (and, where the granting statement has the
// states:HTTPEndpoint or states:HTTPMethod condition, the static endpoint
// and method must satisfy it), events:RetrieveConnectionCredentials on the
// connection, secretsmanager:GetSecretValue and DescribeSecret on the
// connection's secret (events!connection/<name>/...).
func (c *checker) httpTask(path, resource string, st map[string]any) {
	c.res.Tasks = append(c.res.Tasks, TaskRef{Machine: c.machine, State: path, Resource: resource,
		Service: "http", Action: "invoke", IAMAction: "states:InvokeHTTPEndpoint"})
	params, _ := st["Parameters"].(map[string]any)
	static := map[string]any{}
	present := map[string]bool{}
	for k, v := range params {
		name := strings.TrimSuffix(k, ".$")
		lk := strings.ToLower(name)
		if _, known := httpMembers[lk]; !known {
			c.add(path, resource, UnknownMember, "%s is not an HTTP Task parameter", name)
			continue
		}
		present[lk] = true
		if !strings.HasSuffix(k, ".$") {
			static[lk] = v
		}
	}
	var required []string
	for m, req := range httpMembers {
		if req && !present[m] {
			required = append(required, m)
		}
	}
	sort.Strings(required)
	for _, m := range required {
		c.add(path, resource, MissingRequired, "the HTTP Task needs %s", m)
	}
	endpoint, _ := static["apiendpoint"].(string)
	method, _ := static["method"].(string)
	if endpoint != "" && !strings.HasPrefix(endpoint, "https://") {
		c.add(path, resource, InvalidParam, "ApiEndpoint %q is not an https:// URL", endpoint)
	}
	if method != "" && !containsFold(httpMethods, method) {
		c.add(path, resource, InvalidParam, "Method %q is not one of %v", method, httpMethods)
	}
	connection := ""
	if auth, ok := static["authentication"].(map[string]any); ok {
		connection, _ = auth["ConnectionArn"].(string)
		if connection == "" {
			if _, dyn := auth["ConnectionArn.$"]; !dyn {
				c.add(path, resource, MissingRequired, "the HTTP Task needs Authentication.ConnectionArn")
			}
		}
	}

	// states:InvokeHTTPEndpoint, on a statement whose conditions (if any)
	// the static endpoint and method satisfy.
	// A value the Task reads at run time (ApiEndpoint.$) cannot be held to
	// the condition here: the grant must exist.
	invoke := false
	for _, s := range c.allows("states:InvokeHTTPEndpoint") {
		if (endpoint == "" || conditionHolds(s.Condition, "states:HTTPEndpoint", endpoint)) &&
			(method == "" || conditionHolds(s.Condition, "states:HTTPMethod", method)) {
			invoke = true
		}
	}
	if !invoke {
		c.add(path, resource, ActionNotGranted, "the role does not grant states:InvokeHTTPEndpoint for %s %s", method, endpoint)
	}
	if connection == "" {
		// A connection read at run time: the grants must exist.
		for _, a := range []string{"events:RetrieveConnectionCredentials", "secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"} {
			if len(c.grantedResources(a)) == 0 {
				c.add(path, resource, ActionNotGranted, "the role does not grant %s", a)
			}
		}
		return
	}
	parts := strings.SplitN(connection, ":", 6)
	name := ""
	if len(parts) == 6 {
		if rest, ok := strings.CutPrefix(parts[5], "connection/"); ok {
			name, _, _ = strings.Cut(rest, "/")
		}
	}
	if name == "" {
		c.add(path, resource, InvalidParam, "Authentication.ConnectionArn %q is not an EventBridge connection ARN", connection)
		return
	}
	secret := fmt.Sprintf("arn:%s:secretsmanager:%s:%s:secret:events!connection/%s/", parts[1], parts[3], parts[4], name)
	for _, n := range []need{
		{action: "events:RetrieveConnectionCredentials", resource: connection, member: "Authentication.ConnectionArn"},
		{action: "secretsmanager:GetSecretValue", resource: secret, prefix: true, member: "the connection's secret"},
		{action: "secretsmanager:DescribeSecret", resource: secret, prefix: true, member: "the connection's secret"},
	} {
		granted := c.grantedResources(n.action)
		if len(granted) == 0 {
			c.add(path, resource, ActionNotGranted, "the role does not grant %s", n.action)
			continue
		}
		covered := false
		for _, g := range granted {
			if (n.prefix && globPrefix(g, n.resource)) || (!n.prefix && glob(g, n.resource, false)) {
				covered = true
			}
		}
		if !covered {
			c.add(path, resource, ResourceNotGranted, "%s (from %s) is not granted on %s; granted on %s",
				n.action, n.member, n.resource, strings.Join(granted, ", "))
		}
	}
}

// allows lists the Allow statements whose Action matches action.
func (c *checker) allows(action string) []statement {
	var out []statement
	for _, s := range c.grants {
		if s.Effect != "Allow" || len(s.NotAction) > 0 {
			continue
		}
		for _, a := range s.Action {
			if glob(a, action, true) {
				out = append(out, s)
				break
			}
		}
	}
	return out
}

// conditionHolds reports whether value satisfies every StringEquals and
// StringLike test of key in cond (any other operator on key does not
// hold).
func conditionHolds(cond map[string]map[string]json.RawMessage, key, value string) bool {
	for op, tests := range cond {
		for k, raw := range tests {
			if !strings.EqualFold(k, key) {
				continue
			}
			var want strList
			if value == "" || json.Unmarshal(raw, &want) != nil {
				return false
			}
			ok := false
			for _, w := range want {
				switch op {
				case "StringEquals":
					ok = ok || w == value
				case "StringLike":
					ok = ok || glob(w, value, false)
				default:
					return false
				}
			}
			if !ok {
				return false
			}
		}
	}
	return true
}
