package delta

import (
	"bytes"
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
	cmds, err := commands(old, new)
	if err != nil {
		return err
	}
	cands := []candidate{{0, cmds}}
	if len(old) > 0 && len(old) <= MaxDict {
		cands = append(cands, candidate{FlagDict, cmds}, candidate{FlagDict | FlagRaw, new})
	}
	cands = append(cands, candidate{FlagRaw, new})
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
	body  []byte
}

// smallest returns the smallest of best and the patches of c at every
// level, and by opts.Compress.
func (c candidate) smallest(best, old, new []byte, opts Options) ([]byte, error) {
	h := header{flags: c.flags, oldSize: int64(len(old)), newSize: int64(len(new))}
	var dict []byte
	if c.flags&FlagDict != 0 {
		dict = old
	}
	keep := func(p []byte) {
		if best == nil || len(p) < len(best) {
			best = p
		}
	}
	for _, level := range opts.levels(len(c.body)) {
		p, err := encode(h, c.body, dict, level)
		if err != nil {
			return nil, err
		}
		keep(p)
	}
	if opts.Compress == nil {
		return best, nil
	}
	frame, err := opts.Compress(c.body, dict)
	if err != nil {
		return nil, fmt.Errorf("delta: external compressor: %w", err)
	}
	if !bytes.HasPrefix(frame, zstdMagic) {
		return nil, fmt.Errorf("delta: external compressor made no zstd frame")
	}
	p := append(appendHeader(nil, h), frame[len(zstdMagic):]...)
	var out bytes.Buffer
	_, err = Apply(context.Background(), bytes.NewReader(old), h.oldSize, bytes.NewReader(p), &out, h.newSize)
	switch {
	case errors.Is(err, ErrTooLarge):
		return best, nil // its window is too large for devices: not an error of the encoder
	case err != nil || !bytes.Equal(out.Bytes(), new):
		return nil, fmt.Errorf("delta: external compressor's frame does not apply: %v", err)
	}
	keep(p)
	return best, nil
}

// encoders holds one zstd encoder without a dictionary per level: they are
// costly to make, and EncodeAll may be called concurrently.
var encoders struct {
	sync.Mutex
	m map[zstd.EncoderLevel]*zstd.Encoder
}

// encode returns the complete patch: header, then data compressed (with
// dict as the raw dictionary, if not nil), without the frame's magic.
func encode(h header, data, dict []byte, level zstd.EncoderLevel) ([]byte, error) {
	enc, err := encoder(level, dict)
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
	return append(appendHeader(nil, h), frame[len(zstdMagic):]...), nil
}

// encoder returns a zstd encoder for level and dict: a shared one when dict
// is nil, a new one (to be closed) otherwise.
func encoder(level zstd.EncoderLevel, dict []byte) (*zstd.Encoder, error) {
	opts := []zstd.EOption{zstd.WithEncoderLevel(level), zstd.WithEncoderCRC(false),
		zstd.WithWindowSize(MaxWindow), zstd.WithEncoderConcurrency(1), zstd.WithZeroFrames(true)}
	if dict != nil {
		enc, err := zstd.NewWriter(nil, append(opts, zstd.WithEncoderDictRaw(dictID, dict))...)
		if err != nil {
			return nil, fmt.Errorf("delta: zstd encoder: %w", err)
		}
		return enc, nil
	}
	encoders.Lock()
	defer encoders.Unlock()
	if enc, ok := encoders.m[level]; ok {
		return enc, nil
	}
	enc, err := zstd.NewWriter(nil, opts...)
	if err != nil {
		return nil, fmt.Errorf("delta: zstd encoder: %w", err)
	}
	if encoders.m == nil {
		encoders.m = make(map[zstd.EncoderLevel]*zstd.Encoder)
	}
	encoders.m[level] = enc
	return enc, nil
}

// commands returns the uncompressed command stream that makes new from old.
func commands(old, new []byte) ([]byte, error) {
	var sa []int32
	if len(old) > 0 {
		var err error
		if sa, err = suffixArray(old); err != nil {
			return nil, err
		}
	}
	d := &differ{old: old, new: new, sa: sa}
	d.run()
	return d.out, nil
}

// differ holds the state of one bsdiff scan.
type differ struct {
	old, new []byte
	sa       []int32
	out      []byte
	pos      int // position in old after the commands in out
}

const (
	// slack is how much longer than the current alignment's agreement a new
	// match must be to be taken (bsdiff's 8).
	slack = 8
	// gap is the number of equal bytes in a row that end a run of changed
	// bytes; measured on Go executables, 2 is best.
	gap = 2
)

// run is bsdiff's main loop. scan walks new; at each position the longest
// match in old is found; it is taken when it is long and not just the
// continuation of the previous alignment (lastOffset) by 8 bytes or more.
func (d *differ) run() {
	old, nw := d.old, d.new
	var scan, n, pos, lastScan, lastPos, lastOffset int
	for scan < len(nw) {
		oldScore := 0
		scan += n
		for scsc := scan; scan < len(nw); scan++ {
			pos, n = d.search(nw[scan:])
			for ; scsc < scan+n; scsc++ {
				if i := scsc + lastOffset; i >= 0 && i < len(old) && old[i] == nw[scsc] {
					oldScore++
				}
			}
			if (n == oldScore && n != 0) || n > oldScore+slack {
				break
			}
			if i := scan + lastOffset; i >= 0 && i < len(old) && old[i] == nw[scan] {
				oldScore--
			}
		}
		if n != oldScore || scan == len(nw) {
			lenf, lenb := d.extend(scan, pos, lastScan, lastPos)
			d.emit(lastScan, lastPos, lenf, scan-lenb)
			lastScan, lastPos, lastOffset = scan-lenb, pos-lenb, pos-scan
		}
	}
}

// extend returns how far the previous match (at lastScan in new, lastPos in
// old) extends forwards and the next one (at scan, pos) backwards, keeping
// each extension where more than half of its bytes agree, and splitting any
// overlap where it matches best.
func (d *differ) extend(scan, pos, lastScan, lastPos int) (lenf, lenb int) {
	old, nw := d.old, d.new
	s, sf := 0, 0
	for i := 0; lastScan+i < scan && lastPos+i < len(old); {
		if old[lastPos+i] == nw[lastScan+i] {
			s++
		}
		i++
		if s*2-i > sf*2-lenf {
			sf, lenf = s, i
		}
	}
	if scan < len(nw) {
		s, sb := 0, 0
		for i := 1; scan >= lastScan+i && pos >= i; i++ {
			if old[pos-i] == nw[scan-i] {
				s++
			}
			if s*2-i > sb*2-lenb {
				sb, lenb = s, i
			}
		}
	}
	if overlap := lastScan + lenf - (scan - lenb); overlap > 0 {
		s, ss, lens := 0, 0, 0
		for i := 0; i < overlap; i++ {
			if nw[lastScan+lenf-overlap+i] == old[lastPos+lenf-overlap+i] {
				s++
			}
			if nw[scan-lenb+i] == old[pos-lenb+i] {
				s--
			}
			if s > ss {
				ss, lens = s, i+1
			}
		}
		lenf += lens - overlap
		lenb -= lens
	}
	return lenf, lenb
}

// emit appends the command for the region from lastScan to nextScan of new:
// a seek in old to lastPos, lenf bytes as differences from old there, the
// rest as literals. A region of no bytes makes no command: the next one's
// seek starts from the same position.
func (d *differ) emit(lastScan, lastPos, lenf, nextScan int) {
	ins := nextScan - (lastScan + lenf)
	if lenf+ins == 0 {
		return
	}
	d.out = appendCommand(d.out, command{seek: int64(lastPos - d.pos), addLen: int64(lenf), insLen: int64(ins)})
	d.pos = lastPos + lenf
	d.emitAdd(d.new[lastScan:lastScan+lenf], d.old[lastPos:lastPos+lenf])
	d.out = append(d.out, d.new[lastScan+lenf:nextScan]...)
}

// emitAdd appends nw as sparse differences from old (of the same length):
// runs of equal bytes, each followed by a run of diff bytes that ends before
// two equal bytes in a row. Long zero runs are where bsdiff's diff stream
// spends most of its bytes; a length is cheaper.
func (d *differ) emitAdd(nw, old []byte) {
	for i := 0; i < len(nw); {
		start := i
		for i < len(nw) && nw[i] == old[i] {
			i++
		}
		mid := i
		for i < len(nw) && !equalRun(nw[i:], old[i:]) {
			i++
		}
		d.out = binary.AppendUvarint(d.out, uint64(mid-start))
		d.out = binary.AppendUvarint(d.out, uint64(i-mid))
		for j := mid; j < i; j++ {
			d.out = append(d.out, nw[j]-old[j])
		}
	}
}

// equalRun reports whether nw and old start with gap equal bytes, or are
// equal to their end.
func equalRun(nw, old []byte) bool {
	n := min(gap, len(nw))
	return bytes.Equal(nw[:n], old[:n])
}

// search returns the position and length of the longest match in old of a
// prefix of nw, by binary search of the suffix array.
func (d *differ) search(nw []byte) (pos, n int) {
	if len(d.sa) == 0 {
		return 0, 0
	}
	st, en := 0, len(d.sa)-1
	for en-st >= 2 {
		x := st + (en-st)/2
		if bytes.Compare(d.old[d.sa[x]:], nw) < 0 {
			st = x
		} else {
			en = x
		}
	}
	x, y := matchLen(d.old[d.sa[st]:], nw), matchLen(d.old[d.sa[en]:], nw)
	if x > y {
		return int(d.sa[st]), x
	}
	return int(d.sa[en]), y
}

// matchLen returns the length of the common prefix of a and b.
func matchLen(a, b []byte) int {
	n := min(len(a), len(b))
	for i := range n {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}
