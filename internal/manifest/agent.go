package manifest

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// agentKeyPrefix starts the header key of an agent binary: "agent-" and the
// target, as in "agent-linux-armv7 1.3.0 7471266 3120044 <sha256-hex>".
const agentKeyPrefix = "agent-"

// Agent is a ferry-agent binary a release carries for one device target:
// the agent updates itself from it. It is signed with the manifest, and its
// blob is stored like any file's (blobs/<sha256>), but it is not a file of
// the release: it is never installed into the target.
type Agent struct {
	// Target is GOOS-arch as scripts/build-agents.sh names its binaries:
	// "linux-armv6", "linux-armv7", "linux-arm64", "linux-mipsle",
	// "linux-mips", "linux-riscv64", "linux-amd64".
	Target  string
	Version string // what `ferry-agent version` of this binary prints
	Size    int64
	ZSize   int64 // bytes of the compressed blob
	SHA256  Digest
}

// Agent returns the agent binary for target, if the manifest carries one.
func (m *Manifest) Agent(target string) (Agent, bool) {
	for _, a := range m.Agents {
		if a.Target == target {
			return a, true
		}
	}
	return Agent{}, false
}

// File returns a as a File (mode 0755, path "ferry-agent"), for fetching
// its blob with the code that fetches files.
func (a Agent) File() File {
	return File{Path: "ferry-agent", Mode: 0o755, Size: a.Size, ZSize: a.ZSize, SHA256: a.SHA256}
}

func (a Agent) line() string {
	return fmt.Sprintf("%s%s %s %d %d %s", agentKeyPrefix, a.Target, a.Version, a.Size, a.ZSize, a.SHA256)
}

// parseAgents reads the agent-* header keys.
func parseAgents(h header) ([]Agent, error) {
	var out []Agent
	for key, v := range h.values {
		target, ok := strings.CutPrefix(key, agentKeyPrefix)
		if !ok {
			continue
		}
		a, err := parseAgent(target, v)
		if err != nil {
			return nil, fmt.Errorf("%w: line %d: %s: %v", ErrFormat, h.lines[key], key, err)
		}
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b Agent) int { return strings.Compare(a.Target, b.Target) })
	return out, nil
}

func parseAgent(target, v string) (Agent, error) {
	a := Agent{Target: target}
	parts := strings.Split(v, " ")
	if len(parts) != 4 {
		return a, fmt.Errorf("want \"VERSION SIZE ZSIZE SHA256\"")
	}
	a.Version = parts[0]
	var err error
	if a.Size, err = strconv.ParseInt(parts[1], 10, 64); err != nil || a.Size <= 0 {
		return a, fmt.Errorf("size %q", parts[1])
	}
	if a.ZSize, err = strconv.ParseInt(parts[2], 10, 64); err != nil || a.ZSize < 0 {
		return a, fmt.Errorf("compressed size %q", parts[2])
	}
	if a.SHA256, err = ParseDigest(parts[3]); err != nil {
		return a, err
	}
	return a, checkAgent(a)
}

// checkAgent checks the fields Marshal writes.
func checkAgent(a Agent) error {
	if a.Target == "" || len(a.Target) > 64 || strings.Trim(a.Target, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" {
		return fmt.Errorf("%w: agent target %q: want lower-case letters, digits and dashes", ErrFormat, a.Target)
	}
	if a.Version == "" || len(a.Version) > 128 || strings.ContainsAny(a.Version, " \t\r\n") {
		return fmt.Errorf("%w: agent %s version %q: want 1 to 128 characters without spaces", ErrFormat, a.Target, a.Version)
	}
	if a.Size <= 0 || a.ZSize < 0 {
		return fmt.Errorf("%w: agent %s size %d", ErrFormat, a.Target, a.Size)
	}
	return nil
}

func checkAgents(agents []Agent, lim Limits) error {
	for i, a := range agents {
		if err := checkAgent(a); err != nil {
			return err
		}
		if i > 0 && agents[i-1].Target >= a.Target {
			return fmt.Errorf("%w: agent %q is out of order or repeated", ErrFormat, a.Target)
		}
		if a.Size > lim.MaxFileSize {
			return fmt.Errorf("%w: agent %s is %d bytes, limit is %d (raise max_file_mb)", ErrTooLarge, a.Target, a.Size, lim.MaxFileSize)
		}
	}
	return nil
}
