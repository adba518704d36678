// Package delta makes and applies Ferry's patches: the bytes that turn one
// content a device holds into the content a release wants, so that a device
// on a metered link downloads what changed, not the file.
//
// # Parties
//
// The publisher (ferry release) calls Diff with both contents in memory and
// stores the patch at layout.Delta(oldSHA256, newSHA256); it keeps a patch
// only where it is clearly smaller than the file's compressed blob. The
// device calls Apply when it holds content whose SHA-256 is the patch's base,
// streams the result through SHA-256, and stages it only if the sum is the
// one in the signed manifest. A patch is not authenticated by itself: it is
// untrusted input until that check, and any error of Apply (all of them wrap
// ErrFormat, ErrBase, ErrCorrupt, ErrTooLarge, or come from the files or
// the context) means "discard the output and fetch the full blob".
//
// # Format, version 1
//
//	"FDLT"                 magic, 4 bytes
//	0x01                   version
//	flags                  FlagDict | FlagRaw, or FlagSplit alone; other bits zero
//	uvarint oldSize        bytes of the old content the patch applies to
//	uvarint newSize        bytes of the content it makes
//	zstd frame(s)          without the first frame's 4-byte magic number
//	                       (FlagSplit: two streams, see below)
//
// The zstd frames (RFC 8878) decompress to the body. The window they
// declare is at most MaxWindow; with FlagDict they are compressed with the
// whole old content as a raw dictionary of ID 0, which the frame
// header leaves out (as zstd --patch-from does), and
// oldSize is at most MaxDict. With FlagRaw the body is the new content
// itself. Otherwise the body is a sequence of commands, bsdiff's triple:
//
//	varint seek (zigzag), uvarint addLen, uvarint insLen
//	seek:   the old position (0 at the start) moves by seek
//	add:    runs of (uvarint same, uvarint changed, changed diff bytes)
//	        covering addLen bytes: same bytes of old are copied, then each
//	        of the changed bytes is old[pos+i] + diff[i] (mod 256)
//	insert: insLen literal bytes
//
// Commands run until newSize bytes are written; the body must end exactly
// there. Every length is checked before use: a command that writes nothing,
// that would read old outside [0, oldSize] or write past newSize, or a run
// that is empty or longer than its command, is ErrCorrupt. So every command
// and every run writes at least one byte, and the work of Apply is linear in
// newSize (which the caller caps) and in the patch's size (which the caller
// caps too, when it downloads it), whatever the patch says.
//
// # FlagSplit
//
// A FlagSplit patch (flags exactly 0x04) keeps the commands and their
// literal bytes in two streams, as bsdiff does, so that each has zstd
// history and entropy tables of its own kind of data: on a Go executable
// the literals are mostly compressed DWARF, which nothing compresses. After
// newSize:
//
//	uvarint cmdLen         bytes of the command frame(s), at most MaxCommandFrame
//	cmdLen bytes           zstd frame(s) of the command stream, without the
//	                       first frame's magic; window at most MaxWindow
//	zstd frame(s)          of the literal stream, to the end of the patch,
//	                       without the first frame's magic; window at most
//	                       MaxLitWindow
//
// The command stream is the version-1 sequence of commands without the
// literal bytes: insert takes its insLen bytes from the literal stream. And
// a changed run of an add is one little-endian integer: its n bytes of old,
// read as an integer, plus its n diff bytes, read as an integer, modulo
// 256^n (the carry goes from byte i to byte i+1 of the run, not past it).
// An address that moved by a constant then gives the same diff bytes
// whatever the carries, where version 1's byte-wise sums give several. The
// same checks apply, and both streams must end where newSize is reached.
// No dictionary: FlagSplit with any other flag is ErrFormat. The patch is
// still read once, in order: Apply reads the command frame into memory,
// then decodes both streams as the commands ask, the literal frame straight
// from the patch.
//
// # Compatibility promise
//
// Every later version of this package applies version-1 patches exactly as
// described above. A change of meaning gets a new version byte or a new flag;
// an agent refuses versions and flags it does not know with ErrFormat, which
// makes it fetch the blob, so a publisher may ship a newer format to a fleet
// of older agents at the cost of bytes, never of correctness. Publishers keep
// writing version 1 until the fleet reads the next. FlagSplit is such a
// flag, the first: agents from before it fetch the blob where Diff chose
// it, and Options.NoSplit keeps a publisher to the first two flags.
//
// # Memory of Apply
//
// Apply reads the old content by position (io.ReaderAt) and writes the new
// content as a stream (io.Writer); it never holds either, so memory does not
// grow with file size. What it allocates: two 32 KiB bufio readers, two
// 32 KiB work buffers, and the zstd decoder (klauspost/compress, one
// goroutine, low-memory mode), whose history ring is the declared window
// plus two 128 KiB blocks; a window above MaxWindow is refused before it is
// allocated. With FlagDict the old content, at most MaxDict bytes, is read
// into memory as the dictionary. So the bound is about MaxDict + MaxWindow +
// 512 KiB (17 MiB) for a hostile patch, and far less for a real one, whose
// window is the smaller of MaxWindow and its body. A FlagSplit patch is
// read once too: Apply holds its command frame (at most MaxCommandFrame)
// and runs two decoders, one more bufio reader, and windows of at most
// MaxWindow and MaxLitWindow: about 4 + 8 + 2 + 0.8 = 15 MiB at worst, and
// for the staticcheck executable of bench/README (a 390 KB command frame
// that decompresses to 1.6 MB, 3.8 MB of literals) 9 MiB of peak RSS.
// TestApplyMemoryBound checks the allocations for a 64 MiB output;
// bench/rss measures the peak RSS of applying a patch to a 1 GiB file.
//
// # Generation
//
// Diff runs bsdiff's algorithm (Colin Percival, "Naive differences of
// executable code", 2003) over a suffix array of old: the longest exact match
// of each position of new, extended forwards and backwards while more than
// half of the bytes agree. bsdiff moves to the alignment of a new match only
// when it beats the current one by 8 bytes over the match; Diff also moves
// when the new alignment agrees with new on 24 more of the next 256 bytes
// (approxMin), which keeps tables whose every entry changed a little (an
// ELF symbol table after an insertion) aligned entry to entry. Extended
// regions become add commands, whose diff bytes are zero except where a
// compiler moved an address; they are sent as runs (HDiffPatch's idea),
// since zero runs are where bsdiff's diff stream spends most of its bytes.
// Unmatched regions become literals. Diff then compresses up to five bodies
// and keeps the smallest patch: the commands; and, when old is at most
// MaxDict bytes, the commands with old as zstd dictionary, and new itself
// with old as dictionary (what zstd --patch-from does, best for edited
// text); the FlagSplit streams, whose changed runs end at the first equal
// byte where version 1's end at two (each measured best); and new alone,
// when nothing else compresses well. Bodies up to 1 MiB are compressed at
// several zstd levels, and Options.Compress may add a stronger encoder (the
// reference zstd at level 19 saves 3-5%; any zstd frame with a window of at
// most MaxWindow is a valid body; a FlagSplit literal frame must also fit
// MaxLitWindow, which the reference zstd's frames of large bodies do not).
// FlagSplit wins on executables, dictionary mode on source text and on
// manifests.
//
// On the staticcheck pair of bench/README (16 MB Go executables, of which
// 3.8 MB is zlib-compressed DWARF that no tool compresses) the patch is
// 4,223,995 bytes: a 389,741-byte command frame and a 3,834,237-byte
// literal frame. Version-1 commands from the same matches take 4,280,905;
// with bsdiff's rule alone they took 4,355,487; bsdiff 4.3 takes 4,310,133.
// Generation holds both contents, the suffix array (4 bytes per byte of old)
// and the bodies in memory: the publisher has memory to spare.
//
// # Manifest deltas
//
// A release that changes a few files of a large tree must not make the
// device download the whole file list again. The device keeps the signed
// manifest note of its installed release as it was downloaded (state
// manifests/<sha256>.doc); its SHA-256 is the `manifest` digest of the pointer it
// installed from. The publisher, for each of the previous releases it keeps
// deltas for, writes the patch from that release's manifest note to the new
// one at layout.Delta(oldManifestDigest, newManifestDigest): the same path
// scheme as file deltas, because a note is content like any other. The
// device, having verified the new signed pointer, fetches that patch, applies
// it to its old note with maxOut set to the pointer's manifest-size, and
// accepts the result only if its SHA-256 equals the pointer's manifest
// digest; then it verifies the note's signatures as if it had downloaded it.
// The signature check is not weakened: the bytes verified are the bytes the
// publisher signed, whatever path they took. On any failure, or a 404 (the
// device is more releases behind than the publisher keeps), it fetches the
// full note. Manifest notes are text with one line per file, so dictionary
// mode applies and the patch costs about the changed lines: chiefly 32
// bytes of entropy per changed file's hash.
//
// A device first asks for the update bundle (package bundle), which carries
// the new note and the changed files' contents in one stream and leaves
// those 32 bytes per file to the device; the manifest patch and the file
// patches are the path when there is no bundle or it fails, and for the
// large files a bundle leaves to their own FlagSplit patch.
package delta
