package github

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/ferry-ota/ferry/internal/layout"
	"github.com/ferry-ota/ferry/internal/manifest"
	"github.com/ferry-ota/ferry/internal/trust"
)

// AssetsFromDir maps every file of a local Ferry origin folder (as `ferry
// release` lays it out) to its asset name, for UploadRelease. It refuses a
// path AssetName refuses and two paths with the same asset name.
func AssetsFromDir(dir string) (map[string]string, error) {
	assets := map[string]string{}
	from := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		name, err := AssetName(rel)
		if err != nil {
			return err
		}
		if prev, dup := from[name]; dup {
			return fmt.Errorf("%w: %q and %q are both asset %q", ErrAssetName, prev, rel, name)
		}
		assets[name], from[name] = p, rel
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("github: assets of %q: %w", dir, err)
	}
	return assets, nil
}

// ReleaseAssets picks, from a local Ferry origin folder, the files a GitHub
// release of channel's current release needs, mapped to asset names for
// UploadRelease: the signing-key lists (format 1 and, if the origin has
// it, format 2), the channel pointer, the manifest it names, the blob of
// every file of that manifest, every delta to one of those contents, and
// the manifest patches and update bundles to it. Older releases' blobs are
// left out, so that a release stays within GitHub's MaxAssets however long
// the origin's history. The notes are the publisher's own, so their text is
// read unverified.
func ReleaseAssets(dir, channel string) (map[string]string, error) {
	ptrText, err := noteText(dir, layout.Channel(channel))
	if err != nil {
		return nil, err
	}
	ptr, err := manifest.ParsePointer(ptrText)
	if err != nil {
		return nil, fmt.Errorf("github: channel %q of %q: %w", channel, dir, err)
	}
	mText, err := noteText(dir, layout.Manifest(ptr.Version))
	if err != nil {
		return nil, err
	}
	m, err := manifest.ParseManifest(mText, manifest.Limits{})
	if err != nil {
		return nil, fmt.Errorf("github: release %q of %q: %w", ptr.Version, dir, err)
	}
	paths := []string{layout.SigningKeys, layout.Channel(channel), layout.Manifest(ptr.Version)}
	// The versioned list (format 2), when the key folder has one: devices
	// fetch it first and fall back to format 1 only while it is missing.
	if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(layout.SigningKeys2))); err == nil {
		paths = append(paths, layout.SigningKeys2)
	}
	// The manifest patches (the Linux agent's and, --for micropython, the
	// boards') and update bundles (both kinds') to this release.
	for _, ext := range []string{".patch", ".bundle", ".mpatch", ".mbundle"} {
		found, _ := filepath.Glob(filepath.Join(dir, "deltas", "*", ptr.Manifest.String()+ext))
		for _, d := range found {
			rel, _ := filepath.Rel(dir, d)
			paths = append(paths, filepath.ToSlash(rel))
		}
	}
	for _, f := range m.Files {
		paths = append(paths, layout.Blob(f.SHA256))
		// The MicroPython boards' blob, when published (--for micropython).
		if z := layout.ZBlob(f.SHA256); fileExists(filepath.Join(dir, filepath.FromSlash(z))) {
			paths = append(paths, z)
		}
		news, _ := filepath.Glob(filepath.Join(dir, "deltas", "*", f.SHA256.String()+".patch"))
		mps, _ := filepath.Glob(filepath.Join(dir, "deltas", "*", f.SHA256.String()+".mpatch"))
		news = append(news, mps...)
		for _, d := range news {
			rel, _ := filepath.Rel(dir, d)
			paths = append(paths, filepath.ToSlash(rel))
		}
	}
	for _, a := range m.Agents { // agent binaries (ferry release --agents)
		paths = append(paths, layout.Blob(a.SHA256))
	}
	assets := map[string]string{}
	for _, p := range paths {
		name, err := AssetName(p)
		if err != nil {
			return nil, fmt.Errorf("github: %w", err)
		}
		assets[name] = filepath.Join(dir, filepath.FromSlash(p))
	}
	return assets, nil
}

func noteText(dir, p string) ([]byte, error) {
	b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(p)))
	if err != nil {
		return nil, fmt.Errorf("github: origin %q: %w", dir, err)
	}
	text, err := trust.NoteText(b)
	if err != nil {
		return nil, fmt.Errorf("github: %q: %w", p, err)
	}
	return text, nil
}

func fileExists(p string) bool {
	info, err := os.Stat(p)
	return err == nil && info.Mode().IsRegular()
}
