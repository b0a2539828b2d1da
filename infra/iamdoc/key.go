package iamdoc

// Key names a customer managed KMS key in identity policies by its alias,
// so a policy that uses the key is known at program time: the key ARN
// holds a key ID AWS chooses at create, the alias is ours
// (infra/naming, created in infra/security).
//
// The form is AWS's alias-based access control (AWS KMS Developer Guide,
// "Use aliases to control access to KMS keys",
// https://docs.aws.amazon.com/kms/latest/developerguide/alias-authorization.html,
// and "AWS KMS condition keys", kms:ResourceAliases):
//   - Resource is the account's keys in the region, key/* (an alias in
//     Resource would apply to the alias resource, not to the key it
//     points at: "These features do not allow you to identify a KMS key by
//     using an alias in the resource element");
//   - kms:ResourceAliases is multivalued (a key may have several aliases;
//     the service reference types it ArrayOfString), so the operator is
//     ForAnyValue:StringEquals: the key has our alias among its aliases.
//     ForAnyValue also fails for a key with no alias, where a bare
//     ForAllValues would match vacuously;
//   - it applies only to KMS key resource operations (those whose
//     Resources column is "KMS key": Encrypt, Decrypt, GenerateDataKey*,
//     ReEncrypt*, DescribeKey, CreateGrant...), which are the only ones we
//     grant through it; proof/iamcheck holds every action to the key
//     resource type that lists the condition key;
//   - alias changes take up to five minutes to affect authorization
//     ("It might take up to five minutes for tag and alias changes to
//     affect KMS key authorization"): the alias is created with the key,
//     long before a role first uses it, and never moved.
//
// The key policy still decides: it admits the account only through the
// services it names (kms:ViaService), so the grant reaches no other key
// use (tests/keyuse_test.go resolves the alias to its key and walks it).
type Key struct {
	// Keys is arn:<partition>:kms:<region>:<account>:key/* (infra/arn At.Keys).
	Keys string
	// Alias is the key's alias, alias/<name>.
	Alias string
}

// ResourceAliasesOperator is the condition operator of the alias match.
const ResourceAliasesOperator = "ForAnyValue:StringEquals"

// Allow is an Allow statement of actions on the key, with conditions
// (operator -> key -> value) besides the alias match, which it adds.
func (k Key) Allow(sid string, actions []string, conditions map[string]map[string]any) Statement {
	cond := map[string]map[string]any{ResourceAliasesOperator: {"kms:ResourceAliases": k.Alias}}
	for op, kv := range conditions {
		if cond[op] == nil {
			cond[op] = map[string]any{}
		}
		for key, v := range kv {
			cond[op][key] = v
		}
	}
	return Statement{Sid: sid, Effect: "Allow", Action: actions, Resource: []string{k.Keys}, Condition: cond}
}
