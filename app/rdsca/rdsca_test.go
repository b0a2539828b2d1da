package rdsca

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"time"
)

// TestBundle holds the embedded bundle to its pin: the digest, the count,
// and a CA for every certificate family of us-east-1 valid for decades.
func TestBundle(t *testing.T) {
	sum := sha256.Sum256(Bundle)
	if got := hex.EncodeToString(sum[:]); got != SHA256 {
		t.Fatalf("sha256 %s, want %s", got, SHA256)
	}
	certs, err := Certificates()
	if err != nil {
		t.Fatal(err)
	}
	if len(certs) != 115 {
		t.Errorf("%d certificates, want 115", len(certs))
	}
	for _, family := range []string{"RSA2048 G1", "RSA4096 G1", "ECC384 G1"} {
		cn := "Amazon RDS us-east-1 Root CA " + family
		found := false
		for _, c := range certs {
			if c.Subject.CommonName == cn {
				found = true
				if !c.IsCA || c.NotAfter.Before(time.Date(2060, 1, 1, 0, 0, 0, 0, time.UTC)) {
					t.Errorf("%s: CA %v, valid to %s", cn, c.IsCA, c.NotAfter)
				}
			}
		}
		if !found {
			t.Errorf("no %s", cn)
		}
	}
	if _, err := Pool(); err != nil {
		t.Fatal(err)
	}
}

// TestDriftRefused: a bundle that is not the pinned one is refused.
func TestDriftRefused(t *testing.T) {
	saved := Bundle
	defer func() { Bundle = saved }()
	Bundle = append(append([]byte{}, saved...), '\n')
	if _, err := Pool(); err == nil || !strings.Contains(err.Error(), "pinned") {
		t.Fatalf("a drifted bundle was accepted: %v", err)
	}
}
