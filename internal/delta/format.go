package delta

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Errors returned by this package. Callers branch on them with errors.Is;
// every one of them means "fall back to the full blob".
var (
	// ErrFormat means the patch is not a Ferry patch, or is of a version
	// this package does not read.
	ErrFormat = errors.New("delta: not a patch of a known format")
	// ErrBase means the patch was made for an old file of another size.
	ErrBase = errors.New("delta: patch does not fit the old file")
	// ErrCorrupt means the patch is damaged or hostile: a command reads
	// outside the old file, writes past the declared size, or the
	// compressed stream is broken or ends early.
	ErrCorrupt = errors.New("delta: corrupt patch")
	// ErrTooLarge means the patch would produce more than the caller's
	// limit, or its compressed stream needs a larger window than MaxWindow.
	ErrTooLarge = errors.New("delta: over the limit")
)

const (
	// Magic starts every patch.
	Magic = "FDLT"
	// Version is the format version this package writes.
	Version = 1
	// MaxWindow is the largest zstd window a patch may declare. The decoder
	// refuses larger ones, which bounds its memory.
	MaxWindow = 8 << 20
	// MaxLitWindow is the largest zstd window of the literal frame of a
	// FlagSplit patch: its literals are new content, which has little to
	// gain from a larger one.
	MaxLitWindow = 2 << 20
	// MaxCommandFrame is the largest command frame of a FlagSplit patch,
	// which Apply holds in memory while it streams the literal frame.
	MaxCommandFrame = 4 << 20
	// MaxDict is the largest old file a patch may use as its zstd
	// dictionary (flag FlagDict): Apply holds such an old file in memory.
	MaxDict = 8 << 20
	// bufSize is the size of each of apply's fixed buffers.
	bufSize = 32 << 10
)

// Flags of a patch's header. Other bits must be zero.
const (
	// FlagDict means the zstd frame was compressed with the whole old file
	// as its raw dictionary (dictionary ID 0), as zstd's --patch-from does.
	FlagDict = 1 << 0
	// FlagRaw means the frame's content is the new file itself, not a
	// command stream.
	FlagRaw = 1 << 1
	// FlagSplit means the literal bytes of the commands are in a frame of
	// their own after the commands' frame, and the changed runs of add
	// commands are added as little-endian integers. It goes alone.
	FlagSplit = 1 << 2
	// knownFlags are all the flags of this version.
	knownFlags = FlagDict | FlagRaw | FlagSplit
	// dictID is the zstd dictionary ID of the old file: 0, which frames
	// do not spell out, as with zstd --patch-from.
	dictID = 0
)

// zstdMagic starts every zstd frame. Patches leave it out (4 bytes saved on
// every small patch) and the decoder puts it back.
var zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}

// header is the uncompressed start of a patch.
type header struct {
	flags            byte
	oldSize, newSize int64
}

// appendHeader appends the encoded h to b.
func appendHeader(b []byte, h header) []byte {
	b = append(b, Magic...)
	b = append(b, Version, h.flags)
	b = binary.AppendUvarint(b, uint64(h.oldSize))
	return binary.AppendUvarint(b, uint64(h.newSize))
}

// readHeader reads and checks the header of a patch from r.
func readHeader(r *bufio.Reader) (header, error) {
	var h header
	var m [len(Magic) + 2]byte
	if _, err := io.ReadFull(r, m[:]); err != nil {
		return h, fmt.Errorf("%w: short header: %v", ErrFormat, err)
	}
	if string(m[:len(Magic)]) != Magic {
		return h, fmt.Errorf("%w: magic %q", ErrFormat, m[:len(Magic)])
	}
	if m[len(Magic)] != Version {
		return h, fmt.Errorf("%w: version %d", ErrFormat, m[len(Magic)])
	}
	if h.flags = m[len(Magic)+1]; h.flags&^knownFlags != 0 || h.flags&FlagSplit != 0 && h.flags != FlagSplit {
		return h, fmt.Errorf("%w: flags %#x", ErrFormat, h.flags)
	}
	var err error
	if h.oldSize, err = readSize(r, "old size"); err != nil {
		return h, err
	}
	if h.newSize, err = readSize(r, "new size"); err != nil {
		return h, err
	}
	return h, nil
}

// readSize reads a uvarint that must fit in an int64.
func readSize(r io.ByteReader, what string) (int64, error) {
	v, err := binary.ReadUvarint(r)
	if err != nil {
		return 0, fmt.Errorf("%w: %s: %v", ErrFormat, what, err)
	}
	if v > 1<<62 {
		return 0, fmt.Errorf("%w: %s %d", ErrFormat, what, v)
	}
	return int64(v), nil
}

// command is one step of a patch: move the old position by seek, add
// addLen bytes of old from there to as many diff bytes, then insert insLen
// literal bytes. Every command writes at least one byte.
type command struct {
	seek           int64
	addLen, insLen int64
}

// appendCommand appends the encoded c to b.
func appendCommand(b []byte, c command) []byte {
	b = binary.AppendVarint(b, c.seek)
	b = binary.AppendUvarint(b, uint64(c.addLen))
	return binary.AppendUvarint(b, uint64(c.insLen))
}

// readCommand reads one command from r.
func readCommand(r io.ByteReader) (command, error) {
	var c command
	s, err := binary.ReadVarint(r)
	if err != nil {
		return c, corrupt("command", err)
	}
	a, err := binary.ReadUvarint(r)
	if err != nil {
		return c, corrupt("command", err)
	}
	i, err := binary.ReadUvarint(r)
	if err != nil {
		return c, corrupt("command", err)
	}
	if a > 1<<62 || i > 1<<62 || s > 1<<62 || s < -(1<<62) || a+i == 0 {
		return c, fmt.Errorf("%w: command (%d, %d, %d) out of range or empty", ErrCorrupt, s, a, i)
	}
	return command{seek: s, addLen: int64(a), insLen: int64(i)}, nil
}

// streamErrors classifies this package's stream errors.
var streamErrors = StreamErrors{Corrupt: ErrCorrupt, TooLarge: ErrTooLarge}

// corrupt wraps a read error of the compressed stream.
func corrupt(what string, err error) error { return streamErrors.Wrap(what, err) }
