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

// readSigned reads and verifies the origin file rel. It trusts the key
// folder's signing keys, and those of the origin's own bundle when it
// verifies against root.pub (a note signed by a key retired since). A
// missing file returns nil and no error.
func readSigned(origin, rel string, max int64, ring *keys.Ring, now time.Time) (*signed, error) {
	msg, err := readOrigin(origin, rel, max)
	if isNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	text, err := ring.Signing.Open(msg)
	if errors.Is(err, trust.ErrUntrusted) {
		text, err = openWithOriginBundle(origin, ring, msg, now, err)
	}
	if err != nil {
		return nil, fmt.Errorf("origin file %q does not verify with the key folder (wrong keys, or written by someone else): %w", rel, err)
	}
	return &signed{note: msg, text: text, digest: sha256.Sum256(msg)}, nil
}

func openWithOriginBundle(origin string, ring *keys.Ring, msg []byte, now time.Time, first error) ([]byte, error) {
	bundle, err := readOrigin(origin, layout.SigningKeys, trust.MaxNoteSize)
	if err != nil {
		return nil, first
	}
	vs, err := ring.Roots.OpenBundle(bundle, now)
	if err != nil {
		return nil, first
	}
	text, err := vs.Open(msg)
	if err != nil {
		return nil, first
	}
	return text, nil
}

// readPointer returns the channel's verified pointer, or nil for a fresh
// channel.
func readPointer(origin, channel string, ring *keys.Ring, now time.Time) (*manifest.Pointer, error) {
	rel := layout.Channel(channel)
	s, err := readSigned(origin, rel, trust.MaxNoteSize, ring, now)
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
	s, err := readSigned(origin, rel, maxManifestNote, ring, now)
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
