package main

import (
	"fmt"
	"strings"
	"testing"
)

// TestPlanSubnets: the layout of awsx's Auto strategy for the program's
// specs (/16, three zones, public /22, private /20, isolated /22): a /18
// per zone, each subnet aligned to its size after the previous one.
func TestPlanSubnets(t *testing.T) {
	specs := []subnetSpec{{Type: "Public", Name: "public", CIDRMask: 22}, {Type: "Private", Name: "private", CIDRMask: 20}, {Type: "Isolated", Name: "isolated", CIDRMask: 22}}
	plan, err := planSubnets("vpc", "10.0.0.0/16", []string{"us-east-1a", "us-east-1b", "us-east-1c"}, specs, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range plan {
		got = append(got, fmt.Sprintf("%s %s %s", s.Name, s.AZ, s.CIDR))
	}
	want := []string{
		"vpc-public-1 us-east-1a 10.0.0.0/22", "vpc-private-1 us-east-1a 10.0.16.0/20", "vpc-isolated-1 us-east-1a 10.0.32.0/22",
		"vpc-public-2 us-east-1b 10.0.64.0/22", "vpc-private-2 us-east-1b 10.0.80.0/20", "vpc-isolated-2 us-east-1b 10.0.96.0/22",
		"vpc-public-3 us-east-1c 10.0.128.0/22", "vpc-private-3 us-east-1c 10.0.144.0/20", "vpc-isolated-3 us-east-1c 10.0.160.0/22",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("layout\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestPlanSubnetsOrderAndRefusals: subnets register public, private,
// isolated whatever the spec order, Unused takes room only, and a layout
// that does not fit is refused as awsx refuses it.
func TestPlanSubnetsOrderAndRefusals(t *testing.T) {
	specs := []subnetSpec{{Type: "Private", CIDRMask: 20}, {Type: "Unused", CIDRMask: 20}, {Type: "Public", CIDRMask: 22}}
	plan, err := planSubnets("v", "10.1.0.0/16", []string{"a"}, specs, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan) != 2 || plan[0].Name != "v-public-1" || plan[0].CIDR != "10.1.32.0/22" || plan[1].CIDR != "10.1.0.0/20" {
		t.Errorf("plan %+v", plan)
	}
	if _, err := planSubnets("v", "10.0.0.0/20", []string{"a", "b", "c"}, []subnetSpec{{Type: "Private", CIDRMask: 20}}, 0); err == nil {
		t.Error("a /20 subnet in a /22 zone block was accepted")
	}
	if err := checkNAT("OnePerAz", []subnetSpec{{Type: "Private"}}); err == nil {
		t.Error("OnePerAz without public subnets was accepted")
	}
	if natHere("Single", 1, 2) || !natHere("OnePerAz", 1, 1) || natHere("None", 0, 0) {
		t.Error("natHere disagrees with awsx's shouldCreateNatGateway")
	}
}

func TestIdentify(t *testing.T) {
	pkg, v, err := identify("/h/plugins/resource-docker-build-v0.0.8/pulumi-resource-docker-build")
	if err != nil || pkg != "docker-build" || v != "0.0.8" {
		t.Errorf("identify: %q %q %v", pkg, v, err)
	}
	if _, _, err := identify("/tmp/pulumi-resource-aws"); err == nil {
		t.Error("a binary outside a plugin directory was accepted")
	}
}
