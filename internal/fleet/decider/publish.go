package decider

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/ferry-ota/ferry/internal/atomicfile"
	"github.com/ferry-ota/ferry/internal/fleet/store"
	"github.com/ferry-ota/ferry/internal/keys"
	"github.com/ferry-ota/ferry/internal/layout"
	"github.com/ferry-ota/ferry/internal/manifest"
	"github.com/ferry-ota/ferry/internal/trust"
)

// publish writes the channel's rollout document for r when the one on the
// origin says something else or has less than half its lifetime left.
func (d *Decider) publish(channel string, ptr *manifest.Pointer, r *store.Rollout, now time.Time) error {
	want := &manifest.RolloutDoc{Channel: channel, Version: ptr.Version, Sequence: ptr.Sequence, Manifest: ptr.Manifest,
		Percent: r.Policy.Stages[min(r.State.Stage, len(r.Policy.Stages)-1)], Halted: r.State.Halted,
		Issued: now.UTC().Truncate(time.Second), Expires: now.Add(d.cfg.Lifetime).UTC().Truncate(time.Second)}
	if want.Halted {
		want.Reason = r.State.HaltReason
	}
	name := filepath.Join(d.cfg.Origin, filepath.FromSlash(layout.RolloutDoc(channel)))
	if have := readDoc(name); have != nil && same(have, want) && have.Expires.Sub(now) > d.cfg.Lifetime/2 {
		return nil
	}
	signer, err := d.signer(channel, now)
	if err != nil {
		return err
	}
	text, err := want.Marshal()
	if err != nil {
		return err
	}
	msg, err := signer.Sign(text)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return err
	}
	if err := atomicfile.Write(name, msg, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	d.cfg.Logger.Info("rollout document written", "channel", channel, "version", want.Version, "percent", want.Percent,
		"halted", want.Halted, "expires", want.Expires, "signed_by", signer.Names)
	return nil
}

// signer loads (once) the rollout keys of channel.
func (d *Decider) signer(channel string, now time.Time) (*keys.RolloutSigner, error) {
	if s := d.signers[channel]; s != nil {
		return s, nil
	}
	s, err := keys.LoadRollout(d.cfg.Keys, channel, now)
	if err != nil {
		return nil, err
	}
	d.signers[channel] = s
	return s, nil
}

// readDoc returns the document at name, or nil if there is none or it
// does not parse (it is then rewritten).
func readDoc(name string) *manifest.RolloutDoc {
	data, err := os.ReadFile(name)
	if errors.Is(err, fs.ErrNotExist) || err != nil {
		return nil
	}
	text, err := trust.NoteText(data)
	if err != nil {
		return nil
	}
	doc, _ := manifest.ParseRolloutDoc(text)
	return doc
}

// same reports whether a and b say the same thing, times aside.
func same(a, b *manifest.RolloutDoc) bool {
	return a.Channel == b.Channel && a.Version == b.Version && a.Sequence == b.Sequence && a.Manifest == b.Manifest &&
		a.Percent == b.Percent && a.Halted == b.Halted && a.Reason == b.Reason
}
