package tests

import (
	"fmt"
	"strings"
	"testing"

	"github.com/trading-ha/trading-ha/proof/offline"
)

const (
	tCluster     = "aws:rds/cluster:Cluster"
	tInstance    = "aws:rds/clusterInstance:ClusterInstance"
	tParamGroup  = "aws:rds/clusterParameterGroup:ClusterParameterGroup"
	tSubnetGroup = "aws:rds/subnetGroup:SubnetGroup"
	tLogGroup    = "aws:cloudwatch/logGroup:LogGroup"
	tIngress     = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
	tEgress      = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
	tSG          = "aws:ec2/securityGroup:SecurityGroup"
	tScaleTarget = "aws:appautoscaling/target:Target"
	tScalePolicy = "aws:appautoscaling/policy:Policy"
	tParameter   = "aws:ssm/parameter:Parameter"
	dbComponent  = "trading:database:Cluster"
)

// dbExpect is what each stack file asks of the database.
type dbExpect struct {
	class                 string
	instances             int
	readerMax             int
	retention             int
	monitoring            int
	logRetention          int
	applyImmediately      bool
	backupWindow, maintWd string
}

var dbStacks = map[string]dbExpect{
	"dev":  {class: "db.t4g.medium", instances: 2, readerMax: 1, retention: 7, monitoring: 30, logRetention: 30, applyImmediately: true, backupWindow: "03:00-04:00", maintWd: "sun:05:00-sun:06:00"},
	"prod": {class: "db.r7g.large", instances: 3, readerMax: 5, retention: 35, monitoring: 15, logRetention: 365, applyImmediately: false, backupWindow: "03:00-04:00", maintWd: "sun:05:00-sun:06:00"},
}

// keyArn returns the mock ARN of one of the security component's KMS keys.
func keyArn(t *testing.T, rec *offline.Recording, name string) string {
	t.Helper()
	arn, _ := one(t, rec, "aws:kms/key:Key", name).Outputs["arn"].(string)
	if !strings.HasPrefix(arn, "arn:aws:kms:") {
		t.Fatalf("key %s has no ARN: %q", name, arn)
	}
	return arn
}

func TestDatabaseClusterSettings(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		want := dbStacks[stack]
		dataKey := keyArn(t, rec, "key-data")
		c := one(t, rec, tCluster, "aurora")
		if c.Component != dbComponent {
			t.Errorf("cluster belongs to %q, want %s", c.Component, dbComponent)
		}
		eq(t, c, "clusterIdentifier", "aurora-"+stack)
		eq(t, c, "engine", "aurora-postgresql")
		eq(t, c, "engineMode", "provisioned")
		if v, _ := get(t, c, "engineVersion").(string); !strings.HasPrefix(v, "14.") {
			t.Errorf("engineVersion = %q, want 14.x", v)
		}
		eq(t, c, "port", 5432)
		eq(t, c, "storageEncrypted", true)
		eq(t, c, "kmsKeyId", dataKey)
		eq(t, c, "backupRetentionPeriod", want.retention)
		eq(t, c, "preferredBackupWindow", want.backupWindow)
		eq(t, c, "preferredMaintenanceWindow", want.maintWd)
		eq(t, c, "copyTagsToSnapshot", true)
		eq(t, c, "enabledCloudwatchLogsExports", []string{"postgresql"})
		eq(t, c, "iamDatabaseAuthenticationEnabled", true)
		eq(t, c, "dbSubnetGroupName", "dbsubnet-"+stack)
		eq(t, c, "dbClusterParameterGroupName", paramGroupName(stack))
		eq(t, c, "vpcSecurityGroupIds", []string{one(t, rec, tSG, "sg-db").ID})
		eq(t, c, "applyImmediately", want.applyImmediately)

		sub := one(t, rec, tSubnetGroup, "aurora")
		eq(t, sub, "subnetIds", []string{"subnet-isolated-a", "subnet-isolated-b", "subnet-isolated-c"})
	})
}

// TestDatabaseWindowsDoNotOverlap checks the recorded windows minute by
// minute over a week (independently of the config validator).
func TestDatabaseWindowsDoNotOverlap(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		c := one(t, rec, tCluster, "aurora")
		backup := minutesOf(t, "daily", get(t, c, "preferredBackupWindow").(string))
		maint := minutesOf(t, "weekly", get(t, c, "preferredMaintenanceWindow").(string))
		if len(backup) < 7*30 || len(maint) < 30 {
			t.Fatalf("windows too short: backup %d min/week, maintenance %d min", len(backup), len(maint))
		}
		for m := range maint {
			if backup[m] {
				t.Fatalf("backup and maintenance windows overlap at minute %d of the week", m)
			}
		}
	})
}

// minutesOf expands a window into the set of week-minutes it covers.
func minutesOf(t *testing.T, kind, w string) map[int]bool {
	t.Helper()
	days := []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}
	parse := func(s string) int {
		var d, h, m int
		if kind == "weekly" {
			var day string
			if _, err := fmt.Sscanf(strings.Replace(s, ":", " ", 1), "%s %d:%d", &day, &h, &m); err != nil {
				t.Fatalf("bad window %q: %v", w, err)
			}
			for i, x := range days {
				if x == day {
					d = i
				}
			}
		} else if _, err := fmt.Sscanf(s, "%d:%d", &h, &m); err != nil {
			t.Fatalf("bad window %q: %v", w, err)
		}
		return d*1440 + h*60 + m
	}
	parts := strings.Split(w, "-")
	if len(parts) != 2 {
		t.Fatalf("bad window %q", w)
	}
	start, end := parse(parts[0]), parse(parts[1])
	out := map[int]bool{}
	span := func(s, e int) {
		for m := s; m != e; m = (m + 1) % (7 * 1440) {
			out[m] = true
		}
	}
	if kind == "weekly" {
		span(start, end)
		return out
	}
	for d := 0; d < 7; d++ {
		span((start+d*1440)%(7*1440), (end+d*1440)%(7*1440))
	}
	return out
}

func TestDatabaseInstancesSpreadAndTiers(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		want := dbStacks[stack]
		dataKey := keyArn(t, rec, "key-data")
		role := one(t, rec, "aws:iam/role:Role", "rds-monitoring")
		insts := rec.ByType(tInstance)
		if len(insts) != want.instances {
			t.Fatalf("%d instances, want %d (writer + readers)", len(insts), want.instances)
		}
		zones := map[string]string{}
		for i := 1; i <= want.instances; i++ {
			r := one(t, rec, tInstance, fmt.Sprintf("aurora-%d", i))
			eq(t, r, "identifier", fmt.Sprintf("aurora-%s-%d", stack, i))
			eq(t, r, "clusterIdentifier", one(t, rec, tCluster, "aurora").ID)
			eq(t, r, "engine", "aurora-postgresql")
			eq(t, r, "instanceClass", want.class)
			eq(t, r, "promotionTier", i-1)
			eq(t, r, "publiclyAccessible", false)
			eq(t, r, "performanceInsightsEnabled", true)
			eq(t, r, "performanceInsightsKmsKeyId", dataKey)
			eq(t, r, "performanceInsightsRetentionPeriod", 7)
			eq(t, r, "monitoringInterval", want.monitoring)
			eq(t, r, "monitoringRoleArn", role.Outputs["arn"])
			eq(t, r, "autoMinorVersionUpgrade", true)
			eq(t, r, "caCertIdentifier", "rds-ca-rsa2048-g1")
			eq(t, r, "applyImmediately", want.applyImmediately)
			az, _ := get(t, r, "availabilityZone").(string)
			if prev, dup := zones[az]; dup {
				t.Errorf("%s and %s share %s; every instance needs its own AZ", prev, r.Name, az)
			}
			zones[az] = r.Name
			if _, set := r.Inputs["dbParameterGroupName"]; set {
				t.Errorf("%s sets dbParameterGroupName though dbInstanceParameterGroup is empty", r.Name)
			}
		}
		eq(t, one(t, rec, tInstance, "aurora-1"), "availabilityZone", "us-east-1a")
		// readers wait for -1 so it is created first and becomes the writer
		first := one(t, rec, tInstance, "aurora-1").URN
		for i := 2; i <= want.instances; i++ {
			r := one(t, rec, tInstance, fmt.Sprintf("aurora-%d", i))
			if !contains(r.DependsOn, first) {
				t.Errorf("%s does not depend on aurora-1", r.Name)
			}
		}
	})
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

func TestDatabaseParameterGroup(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		pg := one(t, rec, tParamGroup, "aurora")
		eq(t, pg, "family", "aurora-postgresql14")
		eq(t, pg, "name", paramGroupName(stack))
		got := map[string][2]string{}
		for _, p := range get(t, pg, "parameters").([]any) {
			m := p.(map[string]any)
			got[m["name"].(string)] = [2]string{fmt.Sprint(m["value"]), fmt.Sprint(m["applyMethod"])}
		}
		want := map[string][2]string{
			"rds.force_ssl":              {"1", "immediate"},
			"log_connections":            {"1", "immediate"},
			"log_disconnections":         {"1", "immediate"},
			"log_min_duration_statement": {"1000", "immediate"},
			"log_lock_waits":             {"1", "immediate"},
			// static: RDS refuses "immediate" for it
			"track_activity_query_size": {"4096", "pending-reboot"},
			// database audit (tests/audit_test.go)
			"shared_preload_libraries": {"pg_stat_statements,pgaudit", "pending-reboot"},
			"pgaudit.log":              {"ddl,role,write", "immediate"},
			"pgaudit.log_parameter":    {"0", "immediate"},
			"pgaudit.log_catalog":      {"0", "immediate"},
			"pgaudit.log_relation":     {"1", "immediate"},
		}
		for k, w := range want {
			if got[k] != w {
				t.Errorf("parameter %s = %v, want %v", k, got[k], w)
			}
		}
		if len(got) != len(want) {
			t.Errorf("parameters %v, want exactly %v", got, want)
		}
	})
}

func TestDatabaseSecurityGroupRules(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		dbSG, tasksSG := one(t, rec, tSG, "sg-db").ID, one(t, rec, tSG, "sg-tasks").ID
		in := one(t, rec, tIngress, "db-from-tasks")
		eq(t, in, "securityGroupId", dbSG)
		eq(t, in, "referencedSecurityGroupId", tasksSG)
		eq(t, in, "ipProtocol", "tcp")
		eq(t, in, "fromPort", 5432)
		eq(t, in, "toPort", 5432)
		out := one(t, rec, tEgress, "tasks-to-db")
		eq(t, out, "securityGroupId", tasksSG)
		eq(t, out, "referencedSecurityGroupId", dbSG)
		eq(t, out, "fromPort", 5432)
		eq(t, out, "toPort", 5432)
		// the one-off migrate task's pair (TestMigrateTaskNetwork)
		migrateSG := one(t, rec, tSG, "sg-migrate").ID
		eq(t, one(t, rec, tIngress, "db-from-migrate"), "referencedSecurityGroupId", migrateSG)
		eq(t, one(t, rec, tEgress, "migrate-to-db"), "securityGroupId", migrateSG)
		eq(t, one(t, rec, tEgress, "migrate-to-db"), "referencedSecurityGroupId", dbSG)
		// nothing else touches the database group, and no rule of it is open to the world
		for _, typ := range []string{tIngress, tEgress} {
			for _, r := range rec.ByType(typ) {
				if r.Inputs["securityGroupId"] != dbSG && r.Inputs["referencedSecurityGroupId"] != dbSG {
					continue
				}
				for _, k := range []string{"cidrIpv4", "cidrIpv6"} {
					if v, ok := r.Inputs[k]; ok && (v == "0.0.0.0/0" || v == "::/0") {
						t.Errorf("%s %s open to %v", typ, r.Name, v)
					}
				}
				if r.Inputs["securityGroupId"] == dbSG && r.Key != "db-from-tasks" && r.Key != "db-from-migrate" {
					t.Errorf("unexpected rule %s %s on the database group", typ, r.Name)
				}
			}
		}
	})
}

func TestDatabaseSecretHandling(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		c := one(t, rec, tCluster, "aurora")
		eq(t, c, "manageMasterUserPassword", true)
		eq(t, c, "masterUserSecretKmsKeyId", keyArn(t, rec, "key-data"))
		eq(t, c, "masterUsername", "trading_admin")
		for _, r := range rec.Resources {
			if _, ok := r.Inputs["masterPassword"]; ok {
				t.Errorf("%s %s has a masterPassword input", r.Type, r.Name)
			}
			if r.Component == dbComponent && strings.HasPrefix(r.Type, "random:") {
				t.Errorf("database generates a password itself (%s %s)", r.Type, r.Name)
			}
		}
		p := one(t, rec, tParameter, "params-param-db-secret-arn")
		if arn := paramValue(t, p); !strings.HasPrefix(arn, "arn:aws:secretsmanager:us-east-1:") {
			t.Errorf("db/secret-arn = %q, want the RDS-managed secret's ARN", arn)
		}
	})
}

func TestDatabaseConnectionParameters(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		want := map[string]string{
			"db/writer-host": "aurora-" + stack + ".cluster-mock.us-east-1.rds.amazonaws.com",
			"db/reader-host": "aurora-" + stack + ".cluster-ro-mock.us-east-1.rds.amazonaws.com",
			"db/port":        "5432",
			"db/name":        "trading",
			"db/secret-arn":  "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!cluster-mock-AbCdEf",
			"db/sslmode":     "verify-full",
		}
		for path, v := range want {
			p := one(t, rec, tParameter, "params-param-"+strings.ReplaceAll(path, "/", "-"))
			eq(t, p, "name", "/trading/"+stack+"/"+path)
			// the container reads all but the secret's ARN via valueFrom:
			// SecureStrings (tests/params_table_test.go)
			eq(t, p, "type", map[bool]string{true: "String", false: "SecureString"}[path == "db/secret-arn"])
			if got := paramValue(t, p); got != v {
				t.Errorf("%s = %q, want %q", path, got, v)
			}
		}
	})
}

// paramValue reads an SSM parameter's value; pulumi-aws marks every
// parameter value secret, so the recording holds it wrapped.
func paramValue(t *testing.T, p *offline.Resource) string {
	t.Helper()
	key := "insecureValue"
	if p.Inputs["type"] == "SecureString" {
		key = "value" // a secret in the state; the recording unwraps it
	}
	v, ok := p.Inputs[key].(string)
	if !ok {
		t.Fatalf("%s insecureValue is %v, not a string", p.Name, p.Inputs["insecureValue"])
	}
	return v
}

func TestDatabaseObservability(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		want := dbStacks[stack]
		lg := one(t, rec, tLogGroup, "aurora-postgresql")
		eq(t, lg, "name", "/aws/rds/cluster/aurora-"+stack+"/postgresql")
		eq(t, lg, "kmsKeyId", keyArn(t, rec, "key-telemetry"))
		eq(t, lg, "retentionInDays", want.logRetention)
		c := one(t, rec, tCluster, "aurora")
		if !contains(c.DependsOn, lg.URN) {
			t.Errorf("cluster does not depend on its log group; RDS would create it first")
		}
		if name := "/aws/rds/cluster/" + get(t, c, "clusterIdentifier").(string) + "/postgresql"; get(t, lg, "name") != name {
			t.Errorf("log group %v is not the one RDS exports to (%s)", get(t, lg, "name"), name)
		}

		role := one(t, rec, "aws:iam/role:Role", "rds-monitoring")
		eq(t, role, "name", "role-rds-monitoring-"+stack)
		var trust policyDoc
		jsonInput(t, role, "assumeRolePolicy", &trust)
		if len(trust.Statement) != 1 || trust.Statement[0].Principal["Service"] != "monitoring.rds.amazonaws.com" ||
			trust.Statement[0].Action[0] != "sts:AssumeRole" ||
			trust.Statement[0].Condition["StringEquals"]["aws:SourceAccount"] != offline.AccountID {
			t.Errorf("monitoring trust policy %+v", trust)
		}
		att := one(t, rec, "aws:iam/rolePolicyAttachment:RolePolicyAttachment", "rds-monitoring")
		eq(t, att, "policyArn", "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole")
		eq(t, att, "role", "role-rds-monitoring-"+stack)
	})
}

func TestDatabaseReaderAutoscaling(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		want := dbStacks[stack]
		tg := one(t, rec, tScaleTarget, "aurora-readers")
		eq(t, tg, "serviceNamespace", "rds")
		eq(t, tg, "scalableDimension", "rds:cluster:ReadReplicaCount")
		eq(t, tg, "resourceId", "cluster:aurora-"+stack)
		eq(t, tg, "minCapacity", want.instances-1)
		eq(t, tg, "maxCapacity", want.readerMax)
		if get(t, tg, "maxCapacity").(float64) < get(t, tg, "minCapacity").(float64) {
			t.Error("max below min")
		}
		for i := 1; i <= want.instances; i++ {
			if !contains(tg.DependsOn, one(t, rec, tInstance, fmt.Sprintf("aurora-%d", i)).URN) {
				t.Errorf("scaling target registered before instance aurora-%d exists", i)
			}
		}
		p := one(t, rec, tScalePolicy, "aurora-readers-cpu")
		eq(t, p, "name", "aurora-readers-cpu-"+stack)
		eq(t, p, "policyType", "TargetTrackingScaling")
		eq(t, p, "resourceId", "cluster:aurora-"+stack)
		eq(t, p, "scalableDimension", "rds:cluster:ReadReplicaCount")
		eq(t, p, "targetTrackingScalingPolicyConfiguration.predefinedMetricSpecification.predefinedMetricType", "RDSReaderAverageCPUUtilization")
		eq(t, p, "targetTrackingScalingPolicyConfiguration.targetValue", 70)
		eq(t, p, "targetTrackingScalingPolicyConfiguration.scaleInCooldown", 300)
		eq(t, p, "targetTrackingScalingPolicyConfiguration.scaleOutCooldown", 300)
	})
}

func TestDatabaseDestroyable(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		if protected(stack) {
			t.Skip("protected stack: tests/protection_test.go")
		}
		c := one(t, rec, tCluster, "aurora")
		eq(t, c, "skipFinalSnapshot", true)
		eq(t, c, "deletionProtection", false)
		eq(t, c, "deleteAutomatedBackups", true)
		if _, ok := c.Inputs["finalSnapshotIdentifier"]; ok {
			t.Error("finalSnapshotIdentifier set; destroy would leave a snapshot")
		}
		n := 0
		for _, r := range rec.Resources {
			if r.Component != dbComponent {
				continue
			}
			n++
			if r.Protect || r.RetainOnDelete {
				t.Errorf("%s %s is protected or retained on delete", r.Type, r.Name)
			}
		}
		if n < 12 {
			t.Errorf("only %d resources in %s", n, dbComponent)
		}
	})
	rec, err := recordWith(t, "prod", map[string]string{"trading-ha:deletionProtection": "true"})
	if err != nil {
		t.Fatal(err)
	}
	eq(t, one(t, rec, tCluster, "aurora"), "deletionProtection", true)
}

func TestDatabaseOptionalInstanceParameterGroup(t *testing.T) {
	rec, err := recordWith(t, "dev", map[string]string{"trading-ha:dbInstanceParameterGroup": "custom-pg14"})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rec.ByType(tInstance) {
		eq(t, r, "dbParameterGroupName", "custom-pg14")
	}
}

// paramGroupName is the cluster parameter group's name: keyed on its family
// and description (naming.Replacements), so a major upgrade's new group
// does not collide with the one in use. The tail is pinned: a change to
// either input must show here.
func paramGroupName(stack string) string { return "aurora-pg14-cluster-" + stack + "-dec1006e" }
