// Package config loads the trading service's configuration from environment
// variables. The variable names are part of the deployment contract (see
// CONTRACT.md): the ECS task definition injects them.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// SSL modes accepted in DB_SSLMODE.
const (
	// SSLModeRequire encrypts the connection without verifying the server certificate.
	SSLModeRequire = "require"
	// SSLModeVerifyFull encrypts and verifies the server certificate and host name
	// against the CA bundle named by DB_CA_BUNDLE.
	SSLModeVerifyFull = "verify-full"
)

// Config is the validated service configuration.
type Config struct {
	// Port is the TCP port the HTTP server listens on (APP_PORT, default 8080).
	Port int
	// Region is the AWS region (AWS_REGION).
	Region string
	// LogLevel is the minimum log level (LOG_LEVEL: debug|info|warn|error, default info).
	LogLevel slog.Level
	// DBWriterHost is the cluster (writer) endpoint (DB_WRITER_HOST).
	DBWriterHost string
	// DBReaderHost is the reader endpoint (DB_READER_HOST).
	DBReaderHost string
	// DBPort is the database port (DB_PORT, default 5432).
	DBPort int
	// DBName is the database name (DB_NAME).
	DBName string
	// DBUser is the database user name (DB_USERNAME).
	DBUser string
	// DBPassword is the database password (DB_PASSWORD). Never logged.
	DBPassword string
	// DBSSLMode is require or verify-full (DB_SSLMODE; default require, or
	// verify-full when DB_CA_BUNDLE is set).
	DBSSLMode string
	// DBCABundle is an optional path to a PEM CA bundle (DB_CA_BUNDLE).
	DBCABundle string
	// SessionsTable is the DynamoDB sessions table name (SESSIONS_TABLE).
	SessionsTable string
	// EventBusName is the EventBridge bus that receives order events (EVENT_BUS_NAME).
	EventBusName string
	// SessionTTL is how long a session lives (SESSION_TTL, default 8h).
	SessionTTL time.Duration
	// ShutdownTimeout bounds graceful shutdown (SHUTDOWN_TIMEOUT, default 25s).
	ShutdownTimeout time.Duration
	// DynamoDBEndpoint overrides the DynamoDB endpoint (DYNAMODB_ENDPOINT, tests only).
	DynamoDBEndpoint string
	// EventBridgeEndpoint overrides the EventBridge endpoint (EVENTBRIDGE_ENDPOINT, tests only).
	EventBridgeEndpoint string
}

// Defaults for optional variables.
const (
	DefaultPort            = 8080
	DefaultDBPort          = 5432
	DefaultSessionTTL      = 8 * time.Hour
	DefaultShutdownTimeout = 25 * time.Second
)

// FieldError describes one missing or invalid variable.
type FieldError struct {
	// Var is the environment variable name.
	Var string
	// Problem says what is wrong with it.
	Problem string
}

// Error implements error.
func (e FieldError) Error() string { return e.Var + ": " + e.Problem }

// Error lists every missing or invalid variable found by Load.
type Error struct {
	// Fields holds one entry per offending variable, in a stable order.
	Fields []FieldError
}

// Error implements error; the message names every offending variable.
func (e *Error) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Error()
	}
	return fmt.Sprintf("invalid configuration (%d problem(s)): %s", len(e.Fields), strings.Join(parts, "; "))
}

// FromEnv loads the configuration from the process environment.
func FromEnv() (Config, error) { return Load(os.LookupEnv) }

// Load builds a Config using lookup (os.LookupEnv in production). It returns
// an *Error listing every missing or invalid variable, never just the first.
func Load(lookup func(string) (string, bool)) (Config, error) {
	l := loader{lookup: lookup}
	c := Config{
		Port:                l.port("APP_PORT", DefaultPort),
		Region:              l.required("AWS_REGION"),
		LogLevel:            l.level("LOG_LEVEL"),
		DBWriterHost:        l.required("DB_WRITER_HOST"),
		DBReaderHost:        l.required("DB_READER_HOST"),
		DBPort:              l.port("DB_PORT", DefaultDBPort),
		DBName:              l.required("DB_NAME"),
		DBUser:              l.required("DB_USERNAME"),
		DBPassword:          l.required("DB_PASSWORD"),
		DBCABundle:          l.optional("DB_CA_BUNDLE"),
		SessionsTable:       l.required("SESSIONS_TABLE"),
		EventBusName:        l.required("EVENT_BUS_NAME"),
		SessionTTL:          l.duration("SESSION_TTL", DefaultSessionTTL, time.Minute, 7*24*time.Hour),
		ShutdownTimeout:     l.duration("SHUTDOWN_TIMEOUT", DefaultShutdownTimeout, time.Second, 10*time.Minute),
		DynamoDBEndpoint:    l.endpoint("DYNAMODB_ENDPOINT"),
		EventBridgeEndpoint: l.endpoint("EVENTBRIDGE_ENDPOINT"),
	}
	c.DBSSLMode = l.sslMode(c.DBCABundle)
	if c.DBCABundle != "" {
		if f, err := os.Open(c.DBCABundle); err != nil {
			l.fail("DB_CA_BUNDLE", fmt.Sprintf("cannot read CA bundle: %v", err))
		} else {
			_ = f.Close()
		}
	}
	if len(l.errs) > 0 {
		return Config{}, &Error{Fields: l.errs}
	}
	return c, nil
}

// LogValue implements slog.LogValuer; it never includes the password.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Int("port", c.Port),
		slog.String("region", c.Region),
		slog.String("log_level", c.LogLevel.String()),
		slog.String("db_writer_host", c.DBWriterHost),
		slog.String("db_reader_host", c.DBReaderHost),
		slog.Int("db_port", c.DBPort),
		slog.String("db_name", c.DBName),
		slog.String("db_username", c.DBUser),
		slog.String("db_sslmode", c.DBSSLMode),
		slog.Bool("db_ca_bundle_set", c.DBCABundle != ""),
		slog.String("sessions_table", c.SessionsTable),
		slog.String("event_bus_name", c.EventBusName),
		slog.Duration("session_ttl", c.SessionTTL),
		slog.Duration("shutdown_timeout", c.ShutdownTimeout),
	)
}

type loader struct {
	lookup func(string) (string, bool)
	errs   []FieldError
}

func (l *loader) fail(name, problem string) {
	l.errs = append(l.errs, FieldError{Var: name, Problem: problem})
}

func (l *loader) optional(name string) string {
	v, _ := l.lookup(name)
	return strings.TrimSpace(v)
}

func (l *loader) required(name string) string {
	v := l.optional(name)
	if v == "" {
		l.fail(name, "is required but not set")
	}
	return v
}

func (l *loader) port(name string, def int) int {
	v := l.optional(name)
	if v == "" {
		return def
	}
	p, err := strconv.Atoi(v)
	if err != nil || p < 1 || p > 65535 {
		l.fail(name, fmt.Sprintf("must be a port number 1-65535, got %q", v))
		return 0
	}
	return p
}

func (l *loader) duration(name string, def, min, max time.Duration) time.Duration {
	v := l.optional(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		l.fail(name, fmt.Sprintf("must be a Go duration such as 8h or 25s, got %q", v))
		return 0
	}
	if d < min || d > max {
		l.fail(name, fmt.Sprintf("must be between %s and %s, got %s", min, max, d))
		return 0
	}
	return d
}

func (l *loader) level(name string) slog.Level {
	v := strings.ToLower(l.optional(name))
	switch v {
	case "", "info":
		return slog.LevelInfo
	case "debug":
		return slog.LevelDebug
	case "warn", "warning":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	l.fail(name, fmt.Sprintf("must be one of debug, info, warn, error; got %q", v))
	return slog.LevelInfo
}

func (l *loader) endpoint(name string) string {
	v := l.optional(name)
	if v == "" {
		return ""
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		l.fail(name, fmt.Sprintf("must be an http(s) URL, got %q", v))
		return ""
	}
	return v
}

func (l *loader) sslMode(caBundle string) string {
	v := strings.ToLower(l.optional("DB_SSLMODE"))
	switch {
	case v == "" && caBundle != "":
		return SSLModeVerifyFull
	case v == "":
		return SSLModeRequire
	case v == SSLModeRequire:
		return v
	case v == SSLModeVerifyFull:
		if caBundle == "" {
			l.fail("DB_SSLMODE", "verify-full needs DB_CA_BUNDLE (the RDS CA bundle path)")
		}
		return v
	}
	l.fail("DB_SSLMODE", fmt.Sprintf("must be require or verify-full, got %q", v))
	return ""
}

// ErrInvalid reports whether err is a configuration error from Load.
func ErrInvalid(err error) bool {
	var ce *Error
	return errors.As(err, &ce)
}
