package main

import (
	"fmt"
	"math/bits"
	"net/netip"
	"strings"
)

// subnetSpec is one entry of awsx ec2.Vpc's subnetSpecs.
type subnetSpec struct {
	Type     string // Public, Private, Isolated or Unused
	Name     string // optional; the type in lower case when empty
	CIDRMask int    // 0: the default size
	Tags     map[string]string
}

// subnetPlan is one subnet awsx creates: its name, zone and block.
type subnetPlan struct {
	Name, Type, AZ, CIDR string
	// AZIndex is the zone's index in availabilityZoneNames.
	AZIndex int
	Tags    map[string]string
}

// subnetName is awsx's "<vpc>-<spec name or type>-<zone number>"
// (pulumi-awsx v2.22.0 awsx/ec2/subnetDistributorNew.ts, subnetName).
func subnetName(vpc string, s subnetSpec, azNum int) string {
	n := s.Name
	if n == "" {
		n = strings.ToLower(s.Type)
	}
	return fmt.Sprintf("%s-%s-%d", vpc, n, azNum)
}

// newBits is the prefix bits needed to split a block into count parts.
func newBits(count int) int {
	if count <= 1 {
		return 0
	}
	return bits.Len(uint(count - 1))
}

// planSubnets lays the subnets out as awsx's "Auto" strategy does
// (subnetDistributorNew.ts, allocateSubnetCidrBlocks): the VPC block is
// cut into one block per zone (azMask, default the VPC's prefix plus the
// bits for the zone count), and each zone's subnets follow one another in
// spec order, each aligned to its own size. The result is ordered per zone
// public, private, isolated, as awsx registers them (vpc.ts,
// compareSubnetSpecs); Unused specs take room and create nothing.
func planSubnets(vpc, cidr string, azs []string, specs []subnetSpec, azMask int) ([]subnetPlan, error) {
	block, err := netip.ParsePrefix(cidr)
	if err != nil || !block.Addr().Is4() {
		return nil, fmt.Errorf("awsx Vpc %s: cidrBlock %q is not an IPv4 block", vpc, cidr)
	}
	block = block.Masked()
	if len(specs) == 0 {
		return nil, fmt.Errorf("awsx Vpc %s: no subnets specified", vpc)
	}
	if azMask == 0 {
		azMask = block.Bits() + newBits(len(azs))
	}
	defaultMask := azMask + newBits(len(specs))
	size := func(mask int) uint64 { return 1 << (32 - mask) }
	total := uint64(0)
	for _, s := range specs {
		m := s.CIDRMask
		if m == 0 {
			m = defaultMask
		}
		if m < azMask || m > 32 {
			return nil, fmt.Errorf("awsx Vpc %s: subnet mask /%d does not fit a zone block of /%d", vpc, m, azMask)
		}
		total += size(m)
	}
	if total > size(azMask) {
		return nil, fmt.Errorf("awsx Vpc %s: subnets are too large for VPC: a zone has %d addresses, the subnets need %d", vpc, size(azMask), total)
	}
	if uint64(len(azs))*size(azMask) > size(block.Bits()) {
		return nil, fmt.Errorf("awsx Vpc %s: %d zones of /%d do not fit %s", vpc, len(azs), azMask, block)
	}
	base := u32(block.Addr())
	var out []subnetPlan
	for i, az := range azs {
		zone := base + uint32(uint64(i)*size(azMask))
		var next uint32
		var zoneSubnets []subnetPlan
		for j, s := range specs {
			m := s.CIDRMask
			if m == 0 {
				m = defaultMask
			}
			start := zone
			if j > 0 {
				// The block of the new size holding the previous block's
				// last address, then the one after it (nextNetmask).
				last := next - 1
				start = (last &^ uint32(size(m)-1)) + uint32(size(m))
			}
			next = start + uint32(size(m))
			if s.Type == "Unused" {
				continue
			}
			zoneSubnets = append(zoneSubnets, subnetPlan{
				Name: subnetName(vpc, s, i+1), Type: s.Type, AZ: az, AZIndex: i, Tags: s.Tags,
				CIDR: netip.PrefixFrom(addr(start), m).String(),
			})
		}
		out = append(out, sortByTier(zoneSubnets)...)
	}
	return out, nil
}

// sortByTier orders one zone's subnets public, private, isolated, keeping
// the spec order within a type (a stable sort, as Array.prototype.sort).
func sortByTier(in []subnetPlan) []subnetPlan {
	var out []subnetPlan
	for _, t := range []string{"public", "private", "isolated"} {
		for _, s := range in {
			if strings.EqualFold(s.Type, t) {
				out = append(out, s)
			}
		}
	}
	return out
}

func u32(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func addr(v uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}
