package update

import (
	"context"
	"errors"

	"github.com/ferry-ota/ferry/internal/install"
	"github.com/ferry-ota/ferry/internal/manifest"
)

// Budget decides, once the manifest is verified and before any file content
// is fetched, whether this device pays for the update now, and over which
// link (package link). A nil Budget allows everything.
type Budget interface {
	// Free reports whether the cycle's link costs nothing. Only then is the
	// update bundle tried: its size is in no signed document, so over a
	// costly link the cycle takes the manifest (its size is signed in the
	// pointer) and the blobs (their sizes are signed in the manifest).
	Free() bool
	// Allow is asked with the bytes the update takes by the path it will
	// take: what was already fetched for it (the manifest) plus the
	// compressed size of every file whose content must be fetched. It
	// returns the link's name, and a *Deferral to put the update off.
	Allow(ctx context.Context, p *manifest.Pointer, bytes int64) (link string, err error)
}

// Deferral is the error a Budget returns to put an update off; the cycle
// ends with Result.Deferred = Reason and no error.
type Deferral struct {
	Reason string // one line: "1.2 MB over cellular costs 0.60; budget left this month 0.25"
}

// Error returns the reason.
func (d *Deferral) Error() string { return "update: deferred: " + d.Reason }

// allow asks o.Budget about the manifest m; ok is false when the update is
// deferred (res.Deferred says why).
func (o *Options) allow(ctx context.Context, p *manifest.Pointer, note string, rec *install.Record, res *Result) (bool, error) {
	if o.Budget == nil {
		return true, nil
	}
	content, err := o.contentBytes(note, rec)
	if err != nil {
		return false, err
	}
	n := res.Downloaded + content
	link, err := o.Budget.Allow(ctx, p, n)
	res.Link = link
	var d *Deferral
	if errors.As(err, &d) {
		res.Deferred = d.Reason
		o.log().Info("update deferred", "version", p.Version, "bytes", n, "link", link, "reason", d.Reason)
		return false, nil
	}
	if err != nil {
		return false, err
	}
	o.log().Info("update allowed", "version", p.Version, "bytes", n, "link", link)
	return true, nil
}

// contentBytes returns the compressed size of every managed file of the
// manifest note in the file note whose content the installed manifest does
// not already give at its path: the bytes of the blobs the update fetches.
// It is exact for the per-file path when no patch is taken; a patch is
// smaller than its blob (the origin's patch is cut off at ZSize-1) and a
// file already on disk is not fetched, so it is an upper bound in every
// case.
func (o *Options) contentBytes(note string, rec *install.Record) (int64, error) {
	in := o.Installer
	m, err := openNote(in.FS, note, o.Limits)
	if err != nil {
		return 0, err
	}
	defer m.Close()
	var old *noteFiles
	if rec != nil {
		if old, err = openNote(in.FS, in.DocumentPath(rec.Manifest), o.Limits); err == nil {
			defer old.Close()
		}
	}
	// Both notes are sorted by path (the Scanner checks it): a merge of
	// two streams, neither held.
	var n int64
	var of manifest.File
	haveOld := old != nil && old.Next()
	for m.Next() {
		f := m.File()
		for haveOld && old.File().Path < f.Path {
			haveOld = old.Next()
		}
		if haveOld {
			of = old.File()
		}
		held := haveOld && of.Path == f.Path && of.SHA256 == f.SHA256
		if f.Size == 0 || held || (in.Allow != nil && !in.Allow(f.Path)) {
			continue
		}
		n += f.ZSize
	}
	return n, m.Err()
}
