package sfncheck

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// statement is one policy statement, Action and Resource normalized to lists.
type statement struct {
	Effect      string
	Action      strList
	NotAction   strList
	Resource    strList
	NotResource strList
	Condition   map[string]map[string]json.RawMessage
}

// strList is an IAM string-or-list value.
type strList []string

// UnmarshalJSON implements json.Unmarshaler.
func (s *strList) UnmarshalJSON(data []byte) error {
	var one string
	if err := json.Unmarshal(data, &one); err == nil {
		*s = strList{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(data, &many); err != nil {
		return fmt.Errorf("want a string or a list of strings: %w", err)
	}
	*s = many
	return nil
}

// statements is an IAM Statement value: one object or a list.
type statements []statement

// UnmarshalJSON implements json.Unmarshaler.
func (s *statements) UnmarshalJSON(data []byte) error {
	var one statement
	if err := json.Unmarshal(data, &one); err == nil {
		*s = statements{one}
		return nil
	}
	var many []statement
	if err := json.Unmarshal(data, &many); err != nil {
		return fmt.Errorf("statement: %w", err)
	}
	*s = many
	return nil
}

func parsePolicies(docs []string) ([]statement, error) {
	var out []statement
	for i, d := range docs {
		var doc struct{ Statement statements }
		if err := json.Unmarshal([]byte(d), &doc); err != nil {
			return nil, fmt.Errorf("policy %d is not an IAM policy document: %w", i, err)
		}
		out = append(out, doc.Statement...)
	}
	return out, nil
}

// need is one grant a Task needs: action on resource. An empty resource
// means any resource (the identifiers are dynamic or not resolvable): the
// action must be granted on something. With prefix set, resource is the
// ARN up to a dynamic identifier: some granted resource pattern must be
// able to match an ARN starting with it (cluster instances for
// arn:aws:rds:us-east-1:123456789012:db:).
type need struct {
	action, resource string
	prefix           bool
	// member names the parameter the resource comes from.
	member string
}

// arg is a top-level Task parameter: its static value, or dyn.
type arg struct {
	name  string
	value any
	dyn   bool
}

// resolver derives the resources a member names. id is the member's
// static string ("" when dyn); args are all the Task's parameters by lower
// case name. It returns the ARN, or the ARN prefix when the id is dynamic
// ("" when nothing is known).
type resolver func(env Env, id string, args map[string]arg) string

// idRule says which resource a parameter names.
type idRule struct {
	// members are the parameter names (lower case) the rule applies to;
	// list-valued members name one resource per element.
	members []string
	// actions restricts the rule to these API actions (lower case); empty
	// means every action of the service.
	actions []string
	// iamAction, when set, is the action needed on the resource instead of
	// the Task's own (iam:PassRole for a role handed to the service).
	iamAction string
	// resolve builds the ARN; nil means the value is an ARN already.
	resolve resolver
	// anyResource means the parameter does not name the resource the
	// action is authorized on (a task definition names the roles that
	// iam:PassRole is checked against): the action must be granted, on
	// whatever resource.
	anyResource bool
}

func regional(service, resource string) resolver {
	return func(env Env, id string, _ map[string]arg) string {
		return fmt.Sprintf("arn:%s:%s:%s:%s:%s%s", env.Partition, service, env.Region, env.Account, resource, id)
	}
}

// ecsService resolves a service name with the task's Cluster to the
// long-format service ARN arn:...:ecs:<region>:<account>:service/<cluster>/<name>.
func ecsService(env Env, id string, args map[string]arg) string {
	cluster := "default"
	if c, ok := args["cluster"]; ok {
		s, isString := c.value.(string)
		if c.dyn || !isString {
			return fmt.Sprintf("arn:%s:ecs:%s:%s:service/", env.Partition, env.Region, env.Account)
		}
		cluster = s[strings.LastIndex(s, "/")+1:]
	}
	return fmt.Sprintf("arn:%s:ecs:%s:%s:service/%s/%s", env.Partition, env.Region, env.Account, cluster, id)
}

// taskDefinition resolves a task definition named by family:revision or
// by family alone (then to the family's ARN prefix, ending in ":").
func taskDefinition(env Env, id string, _ map[string]arg) string {
	arn := fmt.Sprintf("arn:%s:ecs:%s:%s:task-definition/%s", env.Partition, env.Region, env.Account, id)
	if id != "" && !strings.Contains(id, ":") {
		arn += ":"
	}
	return arn
}

// s3Object resolves Key with the task's Bucket to arn:aws:s3:::<bucket>/<key>.
func s3Object(env Env, id string, args map[string]arg) string {
	b, ok := args["bucket"]
	bucket, isString := b.value.(string)
	if !ok || b.dyn || !isString {
		return ""
	}
	return fmt.Sprintf("arn:%s:s3:::%s/%s", env.Partition, bucket, id)
}

// idRules are, per Step Functions service, the parameters that name the
// resource an action is authorized on (Service Authorization Reference,
// resource types of each action). Parameters not listed here only make the
// action itself required.
var idRules = map[string][]idRule{
	"rds": {
		{members: []string{"dbclusteridentifier"}, resolve: regional("rds", "cluster:")},
		// FailoverDBCluster lists db as a resource type: the target
		// instance is authorized too.
		{members: []string{"dbinstanceidentifier", "targetdbinstanceidentifier"}, resolve: regional("rds", "db:")},
		{members: []string{"dbclustersnapshotidentifier"}, resolve: regional("rds", "cluster-snapshot:")},
		{members: []string{"dbsnapshotidentifier"}, resolve: regional("rds", "snapshot:")},
	},
	"ecs": {
		{members: []string{"services", "service"}, actions: []string{"describeservices", "updateservice", "deleteservice", "listservicedeployments"}, resolve: ecsService},
		// Service deployments and revisions are named by ARN:
		// service-deployment/<cluster>/<service>/<id> and
		// service-revision/<cluster>/<service>/<id> (Service Authorization
		// Reference, Amazon ECS resource types).
		{members: []string{"servicedeploymentarns"}, actions: []string{"describeservicedeployments"}, resolve: regional("ecs", "service-deployment/")},
		{members: []string{"servicerevisionarns"}, actions: []string{"describeservicerevisions"}, resolve: regional("ecs", "service-revision/")},
		// A task definition hands its task role and execution role to ECS:
		// the caller needs iam:PassRole (IAM user guide, "Grant a user
		// permissions to pass a role to an AWS service"). The roles are in
		// the task definition, not the request, so only the action is checked.
		{members: []string{"taskdefinition"}, actions: []string{"updateservice", "createservice", "runtask", "starttask"},
			iamAction: "iam:PassRole", anyResource: true},
		// RunTask is authorized on the task definition, task-definition/
		// <family>:<revision>; a family without a revision runs its
		// latest ACTIVE revision, so any revision of the family will do.
		{members: []string{"taskdefinition"}, actions: []string{"runtask", "starttask"}, resolve: taskDefinition},
	},
	"dynamodb": {
		{members: []string{"tablename"}, resolve: regional("dynamodb", "table/")},
	},
	"backup": {
		{members: []string{"backupvaultname"}, resolve: regional("backup", "backup-vault:")},
		{members: []string{"iamrolearn"}, iamAction: "iam:PassRole"},
	},
	"synthetics": {
		{members: []string{"name"}, resolve: regional("synthetics", "canary:")},
	},
	"cloudwatch": {
		{members: []string{"alarmnames", "alarmname"}, resolve: regional("cloudwatch", "alarm:")},
	},
	"sns": {
		{members: []string{"topicarn"}},
	},
	"elasticloadbalancingv2": {
		{members: []string{"targetgrouparn", "targetgrouparns", "loadbalancerarn", "loadbalancerarns", "listenerarn"}},
	},
	"s3": {
		{members: []string{"key"}, resolve: s3Object},
	},
	"sfn": {
		{members: []string{"statemachinearn", "executionarn"}},
	},
	// Systems Manager: parameter/${ParameterNameWithoutLeadingSlash}; a
	// hierarchical name's leading "/" is the separator.
	"ssm": {
		{members: []string{"name"}, actions: []string{"getparameter", "putparameter", "deleteparameter", "getparameterhistory"}, resolve: ssmParameter},
	},
}

// ssmParameter resolves a parameter name to arn:...:ssm:<region>:<account>:parameter/<name without leading slash>.
func ssmParameter(env Env, id string, _ map[string]arg) string {
	return fmt.Sprintf("arn:%s:ssm:%s:%s:parameter/%s", env.Partition, env.Region, env.Account, strings.TrimPrefix(id, "/"))
}

// taskArgs are a Task's top-level parameters by lower case name.
func taskArgs(params map[string]any, jsonata bool) map[string]arg {
	args := map[string]arg{}
	b := &builder{jsonata: jsonata}
	for k, v := range params {
		name, dyn := b.member(k, v)
		args[strings.ToLower(name)] = arg{name: name, value: v, dyn: dyn}
	}
	return args
}

// needs derives the grants a Task needs from its parameters.
func needs(env Env, svcName string, svc service, action string, params map[string]any, jsonata bool) []need {
	own := iamAction(svc, action)
	args := taskArgs(params, jsonata)
	out := []need{{action: own}}
	for _, r := range idRules[svcName] {
		if len(r.actions) > 0 && !containsFold(r.actions, action) {
			continue
		}
		act := own
		if r.iamAction != "" {
			act = r.iamAction
		}
		for _, m := range r.members {
			a, ok := args[m]
			if !ok {
				continue
			}
			for _, id := range ids(a) {
				n := need{action: act, member: a.name}
				switch {
				case r.anyResource:
				case id == "": // dynamic
					if r.resolve != nil {
						n.resource, n.prefix = r.resolve(env, "", args), true
					}
				case strings.HasPrefix(id, "arn:"):
					n.resource = id
				case r.resolve != nil:
					n.resource = r.resolve(env, id, args)
					// A resolver that can only name the ARN up to a part the
					// request leaves open (a family without its revision)
					// ends it with ":": any ARN starting so will do.
					n.prefix = strings.HasSuffix(n.resource, ":")
				}
				if n.resource == "" {
					n.prefix = false
				}
				out = append(out, n)
			}
		}
	}
	return out
}

// ids lists the identifiers of a parameter: its string, the strings of a
// list, or "" for a dynamic value.
func ids(a arg) []string {
	if a.dyn {
		return []string{""}
	}
	switch v := a.value.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, x := range v {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// checkGrants reports the needs of a Task that the role's grants miss.
// Allow statements with conditions count as grants (conditions are not
// evaluated); NotAction/NotResource statements are not treated as grants;
// a matching Deny on a static resource is reported.
func (c *checker) checkGrants(svcName string, svc service, action string, params map[string]any, jsonata bool, job string) []problem {
	var out []problem
	seen := map[string]bool{}
	all := needs(c.env, svcName, svc, action, params, jsonata)
	if job != "" {
		all = append(all, jobNeeds(c.env, job, taskArgs(params, jsonata))...)
	}
	for _, n := range all {
		key := fmt.Sprintf("%s|%s|%v", n.action, n.resource, n.prefix)
		if seen[key] {
			continue
		}
		seen[key] = true
		granted := c.grantedResources(n.action)
		if len(granted) == 0 {
			if !seen[n.action] {
				out = append(out, problem{ActionNotGranted, fmt.Sprintf("the role does not grant %s", n.action)})
			}
			seen[n.action] = true
			continue
		}
		if n.resource == "" {
			continue
		}
		covered := false
		for _, g := range granted {
			if (n.prefix && globPrefix(g, n.resource)) || (!n.prefix && glob(g, n.resource, false)) {
				covered = true
				break
			}
		}
		what := n.resource
		if n.prefix {
			what = n.resource + "<" + n.member + ", dynamic>"
		}
		if !covered {
			out = append(out, problem{ResourceNotGranted, fmt.Sprintf("%s (from %s) is not granted on %s; granted on %s",
				n.action, n.member, what, strings.Join(granted, ", "))})
			continue
		}
		if !n.prefix && c.denied(n.action, n.resource) {
			out = append(out, problem{ResourceNotGranted, fmt.Sprintf("%s on %s is explicitly denied", n.action, n.resource)})
		}
	}
	return out
}

// grantedResources lists the Resource patterns of the Allow statements
// whose Action matches action.
func (c *checker) grantedResources(action string) []string {
	var out []string
	for _, s := range c.grants {
		if s.Effect != "Allow" || len(s.NotAction) > 0 || len(s.NotResource) > 0 {
			continue
		}
		for _, a := range s.Action {
			if glob(a, action, true) {
				out = append(out, s.Resource...)
				break
			}
		}
	}
	sort.Strings(out)
	return out
}

func (c *checker) denied(action, resource string) bool {
	for _, s := range c.grants {
		if s.Effect != "Deny" {
			continue
		}
		for _, a := range s.Action {
			if !glob(a, action, true) {
				continue
			}
			for _, r := range s.Resource {
				if glob(r, resource, false) {
					return true
				}
			}
		}
	}
	return false
}

// glob matches an IAM pattern (* any run, ? one character) against s;
// fold compares case-insensitively (actions), otherwise exactly (ARNs).
func glob(pattern, s string, fold bool) bool {
	if fold {
		pattern, s = strings.ToLower(pattern), strings.ToLower(s)
	}
	return match(pattern, s, false)
}

// globPrefix reports whether pattern can match some string that starts
// with prefix.
func globPrefix(pattern, prefix string) bool { return match(pattern, prefix, true) }

// match is a backtracking glob matcher; with open, s is a prefix of the
// matched string, so exhausting s matches whatever pattern remains.
func match(p, s string, open bool) bool {
	for len(p) > 0 {
		if len(s) == 0 && open {
			return true
		}
		switch p[0] {
		case '*':
			for i := 0; i <= len(s); i++ {
				if match(p[1:], s[i:], open) {
					return true
				}
			}
			return false
		case '?':
			if len(s) == 0 {
				return false
			}
		default:
			if len(s) == 0 || s[0] != p[0] {
				return false
			}
		}
		p, s = p[1:], s[1:]
	}
	return len(s) == 0
}
