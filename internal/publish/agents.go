package publish

import (
	"bufio"
	"context"
	"crypto/sha256"
	"debug/buildinfo"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/ferry-ota/ferry/internal/manifest"
)

// ErrAgents is wrapped by every refusal of an agents folder.
var ErrAgents = errors.New("publish: agents folder")

// agentPrefix starts the names of the binaries `make agents` writes.
const agentPrefix = "ferry-agent-"

// versionFlag finds the version stamped into a binary by -X main.version=.
var versionFlag = regexp.MustCompile(`-X[ =]main\.version=([^ '"]+)`)

// collectAgents reads the agent binaries of dir (a `make agents` folder),
// checks each against dir/SHA256SUMS, and stores each as a blob of origin.
// Every ferry-agent-* file must be listed and match; the version is the one
// stamped into the binary.
func collectAgents(ctx context.Context, dir, origin string, prog *progress) ([]manifest.Agent, error) {
	sums, err := readSums(filepath.Join(dir, "SHA256SUMS"))
	if err != nil {
		return nil, err
	}
	names, err := filepath.Glob(filepath.Join(dir, agentPrefix+"*"))
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		if _, ok := sums[filepath.Base(n)]; !ok {
			return nil, fmt.Errorf("%w: %s is not listed in %s: rebuild the folder with make agents", ErrAgents, n, filepath.Join(dir, "SHA256SUMS"))
		}
	}
	store, err := newBlobStore(origin, prog, new(sync.Mutex))
	if err != nil {
		return nil, err
	}
	var out []manifest.Agent
	for _, name := range sortedKeys(sums) {
		a, err := storeAgent(ctx, store, filepath.Join(dir, name), sums[name])
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: %s lists no %s* binary", ErrAgents, filepath.Join(dir, "SHA256SUMS"), agentPrefix)
	}
	return out, nil
}

// readSums parses a sha256sum file: "HEX  NAME" lines (NAME may start with
// '*', binary mode). Only ferry-agent-* names are kept.
func readSums(path string) (map[string]manifest.Digest, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w (a make agents folder has one)", ErrAgents, err)
	}
	defer f.Close()
	return parseSums(f, path)
}

// parseSums parses the sha256sum lines of r (read from path).
func parseSums(r io.Reader, path string) (map[string]manifest.Digest, error) {
	out := map[string]manifest.Digest{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		hexSum, name, ok := strings.Cut(sc.Text(), "  ")
		if !ok {
			hexSum, name, ok = strings.Cut(sc.Text(), " *")
		}
		d, err := manifest.ParseDigest(hexSum)
		if !ok || err != nil || name == "" || strings.ContainsAny(name, "/\\") {
			return nil, fmt.Errorf("%w: %s line %d: want \"SHA256  NAME\"", ErrAgents, path, n)
		}
		if strings.HasPrefix(name, agentPrefix) {
			out[name] = d
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrAgents, path, err)
	}
	return out, nil
}

// storeAgent checks one binary against its sum, reads its version and
// target, and stores its blob.
func storeAgent(ctx context.Context, store *blobStore, path string, sum manifest.Digest) (manifest.Agent, error) {
	name := filepath.Base(path)
	a := manifest.Agent{Target: strings.TrimPrefix(name, agentPrefix)}
	f, err := os.Open(path)
	if err != nil {
		return a, fmt.Errorf("%w: %w", ErrAgents, err)
	}
	defer f.Close()
	h := sha256.New()
	size, err := io.Copy(h, f)
	if err != nil {
		return a, fmt.Errorf("%w: read %s: %w", ErrAgents, path, err)
	}
	if got := manifest.Digest(h.Sum(nil)); got != sum {
		return a, fmt.Errorf("%w: %s has SHA-256 %s but SHA256SUMS says %s: the file is damaged or not the one built; rebuild with make agents", ErrAgents, path, hex.EncodeToString(got[:]), sum)
	}
	if a.Version, err = agentVersion(path); err != nil {
		return a, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return a, err
	}
	file, _, err := store.put(ctx, Entry{Path: name, Mode: 0o755, Size: size}, f)
	if err != nil {
		return a, fmt.Errorf("store %s: %w", path, err)
	}
	if file.SHA256 != sum {
		return a, fmt.Errorf("%w: %s changed while it was read", ErrAgents, path)
	}
	a.Size, a.ZSize, a.SHA256 = file.Size, file.ZSize, file.SHA256
	return a, nil
}

// agentVersion returns the version `ferry-agent version` of the binary at
// path prints: the -X main.version= of its build settings, which Go
// records unless -trimpath was given; else the VERSION file that
// scripts/build-agents.sh writes beside the binaries.
func agentVersion(path string) (string, error) {
	bi, err := buildinfo.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("%w: %s is not a Go binary with build information: %v", ErrAgents, path, err)
	}
	for _, s := range bi.Settings {
		if s.Key == "-ldflags" {
			if m := versionFlag.FindStringSubmatch(s.Value); m != nil {
				return m[1], nil
			}
		}
	}
	vf := filepath.Join(filepath.Dir(path), "VERSION")
	data, err := os.ReadFile(vf)
	if err != nil {
		return "", fmt.Errorf("%w: %s records no version and %v: build the folder with make agents", ErrAgents, path, err)
	}
	v := strings.TrimSpace(string(data))
	if v == "" || strings.ContainsAny(v, " \t\n") {
		return "", fmt.Errorf("%w: %s: %q is not a version", ErrAgents, vf, v)
	}
	return v, nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
