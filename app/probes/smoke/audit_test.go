package smoke

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
)

const migrateGroup = "/trading/ecs-migrate-dev"

// migrateLine is the migrate step's last line as `trading -migrate`
// writes it (CONTRACT.md section 3).
const migrateLine = `{"time":"2026-11-02T09:14:00.1Z","level":"INFO","msg":"migrate step complete","applied":[],` +
	`"owner_role":"trading_owner","pgaudit":"1.6.2","app_role":"trading_app"}`

// fakeMigrateLog answers LatestMigrateLine from memory.
type fakeMigrateLog struct {
	line  LogLine
	found bool
	err   error
	asked []string
}

func (f *fakeMigrateLog) LatestMigrateLine(_ context.Context, group string) (LogLine, bool, error) {
	f.asked = append(f.asked, group)
	return f.line, f.found, f.err
}

func goodMigrateLog() *fakeMigrateLog {
	return &fakeMigrateLog{line: LogLine{Time: time.Date(2026, 11, 2, 9, 14, 0, 0, time.UTC), Message: migrateLine}, found: true}
}

// TestSmokeAuditFailures: the audit step fails when the newest migrate line
// reports pgaudit absent, lacks the field (an earlier release), is missing
// or unreadable, and when the stack does not export the log group.
func TestSmokeAuditFailures(t *testing.T) {
	at := time.Date(2026, 11, 2, 9, 14, 0, 0, time.UTC)
	line := func(msg string) *fakeMigrateLog {
		return &fakeMigrateLog{line: LogLine{Time: at, Message: msg}, found: true}
	}
	for _, tc := range []struct {
		name  string
		log   *fakeMigrateLog
		group string
		want  string
	}{
		{"pgaudit absent", line(`{"msg":"migrate step complete","applied":[],"pgaudit":"","pgaudit_absent":"pgaudit must be loaded via shared_preload_libraries"}`),
			migrateGroup, "reports pgaudit absent (pgaudit must be loaded via shared_preload_libraries): database audit is off"},
		{"an earlier release's line", line(`{"msg":"migrate step complete","applied":["0002"],"app_role":"trading_app"}`),
			migrateGroup, "does not report pgaudit"},
		{"not the step's line", line(`migrate step complete`), migrateGroup, "is not the step's JSON line"},
		{"never ran", &fakeMigrateLog{}, migrateGroup, `no "migrate step complete" line in /trading/ecs-migrate-dev: the migrate runbook has not run`},
		{"unreadable", &fakeMigrateLog{err: errors.New("AccessDeniedException")}, migrateGroup, "AccessDeniedException"},
		{"no output", goodMigrateLog(), "", `stack output "migrateLogGroup" is missing`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &client{cfg: Config{Outputs: Outputs{MigrateLogGroup: tc.group}, MigrateLog: tc.log, RequestTimeout: time.Second}}
			detail, err := c.checkAudit(context.Background())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("checkAudit = %q, %v; want an error containing %q", detail, err, tc.want)
			}
		})
	}
	log := goodMigrateLog()
	c := &client{cfg: Config{Outputs: Outputs{MigrateLogGroup: migrateGroup}, MigrateLog: log, RequestTimeout: time.Second}}
	if detail, err := c.checkAudit(context.Background()); err != nil || detail != "pgaudit 1.6.2 (migrate step of 2026-11-02T09:14:00Z)" ||
		len(log.asked) != 1 || log.asked[0] != migrateGroup {
		t.Errorf("checkAudit = %q, %v (asked %v)", detail, err, log.asked)
	}
}

// TestCloudWatchLogsAdapter drives the real SDK client against a local
// endpoint speaking CloudWatch Logs' JSON protocol: the JSON filter on
// msg, every page read, the newest event kept.
func TestCloudWatchLogsAdapter(t *testing.T) {
	var bodies []map[string]any
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Amz-Target") != "Logs_20140328.FilterLogEvents" {
			w.WriteHeader(400)
			fmt.Fprint(w, `{"__type":"UnknownOperationException"}`)
			return
		}
		b, _ := io.ReadAll(r.Body)
		var in map[string]any
		_ = json.Unmarshal(b, &in)
		bodies = append(bodies, in)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		event := func(ts int64, msg string) map[string]any {
			return map[string]any{"timestamp": ts, "message": msg, "logStreamName": "migrate/migrate/abc"}
		}
		var out map[string]any
		if in["nextToken"] == nil {
			out = map[string]any{"events": []any{event(2000, "newest"), event(1000, "older")}, "nextToken": "page-2"}
		} else {
			out = map[string]any{"events": []any{event(1500, "between")}}
		}
		_ = json.NewEncoder(w).Encode(out)
	}))
	defer ts.Close()
	api := cloudwatchlogs.New(cloudwatchlogs.Options{Region: "us-east-1", BaseEndpoint: aws.String(ts.URL), Credentials: aws.AnonymousCredentials{}})
	line, found, err := CloudWatchLogs{API: api}.LatestMigrateLine(context.Background(), migrateGroup)
	if err != nil || !found || line.Message != "newest" || !line.Time.Equal(time.UnixMilli(2000)) {
		t.Fatalf("LatestMigrateLine = %+v %v %v", line, found, err)
	}
	if len(bodies) != 2 || bodies[0]["logGroupName"] != migrateGroup || bodies[0]["filterPattern"] != `{ $.msg = "migrate step complete" }` ||
		bodies[1]["nextToken"] != "page-2" {
		t.Errorf("requests %v", bodies)
	}
}
