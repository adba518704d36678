// Package layout names the files of a Ferry origin and of a device's state
// folder. Publisher and agent both use it, so they cannot disagree.
//
// Origin:
//
//	keys/signing-keys-2.note               signing-key list, format 2 (version, roles), signed by the root keys
//	keys/signing-keys.note                 signing-key list, format 1 (release keys), for agents before format 2
//	channels/<channel>.note                signed pointer to the channel's release
//	rollouts/<channel>.note                signed rollout document (stage, halt), by the fleet service
//	releases/<version>/manifest.note       signed manifest of a release
//	blobs/sha256/<ab>/<hash>.zst           file content, zstd, by SHA-256 of the content
//	blobs/sha256/<ab>/<hash>.z             the same content as a zlib stream, for MicroPython boards
//	deltas/<oldhash>/<newhash>.patch       patch from one content to another
//	deltas/<oldnote>/<newnote>.bundle      update bundle from one manifest note to another
//	deltas/<oldhash>/<newhash>.mpatch      patch for MicroPython boards (copy ranges + literals, zlib)
//	deltas/<oldnote>/<newnote>.mpatch      the same from one manifest note to another, for MicroPython boards
//	deltas/<oldnote>/<newnote>.mbundle     update bundle for MicroPython boards (package mbundle)
//
// # MicroPython blobs (ferry release --for micropython)
//
// A MicroPython board decodes content with its deflate module
// (deflate.DeflateIO(stream, deflate.ZLIB, ZlibWindowBits)), which keeps a
// window of 2^wbits bytes in its heap while it decodes. So `ferry release
// --for micropython` adds, for every file content, blobs/sha256/<ab>/<hash>.z:
// a zlib stream (RFC 1950: the header's CINFO is ZlibWindowBits-8, deflate
// data whose match distances never exceed 2^ZlibWindowBits bytes, Adler-32)
// of exactly the content the manifest names by <hash>. The window is 2^11 =
// 2 KiB. A Pico W has about 190 KB of heap for the application and the
// updater together, and the updater's budget is 64 KB of live heap;
// measured in MicroPython 1.27, a DeflateIO decoding with wbits 10 holds
// 2.3 KB of heap and with wbits 11 3.4 KB (5% of the budget; the default
// 32 KiB window would take half of it). On this repository's internal/
// folder (226 files, 960,441 bytes; ferry release --for linux,micropython)
// the .z blobs total 400,393 bytes with a 1 KiB window, 378,849 with 2 KiB
// and 365,895 with 32 KiB, against 367,628 for the .zst blobs: the 2 KiB
// window buys 5% fewer bytes than 1 KiB for 1 KiB of heap, and stays within
// 3% of zstd. MicroPython's deflate refuses (EINVAL) a stream that reaches
// further back than the window it was given, so a publisher that overreached
// would fail every board, not corrupt one (internal/mpyrun's TestZlibWindow).
//
// A .z blob is at most ZlibCap(size) bytes for content of size bytes, so a
// board caps the download by what the signed manifest says (the size)
// without the compressed size being signed. The manifest, the pointer, the
// signatures and the .zst blobs are the same documents for both kinds of
// device: the Linux agent never reads a .z blob, and a board never reads a
// .zst one.
//
// A MicroPython board applies a .mpatch from the old content it holds at the
// same path, seeking in that file: a zlib stream (the same window) of
// "FMP1", the new size, then commands: 'C' offset length (copy from the old
// file), 'L' length bytes (literal), 'E' (end); numbers are unsigned LEB128.
// The publisher writes one only when it is at most 3/4 of the .z blob.
// The same format rebuilds a manifest note from the one a board installed:
// deltas/<oldnote>/<newnote>.mpatch, named by the notes' SHA-256 (as a
// .bundle is), written from each of the previous --deltas releases when at
// most 3/4 of the note; a board checks the result against the size and
// SHA-256 the signed pointer names and otherwise downloads the whole note.
//
// A board holding the release whose note is <oldnote> first asks for
// deltas/<oldnote>/<newnote>.mbundle: one zlib stream (the same window) of
// the commands that rebuild the new note, its changed files' digests left
// out, and each changed file's content as copies from an old file and
// literals (format and promise: package mbundle). The publisher writes one
// from each release it writes a .bundle from, when it is smaller than the
// note's .mpatch and the files' .mpatch or .z blobs together; the board
// takes the per-file path only when there is none (404).
//
// Compatibility: .z blobs, .mpatch patches and .mbundle bundles are new (issue #14); their format is fixed (a
// zlib stream with a 2 KiB window); a larger window would need a new name
// (boards decode with exactly this one), a smaller one would not.
package layout

import (
	"path"

	"github.com/ferry-ota/ferry/internal/manifest"
)

// SigningKeys is the origin path of the signing-key list, format 1.
const SigningKeys = "keys/signing-keys.note"

// SigningKeys2 is the origin path of the signing-key list, format 2 (see
// package trust).
const SigningKeys2 = "keys/signing-keys-2.note"

// Channel returns the origin path of a channel pointer.
func Channel(channel string) string { return path.Join("channels", channel+".note") }

// Manifest returns the origin path of a release's signed manifest.
func Manifest(version string) string { return path.Join("releases", version, "manifest.note") }

// Blob returns the origin path of the compressed content with digest d.
func Blob(d manifest.Digest) string {
	h := d.String()
	return path.Join("blobs", "sha256", h[:2], h+".zst")
}

// ZlibWindowBits is the log2 of the deflate window of a .z blob.
const ZlibWindowBits = 11

// ZBlob returns the origin path of the zlib-format content with digest d,
// which MicroPython boards download.
func ZBlob(d manifest.Digest) string {
	h := d.String()
	return path.Join("blobs", "sha256", h[:2], h+".z")
}

// ZlibCap returns the most bytes a .z blob of content of size bytes may
// have: incompressible content costs 5 bytes per stored block, and the
// publisher's blocks are far larger than 64 bytes.
func ZlibCap(size int64) int64 { return size + size/64 + 64 }

// MPatch returns the origin path of the MicroPython patch from content old
// to content new.
func MPatch(old, new manifest.Digest) string {
	return path.Join("deltas", old.String(), new.String()+".mpatch")
}

// Delta returns the origin path of the patch from content old to content new.
func Delta(old, new manifest.Digest) string {
	return path.Join("deltas", old.String(), new.String()+".patch")
}

// Bundle returns the origin path of the update bundle from the release whose
// manifest note has digest old to the one whose note has digest new.
func Bundle(old, new manifest.Digest) string {
	return path.Join("deltas", old.String(), new.String()+".bundle")
}

// MBundle returns the origin path of the MicroPython update bundle from the
// release whose manifest note has digest old to the one whose note has
// digest new.
func MBundle(old, new manifest.Digest) string {
	return path.Join("deltas", old.String(), new.String()+".mbundle")
}

// RolloutDoc returns the origin path of a channel's rollout document,
// written by the fleet service and signed by its rollout key.
func RolloutDoc(channel string) string {
	return path.Join("rollouts", channel+".note")
}
