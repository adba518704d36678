// Package bundle makes and applies Ferry's update bundles: one small file
// that takes a device from the release it holds to the next one, carrying
// the new manifest and the new content of the changed files in a single
// compressed stream, with everything the device already holds (its old
// manifest note and the old versions of those files) as the dictionary.
//
// # Why a bundle
//
// Per-file patches (package delta) pay, on every update, for what the
// whole-tree tools do not: a compressed frame per file, a new file
// compressed without the rest of the tree as context, and the 32 bytes of
// entropy of every changed file's SHA-256 in the manifest patch. On a
// source-tree update of a few KB that is about a third of the bytes. A
// bundle shares one zstd context across the manifest and every file, and
// leaves the changed files' digests out of the stream: the device computes
// them from the content it decodes, puts them into the manifest, and then
// checks the whole manifest note against the SHA-256 the signed channel
// pointer names. If one bit of one file is wrong, that check fails.
//
// # Trust
//
// A bundle is not signed and is untrusted input until that check. Apply
// writes the decoded contents only through the caller's writers (the agent
// puts them in its downloads folder, never in the target) and returns the
// note only if its SHA-256 is the one the caller expects; the caller then
// verifies the note's signatures as for a downloaded note, and the
// installer verifies every file against the verified manifest as it stages
// it. The signature check is not weakened: the bytes verified are the bytes
// the publisher signed, whatever path they took, and a file's content is
// only trusted through its digest in those bytes. What a hostile bundle can
// do is bounded: it makes at most MaxContent bytes of output and a note of
// the caller's size, allocates at most MaxDict + MaxWindow, and on any error
// the caller discards its output and takes the per-file path (manifest
// patch, file patches, blobs).
//
// # Format, version 1
//
//	"FBDL"                  magic, 4 bytes
//	0x01                    version
//	0x00                    flags; all bits must be zero
//	uvarint oldNoteSize     bytes of the device's manifest note
//	uvarint newNoteSize     bytes of the new manifest note
//	uvarint nBases          then nBases uvarint gaps: indexes into the old
//	                        manifest's files, ascending (first gap from -1)
//	uvarint nFiles          then nFiles uvarint gaps: indexes into the new
//	                        manifest's files, ascending (first gap from -1)
//	zstd frame(s)           without the first frame's 4-byte magic number
//
// The dictionary is the old manifest note followed by the contents of the
// bases, in that order: at most MaxDict bytes, held in memory, given to the
// zstd decoder as a raw content dictionary of ID 0 (as zstd --patch-from
// does). The frames, whose window is at most MaxWindow, decompress to the
// new manifest note, newNoteSize bytes, with the SHA-256 field of each
// listed file's line left to the device (any 64 hex digits; the publisher
// writes the old digest of the same path, or zeros), followed by the
// content of each listed file, in order, each of the size its line gives,
// and nothing after. A listed file must be an "f" line of the note; the
// listed sizes add up to at most MaxContent. The device replaces each listed
// line's digest field with the SHA-256 of the content it decoded.
//
// Bundles live on the origin at layout.Bundle(oldNoteDigest, newNoteDigest),
// beside the manifest patch layout.Delta(oldNoteDigest, newNoteDigest),
// which the agent fetches when there is no bundle or it fails.
//
// # Compatibility promise
//
// Every later version of this package applies version-1 bundles exactly as
// described above. A change of meaning gets a new version byte or a flag;
// Apply refuses versions and flags it does not know with ErrFormat, which
// sends the agent down the per-file path, so a publisher may ship a newer
// bundle to a fleet of older agents at the cost of bytes, never of
// correctness.
//
// # Choice of files (Make)
//
// The publisher lists every file of the new release whose path and content
// are not both in the old one, of at most MaxFile bytes, while their sizes
// add up to at most MaxContent. The bases are, for each listed file, the old
// file at the same path or, for a new path, the one manifest.RelatedBase
// picks, while the dictionary stays within MaxDict. Larger files (an
// executable) keep their per-file patch, made by bsdiff's method, which is
// better for them than a dictionary. The publisher keeps a bundle only when
// it is smaller than what it replaces: the manifest patch and the listed
// files' patches or blobs. It makes none from an old note over
// publish.ManifestDictMax (1 MiB, a release of about 10,000 files): the
// device would hold that note in memory as the dictionary; its manifest
// patch is then one the device applies reading the old note from its file.
package bundle
