package policy

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/trading-ha/trading-ha/infra/audit/cis"
	"github.com/trading-ha/trading-ha/infra/config"
)

// Issue 16's rules: audit trail (FSBP CloudTrail.1, .2, .4, .5 and the CIS
// CloudWatch filters), database audit (FSBP RDS.37), WAF logging (FSBP
// WAF.11), immutable and off-site backups and protected data (ours, TH-*:
// Security Hub has no control for vault lock or cross-region copies).

const trailType = "aws:cloudtrail/trail:Trail"

// protectedStack: config deletionProtection, or any data store with
// deletion protection on (fixtures carry no config).
func protectedStack(rec *Stack) bool {
	if rec.Config[config.Project+":deletionProtection"] == "true" {
		return true
	}
	for _, r := range rec.ByType("aws:rds/cluster:Cluster") {
		if boolean(r, "deletionProtection") {
			return true
		}
	}
	return false
}

// kmsWindow is the deletion window KMS.4 wants.
func kmsWindow(rec *Stack) int {
	if protectedStack(rec) {
		return config.KMSWindowProtected
	}
	return config.KMSWindowDestroyable
}

func trailField(path, msg string) func(*Stack) []Violation {
	return typeField(trailType, path, msg)
}

// trailMultiRegion: a multi-region trail whose management events include
// reads and writes (FSBP CloudTrail.1). Without a trail it fires on the
// provider, unless cloudTrailEnabled is false (an organization trail).
func trailMultiRegion(rec *Stack) []Violation {
	trails := rec.ByType(trailType)
	if len(trails) == 0 {
		if rec.Config[config.Project+":cloudTrailEnabled"] == "false" {
			return nil
		}
		var out []Violation
		for _, p := range rec.ByType("pulumi:providers:aws") {
			out = append(out, Violation{p, "no CloudTrail trail (set cloudTrailEnabled false only under an organization trail)"})
		}
		return out
	}
	return each(rec, trailType, func(r *Resource) string {
		if !boolean(r, "isMultiRegionTrail") {
			return "not a multi-Region trail"
		}
		for _, s := range list(r, "advancedEventSelectors") {
			fields, _ := lookup(s, "fieldSelectors").([]any)
			mgmt, readOnly := false, false
			for _, f := range fields {
				eqs, _ := lookup(f, "equals").([]any)
				switch lookup(f, "field") {
				case "eventCategory":
					mgmt = slices.Contains(eqs, any("Management"))
				case "readOnly":
					readOnly = true
				}
			}
			if mgmt && !readOnly {
				return ""
			}
		}
		return "no advanced event selector records all (read and write) management events"
	})
}

// trailFilters: the trail's log group carries every CIS filter of
// cis.Watches, each with an alarm on its metric that has an action.
func trailFilters(rec *Stack) []Violation {
	return each(rec, trailType, func(r *Resource) string {
		group := strings.TrimSuffix(str(r, "cloudWatchLogsGroupArn"), ":*")
		i := strings.Index(group, ":log-group:")
		if i < 0 {
			return "no CloudWatch Logs group to filter"
		}
		groupName := group[i+len(":log-group:"):]
		var missing []string
		for _, w := range cis.Watches {
			found := false
			for _, f := range rec.ByType("aws:cloudwatch/logMetricFilter:LogMetricFilter") {
				if str(f, "logGroupName") != groupName || str(f, "pattern") != w.Pattern {
					continue
				}
				for _, a := range rec.ByType("aws:cloudwatch/metricAlarm:MetricAlarm") {
					found = found || (str(a, "metricName") == str(f, "metricTransformation.name") &&
						str(a, "namespace") == str(f, "metricTransformation.namespace") && len(list(a, "alarmActions")) > 0)
				}
			}
			if !found {
				missing = append(missing, w.Control)
			}
		}
		if len(missing) > 0 {
			return "no metric filter with an alarm for " + strings.Join(missing, ", ")
		}
		return ""
	})
}

// rdsAudit: the cluster exports postgresql logs (FSBP RDS.37) and its
// parameter group loads pgaudit logging DDL and ROLE without parameters.
func rdsAudit(rec *Stack) []Violation {
	out := each(rec, "aws:rds/cluster:Cluster", func(r *Resource) string {
		if !slices.Contains(list(r, "enabledCloudwatchLogsExports"), any("postgresql")) {
			return "postgresql log export off"
		}
		return ""
	})
	return append(out, each(rec, "aws:rds/clusterParameterGroup:ClusterParameterGroup", func(r *Resource) string {
		p := map[string]string{}
		for _, x := range list(r, "parameters") {
			p[fmt.Sprint(lookup(x, "name"))] = fmt.Sprint(lookup(x, "value"))
		}
		switch {
		case !slices.Contains(strings.Split(p["shared_preload_libraries"], ","), "pgaudit"):
			return "shared_preload_libraries does not load pgaudit"
		case !strings.Contains(p["pgaudit.log"], "ddl") || !strings.Contains(p["pgaudit.log"], "role"):
			return fmt.Sprintf("pgaudit.log %q lacks ddl or role", p["pgaudit.log"])
		case p["pgaudit.log_parameter"] != "0":
			return "pgaudit.log_parameter is not 0: bound values (secrets) would be logged"
		}
		return ""
	})...)
}

// wafLogging: every web ACL logs to an aws-waf-logs-* destination with the
// authorization and cookie headers redacted (FSBP WAF.11).
func wafLogging(rec *Stack) []Violation {
	return each(rec, "aws:wafv2/webAcl:WebAcl", func(acl *Resource) string {
		for _, l := range attached(rec, "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration", "resourceArn", acl) {
			dests := strs(lookup(l.Inputs, "logDestinationConfigs"))
			if len(dests) == 0 || !strings.Contains(dests[0], ":log-group:aws-waf-logs-") {
				return "logging destination is not an aws-waf-logs- log group"
			}
			redacted := map[string]bool{}
			for _, f := range list(l, "redactedFields") {
				redacted[strings.ToLower(fmt.Sprint(lookup(f, "singleHeader.name")))] = true
			}
			if !redacted["authorization"] || !redacted["cookie"] {
				return "authorization and cookie headers are not redacted"
			}
			return ""
		}
		return "no logging configuration"
	})
}

// vaultLocked: every vault has a lock and an access policy denying
// backup:DeleteRecoveryPoint.
func vaultLocked(rec *Stack) []Violation {
	return each(rec, "aws:backup/vault:Vault", func(v *Resource) string {
		if len(attached(rec, "aws:backup/vaultLockConfiguration:VaultLockConfiguration", "backupVaultName", v)) == 0 {
			return "no vault lock"
		}
		for _, p := range attached(rec, "aws:backup/vaultPolicy:VaultPolicy", "backupVaultName", v) {
			var d struct {
				Statement []struct {
					Effect string
					Action any
				}
			}
			if json.Unmarshal([]byte(str(p, "policy")), &d) == nil {
				for _, s := range d.Statement {
					if s.Effect == "Deny" && slices.Contains(strs(s.Action), "backup:DeleteRecoveryPoint") {
						return ""
					}
				}
			}
		}
		return "no access policy denying backup:DeleteRecoveryPoint"
	})
}

// backupCopies: a protected stack copies recovery points to a vault in
// another region.
func backupCopies(rec *Stack) []Violation {
	if !protectedStack(rec) {
		return nil
	}
	for _, p := range rec.ByType("aws:backup/plan:Plan") {
		for _, rule := range list(p, "rules") {
			acts, _ := lookup(rule, "copyActions").([]any)
			for _, a := range acts {
				if vaultRegion(rec, fmt.Sprint(lookup(a, "destinationVaultArn"))) != config.Region {
					return nil
				}
			}
		}
	}
	return each(rec, "aws:rds/cluster:Cluster", func(*Resource) string {
		return "protected stack without a cross-region copy of its recovery points (drRegion)"
	})
}

// keepsData: a protected cluster keeps a final snapshot and its automated
// backups when deleted.
func keepsData(rec *Stack) []Violation {
	return each(rec, "aws:rds/cluster:Cluster", func(r *Resource) string {
		if !boolean(r, "deletionProtection") {
			return ""
		}
		if boolean(r, "skipFinalSnapshot") || str(r, "finalSnapshotIdentifier") == "" || boolean(r, "deleteAutomatedBackups") {
			return "deletion-protected cluster would lose its final snapshot or automated backups on delete"
		}
		return ""
	})
}

// closedEgress: with interface endpoints in the VPC (privateEgress
// endpoints), no security group egress rule reaches the internet.
func closedEgress(rec *Stack) []Violation {
	interfaces := false
	for _, e := range rec.ByType("aws:ec2/vpcEndpoint:VpcEndpoint") {
		interfaces = interfaces || str(e, "vpcEndpointType") == "Interface"
	}
	if !interfaces {
		return nil
	}
	return each(rec, "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule", func(r *Resource) string {
		if c := str(r, "cidrIpv4") + str(r, "cidrIpv6"); c == "0.0.0.0/0" || c == "::/0" {
			return "egress to " + c + " although AWS APIs are reached through interface endpoints"
		}
		return ""
	})
}

// vaultRegion is the region of the provider the vault with this ARN is
// deployed through (the home region when unknown).
func vaultRegion(rec *Stack, arn string) string {
	for _, v := range rec.ByType("aws:backup/vault:Vault") {
		if v.Outputs["arn"] != arn {
			continue
		}
		for _, p := range rec.ByType("pulumi:providers:aws") {
			if strings.HasPrefix(v.Provider, p.URN+"::") {
				if r := str(p, "region"); r != "" {
					return r
				}
			}
		}
	}
	return config.Region
}
