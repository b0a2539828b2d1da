package tests

import "testing"

// TestServiceConfigRejected feeds invalid service keys and checks the
// message names the key, the value and the rule, and nothing registered.
func TestServiceConfigRejected(t *testing.T) {
	const p = "trading-ha:"
	cases := []struct {
		name      string
		stack     string
		overrides map[string]string
		want      []string
	}{
		{"cpu not a Fargate size", "dev", map[string]string{p + "taskCpu": "768"},
			[]string{p + "taskCpu", `"768"`, "Fargate task CPU value"}},
		{"memory not valid for cpu", "dev", map[string]string{p + "taskCpu": "256", p + "taskMemory": "4096"},
			[]string{p + "taskMemory", `"4096"`, "for taskCpu 256", "512, 1024, 2048"}},
		{"memory off the step", "prod", map[string]string{p + "taskCpu": "2048", p + "taskMemory": "4500"},
			[]string{p + "taskMemory", `"4500"`, "4096 to 16384 in steps of 1024"}},
		{"architecture", "dev", map[string]string{p + "cpuArchitecture": "arm64"},
			[]string{p + "cpuArchitecture", `"arm64"`, "ARM64, X86_64"}},
		{"detection budget", "dev", map[string]string{p + "healthCheckIntervalSeconds": "20"},
			[]string{p + "healthCheckIntervalSeconds", `"20"`, "20 x 2 = 40 s", "at most 30 s"}},
		{"detection budget via threshold", "prod", map[string]string{p + "unhealthyThreshold": "4", p + "healthCheckIntervalSeconds": "10"},
			[]string{p + "healthCheckIntervalSeconds", "10 x 4 = 40 s"}},
		{"timeout not below interval", "dev", map[string]string{p + "healthCheckTimeoutSeconds": "5"},
			[]string{p + "healthCheckTimeoutSeconds", `"5"`, "less than healthCheckIntervalSeconds (5)"}},
		{"threshold out of range", "dev", map[string]string{p + "healthyThreshold": "1"},
			[]string{p + "healthyThreshold", `"1"`, "between 2 and 10"}},
		{"health path", "dev", map[string]string{p + "healthCheckPath": "healthz"},
			[]string{p + "healthCheckPath", `"healthz"`, "starting with /"}},
		{"health path needs the database", "prod", map[string]string{p + "healthCheckPath": "/orders"},
			[]string{p + "healthCheckPath", `"/orders"`, "must be /readyz", "Aurora failover", "replace the whole fleet"}},
		{"health path needs DynamoDB", "dev", map[string]string{p + "healthCheckPath": "/sessions/current"},
			[]string{p + "healthCheckPath", `"/sessions/current"`, "must be /readyz", "DynamoDB outage"}},
		{"health path is liveness", "dev", map[string]string{p + "healthCheckPath": "/healthz"},
			[]string{p + "healthCheckPath", `"/healthz"`, "must be /readyz", "drains"}},
		{"prod below one task per AZ", "prod", map[string]string{p + "desiredCount": "2", p + "minCapacity": "2"},
			[]string{p + "desiredCount", `"2"`, "at least 3, one task per availability zone", "healthy-host alarm"}},
		{"dev below one task per AZ", "dev", map[string]string{p + "desiredCount": "2", p + "minCapacity": "2"},
			[]string{p + "desiredCount", `"2"`, "at least 3, one task per availability zone"}},
		{"no task", "dev", map[string]string{p + "desiredCount": "0"},
			[]string{p + "desiredCount", `"0"`, "between 1 and 100"}},
		{"min below desired", "prod", map[string]string{p + "minCapacity": "2"},
			[]string{p + "minCapacity", `"2"`, "at least desiredCount (3)"}},
		{"max below min", "dev", map[string]string{p + "maxCapacity": "1"},
			[]string{p + "maxCapacity", `"1"`}},
		{"max below min in range", "prod", map[string]string{p + "maxCapacity": "2"},
			[]string{p + "maxCapacity", `"2"`, "at least minCapacity (3)"}},
		{"ceiling not statically stable", "dev", map[string]string{p + "maxCapacity": "4"},
			[]string{p + "maxCapacity", `"4"`, "leaves 2 of 4 tasks", "120% CPU", "static stability"}},
		{"floor not statically stable at a high CPU target", "prod", map[string]string{p + "scaleCpuTarget": "70"},
			[]string{p + "minCapacity", `"3"`, "leaves 2 of 3 tasks", "105% CPU"}},
		{"grace shorter than start period", "dev", map[string]string{p + "healthCheckGracePeriodSeconds": "5"},
			[]string{p + "healthCheckGracePeriodSeconds", `"5"`, "container health check start period (60 s)"}},
		{"deregistration too long", "dev", map[string]string{p + "deregistrationDelaySeconds": "300"},
			[]string{p + "deregistrationDelaySeconds", `"300"`, "between 0 and 60"}},
		{"slow start too short", "dev", map[string]string{p + "slowStartSeconds": "10"},
			[]string{p + "slowStartSeconds", `"10"`, "0 (off) or between 30 and 900"}},
		{"idle timeout", "dev", map[string]string{p + "albIdleTimeoutSeconds": "0"},
			[]string{p + "albIdleTimeoutSeconds", `"0"`, "between 1 and 4000"}},
		{"weak TLS policy", "prod", map[string]string{p + "sslPolicy": "ELBSecurityPolicy-2016-08"},
			[]string{p + "sslPolicy", `"ELBSecurityPolicy-2016-08"`, "must be one of", "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09"}},
		{"certificate mode", "dev", map[string]string{p + "certificateMode": "acm"},
			[]string{p + "certificateMode", `"acm"`, "existing, dns, selfsigned"}},
		{"existing without arn", "prod", map[string]string{p + "certificateMode": "existing", p + "certificateArn": ""},
			[]string{p + "certificateArn is not set", "required when certificateMode is existing"}},
		{"arn from another region", "prod", map[string]string{p + "certificateMode": "existing",
			p + "certificateArn": "arn:aws:acm:eu-west-1:123456789012:certificate/0f0e0d0c-0b0a-0908-0706-050403020100"},
			[]string{p + "certificateArn", "eu-west-1", "ACM certificate ARN in us-east-1"}},
		{"dns without domain and zone", "dev", map[string]string{p + "certificateMode": "dns"},
			[]string{p + "hostedZoneId is not set", "required when certificateMode is dns"}},
		{"bad zone id", "dev", map[string]string{p + "hostedZoneId": "zone-1"},
			[]string{p + "hostedZoneId", `"zone-1"`, "Route 53 hosted zone ID"}},
		{"waf off in prod", "prod", map[string]string{p + "wafEnabled": "false"},
			[]string{p + "wafEnabled", `"false"`, "must be true in prod"}},
		{"waf rate limit below minimum", "dev", map[string]string{p + "wafRateLimit": "5"},
			[]string{p + "wafRateLimit", `"5"`, "between 10 and"}},
		{"image without tag", "dev", map[string]string{p + "appImage": "Trading Image"},
			[]string{p + "appImage", `"Trading Image"`, "image reference with a tag or digest"}},
		{"log level", "dev", map[string]string{p + "logLevel": "verbose"},
			[]string{p + "logLevel", `"verbose"`, "debug, info, warn, error"}},
		{"exec flag", "dev", map[string]string{p + "enableExecuteCommand": "on"},
			[]string{p + "enableExecuteCommand", `"on"`, "true or false"}},
		{"privileged port", "dev", map[string]string{p + "appPort": "80"},
			[]string{p + "appPort", `"80"`, "between 1024 and 65535"}},
		{"cpu target", "dev", map[string]string{p + "scaleCpuTarget": "95"},
			[]string{p + "scaleCpuTarget", `"95"`, "between 20 and 90"}},
		{"ecr keep", "dev", map[string]string{p + "ecrKeepImages": "0"},
			[]string{p + "ecrKeepImages", `"0"`, "between 1 and 1000"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rejects(t, c.stack, c.overrides, c.want)
		})
	}
}

// TestServiceConfigAccepted: the valid edges deploy.
func TestServiceConfigAccepted(t *testing.T) {
	const p = "trading-ha:"
	for name, o := range map[string]map[string]string{
		"drain edge 5 x 2":       {p + "healthCheckIntervalSeconds": "5", p + "healthCheckTimeoutSeconds": "4"},
		"slow return to service": {p + "healthyThreshold": "5"},
		"largest fargate task":   {p + "taskCpu": "16384", p + "taskMemory": "122880"},
		"smallest task":          {p + "taskCpu": "256", p + "taskMemory": "512"},
		"slow start on":          {p + "slowStartSeconds": "30"},
		"waf off in dev":         {p + "wafEnabled": "false"},
		"2021 TLS 1.3 policy":    {p + "sslPolicy": "ELBSecurityPolicy-TLS13-1-2-2021-06"},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := recordWith(t, "dev", o); err != nil {
				t.Errorf("valid config rejected: %v", err)
			}
		})
	}
	rec, err := recordWith(t, "dev", map[string]string{p + "slowStartSeconds": "45"})
	if err != nil {
		t.Fatal(err)
	}
	eq(t, one(t, rec, "aws:lb/targetGroup:TargetGroup", "app"), "slowStart", 45)
}
