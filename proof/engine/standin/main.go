// Command standin is a stand-in Pulumi resource provider plugin for the
// engine preview (proof/engine): one binary installed under each name
// the program's packages need (pulumi-resource-aws, -awsx, -random, -tls,
// -docker-build, -docker), in the plugin cache directory the engine reads,
// resource-<package>-v<version>. It speaks the pulumirpc ResourceProvider
// protocol as a real provider does in a preview of a new stack: config is
// accepted, Check returns the inputs, a create at preview returns only its
// inputs (every computed attribute stays unknown, as no ID or ARN exists
// yet), invokes answer with plausible values and awsx's components register
// the children awsx v2.22.0 registers. It never creates anything: Create
// outside a preview, Update, Read and Delete fail.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/blang/semver"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/provider"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

func main() {
	pkg, version, err := identify(os.Args[0])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	err = provider.Main(pkg, func(host *provider.HostClient) (pulumirpc.ResourceProviderServer, error) {
		return newProvider(pkg, version, host), nil
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "stand-in %s: %v\n", pkg, err)
		os.Exit(1)
	}
}

// identify reads the package and version the binary stands in for from
// where the engine found it: <plugins>/resource-<pkg>-v<version>/pulumi-resource-<pkg>
// (the plugin cache layout, sdk/go/common/workspace/plugins.go).
func identify(exe string) (pkg, version string, err error) {
	base := filepath.Base(exe)
	pkg, ok := strings.CutPrefix(base, "pulumi-resource-")
	if !ok || pkg == "" {
		return "", "", fmt.Errorf("stand-in: run as pulumi-resource-<package>, not %q", base)
	}
	dir := filepath.Base(filepath.Dir(exe))
	v, ok := strings.CutPrefix(dir, "resource-"+pkg+"-v")
	if !ok {
		return "", "", fmt.Errorf("stand-in %s: installed in %q, want a plugin directory resource-%s-v<version>", pkg, dir, pkg)
	}
	if _, err := semver.Parse(v); err != nil {
		return "", "", fmt.Errorf("stand-in %s: version %q of directory %q: %w", pkg, v, dir, err)
	}
	return pkg, v, nil
}
