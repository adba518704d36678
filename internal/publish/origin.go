package publish

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/ferry-ota/ferry/internal/keys"
	"github.com/ferry-ota/ferry/internal/layout"
	"github.com/ferry-ota/ferry/internal/manifest"
	"github.com/ferry-ota/ferry/internal/trust"
)

// maxManifestNote caps a manifest note read back from the origin.
const maxManifestNote = 64 << 20

// signed is a verified note read from the origin.
type signed struct {
	note   []byte // the signed note, as on the origin
	text   []byte // its verified text
	digest manifest.Digest
}

// readSigned reads and verifies the origin file rel: a manifest (pointer
// false: keys with role release) or a channel pointer (role release or
// refresh). It trusts the key folder's keys, and those of the origin's own
// list when it verifies against root.pub (a note signed by a key retired
// since). A missing file returns nil and no error.
func readSigned(origin, rel string, max int64, pointer bool, ring *keys.Ring, now time.Time) (*signed, error) {
	msg, err := readOrigin(origin, rel, max)
	if isNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	roles := []string{trust.RoleRelease}
	vs := ring.Signing
	if pointer {
		roles, vs = append(roles, trust.RoleRefresh), ring.Pointers
	}
	text, err := vs.Open(msg)
	if errors.Is(err, trust.ErrUntrusted) {
		text, err = openWithOriginList(origin, ring, msg, roles, now, err)
	}
	if err != nil {
		return nil, fmt.Errorf("origin file %q does not verify with the key folder (wrong keys, or written by someone else): %w", rel, err)
	}
	return &signed{note: msg, text: text, digest: sha256.Sum256(msg)}, nil
}

// openWithOriginList opens msg with the keys of roles of the origin's list
// (format 2, else format 1), or returns first.
func openWithOriginList(origin string, ring *keys.Ring, msg []byte, roles []string, now time.Time, first error) ([]byte, error) {
	for _, rel := range []string{layout.SigningKeys2, layout.SigningKeys} {
		list, err := readOrigin(origin, rel, trust.MaxNoteSize)
		if err != nil {
			continue
		}
		l, err := ring.Roots.OpenKeyList(list, now)
		if err != nil {
			continue
		}
		if text, err := l.Verifiers(roles...).Open(msg); err == nil {
			return text, nil
		}
	}
	return nil, first
}

// readPointer returns the channel's verified pointer, or nil for a fresh
// channel.
func readPointer(origin, channel string, ring *keys.Ring, now time.Time) (*manifest.Pointer, error) {
	rel := layout.Channel(channel)
	s, err := readSigned(origin, rel, trust.MaxNoteSize, true, ring, now)
	if err != nil || s == nil {
		return nil, err
	}
	p, err := manifest.ParsePointer(s.text)
	if err != nil {
		return nil, fmt.Errorf("origin file %q: %w", rel, err)
	}
	if p.Channel != channel {
		return nil, fmt.Errorf("%w: origin file %q names channel %q", manifest.ErrFormat, rel, p.Channel)
	}
	return p, nil
}

// readManifest returns a version's verified manifest and its note, or nil
// when the origin does not have the version.
func readManifest(origin, version string, ring *keys.Ring, now time.Time) (*manifest.Manifest, *signed, error) {
	rel := layout.Manifest(version)
	s, err := readSigned(origin, rel, maxManifestNote, false, ring, now)
	if err != nil || s == nil {
		return nil, nil, err
	}
	m, err := manifest.ParseManifest(s.text, manifest.Limits{})
	if err != nil {
		return nil, nil, fmt.Errorf("origin file %q: %w", rel, err)
	}
	if m.Version != version {
		return nil, nil, fmt.Errorf("%w: origin file %q names version %q", manifest.ErrFormat, rel, m.Version)
	}
	return m, s, nil
}
