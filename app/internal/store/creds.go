package store

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/rds/auth"
	"github.com/jackc/pgx/v5/pgconn"
)

// CredentialSource supplies the password for each new database connection,
// so rotated credentials are picked up without a restart.
type CredentialSource interface {
	// Credential returns the password (or IAM token) for user at host:port.
	Credential(ctx context.Context, host string, port int, user string) (string, error)
	// Invalidate drops any cached value; called after an authentication failure.
	Invalidate()
}

// StaticPassword is a fixed password (DB_PASSWORD). It cannot follow a rotation.
type StaticPassword string

// Credential implements CredentialSource.
func (p StaticPassword) Credential(context.Context, string, int, string) (string, error) {
	return string(p), nil
}

// Invalidate implements CredentialSource (nothing to drop).
func (StaticPassword) Invalidate() {}

// FilePassword reads the password from a file (DB_PASSWORD_FILE), e.g. one
// a sidecar or secrets agent rewrites on rotation. The value is cached and
// re-read when the file's modification time changes or after an
// authentication failure.
type FilePassword struct {
	// Path is the file; surrounding whitespace is trimmed.
	Path string

	mu    sync.Mutex
	value string
	mtime time.Time
	valid bool
}

// Credential implements CredentialSource.
func (f *FilePassword) Credential(context.Context, string, int, string) (string, error) {
	st, err := os.Stat(f.Path)
	if err != nil {
		return "", fmt.Errorf("stat password file: %w", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.valid && st.ModTime().Equal(f.mtime) {
		return f.value, nil
	}
	b, err := os.ReadFile(f.Path)
	if err != nil {
		return "", fmt.Errorf("read password file: %w", err)
	}
	f.value, f.mtime, f.valid = strings.TrimSpace(string(b)), st.ModTime(), true
	return f.value, nil
}

// Invalidate implements CredentialSource.
func (f *FilePassword) Invalidate() {
	f.mu.Lock()
	f.valid = false
	f.mu.Unlock()
}

// IAMToken builds an RDS IAM authentication token per connection (valid 15
// minutes, signed locally with the task role's credentials; needs
// rds-db:connect on dbuser:<cluster-resource-id>/<user>).
type IAMToken struct {
	// Region of the cluster.
	Region string
	// Credentials are the AWS credentials to sign with.
	Credentials aws.CredentialsProvider
}

// Credential implements CredentialSource.
func (t IAMToken) Credential(ctx context.Context, host string, port int, user string) (string, error) {
	tok, err := auth.BuildAuthToken(ctx, net.JoinHostPort(host, strconv.Itoa(port)), t.Region, user, t.Credentials)
	if err != nil {
		return "", fmt.Errorf("build IAM auth token: %w", err)
	}
	return tok, nil
}

// Invalidate implements CredentialSource (tokens are never cached).
func (IAMToken) Invalidate() {}

// IsAuthFailure reports PostgreSQL authentication failures: 28P01
// (invalid_password) and 28000 (invalid_authorization_specification, what
// RDS answers for a bad IAM token).
func IsAuthFailure(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "28P01" || pgErr.Code == "28000"
	}
	return false
}

// authState tracks a streak of authentication failures.
type authState struct {
	mu    sync.Mutex
	since time.Time
}

func (a *authState) fail(now time.Time) {
	a.mu.Lock()
	if a.since.IsZero() {
		a.since = now
	}
	a.mu.Unlock()
}

func (a *authState) ok() {
	a.mu.Lock()
	a.since = time.Time{}
	a.mu.Unlock()
}

func (a *authState) failingSince() time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.since
}
