package iamcheck

import "strings"

// servicePrincipals are the service principals AWS documents, each with the
// page that documents it. iam-data carries no principal list, so this is
// checked in: extend it (with the page) when a policy needs a new service.
// ${Region} stands for a region code, for services that document a regional
// principal (CloudWatch Logs: logs.<region>.amazonaws.com).
// Overview: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html#principal-services
var servicePrincipals = map[string]string{
	"application-autoscaling.amazonaws.com":          "https://docs.aws.amazon.com/autoscaling/application/userguide/application-auto-scaling-service-linked-roles.html",
	"backup.amazonaws.com":                           "https://docs.aws.amazon.com/aws-backup/latest/devguide/iam-service-roles.html",
	"cloudtrail.amazonaws.com":                       "https://docs.aws.amazon.com/awscloudtrail/latest/userguide/create-s3-bucket-policy-for-cloudtrail.html",
	"cloudwatch.amazonaws.com":                       "https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html",
	"delivery.logs.amazonaws.com":                    "https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/AWS-logs-and-resource-policy.html",
	"ec2.amazonaws.com":                              "https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/iam-roles-for-amazon-ec2.html",
	"ecs-tasks.amazonaws.com":                        "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_execution_IAM_role.html",
	"ecs.amazonaws.com":                              "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/using-service-linked-roles.html",
	"elasticloadbalancing.amazonaws.com":             "https://docs.aws.amazon.com/elasticloadbalancing/latest/userguide/elb-service-linked-roles.html",
	"events.amazonaws.com":                           "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html",
	"fis.amazonaws.com":                              "https://docs.aws.amazon.com/fis/latest/userguide/getting-started-iam-service-role.html",
	"lambda.amazonaws.com":                           "https://docs.aws.amazon.com/lambda/latest/dg/lambda-intro-execution-role.html",
	"logdelivery.elasticloadbalancing.amazonaws.com": "https://docs.aws.amazon.com/elasticloadbalancing/latest/application/enable-access-logging.html",
	"logging.s3.amazonaws.com":                       "https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html",
	"logs.${Region}.amazonaws.com":                   "https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html",
	"monitoring.rds.amazonaws.com":                   "https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/USER_Monitoring.OS.Enabling.html",
	"rds.amazonaws.com":                              "https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/UsingWithRDS.IAM.ServiceLinkedRoles.html",
	"resiliencehub.amazonaws.com":                    "https://docs.aws.amazon.com/resilience-hub/latest/userguide/security-iam-resilience-hub-permissions.html",
	"s3.amazonaws.com":                               "https://docs.aws.amazon.com/AmazonS3/latest/userguide/NotificationHowTo.html",
	"scheduler.amazonaws.com":                        "https://docs.aws.amazon.com/scheduler/latest/UserGuide/setting-up.html",
	"sns.amazonaws.com":                              "https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html",
	"ssm.amazonaws.com":                              "https://docs.aws.amazon.com/systems-manager/latest/userguide/using-service-linked-roles.html",
	"states.amazonaws.com":                           "https://docs.aws.amazon.com/step-functions/latest/dg/procedure-create-iam-role.html",
	"synthetics.amazonaws.com":                       "https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Synthetics_Canaries_Roles.html",
	"vpc-flow-logs.amazonaws.com":                    "https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-iam-role.html",
}

// KnownServicePrincipal reports whether p is a documented service principal,
// accepting the regional form where the service documents one.
func KnownServicePrincipal(p string) bool {
	if _, ok := servicePrincipals[p]; ok {
		return true
	}
	// <service>.<region>.amazonaws.com -> <service>.${Region}.amazonaws.com
	parts := strings.Split(p, ".")
	if len(parts) == 4 && parts[2] == "amazonaws" && parts[3] == "com" && regionCode(parts[1]) {
		_, ok := servicePrincipals[parts[0]+".${Region}.amazonaws.com"]
		return ok
	}
	return false
}

// regionCode reports whether s looks like an AWS region code (us-east-1,
// ap-southeast-2, us-gov-west-1).
func regionCode(s string) bool {
	f := strings.Split(s, "-")
	if len(f) < 3 {
		return false
	}
	last := f[len(f)-1]
	if last == "" {
		return false
	}
	for _, c := range last {
		if c < '0' || c > '9' {
			return false
		}
	}
	for _, p := range f[:len(f)-1] {
		if p == "" {
			return false
		}
		for _, c := range p {
			if c < 'a' || c > 'z' {
				return false
			}
		}
	}
	return true
}
