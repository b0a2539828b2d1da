// Package devstack starts the real trading service with local dependencies
// for manual runs of the canary and the smoke test (see scripts/devstack).
package devstack

import (
	"context"
	"fmt"
	"strings"

	"github.com/trading-ha/trading-ha/app/internal/testkit"
	"github.com/trading-ha/trading-ha/app/internal/testkit/stack"
)

// DefaultClients are the client ids a dev stack accepts by default.
var DefaultClients = stack.DefaultClients

// Info tells a probe how to reach and authenticate to the dev stack.
type Info struct {
	EndpointURL string `json:"endpointUrl"`
	Issuer      string `json:"issuer"`
	TokenURL    string `json:"tokenUrl"`
	// Scope is the desks' scope; ProbeScope the probes' (canary, smoke),
	// under which every order is synthetic.
	Scope          string            `json:"scope"`
	ProbeScope     string            `json:"probeScope"`
	ClientSecrets  map[string]string `json:"clientSecrets"`
	AccessTokens   map[string]string `json:"accessTokens"`
	ParametersPath string            `json:"ssmParametersPath"`
	SSMEndpoint    string            `json:"ssmEndpoint"`
	KillSwitch     string            `json:"killSwitchParameter"`
}

// Start brings the stack up and returns its Info and a stop function.
func Start(ctx context.Context, clients []string, useTLS bool) (Info, func(), error) {
	var cs []string
	for _, c := range clients {
		if c = strings.TrimSpace(c); c != "" {
			cs = append(cs, c)
		}
	}
	st, err := stack.Start(ctx, stack.Options{Clients: cs, TLS: useTLS})
	if err != nil {
		return Info{}, nil, fmt.Errorf("start stack: %w", err)
	}
	info := Info{EndpointURL: st.BaseURL, Issuer: st.Issuer.URL, TokenURL: st.Issuer.TokenURL, Scope: testkit.DefaultScope,
		ProbeScope:    testkit.ProbeScope,
		ClientSecrets: st.ClientSecrets, AccessTokens: map[string]string{}, ParametersPath: stack.ParametersPath,
		SSMEndpoint: st.SSM.URL, KillSwitch: stack.ParametersPath + "/flags/trading-enabled"}
	for c := range st.ClientSecrets {
		info.AccessTokens[c] = st.Token(c)
	}
	return info, st.Close, nil
}
