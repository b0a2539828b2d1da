package naming

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// Guard is how a kind survives its own replacement. A kind whose physical
// name AWS requires unique and that has a property whose change forces a
// replacement would, with a fixed name, have the engine create the new
// resource (create-before-delete is Pulumi's default) under the name the
// old one still holds: the update fails (ResourceInUse, Duplicate).
type Guard string

const (
	// NamePrefix sends <type>-<suffix>- as namePrefix; the provider appends
	// a unique tail (UniqueIDSuffixLength, 26 characters:
	// terraform-plugin-sdk helper/id), so old and new coexist.
	NamePrefix Guard = "namePrefix"
	// KeyedSuffix appends a short hash of the replace-forcing inputs:
	// <type>-<suffix>-<8 hex>. A change to any of them changes the name,
	// so the replacement never collides; no change, no new name. For
	// kinds whose namePrefix is too short for <type>-<suffix>-.
	KeyedSuffix Guard = "keyed suffix"
	// DeleteBeforeReplace deletes the old resource before its replacement
	// is created, for kinds whose name others reference by value (so a
	// new name would ripple) and that the stack has several of, so one
	// gone for the replacement's duration is survivable.
	DeleteBeforeReplace Guard = "deleteBeforeReplace"
)

// Replacement is the decision for one replace-prone kind.
type Replacement struct {
	Kind Kind
	// Type is the pulumi-aws type token the kind names.
	Type string
	// Forcing are the inputs, other than the name, whose change replaces
	// the resource.
	Forcing []string
	Guard   Guard
	// NameInput is the input holding the physical name ("name" when empty).
	NameInput string
	Reason    string
	Source    string
}

const (
	srcTGForceNew         = "Terraform AWS provider docs, r/lb_target_group: port, protocol, protocol_version, target_type, vpc_id \"Forces new resource\"; name_prefix \"Cannot be longer than 6 characters\""
	srcPGForceNew         = "Terraform AWS provider docs, r/rds_cluster_parameter_group: name, name_prefix, family, description \"Forces new resource\"; a major engine upgrade changes family"
	srcDBInstanceForceNew = "Terraform AWS provider docs, r/rds_cluster_instance: identifier, availability_zone, cluster_identifier, engine \"Forces new resource\""
	srcSGForceNew         = "Terraform AWS provider docs, r/security_group: name, name_prefix, description, vpc_id \"Forces new resource\"; description maps to GroupDescription, \"for which there is no Update API\""
)

// Replacements lists every replace-prone kind and its guard; the mock
// suite asserts each recorded resource of these kinds carries it.
var Replacements = []Replacement{
	{Kind: TargetGroup, Type: "aws:lb/targetGroup:TargetGroup", Forcing: []string{"port", "protocol", "protocolVersion", "targetType", "vpcId"}, Guard: KeyedSuffix,
		Reason: "changing appPort replaces the group while the listener still uses the old one; namePrefix allows 6 characters, too few for tg-<suffix>-", Source: srcTGForceNew},
	{Kind: SecurityGroupALB, Type: "aws:ec2/securityGroup:SecurityGroup", Forcing: []string{"description", "vpcId"}, Guard: NamePrefix,
		Reason: "a new description or VPC replaces the group; the ALB moves to the new group before the old one is deleted", Source: srcSGForceNew},
	{Kind: SecurityGroupTasks, Type: "aws:ec2/securityGroup:SecurityGroup", Forcing: []string{"description", "vpcId"}, Guard: NamePrefix,
		Reason: "as the ALB group; the service's tasks move to the new group", Source: srcSGForceNew},
	{Kind: SecurityGroupDB, Type: "aws:ec2/securityGroup:SecurityGroup", Forcing: []string{"description", "vpcId"}, Guard: NamePrefix,
		Reason: "as the ALB group; the cluster's vpcSecurityGroupIds update in place", Source: srcSGForceNew},
	{Kind: SecurityGroupMigrate, Type: "aws:ec2/securityGroup:SecurityGroup", Forcing: []string{"description", "vpcId"}, Guard: NamePrefix,
		Reason: "as the ALB group; the migrate runbook reads the group's ID from its parameter at every run", Source: srcSGForceNew},
	{Kind: EndpointGroup, Type: "aws:ec2/securityGroup:SecurityGroup", Forcing: []string{"description", "vpcId"}, Guard: NamePrefix,
		Reason: "as the ALB group; the interface endpoints move to the new group", Source: srcSGForceNew},
	{Kind: DBClusterParams, Type: "aws:rds/clusterParameterGroup:ClusterParameterGroup", Forcing: []string{"family", "description"}, Guard: KeyedSuffix,
		Reason: "a major engine upgrade (new family) replaces the group while the cluster still uses it; the cluster switches to the new name in place", Source: srcPGForceNew},
	{Kind: AuroraCluster, Type: "aws:rds/clusterInstance:ClusterInstance", Forcing: []string{"availabilityZone", "clusterIdentifier", "engine"}, Guard: DeleteBeforeReplace, NameInput: "identifier",
		Reason: "moving an instance to another AZ replaces it under the identifier the failover runbook and alarms name; the other instances serve (and a writer fails over) while it is recreated", Source: srcDBInstanceForceNew},
}

// Prefix is the namePrefix for k: <path><type>-<suffix>-.
func (n Namer) Prefix(k Kind) string { return n.Name(k) + "-" }

// Keyed returns <type>-<suffix>-<8 hex of the inputs>: the name changes
// exactly when a replace-forcing input does. Inputs are joined in order.
func (n Namer) Keyed(k Kind, inputs ...any) string {
	parts := make([]string, len(inputs))
	for i, v := range inputs {
		parts[i] = fmt.Sprint(v)
	}
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return n.Unique(k, hex.EncodeToString(sum[:4]))
}

// ProviderTail is the length of the unique tail the provider appends to a
// namePrefix (terraform-plugin-sdk helper/id UniqueIDSuffixLength).
const ProviderTail = 26
