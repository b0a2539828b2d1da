// Package asl builds the trading-ha Step Functions workflows — the four
// runbooks, the backup component's ECS service snapshot and identity's key
// sync — as typed Amazon States Language (ASL) values.
//
// Definitions are plain Go structs marshalled with encoding/json; no string
// templates are involved. Each Task state carries the IAM statement it needs
// (see Task.Policy), so a state machine's role policy is derived from the
// definition by StateMachine.Permissions rather than maintained by hand.
//
// The package has no Pulumi dependency: a component resource resolves ARNs
// and names into a Targets value (e.g. inside an ApplyT) and calls one of
// HealthCheck, BackupVerification, DatabaseFailover or ServiceRecovery (or
// fills a SnapshotTargets value and calls ServiceSnapshot).
package asl

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// State is one ASL state. The concrete types are *Task, *Choice, *Parallel,
// *Map, *Wait, *Pass, *Succeed and *Fail.
type State interface {
	// StateType returns the ASL "Type" value of the state.
	StateType() string
	// Transitions returns the names of the states this state can move to
	// (Next, Default, choice rule and catcher targets), in definition order.
	Transitions() []string
	// Terminal reports whether the state can end its (sub-)machine.
	Terminal() bool
}

// Branch is a self-contained set of states: a Parallel branch or a Map item
// processor.
type Branch struct {
	// ProcessorConfig is set for Map item processors only.
	ProcessorConfig *ProcessorConfig `json:"ProcessorConfig,omitempty"`
	// StartAt names the first state of the branch.
	StartAt string `json:"StartAt"`
	// States holds the branch's states by name.
	States map[string]State `json:"States"`
}

// ProcessorConfig selects the Map processing mode; the runbooks use INLINE.
type ProcessorConfig struct {
	// Mode is INLINE or DISTRIBUTED.
	Mode string `json:"Mode"`
}

// StateMachine is a complete ASL definition.
type StateMachine struct {
	// Comment describes the state machine.
	Comment string `json:"Comment,omitempty"`
	// StartAt names the first state.
	StartAt string `json:"StartAt"`
	// TimeoutSeconds bounds a whole execution.
	TimeoutSeconds int `json:"TimeoutSeconds,omitempty"`
	// States holds the top-level states by name.
	States map[string]State `json:"States"`
}

// Retrier is one entry of a Task, Parallel or Map state's Retry field.
type Retrier struct {
	// ErrorEquals lists the error names this retrier matches.
	ErrorEquals []string `json:"ErrorEquals"`
	// IntervalSeconds is the wait before the first retry.
	IntervalSeconds int `json:"IntervalSeconds,omitempty"`
	// MaxAttempts is the maximum number of retries.
	MaxAttempts int `json:"MaxAttempts"`
	// BackoffRate multiplies the interval after each attempt.
	BackoffRate float64 `json:"BackoffRate,omitempty"`
	// MaxDelaySeconds caps the interval.
	MaxDelaySeconds int `json:"MaxDelaySeconds,omitempty"`
	// JitterStrategy is FULL or NONE.
	JitterStrategy string `json:"JitterStrategy,omitempty"`
}

// Catcher is one entry of a Catch field.
type Catcher struct {
	// ErrorEquals lists the error names this catcher matches.
	ErrorEquals []string `json:"ErrorEquals"`
	// Next is the state to move to.
	Next string `json:"Next"`
	// ResultPath places the error object in the state input.
	ResultPath string `json:"ResultPath,omitempty"`
}

// Permission is one IAM statement (effect Allow) that a Task state needs.
type Permission struct {
	// Actions are IAM actions such as "rds:FailoverDBCluster".
	Actions []string `json:"Actions"`
	// Resources are ARNs or ARN patterns; "*" only where the action does not
	// support resource-level permissions (see WildcardActions).
	Resources []string `json:"Resources"`
	// Condition is an optional IAM condition block, e.g.
	// {"StringEquals": {"iam:PassedToService": "backup.amazonaws.com"}}.
	Condition map[string]map[string]any `json:"Condition,omitempty"`
}

// Task calls an AWS API through a Step Functions service integration.
type Task struct {
	Comment        string         `json:"Comment,omitempty"`
	Resource       string         `json:"Resource"`
	Parameters     map[string]any `json:"Parameters,omitempty"`
	ResultSelector map[string]any `json:"ResultSelector,omitempty"`
	ResultPath     string         `json:"ResultPath,omitempty"`
	OutputPath     string         `json:"OutputPath,omitempty"`
	TimeoutSeconds int            `json:"TimeoutSeconds,omitempty"`
	Retry          []Retrier      `json:"Retry,omitempty"`
	Catch          []Catcher      `json:"Catch,omitempty"`
	Next           string         `json:"Next,omitempty"`
	End            bool           `json:"End,omitempty"`
	// Policy is the IAM access the task needs; it is not part of the ASL.
	Policy []Permission `json:"-"`
}

// Pass transforms its input. With QueryLanguage "JSONata" it uses Output
// instead of the JSONPath fields.
type Pass struct {
	Comment       string         `json:"Comment,omitempty"`
	QueryLanguage string         `json:"QueryLanguage,omitempty"`
	Parameters    map[string]any `json:"Parameters,omitempty"`
	Result        any            `json:"Result,omitempty"`
	ResultPath    string         `json:"ResultPath,omitempty"`
	Output        any            `json:"Output,omitempty"`
	Next          string         `json:"Next,omitempty"`
	End           bool           `json:"End,omitempty"`
}

// Wait pauses the execution.
type Wait struct {
	Comment     string `json:"Comment,omitempty"`
	Seconds     int    `json:"Seconds,omitempty"`
	SecondsPath string `json:"SecondsPath,omitempty"`
	Next        string `json:"Next,omitempty"`
	End         bool   `json:"End,omitempty"`
}

// Choice branches on its input.
type Choice struct {
	Comment string       `json:"Comment,omitempty"`
	Choices []ChoiceRule `json:"Choices"`
	Default string       `json:"Default,omitempty"`
}

// Parallel runs branches concurrently; its result is the array of branch
// outputs.
type Parallel struct {
	Comment        string         `json:"Comment,omitempty"`
	Branches       []Branch       `json:"Branches"`
	ResultSelector map[string]any `json:"ResultSelector,omitempty"`
	ResultPath     string         `json:"ResultPath,omitempty"`
	Retry          []Retrier      `json:"Retry,omitempty"`
	Catch          []Catcher      `json:"Catch,omitempty"`
	Next           string         `json:"Next,omitempty"`
	End            bool           `json:"End,omitempty"`
}

// Map runs its item processor for each element of ItemsPath.
type Map struct {
	Comment        string         `json:"Comment,omitempty"`
	ItemsPath      string         `json:"ItemsPath,omitempty"`
	ItemSelector   map[string]any `json:"ItemSelector,omitempty"`
	ItemProcessor  Branch         `json:"ItemProcessor"`
	MaxConcurrency int            `json:"MaxConcurrency,omitempty"`
	ResultPath     string         `json:"ResultPath,omitempty"`
	Retry          []Retrier      `json:"Retry,omitempty"`
	Catch          []Catcher      `json:"Catch,omitempty"`
	Next           string         `json:"Next,omitempty"`
	End            bool           `json:"End,omitempty"`
}

// Succeed ends the execution successfully.
type Succeed struct {
	Comment string `json:"Comment,omitempty"`
}

// Fail ends the execution with an error.
type Fail struct {
	Comment   string `json:"Comment,omitempty"`
	Error     string `json:"Error,omitempty"`
	ErrorPath string `json:"ErrorPath,omitempty"`
	Cause     string `json:"Cause,omitempty"`
	CausePath string `json:"CausePath,omitempty"`
}

// ChoiceRule is a Choice state rule. Exactly one comparison (or And/Or/Not)
// is set; Next is set on top-level rules only.
type ChoiceRule struct {
	Variable string `json:"Variable,omitempty"`

	And []ChoiceRule `json:"And,omitempty"`
	Or  []ChoiceRule `json:"Or,omitempty"`
	Not *ChoiceRule  `json:"Not,omitempty"`

	IsPresent *bool `json:"IsPresent,omitempty"`
	IsNull    *bool `json:"IsNull,omitempty"`
	IsString  *bool `json:"IsString,omitempty"`
	IsNumeric *bool `json:"IsNumeric,omitempty"`
	IsBoolean *bool `json:"IsBoolean,omitempty"`

	StringEquals     *string `json:"StringEquals,omitempty"`
	StringEqualsPath string  `json:"StringEqualsPath,omitempty"`
	StringMatches    *string `json:"StringMatches,omitempty"`
	BooleanEquals    *bool   `json:"BooleanEquals,omitempty"`

	NumericEquals                *float64 `json:"NumericEquals,omitempty"`
	NumericEqualsPath            string   `json:"NumericEqualsPath,omitempty"`
	NumericGreaterThan           *float64 `json:"NumericGreaterThan,omitempty"`
	NumericGreaterThanEquals     *float64 `json:"NumericGreaterThanEquals,omitempty"`
	NumericGreaterThanEqualsPath string   `json:"NumericGreaterThanEqualsPath,omitempty"`
	NumericLessThan              *float64 `json:"NumericLessThan,omitempty"`

	TimestampGreaterThanPath string `json:"TimestampGreaterThanPath,omitempty"`

	Next string `json:"Next,omitempty"`
}

// StateType implements State.
func (*Task) StateType() string { return "Task" }

// StateType implements State.
func (*Pass) StateType() string { return "Pass" }

// StateType implements State.
func (*Wait) StateType() string { return "Wait" }

// StateType implements State.
func (*Choice) StateType() string { return "Choice" }

// StateType implements State.
func (*Parallel) StateType() string { return "Parallel" }

// StateType implements State.
func (*Map) StateType() string { return "Map" }

// StateType implements State.
func (*Succeed) StateType() string { return "Succeed" }

// StateType implements State.
func (*Fail) StateType() string { return "Fail" }

func nextOrNone(next string) []string {
	if next == "" {
		return nil
	}
	return []string{next}
}

func catchTargets(next string, catch []Catcher) []string {
	out := nextOrNone(next)
	for _, c := range catch {
		out = append(out, c.Next)
	}
	return out
}

// Transitions implements State.
func (s *Task) Transitions() []string { return catchTargets(s.Next, s.Catch) }

// Transitions implements State.
func (s *Pass) Transitions() []string { return nextOrNone(s.Next) }

// Transitions implements State.
func (s *Wait) Transitions() []string { return nextOrNone(s.Next) }

// Transitions implements State.
func (s *Parallel) Transitions() []string { return catchTargets(s.Next, s.Catch) }

// Transitions implements State.
func (s *Map) Transitions() []string { return catchTargets(s.Next, s.Catch) }

// Transitions implements State.
func (*Succeed) Transitions() []string { return nil }

// Transitions implements State.
func (*Fail) Transitions() []string { return nil }

// Transitions implements State.
func (s *Choice) Transitions() []string {
	var out []string
	for _, r := range s.Choices {
		out = append(out, r.Next)
	}
	return append(out, nextOrNone(s.Default)...)
}

// Terminal implements State.
func (s *Task) Terminal() bool { return s.End }

// Terminal implements State.
func (s *Pass) Terminal() bool { return s.End }

// Terminal implements State.
func (s *Wait) Terminal() bool { return s.End }

// Terminal implements State.
func (*Choice) Terminal() bool { return false }

// Terminal implements State.
func (s *Parallel) Terminal() bool { return s.End }

// Terminal implements State.
func (s *Map) Terminal() bool { return s.End }

// Terminal implements State.
func (*Succeed) Terminal() bool { return true }

// Terminal implements State.
func (*Fail) Terminal() bool { return true }

// withType marshals v (a pointer to a state struct, converted to an alias
// type without methods) with a leading "Type" member.
func withType(typ string, v any) ([]byte, error) {
	// Not json.Marshal: it escapes <, > and & (JSONata comparisons) as
	// \u003c..., which the enclosing encoder's SetEscapeHTML(false) cannot undo.
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("marshal %s state: %w", typ, err)
	}
	body := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	if !bytes.HasPrefix(body, []byte("{")) {
		return nil, fmt.Errorf("marshal %s state: unexpected %q", typ, body)
	}
	out := []byte(`{"Type":"` + typ + `"`)
	if len(body) > 2 {
		out = append(out, ',')
	}
	return append(out, body[1:]...), nil
}

// MarshalJSON implements json.Marshaler.
func (s *Task) MarshalJSON() ([]byte, error) {
	type alias Task
	return withType(s.StateType(), (*alias)(s))
}

// MarshalJSON implements json.Marshaler.
func (s *Pass) MarshalJSON() ([]byte, error) {
	type alias Pass
	return withType(s.StateType(), (*alias)(s))
}

// MarshalJSON implements json.Marshaler.
func (s *Wait) MarshalJSON() ([]byte, error) {
	type alias Wait
	return withType(s.StateType(), (*alias)(s))
}

// MarshalJSON implements json.Marshaler.
func (s *Choice) MarshalJSON() ([]byte, error) {
	type alias Choice
	return withType(s.StateType(), (*alias)(s))
}

// MarshalJSON implements json.Marshaler.
func (s *Parallel) MarshalJSON() ([]byte, error) {
	type alias Parallel
	return withType(s.StateType(), (*alias)(s))
}

// MarshalJSON implements json.Marshaler.
func (s *Map) MarshalJSON() ([]byte, error) {
	type alias Map
	return withType(s.StateType(), (*alias)(s))
}

// MarshalJSON implements json.Marshaler.
func (s *Succeed) MarshalJSON() ([]byte, error) {
	type alias Succeed
	return withType(s.StateType(), (*alias)(s))
}

// MarshalJSON implements json.Marshaler.
func (s *Fail) MarshalJSON() ([]byte, error) {
	type alias Fail
	return withType(s.StateType(), (*alias)(s))
}

// JSON returns the definition as indented JSON. Map keys are sorted by
// encoding/json, so equal definitions always produce identical bytes.
func (sm *StateMachine) JSON() (string, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(sm); err != nil {
		return "", fmt.Errorf("encode state machine: %w", err)
	}
	return buf.String(), nil
}
