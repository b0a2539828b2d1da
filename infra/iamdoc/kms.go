package iamdoc

// KMSKeyAdminActions are the key administration actions of the AWS KMS
// default key policy's key-administrators statement (AWS KMS Developer
// Guide, "Default key policy", "Allows key administrators to administer
// the KMS key"): managing the key, never using it for cryptography.
var KMSKeyAdminActions = []string{
	"kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*",
	"kms:Revoke*", "kms:Disable*", "kms:Get*", "kms:Delete*", "kms:TagResource", "kms:UntagResource",
	"kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion",
}
