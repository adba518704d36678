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
func (o *Options) allow(ctx context.Context, p *manifest.Pointer, m *manifest.Manifest, rec *install.Record, res *Result) (bool, error) {
	if o.Budget == nil {
		return true, nil
	}
	n := res.Downloaded + o.contentBytes(m, rec)
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

// contentBytes returns the compressed size of every managed file of m whose
// content the installed manifest does not already give at its path: the
// bytes of the blobs the update fetches. It is exact for the per-file path
// when no patch is taken; a patch is smaller than its blob (the origin's
// patch is cut off at ZSize-1) and a file already on disk is not fetched,
// so it is an upper bound in every case.
func (o *Options) contentBytes(m *manifest.Manifest, rec *install.Record) int64 {
	var old []manifest.File
	if rec != nil {
		if doc, err := o.Installer.InstalledDocument(rec); err == nil {
			if om, err := DecodeStored(o.Limits)(doc); err == nil {
				old = om.Files
			}
		}
	}
	// Both lists are sorted by path (ParseManifest checks it): a merge, no map.
	var n int64
	i := 0
	for _, f := range m.Files {
		for i < len(old) && old[i].Path < f.Path {
			i++
		}
		held := i < len(old) && old[i].Path == f.Path && old[i].SHA256 == f.SHA256
		if f.Size == 0 || held || (o.Installer.Allow != nil && !o.Installer.Allow(f.Path)) {
			continue
		}
		n += f.ZSize
	}
	return n
}
