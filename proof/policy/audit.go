package policy

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/trading-ha/trading-ha/infra/audit/cis"
	"github.com/trading-ha/trading-ha/infra/config"
)

// The audit and data-protection rules: audit trail (FSBP CloudTrail.1, .2,
// .4, .5 and the CIS CloudWatch filters), database audit (FSBP RDS.37), WAF
// logging (FSBP WAF.11), immutable and off-site backups and protected data
// (ours, TH-*: Security Hub has no control for vault lock or cross-region
// copies).

const trailType = "aws:cloudtrail/trail:Trail"

// protectedStack: config deletionProtection, or any data store with
// deletion protection on (fixtures carry no config). A cluster whose flag
// is unknown does not make the stack protected.
func protectedStack(rec *Stack) bool {
	if rec.Config[config.Project+":deletionProtection"] == "true" {
		return true
	}
	for _, r := range rec.ByType("aws:rds/cluster:Cluster") {
		if on, _ := boolean(r, "deletionProtection"); on {
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

// trailPresent is presentField for trails (a key or log group ARN).
func trailPresent(path, msg string) func(*Stack) []Violation {
	return presentField(trailType, path, msg)
}

// trailFlag is flagField for trails.
func trailFlag(path, msg string) func(*Stack) []Violation {
	return flagField(trailType, path, msg)
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
			out = append(out, fail("no CloudTrail trail (set cloudTrailEnabled false only under an organization trail)").violation(p))
		}
		return out
	}
	return each(rec, trailType, func(r *Resource) verdict {
		const path = "advancedEventSelectors"
		multi := enabled(r, "isMultiRegionTrail", "not a multi-Region trail")
		selectors, known := list(r, path)
		for _, s := range selectors {
			fs := lookup(s, "fieldSelectors")
			if IsUnknown(fs) {
				known = false
				continue
			}
			fields, _ := fs.([]any)
			mgmt, readOnly, selectorKnown := false, false, true
			for _, f := range fields {
				field, equals := lookup(f, "field"), lookup(f, "equals")
				if anyUnknown(field, equals) {
					// It may be the readOnly selector, or the category.
					selectorKnown = false
					continue
				}
				eqs, _ := equals.([]any)
				switch field {
				case "eventCategory":
					mgmt = slices.Contains(eqs, any("Management"))
				case "readOnly":
					readOnly = true
				}
			}
			if mgmt && !readOnly && selectorKnown {
				return multi
			}
			known = known && selectorKnown
		}
		selector := fail("no advanced event selector records all (read and write) management events")
		if !known {
			selector = later(path)
		}
		return worst(multi, selector)
	})
}

// trailFilters: the trail's log group carries every CIS filter of
// cis.Watches, each with an alarm on its metric that has an action. It
// defers while the trail's log group ARN, or a filter's or alarm's value
// it would compare, is unknown.
func trailFilters(rec *Stack) []Violation {
	return each(rec, trailType, func(r *Resource) verdict {
		arn, known := str(r, "cloudWatchLogsGroupArn")
		if !known {
			return later("cloudWatchLogsGroupArn")
		}
		group := strings.TrimSuffix(arn, ":*")
		i := strings.Index(group, ":log-group:")
		if i < 0 {
			return fail("no CloudWatch Logs group to filter")
		}
		groupName := group[i+len(":log-group:"):]
		var missing []string
		unknown := false
		for _, w := range cis.Watches {
			found := false
			for _, f := range rec.ByType("aws:cloudwatch/logMetricFilter:LogMetricFilter") {
				fGroup, gKnown := str(f, "logGroupName")
				pattern, pKnown := str(f, "pattern")
				metric, mKnown := str(f, "metricTransformation.name")
				namespace, nKnown := str(f, "metricTransformation.namespace")
				if !gKnown || !pKnown || !mKnown || !nKnown {
					unknown = true
				}
				if fGroup != groupName || pattern != w.Pattern {
					continue
				}
				for _, a := range rec.ByType("aws:cloudwatch/metricAlarm:MetricAlarm") {
					aMetric, amKnown := str(a, "metricName")
					aNamespace, anKnown := str(a, "namespace")
					actions, acKnown := list(a, "alarmActions")
					if !amKnown || !anKnown || !acKnown {
						unknown = true
					}
					found = found || (aMetric == metric && aNamespace == namespace && len(actions) > 0)
				}
			}
			if !found {
				missing = append(missing, w.Control)
			}
		}
		switch {
		case len(missing) == 0:
			return pass
		case unknown:
			return later("the metric filters or alarms for " + strings.Join(missing, ", "))
		}
		return fail("no metric filter with an alarm for " + strings.Join(missing, ", "))
	})
}

// rdsAudit: the cluster exports postgresql logs (FSBP RDS.37) and its
// parameter group loads pgaudit logging DDL and ROLE without parameters.
func rdsAudit(rec *Stack) []Violation {
	out := each(rec, "aws:rds/cluster:Cluster", exportsPostgresLogs)
	return append(out, each(rec, "aws:rds/clusterParameterGroup:ClusterParameterGroup", func(r *Resource) verdict {
		p, known := parameters(r)
		var v verdict
		switch {
		case !slices.Contains(strings.Split(p["shared_preload_libraries"], ","), "pgaudit"):
			v = fail("shared_preload_libraries does not load pgaudit")
		case !strings.Contains(p["pgaudit.log"], "ddl") || !strings.Contains(p["pgaudit.log"], "role"):
			v = fail(fmt.Sprintf("pgaudit.log %q lacks ddl or role", p["pgaudit.log"]))
		case p["pgaudit.log_parameter"] != "0":
			v = fail("pgaudit.log_parameter is not 0: bound values (secrets) would be logged")
		}
		if v.failed() && !known {
			return later("parameters")
		}
		return v
	})...)
}

// wafLogging: every web ACL logs to an aws-waf-logs-* destination with the
// authorization and cookie headers redacted (FSBP WAF.11). The logging
// configuration is found by its resourceArn, or, while that is unknown,
// by its dependency on the web ACL; an unknown destination defers.
func wafLogging(rec *Stack) []Violation {
	return each(rec, "aws:wafv2/webAcl:WebAcl", func(acl *Resource) verdict {
		for _, l := range attached(rec, "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration", "resourceArn", acl) {
			destination := pass
			dests, known := list(l, "logDestinationConfigs")
			switch {
			case !known || (len(dests) > 0 && IsUnknown(dests[0])):
				destination = later("logDestinationConfigs")
			case len(dests) == 0 || !strings.Contains(fmt.Sprint(dests[0]), ":log-group:aws-waf-logs-"):
				destination = fail("logging destination is not an aws-waf-logs- log group")
			}
			redactedFields, known := list(l, "redactedFields")
			redacted := map[string]bool{}
			for _, f := range redactedFields {
				name := lookup(f, "singleHeader.name")
				known = known && !IsUnknown(name)
				redacted[strings.ToLower(fmt.Sprint(name))] = true
			}
			redaction := pass
			switch {
			case redacted["authorization"] && redacted["cookie"]:
			case !known:
				redaction = later("redactedFields")
			default:
				redaction = fail("authorization and cookie headers are not redacted")
			}
			return worst(destination, redaction)
		}
		return fail("no logging configuration")
	})
}

// wafNoSamples: no web ACL, and no rule in it, keeps sampled requests.
// AWS WAF keeps sampled web requests with their headers, and the logging
// configuration's redacted fields do not apply to them (AWS WAF
// Developer Guide, "Viewing a sample of web requests"), so a sample holds
// a desk's bearer token for anyone allowed wafv2:GetSampledRequests.
func wafNoSamples(rec *Stack) []Violation {
	return each(rec, "aws:wafv2/webAcl:WebAcl", func(acl *Resource) verdict {
		v := disabled(acl, "visibilityConfig.sampledRequestsEnabled", "the web ACL keeps sampled requests (headers unredacted)")
		if v.failed() {
			return v
		}
		rules, known := list(acl, "rules")
		if !known {
			return later("rules")
		}
		for _, r := range rules {
			if b, _ := lookup(r, "visibilityConfig.sampledRequestsEnabled").(bool); b {
				return fail(fmt.Sprintf("rule %v keeps sampled requests (headers unredacted)", lookup(r, "name")))
			}
		}
		return v
	})
}

// vaultLocked: every vault has a lock and an access policy denying
// backup:DeleteRecoveryPoint; an unknown policy document defers.
func vaultLocked(rec *Stack) []Violation {
	return each(rec, "aws:backup/vault:Vault", func(v *Resource) verdict {
		if len(attached(rec, "aws:backup/vaultLockConfiguration:VaultLockConfiguration", "backupVaultName", v)) == 0 {
			return fail("no vault lock")
		}
		unknown := false
		for _, p := range attached(rec, "aws:backup/vaultPolicy:VaultPolicy", "backupVaultName", v) {
			doc, known := str(p, "policy")
			if !known {
				unknown = true
				continue
			}
			var d struct {
				Statement []struct {
					Effect string
					Action any
				}
			}
			if json.Unmarshal([]byte(doc), &d) == nil {
				for _, s := range d.Statement {
					if s.Effect == "Deny" && slices.Contains(strs(s.Action), "backup:DeleteRecoveryPoint") {
						return pass
					}
				}
			}
		}
		if unknown {
			return later("policy")
		}
		return fail("no access policy denying backup:DeleteRecoveryPoint")
	})
}

// backupCopies: a protected stack copies recovery points to a vault in
// another region. A copy action whose destination is not known yet is
// resolved by the plan's dependency on a vault (copyRegion); if none, the
// check defers.
func backupCopies(rec *Stack) []Violation {
	if !protectedStack(rec) {
		return nil
	}
	unknown := false
	for _, p := range rec.ByType("aws:backup/plan:Plan") {
		rules, known := list(p, "rules")
		unknown = unknown || !known
		for _, rule := range rules {
			acts := lookup(rule, "copyActions")
			if IsUnknown(acts) {
				unknown = true
				continue
			}
			copies, _ := acts.([]any)
			for _, a := range copies {
				region, decided := copyRegion(rec, p, lookup(a, "destinationVaultArn"))
				switch {
				case !decided:
					unknown = true
				case region != config.Region:
					return nil
				}
			}
		}
	}
	return each(rec, "aws:rds/cluster:Cluster", func(*Resource) verdict {
		if unknown {
			return later("the backup plans' copy destinations")
		}
		return fail("protected stack without a cross-region copy of its recovery points (drRegion)")
	})
}

// copyRegion is the region of the vault a copy action of plan sends to:
// that of the stack's vault whose ARN it names, through its provider. An
// ARN that names none of the stack's vaults is the home region, unless an
// ARN is unknown (the action's, or a vault's at a first preview): then the
// vault in another region the plan's rules depend on decides, and without
// one decided is false.
func copyRegion(rec *Stack, plan *Resource, arn any) (region string, decided bool) {
	vaults := rec.ByType("aws:backup/vault:Vault")
	unknown := IsUnknown(arn)
	for _, v := range vaults {
		if s, ok := arn.(string); ok && v.Outputs["arn"] == s {
			return providerRegion(rec, v), true
		}
		unknown = unknown || IsUnknown(v.Outputs["arn"])
	}
	if !unknown {
		return config.Region, true
	}
	for _, v := range vaults {
		if dependsOn(plan, "rules", v) && providerRegion(rec, v) != config.Region {
			return providerRegion(rec, v), true
		}
	}
	return "", false
}

// keepsData: a protected cluster keeps a final snapshot and its automated
// backups when deleted.
func keepsData(rec *Stack) []Violation {
	return each(rec, "aws:rds/cluster:Cluster", func(r *Resource) verdict {
		const msg = "deletion-protected cluster would lose its final snapshot or automated backups on delete"
		switch on, known := boolean(r, "deletionProtection"); {
		case !known:
			return later("deletionProtection")
		case !on:
			return pass
		}
		return worst(disabled(r, "skipFinalSnapshot", msg), present(r, "finalSnapshotIdentifier", msg), disabled(r, "deleteAutomatedBackups", msg))
	})
}

// closedEgress: with interface endpoints in the VPC (privateEgress
// endpoints), no security group egress rule reaches the internet. While an
// endpoint's type is unknown and none is known to be an interface
// endpoint, whether the rule applies is unknown: what would violate
// defers. An unknown CIDR defers.
func closedEgress(rec *Stack) []Violation {
	applies, maybe := false, false
	for _, e := range rec.ByType("aws:ec2/vpcEndpoint:VpcEndpoint") {
		typ, known := str(e, "vpcEndpointType")
		applies = applies || typ == "Interface"
		maybe = maybe || !known
	}
	if !applies && !maybe {
		return nil
	}
	return each(rec, "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule", func(r *Resource) verdict {
		v4, known4 := str(r, "cidrIpv4")
		v6, known6 := str(r, "cidrIpv6")
		for _, c := range []string{v4, v6} {
			if c != "0.0.0.0/0" && c != "::/0" {
				continue
			}
			if !applies {
				return later("vpcEndpointType")
			}
			return fail("egress to " + c + " although AWS APIs are reached through interface endpoints")
		}
		if !known4 || !known6 {
			return later("cidrIpv4", "cidrIpv6")
		}
		return pass
	})
}

// providerRegion is the region of the provider r is deployed through (the
// home region when the provider names none).
func providerRegion(rec *Stack, r *Resource) string {
	for _, p := range rec.ByType("pulumi:providers:aws") {
		if strings.HasPrefix(r.Provider, p.URN+"::") {
			if region, known := str(p, "region"); known && region != "" {
				return region
			}
		}
	}
	return config.Region
}
