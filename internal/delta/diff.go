package delta

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/klauspost/compress/zstd"
)

// Options tune Diff. The zero value is the default: the smallest patch.
type Options struct {
	// Level is the zstd level of the patch body. Zero means the smallest
	// of several levels for bodies up to 1 MiB (klauspost/compress's best
	// level is not always the smallest on short text), and
	// zstd.SpeedBestCompression above.
	Level zstd.EncoderLevel
	// Compress, if not nil, is tried besides klauspost/compress.
	Compress Compressor
	// NoSplit leaves out FlagSplit patches, for a fleet with agents older
	// than FlagSplit: they would refuse such a patch and fetch the blob.
	NoSplit bool
	// DictMax, if not zero, leaves out FlagDict patches when old is larger
	// (Apply holds a FlagDict patch's old file in memory): for a large
	// file a device must patch in little memory, such as a manifest note
	// of many files. Zero means MaxDict.
	DictMax int64
}

// dictOK reports whether a FlagDict patch may be made from an old file of
// n bytes.
func (o Options) dictOK(n int) bool {
	return n > 0 && int64(n) <= cmp.Or(min(o.DictMax, MaxDict), MaxDict)
}

// levels returns the zstd levels to try for a body of n bytes.
func (o Options) levels(n int) []zstd.EncoderLevel {
	switch {
	case o.Level != 0:
		return []zstd.EncoderLevel{o.Level}
	case n <= 1<<20:
		return []zstd.EncoderLevel{zstd.SpeedBestCompression, zstd.SpeedBetterCompression, zstd.SpeedDefault, zstd.SpeedFastest}
	default:
		return []zstd.EncoderLevel{zstd.SpeedBestCompression}
	}
}

// Compressor compresses body into one zstd frame (RFC 8878) whose window
// is at most MaxWindow; when dict is not nil, with dict as its raw content
// dictionary of ID 0 (what zstd --patch-from does). A publisher may plug in a
// stronger encoder than klauspost/compress: Diff keeps its frame only where
// it is smaller, and only after applying it.
type Compressor func(body, dict []byte) ([]byte, error)

// Diff writes to w a patch that makes new from old. It holds both files, a
// suffix array of old (4 bytes per byte of old) and the uncompressed bodies
// in memory: generation is for the publisher, who has memory and CPU to
// spare; only Apply, on the device, is bounded. An old file of 2 GiB or more
// is refused with ErrTooLarge: send the blob. See the package doc for the
// algorithm.
func Diff(old, new []byte, w io.Writer, opts Options) error {
	es, err := edits(old, new)
	if err != nil {
		return err
	}
	cmds := body{cmds: v1Body(old, new, es)}
	cands := []candidate{{0, cmds}}
	if opts.dictOK(len(old)) {
		cands = append(cands, candidate{FlagDict, cmds}, candidate{FlagDict | FlagRaw, body{cmds: new}})
	}
	if !opts.NoSplit {
		cands = append(cands, candidate{FlagSplit, splitBody(old, new, es)})
	}
	cands = append(cands, candidate{FlagRaw, body{cmds: new}})
	var best []byte
	for _, c := range cands {
		if c.flags == FlagRaw && len(best) < len(new)/16 {
			continue // new alone would not compress this well: spare the CPU
		}
		if best, err = c.smallest(best, old, new, opts); err != nil {
			return err
		}
	}
	if _, err := w.Write(best); err != nil {
		return fmt.Errorf("delta: writing patch: %w", err)
	}
	return nil
}

// candidate is one way of encoding a patch: its flags and its body.
type candidate struct {
	flags byte
	body  body
}

// framer compresses data into a zstd frame, without its magic, whose window
// is at most window bytes, with dict as raw dictionary if not nil.
type framer func(data, dict []byte, window int) ([]byte, error)

// smallest returns the smallest of best and the patches of c at every
// level, and by opts.Compress.
func (c candidate) smallest(best, old, new []byte, opts Options) ([]byte, error) {
	keep := func(p []byte) {
		if p != nil && (best == nil || len(p) < len(best)) {
			best = p
		}
	}
	for _, level := range opts.levels(len(c.body.cmds) + len(c.body.lits)) {
		p, err := c.patch(old, new, func(data, dict []byte, window int) ([]byte, error) {
			return compress(data, dict, level, window)
		})
		if err != nil {
			return nil, err
		}
		keep(p)
	}
	if opts.Compress == nil {
		return best, nil
	}
	p, err := c.patch(old, new, func(data, dict []byte, _ int) ([]byte, error) {
		frame, err := opts.Compress(data, dict)
		if err != nil {
			return nil, fmt.Errorf("delta: external compressor: %w", err)
		}
		if !bytes.HasPrefix(frame, zstdMagic) {
			return nil, fmt.Errorf("delta: external compressor made no zstd frame")
		}
		return frame[len(zstdMagic):], nil
	})
	if err != nil || p == nil {
		return best, err
	}
	var out bytes.Buffer
	_, err = Apply(context.Background(), bytes.NewReader(old), int64(len(old)), bytes.NewReader(p), &out, int64(len(new)))
	switch {
	case errors.Is(err, ErrTooLarge):
		return best, nil // its window is too large for devices: not an error of the encoder
	case err != nil || !bytes.Equal(out.Bytes(), new):
		return nil, fmt.Errorf("delta: external compressor's frame does not apply: %v", err)
	}
	keep(p)
	return best, nil
}

// patch returns the patch of c with its streams compressed by frame, or
// nil if its command frame is over MaxCommandFrame.
func (c candidate) patch(old, new []byte, frame framer) ([]byte, error) {
	h := header{flags: c.flags, oldSize: int64(len(old)), newSize: int64(len(new))}
	var dict []byte
	if c.flags&FlagDict != 0 {
		dict = old
	}
	cf, err := frame(c.body.cmds, dict, MaxWindow)
	if err != nil {
		return nil, err
	}
	p := appendHeader(nil, h)
	if c.flags&FlagSplit == 0 {
		return append(p, cf...), nil
	}
	if len(cf) > MaxCommandFrame {
		return nil, nil
	}
	lf, err := frame(c.body.lits, nil, MaxLitWindow)
	if err != nil {
		return nil, err
	}
	p = binary.AppendUvarint(p, uint64(len(cf)))
	return append(append(p, cf...), lf...), nil
}

// encoders holds one zstd encoder without a dictionary per level and
// window: they are costly to make, and EncodeAll may be called concurrently.
var encoders struct {
	sync.Mutex
	m map[encoderKey]*zstd.Encoder
}

// encoderKey names a shared encoder.
type encoderKey struct {
	level  zstd.EncoderLevel
	window int
}

// encode returns the complete version-1 patch: header, then data
// compressed (with dict as the raw dictionary, if not nil).
func encode(h header, data, dict []byte, level zstd.EncoderLevel) ([]byte, error) {
	f, err := compress(data, dict, level, MaxWindow)
	if err != nil {
		return nil, err
	}
	return append(appendHeader(nil, h), f...), nil
}

// compress returns data compressed into one zstd frame of at most the given
// window (with dict as the raw dictionary, if not nil), without its magic.
func compress(data, dict []byte, level zstd.EncoderLevel, window int) ([]byte, error) {
	enc, err := encoder(level, window, dict)
	if err != nil {
		return nil, err
	}
	if dict != nil {
		defer enc.Close()
	}
	frame := enc.EncodeAll(data, nil)
	if !bytes.HasPrefix(frame, zstdMagic) {
		return nil, fmt.Errorf("delta: zstd frame starts with %x", frame[:min(4, len(frame))])
	}
	return frame[len(zstdMagic):], nil
}

// encoder returns a zstd encoder for level, window and dict: a shared one
// when dict is nil, a new one (to be closed) otherwise.
func encoder(level zstd.EncoderLevel, window int, dict []byte) (*zstd.Encoder, error) {
	opts := []zstd.EOption{zstd.WithEncoderLevel(level), zstd.WithEncoderCRC(false),
		zstd.WithWindowSize(window), zstd.WithEncoderConcurrency(1), zstd.WithZeroFrames(true)}
	if dict != nil {
		enc, err := zstd.NewWriter(nil, append(opts, zstd.WithEncoderDictRaw(dictID, dict))...)
		if err != nil {
			return nil, fmt.Errorf("delta: zstd encoder: %w", err)
		}
		return enc, nil
	}
	encoders.Lock()
	defer encoders.Unlock()
	key := encoderKey{level, window}
	if enc, ok := encoders.m[key]; ok {
		return enc, nil
	}
	enc, err := zstd.NewWriter(nil, opts...)
	if err != nil {
		return nil, fmt.Errorf("delta: zstd encoder: %w", err)
	}
	if encoders.m == nil {
		encoders.m = make(map[encoderKey]*zstd.Encoder)
	}
	encoders.m[key] = enc
	return enc, nil
}
