// Package mbundle makes and reads the update bundles of MicroPython boards
// (layout.MBundle): one small file that takes a board from the release it
// holds to the next one, carrying the commands that rebuild the new
// manifest note from the old one and the changed files' contents in a
// single zlib stream the board's deflate module decodes in a 2 KiB window.
//
// # Why
//
// Without it a board downloads, per changed file, the 32 bytes of entropy
// of the file's new SHA-256 (in the manifest note's .mpatch) and a zlib
// stream of its own (its .mpatch or .z blob, about 30 bytes for a one-line
// edit), each in its own request. The Linux agent's update bundle (package
// bundle) leaves the digests out and shares one compressed stream; so does
// this one, in the form a board can afford: deflate with the .z blobs'
// window (layout.ZlibWindowBits) instead of zstd, and copies from the old
// file on flash (seeking in it) instead of a dictionary held in memory.
//
// # Trust
//
// A bundle is not signed and is untrusted input until the board has
// checked the note it makes. The board stages each decoded file (its
// SHA-256 computed while it streams, the file named by that digest), puts
// those digests into the note where the bundle says, and then checks the
// note's size and SHA-256 against the signed channel pointer and its
// signatures exactly as for a downloaded note, before anything is
// installed; the installer then takes a staged file only for a verified
// manifest line naming its digest, and checks it again. One wrong bit of
// one file changes its digest, hence the note's, and the bundle is refused
// with the flash untouched. A board falls back to the per-file path (the
// note's .mpatch, the files' .mpatch or .z blobs) only when the origin has
// no bundle (404), when a base file on its flash no longer holds the
// content of its old manifest line (Apply's ErrBase), or when its flash
// lacks the room to stage a file; a bundle that does not decode or check
// is refused.
//
// # Format, version 1
//
// The file is a zlib stream (RFC 1950; CINFO = layout.ZlibWindowBits-8,
// match distances within 2^layout.ZlibWindowBits bytes) of:
//
//	"FMB1"
//	uvarint n                          the files, at most the board's max_files
//	n times:
//	    uvarint base                   0: no base; else 1 + the byte offset, in the
//	                                   old manifest note, of the start of a file
//	                                   line ("f MODE SIZE ZSIZE SHA256 PATH"): the
//	                                   board's file at PATH, which must hold that
//	                                   line's content
//	    uvarint size                   bytes of the new content
//	    commands, then 'E'             that make exactly size bytes
//	commands, then 'E'                 that make the new manifest note
//	(end of the zlib stream)
//
// Commands ('C' and 'L' lengths are at least 1):
//
//	'C' zigzag(offset-pos) uvarint(len)  copy len bytes of the source (the base
//	                                     file, or for the note the old note) from
//	                                     offset; pos is the bytes made so far of
//	                                     the content being made
//	'L' uvarint(len) bytes               literal bytes
//	'H'                                  (note only) the 64 lowercase hex digits of
//	                                     the SHA-256 of the next file's content, in
//	                                     file order; every file's exactly once
//
// Numbers are unsigned LEB128 (encoding/binary's Uvarint); zigzag maps a
// signed v to (v<<1)^(v>>63). The bundle for the release with note NEW,
// for a board holding the note OLD, is at layout.MBundle(sha256(OLD),
// sha256(NEW)); it is at most MaxSize(len(NEW), total content) bytes, so
// a board caps the download by the size the pointer names and its
// max_total_mb. A reader refuses: another magic, more files than its cap, a
// file over its max_file_mb or files over its max_total_mb together, a
// command that makes more than the declared size or a note longer than the
// pointer's size, a copy outside its source, a zero length, an unknown
// command, fewer or more 'H' than files, and anything after the note's 'E'.
//
// # Compatibility promise
//
// Version 1 is new (issue #14). Every later board reads version-1 bundles
// exactly as described above. A change of meaning gets a new magic
// ("FMB2", ...) at a new path (layout.MBundle's extension), so that boards
// made before it get a 404 and take the per-file path; a board refuses a
// magic it does not know. The window is fixed: a larger one would need a
// new name (boards decode with exactly this one).
//
// # Choice of files (Make)
//
// Make lists every file of the new release whose path and content are not
// both in the old one (a SHA-256 line, of at most Options.MaxFile bytes,
// while their sizes add up to at most Options.MaxContent), each distinct
// content once: a second line with the same digest gets it as literal hex.
// A file's base is the old file at the same path, else an old file with the
// same content (a move), else manifest.RelatedBase's. Notes over MaxNote
// (1 MiB: far more than a board holds) get no bundle. The publisher keeps a
// bundle unless it is larger than what it replaces (package publish).
package mbundle
