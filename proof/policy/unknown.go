package policy

import (
	"slices"
	"strings"
)

// Unknown stands for a value the engine will only know after the resource
// is created: in a preview of new resources, a provider leaves every
// attribute it computes on create (ARNs, IDs, endpoints) unknown, and so is
// every input the program derives from one. The engine sends such a value
// to an analyzer as the unknown sentinel (pulumi sdk
// sdk/go/common/resource/plugin/rpc.go, MarshalPropertyValue with
// KeepUnknowns writes UnknownStringValue for a resource.MakeComputed
// value; pkg/resource/deploy/step_generator.go AnalyzeResources and
// sdk/go/common/resource/plugin/analyzer_plugin.go marshal with
// KeepUnknowns), and policyx hands it to the pack as a computed
// property.Value.
//
// Both conversions into a Stack (the pack's policy/convert.go and the
// suite's offline.Recording.Policy) put Unknown{} where a value is
// unknown, so a rule can tell it apart from a value that is absent (nil)
// or empty (""). lookup returns Unknown{} for a path that runs through an
// unknown value. Unknown is not missing:
//   - a check that needs only presence (a key ARN is set) passes on it;
//   - a check that needs the concrete value (the algorithm is aws:kms, the
//     flag is true, the document grants no "*") defers: it reports a
//     deferred finding (Violation.Deferred), which is no violation and is
//     checked again when the value is known (by pulumi up, which analyzes
//     each resource once its inputs are resolved, or the next preview).
type Unknown struct{}

// String is how an unknown value prints in messages and reports.
func (Unknown) String() string { return "[unknown]" }

// IsUnknown reports whether v is Unknown.
func IsUnknown(v any) bool {
	_, ok := v.(Unknown)
	return ok
}

// verdict is one check's answer on one resource: pass (the zero value),
// fail (a violation) or later (deferred: a value the check needs is
// unknown until create).
type verdict struct {
	msg      string
	deferred bool
}

// pass is the verdict of a check that holds.
var pass verdict

// fail is a violation with its message.
func fail(msg string) verdict { return verdict{msg: msg} }

// later defers a check whose inputs at paths are unknown.
func later(paths ...string) verdict {
	return verdict{msg: strings.Join(paths, ", ") + " unknown until create", deferred: true}
}

// failed reports whether the verdict is a violation or a deferral (the
// check did not pass).
func (v verdict) failed() bool { return v.msg != "" }

// worst combines the verdicts of one check's parts: the first violation,
// else the first deferral, else pass. A part that is really absent or
// wrong is a violation even while another part is unknown.
func worst(vs ...verdict) verdict {
	out := pass
	for _, v := range vs {
		switch {
		case v.failed() && !v.deferred:
			return v
		case v.failed() && !out.failed():
			out = v
		}
	}
	return out
}

// violation turns a verdict on subject into a Violation.
func (v verdict) violation(subject *Resource) Violation {
	return Violation{Subject: subject, Message: v.msg, Deferred: v.deferred}
}

// value is the input at path: nil when absent, Unknown{} when it or a
// value above it is unknown, else the known value.
func value(r *Resource, path string) any { return lookup(r.Inputs, path) }

// str is the string input at path; known is false when it is unknown. An
// absent or non-string value is "", known.
func str(r *Resource, path string) (s string, known bool) {
	v := value(r, path)
	if IsUnknown(v) {
		return "", false
	}
	s, _ = v.(string)
	return s, true
}

// boolean is the boolean input at path; known is false when it is
// unknown. An absent value is false, known.
func boolean(r *Resource, path string) (b, known bool) {
	v := value(r, path)
	if IsUnknown(v) {
		return false, false
	}
	b, _ = v.(bool)
	return b, true
}

// number is the numeric input at path; known is false when it is unknown.
func number(r *Resource, path string) (n float64, known bool) {
	v := value(r, path)
	if IsUnknown(v) {
		return 0, false
	}
	n, _ = v.(float64)
	return n, true
}

// list is the list input at path; known is false when the list itself is
// unknown (its elements may still be unknown one by one).
func list(r *Resource, path string) (l []any, known bool) {
	v := value(r, path)
	if IsUnknown(v) {
		return nil, false
	}
	l, _ = v.([]any)
	return l, true
}

// present passes when the input at path is set: a non-empty string, or
// unknown (a value the engine computes on create is set, only not known
// yet); else it fails with msg. For presence checks only.
func present(r *Resource, path, msg string) verdict {
	if s, known := str(r, path); !known || s != "" {
		return pass
	}
	return fail(msg)
}

// enabled passes when the boolean input at path is true, defers when it
// is unknown and fails with msg otherwise.
func enabled(r *Resource, path, msg string) verdict {
	b, known := boolean(r, path)
	switch {
	case !known:
		return later(path)
	case !b:
		return fail(msg)
	}
	return pass
}

// disabled passes when the boolean input at path is false or absent,
// defers when it is unknown and fails with msg when it is true.
func disabled(r *Resource, path, msg string) verdict {
	b, known := boolean(r, path)
	switch {
	case !known:
		return later(path)
	case b:
		return fail(msg)
	}
	return pass
}

// anyUnknown reports whether any of vs is Unknown.
func anyUnknown(vs ...any) bool { return slices.ContainsFunc(vs, IsUnknown) }
