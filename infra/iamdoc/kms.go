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
