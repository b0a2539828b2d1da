package tests

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// workflowFiles are the repository's GitHub Actions workflows.
func workflowFiles(t *testing.T) map[string]*yaml.Node {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("..", ".github", "workflows", "*.yml"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no workflows found (%v)", err)
	}
	out := map[string]*yaml.Node{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var doc yaml.Node
		if err := yaml.Unmarshal(b, &doc); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		out[filepath.Base(p)] = doc.Content[0]
	}
	return out
}

// child is a mapping node's value for key, or nil.
func child(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// mapping walks a mapping node's key/value pairs in order.
func mapping(n *yaml.Node, fn func(key string, v *yaml.Node)) {
	if n == nil || n.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		fn(n.Content[i].Value, n.Content[i+1])
	}
}

// walkYAML calls fn for every mapping key/value pair under n.
func walkYAML(n *yaml.Node, fn func(key, value *yaml.Node)) {
	if n == nil {
		return
	}
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			fn(n.Content[i], n.Content[i+1])
		}
	}
	for _, c := range n.Content {
		walkYAML(c, fn)
	}
}

// text renders a node back to YAML without its comments, for searching
// what a job does (a comment may mention prod without reaching it).
func text(t *testing.T, n *yaml.Node) string {
	t.Helper()
	b, err := yaml.Marshal(uncommented(n))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// uncommented is a copy of n without comments.
func uncommented(n *yaml.Node) *yaml.Node {
	c := *n
	c.HeadComment, c.LineComment, c.FootComment = "", "", ""
	c.Content = nil
	for _, k := range n.Content {
		c.Content = append(c.Content, uncommented(k))
	}
	return &c
}

var (
	// A remote action pinned by commit: owner/repo[/path]@<40 hex>.
	pinnedUses = regexp.MustCompile(`^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+(/[A-Za-z0-9_./-]+)?@[0-9a-f]{40}$`)
	// The tag the pinned commit is, as a comment: "# v6.1.0".
	tagComment = regexp.MustCompile(`^#\s*v\d+(\.\d+)*$`)
	// Anything that names the prod stack, its secrets, variables or
	// environment: PULUMI_ACCESS_TOKEN_PROD, AWS_PREVIEW_ROLE_ARN_PROD,
	// "prod", "<org>/prod".
	prodRef = regexp.MustCompile(`(?i)(_PROD\b|\bprod\b)`)
	// A condition that admits a job only on a push to main.
	pushToMain = regexp.MustCompile(`github\.event_name\s*==\s*'push'`)
	onMain     = regexp.MustCompile(`github\.ref\s*==\s*'refs/heads/main'`)
)

// TestWorkflowActionsPinnedBySHA: every `uses:` of every workflow step is a
// full 40-hex commit SHA, with the release tag it is in a comment beside it
// (a tag can be moved to another commit; a commit cannot change).
func TestWorkflowActionsPinnedBySHA(t *testing.T) {
	n := 0
	for file, wf := range workflowFiles(t) {
		walkYAML(wf, func(k, v *yaml.Node) {
			if k.Value != "uses" {
				return
			}
			n++
			if !pinnedUses.MatchString(v.Value) {
				t.Errorf("%s:%d: uses %s: pin a full commit SHA (owner/repo@<40 hex>  # vX.Y.Z)", file, v.Line, v.Value)
			}
			if !tagComment.MatchString(strings.TrimSpace(v.LineComment)) {
				t.Errorf("%s:%d: uses %s: no tag comment (# vX.Y.Z) beside the SHA: %q", file, v.Line, v.Value, v.LineComment)
			}
		})
	}
	if n == 0 {
		t.Fatal("no uses: found")
	}
}

// TestPreviewKeepsProdFromPullRequests: a pull request runs unreviewed code,
// so no job a pull request can start may reach the prod stack, its Pulumi
// token or its AWS role: such a job names nothing of prod (secrets and
// variables ending _PROD, the prod stack, the prod environment). The prod
// preview runs only on a push to main and in the GitHub environment "prod"
// (required reviewers, secrets scoped to it), and nothing runs on
// pull_request_target (which would hand a fork's code the secrets).
func TestPreviewKeepsProdFromPullRequests(t *testing.T) {
	wfs := workflowFiles(t)
	prodJobs := 0
	for file, wf := range wfs {
		on := child(wf, "on")
		triggers := map[string]bool{}
		switch on.Kind {
		case yaml.ScalarNode:
			triggers[on.Value] = true
		case yaml.SequenceNode:
			for _, c := range on.Content {
				triggers[c.Value] = true
			}
		case yaml.MappingNode:
			mapping(on, func(k string, _ *yaml.Node) { triggers[k] = true })
		}
		if triggers["pull_request_target"] {
			t.Errorf("%s runs on pull_request_target: a pull request's code would run with the repository's secrets", file)
		}
		mapping(child(wf, "jobs"), func(name string, job *yaml.Node) {
			cond := ""
			if c := child(job, "if"); c != nil {
				cond = c.Value
			}
			env := ""
			if e := child(job, "environment"); e != nil {
				env = e.Value
				if e.Kind == yaml.MappingNode {
					env = child(e, "name").Value
				}
			}
			body := text(t, job)
			pushOnly := pushToMain.MatchString(cond) && onMain.MatchString(cond)
			if triggers["pull_request"] && !pushOnly {
				for _, m := range prodRef.FindAllString(body, -1) {
					t.Errorf("%s job %s runs on pull requests and names %q: a pull request must reach dev only", file, name, m)
				}
			}
			if prodRef.MatchString(body) {
				prodJobs++
				if env != "prod" {
					t.Errorf("%s job %s reaches prod outside the GitHub environment prod (environment %q): its reviewers and scoped secrets guard it", file, name, env)
				}
				if !pushOnly {
					t.Errorf("%s job %s reaches prod without `if: github.event_name == 'push' && github.ref == 'refs/heads/main'` (if: %q)", file, name, cond)
				}
			}
		})
	}
	if prodJobs == 0 {
		t.Error("no job previews prod")
	}
	// The dev preview uses dev's own token and role.
	preview := text(t, wfs["preview.yml"])
	for _, want := range []string{"secrets.PULUMI_ACCESS_TOKEN_DEV", "secrets.PULUMI_ACCESS_TOKEN_PROD", "vars.AWS_PREVIEW_ROLE_ARN_DEV", "vars.AWS_PREVIEW_ROLE_ARN_PROD"} {
		if !strings.Contains(preview, want) {
			t.Errorf("preview.yml does not use %s: each stack has its own Pulumi token and AWS preview role", want)
		}
	}
}
