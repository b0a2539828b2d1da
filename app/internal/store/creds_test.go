package store_test

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/trading-ha/trading-ha/app/internal/store"
)

func TestIAMTokenIsAFreshSignedConnectRequest(t *testing.T) {
	src := store.IAMToken{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")}
	tok, err := src.Credential(context.Background(), "cluster.cluster-abc.us-east-1.rds.amazonaws.com", 5432, "trading_app")
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse("https://" + tok)
	if err != nil {
		t.Fatalf("token %q: %v", tok, err)
	}
	q := u.Query()
	if u.Host != "cluster.cluster-abc.us-east-1.rds.amazonaws.com:5432" || q.Get("Action") != "connect" ||
		q.Get("DBUser") != "trading_app" || q.Get("X-Amz-Signature") == "" || q.Get("X-Amz-Expires") != "900" {
		t.Fatalf("token = %s", tok)
	}
	time.Sleep(1100 * time.Millisecond)
	again, _ := src.Credential(context.Background(), "cluster.cluster-abc.us-east-1.rds.amazonaws.com", 5432, "trading_app")
	if again == tok {
		t.Fatal("IAM token reused: every connection must get a fresh one")
	}
}

func TestFilePasswordFollowsTheFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(p, []byte(" one\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	src := &store.FilePassword{Path: p}
	ctx := context.Background()
	if v, err := src.Credential(ctx, "", 0, ""); err != nil || v != "one" {
		t.Fatalf("%q %v", v, err)
	}
	if err := os.WriteFile(p, []byte("two"), 0o600); err != nil {
		t.Fatal(err)
	}
	src.Invalidate() // as after an authentication failure (mtime may not have ticked)
	if v, _ := src.Credential(ctx, "", 0, ""); v != "two" {
		t.Fatalf("after rewrite: %q", v)
	}
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	if _, err := src.Credential(ctx, "", 0, ""); err == nil || !strings.Contains(err.Error(), "password file") {
		t.Fatalf("missing file: %v", err)
	}
}
