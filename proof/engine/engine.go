// Package engine runs `pulumi preview` of a stack through the real Pulumi
// engine, with no cloud account and no provider download: the CLI is built
// from the published Go module (scripts/engine/build-cli.sh), every
// provider plugin is the stand-in of proof/engine/standin installed in
// the plugin cache at the version the program asks for, the program runs
// inline (the Automation API's in-process language runtime, so no Go
// language host is needed), and the policy pack is built with `go build`
// as the Go language host builds it and handed to the engine as a binary
// analyzer. What the engine itself checks
// then holds the program: disabled default providers, provider versions,
// URNs, aliases and parents, the project's config schema, secrets, and the
// analyzer protocol with real unknowns (docs/validation.md, "The real
// engine").
package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Plugin is one stand-in provider plugin to install: the package name the
// engine loads it by and the version the program asks for.
type Plugin struct {
	Name, Version string
}

// Options say what to preview and with what.
type Options struct {
	// CLI is the pulumi binary (scripts/engine/build-cli.sh prints it), in
	// a directory named bin, as the Automation API looks for it.
	CLI string
	// Root is the repository root: Pulumi.yaml and Pulumi.<stack>.yaml are
	// read from it.
	Root string
	// Stack is the stack to preview (dev, prod).
	Stack string
	// Program is the Pulumi program, run inline (infra.Deploy).
	Program pulumi.RunFunc
	// PolicyPack is the policy pack's directory (runtime go); empty for
	// none.
	PolicyPack string
	// StandIn is the built stand-in provider binary.
	StandIn string
	// Plugins are the packages the stand-in is installed for.
	Plugins []Plugin
	// Scratch is an empty directory for PULUMI_HOME, the file backend, the
	// work directory and the pack's build; the caller removes it.
	Scratch string
	// Log receives the engine's progress output; nil discards it.
	Log io.Writer
	// StackFile replaces the stack file's content when set (tests).
	StackFile []byte
}

// Result is what the engine reported.
type Result struct {
	// Steps are the resource operations, "<op> <urn>", in engine order.
	Steps []string
	// URNs are the resources the preview registered, sorted.
	URNs []string
	// Errors are the engine's error diagnostics, "<urn>: <message>" (the
	// message alone when it names no resource).
	Errors []string
	// Policy are the policy pack's reports, "<level> <policy> <urn>: <message>".
	Policy []string
	// Mandatory counts the mandatory policy violations.
	Mandatory int
	// Output is the engine's progress output (stdout and stderr).
	Output string
	// Took is how long the preview ran, stack init excluded.
	Took time.Duration
}

// Preview installs the plugins, initialises the stack on a file backend
// and runs the preview. A non-nil error with a non-nil Result is the
// engine refusing the preview (the Result says why); other errors are
// set-up failures.
func Preview(ctx context.Context, o Options) (*Result, error) {
	home := filepath.Join(o.Scratch, "home")
	work := filepath.Join(o.Scratch, "work")
	state := filepath.Join(o.Scratch, "state")
	packs := filepath.Join(o.Scratch, "packs")
	for _, d := range []string{home, work, state, packs} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("engine: scratch directory: %w", err)
		}
	}
	if err := install(filepath.Join(home, "plugins"), o); err != nil {
		return nil, err
	}
	// The project and stack files are copied: stack init writes the
	// passphrase's salt into the stack file, and the checkout stays as is.
	if err := copyFile(filepath.Join(o.Root, "Pulumi.yaml"), filepath.Join(work, "Pulumi.yaml")); err != nil {
		return nil, err
	}
	stackFile := filepath.Join(work, "Pulumi."+o.Stack+".yaml")
	if o.StackFile != nil {
		if err := os.WriteFile(stackFile, o.StackFile, 0o644); err != nil {
			return nil, fmt.Errorf("engine: write stack file: %w", err)
		}
	} else if err := copyFile(filepath.Join(o.Root, "Pulumi."+o.Stack+".yaml"), stackFile); err != nil {
		return nil, err
	}

	cli, err := auto.NewPulumiCommand(&auto.PulumiCommandOptions{Root: filepath.Dir(filepath.Dir(o.CLI)), SkipVersionCheck: true})
	if err != nil {
		return nil, fmt.Errorf("engine: pulumi CLI at %s: %w", o.CLI, err)
	}
	env := map[string]string{
		"PULUMI_BACKEND_URL":       "file://" + state,
		"PULUMI_CONFIG_PASSPHRASE": "trading-ha-engine-preview",
		// Plugins come from the plugin cache only, at the exact version
		// asked for; nothing on PATH, nothing downloaded.
		"PULUMI_IGNORE_AMBIENT_PLUGINS":               "true",
		"PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
		"PULUMI_SKIP_UPDATE_CHECK":                    "true",
		"PULUMI_SKIP_CONFIRMATIONS":                   "true",
	}
	project, err := projectName(filepath.Join(work, "Pulumi.yaml"))
	if err != nil {
		return nil, err
	}
	stack, err := auto.UpsertStackInlineSource(ctx, o.Stack, project, o.Program,
		auto.WorkDir(work), auto.PulumiHome(home), auto.Pulumi(cli), auto.EnvVars(env))
	if err != nil {
		return nil, fmt.Errorf("engine: init stack %s: %w", o.Stack, err)
	}

	var out bytes.Buffer
	var w io.Writer = &out
	if o.Log != nil {
		w = io.MultiWriter(&out, o.Log)
	}
	ch := make(chan events.EngineEvent)
	res := &Result{}
	var mu sync.Mutex
	done := make(chan struct{})
	go func() {
		defer close(done)
		collect(ch, res, &mu)
	}()
	opts := []optpreview.Option{optpreview.ProgressStreams(w), optpreview.ErrorProgressStreams(w), optpreview.EventStreams(ch)}
	if o.PolicyPack != "" {
		pack, err := buildPack(o.PolicyPack, packs)
		if err != nil {
			return nil, err
		}
		opts = append(opts, optpreview.PolicyPacks(pack))
	}
	start := time.Now()
	_, perr := stack.Preview(ctx, opts...)
	took := time.Since(start)
	// The Automation API closes the event stream when the CLI ends it; a
	// CLI that fails before the engine starts (bad config) never opens it.
	select {
	case <-done:
	case <-time.After(10 * time.Second):
	}
	mu.Lock()
	defer mu.Unlock()
	res.Took = took
	res.Output = out.String()
	sort.Strings(res.URNs)
	if perr != nil {
		return res, fmt.Errorf("engine: pulumi preview of %s: %w", o.Stack, perr)
	}
	return res, nil
}

// collect reads the engine's events into the result.
func collect(ch <-chan events.EngineEvent, res *Result, mu *sync.Mutex) {
	seen := map[string]bool{}
	for e := range ch {
		mu.Lock()
		switch {
		case e.ResourcePreEvent != nil:
			m := e.ResourcePreEvent.Metadata
			res.Steps = append(res.Steps, string(m.Op)+" "+m.URN)
			if !seen[m.URN] {
				seen[m.URN] = true
				res.URNs = append(res.URNs, m.URN)
			}
		case e.DiagnosticEvent != nil && e.DiagnosticEvent.Severity == "error":
			d := e.DiagnosticEvent
			msg := strings.TrimSpace(d.Message)
			if d.URN != "" {
				msg = d.URN + ": " + msg
			}
			res.Errors = append(res.Errors, msg)
		case e.PolicyEvent != nil:
			p := e.PolicyEvent
			res.Policy = append(res.Policy, fmt.Sprintf("%s %s %s: %s", p.EnforcementLevel, p.PolicyName, p.ResourceURN, strings.TrimSpace(p.Message)))
			if p.EnforcementLevel == "mandatory" {
				res.Mandatory++
			}
		}
		mu.Unlock()
	}
}

// buildPack builds a runtime go policy pack as the Go language host's
// RunPlugin does (`go build` in the pack's directory) and returns the
// binary, with the pack's PulumiPolicy.yaml beside it. Given an executable
// rather than a directory, the engine runs it as the analyzer with the
// engine address as its argument and reads PulumiPolicy.yaml from its
// directory (pulumi/pulumi pkg/resource/plugin/analyzer_plugin.go,
// NewPolicyAnalyzer): the pack's own start, without a language host.
func buildPack(src, dir string) (string, error) {
	bin := filepath.Join(dir, filepath.Base(src))
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Dir = src
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("engine: go build the policy pack %s: %w\n%s", src, err, out)
	}
	if err := copyFile(filepath.Join(src, "PulumiPolicy.yaml"), filepath.Join(dir, "PulumiPolicy.yaml")); err != nil {
		return "", err
	}
	return bin, nil
}

// install lays the plugin cache out as the engine reads it
// (sdk/go/common/workspace/plugins.go: <kind>-<name>-v<version>/pulumi-<kind>-<name>,
// an exact version match): the stand-in under each provider's name.
func install(dir string, o Options) error {
	if len(o.Plugins) == 0 {
		return errors.New("engine: no plugins to install")
	}
	for _, p := range o.Plugins {
		if err := place(o.StandIn, filepath.Join(dir, "resource-"+p.Name+"-v"+p.Version, "pulumi-resource-"+p.Name)); err != nil {
			return err
		}
	}
	return nil
}

// place puts an executable at dst: a hard link when it can, else a copy.
func place(src, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("engine: plugin directory: %w", err)
	}
	if err := os.Link(src, dst); err == nil {
		return nil
	}
	if err := copyFile(src, dst); err != nil {
		return err
	}
	if err := os.Chmod(dst, 0o755); err != nil {
		return fmt.Errorf("engine: plugin %s: %w", dst, err)
	}
	return nil
}

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return fmt.Errorf("engine: read %s: %w", src, err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		return fmt.Errorf("engine: write %s: %w", dst, err)
	}
	return nil
}

// projectName reads the project's name from Pulumi.yaml's name: line.
func projectName(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("engine: read project: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "name:"); ok {
			return strings.TrimSpace(v), nil
		}
	}
	return "", fmt.Errorf("engine: %s has no name", path)
}

// providerModule names a provider SDK module's package:
// github.com/pulumi/pulumi-aws/sdk/v6 is aws,
// github.com/pulumi/pulumi-docker-build/sdk/go/dockerbuild is docker-build.
var providerModule = regexp.MustCompile(`^github\.com/pulumi/pulumi-([a-z0-9-]+)/sdk\b`)

// Plugins are the provider packages the program in root (its main
// package) links, at the versions their SDKs ask the engine for: each
// generated SDK pins its own module version (PkgResourceDefaultOpts).
func Plugins(root string) ([]Plugin, error) {
	cmd := exec.Command("go", "list", "-deps", "-f", "{{with .Module}}{{.Path}} {{.Version}}{{end}}", ".")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("engine: go list the program's modules: %w", err)
	}
	seen := map[string]bool{}
	var plugins []Plugin
	for _, line := range strings.Split(string(out), "\n") {
		path, version, ok := strings.Cut(strings.TrimSpace(line), " ")
		if !ok || seen[path] {
			continue
		}
		seen[path] = true
		if g := providerModule.FindStringSubmatch(path); g != nil {
			plugins = append(plugins, Plugin{Name: g[1], Version: strings.TrimPrefix(version, "v")})
		}
	}
	sort.Slice(plugins, func(i, j int) bool { return plugins[i].Name < plugins[j].Name })
	return plugins, nil
}

// SDKVersion is the pulumi Go SDK version of the module in root, the
// version scripts/engine/build-cli.sh builds the CLI at.
func SDKVersion(root string) (string, error) {
	cmd := exec.Command("go", "list", "-m", "-f", "{{.Version}}", "github.com/pulumi/pulumi/sdk/v3")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("engine: go list the pulumi SDK version: %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

// BuildStandIn builds the stand-in provider into dir and returns its path.
func BuildStandIn(root, dir string) (string, error) {
	bin := filepath.Join(dir, "standin")
	cmd := exec.Command("go", "build", "-o", bin, "./proof/engine/standin")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("engine: go build ./proof/engine/standin: %w\n%s", err, out)
	}
	return bin, nil
}
