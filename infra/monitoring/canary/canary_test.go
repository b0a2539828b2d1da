package canary

import (
	"archive/zip"
	"bytes"
	"io"
	"path"
	"regexp"
	"strings"
	"testing"
)

func TestScriptEmbedded(t *testing.T) {
	s := Script()
	if len(s) == 0 {
		t.Fatal("embedded canary script is empty")
	}
	if !bytes.Contains(s, []byte("require('@aws/synthetics-puppeteer')")) {
		t.Error("script does not load the runtime module '@aws/synthetics-puppeteer'")
	}
	s[0] ^= 0xff
	if bytes.Equal(s, Script()) {
		t.Error("Script() must return a copy, not the embedded slice")
	}
}

func TestHandlerMatchesScriptPath(t *testing.T) {
	file, fn, ok := strings.Cut(Handler, ".")
	if !ok || fn == "" {
		t.Fatalf("Handler %q is not <file>.<function>", Handler)
	}
	// CloudFormation's pattern for Code.Handler.
	if !regexp.MustCompile(`^([0-9a-zA-Z_-]+/)*[0-9A-Za-z_\-]+\.[A-Za-z_][A-Za-z0-9_]*$`).MatchString(Handler) {
		t.Errorf("Handler %q does not match the Synthetics handler pattern", Handler)
	}
	if want := file + ".js"; path.Base(ScriptPath) != want {
		t.Errorf("ScriptPath %q does not hold %s named by Handler %q", ScriptPath, want, Handler)
	}
	if path.Dir(ScriptPath) != "nodejs/node_modules" {
		t.Errorf("ScriptPath %q is not under nodejs/node_modules", ScriptPath)
	}
	exported := regexp.MustCompile(`(?s)module\.exports\s*=\s*\{[^}]*\b` + regexp.QuoteMeta(fn) + `\b`)
	if !exported.Match(Script()) {
		t.Errorf("script does not export %q named by Handler", fn)
	}
}

func TestRuntimeIsPuppeteer(t *testing.T) {
	if !regexp.MustCompile(`^syn-nodejs-puppeteer-\d+\.\d+$`).MatchString(Runtime) {
		t.Errorf("Runtime %q is not a Node.js Puppeteer runtime (executeHttpStep needs one)", Runtime)
	}
}

// TestZipLayout builds the archive the way a deployment would and reads it back.
func TestZipLayout(t *testing.T) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create(ScriptPath)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(Script()); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	if len(zr.File) != 1 || zr.File[0].Name != ScriptPath {
		t.Fatalf("zip holds %v, want only %s", zr.File, ScriptPath)
	}
	rc, err := zr.File[0].Open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	got, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, Script()) {
		t.Error("zip content differs from the embedded script")
	}
}

// TestScriptNeedsOnlyRuntimeModules holds the script to Node core modules
// plus the two the Synthetics runtime provides: the zip carries no
// node_modules.
func TestScriptNeedsOnlyRuntimeModules(t *testing.T) {
	allowed := map[string]bool{
		"http": true, "https": true, "crypto": true,
		"@aws/synthetics-puppeteer": true, "@aws-sdk/client-ssm": true,
	}
	re := regexp.MustCompile(`require\('([^']+)'\)`)
	found := map[string]bool{}
	for _, m := range re.FindAllSubmatch(Script(), -1) {
		name := string(m[1])
		found[name] = true
		if !allowed[name] {
			t.Errorf("script requires %q, which the runtime does not provide", name)
		}
	}
	if !found["@aws-sdk/client-ssm"] {
		t.Error("script does not read the client secret with @aws-sdk/client-ssm")
	}
}
