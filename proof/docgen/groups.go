package docgen

import (
	"fmt"
	"sort"
	"strings"

	"github.com/trading-ha/trading-ha/proof/offline"
)

const (
	groupType   = "aws:ec2/securityGroup:SecurityGroup"
	ingressType = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
	egressType  = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
)

// SecurityGroupRules renders every security group rule of every stack:
// group, direction, port, peer, the rule's own description, and the
// stacks that have it.
func SecurityGroupRules(recs []*offline.Recording) string {
	var b strings.Builder
	b.WriteString(stacksGenComment)
	b.WriteString("| group | direction | port | peer | description | component | stacks |\n|---|---|---|---|---|---|---|\n")
	rows := mergeRows(recs, func(rec *offline.Recording) [][]string {
		groups := map[string]string{} // id -> role
		for _, g := range rec.ByType(groupType) {
			id, _ := g.Outputs["id"].(string)
			groups[id] = groupRole(rec, g)
		}
		lists := map[string]string{} // prefix list id -> gateway endpoint service
		for _, e := range rec.ByType("aws:ec2/vpcEndpoint:VpcEndpoint") {
			if pl, _ := e.Outputs["prefixListId"].(string); pl != "" {
				svc := str(e, "serviceName")
				lists[pl] = svc[strings.LastIndex(svc, ".")+1:]
			}
		}
		var out [][]string
		for _, typ := range []string{ingressType, egressType} {
			dir := "in"
			if typ == egressType {
				dir = "out"
			}
			for _, r := range rec.ByType(typ) {
				port := "all"
				if from, ok := num(r, "fromPort"); ok {
					to, _ := num(r, "toPort")
					port = fmtNum(from)
					if to != from {
						port += "-" + fmtNum(to)
					}
				}
				peer := ""
				switch {
				case str(r, "cidrIpv4") != "":
					peer = ticks(str(r, "cidrIpv4"))
				case str(r, "cidrIpv6") != "":
					peer = ticks(str(r, "cidrIpv6"))
				case str(r, "prefixListId") != "":
					peer = ticks(lists[str(r, "prefixListId")]) + " prefix list"
				case str(r, "referencedSecurityGroupId") != "":
					peer = ticks(groups[str(r, "referencedSecurityGroupId")]) + " group"
				}
				out = append(out, []string{ticks(groups[str(r, "securityGroupId")]), dir, port, peer, mdCell(str(r, "description")), ticks(pkgOf(r.Component))})
			}
		}
		sort.SliceStable(out, func(i, j int) bool {
			return strings.Join(out[i][:4], " ") < strings.Join(out[j][:4], " ")
		})
		return out
	})
	sort.SliceStable(rows, func(i, j int) bool {
		return strings.Join(rows[i].cells[:4], " ") < strings.Join(rows[j].cells[:4], " ")
	})
	for _, row := range rows {
		fmt.Fprintf(&b, "| %s | %s |\n", strings.Join(row.cells, " | "), stacksCell(row, recs))
	}
	return b.String()
}

// groupRole is a group's role in its name: secgroup-<role>-<s>-... -> <role>.
func groupRole(rec *offline.Recording, g *offline.Resource) string {
	name := str(g, "namePrefix")
	if name == "" {
		name = str(g, "name")
	}
	name = strings.TrimPrefix(name, "secgroup-")
	if i := strings.LastIndex(name, "-"+Suffix(rec)); i > 0 {
		return name[:i]
	}
	return name
}
