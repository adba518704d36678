package manifest

import (
	"bytes"
	"fmt"
	"time"
)

// Pointer is a channel's signed statement of which release it offers now.
// Devices poll it; it is small, so a poll with nothing new costs little.
type Pointer struct {
	Channel      string
	Version      string
	Sequence     uint64
	Manifest     Digest // SHA-256 of the signed manifest note
	ManifestSize int64  // bytes of the signed manifest note
	Expires      time.Time
	Rollout      int // percent of devices that should take this release, 0 to 100
	// RolloutDoc: the stage is governed by the channel's rollout document
	// (header "rollout-doc 1", see RolloutDoc); the pointer's Rollout is
	// then what agents that do not know the header use.
	RolloutDoc bool
}

// Marshal returns the text form of p.
func (p *Pointer) Marshal() ([]byte, error) {
	if err := p.check(); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %d\n", pointerMagic, formatVersion)
	fmt.Fprintf(&b, "channel %s\nversion %s\nsequence %d\n", p.Channel, p.Version, p.Sequence)
	fmt.Fprintf(&b, "manifest %s\nmanifest-size %d\n", p.Manifest, p.ManifestSize)
	fmt.Fprintf(&b, "expires %s\nrollout %d\n", p.Expires.UTC().Format(time.RFC3339), p.Rollout)
	if p.RolloutDoc {
		b.WriteString("rollout-doc 1\n")
	}
	return b.Bytes(), nil
}

// ParsePointer parses the text form of a channel pointer.
func ParsePointer(data []byte) (*Pointer, error) {
	hdr, _, err := parseHeader(data, pointerMagic, "")
	if err != nil {
		return nil, err
	}
	p := &Pointer{}
	if err := hdr.fill(map[string]any{"channel": &p.Channel, "version": &p.Version, "sequence": &p.Sequence,
		"manifest": &p.Manifest, "manifest-size": &p.ManifestSize, "expires": &p.Expires, "rollout": &p.Rollout}); err != nil {
		return nil, err
	}
	switch v, ok := hdr.values["rollout-doc"]; {
	case !ok || v == "0":
	case v == "1":
		p.RolloutDoc = true
	default:
		return nil, fmt.Errorf("%w: line %d: rollout-doc %q: want 0 or 1", ErrFormat, hdr.lines["rollout-doc"], truncate(v))
	}
	return p, p.check()
}

func (p *Pointer) check() error {
	if err := checkHeader(p.Channel, p.Version, p.Expires); err != nil {
		return err
	}
	if p.Rollout < 0 || p.Rollout > 100 {
		return fmt.Errorf("%w: rollout %d is not a percentage from 0 to 100", ErrFormat, p.Rollout)
	}
	if p.ManifestSize <= 0 {
		return fmt.Errorf("%w: manifest-size %d", ErrFormat, p.ManifestSize)
	}
	return nil
}
