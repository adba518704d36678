// Package reltest makes signed releases for the tests of the packages that
// encode and apply updates between two releases (internal/bundle for the
// Linux agent, internal/mbundle for MicroPython boards): a manifest of a
// tree of files, signed as a note, with the contents kept by digest as an
// origin keeps them.
package reltest

import (
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/ferry-ota/ferry/internal/manifest"
	"github.com/ferry-ota/ferry/internal/trust"
)

// Store holds contents by digest, as an origin does.
type Store map[manifest.Digest][]byte

// Release is one signed release made from a tree.
type Release struct {
	Note []byte             // the signed manifest note
	M    *manifest.Manifest // its manifest
	Tree map[string]string  // path → content
}

var signer = func() string {
	skey, _, err := trust.GenerateKey("test-signer")
	if err != nil {
		panic(err)
	}
	return skey
}()

// Release signs a manifest of tree (path → content, every file 0644) for
// channel stable with a test key and keeps the contents in s.
func (s Store) Release(t testing.TB, version string, seq uint64, tree map[string]string) Release {
	t.Helper()
	return s.SignedBy(t, signer, version, seq, tree)
}

// SignedBy is Release signed by the signer key skey (trust.GenerateKey's).
func (s Store) SignedBy(t testing.TB, skey, version string, seq uint64, tree map[string]string) Release {
	t.Helper()
	m := &manifest.Manifest{Channel: "stable", Version: version, Sequence: seq,
		Created: time.Unix(1_700_000_000, 0), Expires: time.Unix(1_900_000_000, 0)}
	for p, c := range tree {
		d := manifest.Digest(sha256.Sum256([]byte(c)))
		s[d] = []byte(c)
		m.Files = append(m.Files, manifest.File{Path: p, Mode: 0o644, Size: int64(len(c)), ZSize: int64(len(c)/2 + 9), SHA256: d})
	}
	text, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	note, err := trust.Sign(text, skey)
	if err != nil {
		t.Fatal(err)
	}
	return Release{note, m, tree}
}

// Content returns the content of digest d, or an error naming it.
func (s Store) Content(d manifest.Digest) ([]byte, error) {
	c, ok := s[d]
	if !ok {
		return nil, fmt.Errorf("no content %s", d)
	}
	return c, nil
}

// Source is n bytes or a little more of words picked by a generator seeded
// with seed, each followed by a space: text that compresses and diffs like
// source code.
func Source(n int, seed uint64, words ...string) string {
	r := rand.New(rand.NewPCG(seed, 1))
	var b strings.Builder
	for b.Len() < n {
		b.WriteString(words[r.IntN(len(words))])
		b.WriteByte(' ')
	}
	return b.String()
}

// Random is n bytes from a generator seeded with seed: content that does not
// compress.
func Random(n int, seed uint64) string {
	r := rand.New(rand.NewPCG(seed, 2))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return string(b)
}
