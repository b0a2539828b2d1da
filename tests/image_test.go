package tests

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/trading-ha/trading-ha/infra/imagesrc"
	"github.com/trading-ha/trading-ha/infra/service"
	"github.com/trading-ha/trading-ha/proof/offline"
)

// awsxChildPackages are the packages awsx's children may belong to, read
// from awsx's own metadata: the direct requirements of the pinned awsx Go
// SDK's go.mod (every awsx module imports these provider SDKs, as its
// code generator records the schema's dependencies). A remote component's
// children get only the providers it is handed, and the stacks disable
// default providers, so each package needs an explicit provider.
func awsxChildPackages(t *testing.T) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-json", "github.com/pulumi/pulumi-awsx/sdk/v2").Output()
	if err != nil {
		t.Fatalf("go list the awsx module: %v", err)
	}
	var mod struct{ Version, GoMod string }
	if err := json.Unmarshal(out, &mod); err != nil || mod.GoMod == "" {
		t.Fatalf("go list the awsx module: %v (%s)", err, out)
	}
	gomod, err := os.ReadFile(mod.GoMod)
	if err != nil {
		t.Fatal(err)
	}
	return providerPackages(string(gomod))
}

// providerModule matches a Pulumi provider SDK's module path; the package
// name is the repository's name without "pulumi-".
var providerModule = regexp.MustCompile(`^github\.com/pulumi/pulumi-([a-z0-9-]+)/sdk\b`)

// providerPackages lists the provider packages a go.mod requires directly.
func providerPackages(gomod string) []string {
	var pkgs []string
	inRequire := false
	for _, line := range strings.Split(gomod, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "require (":
			inRequire = true
			continue
		case line == ")":
			inRequire = false
			continue
		case strings.HasPrefix(line, "require "):
			line = strings.TrimPrefix(line, "require ")
		case !inRequire:
			continue
		}
		if strings.Contains(line, "// indirect") {
			continue
		}
		if m := providerModule.FindStringSubmatch(strings.Fields(line + " ")[0]); m != nil && !slices.Contains(pkgs, m[1]) {
			pkgs = append(pkgs, m[1])
		}
	}
	slices.Sort(pkgs)
	return pkgs
}

// TestAwsxChildrenProviders: every awsx component of the recording is
// handed an explicit provider for each package awsx's metadata lists.
func TestAwsxChildrenProviders(t *testing.T) {
	pkgs := awsxChildPackages(t)
	for _, want := range []string{"aws", "docker", "docker-build"} {
		if !slices.Contains(pkgs, want) {
			t.Errorf("awsx's go.mod lists %v; the test expects %s among them (did the parse break?)", pkgs, want)
		}
	}
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		components := 0
		for _, r := range rec.Resources {
			if !strings.HasPrefix(r.Type, "awsx:") {
				continue
			}
			components++
			for _, pkg := range pkgs {
				if !explicitProvider(rec, r.Providers[pkg]) {
					t.Errorf("%s %s: no explicit %s provider (it has %v); its children of that package would need the disabled default provider",
						r.Type, r.Name, pkg, r.Providers)
				}
			}
		}
		if components == 0 {
			t.Fatal("no awsx component recorded")
		}
	})
}

// TestProviderPackagesParse: the go.mod reader sees direct requirements
// in both forms and skips indirect ones.
func TestProviderPackagesParse(t *testing.T) {
	got := providerPackages(`module x
require github.com/pulumi/pulumi-random/sdk/v4 v4.18.0
require (
	github.com/blang/semver v3.5.1+incompatible
	github.com/pulumi/pulumi-aws/sdk/v6 v6.66.2
	github.com/pulumi/pulumi-docker-build/sdk/go/dockerbuild v0.0.3
	github.com/pulumi/pulumi/sdk/v3 v3.160.0
)
require (
	github.com/pulumi/pulumi-tls/sdk/v5 v5.0.0 // indirect
)`)
	if want := []string{"aws", "docker-build", "random"}; !slices.Equal(got, want) {
		t.Errorf("providerPackages = %v, want %v", got, want)
	}
}

// imageSource is the program's image build in the checkout: the context
// directory and the Dockerfile in it, as the program hands them to
// imagesrc (the project root is "..").
func imageSource() imagesrc.Source {
	return imagesrc.Source{Context: filepath.Join("..", service.BuildContext), Dockerfile: service.Dockerfile}
}

// dockerfile reads the Dockerfile the program builds.
func dockerfile(t *testing.T) imagesrc.Dockerfile {
	t.Helper()
	s := imageSource()
	src, err := os.ReadFile(filepath.Join(s.Context, filepath.FromSlash(s.Dockerfile)))
	if err != nil {
		t.Fatal(err)
	}
	d, err := imagesrc.ParseDockerfile(src)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestImageContract holds the program's image build to the Dockerfile it
// builds: every build argument the Dockerfile requires is passed (the
// program passes none, so none may be required), no instruction fetches
// from the network beyond Go modules pinned by go.sum, the context holds
// exactly what the Dockerfile copies and exactly the files the binary it
// builds is made of, and the recorded build names that context and
// Dockerfile and pushes their content tag to the stack's repository.
func TestImageContract(t *testing.T) {
	d := dockerfile(t)
	for _, run := range d.Runs {
		for _, fetch := range []string{"curl ", "wget ", "http://", "https://"} {
			if strings.Contains(run, fetch) {
				t.Errorf("RUN %q fetches from the network at build time (%q): trust material and inputs come from the context", run, fetch)
			}
		}
	}
	src := imageSource()
	files, err := src.Files()
	if err != nil {
		t.Fatal(err)
	}
	if ignore, _, err := src.IgnoreFile(); err != nil || ignore != service.Dockerfile+".dockerignore" {
		t.Errorf("ignore file %q (%v), want %s.dockerignore", ignore, err, service.Dockerfile)
	}
	// Every context file is under a COPY source, and every COPY source
	// has files in the context.
	covered := map[string]int{}
	for _, f := range files {
		found := false
		for _, c := range d.Copies {
			c = strings.TrimSuffix(strings.TrimPrefix(c, "./"), "/")
			if f == c || strings.HasPrefix(f, c+"/") {
				covered[c]++
				found = true
			}
		}
		if !found {
			t.Errorf("context holds %s, which app/Dockerfile never copies: a change to it would rebuild and retag the image", f)
		}
	}
	for _, c := range d.Copies {
		if c = strings.TrimSuffix(strings.TrimPrefix(c, "./"), "/"); covered[c] == 0 {
			t.Errorf("app/Dockerfile copies %s, which the context does not hold", c)
		}
	}
	// The context holds exactly the files of the packages the Dockerfile's
	// go build target is made of (its sources and embedded files), and the
	// module's go.mod and go.sum.
	built := map[string]bool{"go.mod": true, "go.sum": true}
	for _, f := range binaryFiles(t, src.Context, buildTarget(t, d)) {
		built[f] = true
		if !slices.Contains(files, f) {
			t.Errorf("the binary is built from %s, which the context does not hold: the image build fails", f)
		}
	}
	for _, f := range files {
		if !built[f] {
			t.Errorf("context holds %s, which the binary is not built from: a change to it would rebuild and retag the image", f)
		}
	}

	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		img := one(t, rec, "docker-build:index:Image", "app-image")
		args, _ := img.Inputs["buildArgs"].(map[string]any)
		for _, arg := range d.RequiredArgs() {
			if _, ok := args[arg]; !ok {
				t.Errorf("app/Dockerfile requires build argument %s; the program passes %v", arg, args)
			}
		}
		platform := service.Platform("ARM64")
		tag, err := src.Tag(platform)
		if err != nil {
			t.Fatal(err)
		}
		repo := one(t, rec, "aws:ecr/repository:Repository", "app")
		// The provider takes both paths relative to the project root: the
		// context the tag was computed from, and the Dockerfile in it.
		eq(t, img, "context.location", filepath.ToSlash(mustRel(t, "..", src.Context)))
		eq(t, img, "dockerfile.location", filepath.ToSlash(mustRel(t, "..", filepath.Join(src.Context, src.Dockerfile))))
		eq(t, img, "platforms", []any{platform})
		eq(t, img, "push", true)
		eq(t, img, "buildOnPreview", false)
		eq(t, img, "tags", []any{out(t, repo, "repositoryUrl") + ":" + tag})
		eq(t, img, "registries.0.address", "https://"+strings.SplitN(out(t, repo, "repositoryUrl"), "/", 2)[0])
		if img.DeleteBeforeReplace || len(img.ReplaceOnChanges) > 0 {
			t.Error("the image build is replaced on change: its Delete would remove the pushed image the previous task definition (the rollback target) runs")
		}
		if c := container(t, rec); c.Image != out(t, repo, "repositoryUrl")+"@"+out(t, img, "digest") {
			t.Errorf("container image %q, want the built image by digest", c.Image)
		}
	})
}

// buildTarget is the package the Dockerfile's go build builds (its last
// argument).
func buildTarget(t *testing.T, d imagesrc.Dockerfile) string {
	t.Helper()
	for _, run := range d.Runs {
		if i := strings.Index(run, "go build "); i >= 0 {
			fields := strings.Fields(run[i:])
			return fields[len(fields)-1]
		}
	}
	t.Fatalf("no go build among the Dockerfile's RUN instructions %q", d.Runs)
	return ""
}

// binaryFiles lists, relative to the module directory dir, the source and
// embedded files of every package of that module that pkg is built from.
func binaryFiles(t *testing.T, dir, pkg string) []string {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", "-json=Dir,GoFiles,CgoFiles,EmbedFiles,Module", pkg)
	cmd.Dir = dir
	out, err := cmd.Output()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		t.Fatalf("go list -deps %s in %s: %v: %s", pkg, dir, err, exit.Stderr)
	} else if err != nil {
		t.Fatalf("go list -deps %s in %s: %v", pkg, dir, err)
	}
	root, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p struct {
			Dir                           string
			GoFiles, CgoFiles, EmbedFiles []string
			Module                        *struct{ Main bool }
		}
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		if p.Module == nil || !p.Module.Main {
			continue
		}
		for _, f := range slices.Concat(p.GoFiles, p.CgoFiles, p.EmbedFiles) {
			files = append(files, filepath.ToSlash(mustRel(t, root, filepath.Join(p.Dir, f))))
		}
	}
	if len(files) == 0 {
		t.Fatalf("go list -deps %s in %s: no package of the module", pkg, dir)
	}
	return files
}

func mustRel(t *testing.T, base, target string) string {
	t.Helper()
	base, err := filepath.Abs(base)
	if err == nil {
		target, err = filepath.Abs(target)
	}
	var rel string
	if err == nil {
		rel, err = filepath.Rel(base, target)
	}
	if err != nil {
		t.Fatal(err)
	}
	return rel
}

// TestImageTagFollowsContent: the content tag changes with what the
// builder sees and with nothing else, so a stack-file, doc or test edit
// neither rebuilds nor pushes, and any build pushes a tag that cannot
// exist yet in the IMMUTABLE repository.
func TestImageTagFollowsContent(t *testing.T) {
	dir := t.TempDir()
	copyTree(t, "..", dir, []string{"go.mod", "go.sum", "app", "Pulumi.yaml", "Pulumi.dev.yaml", "README.md", "docs/deploy.md"})
	src := imagesrc.Source{Context: filepath.Join(dir, service.BuildContext), Dockerfile: service.Dockerfile}
	base, err := src.Tag("linux/arm64")
	if err != nil {
		t.Fatal(err)
	}
	if real, err := imageSource().Tag("linux/arm64"); err != nil || real != base {
		t.Fatalf("the copy's tag %s differs from the repository's %s (%v): the copy misses context files", base, real, err)
	}
	if !regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`).MatchString(base) {
		t.Errorf("tag %q is not a valid image tag", base)
	}
	if other, _ := src.Tag("linux/amd64"); other == base {
		t.Error("the platform does not change the tag")
	}
	for _, c := range []struct {
		file    string
		changes bool
	}{
		{"Pulumi.dev.yaml", false},
		{"Pulumi.yaml", false},
		{"README.md", false},
		{"docs/deploy.md", false},
		{"go.mod", false}, // the root module's: the service is a module of its own
		{"go.sum", false},
		{"app/cmd/trading/main_test.go", false},
		{"app/probes/smoke/smoke.go", false},
		{"app/drill/drill.go", false},
		{"app/internal/testkit/testkit.go", false},
		{"app/cmd/trading/main.go", true},
		{"app/Dockerfile", true},
		{"app/go.mod", true},
		{"app/go.sum", true},
		{"app/internal/store/migrations/0001_orders_outbox.sql", true},
		{"app/rdsca/global-bundle.pem", true},
	} {
		path := filepath.Join(dir, c.file)
		saved, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, append(append([]byte{}, saved...), "\n# edit\n"...), 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := src.Tag("linux/arm64")
		if err != nil {
			t.Fatal(err)
		}
		if (got != base) != c.changes {
			t.Errorf("editing %s: tag %s -> %s; want changed=%v", c.file, base, got, c.changes)
		}
		if err := os.WriteFile(path, saved, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if again, _ := src.Tag("linux/arm64"); again != base {
		t.Errorf("restored tree tags %s, want %s", again, base)
	}
}

// copyTree copies the named files and directories of src into dst.
func copyTree(t *testing.T, src, dst string, names []string) {
	t.Helper()
	for _, name := range names {
		root := filepath.Join(src, name)
		err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && d.Name() == "node_modules" {
				return filepath.SkipDir
			}
			rel, err := filepath.Rel(src, path)
			if err != nil {
				return err
			}
			target := filepath.Join(dst, rel)
			if d.IsDir() {
				return os.MkdirAll(target, 0o755)
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return err
			}
			return os.WriteFile(target, b, info.Mode().Perm())
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestRolledBackDeployFailsUp: ECS's steady-state wait also succeeds when
// the circuit breaker rolled the deployment back; the program reads the
// service back and fails the up, naming both task definitions.
func TestRolledBackDeployFailsUp(t *testing.T) {
	forStacks(t, func(t *testing.T, stack string, rec *offline.Recording) {
		eq(t, one(t, rec, "aws:ecs/service:Service", "app"), "waitForSteadyState", true)
		_, err := offline.RunRolledBack("..", stack)
		if err == nil || !strings.Contains(err.Error(), "rolled back") || !strings.Contains(err.Error(), "task-definition/") {
			t.Errorf("an up whose deployment was rolled back: err = %v, want a failure naming the task definitions", err)
		}
	})
	if _, err := service.CheckDeployed("arn:aws:ecs:us-east-1:1:task-definition/t:3", "arn:aws:ecs:us-east-1:1:task-definition/t:3"); err != nil {
		t.Errorf("the registered task definition running: %v", err)
	}
}
