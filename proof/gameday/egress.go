package gameday

import (
	"net"
	"sort"
	"strings"
)

// egress is what the recorded network gives the tasks' subnets: a NAT
// path to the internet or not, and the VPC endpoints' services (the last
// dot-separated part of serviceName, e.g. "events", "dynamodb").
type egress struct {
	NAT       bool
	Endpoints map[string]bool
}

// reaches reports whether a task reaches a stand-in for service: any AWS
// service through NAT, otherwise only through an endpoint; "internet"
// (a third party such as the OIDC issuer's JWKS) only through NAT.
func (e egress) reaches(service string) bool {
	return e.NAT || (service != "internet" && e.Endpoints[service])
}

func (e egress) String() string {
	var eps []string
	for s := range e.Endpoints {
		eps = append(eps, s)
	}
	sort.Strings(eps)
	nat := "no NAT"
	if e.NAT {
		nat = "NAT"
	}
	return nat + "; endpoints " + strings.Join(eps, ",")
}

// fromTasks reports whether a connection comes from the AZ subnet (a task
// or a database node), as opposed to the root namespace (desks, tools).
func fromTasks(remote net.Addr) bool {
	a, ok := remote.(*net.TCPAddr)
	return ok && strings.HasPrefix(a.IP.String(), subnet+".") && a.IP.String() != hostIP
}
