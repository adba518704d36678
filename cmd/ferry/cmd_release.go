package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/ferry-ota/ferry/internal/delta"
	"github.com/ferry-ota/ferry/internal/keys"
	"github.com/ferry-ota/ferry/internal/publish"
	"github.com/ferry-ota/ferry/internal/zstdcli"
)

var releaseCmd = &command{name: "release", run: runRelease, usage: `usage: ferry release --from DIR --version V --keys KEYS --origin ORIGIN [--channel stable] [--expires 8760h] [--pointer-lifetime 168h] [--deltas 3] [--agents DIST] [--for linux]
       ferry release --git REPO --ref TAG --version V --keys KEYS --origin ORIGIN [--channel stable] [--expires 8760h] [--pointer-lifetime 168h] [--deltas 3] [--agents DIST] [--for linux]

Publish a release into the origin folder ORIGIN: every regular file of DIR,
or of the commit TAG of the git repository REPO (read from git's object
store, no checkout), is compressed into blobs/ by content hash, listed in a
manifest signed with the signing keys of KEYS at releases/V/manifest.note,
and offered by the channel pointer channels/CHANNEL.note, written last, at
the previous pointer's sequence + 1 with rollout 100%. The manifest is valid
for --expires; the pointer for --pointer-lifetime (7 days), never longer
than the manifest: an origin cannot hold devices on an old release for
longer than that. Between releases, run "ferry refresh" (a daily cron job)
to re-sign the pointer, or devices refuse it once expired. The key folder's
signing-key lists are copied to keys/ of the origin.

Symbolic links, devices, git submodules and paths a device would refuse are
errors naming the file. Content already on the origin is not stored again.
A version is immutable: publishing V again with the same content changes
nothing, with other content it is refused. Progress goes to stderr; the
last line is: published V (channel C, sequence N): F files, X new blobs, Y bytes
(Y: compressed bytes of the new blobs).

Deltas: for every file that changed since each of the previous --deltas
releases of the channel (default 3), a patch from the old content at the
same path is written to deltas/OLD/NEW.patch, and likewise for the manifest
note, when the patch is clearly smaller (at most 3/4) than what it replaces.
A device holding the old content downloads the patch instead of the blob.
For each of those releases an update bundle is also written to
deltas/OLDNOTE/NEWNOTE.bundle unless it is larger than what it replaces: one
stream with the new manifest and the changed files up to 4 MiB (the new
files' digests left for the device to compute), compressed against the old
manifest and old files, which a device takes instead of the manifest patch
and those files' patches or blobs. A file that bsdiff's commands patch for
less (a large, nearly unchanged file) keeps its own patch.
Then: made P patches (B bytes), Q not worth keeping; and, if any:
made U update bundles (V bytes).

Patches and bundles are compressed with klauspost/compress and, when the
zstd command is on PATH (--zstd auto), also with the reference encoder at
level 19, keeping the smaller after checking that it applies.

Agent binaries: --agents DIST adds the ferry-agent-* binaries of a folder
made by "make agents" to the release, each checked against DIST/SHA256SUMS
(a mismatch or an unlisted binary is refused, naming the file), with the
version of DIST/VERSION. They are stored as blobs and listed in the signed
manifest as agent-TARGET header lines, apart from the release's files: they
are never installed into a device's target, and agents that predate them
ignore them. A device whose running agent's version differs takes the one
for its own target and updates itself (see the README, "Agent self-update").

Device kinds: --for linux (the default) publishes what ferry-agent reads.
--for micropython, or --for linux,micropython, also writes for every file
content a zlib stream with a 2 KiB window that MicroPython boards decode
with their deflate module, at blobs/sha256/AB/HASH.z, before the pointer;
the manifest, pointer, signatures and .zst blobs are the same documents
for both kinds. For a file changed at the same path since the channel's
previous release, a patch a board applies by copying ranges of its old
file is written to deltas/OLD/NEW.mpatch when it is at most 3/4 of the .z
blob; and from the manifest note of each of the previous --deltas releases
to the new one, deltas/OLDNOTE/NEWNOTE.mpatch (named by the notes' SHA-256)
when it is at most 3/4 of the note, so that a board downloads the changed
lines of the file list, not the whole list. From each of those releases a
MicroPython update bundle is written too, deltas/OLDNOTE/NEWNOTE.mbundle,
unless it is larger than what it replaces: one zlib stream (the same
window) with the commands that rebuild the new manifest note without the
changed files' digests (the board computes them) and the changed files'
contents as copies from old files and literals, which a board fetches in
one request instead of the note's patch and the files' patches or blobs.
Then: made Z zlib blobs for MicroPython (B bytes); and, if any: made P
MicroPython patches (Q bytes); made U MicroPython update bundles (V bytes).
Run again for a version already published, it writes the .z blobs and
manifest patches it lacks.

With --github OWNER/REPO --tag TAG, the channel's current release (signing
keys, pointer, manifest, blobs and deltas) is then uploaded as the assets of
the GitHub release TAG, made as a draft and published once complete; assets
of the same name and other content are replaced. Devices whose config has a
[github] section follow the latest release. The last line is then: uploaded
N assets to GitHub release TAG of OWNER/REPO.

flags:
  --from DIR         the folder to publish
  --git REPO         a git repository to publish from, with --ref
  --ref TAG          the tag, branch or commit of REPO to publish
  --version V        the release's version, unique in the origin (required)
  --keys KEYS        the key folder made by ferry keygen (required)
  --origin ORIGIN    the origin folder, created if missing (required)
  --channel C        the channel to publish to (default stable)
  --expires D        how long devices accept the release's manifest (default 8760h)
  --pointer-lifetime D  how long devices accept the channel pointer (default 168h, 7 days)
  --deltas K         make patches from the previous K releases of the channel (default 3; 0: none)
  --delta-max-mb N   make no patch for files over N MiB (default 256; generation needs ~15x the file in memory)
  --for KINDS        the kinds of device to publish for: linux, micropython or linux,micropython (default linux)
  --zstd CMD         the reference zstd command for smaller patches: auto (from PATH, if any), off, or a path (default auto)
  --agents DIST      add the agent binaries of this make agents folder (checked against its SHA256SUMS)
  --github O/R       also upload the release to this GitHub repository
  --tag TAG          the GitHub release to upload to (with --github)
  --token-file F     a file holding a GitHub token allowed to write contents
  --github-api URL   the GitHub API (default https://api.github.com)
`}

func runRelease(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("release", flag.ContinueOnError)
	from := fs.String("from", "", "")
	gitRepo := fs.String("git", "", "")
	ref := fs.String("ref", "", "")
	ver := fs.String("version", "", "")
	keyDir := fs.String("keys", "", "")
	origin := fs.String("origin", "", "")
	channel := fs.String("channel", "stable", "")
	expires := fs.Duration("expires", 8760*time.Hour, "")
	lifetime := fs.Duration("pointer-lifetime", publish.DefaultPointerLifetime, "")
	deltaK := fs.Int("deltas", publish.DefaultDeltaReleases, "")
	deltaMaxMB := fs.Int64("delta-max-mb", publish.DefaultDeltaMaxFile>>20, "")
	zstdCmd := fs.String("zstd", "auto", "")
	agents := fs.String("agents", "", "")
	kinds := fs.String("for", "linux", "")
	gh := addGitHubFlags(fs)
	if err := noArgs(parseFlags(fs, args)); err != nil {
		return err
	}
	if err := gh.check(); err != nil {
		return err
	}
	mpy, err := parseKinds(*kinds)
	if err != nil {
		return err
	}
	if err := required(map[string]string{"version": *ver, "keys": *keyDir, "origin": *origin, "channel": *channel}); err != nil {
		return err
	}
	if *lifetime <= 0 {
		return fmt.Errorf("%w: --pointer-lifetime %v must be positive", errUsage, *lifetime)
	}
	src, err := releaseSource(e, *from, *gitRepo, *ref, *keyDir, *origin)
	if err != nil {
		return err
	}
	now := time.Now()
	ring, err := keys.Load(*keyDir, now)
	if err != nil {
		return err
	}
	if ring.List == nil {
		fmt.Fprintf(e.stderr, "note: %s has no %s (made before versioned signing-key lists): devices cannot refuse an old list; run \"ferry keys add-refresh\" or \"ferry keys rotate\" to write one\n", *keyDir, keys.ListFile)
	}
	deltas, err := publish.NewDeltas(*origin, *channel, *deltaK, ring, now)
	if err != nil {
		return err
	}
	deltas.MaxFile = *deltaMaxMB << 20
	if deltas.Compress, err = compressor(e, *zstdCmd); err != nil {
		return err
	}
	hooks, z := deltas.Hooks(), &publish.Zlib{Notes: deltas.Notes()}
	if mpy {
		hooks = z.WithZlib(hooks)
	}
	res, err := publish.Release(ctx, src, publish.Options{Origin: *origin, Channel: *channel, Version: *ver,
		Expires: now.Add(*expires), PointerLifetime: *lifetime, Keys: ring, Now: now, Progress: e.stderr, Hooks: hooks, Agents: *agents})
	if err != nil {
		return err
	}
	if mpy && res.Unchanged {
		if err := z.Release(ctx, *origin, res.Version, ring, now); err != nil {
			return err
		}
	}
	if mpy {
		fmt.Fprintf(e.stderr, "made %d zlib blobs for MicroPython (%d bytes)\n", z.Made, z.Bytes)
		if z.Patches > 0 {
			fmt.Fprintf(e.stderr, "made %d MicroPython patches (%d bytes)\n", z.Patches, z.PatchBytes)
		}
		if z.Bundles > 0 {
			fmt.Fprintf(e.stderr, "made %d MicroPython update bundles (%d bytes)\n", z.Bundles, z.BundleBytes)
		}
	}
	if deltas.Made+deltas.Skipped > 0 {
		fmt.Fprintf(e.stderr, "made %d patches (%d bytes), %d not worth keeping\n", deltas.Made, deltas.Bytes, deltas.Skipped)
	}
	if deltas.Bundles > 0 {
		fmt.Fprintf(e.stderr, "made %d update bundles (%d bytes)\n", deltas.Bundles, deltas.BundleBytes)
	}
	if res.Unchanged {
		fmt.Fprintf(e.stderr, "channel %s already offers %s: nothing written\n", res.Channel, res.Version)
	}
	if res.Agents > 0 {
		fmt.Fprintf(e.stderr, "added %d agent binaries\n", res.Agents)
	}
	fmt.Fprintf(e.stdout, "published %s (channel %s, sequence %d): %d files, %d new blobs, %d bytes\n",
		res.Version, res.Channel, res.Sequence, res.Files, res.NewBlobs, res.NewBytes)
	return gh.upload(ctx, e, *origin, *channel)
}

// parseKinds checks --for (a comma-separated list of linux and
// micropython) and reports whether it names micropython.
func parseKinds(spec string) (micropython bool, err error) {
	for _, k := range strings.Split(spec, ",") {
		switch k {
		case "linux":
		case "micropython":
			micropython = true
		default:
			return false, fmt.Errorf("%w: --for %q: unknown device kind %q (want linux, micropython or linux,micropython)", errUsage, spec, k)
		}
	}
	return micropython, nil
}

// releaseSource checks the source flags and returns the source.
func releaseSource(e *env, from, gitRepo, ref, keyDir, origin string) (publish.Source, error) {
	switch {
	case (from == "") == (gitRepo == ""):
		return nil, fmt.Errorf("%w: give one of --from DIR or --git REPO", errUsage)
	case gitRepo != "" && ref == "":
		return nil, fmt.Errorf("%w: --git needs --ref TAG", errUsage)
	case from != "" && ref != "":
		return nil, fmt.Errorf("%w: --ref goes with --git, not --from", errUsage)
	case gitRepo != "":
		return publish.Git{Repo: gitRepo, Ref: ref}, nil
	}
	for what, dir := range map[string]string{"key folder": keyDir, "origin": origin} {
		if inside(from, dir) {
			return nil, fmt.Errorf("%w: the %s %q is inside --from %q: it would be published", errUsage, what, dir, from)
		}
	}
	return publish.Dir{Root: from, Log: e.log}, nil
}

// inside reports whether path is dir or inside it.
func inside(dir, path string) bool {
	d, err1 := filepath.Abs(dir)
	p, err2 := filepath.Abs(path)
	if err1 != nil || err2 != nil {
		return false
	}
	rel, err := filepath.Rel(d, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// compressor returns the reference zstd encoder that --zstd names, or nil
// (klauspost/compress alone) for "off", or for "auto" without a zstd
// command, which it says once.
func compressor(e *env, spec string) (delta.Compressor, error) {
	path, err := zstdcli.Find(spec)
	switch {
	case errors.Is(err, zstdcli.ErrNotFound):
		fmt.Fprintf(e.stderr, "note: no zstd command found; patches are made with klauspost/compress alone (install zstd for smaller updates, or --zstd off to silence this)\n")
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("%w: --zstd %q: %w", errUsage, spec, err)
	case path == "":
		return nil, nil
	}
	return delta.Compressor(zstdcli.Compressor(path, 23)), nil
}
