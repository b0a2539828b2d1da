package tests

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/trading-ha/trading-ha/infra/config"
	"github.com/trading-ha/trading-ha/proof/offline"
)

// stackFileConfig is the config the engine would hand the program for a
// stack file holding exactly the given keys (values as Pulumi.<stack>.yaml
// has them) over Pulumi.yaml's defaults.
func stackFileConfig(t *testing.T, stack string, keys []string) map[string]string {
	t.Helper()
	set, err := offline.StackOverrides("..", stack)
	if err != nil {
		t.Fatal(err)
	}
	file := map[string]any{}
	for _, k := range keys {
		v, ok := set[k]
		if !ok {
			t.Fatalf("Pulumi.%s.yaml does not set %s", stack, k)
		}
		file[k] = v
	}
	body, err := yaml.Marshal(map[string]any{"config": file})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	project, err := os.ReadFile("../Pulumi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{"Pulumi.yaml": project, "Pulumi." + stack + ".yaml": body} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := offline.LoadStack(dir, stack)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// asOverrides turns a whole config into overrides of the real stack file,
// so the program runs from the project directory (the image's build
// context): keys cfg lacks are removed, the others set to cfg's value. An
// empty value removes the key, which the program reads as unset, as it
// reads an empty optional key.
func asOverrides(t *testing.T, stack string, cfg map[string]string) map[string]string {
	t.Helper()
	full, err := offline.LoadStack("..", stack)
	if err != nil {
		t.Fatal(err)
	}
	o := map[string]string{}
	for k, v := range full {
		if w, ok := cfg[k]; !ok {
			o[k] = ""
		} else if w != v {
			o[k] = w
		}
	}
	for k, v := range cfg {
		if _, ok := full[k]; !ok {
			o[k] = v
		}
	}
	return o
}

func minimalKeyNames(stack string, except string) []string {
	var keys []string
	for _, m := range config.Minimal(stack) {
		if m.Key != except {
			keys = append(keys, m.Key)
		}
	}
	return keys
}

// TestMinimalStackRecords: a stack file holding only the minimal keys of
// its stack (docs/config.md, "Minimal stack") records cleanly, so nothing
// else is required.
func TestMinimalStackRecords(t *testing.T) {
	for _, stack := range Stacks {
		t.Run(stack, func(t *testing.T) {
			cfg := stackFileConfig(t, stack, minimalKeyNames(stack, ""))
			rec, err := offline.Run("..", stack, asOverrides(t, stack, cfg))
			if err != nil {
				t.Fatalf("the minimal %s stack is refused: %v", stack, err)
			}
			if len(rec.Resources) == 0 {
				t.Fatal("the minimal stack registered nothing")
			}
		})
	}
}

// TestMinimalKeysAreRequired removes each required key, from the minimal
// stack file and from the real one, and expects a refusal naming it; a
// switch removed leaves a stack the program accepts (it is the stack's
// choice), and every key a switch makes required names a switch of the
// same stack.
func TestMinimalKeysAreRequired(t *testing.T) {
	for _, stack := range Stacks {
		defaults := stackFileConfig(t, stack, nil)
		for _, m := range config.Minimal(stack) {
			t.Run(stack+"/"+m.Key, func(t *testing.T) {
				if m.Because != "" {
					i := slices.IndexFunc(config.Minimal(stack), func(s config.MinimalKey) bool { return s.Key == m.Because })
					if i < 0 || config.Minimal(stack)[i].Kind != config.KindSwitch {
						t.Errorf("%s is required because of %s, which is not a switch of the %s stack", m.Key, m.Because, stack)
					}
				}
				minimal := stackFileConfig(t, stack, minimalKeyNames(stack, m.Key))
				switch m.Kind {
				case config.KindGuard:
					return
				case config.KindSwitch:
					if _, err := offline.Run("..", stack, asOverrides(t, stack, minimal)); err != nil {
						t.Errorf("without the switch %s the minimal %s stack is refused; is it required? %v", m.Key, stack, err)
					}
					return
				case config.KindRequired:
				default:
					t.Fatalf("kind %q", m.Kind)
				}
				want := []string{"config " + m.Key}
				rec, err := offline.Run("..", stack, asOverrides(t, stack, minimal))
				refused(t, rec, err, want)
				// The real stack file with the key back at its default.
				v, ok := defaults[m.Key]
				if !ok {
					v = ""
				}
				rec, err = recordWith(t, stack, map[string]string{m.Key: v})
				refused(t, rec, err, want)
			})
		}
	}
}

// TestStackFilesListMinimalKeysFirst: each stack file sets its minimal
// keys first, above the tuning marker, and nothing else there.
func TestStackFilesListMinimalKeysFirst(t *testing.T) {
	keyLine := regexp.MustCompile(`^  ([A-Za-z-]+:[A-Za-z-]+):`)
	for _, stack := range Stacks {
		f, err := os.Open(filepath.Join("..", "Pulumi."+stack+".yaml"))
		if err != nil {
			t.Fatal(err)
		}
		var above, below []string
		marker := false
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			line := sc.Text()
			if strings.HasPrefix(line, "  # --- tuning") {
				marker = true
			}
			if m := keyLine.FindStringSubmatch(line); m != nil {
				if marker {
					below = append(below, m[1])
				} else {
					above = append(above, m[1])
				}
			}
		}
		f.Close()
		if !marker {
			t.Errorf("Pulumi.%s.yaml has no `  # --- tuning` marker below its minimal keys", stack)
			continue
		}
		want := minimalKeyNames(stack, "")
		if !slices.Equal(above, want) {
			t.Errorf("Pulumi.%s.yaml sets above the tuning marker\n  %v\nwant its minimal keys, in order\n  %v", stack, above, want)
		}
		for _, k := range below {
			if slices.Contains(want, k) {
				t.Errorf("Pulumi.%s.yaml sets the minimal key %s below the tuning marker", stack, k)
			}
		}
	}
}
