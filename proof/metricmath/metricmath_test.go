package metricmath

import "testing"

func TestEval(t *testing.T) {
	v := func(f float64) *float64 { return &f }
	env := map[string]*float64{"a": v(3), "b": v(0), "gone": nil}
	for _, c := range []struct {
		expr string
		want *float64
	}{
		{"1 + 2 * 3", v(7)},
		{"(1 + 2) * 3", v(9)},
		{"a / 2 - 1", v(0.5)},
		{"IF(a > 2 AND b >= 0, 10, 20)", v(10)},
		{"IF(a > 2 AND b > 0, 10, 20)", v(20)},
		{"IF(a <= 3, 1, 0)", v(1)},
		{"gone + 1", nil},
		{"FILL(gone, 4) * 2", v(8)},
		{"FILL(a, 4)", v(3)},
		{"IF(gone > 1, 1, 0)", nil},
		{"IF(FILL(gone, 0) >= 20, 100 * a / FILL(gone, 1), 0)", v(0)},
	} {
		got, err := Eval(c.expr, env)
		if err != nil {
			t.Fatalf("%s: %v", c.expr, err)
		}
		if (got == nil) != (c.want == nil) || (got != nil && *got != *c.want) {
			t.Errorf("%s = %v, want %v", c.expr, deref(got), deref(c.want))
		}
	}
	for _, bad := range []string{"unknown + 1", "IF(a, 1)", "FILL(a)", "1 +", "(1", "a )"} {
		if _, err := Eval(bad, env); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

func deref(f *float64) any {
	if f == nil {
		return "missing"
	}
	return *f
}
