package publish

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/ferry-ota/ferry/internal/keys"
	"github.com/ferry-ota/ferry/internal/layout"
	"github.com/ferry-ota/ferry/internal/manifest"
	"github.com/ferry-ota/ferry/internal/trust"
)

// Options configures Release.
type Options struct {
	Origin  string    // the origin folder; created if missing
	Channel string    // e.g. "stable"
	Version string    // e.g. "1.4.0"; see manifest rules
	Expires time.Time // expiry of the manifest, and the latest expiry of the pointer
	// PointerLifetime is how long the channel pointer is valid (at most
	// until Expires); 0 for DefaultPointerLifetime.
	PointerLifetime time.Duration
	Keys            *keys.Ring // signs; verifies what the origin already holds
	Now             time.Time  // the release's created time; zero for time.Now
	Progress        io.Writer  // status lines during long work; nil for none
	Workers         int        // files compressed at a time; 0 for one per CPU, at most 4
	// Agents, if set, is a `make agents` folder whose ferry-agent-* binaries
	// (checked against its SHA256SUMS) the release carries for devices to
	// update themselves: manifest.Agent entries, blobs like files'.
	Agents string
	Hooks  Hooks
}

// Hooks are optional steps of the pipeline, where deltas are made.
type Hooks struct {
	// File runs for every file of a new release once its blob is on the
	// origin, before the manifest is written. prev is the manifest the
	// channel pointed at, nil for a fresh channel: the place to write
	// layout.Delta patches from previous contents.
	File func(ctx context.Context, origin string, f manifest.File, prev *manifest.Manifest) error
	// Manifest runs once the new manifest note is on the origin, before the
	// pointer. prevNote is the manifest note the channel pointed at, nil for
	// a fresh channel.
	Manifest func(ctx context.Context, origin string, prevNote, newNote []byte) error
}

// Result reports what Release did.
type Result struct {
	Channel   string
	Version   string
	Sequence  uint64 // of the channel pointer
	Files     int    // in the release
	Agents    int    // agent binaries in the release
	NewBlobs  int    // blobs written by this publish
	NewBytes  int64  // compressed bytes of those blobs
	Unchanged bool   // the channel already offered this release: nothing was written
}

// DefaultPointerLifetime is how long a channel pointer stays valid: the
// longest an origin can hold a device on an old release (freeze) unless
// `ferry refresh` re-signs it.
const DefaultPointerLifetime = 7 * 24 * time.Hour

// pointerExpiry is when a pointer signed at now with lifetime (0: the
// default) expires: never after its manifest, which expires at last.
func pointerExpiry(now time.Time, lifetime time.Duration, last time.Time) time.Time {
	if lifetime <= 0 {
		lifetime = DefaultPointerLifetime
	}
	exp := now.Add(lifetime).UTC().Truncate(time.Second)
	if exp.After(last) {
		return last
	}
	return exp
}

// Release publishes the content of src as version opt.Version on channel
// opt.Channel of the origin folder. See the package doc for the steps and
// their order.
func Release(ctx context.Context, src Source, opt Options) (*Result, error) {
	if opt.Now.IsZero() {
		opt.Now = time.Now()
	}
	if err := opt.check(); err != nil {
		return nil, err
	}
	unlock, err := createAndLock(ctx, opt.Origin)
	if err != nil {
		return nil, err
	}
	defer unlock()
	prev, existing, existingNote, err := opt.readState()
	if err != nil {
		return nil, err
	}
	prog := newProgress(opt.Progress)
	files, err := collect(ctx, src, opt.Origin, prog, opt.Workers)
	if err != nil {
		return nil, err
	}
	var agents []manifest.Agent
	if opt.Agents != "" {
		if agents, err = collectAgents(ctx, opt.Agents, opt.Origin, prog); err != nil {
			return nil, err
		}
	}
	res := &Result{Channel: opt.Channel, Version: opt.Version, Sequence: nextSequence(prev),
		Files: len(files), NewBlobs: prog.newBlobs, NewBytes: prog.newBytes, Agents: len(agents)}
	m := &manifest.Manifest{Channel: opt.Channel, Version: opt.Version, Sequence: res.Sequence,
		Created: opt.Now.UTC().Truncate(time.Second), Expires: opt.Expires, Files: files, Agents: agents}
	if existing == nil {
		note, err := writeManifest(ctx, opt, m, prev)
		if err != nil {
			return nil, err
		}
		return res, writePointer(opt, note, res.Sequence, prev)
	}
	return res, reuseExisting(opt, res, m, prev, existing, existingNote)
}

// reuseExisting handles a version already on the origin: the same content
// is a no-op (res.Unchanged), or the pointer of a publish that stopped
// before it; anything else is ErrConflict.
func reuseExisting(opt Options, res *Result, m *manifest.Manifest, prev *manifest.Pointer, existing *manifest.Manifest, s *signed) error {
	if err := sameContent(existing, m); err != nil {
		return err
	}
	if prev != nil && prev.Manifest == s.digest {
		res.Sequence, res.Unchanged = prev.Sequence, true
		return nil
	}
	if existing.Sequence != res.Sequence {
		return fmt.Errorf("%w: version %q was published at sequence %d and the channel is at %d: devices refuse a manifest whose sequence is not its pointer's; publish this content as a new version", ErrConflict, opt.Version, existing.Sequence, res.Sequence-1)
	}
	return writePointer(opt, s.note, res.Sequence, prev)
}

// readState returns the channel's verified pointer and the version's
// verified manifest, each nil when the origin does not have it.
func (opt *Options) readState() (*manifest.Pointer, *manifest.Manifest, *signed, error) {
	prev, err := readPointer(opt.Origin, opt.Channel, opt.Keys, opt.Now)
	if err != nil {
		return nil, nil, nil, err
	}
	existing, note, err := readManifest(opt.Origin, opt.Version, opt.Keys, opt.Now)
	if err != nil {
		return nil, nil, nil, err
	}
	if existing != nil && existing.Channel != opt.Channel {
		return nil, nil, nil, fmt.Errorf("%w: version %q is on channel %q of this origin; versions are unique per origin: publish a new version", ErrConflict, opt.Version, existing.Channel)
	}
	return prev, existing, note, nil
}

// createAndLock creates the origin folder if needed and takes its lock.
func createAndLock(ctx context.Context, origin string) (func(), error) {
	if err := os.MkdirAll(origin, 0o755); err != nil {
		return nil, fmt.Errorf("create origin: %w", err)
	}
	return lockOrigin(ctx, origin)
}

func (opt *Options) check() error {
	if opt.Keys == nil || opt.Origin == "" {
		return fmt.Errorf("publish: no keys or no origin folder")
	}
	if err := opt.Keys.CanSign(); err != nil {
		return err
	}
	if !opt.Expires.After(opt.Now) {
		return fmt.Errorf("publish: expiry %s is not in the future", opt.Expires.Format(time.RFC3339))
	}
	// The pointer's own checks validate channel and version before any work.
	p := manifest.Pointer{Channel: opt.Channel, Version: opt.Version, Expires: opt.Expires, ManifestSize: 1}
	_, err := p.Marshal()
	return err
}

func nextSequence(prev *manifest.Pointer) uint64 {
	if prev == nil {
		return 1
	}
	return prev.Sequence + 1
}

// sameContent returns ErrConflict unless m lists the files of existing.
func sameContent(existing, m *manifest.Manifest) error {
	if _, err := m.Marshal(); err != nil { // sorts m.Files
		return err
	}
	conflict := func(why string) error {
		return fmt.Errorf("%w: version %q is already on the origin with different content (%s): publish a new version", ErrConflict, m.Version, why)
	}
	if !slices.Equal(existing.Agents, m.Agents) {
		return conflict("other agent binaries")
	}
	if len(existing.Files) != len(m.Files) {
		return conflict(fmt.Sprintf("%d files there, %d here", len(existing.Files), len(m.Files)))
	}
	for i, a := range existing.Files {
		b := m.Files[i]
		if a.Path != b.Path || a.Mode != b.Mode || a.Size != b.Size || a.SHA256 != b.SHA256 {
			return conflict(fmt.Sprintf("first difference at %q", min(a.Path, b.Path)))
		}
	}
	return nil
}

// writeManifest runs the hooks around signing and writing m, and returns
// its note.
func writeManifest(ctx context.Context, opt Options, m *manifest.Manifest, prev *manifest.Pointer) ([]byte, error) {
	var prevM *manifest.Manifest
	var prevNote []byte
	if prev != nil && (opt.Hooks.File != nil || opt.Hooks.Manifest != nil) {
		pm, ps, err := readManifest(opt.Origin, prev.Version, opt.Keys, opt.Now)
		if err != nil {
			return nil, fmt.Errorf("previous release %q: %w", prev.Version, err)
		}
		if pm != nil {
			prevM, prevNote = pm, ps.note
		}
	}
	for _, f := range m.Files {
		if opt.Hooks.File != nil {
			if err := opt.Hooks.File(ctx, opt.Origin, f, prevM); err != nil {
				return nil, fmt.Errorf("file hook %q: %w", f.Path, err)
			}
		}
	}
	text, err := m.Marshal()
	if err != nil {
		return nil, err
	}
	note, err := opt.Keys.Sign(text)
	if err != nil {
		return nil, err
	}
	if err := writeAtomic(opt.Origin, layout.Manifest(m.Version), note); err != nil {
		return nil, err
	}
	if opt.Hooks.Manifest != nil {
		if err := opt.Hooks.Manifest(ctx, opt.Origin, prevNote, note); err != nil {
			return nil, fmt.Errorf("manifest hook: %w", err)
		}
	}
	return note, nil
}

// writePointer copies the key folder's lists to the origin and then signs
// and writes the channel pointer to the manifest note. A channel whose
// previous pointer was governed by the fleet service ("rollout-doc 1",
// `ferry rollout --stages`) stays governed, at the previous pointer's
// percentage for agents that do not know the header: devices wait until the
// service signs a rollout document for the new release, which starts the
// policy over. `ferry rollout --percent` hands the channel back.
func writePointer(opt Options, note []byte, seq uint64, prev *manifest.Pointer) error {
	p := &manifest.Pointer{Channel: opt.Channel, Version: opt.Version, Sequence: seq,
		Manifest: sha256.Sum256(note), ManifestSize: int64(len(note)),
		Expires: pointerExpiry(opt.Now, opt.PointerLifetime, opt.Expires), Rollout: 100}
	if prev != nil && prev.RolloutDoc {
		p.Rollout, p.RolloutDoc = prev.Rollout, true
	}
	return signPointer(opt.Origin, opt.Keys, p, opt.Keys.Sign, opt.Now)
}

// signPointer copies the key folder's signing-key lists to the origin when
// they differ, then signs p with sign and writes it. The pointer names the
// key folder's format-2 list (its "keys" line), so that a device holding
// that list makes no request for it.
func signPointer(origin string, ring *keys.Ring, p *manifest.Pointer, sign func([]byte) ([]byte, error), now time.Time) error {
	p.Keys = manifest.KeysRef{}
	if ring.List != nil {
		p.Keys = manifest.KeysRef{Version: ring.Version, SHA256: sha256.Sum256(ring.List)}
	}
	text, err := p.Marshal()
	if err != nil {
		return err
	}
	msg, err := sign(text)
	if err != nil {
		return err
	}
	if err := copyLists(origin, ring, now); err != nil {
		return err
	}
	return writeAtomic(origin, layout.Channel(p.Channel), msg)
}

// copyLists writes the key folder's lists to the origin where they differ.
// It refuses to replace the origin's format-2 list by an older or different
// one of the same version (a stale copy of the key folder): devices that
// verified the origin's would refuse every update.
func copyLists(origin string, ring *keys.Ring, now time.Time) error {
	if ring.List != nil {
		old, err := readOrigin(origin, layout.SigningKeys2, trust.MaxNoteSize)
		if err == nil && !bytes.Equal(old, ring.List) {
			if l, err := ring.Roots.OpenKeyList(old, time.Time{}); err == nil && l.Format == 2 && l.Version >= ring.Version {
				return fmt.Errorf("publish: the origin's %s is version %d, the key folder's is %d: copy the newest %s into the key folder (or change the list with `ferry keys`) first",
					layout.SigningKeys2, l.Version, ring.Version, keys.ListFile)
			}
		}
		if err != nil || !bytes.Equal(old, ring.List) {
			if err := writeAtomic(origin, layout.SigningKeys2, ring.List); err != nil {
				return err
			}
		}
	}
	old, err := readOrigin(origin, layout.SigningKeys, trust.MaxNoteSize)
	if err != nil || !bytes.Equal(old, ring.Bundle) {
		return writeAtomic(origin, layout.SigningKeys, ring.Bundle)
	}
	return nil
}
