package service

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/appautoscaling"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// autoscaling tracks average CPU and ALB requests per target between
// minCapacity (never below one task per AZ) and maxCapacity.
func (b *builder) autoscaling() error {
	cfg := b.cfg
	resourceID := pulumi.Sprintf("service/%s/%s", b.s.ClusterName, b.s.ServiceName)
	target, err := appautoscaling.NewTarget(b.ctx, b.kids.Name("app"), &appautoscaling.TargetArgs{
		ServiceNamespace:  pulumi.String("ecs"),
		ScalableDimension: pulumi.String("ecs:service:DesiredCount"),
		ResourceId:        resourceID,
		MinCapacity:       pulumi.Int(cfg.MinCapacity),
		MaxCapacity:       pulumi.Int(cfg.MaxCapacity),
	}, b.parent)
	if err != nil {
		return fmt.Errorf("create scalable target: %w", err)
	}
	label := pulumi.Sprintf("%s/%s", b.s.ALBArnSuffix, b.s.TargetGroupArnSuffix)
	for _, p := range []struct {
		name   string
		metric string
		label  pulumi.StringPtrInput
		target float64
	}{
		{"cpu", "ECSServiceAverageCPUUtilization", nil, float64(cfg.ScaleCPUTarget)},
		{"requests", "ALBRequestCountPerTarget", label, float64(cfg.ScaleRequestsPerTarget)},
	} {
		if _, err := appautoscaling.NewPolicy(b.ctx, b.kids.Name(p.name), &appautoscaling.PolicyArgs{
			Name:              pulumi.Sprintf("%s-%s", b.s.ServiceName, p.name),
			PolicyType:        pulumi.String("TargetTrackingScaling"),
			ServiceNamespace:  target.ServiceNamespace,
			ScalableDimension: target.ScalableDimension,
			ResourceId:        target.ResourceId,
			TargetTrackingScalingPolicyConfiguration: &appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationArgs{
				TargetValue:      pulumi.Float64(p.target),
				ScaleInCooldown:  pulumi.Int(cfg.ScaleInCooldown),
				ScaleOutCooldown: pulumi.Int(cfg.ScaleOutCooldown),
				PredefinedMetricSpecification: &appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecificationArgs{
					PredefinedMetricType: pulumi.String(p.metric),
					ResourceLabel:        p.label,
				},
			},
		}, b.parent); err != nil {
			return fmt.Errorf("create %s scaling policy: %w", p.name, err)
		}
	}
	return nil
}
