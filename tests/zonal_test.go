package tests

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/trading-ha/trading-ha/internal/offline"
)

// TestZonalShiftEnabled: the ALB takes an ARC zonal shift (off by default
// per load balancer, ELB User Guide "Zonal shift for your Application Load
// Balancer"), the answer to a gray AZ.
func TestZonalShiftEnabled(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		a := one(t, rec, "aws:lb/loadBalancer:LoadBalancer", "alb")
		eq(t, a, "enableZonalShift", true)
		eq(t, a, "enableCrossZoneLoadBalancing", true)
	})
}

// TestZonalOutlierAlarms evaluates each AZ's recorded outlier expressions
// over per-AZ datapoints: a gray AZ (errors or latency on its targets
// only) fires its own alarms and no other AZ's; trouble everywhere (a
// dependency, a bad deploy) and a quiet AZ fire none.
func TestZonalOutlierAlarms(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		lb, _ := albSuffixes(t, rec)
		// Both stacks: 5 % ALB 5xx rate, 1 s p99 (Pulumi.yaml defaults).
		cases := []struct {
			name             string
			errs, reqs, p99s [3]float64
			fire5xx, fireLat [3]bool
		}{
			{"healthy", [3]float64{0, 1, 0}, [3]float64{600, 600, 600}, [3]float64{.05, .06, .05}, [3]bool{}, [3]bool{}},
			{"gray 1a: errors", [3]float64{300, 2, 1}, [3]float64{600, 600, 600}, [3]float64{.05, .05, .05}, [3]bool{true}, [3]bool{}},
			{"gray 1b: latency", [3]float64{0, 0, 0}, [3]float64{600, 600, 600}, [3]float64{.05, 2.5, .06}, [3]bool{}, [3]bool{false, true}},
			{"everywhere: a dependency", [3]float64{300, 310, 290}, [3]float64{600, 600, 600}, [3]float64{3, 3, 3}, [3]bool{}, [3]bool{}},
			{"1c quiet: 10 requests, all failed", [3]float64{0, 0, 10}, [3]float64{600, 600, 10}, [3]float64{.05, .05, .05}, [3]bool{}, [3]bool{}},
			{"1c: no data at all", [3]float64{0, 0, -1}, [3]float64{600, 600, -1}, [3]float64{.05, .05, -1}, [3]bool{}, [3]bool{}},
			{"1a worse but not 2x", [3]float64{60, 40, 35}, [3]float64{600, 600, 600}, [3]float64{1.5, 1.0, 1.1}, [3]bool{}, [3]bool{}},
		}
		for i, az := range azs {
			for _, kind := range []string{"5xx", "latency"} {
				key := "zonal-" + kind + "-" + az
				a := one(t, rec, typAlarm, "alarm-"+key)
				alarmCommon(t, stack, a, key, alarmWant{comparison: "GreaterThanOrEqualToThreshold", threshold: 1, evals: 2, dtA: 2, missing: "notBreaching"})
				q := queries(t, a)
				vars := map[string]string{} // id -> "metric@az"
				for id, m := range q {
					if id == "e1" {
						continue
					}
					if m.Metric.Namespace != "AWS/ApplicationELB" || m.Metric.Period != 60 || len(m.Metric.Dimensions) != 2 || m.Metric.Dimensions["LoadBalancer"] != lb {
						t.Errorf("%s %s: %+v", key, id, m.Metric)
					}
					vars[id] = m.Metric.MetricName + "/" + m.Metric.Stat + "@" + m.Metric.Dimensions["AvailabilityZone"]
				}
				if want := map[string]int{"5xx": 7, "latency": 4}[kind]; len(q) != want {
					t.Errorf("%s: %d queries, want %d", key, len(q), want)
				}
				for _, c := range cases {
					data := map[string]float64{}
					for j, z := range azs {
						if c.reqs[j] < 0 {
							continue // the AZ published nothing
						}
						data["HTTPCode_Target_5XX_Count/Sum@"+z] = c.errs[j]
						data["RequestCount/Sum@"+z] = c.reqs[j]
						data["TargetResponseTime/p99@"+z] = c.p99s[j]
					}
					env := map[string]*float64{}
					for id, series := range vars {
						env[id] = nil
						if v, ok := data[series]; ok {
							env[id] = &v
						}
					}
					got, err := evalMetricMath(q["e1"].Expression, env)
					if err != nil {
						t.Fatalf("%s: %v", key, err)
					}
					want := c.fire5xx[i]
					if kind == "latency" {
						want = c.fireLat[i]
					}
					if fired := got != nil && *got >= 1; fired != want {
						value := "missing"
						if got != nil {
							value = strconv.FormatFloat(*got, 'g', -1, 64)
						}
						t.Errorf("%s, %s: fires %v, want %v (expression value %s)", key, c.name, fired, want, value)
					}
				}
			}
		}
	})
}

// evalMetricMath evaluates the subset of CloudWatch metric math the zonal
// alarms use (numbers, ids, + - * /, comparisons, AND, IF, FILL) at one
// timestamp; a nil value is a missing datapoint. env holds every id the
// alarm declares.
func evalMetricMath(expr string, env map[string]*float64) (*float64, error) {
	p := &mathParser{src: expr, env: env}
	v, err := p.or()
	if err == nil && p.peek() != "" {
		err = fmt.Errorf("trailing %q", p.src[p.pos:])
	}
	return v, err
}

type mathParser struct {
	src string
	pos int
	env map[string]*float64
}

func (p *mathParser) peek() string {
	for p.pos < len(p.src) && p.src[p.pos] == ' ' {
		p.pos++
	}
	if p.pos >= len(p.src) {
		return ""
	}
	r := rune(p.src[p.pos])
	switch {
	case unicode.IsLetter(r):
		end := p.pos
		for end < len(p.src) && (unicode.IsLetter(rune(p.src[end])) || unicode.IsDigit(rune(p.src[end]))) {
			end++
		}
		return p.src[p.pos:end]
	case unicode.IsDigit(r) || r == '.':
		end := p.pos
		for end < len(p.src) && (unicode.IsDigit(rune(p.src[end])) || p.src[end] == '.') {
			end++
		}
		return p.src[p.pos:end]
	case strings.HasPrefix(p.src[p.pos:], ">=") || strings.HasPrefix(p.src[p.pos:], "<="):
		return p.src[p.pos : p.pos+2]
	}
	return string(r)
}

func (p *mathParser) next() string { tok := p.peek(); p.pos += len(tok); return tok }

func (p *mathParser) expect(tok string) error {
	if got := p.next(); got != tok {
		return fmt.Errorf("want %q at %d, got %q", tok, p.pos, got)
	}
	return nil
}

func num(f float64) *float64 { return &f }

func boolNum(b bool) *float64 {
	if b {
		return num(1)
	}
	return num(0)
}

func (p *mathParser) or() (*float64, error) {
	l, err := p.cmp()
	for err == nil && p.peek() == "AND" {
		p.next()
		var r *float64
		if r, err = p.cmp(); err == nil {
			l = boolNum(l != nil && r != nil && *l != 0 && *r != 0)
		}
	}
	return l, err
}

func (p *mathParser) cmp() (*float64, error) {
	l, err := p.sum()
	if err != nil {
		return nil, err
	}
	switch op := p.peek(); op {
	case ">", "<", ">=", "<=":
		p.next()
		r, err := p.sum()
		if err != nil || l == nil || r == nil {
			return nil, err
		}
		return boolNum(map[string]bool{">": *l > *r, "<": *l < *r, ">=": *l >= *r, "<=": *l <= *r}[op]), nil
	}
	return l, nil
}

func (p *mathParser) sum() (*float64, error) {
	l, err := p.product()
	for err == nil && (p.peek() == "+" || p.peek() == "-") {
		op := p.next()
		var r *float64
		if r, err = p.product(); err == nil && l != nil && r != nil {
			l = num(map[string]float64{"+": *l + *r, "-": *l - *r}[op])
		} else {
			l = nil
		}
	}
	return l, err
}

func (p *mathParser) product() (*float64, error) {
	l, err := p.atom()
	for err == nil && (p.peek() == "*" || p.peek() == "/") {
		op := p.next()
		var r *float64
		if r, err = p.atom(); err == nil && l != nil && r != nil {
			if op == "*" {
				l = num(*l * *r)
			} else {
				l = num(*l / *r)
			}
		} else {
			l = nil
		}
	}
	return l, err
}

func (p *mathParser) atom() (*float64, error) {
	tok := p.next()
	switch {
	case tok == "(":
		v, err := p.or()
		if err == nil {
			err = p.expect(")")
		}
		return v, err
	case tok == "IF" || tok == "FILL":
		if err := p.expect("("); err != nil {
			return nil, err
		}
		var args []*float64
		for {
			v, err := p.or()
			if err != nil {
				return nil, err
			}
			args = append(args, v)
			if p.peek() == ")" {
				p.next()
				break
			}
			if err := p.expect(","); err != nil {
				return nil, err
			}
		}
		if tok == "FILL" {
			if len(args) != 2 {
				return nil, fmt.Errorf("FILL takes 2 arguments")
			}
			if args[0] == nil {
				return args[1], nil
			}
			return args[0], nil
		}
		if len(args) != 3 {
			return nil, fmt.Errorf("IF takes 3 arguments")
		}
		if args[0] == nil {
			return nil, nil
		}
		if *args[0] != 0 {
			return args[1], nil
		}
		return args[2], nil
	case tok != "" && unicode.IsDigit(rune(tok[0])):
		f, err := strconv.ParseFloat(tok, 64)
		return &f, err
	case tok != "" && unicode.IsLetter(rune(tok[0])):
		v, ok := p.env[tok]
		if !ok {
			return nil, fmt.Errorf("id %q is not a query of the alarm", tok)
		}
		return v, nil // nil: a declared id without data

	}
	return nil, fmt.Errorf("unexpected %q at %d", tok, p.pos)
}
