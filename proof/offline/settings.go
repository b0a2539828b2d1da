package offline

// keySettings lists, per resource type, the inputs a reviewer looks at first.
var keySettings = map[string][]string{
	"awsx:ec2:Vpc":                            {"cidrBlock", "availabilityZoneNames", "natGateways"},
	"aws:kms/key:Key":                         {"enableKeyRotation", "deletionWindowInDays"},
	"aws:kms/alias:Alias":                     {"name"},
	"aws:ec2/flowLog:FlowLog":                 {"trafficType", "maxAggregationInterval"},
	"aws:cloudwatch/logGroup:LogGroup":        {"name", "retentionInDays", "kmsKeyId"},
	"aws:ec2/vpcEndpoint:VpcEndpoint":         {"serviceName", "vpcEndpointType"},
	"aws:s3/bucketV2:BucketV2":                {"bucket", "forceDestroy"},
	"aws:dynamodb/table:Table":                {"name", "billingMode", "deletionProtectionEnabled"},
	"aws:ssm/parameter:Parameter":             {"name", "type"},
	"aws:iam/role:Role":                       {"name"},
	"aws:rds/cluster:Cluster":                 {"clusterIdentifier", "engine", "engineVersion", "backupRetentionPeriod", "storageEncrypted", "deletionProtection"},
	"aws:rds/clusterInstance:ClusterInstance": {"identifier", "instanceClass", "availabilityZone", "promotionTier"},
	"aws:ecs/service:Service":                 {"name", "desiredCount", "launchType"},
	"aws:ecs/taskDefinition:TaskDefinition":   {"family", "cpu", "memory"},
	"aws:lb/loadBalancer:LoadBalancer":        {"name", "internal", "idleTimeout"},
	"aws:lb/targetGroup:TargetGroup":          {"name", "port", "deregistrationDelay"},
	"aws:lb/listener:Listener":                {"port", "protocol", "sslPolicy"},
	"aws:synthetics/canary:Canary":            {"name", "runtimeVersion"},
	"aws:cloudwatch/metricAlarm:MetricAlarm":  {"name", "metricName", "threshold", "period", "evaluationPeriods"},
	"aws:sfn/stateMachine:StateMachine":       {"name", "type"},
	"aws:backup/plan:Plan":                    {"name"},
	"aws:backup/vault:Vault":                  {"name", "forceDestroy"},
	"aws:cloudwatch/eventBus:EventBus":        {"name"},
	"aws:route53/healthCheck:HealthCheck":     {"type", "requestInterval", "failureThreshold", "resourcePath"},

	// events and backup
	"aws:cloudwatch/eventRule:EventRule":               {"name", "eventBusName"},
	"aws:cloudwatch/eventArchive:EventArchive":         {"name", "retentionDays"},
	"aws:sqs/queue:Queue":                              {"name", "kmsMasterKeyId"},
	"aws:backup/restoreTestingPlan:RestoreTestingPlan": {"name", "scheduleExpression"},
	"aws:scheduler/schedule:Schedule":                  {"name", "scheduleExpression"},
	"aws:appautoscaling/target:Target":                 {"resourceId", "minCapacity", "maxCapacity"},
	"aws:ecs/cluster:Cluster":                          {"name"},
	"aws:ecr/repository:Repository":                    {"name", "imageTagMutability", "forceDelete"},
	"aws:wafv2/webAcl:WebAcl":                          {"name", "scope"},
	"aws:acm/certificate:Certificate":                  {"domainName", "validationMethod"},
	// resilience (drills)
	"aws:fis/experimentTemplate:ExperimentTemplate":       {"description"},
	"aws:resiliencehub/resiliencyPolicy:ResiliencyPolicy": {"name", "tier"},
}

// KeySettings returns the inputs the offline plan prints for a type.
func KeySettings(typ string) []string {
	return keySettings[typ]
}
