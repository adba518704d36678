package manifest

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
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
	// Keys names the format-2 signing-key list the pointer was signed
	// under; the zero KeysRef if the pointer names none (a publisher before this field,
	// or one without a format-2 list). Unsigned on its own: a device reads
	// it only to decide whether to fetch the list, and after verifying the
	// pointer refuses it unless the list that verified it is this one.
	Keys KeysRef
	// RolloutDoc: the stage is governed by the channel's rollout document
	// (header "rollout-doc 1", see RolloutDoc); the pointer's Rollout is
	// then what agents that do not know the header use.
	RolloutDoc bool
}

// KeysRef names a format-2 signing-key list: its version and the SHA-256 of
// its signed note, the bytes served at keys/signing-keys-2.note. Header
// line: "keys <version> <sha256-hex>". The zero value names no list.
type KeysRef struct {
	Version uint64
	SHA256  Digest
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
	if p.Keys != (KeysRef{}) {
		fmt.Fprintf(&b, "keys %d %s\n", p.Keys.Version, p.Keys.SHA256)
	}
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
	if v, ok := hdr.values["keys"]; ok {
		k, err := parseKeysRef(v)
		if err != nil {
			return nil, fmt.Errorf("%w: line %d: keys %q: %v", ErrFormat, hdr.lines["keys"], truncate(v), err)
		}
		p.Keys = *k
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

// parseKeysRef parses the value of a "keys" header line: "<version> <sha256-hex>".
func parseKeysRef(v string) (*KeysRef, error) {
	ver, sum, ok := strings.Cut(v, " ")
	if !ok {
		return nil, errors.New(`want "<version> <sha256-hex>"`)
	}
	n, err := strconv.ParseUint(ver, 10, 64)
	if err != nil || n == 0 {
		return nil, fmt.Errorf("version %q is not a decimal number >= 1", ver)
	}
	d, err := ParseDigest(sum)
	if err != nil {
		return nil, err
	}
	return &KeysRef{Version: n, SHA256: d}, nil
}

func (p *Pointer) check() error {
	if err := checkHeader(p.Channel, p.Version, p.Expires); err != nil {
		return err
	}
	if p.Rollout < 0 || p.Rollout > 100 {
		return fmt.Errorf("%w: rollout %d is not a percentage from 0 to 100", ErrFormat, p.Rollout)
	}
	if p.Keys != (KeysRef{}) && p.Keys.Version == 0 {
		return fmt.Errorf("%w: keys version 0: a format-2 signing-key list has version >= 1", ErrFormat)
	}
	if p.ManifestSize <= 0 {
		return fmt.Errorf("%w: manifest-size %d", ErrFormat, p.ManifestSize)
	}
	return nil
}
