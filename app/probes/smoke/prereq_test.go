package smoke

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/backup"
)

// fakeBackup answers DescribeRegionSettings with fixed preferences and
// records the region each call was sent to.
type fakeBackup struct {
	management map[string]bool
	optIn      map[string]bool
	err        error
	regions    []string
}

func (f *fakeBackup) DescribeRegionSettings(_ context.Context, _ *backup.DescribeRegionSettingsInput, opts ...func(*backup.Options)) (*backup.DescribeRegionSettingsOutput, error) {
	o := backup.Options{Region: "client-default"}
	for _, fn := range opts {
		fn(&o)
	}
	f.regions = append(f.regions, o.Region)
	if f.err != nil {
		return nil, f.err
	}
	return &backup.DescribeRegionSettingsOutput{ResourceTypeManagementPreference: f.management, ResourceTypeOptInPreference: f.optIn}, nil
}

func TestAdvancedDynamoDBBackup(t *testing.T) {
	optIn := map[string]bool{"Aurora": true, "DynamoDB": true, "S3": false, "EFS": true}
	for _, tc := range []struct {
		name       string
		api        *fakeBackup
		wantDetail string
		wantErr    []string
	}{
		{"on", &fakeBackup{management: map[string]bool{"DynamoDB": true, "EFS": false}, optIn: optIn},
			"ResourceTypeManagementPreference DynamoDB=true; opt-in Aurora=true DynamoDB=true S3=false (not required: the selections name resources by ARN)", nil},
		{"off", &fakeBackup{management: map[string]bool{"DynamoDB": false, "EFS": true}, optIn: optIn}, "",
			[]string{"ResourceTypeManagementPreference DynamoDB is false in us-east-1", "backup-verification runbook",
				"fix: aws backup update-region-settings --region us-east-1 --resource-type-management-preference DynamoDB=true", "docs/deploy.md, section 5a"}},
		{"never set", &fakeBackup{management: map[string]bool{"EFS": true}}, "",
			[]string{"ResourceTypeManagementPreference DynamoDB is not set in us-east-1", "--resource-type-management-preference DynamoDB=true"}},
		{"no preferences at all", &fakeBackup{}, "", []string{"DynamoDB is not set in us-east-1"}},
		{"call refused", &fakeBackup{err: errors.New("AccessDeniedException: not authorized to perform backup:DescribeRegionSettings")}, "",
			[]string{"DescribeRegionSettings in us-east-1: AccessDeniedException"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := AdvancedDynamoDBBackup(tc.api, "us-east-1")
			if p.Name != "AWS Backup advanced DynamoDB features (us-east-1)" {
				t.Errorf("name %q", p.Name)
			}
			detail, err := p.Check(context.Background())
			if len(tc.api.regions) != 1 || tc.api.regions[0] != "us-east-1" {
				t.Errorf("DescribeRegionSettings sent to %v, want the stack's region us-east-1 once", tc.api.regions)
			}
			if tc.wantErr == nil {
				if err != nil || detail != tc.wantDetail {
					t.Errorf("Check = %q, %v; want %q", detail, err, tc.wantDetail)
				}
				return
			}
			if err == nil {
				t.Fatalf("Check passed (%q), want an error", detail)
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

// TestSmokeReportsPrerequisites: every prerequisite is one step after the
// runbook; a failing one fails the run and names the setting.
func TestSmokeReportsPrerequisites(t *testing.T) {
	run := func(api *fakeBackup) Report {
		ts := httptest.NewTLSServer(newContractServer())
		t.Cleanup(ts.Close)
		return Run(context.Background(), Config{
			Outputs:       Outputs{EndpointURL: ts.URL, TokenURL: ts.URL + "/oauth2/token", SmokeClientID: smokeClient},
			ClientSecret:  smokeSecret,
			HTTP:          ts.Client(),
			RunID:         "prereq",
			Prerequisites: []Prerequisite{AdvancedDynamoDBBackup(api, "us-east-1")},
		})
	}
	name := "prerequisite: AWS Backup advanced DynamoDB features (us-east-1)"

	rep := run(&fakeBackup{management: map[string]bool{"DynamoDB": true}})
	if !rep.OK() {
		t.Fatalf("failed with the setting on: %+v", rep.Steps)
	}
	if last := rep.Steps[len(rep.Steps)-1]; last.Name != name || last.Err != nil || !strings.Contains(last.Detail, "DynamoDB=true") {
		t.Errorf("last step %+v, want %s passing", last, name)
	}

	rep = run(&fakeBackup{management: map[string]bool{"DynamoDB": false}})
	if rep.OK() {
		t.Fatal("passed with advanced DynamoDB backup off")
	}
	if s := stepNamed(t, rep, name); s.Err == nil || !strings.Contains(s.Err.Error(), "--resource-type-management-preference DynamoDB=true") {
		t.Errorf("step error %v", s.Err)
	}
	var out strings.Builder
	if err := rep.Write(&out); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`FAIL\s+` + regexp.QuoteMeta(name)).MatchString(out.String()) {
		t.Errorf("summary does not show the failed prerequisite:\n%s", out.String())
	}
}

// TestBackupRegionSettingsAdapter drives the real SDK client against a
// local endpoint speaking AWS Backup's REST protocol (DescribeRegionSettings
// is GET /account-settings).
func TestBackupRegionSettingsAdapter(t *testing.T) {
	var requests []string
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests = append(requests, r.Method+" "+r.URL.Path)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"ResourceTypeManagementPreference":{"DynamoDB":false,"EFS":true},"ResourceTypeOptInPreference":{"Aurora":true,"DynamoDB":true,"S3":true}}`)
	}))
	defer ts.Close()
	api := backup.New(backup.Options{Region: "us-east-1", BaseEndpoint: aws.String(ts.URL), Credentials: aws.AnonymousCredentials{}})
	_, err := AdvancedDynamoDBBackup(api, "us-east-1").Check(context.Background())
	if err == nil || !strings.Contains(err.Error(), "ResourceTypeManagementPreference DynamoDB is false in us-east-1") {
		t.Errorf("Check over the wire: %v", err)
	}
	if strings.Join(requests, ",") != "GET /account-settings" {
		t.Errorf("requests %v, want one GET /account-settings", requests)
	}
}
