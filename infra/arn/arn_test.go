package arn

import "testing"

func TestParseRole(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Role
		ok   bool
	}{
		{"arn:aws:iam::123456789012:role/deploy", Role{"123456789012", "deploy"}, true},
		{"arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_0123", Role{"123456789012", "AWSReservedSSO_Admin_0123"}, true},
		{"arn:aws:iam::123456789012:user/ci", Role{}, false},
		{"arn:aws:iam::123456789012:root", Role{}, false},
		{"arn:aws:sts::123456789012:assumed-role/deploy/session", Role{}, false},
		{"arn:aws:iam:::role/deploy", Role{}, false},
		{"arn:aws:iam::123456789012:role/", Role{}, false},
		{"deploy", Role{}, false},
	} {
		got, ok := ParseRole(c.in)
		if got != c.want || ok != c.ok {
			t.Errorf("ParseRole(%q) = %v, %v; want %v, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func TestSessionRole(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Role
		ok   bool
	}{
		{"arn:aws:sts::123456789012:assumed-role/deploy/gh-actions", Role{"123456789012", "deploy"}, true},
		// An SSO permission set's role lives under a path; its session
		// ARN does not show it.
		{"arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Admin_0123/alice@example.org", Role{"123456789012", "AWSReservedSSO_Admin_0123"}, true},
		{"arn:aws:iam::123456789012:user/ci", Role{}, false},
		{"arn:aws:iam::123456789012:root", Role{}, false},
		{"arn:aws:sts::123456789012:federated-user/bob", Role{}, false},
		{"arn:aws:iam::123456789012:role/deploy", Role{}, false},
	} {
		got, ok := SessionRole(c.in)
		if got != c.want || ok != c.ok {
			t.Errorf("SessionRole(%q) = %v, %v; want %v, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func TestRoleSame(t *testing.T) {
	path, _ := ParseRole("arn:aws:iam::123456789012:role/ops/Break-Glass")
	session, _ := SessionRole("arn:aws:sts::123456789012:assumed-role/break-glass/alice")
	other, _ := ParseRole("arn:aws:iam::999999999999:role/break-glass")
	if !path.Same(session) {
		t.Errorf("%v and %v are one role (names are unique per account, case-insensitive)", path, session)
	}
	if path.Same(other) {
		t.Errorf("%v and %v are in different accounts", path, other)
	}
}
