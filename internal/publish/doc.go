// Package publish builds a Ferry release and writes it into an origin folder.
//
// # Parties
//
// The publisher holds the key folder (package keys). It reads a release from
// a Source (a directory, or a git tag read straight from the object store,
// without a checkout), and writes static files into an origin folder laid out
// by package layout. Anything that serves that folder (ferry serve, a CDN, a
// bucket, a USB stick) is an origin; the publisher never talks to a device.
//
// # The pipeline
//
//  1. Read the channel's current pointer and verify it through the key
//     folder's chain (root.pub → signing-key list → release or refresh
//     key); the new release gets
//     the pointer's sequence + 1, a fresh channel starts at 1. A pointer that
//     does not verify stops the publish: someone else wrote it.
//  2. Every file of the source is checked (regular file, valid manifest path)
//     and streamed once through SHA-256 and a zstd encoder into a temporary
//     file beside its blob, which is fsynced and renamed to
//     blobs/sha256/<ab>/<hash>.zst, or dropped when that blob already exists:
//     publishing the same content twice stores nothing new. A seekable source
//     (a file on disk) is hashed first, so known content is not compressed
//     again. A folder is listed (and checked) first and then compressed by
//     up to four files at a time; a git ref is streamed one file at a time.
//     Memory is one copy buffer and one encoder per worker, whatever the
//     sizes of the files. Then two paths (of files or of their folders)
//     that differ only in letter case stop the publish (they cannot coexist
//     on a FAT card: manifest.CaseCollision); their blobs stay unreferenced.
//  3. Hooks.File runs for each file once its blob is on the origin (the place
//     where patches from previous contents are made), then the manifest is
//     signed and written, then Hooks.Manifest runs (manifest patches).
//  4. The key folder's signing-key lists are copied to
//     keys/signing-keys-2.note (format 2) and keys/signing-keys.note
//     (format 1, for agents made before format 2), and the channel pointer
//     is signed and renamed into place last. An origin list of a higher
//     version than the key folder's (or of the same version and other
//     content) is never overwritten: the publish stops, naming the newer
//     list to copy into the key folder. The pointer's "keys" line names the
//     format-2 list (version and SHA-256 of the note): a device that holds
//     that list makes no request for it, so a changed list (`ferry keys`)
//     reaches devices with the next pointer signed after it: a release, a
//     rollout or a refresh (run `ferry refresh` after rotating keys).
//
// Each file is written to a temporary name, fsynced, renamed and its folder
// fsynced, and nothing is referenced before it exists: a device polling
// during a publish sees the old release or the new one, never a pointer to
// a missing file. A publish stopped at any point is finished by running it
// again.
//
// One publisher at a time: Release and Rollout hold an flock(2) on
// ORIGIN/.ferry-publish.lock (an empty file; ferry serve does not serve dot
// files); a second one waits for it, or fails with ErrBusy when its context
// ends.
//
// # Versions are immutable
//
// releases/<version>/manifest.note is written once. Publishing a version that
// exists with other content (or on another channel) is refused (ErrConflict).
// Publishing it again with the same content writes nothing, except the
// pointer of a publish that stopped before it. A manifest carries the
// sequence of the pointer that first offered it, so going back to an older
// release is a new version with the old content (its blobs are already
// there), never the old manifest under a new pointer.
//
// # Pointer lifetime, rollout and refresh
//
// The manifest expires late (--expires, a year by default) and names no
// freshness; the channel pointer does: it expires DefaultPointerLifetime (7
// days) after it is signed, never after its manifest, so an origin can hold
// devices on an old release (freeze) for at most that long.
//
// Rollout re-signs the current pointer with a new percentage and the next
// sequence, so that devices notice, and a renewed expiry; version and
// manifest stay. A pointer's sequence can therefore run ahead of its
// manifest's.
//
// Refresh re-signs the current pointer with a renewed expiry only (same
// version, sequence and rollout), with a refresh key of the key folder (or
// a release key if it has none): what a cron job runs between releases. The
// pointer on the origin must verify (it may have expired), and its manifest
// must verify with a release key of the folder's own list.
//
// # Compression
//
// Blobs are single zstd frames at SpeedBestCompression with a window of
// BlobWindow bytes (2 MiB; 8 MiB before issue #15), which bounds the memory
// a device needs to decode one. Agents accept windows up to 8 MiB, so an
// origin may hold blobs of both.
//
// For MicroPython boards (ferry release --for micropython), Zlib.WithZlib
// adds a File hook that writes every content's .z blob as well (a zlib
// stream with a 2^layout.ZlibWindowBits window, see package layout) from its
// .zst blob, checked against the digest, before the pointer is written,
// and the .mpatch of every file changed at its path since the channel's
// previous release (kept when at most 3/4 of the .z blob). Its Manifest hook
// writes the .mpatch from the manifest note of the channel's previous
// release and of each of the previous --deltas releases (Zlib.Notes, from
// Deltas.Notes) to the new note, kept when at most 3/4 of the note: a board
// rebuilds the note from the one it installed instead of downloading the
// whole file list; and from each of those notes the MicroPython update
// bundle (layout.MBundle, package mbundle), kept unless larger than the
// note's .mpatch and the listed files' .mpatch or .z blobs (by more than
// the 404 a board would get without it). Zlib.Release does the same for a
// release already on the origin.
//
// # Agent binaries
//
// With Options.Agents (ferry release --agents DIST), the ferry-agent-*
// binaries of a `make agents` folder are checked against its SHA256SUMS
// (each must be listed and match; a refusal names the file), stored as
// blobs, and listed as manifest.Agent entries (agent-TARGET header keys) with
// the version of DIST/VERSION. They are not files of the release.
package publish
