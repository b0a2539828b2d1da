// Package gamedaykit exposes the service's local fakes (app/internal/testkit)
// to the local game day (proof/gameday), which lives outside app/ and so
// cannot import app/internal. It adds nothing: aliases only.
package gamedaykit

import (
	"context"

	"github.com/trading-ha/trading-ha/app/internal/testkit"
)

type (
	// Issuer is testkit.Issuer: a Cognito-shaped client-credentials issuer.
	Issuer = testkit.Issuer
	// FakeBus is testkit.FakeBus: a recording EventBridge PutEvents endpoint.
	FakeBus = testkit.FakeBus
	// BusEvent is one entry the fake bus accepted.
	BusEvent = testkit.BusEvent
	// Dynalite is testkit.Dynalite: dynalite on loopback.
	Dynalite = testkit.Dynalite
	// FakeSSM is testkit.FakeSSM: Parameter Store on loopback.
	FakeSSM = testkit.FakeSSM
)

// StartFakeSSM starts the fake Parameter Store on loopback.
func StartFakeSSM() *FakeSSM { return testkit.StartFakeSSM() }

// StartIssuer starts the local OIDC issuer on loopback.
func StartIssuer() (*Issuer, error) { return testkit.StartIssuer() }

// StartFakeBus starts the fake EventBridge on loopback.
func StartFakeBus() *FakeBus { return testkit.StartFakeBus() }

// StartDynalite starts dynalite on loopback.
func StartDynalite(ctx context.Context) (*Dynalite, error) { return testkit.StartDynalite(ctx) }

// RepoRoot is the repository root (the directory holding go.mod and app/go.mod).
func RepoRoot() (string, error) { return testkit.RepoRoot() }
