package service

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"time"
)

// SelfSignedValidity is how long the certificate a task makes at start is
// valid: longer than any task lives (a deployment replaces every task).
const SelfSignedValidity = 397 * 24 * time.Hour

// selfSignedTLS is the server side of the load balancer's HTTPS target
// group (APP_TLS=self-signed). The key is made in memory at start and
// never leaves the process, so there is no secret to distribute or rotate:
// a new task has a new key.
//
// It encrypts the hop from the load balancer to the task; it does not
// authenticate the task. With an HTTPS target group "the load balancer
// establishes TLS connections with the targets using certificates that you
// install on the targets" and "does not validate these certificates"
// (Elastic Load Balancing User Guide, "Target groups for your Application
// Load Balancers", Routing configuration), which is why a self-signed
// certificate serves. ECDSA P-256 with TLS 1.2 or later and Go's default
// AEAD suites: ECDHE-ECDSA-AES128-GCM-SHA256 is in every ELB security
// policy, the back-end connections' included.
func selfSignedTLS(now time.Time) (*tls.Config, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate TLS key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, fmt.Errorf("certificate serial: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "trading"},
		NotBefore:    now.Add(-time.Hour), // tolerate a clock behind the load balancer's
		NotAfter:     now.Add(SelfSignedValidity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"trading"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("self-sign certificate: %w", err)
	}
	return &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}},
		MinVersion:   tls.VersionTLS12,
		// The target group speaks HTTP/1.1 (protocolVersion HTTP1).
		NextProtos: []string{"http/1.1"},
	}, nil
}
