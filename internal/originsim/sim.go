// Package originsim is an in-memory Ferry origin for tests, in the spirit of
// go-tuf's RepositorySimulator: it publishes real signed releases (the same
// formats and key chain as `ferry release`) and can stage every attack the
// agent must stop: rollback, freeze, untrusted keys, mix-and-match,
// tampered blobs, hostile paths, oversized and endless responses.
package originsim

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/ferry-ota/ferry/internal/layout"
	"github.com/ferry-ota/ferry/internal/manifest"
	"github.com/ferry-ota/ferry/internal/origin"
	"github.com/ferry-ota/ferry/internal/trust"
)

// Key is a signer key and its verifier key.
type Key struct{ Secret, Public string }

// NewKey makes a key or fails the test.
func NewKey(t testing.TB, name string) Key {
	t.Helper()
	s, v, err := trust.GenerateKey(name)
	if err != nil {
		t.Fatal(err)
	}
	return Key{s, v}
}

// Sim is an origin. Its fields may be changed between fetches to stage attacks.
type Sim struct {
	t       testing.TB
	mu      sync.Mutex
	files   map[string][]byte
	Root    Key
	Signing Key
	Now     time.Time
	// Serve, if set, may replace what is served for a path (tamper, truncate).
	Serve func(path string, data []byte) []byte
	// Endless makes every response an endless stream of bytes.
	Endless  bool
	requests []string
	bytes    int64
	seq      map[string]uint64
	// KeysVersion is the version of the last format-2 signing-key list
	// published.
	KeysVersion uint64
}

// New returns an empty origin with a fresh root key and signing key.
func New(t testing.TB) *Sim {
	s := &Sim{t: t, files: map[string][]byte{}, Root: NewKey(t, "ferry-root-1"), Signing: NewKey(t, "ferry-signing-1"),
		Now: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC), seq: map[string]uint64{}}
	s.PublishKeys(s.Root, s.Now.Add(365*24*time.Hour), s.Signing)
	return s
}

// RootPub is the root.pub a device pins.
func (s *Sim) RootPub() []byte { return []byte(s.Root.Public + "\n") }

// Roots returns the pinned verifiers.
func (s *Sim) Roots() *trust.Verifiers {
	v, err := trust.ParseRoots(s.RootPub())
	if err != nil {
		s.t.Fatal(err)
	}
	return v
}

// PublishKeys writes the signing-key lists naming keys (role release),
// signed by root, as `ferry keys rotate` does: format 2 at the next version
// and format 1.
func (s *Sim) PublishKeys(root Key, expires time.Time, keys ...Key) {
	var listed []trust.ListedKey
	for _, k := range keys {
		listed = append(listed, trust.ListedKey{VKey: k.Public})
	}
	s.PublishKeyList(root, expires, listed...)
}

// PublishKeyList writes the format-2 list of keys with their roles at the
// next version, and the format-1 list of those with role release.
func (s *Sim) PublishKeyList(root Key, expires time.Time, keys ...trust.ListedKey) {
	s.KeysVersion++
	text, err := trust.MarshalKeyList(s.KeysVersion, expires, keys)
	if err != nil {
		s.t.Fatal(err)
	}
	var release []string
	for _, k := range keys {
		if k.Has(trust.RoleRelease) {
			release = append(release, k.VKey)
		}
	}
	s.Put(layout.SigningKeys2, s.sign(text, root))
	s.Put(layout.SigningKeys, s.sign(trust.MarshalBundle(release, expires), root))
}

// Listed is k as a key of a signing-key list with roles.
func (k Key) Listed(roles ...string) trust.ListedKey {
	return trust.ListedKey{VKey: k.Public, Roles: roles}
}

// Remove deletes an origin path.
func (s *Sim) Remove(path string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.files, path)
}

func (s *Sim) sign(text []byte, k Key) []byte {
	msg, err := trust.Sign(text, k.Secret)
	if err != nil {
		s.t.Fatal(err)
	}
	return msg
}

// Put stores raw bytes at an origin path.
func (s *Sim) Put(path string, data []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.files[path] = data
}

// Get returns the bytes at an origin path.
func (s *Sim) Get(path string) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.files[path]
}

// Snapshot and Restore save and bring back the whole origin (replays).
func (s *Sim) Snapshot() map[string][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.files)
}

// Restore replaces the origin's files with a snapshot.
func (s *Sim) Restore(files map[string][]byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.files = maps.Clone(files)
}

// Tree is a release's files: path → content. Paths ending in ".sh" get mode
// 0755, others 0644.
type Tree map[string]string

// Mode is the mode Tree gives path p.
func Mode(p string) fs.FileMode {
	if strings.HasSuffix(p, ".sh") {
		return 0o755
	}
	return 0o644
}

// Release describes what to publish; zero fields get defaults.
type Release struct {
	Channel  string // "stable"
	Version  string
	Sequence uint64    // 0: one more than the channel's last
	Expires  time.Time // zero: a year after Now
	Signer   *Key      // nil: the signing key
	Rollout  int       // 0: 100
	// Manifest, if set, is signed as given instead of the one built from the
	// files (hostile manifests the publisher would never make).
	Manifest []byte
	// Keys, if set, is the pointer's "keys" line; zero: the format-2 list
	// on the origin, as the publisher writes it (none without one).
	Keys manifest.KeysRef
}

// Publish compresses the files into blobs, and signs and stores a manifest
// and a channel pointer. It returns the manifest.
func (s *Sim) Publish(r Release, files Tree) *manifest.Manifest {
	s.t.Helper()
	if r.Channel == "" {
		r.Channel = "stable"
	}
	if r.Sequence == 0 {
		r.Sequence = s.seq[r.Channel] + 1
	}
	s.seq[r.Channel] = max(s.seq[r.Channel], r.Sequence)
	if r.Expires.IsZero() {
		r.Expires = s.Now.Add(365 * 24 * time.Hour)
	}
	if r.Signer == nil {
		r.Signer = &s.Signing
	}
	if r.Rollout == 0 {
		r.Rollout = 100
	}
	m := &manifest.Manifest{Channel: r.Channel, Version: r.Version, Sequence: r.Sequence, Created: s.Now, Expires: r.Expires}
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		m.Files = append(m.Files, s.PutBlob(p, []byte(files[p])))
	}
	text := r.Manifest
	if text == nil {
		var err error
		if text, err = m.Marshal(); err != nil {
			s.t.Fatal(err)
		}
	}
	note := s.sign(text, *r.Signer)
	s.Put(layout.Manifest(r.Version), note)
	ptr := &manifest.Pointer{Channel: r.Channel, Version: r.Version, Sequence: r.Sequence, Manifest: sha256.Sum256(note),
		ManifestSize: int64(len(note)), Expires: r.Expires, Rollout: r.Rollout, Keys: r.Keys}
	if ptr.Keys == (manifest.KeysRef{}) {
		ptr.Keys = s.KeysRef()
	}
	pt, err := ptr.Marshal()
	if err != nil {
		s.t.Fatal(err)
	}
	s.Put(layout.Channel(r.Channel), s.sign(pt, *r.Signer))
	return m
}

// KeysRef names the format-2 signing-key list on the origin (its version
// line and the SHA-256 of the note), as a pointer's "keys" line does; the
// zero KeysRef if there is none.
func (s *Sim) KeysRef() manifest.KeysRef {
	list := s.Get(layout.SigningKeys2)
	text, err := trust.NoteText(list)
	if list == nil || err != nil {
		return manifest.KeysRef{}
	}
	for _, line := range strings.Split(string(text), "\n") {
		if v, ok := strings.CutPrefix(line, "version "); ok {
			n, _ := strconv.ParseUint(v, 10, 64)
			return manifest.KeysRef{Version: n, SHA256: sha256.Sum256(list)}
		}
	}
	return manifest.KeysRef{}
}

// PutBlob stores content as a compressed blob and returns its manifest entry.
func (s *Sim) PutBlob(path string, content []byte) manifest.File {
	var z bytes.Buffer
	enc, err := zstd.NewWriter(&z, zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithWindowSize(1<<20))
	if err != nil {
		s.t.Fatal(err)
	}
	enc.Write(content)
	enc.Close()
	d := manifest.Digest(sha256.Sum256(content))
	s.Put(layout.Blob(d), z.Bytes())
	return manifest.File{Path: path, Mode: Mode(path), Size: int64(len(content)), ZSize: int64(z.Len()), SHA256: d}
}

// Requests returns the paths fetched so far, and the body bytes served.
func (s *Sim) Requests() ([]string, int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.requests...), s.bytes
}

// Fetch implements origin.Source.
func (s *Sim) Fetch(ctx context.Context, req origin.Request) (*origin.Object, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, req.Path)
	if s.Endless {
		return &origin.Object{Body: io.NopCloser(&capped{r: endless{}, left: req.MaxSize - req.Offset}), Size: -1}, nil
	}
	data, ok := s.files[req.Path]
	if !ok {
		return nil, fmt.Errorf("%w: %s", origin.ErrNotFound, req.Path)
	}
	if s.Serve != nil {
		data = s.Serve(req.Path, data)
	}
	sum := sha256.Sum256(data)
	etag := `"` + hex.EncodeToString(sum[:8]) + `"`
	switch {
	case req.ETag != "" && req.ETag == etag:
		return nil, origin.ErrNotModified
	case int64(len(data)) > req.MaxSize:
		return nil, fmt.Errorf("%w: %s is %d bytes, limit %d", origin.ErrTooLarge, req.Path, len(data), req.MaxSize)
	case req.Offset > int64(len(data)):
		req.Offset = 0
	}
	body := data[req.Offset:]
	s.bytes += int64(len(body))
	return &origin.Object{Body: io.NopCloser(bytes.NewReader(body)), Size: int64(len(data)), Offset: req.Offset, ETag: etag}, nil
}

type endless struct{}

func (endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'A'
	}
	return len(p), nil
}

// capped is an endless body cut off at the caller's limit, as the real
// origins do: reading past it fails with ErrTooLarge.
type capped struct {
	r    io.Reader
	left int64
}

func (c *capped) Read(p []byte) (int, error) {
	if c.left <= 0 {
		return 0, fmt.Errorf("%w: endless response", origin.ErrTooLarge)
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}
