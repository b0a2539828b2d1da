package config

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Certificate modes of the HTTPS listener.
const (
	// CertExisting uses an ACM certificate the operator already has.
	CertExisting = "existing"
	// CertDNS requests an ACM certificate validated through the stack's
	// delegated Route 53 zone.
	CertDNS = "dns"
	// CertSelfSigned imports a self-signed certificate (pulumi-tls) into ACM:
	// a deploy never waits on validation, clients must skip verification.
	CertSelfSigned = "selfsigned"
)

// ContainerHealthStartPeriodSeconds is the container health check's start
// period (CONTRACT.md section 9: 60 s covers the start and the first schema
// check; the deploy migrates before the rollout); the health check grace
// period must cover it.
const ContainerHealthStartPeriodSeconds = 60

// Drain timings (CONTRACT.md section 9). At SIGTERM the app fails
// readiness at once and keeps serving for its DRAIN_DELAY, while the ALB's
// health check takes the task out: the check after the signal fails, and
// unhealthyThreshold failed checks interval apart later the target is
// unhealthy. So the drain delay follows the health check
// (Service.DrainDelaySeconds), then in-flight requests get
// SHUTDOWN_TIMEOUT, and the container's stopTimeout covers both with a
// margin (Service.StopTimeoutSeconds). With the defaults, 5 s x 2: drain
// 10 s, stopTimeout 10 + 15 + 5 = 30 s.
const (
	// ShutdownTimeoutSeconds is the app's SHUTDOWN_TIMEOUT: how long
	// in-flight requests get once the drain delay has passed.
	ShutdownTimeoutSeconds = 15
	// StopMarginSeconds is what stopTimeout leaves beyond the drain delay
	// and the shutdown timeout, for the relay and the pools to close
	// before ECS sends SIGKILL.
	StopMarginSeconds = 5
	// DetectionBudgetSeconds bounds interval x unhealthyThreshold: the
	// ALB stops routing to a failed task within 30 s (the failure-mode table, docs/resilience.md).
	// It also bounds the drain delay, so stopTimeout is at most
	// 30 + 15 + 5 = 50 s, inside Fargate's 120 s (Amazon ECS API
	// Reference, ContainerDefinition stopTimeout: "For tasks that use the
	// Fargate launch type, the max stop timeout value is 120 seconds").
	DetectionBudgetSeconds = 30
)

// DrainDelaySeconds is the app's DRAIN_DELAY: interval x unhealthy
// threshold, the longest the ALB takes to see a draining task's failing
// readiness (its answer is immediate, so the check's timeout adds nothing).
func (s Service) DrainDelaySeconds() int {
	return s.HealthCheckInterval * s.UnhealthyThreshold
}

// StopTimeoutSeconds is the app container's ECS stopTimeout: the drain
// delay, SHUTDOWN_TIMEOUT and the margin before SIGKILL.
func (s Service) StopTimeoutSeconds() int {
	return s.DrainDelaySeconds() + ShutdownTimeoutSeconds + StopMarginSeconds
}

// ReadinessPath is the service's readiness probe and the only path the
// target group may check: it answers from process-local state (start-up
// done, not draining) and never asks the database, DynamoDB or SSM
// (CONTRACT.md section 2).
const ReadinessPath = "/readyz"

// LivenessPath is the service's liveness probe (CONTRACT.md section 2):
// the container health check's, inside the task.
const LivenessPath = "/healthz"

// EdgeBlockedPaths are the ALB path patterns the public HTTPS listener
// answers with a fixed 404 before any other rule: the service's liveness
// and readiness paths and whatever follows their names ("*" matches 0 or
// more characters; Elastic Load Balancing, Application Load Balancers,
// "Path conditions"). Both are unauthenticated and say whether a task is
// draining or failing to reach its database: nothing a client needs and
// something an attacker times attacks by. The target group's health check
// is not a listener request: the load balancer sends it to each registered
// target on the traffic port (Elastic Load Balancing, Application Load
// Balancers, "Health checks for your target groups"), so the rule does not
// touch it. The
// configured healthCheckPath, if another path, is added by
// Service.EdgeBlockedPaths.
var EdgeBlockedPaths = []string{LivenessPath + "*", ReadinessPath + "*"}

// EdgeProbePath is what probes the public endpoint from outside without
// credentials (the Route 53 health check): the HTTPS listener answers it
// with a fixed 200 itself, so the probe proves DNS, TLS, the web ACL and
// the listener from the internet and never reaches a task. Whether the
// tasks serve is the canary's journey, the target group's health and the
// 5xx alarms.
const EdgeProbePath = "/edge-probe"

// EdgeBlockedPaths are the path patterns the public listener answers 404:
// EdgeBlockedPaths and the target group's health check path.
func (s Service) EdgeBlockedPaths() []string {
	out := append([]string(nil), EdgeBlockedPaths...)
	if p := s.HealthCheckPath + "*"; s.HealthCheckPath != "" && !slices.Contains(out, p) {
		out = append(out, p)
	}
	return out
}

// refusedHealthCheckPaths are service paths known to be wrong for the
// target group's check, with the reason. A check that depends on a shared
// dependency fails on every task at once when that dependency fails, and
// ECS replaces every task that fails its load balancer health check (Amazon
// ECS Developer Guide, "Health checks for Amazon ECS services"): the fleet
// would be restarted during the failure it is built to survive.
var refusedHealthCheckPaths = map[string]string{
	"/healthz":          "is liveness: it stays 200 while a task drains after SIGTERM, so the balancer would keep routing to a task that is about to stop",
	"/sessions":         "needs DynamoDB and a token: a DynamoDB outage would fail every task at once and ECS would replace the whole fleet",
	"/sessions/current": "needs DynamoDB and a token: a DynamoDB outage would fail every task at once and ECS would replace the whole fleet",
	"/orders":           "needs the database, DynamoDB and SSM: an Aurora failover would fail every task at once and ECS would replace the whole fleet",
}

// SSLPolicies are the ALB security policies the stack accepts: TLS 1.3 with
// TLS 1.2, from the 2021 generation to the post-quantum 2025-09 policies
// (the console's default since 2025). Each name is in the table of
// "Security policies for your Application Load Balancer" (Elastic Load
// Balancing, User Guide for Application Load Balancers); confirm one in
// the account with aws elbv2 describe-ssl-policies --names <policy>.
var SSLPolicies = []string{
	"ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09",
	"ELBSecurityPolicy-TLS13-1-2-PQ-2025-09",
	"ELBSecurityPolicy-TLS13-1-3-PQ-2025-09",
	"ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
	"ELBSecurityPolicy-TLS13-1-2-2021-06",
	"ELBSecurityPolicy-TLS13-1-3-2021-06",
}

// FargateSizeValid reports whether Fargate accepts a task of cpu units and
// memory MiB (fargateMemory); the one-off migrate task's fixed size is
// held to it by the mock suite.
func FargateSizeValid(cpu, memory int) bool { return slices.Contains(fargateMemory(cpu), memory) }

// fargateMemory lists the task memory (MiB) Fargate accepts for each task
// CPU value (Amazon ECS developer guide, "Task CPU and memory").
func fargateMemory(cpu int) []int {
	span := func(lo, hi, step int) []int {
		var out []int
		for m := lo; m <= hi; m += step {
			out = append(out, m)
		}
		return out
	}
	switch cpu {
	case 256:
		return []int{512, 1024, 2048}
	case 512:
		return span(1024, 4096, 1024)
	case 1024:
		return span(2048, 8192, 1024)
	case 2048:
		return span(4096, 16384, 1024)
	case 4096:
		return span(8192, 30720, 1024)
	case 8192:
		return span(16384, 61440, 4096)
	case 16384:
		return span(32768, 122880, 8192)
	}
	return nil
}

// Service configures the ECS Fargate service, its ALB, certificate,
// autoscaling and WAF.
type Service struct {
	// AppImage, when set, is the image the task runs; no ECR repository is
	// created and nothing is built. Empty: build app/Dockerfile into our ECR.
	AppImage string
	// AppPort is the container port (APP_PORT).
	AppPort int
	// CPUArchitecture is ARM64 or X86_64.
	CPUArchitecture string
	// CPU and Memory are the task size (a valid Fargate combination).
	CPU, Memory int
	// DesiredCount is the initial task count (one per AZ or more).
	DesiredCount int
	// MinCapacity and MaxCapacity bound autoscaling.
	MinCapacity, MaxCapacity int
	// ScaleCPUTarget is the average CPU utilisation (percent) to track.
	ScaleCPUTarget int
	// ScaleRequestsPerTarget is the ALB requests per target to track.
	ScaleRequestsPerTarget int
	// ScaleInCooldown and ScaleOutCooldown are in seconds.
	ScaleInCooldown, ScaleOutCooldown int
	// LogLevel is LOG_LEVEL.
	LogLevel string
	// EnableExecuteCommand turns on ECS Exec.
	EnableExecuteCommand bool
	// HealthCheckPath is the ALB health check path: ReadinessPath, which
	// answers from process-local state only.
	HealthCheckPath string
	// HealthCheckInterval, HealthCheckTimeout in seconds; thresholds in checks.
	HealthCheckInterval, HealthCheckTimeout int
	HealthyThreshold, UnhealthyThreshold    int
	// HealthCheckGracePeriod is how long ECS ignores ALB health after a task starts.
	HealthCheckGracePeriod int
	// DeregistrationDelay is the target group's draining time in seconds.
	DeregistrationDelay int
	// SlowStart is the target group's slow start in seconds (0 = off).
	SlowStart int
	// IdleTimeout is the ALB's idle connection timeout in seconds.
	IdleTimeout int
	// SSLPolicy is the HTTPS listener's security policy.
	SSLPolicy string
	// CertificateMode is existing, dns or selfsigned.
	CertificateMode string
	// CertificateArn is the ACM certificate of mode existing.
	CertificateArn string
	// DomainName is the name the certificate is for: the app's FQDN,
	// appRecordName.domainName (the DNS config), set by Parse.
	DomainName string
	// HostedZoneID is the Route 53 zone for DNS validation (mode dns).
	HostedZoneID string
	// HTTPRedirect keeps a port-80 listener that only redirects to HTTPS,
	// with port 80 open in the ALB's security group. Off by default: the
	// API's clients are programs that call https:// themselves.
	HTTPRedirect bool
	// WAFEnabled attaches the regional web ACL to the ALB.
	WAFEnabled bool
	// WAFRateLimit is requests per IP per 5 minutes before blocking.
	WAFRateLimit int
	// ECRKeepImages is how many images the repository's lifecycle keeps.
	ECRKeepImages int
	// LiveTraffic marks a stack serving real clients: it must present a
	// CA-issued certificate on a delegated name, and the canary verifies it.
	LiveTraffic bool
}

var (
	imagePattern  = regexp.MustCompile(`^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|@sha256:[0-9a-f]{64})$`)
	pathPattern   = regexp.MustCompile(`^/[A-Za-z0-9/_.-]{0,1000}$`)
	acmArnPattern = regexp.MustCompile(`^arn:aws:acm:us-east-1:\d{12}:certificate/[0-9a-f-]{36}$`)
	zonePattern   = regexp.MustCompile(`^Z[A-Z0-9]{1,31}$`)
)

// service reads the service keys; k qualifies a key with the project name.
func (r *reader) service(stack string, k func(string) string) Service {
	s := Service{
		AppImage:               r.optional(k("appImage"), imagePattern, "an image reference with a tag or digest, such as 123456789012.dkr.ecr.us-east-1.amazonaws.com/trading:1.2.3"),
		AppPort:                r.integer(k("appPort"), 1024, 65535),
		CPUArchitecture:        r.oneOf(k("cpuArchitecture"), "ARM64", "X86_64"),
		CPU:                    r.integer(k("taskCpu"), 256, 16384),
		Memory:                 r.integer(k("taskMemory"), 512, 122880),
		DesiredCount:           r.integer(k("desiredCount"), 1, 100),
		MinCapacity:            r.integer(k("minCapacity"), 1, 100),
		MaxCapacity:            r.integer(k("maxCapacity"), 2, 100),
		ScaleCPUTarget:         r.integer(k("scaleCpuTarget"), 20, 90),
		ScaleRequestsPerTarget: r.integer(k("scaleRequestsPerTarget"), 10, 100000),
		ScaleInCooldown:        r.integer(k("scaleInCooldownSeconds"), 60, 3600),
		ScaleOutCooldown:       r.integer(k("scaleOutCooldownSeconds"), 0, 3600),
		LogLevel:               r.oneOf(k("logLevel"), "debug", "info", "warn", "error"),
		EnableExecuteCommand:   r.boolean(k("enableExecuteCommand")),
		LiveTraffic:            r.boolean(k("liveTraffic")),
		HealthCheckPath:        r.str(k("healthCheckPath"), pathPattern, "a URL path starting with /, such as /readyz"),
		HealthCheckInterval:    r.integer(k("healthCheckIntervalSeconds"), 5, 300),
		HealthCheckTimeout:     r.integer(k("healthCheckTimeoutSeconds"), 2, 120),
		HealthyThreshold:       r.integer(k("healthyThreshold"), 2, 10),
		UnhealthyThreshold:     r.integer(k("unhealthyThreshold"), 2, 10),
		HealthCheckGracePeriod: r.integer(k("healthCheckGracePeriodSeconds"), 0, 600),
		DeregistrationDelay:    r.integer(k("deregistrationDelaySeconds"), 0, 60),
		SlowStart:              r.integer(k("slowStartSeconds"), 0, 900),
		IdleTimeout:            r.integer(k("albIdleTimeoutSeconds"), 1, 4000),
		SSLPolicy:              r.oneOf(k("sslPolicy"), SSLPolicies...),
		CertificateMode:        r.oneOf(k("certificateMode"), CertExisting, CertDNS, CertSelfSigned),
		CertificateArn:         r.optional(k("certificateArn"), acmArnPattern, "an ACM certificate ARN in us-east-1 (arn:aws:acm:us-east-1:<account>:certificate/<id>)"),
		HostedZoneID:           r.optional(k("hostedZoneId"), zonePattern, "a Route 53 hosted zone ID such as Z0123456789ABCDEFGHIJ"),
		HTTPRedirect:           r.boolean(k("httpRedirect")),
		WAFEnabled:             r.boolean(k("wafEnabled")),
		WAFRateLimit:           r.integer(k("wafRateLimit"), 10, 2000000000),
		ECRKeepImages:          r.integer(k("ecrKeepImages"), 1, 1000),
	}
	itoa := strconv.Itoa

	if s.CPU != 0 && s.Memory != 0 {
		allowed := fargateMemory(s.CPU)
		switch {
		case allowed == nil:
			r.fail(k("taskCpu"), itoa(s.CPU), "must be a Fargate task CPU value: 256, 512, 1024, 2048, 4096, 8192 or 16384")
		case !slices.Contains(allowed, s.Memory):
			r.fail(k("taskMemory"), itoa(s.Memory), "must be a Fargate memory size for taskCpu %d: %s MiB", s.CPU, describeSizes(allowed))
		}
	}
	// At least one task per AZ in every stack: each AZ's healthy-host alarm
	// can only be OK with a task in its AZ, and an AZ loss leaves two thirds
	// of capacity serving while ECS replaces the lost task elsewhere.
	if s.DesiredCount != 0 && s.DesiredCount < TasksPerStackMin {
		r.fail(k("desiredCount"), itoa(s.DesiredCount), "must be at least %d, one task per availability zone: each AZ's healthy-host alarm can only be OK with a task in its AZ", TasksPerStackMin)
	}
	if s.MinCapacity != 0 && s.DesiredCount != 0 && s.MinCapacity < s.DesiredCount {
		r.fail(k("minCapacity"), itoa(s.MinCapacity), "must be at least desiredCount (%d): scaling in must never drop below one task per AZ", s.DesiredCount)
	}
	if s.MaxCapacity != 0 && s.MinCapacity != 0 && s.MaxCapacity < s.MinCapacity {
		r.fail(k("maxCapacity"), itoa(s.MaxCapacity), "must be at least minCapacity (%d)", s.MinCapacity)
	}
	// Static stability at both autoscaling bounds: the AZs left must carry
	// the lost AZ's load before any new task starts (SurvivorCPU).
	for _, b := range []struct {
		key string
		n   int
	}{{"minCapacity", s.MinCapacity}, {"maxCapacity", s.MaxCapacity}} {
		if b.n < TasksPerStackMin || s.ScaleCPUTarget == 0 {
			continue
		}
		if load, left := SurvivorCPU(s.ScaleCPUTarget, b.n, TasksPerStackMin); load > 100 {
			r.fail(k(b.key), itoa(b.n), "leaves %d of %d tasks when the AZ holding the most is lost; at scaleCpuTarget %d%% they would need %.0f%% CPU (static stability: two AZs must carry the peak): use a multiple of %d or a lower scaleCpuTarget",
				left, b.n, s.ScaleCPUTarget, load, TasksPerStackMin)
		}
	}
	// The ALB stops routing to a dead target after interval x unhealthy
	// threshold; the platform's budget for that is 30 s. The app's drain
	// delay follows the product (DrainDelaySeconds), so no other bound.
	if s.HealthCheckInterval != 0 && s.UnhealthyThreshold != 0 && s.DrainDelaySeconds() > DetectionBudgetSeconds {
		r.fail(k("healthCheckIntervalSeconds"), itoa(s.HealthCheckInterval),
			"healthCheckIntervalSeconds x unhealthyThreshold (%d x %d = %d s) must be at most %d s, the detection budget for a failed task",
			s.HealthCheckInterval, s.UnhealthyThreshold, s.DrainDelaySeconds(), DetectionBudgetSeconds)
	}
	if s.HealthCheckTimeout != 0 && s.HealthCheckInterval != 0 && s.HealthCheckTimeout >= s.HealthCheckInterval {
		r.fail(k("healthCheckTimeoutSeconds"), itoa(s.HealthCheckTimeout), "must be less than healthCheckIntervalSeconds (%d)", s.HealthCheckInterval)
	}
	if why, refused := refusedHealthCheckPaths[strings.TrimRight(s.HealthCheckPath, "/")]; refused {
		r.fail(k("healthCheckPath"), s.HealthCheckPath, "must be %s (process-local readiness): %s %s", ReadinessPath, s.HealthCheckPath, why)
	} else if strings.HasPrefix(s.HealthCheckPath, "/orders/") {
		r.fail(k("healthCheckPath"), s.HealthCheckPath, "must be %s (process-local readiness): %s %s", ReadinessPath, s.HealthCheckPath, refusedHealthCheckPaths["/orders"])
	}
	if s.HealthCheckGracePeriod < ContainerHealthStartPeriodSeconds {
		r.fail(k("healthCheckGracePeriodSeconds"), itoa(s.HealthCheckGracePeriod),
			"must be at least the container health check start period (%d s)", ContainerHealthStartPeriodSeconds)
	}
	if s.SlowStart != 0 && s.SlowStart < 30 {
		r.fail(k("slowStartSeconds"), itoa(s.SlowStart), "must be 0 (off) or between 30 and 900")
	}
	switch s.CertificateMode {
	case CertExisting:
		if s.CertificateArn == "" {
			r.fail(k("certificateArn"), "", "required when certificateMode is existing")
		}
	case CertDNS:
		if s.HostedZoneID == "" {
			r.fail(k("hostedZoneId"), "", "required when certificateMode is dns (the delegated zone that validates the certificate)")
		}
	}
	if stack == ProdStack && !s.WAFEnabled {
		r.fail(k("wafEnabled"), "false", "must be true in prod: the internet-facing ALB is always behind the web ACL there")
	}
	return s
}

// TasksPerStackMin is the fewest tasks a stack runs: one per availability zone.
const TasksPerStackMin = 3

// SurvivorCPU is the CPU each surviving task needs when the AZ holding the
// most of n tasks is lost, before any new task starts: ECS spreads a
// service's tasks evenly over its AZs (ECS Developer Guide, "Amazon ECS
// task placement": Fargate tasks are spread across Availability Zones), so
// the worst AZ holds ceil(n/zones); target tracking holds each task at
// cpuTarget percent until then, so the survivors take
// cpuTarget x n / survivors (AWS Builders' Library, "Static stability
// using Availability Zones"). It returns the percentage and the survivors.
func SurvivorCPU(cpuTarget, n, zones int) (float64, int) {
	left := n - (n+zones-1)/zones
	if left < 1 {
		return math.Inf(1), 0
	}
	return float64(cpuTarget*n) / float64(left), left
}

// describeSizes lists short sets and summarises long ranges.
func describeSizes(xs []int) string {
	if len(xs) <= 8 {
		return joinInts(xs)
	}
	return fmt.Sprintf("%d to %d in steps of %d", xs[0], xs[len(xs)-1], xs[1]-xs[0])
}
