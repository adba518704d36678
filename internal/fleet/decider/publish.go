package decider

import (
	"context"
	"fmt"
	"time"

	"github.com/ferry-ota/ferry/internal/fleet/store"
	"github.com/ferry-ota/ferry/internal/keys"
	"github.com/ferry-ota/ferry/internal/manifest"
	"github.com/ferry-ota/ferry/internal/trust"
)

// publish writes the channel's rollout document for r when the one on the
// origin says something else or has less than half its lifetime left.
func (d *Decider) publish(ctx context.Context, channel string, ptr *manifest.Pointer, r *store.Rollout, now time.Time) error {
	want := &manifest.RolloutDoc{Channel: channel, Version: ptr.Version, Sequence: ptr.Sequence, Manifest: ptr.Manifest,
		Percent: r.Policy.Stages[min(r.State.Stage, len(r.Policy.Stages)-1)], Halted: r.State.Halted,
		Issued: now.UTC().Truncate(time.Second), Expires: now.Add(d.cfg.Lifetime).UTC().Truncate(time.Second)}
	if want.Halted {
		want.Reason = r.State.HaltReason
	}
	have, err := d.cfg.Target.Doc(ctx, channel)
	if err != nil {
		return fmt.Errorf("rollout document of %q on %s: %w", channel, d.cfg.Target, err)
	}
	if have := parseDoc(have); have != nil && same(have, want) && have.Expires.Sub(now) > d.cfg.Lifetime/2 {
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
	if err := d.cfg.Target.PutDoc(ctx, channel, msg); err != nil {
		return fmt.Errorf("rollout document of %q on %s: %w", channel, d.cfg.Target, err)
	}
	d.cfg.Logger.Info("rollout document written", "to", d.cfg.Target.String(), "channel", channel, "version", want.Version, "percent", want.Percent,
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

// parseDoc returns the document data, or nil if there is none or it does
// not parse (it is then rewritten).
func parseDoc(data []byte) *manifest.RolloutDoc {
	if data == nil {
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
