package smoke

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/trading-ha/trading-ha/app/internal/store"
)

// The database audit check. The smoke test cannot query the database: it
// runs outside the VPC, and the cluster is in isolated subnets. The migrate
// step ends with one JSON log line that carries the pgaudit version the
// database has (the value of SELECT extversion FROM pg_extension WHERE
// extname = 'pgaudit'), and its task's log group keeps it; the smoke test
// reads the newest such line (CONTRACT.md section 3).

// OutputMigrateLogGroup is the stack output naming the migrate task's log
// group (infra/deploy.go exports it).
const OutputMigrateLogGroup = "migrateLogGroup"

// MigrateLine is the migrate step's last log line, as far as the smoke
// test reads it.
type MigrateLine struct {
	Msg     string   `json:"msg"`
	Applied []string `json:"applied"`
	// Pgaudit is the installed pgaudit version, "" when absent; nil when
	// the line has no such field (a release before the check).
	Pgaudit       *string `json:"pgaudit"`
	PgauditAbsent string  `json:"pgaudit_absent"`
}

// LogLine is one log event: its time and message.
type LogLine struct {
	Time    time.Time
	Message string
}

// MigrateLog finds the newest migrate-step-complete line of a log group.
type MigrateLog interface {
	// LatestMigrateLine returns the newest event of logGroup whose msg is
	// store.MigrateCompleteMessage; found is false when there is none.
	LatestMigrateLine(ctx context.Context, logGroup string) (line LogLine, found bool, err error)
}

// checkAudit is the smoke step: the newest migrate line names a pgaudit
// version.
func (c *client) checkAudit(ctx context.Context) (string, error) {
	group := c.cfg.Outputs.MigrateLogGroup
	if group == "" {
		return "", fmt.Errorf("stack output %q is missing: the stack exports the migrate task's log group", OutputMigrateLogGroup)
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	ev, found, err := c.cfg.MigrateLog.LatestMigrateLine(ctx, group)
	if err != nil {
		return "", fmt.Errorf("read the migrate step's log in %s: %w", group, err)
	}
	if !found {
		return "", fmt.Errorf("no %q line in %s: the migrate runbook has not run (docs/deploy.md, section 3)", store.MigrateCompleteMessage, group)
	}
	var line MigrateLine
	if err := json.Unmarshal([]byte(ev.Message), &line); err != nil || line.Msg != store.MigrateCompleteMessage {
		return "", fmt.Errorf("the migrate line of %s is not the step's JSON line: %s", ev.Time.UTC().Format(time.RFC3339), snippet([]byte(ev.Message)))
	}
	when := ev.Time.UTC().Format(time.RFC3339)
	switch {
	case line.Pgaudit == nil:
		return "", fmt.Errorf("the migrate step of %s does not report pgaudit (a release before the audit check): run the migrate runbook", when)
	case strings.TrimSpace(*line.Pgaudit) == "":
		return "", fmt.Errorf("the migrate step of %s reports pgaudit absent (%s): database audit is off", when, line.PgauditAbsent)
	}
	return fmt.Sprintf("pgaudit %s (migrate step of %s)", *line.Pgaudit, when), nil
}

// LogsAPI is the part of the CloudWatch Logs client the smoke test uses.
type LogsAPI interface {
	FilterLogEvents(ctx context.Context, in *cloudwatchlogs.FilterLogEventsInput, opts ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.FilterLogEventsOutput, error)
}

// MigrateLogPattern selects the migrate step's last line: a JSON filter
// pattern on the msg field, the form of { $.eventType = "UpdateTrail" }
// (CloudWatch Logs User Guide, "Using filter patterns to match terms in
// JSON log events").
var MigrateLogPattern = `{ $.msg = "` + store.MigrateCompleteMessage + `" }`

// maxLogPages bounds the pages read: the line is written once per deploy.
const maxLogPages = 100

// CloudWatchLogs implements MigrateLog with FilterLogEvents (the caller
// needs logs:FilterLogEvents on the group).
type CloudWatchLogs struct {
	API LogsAPI
}

// LatestMigrateLine implements MigrateLog: every matching event in the
// group, the newest kept.
func (l CloudWatchLogs) LatestMigrateLine(ctx context.Context, logGroup string) (LogLine, bool, error) {
	in := &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String(logGroup), FilterPattern: aws.String(MigrateLogPattern)}
	var best LogLine
	found := false
	for page := 0; page < maxLogPages; page++ {
		out, err := l.API.FilterLogEvents(ctx, in)
		if err != nil {
			return LogLine{}, false, fmt.Errorf("FilterLogEvents on %s: %w", logGroup, err)
		}
		for _, e := range out.Events {
			t := time.UnixMilli(aws.ToInt64(e.Timestamp))
			if !found || t.After(best.Time) {
				best, found = LogLine{Time: t, Message: aws.ToString(e.Message)}, true
			}
		}
		next := aws.ToString(out.NextToken)
		if next == "" || next == aws.ToString(in.NextToken) {
			return best, found, nil
		}
		in.NextToken = aws.String(next)
	}
	return LogLine{}, false, errors.New("FilterLogEvents: too many pages of migrate lines")
}
