package testkit

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Static credentials and region used against the loopback fakes.
const (
	Region = "us-east-1"
)

// Credentials returns static credentials accepted by dynalite and the fake bus.
func Credentials() aws.CredentialsProvider {
	return credentials.NewStaticCredentialsProvider("AKIDTESTTESTTEST", "test-secret", "")
}

// Dynalite is a dynalite process speaking the DynamoDB API on loopback.
type Dynalite struct {
	// Endpoint is the http:// URL to use as DYNAMODB_ENDPOINT.
	Endpoint string
	cmd      *exec.Cmd
	done     chan struct{}
}

// DynaliteScript locates dynalite's cli.js: $TRADING_DYNALITE, else
// app/testdata/node/node_modules/dynalite/cli.js under the module root.
func DynaliteScript() (string, error) {
	if p := os.Getenv("TRADING_DYNALITE"); p != "" {
		return lookPath(p)
	}
	root, err := RepoRoot()
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	p := filepath.Join(root, "app", "testdata", "node", "node_modules", "dynalite", "cli.js")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("%w: dynalite not installed at %s", ErrUnavailable, p)
	}
	return p, nil
}

// StartDynalite starts an in-memory dynalite and waits for it to listen.
func StartDynalite(ctx context.Context) (*Dynalite, error) {
	script, err := DynaliteScript()
	if err != nil {
		return nil, err
	}
	node, err := lookPath("node")
	if err != nil {
		return nil, err
	}
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(node, script, "--port", strconv.Itoa(port), "--createTableMs", "0", "--deleteTableMs", "0", "--updateTableMs", "0")
	cmd.Stdout, cmd.Stderr = nil, nil
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start dynalite: %w", err)
	}
	d := &Dynalite{Endpoint: "http://127.0.0.1:" + strconv.Itoa(port), cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(d.done) }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), 200*time.Millisecond)
		if err == nil {
			_ = c.Close()
			return d, nil
		}
		select {
		case <-d.done:
			return nil, errors.New("dynalite exited before listening")
		case <-ctx.Done():
			d.Close()
			return nil, fmt.Errorf("wait for dynalite: %w", ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			d.Close()
			return nil, errors.New("dynalite did not listen within 20s")
		}
	}
}

// Client returns a DynamoDB client for this server.
func (d *Dynalite) Client() *dynamodb.Client {
	return dynamodb.New(dynamodb.Options{
		Region: Region, Credentials: Credentials(), BaseEndpoint: aws.String(d.Endpoint),
	})
}

// CreateSessionsTable creates the sessions table as the infrastructure does
// (partition key session_id, on-demand billing).
func (d *Dynalite) CreateSessionsTable(ctx context.Context, name string) error {
	_, err := d.Client().CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(name),
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("session_id"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("session_id"), KeyType: types.KeyTypeHash}},
		BillingMode:          types.BillingModePayPerRequest,
	})
	if err != nil {
		return fmt.Errorf("create table %s: %w", name, err)
	}
	waiter := dynamodb.NewTableExistsWaiter(d.Client(), func(o *dynamodb.TableExistsWaiterOptions) { o.MinDelay = 50 * time.Millisecond })
	if err := waiter.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)}, 20*time.Second); err != nil {
		return fmt.Errorf("wait for table %s: %w", name, err)
	}
	return nil
}

// Close kills the dynalite process this package started.
func (d *Dynalite) Close() {
	if d.cmd != nil && d.cmd.Process != nil {
		_ = d.cmd.Process.Kill()
		<-d.done
	}
}
