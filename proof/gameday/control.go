package gameday

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/trading-ha/trading-ha/proof/offline"
)

// The control plane of the twin: the AWS APIs the service-recovery
// runbook calls, answered from the ECS supervisor and the twin's alarms,
// and the runbook itself, its recorded definition run by the local Step
// Functions harness (tests/asl/lib) against them.

// stackIDs are the recorded names the runbook's requests carry.
type stackIDs struct {
	Account, Cluster, Service, Family string
	// RecoveryDefinition is the recorded service-recovery state machine
	// definition (ASL JSON).
	RecoveryDefinition string
}

func (ids stackIDs) taskDefinitionArn(rev int) string {
	return fmt.Sprintf("arn:aws:ecs:us-east-1:%s:task-definition/%s:%d", ids.Account, ids.Family, rev)
}

func (ids stackIDs) serviceArn() string {
	return fmt.Sprintf("arn:aws:ecs:us-east-1:%s:service/%s/%s", ids.Account, ids.Cluster, ids.Service)
}

func (ids stackIDs) revisionArn(d *deployment) string {
	return fmt.Sprintf("arn:aws:ecs:us-east-1:%s:service-revision/%s/%s/%d", ids.Account, ids.Cluster, ids.Service, 5000+d.Rev)
}

var revSuffix = regexp.MustCompile(`:(\d+)$`)

// alarmState is one metric alarm as DescribeAlarms reports it.
type alarmState struct {
	Name, State string
	Since       time.Time // model clock
}

// controlPlane answers the runbook's SDK calls.
type controlPlane struct {
	ids   stackIDs
	ecs   *ecsSupervisor
	clock modelClock
	logf  func(string, ...any)

	// before, when set, runs before the control plane answers an action
	// (a person acting while the runbook runs).
	before func(action string)

	mu     sync.Mutex
	alarms map[string]*alarmState
	lock   map[string]map[string]any // DynamoDB items of the runbook lock
	pages  []string                  // SNS subjects published
	calls  []string                  // "<state> <action>"
}

func (c *controlPlane) setAlarm(name, state string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	a := c.alarms[name]
	if a == nil {
		a = &alarmState{Name: name, State: "OK", Since: c.clock.now()}
		c.alarms[name] = a
	}
	if a.State != state {
		a.State, a.Since = state, c.clock.now()
		c.logf("alarm %s -> %s", name, state)
	}
}

func (c *controlPlane) alarm(name string) alarmState {
	c.mu.Lock()
	defer c.mu.Unlock()
	if a := c.alarms[name]; a != nil {
		return *a
	}
	return alarmState{Name: name, State: "OK", Since: c.clock.t0}
}

func iso(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// serve answers POST {state, resource, input} with {output} or {error, cause}.
func (c *controlPlane) serve(w http.ResponseWriter, r *http.Request) {
	var req struct {
		State, Resource string
		Input           map[string]any
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	parts := strings.Split(req.Resource, ":")
	action := parts[len(parts)-2] + ":" + parts[len(parts)-1]
	c.mu.Lock()
	c.calls = append(c.calls, req.State+" "+action)
	c.mu.Unlock()
	c.mu.Lock()
	before := c.before
	c.mu.Unlock()
	if before != nil {
		before(action)
	}
	out, errName, cause := c.call(action, req.Input)
	w.Header().Set("Content-Type", "application/json")
	if errName != "" {
		c.logf("control plane: %s %s: %s: %s", req.State, action, errName, cause)
		_ = json.NewEncoder(w).Encode(map[string]any{"error": errName, "cause": cause})
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"output": out})
}

func str(m map[string]any, k string) string { s, _ := m[k].(string); return s }

func (c *controlPlane) call(action string, in map[string]any) (any, string, string) {
	switch action {
	case "ecs:describeServices":
		return map[string]any{"Services": []any{c.service()}, "Failures": []any{}}, "", ""
	case "ecs:updateService":
		if str(in, "Service") != c.ids.Service {
			return nil, "Ecs.ServiceNotFoundException", "service " + str(in, "Service")
		}
		if str(in, "TaskDefinition") == "" {
			// ForceNewDeployment without a task definition: a new
			// deployment of the current one (every task replaced).
			if force, _ := in["ForceNewDeployment"].(bool); !force {
				return nil, "Ecs.InvalidParameterException", "nothing to update"
			}
			c.ecs.redeploy()
			return map[string]any{"Service": c.service()}, "", ""
		}
		m := revSuffix.FindStringSubmatch(str(in, "TaskDefinition"))
		if m == nil {
			return nil, "Ecs.InvalidParameterException", "task definition " + str(in, "TaskDefinition")
		}
		rev, _ := strconv.Atoi(m[1])
		c.ecs.mu.Lock()
		def, ok := c.ecs.defs[rev]
		c.ecs.mu.Unlock()
		if !ok {
			return nil, "Ecs.ClientException", "unknown task definition revision " + m[1]
		}
		c.ecs.deploy(def)
		return map[string]any{"Service": c.service()}, "", ""
	case "ecs:listServiceDeployments":
		return map[string]any{"ServiceDeployments": c.history(in)}, "", ""
	case "ecs:describeServiceRevisions":
		return map[string]any{"ServiceRevisions": c.revisions(in), "Failures": []any{}}, "", ""
	case "cloudwatch:describeAlarms":
		out := []any{} // AWS answers an empty list, not a missing member
		names, _ := in["AlarmNames"].([]any)
		for _, n := range names {
			a := c.alarm(fmt.Sprint(n))
			if sv := str(in, "StateValue"); sv != "" && sv != a.State {
				continue
			}
			out = append(out, map[string]any{"AlarmName": a.Name, "StateValue": a.State,
				"StateTransitionedTimestamp": iso(a.Since), "StateUpdatedTimestamp": iso(a.Since)})
		}
		return map[string]any{"MetricAlarms": out, "CompositeAlarms": []any{}}, "", ""
	case "dynamodb:putItem", "dynamodb:deleteItem":
		return c.lockItem(action, in)
	case "elasticloadbalancingv2:describeTargetGroups":
		return map[string]any{"TargetGroups": []any{map[string]any{"TargetGroupArn": fmt.Sprintf("arn:aws:elasticloadbalancing:us-east-1:%s:targetgroup/twin/0123456789abcdef", c.ids.Account)}}}, "", ""
	case "elasticloadbalancingv2:describeTargetHealth":
		out := []any{}
		for _, n := range c.ecs.live() {
			state := "unhealthy"
			if c.ecs.lb.status(n) == "UP" {
				state = "healthy"
			}
			out = append(out, map[string]any{"Target": map[string]any{"Id": n}, "TargetHealth": map[string]any{"State": state}})
		}
		return map[string]any{"TargetHealthDescriptions": out}, "", ""
	case "sns:publish":
		c.mu.Lock()
		c.pages = append(c.pages, str(in, "Subject"))
		c.mu.Unlock()
		return map[string]any{"MessageId": fmt.Sprintf("twin-%d", len(c.pages))}, "", ""
	}
	return nil, "Twin.Unsupported", "the twin does not answer " + action
}

// service is DescribeServices' Service: only PRIMARY and ACTIVE
// deployments (an INACTIVE one "has been completely replaced").
func (c *controlPlane) service() map[string]any {
	c.ecs.mu.Lock()
	defer c.ecs.mu.Unlock()
	deps := []any{}
	td := ""
	for i := len(c.ecs.deps) - 1; i >= 0; i-- {
		d := c.ecs.deps[i]
		if d.Status == "INACTIVE" {
			continue
		}
		if d.Status == "PRIMARY" {
			td = c.ids.taskDefinitionArn(d.Rev)
		}
		deps = append(deps, map[string]any{"Id": d.ID, "Status": d.Status, "TaskDefinition": c.ids.taskDefinitionArn(d.Rev),
			"RolloutState": d.RolloutState, "RolloutStateReason": d.Reason, "CreatedAt": iso(d.CreatedAt), "UpdatedAt": iso(d.UpdatedAt),
			"DesiredCount": c.ecs.cfg.Desired})
	}
	return map[string]any{"ServiceName": c.ids.Service, "ServiceArn": c.ids.serviceArn(), "Status": "ACTIVE",
		"DesiredCount": c.ecs.cfg.Desired, "TaskDefinition": td, "Deployments": deps}
}

// history is ListServiceDeployments: every deployment, newest first,
// filtered by Status when asked.
func (c *controlPlane) history(in map[string]any) []any {
	want := map[string]bool{}
	if st, ok := in["Status"].([]any); ok {
		for _, s := range st {
			want[fmt.Sprint(s)] = true
		}
	}
	c.ecs.mu.Lock()
	defer c.ecs.mu.Unlock()
	out := []any{}
	for i := len(c.ecs.deps) - 1; i >= 0; i-- {
		d := c.ecs.deps[i]
		if len(want) > 0 && !want[d.History] {
			continue
		}
		e := map[string]any{"ServiceDeploymentArn": fmt.Sprintf("arn:aws:ecs:us-east-1:%s:service-deployment/%s/%s/%s", c.ids.Account, c.ids.Cluster, c.ids.Service, strings.TrimPrefix(d.ID, "ecs-svc/")),
			"ServiceArn": c.ids.serviceArn(), "Status": d.History, "TargetServiceRevisionArn": c.ids.revisionArn(d),
			"CreatedAt": iso(d.CreatedAt), "StartedAt": iso(d.CreatedAt)}
		if d.RolloutState != "IN_PROGRESS" {
			e["FinishedAt"] = iso(d.UpdatedAt)
		}
		out = append(out, e)
	}
	return out
}

// revisions is DescribeServiceRevisions.
func (c *controlPlane) revisions(in map[string]any) []any {
	arns, _ := in["ServiceRevisionArns"].([]any)
	c.ecs.mu.Lock()
	defer c.ecs.mu.Unlock()
	out := []any{}
	for _, a := range arns {
		for _, d := range c.ecs.deps {
			if c.ids.revisionArn(d) == fmt.Sprint(a) {
				out = append(out, map[string]any{"ServiceRevisionArn": a, "ServiceArn": c.ids.serviceArn(),
					"TaskDefinition": c.ids.taskDefinitionArn(d.Rev), "CreatedAt": iso(d.CreatedAt)})
				break
			}
		}
	}
	return out
}

// lockItem plays the runbook lock's conditional writes: a put succeeds
// when no other owner holds an unexpired lease, a delete only for the
// owner (the ConditionExpressions of infra/asl's lock).
func (c *controlPlane) lockItem(action string, in map[string]any) (any, string, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	vals, _ := in["ExpressionAttributeValues"].(map[string]any)
	owner := ""
	if o, ok := vals[":owner"].(map[string]any); ok {
		owner = str(o, "S")
	}
	key := ""
	if action == "dynamodb:putItem" {
		item, _ := in["Item"].(map[string]any)
		if id, ok := item["session_id"].(map[string]any); ok {
			key = str(id, "S")
		}
		if cur, held := c.lock[key]; held && cur["owner"] != owner && cur["until"].(time.Time).After(c.clock.now()) {
			return nil, "DynamoDb.ConditionalCheckFailedException", "The conditional request failed"
		}
		c.lock[key] = map[string]any{"owner": owner, "until": c.clock.now().Add(time.Hour)}
		return map[string]any{}, "", ""
	}
	k, _ := in["Key"].(map[string]any)
	if id, ok := k["session_id"].(map[string]any); ok {
		key = str(id, "S")
	}
	if cur, held := c.lock[key]; !held || cur["owner"] != owner {
		return nil, "DynamoDb.ConditionalCheckFailedException", "The conditional request failed"
	}
	delete(c.lock, key)
	return map[string]any{}, "", ""
}

// listen serves the control plane on loopback.
func (c *controlPlane) listen() (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: http.HandlerFunc(c.serve), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), func() { _ = srv.Close() }, nil
}

// runbookRun is one execution of the recovery runbook.
type runbookRun struct {
	Started, Ended time.Time // wall clock
	Status         string
	States         []string
	Error          string
	Output         map[string]any
}

// outcome is the runbook's report: the last Notify* state it reached
// (NotifyRecovered, NotifyNoAction, ...) or how it ended.
func (r runbookRun) outcome() string {
	if r.Status != "SUCCEEDED" {
		return r.Status + " " + r.Error
	}
	for i := len(r.States) - 1; i >= 0; i-- {
		if strings.HasPrefix(r.States[i], "Notify") {
			return r.States[i]
		}
	}
	return "no report"
}

// startRunbook runs the recorded recovery definition with node and the
// local Step Functions harness; waits run controlTimeScale times faster.
func (c *controlPlane) startRunbook(ctx context.Context, dir, work, api, reason string) (<-chan runbookRun, error) {
	def := filepath.Join(work, fmt.Sprintf("recovery-%d.json", time.Now().UnixNano()))
	if err := os.WriteFile(def, []byte(c.ids.RecoveryDefinition), 0o600); err != nil {
		return nil, err
	}
	input, _ := json.Marshal(map[string]string{"requestedBy": "eventbridge:rule-degraded (game day twin)", "reason": reason})
	done := make(chan runbookRun, 1)
	started := time.Now()
	cmd := exec.CommandContext(ctx, "node", filepath.Join(dir, "proof", "gameday", "runbook.mjs"), def, string(input), api,
		strconv.FormatFloat(c.clock.scale, 'f', -1, 64), iso(c.clock.now()))
	cmd.Dir = dir
	go func() {
		out, err := cmd.Output()
		r := runbookRun{Started: started, Ended: time.Now()}
		if err != nil {
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				out = append(out, ee.Stderr...)
			}
			r.Status, r.Error = "ERROR", fmt.Sprintf("%v: %s", err, out)
		} else if err := json.Unmarshal(out, &r); err != nil {
			r.Status, r.Error = "ERROR", fmt.Sprintf("runbook output: %v: %s", err, out)
		}
		done <- r
	}()
	return done, nil
}

// callsSince is the runbook's SDK calls from the n-th on ("<state> <action>").
func (c *controlPlane) callsSince(n int) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.calls[min(n, len(c.calls)):]...)
}

// canaryAlarm is the recorded canary-success alarm (a member of the paging
// composite, so its ALARM starts the recovery runbook through the rule on
// the composite) with the canary's schedule.
type canaryAlarm struct {
	Name                string
	Every               time.Duration // canary schedule
	Period              time.Duration
	Evaluation, ToAlarm int
	Threshold           float64 // SuccessPercent below it breaches
	MissingIsBreaching  bool
	CompositeMember     bool
}

// breached evaluates the alarm over its last Evaluation datapoints
// (nil: no datapoint in that period), M of N.
func (a canaryAlarm) breached(points []*float64) bool {
	n := 0
	for i := max(0, len(points)-a.Evaluation); i < len(points); i++ {
		if p := points[i]; (p == nil && a.MissingIsBreaching) || (p != nil && *p < a.Threshold) {
			n++
		}
	}
	return n >= a.ToAlarm
}

var ecsServiceArn = regexp.MustCompile(`arn:aws:ecs:[a-z0-9-]+:(\d{12}):service/([A-Za-z0-9_-]+)/([A-Za-z0-9_-]+)`)

// controlModel reads the recovery runbook's definition, the names it
// acts on, and the canary alarm from the recording.
func controlModel(rec *offline.Recording) (stackIDs, canaryAlarm, error) {
	var ids stackIDs
	var ca canaryAlarm
	for _, sm := range rec.ByType("aws:sfn/stateMachine:StateMachine") {
		if name, _ := sm.Input("name").(string); strings.HasPrefix(name, "sm-svc-recovery-") {
			ids.RecoveryDefinition, _ = sm.Input("definition").(string)
		}
	}
	m := ecsServiceArn.FindStringSubmatch(ids.RecoveryDefinition)
	if m == nil {
		return ids, ca, errors.New("recording lacks the service-recovery state machine, or its definition names no ECS service")
	}
	ids.Account, ids.Cluster, ids.Service = m[1], m[2], m[3]
	// The service's own task definition (key "app"); the migrate task's is
	// another of the same type.
	td, err := rec.One("aws:ecs/taskDefinition:TaskDefinition", "app")
	if err != nil {
		return ids, ca, fmt.Errorf("the service's task definition: %w", err)
	}
	ids.Family, _ = td.Input("family").(string)
	num := func(r *offline.Resource, k string) float64 { f, _ := r.Input(k).(float64); return f }
	for _, c := range rec.ByType("aws:synthetics/canary:Canary") {
		expr, _ := c.Input("schedule.expression").(string)
		if mm := regexp.MustCompile(`^rate\((\d+) minutes?\)$`).FindStringSubmatch(expr); mm != nil {
			n, _ := strconv.Atoi(mm[1])
			ca.Every = time.Duration(n) * time.Minute
		}
	}
	for _, a := range rec.ByType("aws:cloudwatch/metricAlarm:MetricAlarm") {
		if name, _ := a.Input("name").(string); strings.HasPrefix(name, "alarm-canary-success-") {
			ca.Name = name
			ca.Period = time.Duration(num(a, "period")) * time.Second
			ca.Evaluation, ca.ToAlarm = int(num(a, "evaluationPeriods")), int(num(a, "datapointsToAlarm"))
			ca.Threshold = num(a, "threshold")
			ca.MissingIsBreaching = a.Input("treatMissingData") == "breaching"
		}
	}
	for _, c := range rec.ByType("aws:cloudwatch/compositeAlarm:CompositeAlarm") {
		rule, _ := c.Input("alarmRule").(string)
		ca.CompositeMember = ca.CompositeMember || (ca.Name != "" && strings.Contains(rule, `ALARM("`+ca.Name+`")`))
	}
	if ca.Name == "" || ca.Every == 0 || ca.Period == 0 || ca.Evaluation == 0 {
		return ids, ca, fmt.Errorf("recording lacks the canary or its success alarm: %+v", ca)
	}
	return ids, ca, nil
}
