package iamdoc

// KMSKeyAdminActions are the key administration actions of the AWS KMS
// default key policy's key-administrators statement (AWS KMS Developer
// Guide, "Default key policy", "Allows key administrators to administer
// the KMS key", which lists kms:RotateKeyOnDemand since on-demand rotation
// exists): managing the key, never using it for cryptography. kms:Create*
// covers kms:CreateGrant and kms:Put* covers kms:PutKeyPolicy, so an
// administrator can still give itself use: the separation is that no
// identity policy reaches use through this statement alone.
var KMSKeyAdminActions = []string{
	"kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*",
	"kms:Revoke*", "kms:Disable*", "kms:Get*", "kms:Delete*", "kms:TagResource", "kms:UntagResource",
	"kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion", "kms:RotateKeyOnDemand",
}

// KeyDeletionActions make a key unusable: a disabled key refuses every
// cryptographic call, and a key scheduled for deletion is gone when its
// window ends with every ciphertext under it (AWS KMS Developer Guide,
// "Key states of AWS KMS keys"; "Deleting AWS KMS keys").
var KeyDeletionActions = []string{"kms:ScheduleKeyDeletion", "kms:DisableKey"}

// KeyPolicyChangeActions would let a principal drop a key policy's Deny
// and then delete the key.
var KeyPolicyChangeActions = []string{"kms:PutKeyPolicy"}

// KeyGuard is the pair of key policy statements that keep a key from being
// erased: a Deny of KeyDeletionActions to every principal but breakGlass,
// and a Deny of KeyPolicyChangeActions to every principal but breakGlass
// and deploy (the role `pulumi up` runs as; empty: none), the pattern of
// the backup vault access policies (infra/backup, VaultAccessPolicy). A
// Deny in a key policy wins over every Allow, the account root user's
// included; ArnNotEquals with several values holds when the principal's
// ARN equals none of them, and aws:PrincipalArn is a role's ARN, not its
// session's (IAM User Guide, "Policy evaluation logic"; "AWS global
// condition context keys", aws:PrincipalArn). deploy stays exempt from
// the policy Deny so a `pulumi up` as that role passes KMS's lockout
// safety check ("the principal that is making the request" must be
// allowed kms:PutKeyPolicy by the new policy: AWS KMS API Reference,
// PutKeyPolicy, BypassPolicyLockoutSafetyCheck) and can apply the program's
// policy, the guard's removal included (step one of a protected stack's
// destroy, docs/destroy.md).
func KeyGuard(breakGlass, deploy string) []Statement {
	deny := func(sid string, actions []string, exempt ...string) Statement {
		var arns any = exempt[0]
		if len(exempt) > 1 {
			arns = exempt
		}
		return Statement{
			Sid: sid, Effect: "Deny",
			Principal: map[string]any{"AWS": "*"},
			Action:    append([]string(nil), actions...), Resource: []string{"*"},
			Condition: map[string]map[string]any{"ArnNotEquals": {"aws:PrincipalArn": arns}},
		}
	}
	policy := []string{breakGlass}
	if deploy != "" {
		policy = append(policy, deploy)
	}
	return []Statement{
		deny("DenyKeyDeletionButBreakGlass", KeyDeletionActions, breakGlass),
		deny("DenyKeyPolicyChangesButDeployAndBreakGlass", KeyPolicyChangeActions, policy...),
	}
}
