// Package imagesrc reads what an image build is made of, from the build's
// own files: the Dockerfile's instructions and the ignore file that decides
// which files of the context the builder sees. From them it derives the
// image's content tag, so the tag changes exactly when the build input does.
//
// The context rules follow the docker-build provider that builds the image
// (pulumi-docker-build provider/internal/context.go, getIgnorePatterns and
// hashBuildContext): a Dockerfile-specific ignore file
// (<Dockerfile>.dockerignore) takes precedence over the context root's
// .dockerignore, patterns are matched by moby/patternmatcher, and the
// Dockerfile is part of the input even when the ignore file excludes it.
package imagesrc

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// Scheme versions the tag derivation: changing how the tag is computed
// changes this, so no new scheme can produce an old scheme's tag.
const Scheme = "src1"

// Source is an image build: a context directory and a Dockerfile, the
// Dockerfile's path relative to the context (as the builder is given it).
type Source struct {
	// Context is the build context directory on disk.
	Context string
	// Dockerfile is relative to Context, slash-separated.
	Dockerfile string
}

// IgnoreFile returns the ignore file the builder applies (relative to the
// context, slash-separated) and its patterns; "" when there is none.
func (s Source) IgnoreFile() (string, []string, error) {
	for _, candidate := range []string{s.Dockerfile + ".dockerignore", ".dockerignore"} {
		f, err := os.Open(filepath.Join(s.Context, filepath.FromSlash(candidate)))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return "", nil, fmt.Errorf("open ignore file %s: %w", candidate, err)
		}
		patterns, err := ignorefile.ReadAll(f)
		_ = f.Close()
		if err != nil {
			return "", nil, fmt.Errorf("read ignore file %s: %w", candidate, err)
		}
		return candidate, patterns, nil
	}
	return "", nil, nil
}

// Files lists the files the builder sees in the context, slash-separated
// and sorted: every regular file or symlink that the ignore file does not
// exclude.
func (s Source) Files() ([]string, error) {
	_, patterns, err := s.IgnoreFile()
	if err != nil {
		return nil, err
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		return nil, fmt.Errorf("ignore patterns: %w", err)
	}
	var files []string
	err = filepath.WalkDir(s.Context, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(s.Context, path)
		if err != nil {
			return err
		}
		if rel == "." {
			return nil
		}
		rel = filepath.ToSlash(rel)
		excluded, err := pm.MatchesOrParentMatches(rel)
		if err != nil {
			return fmt.Errorf("match %s: %w", rel, err)
		}
		if d.IsDir() {
			if excluded && !mayReinclude(pm, rel) {
				return filepath.SkipDir
			}
			return nil
		}
		if !excluded {
			files = append(files, rel)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("walk build context %s: %w", s.Context, err)
	}
	sort.Strings(files)
	return files, nil
}

// mayReinclude reports whether an exception (!pattern) could re-include a
// file under the excluded directory dir: its literal prefix (up to the
// first wildcard) and dir lie on one path.
func mayReinclude(pm *patternmatcher.PatternMatcher, dir string) bool {
	for _, p := range pm.Patterns() {
		if !p.Exclusion() {
			continue
		}
		prefix := p.String()
		if i := strings.IndexAny(prefix, "*?[\\"); i >= 0 {
			prefix = prefix[:i]
		}
		if prefix == "" || strings.HasPrefix(prefix, dir+"/") || strings.HasPrefix(dir+"/", prefix) || prefix == dir {
			return true
		}
	}
	return false
}

// Tag is the image's content tag: a digest of the Dockerfile, every file
// the builder sees (path, mode and content) and the target platform.
// Anything else in the directory, such as stack files or docs, does not
// change it; any change the builder would see does. It fits ECR's tag
// rules (at most 128 characters of [A-Za-z0-9_.-]).
func (s Source) Tag(platform string) (string, error) {
	files, err := s.Files()
	if err != nil {
		return "", err
	}
	h := sha256.New()
	fmt.Fprintf(h, "scheme=%s\nplatform=%s\ndockerfile=%s\n", Scheme, platform, s.Dockerfile)
	if err := hashFile(h, s.Context, s.Dockerfile); err != nil {
		return "", err
	}
	for _, f := range files {
		if err := hashFile(h, s.Context, f); err != nil {
			return "", err
		}
	}
	return Scheme + "-" + hex.EncodeToString(h.Sum(nil))[:32], nil
}

// hashFile writes a file's path, mode and content digest (a symlink's
// target) to h.
func hashFile(h io.Writer, root, rel string) error {
	path := filepath.Join(root, filepath.FromSlash(rel))
	info, err := os.Lstat(path)
	if err != nil {
		return fmt.Errorf("stat %s: %w", rel, err)
	}
	sum := sha256.New()
	if info.Mode()&fs.ModeSymlink != 0 {
		target, err := os.Readlink(path)
		if err != nil {
			return fmt.Errorf("read link %s: %w", rel, err)
		}
		sum.Write([]byte(target))
	} else {
		f, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("open %s: %w", rel, err)
		}
		_, err = io.Copy(sum, f)
		_ = f.Close()
		if err != nil {
			return fmt.Errorf("read %s: %w", rel, err)
		}
	}
	fmt.Fprintf(h, "%s\x00%o\x00%x\n", rel, info.Mode().Perm()|info.Mode().Type(), sum.Sum(nil))
	return nil
}

// Arg is an ARG instruction of a Dockerfile.
type Arg struct {
	Name       string
	HasDefault bool
}

// Dockerfile is what the contract checks read from a Dockerfile.
type Dockerfile struct {
	// Args are the ARG instructions, in order.
	Args []Arg
	// Copies are the context sources of COPY and ADD instructions (those
	// without --from, which copy from another stage or image).
	Copies []string
	// Runs are the RUN instructions' commands.
	Runs []string
}

// Automatic are the build arguments BuildKit sets itself (Dockerfile
// reference, "Automatic platform ARGs in the global scope"): an ARG of
// these needs no value from the caller.
var Automatic = []string{"TARGETPLATFORM", "TARGETOS", "TARGETARCH", "TARGETVARIANT",
	"BUILDPLATFORM", "BUILDOS", "BUILDARCH", "BUILDVARIANT"}

// ParseDockerfile reads the instructions the contract needs. It joins
// continuation lines and skips comments and parser directives; it is not
// a full Dockerfile parser (heredocs are not read).
func ParseDockerfile(src []byte) (Dockerfile, error) {
	var d Dockerfile
	var lines []string
	var cur strings.Builder
	sc := bufio.NewScanner(bytes.NewReader(src))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if cur.Len() == 0 && (line == "" || strings.HasPrefix(line, "#")) {
			continue
		}
		if strings.HasSuffix(line, "\\") {
			cur.WriteString(strings.TrimSuffix(line, "\\"))
			cur.WriteString(" ")
			continue
		}
		if strings.HasPrefix(line, "#") {
			continue // a comment inside a continued instruction
		}
		cur.WriteString(line)
		lines = append(lines, cur.String())
		cur.Reset()
	}
	if err := sc.Err(); err != nil {
		return d, fmt.Errorf("read Dockerfile: %w", err)
	}
	if cur.Len() > 0 {
		return d, fmt.Errorf("Dockerfile ends inside a continued instruction: %q", cur.String())
	}
	for _, line := range lines {
		fields := strings.Fields(line)
		switch strings.ToUpper(fields[0]) {
		case "ARG":
			for _, f := range fields[1:] {
				name, _, hasDefault := strings.Cut(f, "=")
				d.Args = append(d.Args, Arg{Name: name, HasDefault: hasDefault})
			}
		case "COPY", "ADD":
			var args []string
			fromStage := false
			for _, f := range fields[1:] {
				if strings.HasPrefix(f, "--") {
					fromStage = fromStage || strings.HasPrefix(f, "--from=")
					continue
				}
				args = append(args, f)
			}
			if !fromStage && len(args) > 1 {
				d.Copies = append(d.Copies, args[:len(args)-1]...)
			}
		case "RUN":
			d.Runs = append(d.Runs, strings.Join(fields[1:], " "))
		}
	}
	return d, nil
}

// RequiredArgs are the ARGs without a default that BuildKit does not set:
// a build fails or misbehaves unless the caller passes each of them.
func (d Dockerfile) RequiredArgs() []string {
	defaulted := map[string]bool{}
	var out []string
	for _, a := range d.Args {
		// A stage's bare ARG re-declares a global one and keeps its default.
		if a.HasDefault || defaulted[a.Name] {
			defaulted[a.Name] = true
			continue
		}
		if !slices.Contains(Automatic, a.Name) && !slices.Contains(out, a.Name) {
			out = append(out, a.Name)
		}
	}
	return out
}
