// Package metricmath evaluates the subset of CloudWatch metric math the
// stack's alarms use (numbers, query ids, + - * /, comparisons, AND, IF and
// FILL) at one timestamp, so tests and the game day can ask what a recorded
// alarm expression says about a set of datapoints. A nil value is a missing
// datapoint, as CloudWatch has none for a period without data.
package metricmath

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// Eval evaluates expr with env, which holds every query id the alarm
// declares (nil for an id without a datapoint); an id not in env is an
// error, so a misspelt id cannot read as missing data.
func Eval(expr string, env map[string]*float64) (*float64, error) {
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
