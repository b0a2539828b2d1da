// Package identity owns who may trade: an Amazon Cognito user pool that
// issues OAuth2 client-credentials access tokens, its resource server
// (identifier "trading", scopes "orders" for desks and "probe" for the
// synthetic probes, CONTRACT.md section 1), one app client per trading desk
// (trading/orders) and one each for the canary and the smoke test
// (trading/probe only: their orders are always synthetic and capped). The
// service verifies the tokens itself with the pool's signing keys, which
// the key sync (NewKeySync, keysync.go) copies from the pool's JWKS into
// the key set parameter the tasks read; a desk is its app client, named in
// the service's trader map.
package identity

import (
	"fmt"
	"sort"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cognito"
	"github.com/pulumi/pulumi-random/sdk/v4/go/random"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/trading-ha/trading-ha/infra/asl"
	"github.com/trading-ha/trading-ha/infra/naming"
)

// The resource server's identifier and scopes: desks get Scope, the probes
// ProbeScope (the service's OIDC_SCOPE and OIDC_PROBE_SCOPE defaults).
const (
	ResourceServer = "trading"
	ScopeName      = "orders"
	Scope          = ResourceServer + "/" + ScopeName
	ProbeScopeName = "probe"
	ProbeScope     = ResourceServer + "/" + ProbeScopeName
	// TokenValidityMinutes bounds a stolen token's use: one hour, Cognito's
	// default for access tokens (the probes fetch a new one each run).
	TokenValidityMinutes = 60
)

// Probe clients: the synthetic callers that are not desks.
const (
	CanaryClient = "canary"
	SmokeClient  = "smoke"
)

// Args configures the pool.
type Args struct {
	Names  naming.Namer
	Region string
	// Desks are the trading desks, each an app client and a trader id
	// (DESK-<upper-case name> in the service's trader map).
	Desks []string
	// DeletionProtection keeps the pool (and every client) on destroy.
	DeletionProtection bool
}

// Identity is the component and what the service and the probes need.
type Identity struct {
	pulumi.ResourceState

	// Issuer is the OIDC issuer the service verifies: the user pool's URL.
	Issuer pulumi.StringOutput
	// JWKSURL is the pool's JSON Web Key Set URL (it holds the pool id,
	// assigned by AWS): the key sync fetches it.
	JWKSURL pulumi.StringOutput
	// TokenURL is the pool domain's OAuth2 token endpoint.
	TokenURL pulumi.StringOutput
	// ClientIDs are every client the service accepts (desks and probes),
	// comma-separated, and TraderMap maps each to its trader id.
	ClientIDs pulumi.StringOutput
	TraderMap pulumi.StringOutput
	// ProbeClientIDs and ProbeSecrets are the canary's and the smoke
	// test's client ids and (secret) client secrets.
	ProbeClientIDs map[string]pulumi.StringOutput
	ProbeSecrets   map[string]pulumi.StringOutput
}

// TraderID is the trader a desk trades as.
func TraderID(desk string) string { return "DESK-" + strings.ToUpper(desk) }

// New creates the pool, its domain, the resource server and the clients.
func New(ctx *pulumi.Context, name string, args Args, opts ...pulumi.ResourceOption) (*Identity, error) {
	id := &Identity{ProbeClientIDs: map[string]pulumi.StringOutput{}, ProbeSecrets: map[string]pulumi.StringOutput{}}
	if err := ctx.RegisterComponentResource("trading:identity:Identity", name, id, opts...); err != nil {
		return nil, fmt.Errorf("register identity component: %w", err)
	}
	// Children are named from the component (naming.ChildrenOf).
	kids := naming.ChildrenOf(name)
	parent := pulumi.Parent(id)

	protection := "INACTIVE"
	if args.DeletionProtection {
		protection = "ACTIVE"
	}
	pool, err := cognito.NewUserPool(ctx, kids.Name("pool"), &cognito.UserPoolArgs{
		Name:               pulumi.String(args.Names.Name(naming.UserPool)),
		DeletionProtection: pulumi.String(protection),
		// Machine clients only: nobody signs up or signs in with a password.
		AdminCreateUserConfig: &cognito.UserPoolAdminCreateUserConfigArgs{AllowAdminCreateUserOnly: pulumi.Bool(true)},
		MfaConfiguration:      pulumi.String("OFF"),
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("create user pool: %w", err)
	}
	// Prefix domains are global per region: a random tail, kept in state.
	tail, err := random.NewRandomId(ctx, kids.Name("domain-tail"), &random.RandomIdArgs{ByteLength: pulumi.Int(4)}, parent)
	if err != nil {
		return nil, fmt.Errorf("create domain tail: %w", err)
	}
	domainName := tail.Hex.ApplyT(func(h string) string { return args.Names.Unique(naming.UserPoolDomain, h) }).(pulumi.StringOutput)
	domain, err := cognito.NewUserPoolDomain(ctx, kids.Name("domain"), &cognito.UserPoolDomainArgs{
		Domain: domainName, UserPoolId: pool.ID(),
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("create user pool domain: %w", err)
	}
	server, err := cognito.NewResourceServer(ctx, kids.Name("trading"), &cognito.ResourceServerArgs{
		Identifier: pulumi.String(ResourceServer),
		Name:       pulumi.String(args.Names.Name(naming.ResourceServer)),
		UserPoolId: pool.ID(),
		Scopes: cognito.ResourceServerScopeArray{&cognito.ResourceServerScopeArgs{
			ScopeName: pulumi.String(ScopeName), ScopeDescription: pulumi.String("place and read the caller's own orders"),
		}, &cognito.ResourceServerScopeArgs{
			ScopeName: pulumi.String(ProbeScopeName), ScopeDescription: pulumi.String("place capped synthetic probe orders"),
		}},
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("create resource server: %w", err)
	}

	type client struct{ key, trader, scope string }
	var clients []client
	for _, d := range args.Desks {
		clients = append(clients, client{key: "desk-" + d, trader: TraderID(d), scope: Scope})
	}
	clients = append(clients, client{key: CanaryClient, trader: "PROBE-CANARY", scope: ProbeScope},
		client{key: SmokeClient, trader: "PROBE-SMOKE", scope: ProbeScope})
	var ids pulumi.StringArray
	var traders []string
	for _, c := range clients {
		cl, err := cognito.NewUserPoolClient(ctx, kids.Name("client-"+c.key), &cognito.UserPoolClientArgs{
			Name:       pulumi.String(args.Names.Member(naming.UserPoolClient, c.key)),
			UserPoolId: pool.ID(),
			// Client credentials: a confidential client with a secret and
			// one scope: trading/orders for a desk, trading/probe for a probe.
			GenerateSecret:                  pulumi.Bool(true),
			AllowedOauthFlows:               pulumi.ToStringArray([]string{"client_credentials"}),
			AllowedOauthFlowsUserPoolClient: pulumi.Bool(true),
			AllowedOauthScopes:              pulumi.ToStringArray([]string{c.scope}),
			SupportedIdentityProviders:      pulumi.ToStringArray([]string{"COGNITO"}),
			AccessTokenValidity:             pulumi.Int(TokenValidityMinutes),
			TokenValidityUnits:              &cognito.UserPoolClientTokenValidityUnitsArgs{AccessToken: pulumi.String("minutes")},
			EnableTokenRevocation:           pulumi.Bool(true),
			PreventUserExistenceErrors:      pulumi.String("ENABLED"),
		}, parent, pulumi.DependsOn([]pulumi.Resource{server}))
		if err != nil {
			return nil, fmt.Errorf("create app client %s: %w", c.key, err)
		}
		ids = append(ids, cl.ID().ToStringOutput())
		traders = append(traders, c.trader)
		if c.key == CanaryClient || c.key == SmokeClient {
			id.ProbeClientIDs[c.key] = cl.ID().ToStringOutput()
			id.ProbeSecrets[c.key] = cl.ClientSecret
		}
	}
	// The client ids as one typed array: no positional assertions.
	idList := ids.ToStringArrayOutput()
	id.ClientIDs = idList.ApplyT(func(v []string) string { return strings.Join(v, ",") }).(pulumi.StringOutput)
	id.TraderMap = idList.ApplyT(func(v []string) string {
		pairs := make([]string, len(v))
		for i, s := range v {
			pairs[i] = s + "=" + traders[i]
		}
		sort.Strings(pairs)
		return strings.Join(pairs, ",")
	}).(pulumi.StringOutput)
	id.JWKSURL = pool.ID().ToStringOutput().ApplyT(func(poolID string) string { return asl.JWKSURL(args.Region, poolID) }).(pulumi.StringOutput)
	id.Issuer = pulumi.Sprintf("https://cognito-idp.%s.amazonaws.com/%s", args.Region, pool.ID())
	id.TokenURL = pulumi.Sprintf("https://%s.auth.%s.amazoncognito.com/oauth2/token", domain.Domain, args.Region)

	if err := ctx.RegisterResourceOutputs(id, pulumi.Map{
		"issuer": id.Issuer, "tokenUrl": id.TokenURL, "clientIds": id.ClientIDs,
	}); err != nil {
		return nil, fmt.Errorf("register identity outputs: %w", err)
	}
	return id, nil
}
