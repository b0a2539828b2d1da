// Package iamdoc holds IAM policy documents as Go values, so policies are
// built and checked as data and marshalled once, never typed as JSON strings.
package iamdoc

import (
	"encoding/json"
	"fmt"
)

// Version is the IAM policy language version every document uses.
const Version = "2012-10-17"

// Document is an IAM policy (identity, resource or trust policy).
type Document struct {
	Version   string      `json:"Version"`
	Statement []Statement `json:"Statement"`
}

// Statement is one policy statement. Principal is nil for identity policies.
type Statement struct {
	Sid       string                    `json:"Sid,omitempty"`
	Effect    string                    `json:"Effect"`
	Principal map[string]any            `json:"Principal,omitempty"`
	Action    []string                  `json:"Action"`
	Resource  []string                  `json:"Resource,omitempty"`
	Condition map[string]map[string]any `json:"Condition,omitempty"`
}

// Allow is an Allow statement of actions on resources.
func Allow(sid string, actions, resources []string) Statement {
	return Statement{Sid: sid, Effect: "Allow", Action: actions, Resource: resources}
}

// New returns a document of the given statements.
func New(statements ...Statement) Document {
	return Document{Version: Version, Statement: statements}
}

// JSON marshals the document.
func (d Document) JSON() (string, error) {
	b, err := json.Marshal(d)
	if err != nil {
		return "", fmt.Errorf("marshal IAM policy: %w", err)
	}
	return string(b), nil
}

// AssumeRole is a trust policy letting a service principal assume a role,
// limited to our account with aws:SourceAccount (confused-deputy guard).
func AssumeRole(service, accountID string) Document {
	return New(Statement{
		Effect:    "Allow",
		Principal: map[string]any{"Service": service},
		Action:    []string{"sts:AssumeRole"},
		Condition: map[string]map[string]any{"StringEquals": {"aws:SourceAccount": accountID}},
	})
}

// AssumeRoleFrom is AssumeRole narrowed to the resources of the service
// that use the role: aws:SourceArn, with ArnLike so a pattern such as
// arn:aws:ec2:<region>:<account>:vpc-flow-log/* works as the exact ARNs do
// (IAM User Guide, "The confused deputy problem", and each service's page
// on confused-deputy prevention, cited where the role is built). Use it
// only for services that document aws:SourceArn in a role trust policy: a
// service that does not set the key fails the condition and cannot assume
// the role.
func AssumeRoleFrom(service, accountID string, sourceArns ...string) Document {
	doc := AssumeRole(service, accountID)
	if len(sourceArns) > 0 {
		var arns any = sourceArns[0]
		if len(sourceArns) > 1 {
			arns = sourceArns
		}
		doc.Statement[0].Condition["ArnLike"] = map[string]any{"aws:SourceArn": arns}
	}
	return doc
}

// DenyInsecureTransport is the resource-policy statement that refuses any
// request not made over TLS.
func DenyInsecureTransport(actions, resources []string) Statement {
	return Statement{
		Sid:       "DenyInsecureTransport",
		Effect:    "Deny",
		Principal: map[string]any{"AWS": "*"},
		Action:    actions,
		Resource:  resources,
		Condition: map[string]map[string]any{"Bool": {"aws:SecureTransport": "false"}},
	}
}

// AssumeRoleWithMFA is a trust policy letting the account's own IAM
// principals assume a role, each only if its identity policies allow
// sts:AssumeRole on it (the account as principal delegates the decision to
// them: IAM User Guide, "AWS JSON policy elements: Principal", AWS account
// principals), and only in a session authenticated with MFA (IAM User
// Guide, "Secure API access with MFA": the trust policy tests
// aws:MultiFactorAuthPresent; Bool "true" does not match a request without
// the key, such as one signed with long-term access keys alone).
func AssumeRoleWithMFA(accountID string) Document {
	return New(Statement{
		Effect:    "Allow",
		Principal: map[string]any{"AWS": "arn:aws:iam::" + accountID + ":root"},
		Action:    []string{"sts:AssumeRole"},
		Condition: map[string]map[string]any{"Bool": {"aws:MultiFactorAuthPresent": "true"}},
	})
}
