package selfupdate

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/ferry-ota/ferry/internal/install"
	"github.com/ferry-ota/ferry/internal/manifest"
	"github.com/ferry-ota/ferry/internal/vfs"
)

// Errors callers branch on.
var (
	// ErrBroken: the new agent did not pass its self-check; the previous
	// binary runs and that version is not tried again.
	ErrBroken = errors.New("selfupdate: the new agent failed its self-check")
)

// Fetch streams the agent's blob content into the writer out returns.
type Fetch func(ctx context.Context, out install.Sink) error

// Updater swaps the agent binary at Exe.
type Updater struct {
	FS      vfs.FS
	Exe     string // the running binary
	State   string // the agent's state folder (journal, failed versions)
	Version string // the running agent's version
	// Check runs the binary at path and returns nil if it starts and says
	// it is version want, within its own timeout.
	Check func(ctx context.Context, path, want string) error
	Log   *slog.Logger
	Now   func() time.Time
}

func (u *Updater) staged() string     { return u.Exe + ".ferry-new" }
func (u *Updater) backup() string     { return u.Exe + ".ferry-prev" }
func (u *Updater) journal() string    { return filepath.Join(u.State, "agent-swap.json") }
func (u *Updater) failedPath() string { return filepath.Join(u.State, "agent-failed.json") }

func (u *Updater) log() *slog.Logger {
	if u.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return u.Log
}

// swapJournal is <state>/agent-swap.json.
type swapJournal struct {
	Version string `json:"version"`
}

// Update installs agent a in place of the running binary when its version
// differs from the running one and has not failed before. It reports
// whether the binary at Exe is now a's; the caller then re-executes it (or
// exits for its service manager to start it).
func (u *Updater) Update(ctx context.Context, a manifest.Agent, fetch Fetch) (bool, error) {
	if err := u.Recover(); err != nil {
		return false, err
	}
	if a.Version == u.Version {
		return false, nil
	}
	if f, ok, err := u.failed(a); err != nil || ok {
		if ok {
			u.log().Info("agent version failed its self-check before: not tried again", "version", a.Version, "at", f.At)
		}
		return false, err
	}
	if err := u.stage(ctx, a, fetch); err != nil {
		return false, errors.Join(fmt.Errorf("stage agent %s: %w", a.Version, err), u.removeSynced(u.staged()))
	}
	if err := u.Check(ctx, u.staged(), a.Version); err != nil {
		return false, u.fail(a, err, u.removeSynced(u.staged()))
	}
	if err := install.WriteFileAtomic(u.FS, u.journal(), mustJSON(swapJournal{Version: a.Version})); err != nil {
		return false, errors.Join(fmt.Errorf("journal: %w", err), u.removeSynced(u.staged()))
	}
	if err := u.swap(); err != nil {
		return false, errors.Join(fmt.Errorf("swap in agent %s: %w", a.Version, err), u.Recover())
	}
	if err := u.Check(ctx, u.Exe, a.Version); err != nil {
		return false, u.fail(a, err, u.Recover())
	}
	if err := u.removeSynced(u.journal()); err != nil { // the commit point
		return false, err
	}
	return true, u.removeSynced(u.backup())
}

// swap backs the running binary up with a hard link and renames the
// staged one over it, each step made durable.
func (u *Updater) swap() error {
	if err := u.removeSynced(u.backup()); err != nil {
		return err
	}
	if err := u.FS.Link(u.Exe, u.backup()); err != nil {
		return err
	}
	if err := u.FS.SyncDir(filepath.Dir(u.Exe)); err != nil {
		return err
	}
	if err := u.FS.Rename(u.staged(), u.Exe); err != nil {
		return err
	}
	return u.FS.SyncDir(filepath.Dir(u.Exe))
}

// Recover puts the previous binary back if a swap was interrupted before
// its commit, and removes what a swap leaves behind.
func (u *Updater) Recover() error {
	_, err := u.FS.Lstat(u.journal())
	switch {
	case errors.Is(err, fs.ErrNotExist): // committed, or never journaled
	case err != nil:
		return err
	default:
		if err := u.restore(); err != nil {
			return fmt.Errorf("restore the previous agent: %w", err)
		}
		if err := u.removeSynced(u.journal()); err != nil {
			return err
		}
	}
	return errors.Join(u.removeSynced(u.staged()), u.removeSynced(u.backup()))
}

// restore renames the backup over Exe, if there is one.
func (u *Updater) restore() error {
	if _, err := u.FS.Lstat(u.backup()); errors.Is(err, fs.ErrNotExist) {
		return nil // the swap had not started: Exe is the previous binary
	}
	u.log().Warn("putting the previous agent binary back", "exe", u.Exe)
	if err := u.FS.Rename(u.backup(), u.Exe); err != nil {
		return err
	}
	return u.FS.SyncDir(filepath.Dir(u.Exe))
}

// removeSynced removes name if it exists, and makes that durable.
func (u *Updater) removeSynced(name string) error {
	err := u.FS.Remove(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return u.FS.SyncDir(filepath.Dir(name))
}

// stage streams the binary into the staged file, verified, executable and
// durable.
func (u *Updater) stage(ctx context.Context, a manifest.Agent, fetch Fetch) error {
	// The file is made before anything is downloaded: a folder the agent
	// cannot write (ProtectSystem=strict without it in ReadWritePaths)
	// costs no transfer.
	f, err := u.FS.Create(u.staged(), 0o700)
	if err != nil {
		return fmt.Errorf("the agent's folder is not writable: %w", err)
	}
	var v *verifier
	defer func() {
		if f != nil {
			f.Close()
		}
	}()
	sink := func() (io.Writer, error) {
		if v != nil || f == nil { // a restart: from nothing
			if f != nil {
				f.Close()
			}
			var err error
			if f, err = u.FS.Create(u.staged(), 0o700); err != nil {
				f = nil
				return nil, err
			}
		}
		v = &verifier{w: f, h: sha256.New(), left: a.Size}
		return v, nil
	}
	if err := fetch(ctx, sink); err != nil {
		return err
	}
	if v == nil || v.left != 0 || manifest.Digest(v.h.Sum(nil)) != a.SHA256 {
		return fmt.Errorf("%w: agent %s for %s", install.ErrChecksum, a.Version, a.Target)
	}
	if err := u.FS.Chmod(u.staged(), 0o755); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	err = f.Close()
	f = nil
	if err != nil {
		return err
	}
	return u.FS.SyncDir(filepath.Dir(u.Exe))
}

// verifier hashes what passes and refuses more than left bytes.
type verifier struct {
	w    io.Writer
	h    hash.Hash
	left int64
}

func (v *verifier) Write(p []byte) (int, error) {
	if int64(len(p)) > v.left {
		return 0, fmt.Errorf("%w: more bytes than the manifest says", install.ErrChecksum)
	}
	v.left -= int64(len(p))
	v.h.Write(p)
	return v.w.Write(p)
}

func mustJSON(v any) []byte {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		panic(err)
	}
	return append(data, '\n')
}
