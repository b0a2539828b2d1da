package smoke

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/backup"
)

// Prerequisite is an account- or region-wide setting the stack relies on
// but does not own (docs/deploy.md, section 5a): the smoke test checks it
// after a deploy and fails naming the setting and the fix. Check returns a
// detail for the report, or an error that says what to change.
type Prerequisite struct {
	Name  string
	Check func(ctx context.Context) (string, error)
}

// BackupAPI is the part of the AWS Backup client the prerequisite checks use.
type BackupAPI interface {
	DescribeRegionSettings(ctx context.Context, in *backup.DescribeRegionSettingsInput, opts ...func(*backup.Options)) (*backup.DescribeRegionSettingsOutput, error)
}

// ManagedDynamoDB is the ResourceTypeManagementPreference key of AWS
// Backup's advanced DynamoDB backup features (AWS Backup Developer Guide,
// "Advanced DynamoDB backup"; API reference, UpdateRegionSettings).
const ManagedDynamoDB = "DynamoDB"

// BackupResourceTypes are the ResourceTypeOptInPreference keys of the
// resource types the stack's backup selections protect (infra/backup).
// The selections name their resources by ARN, and AWS Backup includes an
// explicitly assigned resource "even if the opt-in is not enabled for that
// particular service" (API reference, UpdateRegionSettings), so the
// opt-ins are reported, not required.
var BackupResourceTypes = []string{"Aurora", "DynamoDB", "S3"}

// AdvancedDynamoDBBackup checks, in region, that AWS Backup manages
// DynamoDB backups fully (the advanced features). Without them a backup of
// the sessions table is a DynamoDB backup with a DynamoDB ARN, not a
// recovery point of our vault: the backup-verification runbook's
// StartRestoreJob grant (recovery-point ARNs only) is refused, the DR
// vault receives no copy of the table, and neither the vault's key nor its
// lock applies to the table's backups. It is a region-wide setting of the
// account that the stack does not own (docs/deploy.md, section 5a).
func AdvancedDynamoDBBackup(api BackupAPI, region string) Prerequisite {
	return Prerequisite{
		Name: "AWS Backup advanced DynamoDB features (" + region + ")",
		Check: func(ctx context.Context) (string, error) {
			out, err := api.DescribeRegionSettings(ctx, &backup.DescribeRegionSettingsInput{}, func(o *backup.Options) { o.Region = region })
			if err != nil {
				return "", fmt.Errorf("DescribeRegionSettings in %s: %w", region, err)
			}
			if !out.ResourceTypeManagementPreference[ManagedDynamoDB] {
				state := "false"
				if _, set := out.ResourceTypeManagementPreference[ManagedDynamoDB]; !set {
					state = "not set"
				}
				return "", fmt.Errorf("AWS Backup region setting ResourceTypeManagementPreference %s is %s in %s: "+
					"the sessions table's backups are not recovery points of the vault, so the backup-verification runbook's restore is refused "+
					"and no copy reaches the DR vault; fix: aws backup update-region-settings --region %s --resource-type-management-preference %s=true "+
					"(docs/deploy.md, section 5a)", ManagedDynamoDB, state, region, region, ManagedDynamoDB)
			}
			return fmt.Sprintf("ResourceTypeManagementPreference %s=true; opt-in %s", ManagedDynamoDB, optIns(out.ResourceTypeOptInPreference)), nil
		},
	}
}

// optIns renders the opt-in preferences of BackupResourceTypes.
func optIns(prefs map[string]bool) string {
	parts := make([]string, 0, len(BackupResourceTypes))
	for _, t := range BackupResourceTypes {
		v, set := prefs[t]
		if !set {
			parts = append(parts, t+"=unset")
			continue
		}
		parts = append(parts, fmt.Sprintf("%s=%t", t, v))
	}
	return strings.Join(parts, " ") + " (not required: the selections name resources by ARN)"
}

// The AWS SDK's Backup client is a BackupAPI.
var _ BackupAPI = (*backup.Client)(nil)
