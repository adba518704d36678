package update

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/ferry-ota/ferry/internal/install"
	"github.com/ferry-ota/ferry/internal/layout"
	"github.com/ferry-ota/ferry/internal/manifest"
	"github.com/ferry-ota/ferry/internal/origin"
	"github.com/ferry-ota/ferry/internal/trust"
)

// Errors callers branch on.
var (
	// ErrRollback: the origin offers a lower sequence than installed.
	ErrRollback = errors.New("update: rollback refused")
	// ErrFrozen: the channel pointer or manifest is past its expiry.
	ErrFrozen = errors.New("update: metadata expired")
	// ErrMismatch: the documents do not agree with each other or the config.
	ErrMismatch = errors.New("update: metadata mismatch")
)

// Options configure one update cycle.
type Options struct {
	Source    origin.Source
	Installer *install.Installer
	Roots     *trust.Verifiers // pinned root keys
	Channel   string
	Limits    manifest.Limits
	// MaxManifestSize caps the manifest note, in bytes.
	MaxManifestSize int64
	Retry           origin.RetryPolicy
	// Trial installs the release on trial (health-gated commit).
	Trial bool
	// Admit, if set, decides whether this device takes a verified release
	// now (canary rollout); reason says why not.
	Admit    func(p *manifest.Pointer) (ok bool, reason string)
	Progress func(doneFiles, totalFiles int, doneBytes, totalBytes int64)
	// Budget, if set, decides after the manifest and before any content
	// whether the update is paid for now, and over which link (budget.go).
	Budget Budget
	Now    func() time.Time
	Log    *slog.Logger
}

// Result says what a cycle did.
type Result struct {
	From, To   string // versions; From is "" on a fresh device
	UpToDate   bool
	Deferred   string // non-empty: a verified release was not taken, and why
	Files      int    // files written, deleted or chmodded
	Downloaded int64  // bytes fetched from the origin after the pointer: manifest (or its patch or bundle) and file contents
	Link       string // the link the Budget chose; "" without one
	Install    *install.Result
}

// String is the one line `ferry-agent update` prints.
func (r *Result) String() string {
	switch {
	case r.Deferred != "" && r.To == "":
		return fmt.Sprintf("deferred (%s)", r.Deferred) // before the channel was polled: no link
	case r.Deferred != "":
		return fmt.Sprintf("deferred %s (%s)", r.To, r.Deferred)
	case r.UpToDate:
		return fmt.Sprintf("up to date (%s)", r.To)
	}
	from := r.From
	if from == "" {
		from = "(none)"
	}
	if r.Link != "" {
		return fmt.Sprintf("updated %s -> %s (%d files, %d bytes over %s)", from, r.To, r.Files, r.Downloaded, r.Link)
	}
	return fmt.Sprintf("updated %s -> %s (%d files, %d bytes)", from, r.To, r.Files, r.Downloaded)
}

func (o *Options) now() time.Time {
	if o.Now == nil {
		return time.Now()
	}
	return o.Now()
}

func (o *Options) log() *slog.Logger {
	if o.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return o.Log
}

// Run performs one update cycle. When fetching or installing a release
// fails, Run returns the error with the result so far: its Downloaded
// counts the bytes fetched before the failure, which a costly link charges
// all the same. On any other error the result is nil.
func Run(ctx context.Context, o Options) (*Result, error) {
	in := o.Installer
	if err := in.Recover(ctx); err != nil {
		return nil, fmt.Errorf("recover: %w", err)
	}
	rec, err := in.Installed()
	if err != nil {
		return nil, err
	}
	res := &Result{}
	if rec != nil {
		res.From, res.To = rec.Version, rec.Version
	}
	st, err := loadPoll(in)
	if err != nil {
		return nil, err
	}
	ptr, ptrNote, etag, keys, err := o.poll(ctx, st, rec)
	if err != nil {
		return nil, err
	}
	res.To = ptr.Version
	if rec != nil && rec.Manifest == ptr.Manifest {
		res.UpToDate = true
		return res, st.save(in, ptrNote, etag, o.now())
	}
	admit, why, err := o.rolloutGate(ctx, st, ptr, &keys) // rollout.go
	if err != nil {
		return nil, err
	}
	if why == "" && o.Admit != nil {
		if ok, reason := o.Admit(admit); !ok {
			why = cmp.Or(reason, "not admitted")
		}
	}
	if why != "" { // the pointer was verified: cache it, so the next poll is a 304
		res.Deferred = why
		return res, st.save(in, ptrNote, etag, o.now())
	}
	if keys == nil { // the pointer came from the cache: verify the chain afresh
		if keys, err = o.pointerKeys(ctx, st, ptrNote); err != nil {
			return nil, err
		}
		if err := o.checkNamedKeys(ptr, st); err != nil {
			return nil, err
		}
	}
	// A manifest must be signed by a key with role release.
	if err := o.install(ctx, keys.Verifiers(trust.RoleRelease), ptr, rec, res); err != nil {
		return res, err // what was downloaded before the failure was paid for all the same
	}
	return res, st.save(in, ptrNote, etag, o.now())
}

// poll fetches and verifies the channel pointer. When the origin says the
// pointer has not changed (one small conditional request, by ETag or by
// Last-Modified), the cached copy, verified when it was stored, is checked
// again for expiry and rollback, and keys is nil; an expired cached copy is
// fetched once more without condition before the origin is called frozen.
func (o *Options) poll(ctx context.Context, st *pollState, rec *install.Record) (ptr *manifest.Pointer, note []byte, etag string, keys *trust.KeyList, err error) {
	req := origin.Request{Path: layout.Channel(o.Channel), MaxSize: trust.MaxNoteSize}
	if rec != nil && st.Pointer != "" {
		req.ETag = st.ETag
	}
	note, etag, err = o.fetchSmall(ctx, req)
	if errors.Is(err, origin.ErrNotModified) {
		note, etag = []byte(st.Pointer), st.ETag
		ptr, err = o.checkPointer(note, nil, rec)
		if !errors.Is(err, ErrFrozen) {
			return ptr, note, etag, nil, err
		}
		// The copy the origin calls current has expired: ask once without
		// condition, in case a validator hid a newer pointer (a file
		// replaced within the second of its Last-Modified, or by one with
		// an older time). An origin that really serves the expired pointer
		// is refused all the same.
		frozen, cached := err, note
		req.ETag = ""
		if note, etag, err = o.fetchSmall(ctx, req); err == nil && bytes.Equal(note, cached) {
			return nil, nil, "", nil, frozen
		}
	}
	if err != nil {
		return nil, nil, "", nil, fmt.Errorf("fetch channel pointer %s: %w", req.Path, err)
	}
	if keys, err = o.pointerKeys(ctx, st, note); err != nil {
		return nil, nil, "", nil, err
	}
	if ptr, err = o.checkPointer(note, keys, rec); err != nil {
		return nil, nil, "", nil, err
	}
	return ptr, note, etag, keys, o.checkNamedKeys(ptr, st)
}

// checkPointer verifies a pointer note with the keys of role release or
// refresh (keys nil: a cached copy that was verified before) and checks it
// against the config and the installed record.
func (o *Options) checkPointer(note []byte, keys *trust.KeyList, rec *install.Record) (*manifest.Pointer, error) {
	path := layout.Channel(o.Channel)
	open := trust.NoteText
	if keys != nil {
		open = keys.Verifiers(trust.RoleRelease, trust.RoleRefresh).Open
	}
	text, err := open(note)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	p, err := manifest.ParsePointer(text)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	switch now := o.now(); {
	case p.Channel != o.Channel:
		return nil, fmt.Errorf("%w: %s names channel %q, configured is %q", ErrMismatch, path, p.Channel, o.Channel)
	case now.After(p.Expires):
		return nil, fmt.Errorf("%w: %s expired %s: the origin serves stale metadata; the publisher must re-sign the channel", ErrFrozen, path, p.Expires.Format(time.RFC3339))
	case rec != nil && p.Sequence < rec.Sequence:
		return nil, fmt.Errorf("%w: %s offers %s (sequence %d), older than the installed %s (sequence %d)", ErrRollback, path, p.Version, p.Sequence, rec.Version, rec.Sequence)
	case rec != nil && p.Sequence == rec.Sequence && p.Manifest != rec.Manifest && rec.Channel == p.Channel:
		return nil, fmt.Errorf("%w: %s offers a different manifest under the installed sequence %d", ErrMismatch, path, p.Sequence)
	}
	return p, nil
}

// install fetches and verifies the manifest the pointer names, and installs it.
func (o *Options) install(ctx context.Context, keys *trust.Verifiers, p *manifest.Pointer, rec *install.Record, res *Result) error {
	in := o.Installer
	dl := filepath.Join(in.State, "downloads")
	if err := in.FS.Mkdir(dl, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("create %s: %w", dl, err)
	}
	defer removeStaged(in, dl)
	doc, m, err := o.fetchManifest(ctx, keys, p, rec, dl, res)
	if err != nil {
		return err
	}
	if ok, err := o.allow(ctx, p, doc, rec, res); !ok {
		return err
	}
	bf, err := newBlobFetcher(o.Source, in.FS, dl, o.Retry, o.log())
	if err != nil {
		return err
	}
	defer bf.close()
	// A rollout re-signs the pointer at a higher sequence for the same
	// manifest: the record keeps the pointer's, which anti-rollback compares.
	// The note, verified in its file, is moved into the state folder and
	// read from there line by line: it is never held in memory.
	rel := install.Release{Manifest: m, DocumentFile: doc, Digest: p.Manifest, Sequence: p.Sequence}
	ir, err := in.Install(ctx, rel, bf, install.Options{Trial: o.Trial, Progress: o.Progress})
	res.Downloaded += bf.downloaded
	if err != nil {
		return fmt.Errorf("install %s: %w", p.Version, err)
	}
	o.log().Info("installed", "version", p.Version, "files", ir.Files(), "from_bundle", bf.bundled, "patched", bf.patched, "bytes", res.Downloaded, "link", res.Link)
	res.Install, res.Files = ir, ir.Files()
	return nil
}

// DecodeStored parses a stored manifest note: its signature and hash were
// checked when it was fetched, so a stored copy is parsed without keys.
func DecodeStored(lim manifest.Limits) func(doc []byte) (*manifest.Manifest, error) {
	return func(doc []byte) (*manifest.Manifest, error) {
		text, err := trust.NoteText(doc)
		if err != nil {
			return nil, err
		}
		return manifest.ParseManifest(text, lim)
	}
}

// fetchSmall reads a whole small file (a note, a manifest patch) of at most
// req.MaxSize bytes into memory, through the same resumable, retried
// transfer as a blob (origin.ReadAll under o.Retry): a body the link cuts
// short is resumed, not an error, while retries are left.
func (o *Options) fetchSmall(ctx context.Context, req origin.Request) ([]byte, string, error) {
	return origin.ReadAll(ctx, o.Source, req, o.Retry)
}

// pollState is <state>/poll.json: the cached channel pointer and its ETag.
type pollState struct {
	ETag      string    `json:"etag,omitempty"`
	Pointer   string    `json:"pointer,omitempty"`
	KeysETag  string    `json:"keys_etag,omitempty"`
	Keys      string    `json:"keys,omitempty"`      // the verified signing-key list
	KeysFile  string    `json:"keys_file,omitempty"` // its origin path; "" for layout.SigningKeys
	LastCheck time.Time `json:"last_check"`
}

func loadPoll(in *install.Installer) (*pollState, error) {
	st := &pollState{}
	data, err := install.ReadSmallFile(in.FS, filepath.Join(in.State, "poll.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(data, st); err != nil {
		return &pollState{}, nil // a cache: start afresh
	}
	return st, nil
}

func (st *pollState) save(in *install.Installer, note []byte, etag string, now time.Time) error {
	st.ETag, st.Pointer, st.LastCheck = etag, string(note), now.UTC().Truncate(time.Second)
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	return install.WriteFileAtomic(in.FS, filepath.Join(in.State, "poll.json"), append(data, '\n'))
}

// LastCheck returns when the channel was last polled successfully.
func LastCheck(in *install.Installer) (time.Time, error) {
	st, err := loadPoll(in)
	if err != nil {
		return time.Time{}, err
	}
	return st.LastCheck, nil
}
