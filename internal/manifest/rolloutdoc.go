package manifest

import (
	"bytes"
	"fmt"
	"strings"
	"time"
)

const rolloutMagic = "ferry-rollout"

// RolloutDoc is a channel's signed rollout decision (see the package doc):
// how many devices take the release the pointer names, or that none more
// may.
type RolloutDoc struct {
	Channel  string
	Version  string
	Sequence uint64 // the pointer's sequence when the document was signed
	Manifest Digest // SHA-256 of the manifest note of the release governed
	Percent  int    // 0 to 100
	Halted   bool
	Reason   string // why it is halted; one line, may be empty
	Issued   time.Time
	Expires  time.Time
}

// Marshal returns the text form of d.
func (d *RolloutDoc) Marshal() ([]byte, error) {
	if err := d.check(); err != nil {
		return nil, err
	}
	halted := 0
	if d.Halted {
		halted = 1
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %d\nchannel %s\nversion %s\nsequence %d\nmanifest %s\n", rolloutMagic, formatVersion, d.Channel, d.Version, d.Sequence, d.Manifest)
	fmt.Fprintf(&b, "percent %d\nhalted %d\nissued %s\nexpires %s\n", d.Percent, halted,
		d.Issued.UTC().Format(time.RFC3339), d.Expires.UTC().Format(time.RFC3339))
	if d.Reason != "" {
		fmt.Fprintf(&b, "reason %s\n", d.Reason)
	}
	return b.Bytes(), nil
}

// ParseRolloutDoc parses the text form of a rollout document.
func ParseRolloutDoc(data []byte) (*RolloutDoc, error) {
	hdr, _, err := parseHeader(data, rolloutMagic, "")
	if err != nil {
		return nil, err
	}
	d := &RolloutDoc{}
	var halted int
	if err := hdr.fill(map[string]any{"channel": &d.Channel, "version": &d.Version, "sequence": &d.Sequence, "manifest": &d.Manifest,
		"percent": &d.Percent, "halted": &halted, "issued": &d.Issued, "expires": &d.Expires}); err != nil {
		return nil, err
	}
	if halted != 0 && halted != 1 {
		return nil, fmt.Errorf("%w: line %d: halted %d: want 0 or 1", ErrFormat, hdr.lines["halted"], halted)
	}
	d.Halted, d.Reason = halted == 1, hdr.values["reason"]
	d.Issued, d.Expires = d.Issued.UTC(), d.Expires.UTC()
	return d, d.check()
}

func (d *RolloutDoc) check() error {
	if err := checkHeader(d.Channel, d.Version, d.Expires); err != nil {
		return err
	}
	switch {
	case d.Percent < 0 || d.Percent > 100:
		return fmt.Errorf("%w: percent %d is not a percentage from 0 to 100", ErrFormat, d.Percent)
	case d.Issued.IsZero() || d.Expires.Before(d.Issued):
		return fmt.Errorf("%w: issued %s must be a time before expires", ErrFormat, d.Issued.Format(time.RFC3339))
	case strings.ContainsAny(d.Reason, "\r\n"):
		return fmt.Errorf("%w: reason must be one line", ErrFormat)
	}
	return nil
}
