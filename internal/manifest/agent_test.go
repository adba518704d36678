package manifest

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"strings"
	"testing"
)

func withAgents() *Manifest {
	m := sample()
	m.Agents = []Agent{
		{Target: "linux-armv7", Version: "1.3.0", Size: 7471266, ZSize: 3120044, SHA256: sha256.Sum256([]byte("arm"))},
		{Target: "linux-amd64", Version: "1.3.0", Size: 7680162, ZSize: 3300000, SHA256: sha256.Sum256([]byte("amd64"))},
	}
	return m
}

func TestAgentsRoundTrip(t *testing.T) {
	t.Parallel()
	m := withAgents()
	doc, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(doc, []byte("\nagent-linux-amd64 1.3.0 7680162 3300000 ")) {
		t.Fatalf("no agent header line:\n%s", doc)
	}
	got, err := ParseManifest(doc, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Agents) != 2 || got.Agents[0] != m.Agents[0] || got.Agents[1] != m.Agents[1] {
		t.Fatalf("agents %+v, want %+v", got.Agents, m.Agents)
	}
	if a, ok := got.Agent("linux-armv7"); !ok || a.Version != "1.3.0" || a.File().Mode != 0o755 {
		t.Fatalf("Agent(linux-armv7) = %+v, %v", a, ok)
	}
	if _, ok := got.Agent("linux-riscv64"); ok {
		t.Fatal("an agent the release does not carry was found")
	}
	// The files are what a manifest without agents says: the agents are
	// header keys, which readers that do not know them skip.
	plain := sample()
	plainDoc, _ := plain.Marshal()
	var kept []string
	for _, l := range strings.SplitAfter(string(doc), "\n") {
		if !strings.HasPrefix(l, "agent-") {
			kept = append(kept, l)
		}
	}
	if strings.Join(kept, "") != string(plainDoc) {
		t.Fatalf("the agent lines changed more than the header:\n%s", doc)
	}
}

func TestAgentsRefused(t *testing.T) {
	t.Parallel()
	for name, line := range map[string]string{
		"fields":  "agent-linux-amd64 1.3.0 12 5\n",
		"size":    "agent-linux-amd64 1.3.0 0 5 " + Digest(sha256.Sum256(nil)).String() + "\n",
		"digest":  "agent-linux-amd64 1.3.0 12 5 zz\n",
		"target":  "agent-Linux_AMD64 1.3.0 12 5 " + Digest(sha256.Sum256(nil)).String() + "\n",
		"version": "agent-linux-amd64  12 5 " + Digest(sha256.Sum256(nil)).String() + "\n",
	} {
		doc, _ := sample().Marshal()
		doc = bytes.Replace(doc, []byte("files "), []byte(line+"files "), 1)
		if _, err := ParseManifest(doc, Limits{}); !errors.Is(err, ErrFormat) {
			t.Errorf("%s: %v, want ErrFormat", name, err)
		}
	}
	big := withAgents()
	if _, err := ParseManifest(mustMarshal(t, big), Limits{MaxFileSize: 1 << 20}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("an agent over max_file_mb: %v, want ErrTooLarge", err)
	}
}

func mustMarshal(t *testing.T, m *Manifest) []byte {
	t.Helper()
	doc, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// TestParseManifestHeader: the header alone gives what ParseManifest gives,
// but no files, and refuses what ParseManifest refuses in the header.
func TestParseManifestHeader(t *testing.T) {
	t.Parallel()
	doc, err := withAgents().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	full, err := ParseManifest(doc, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	hdr, err := ParseManifestHeader(doc, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if hdr.Files != nil || hdr.Version != full.Version || hdr.Sequence != full.Sequence || !hdr.Expires.Equal(full.Expires) || len(hdr.Agents) != 2 {
		t.Fatalf("header %+v, full %+v", hdr, full)
	}
	if a, ok := hdr.Agent("linux-amd64"); !ok || a.Size != 7680162 {
		t.Fatalf("agent linux-amd64: %+v %v", a, ok)
	}
	bad := bytes.Replace(doc, []byte("version "), []byte("version a/"), 1)
	if _, err := ParseManifestHeader(bad, Limits{}); !errors.Is(err, ErrFormat) {
		t.Fatalf("version with a slash: %v", err)
	}
}
