package delta

import (
	"bytes"
	"fmt"
	"io"

	"github.com/klauspost/compress/zstd"
)

// Options tune Diff. The zero value is the default: the best compression.
type Options struct {
	// Level is the zstd level of the command stream; zero means
	// zstd.SpeedBestCompression.
	Level zstd.EncoderLevel
}

// Diff writes to w a patch that makes new from old. It holds both files, a
// suffix array of old (4 bytes per byte of old) and the uncompressed command
// stream in memory: generation is for the publisher, who has memory and CPU
// to spare; only Apply, on the device, is bounded.
//
// The generator is bsdiff's (Colin Percival, "Naive differences of
// executable code", 2003): a suffix array finds long exact matches, each is
// extended forwards and backwards while more than half of the bytes still
// agree, and the region between two extended matches is sent as literal
// bytes. The extended regions are sent as byte-wise differences from old,
// mostly zeros with a few small numbers where a compiler moved an address:
// that is what makes executables small. The command stream is compressed by
// zstd, and, should the patch come out larger than new compressed alone, the
// patch is instead a single literal insert of new.
func Diff(old, new []byte, w io.Writer, opts Options) error {
	cmds, err := commands(old, new)
	if err != nil {
		return err
	}
	p, err := encode(header{oldSize: int64(len(old)), newSize: int64(len(new))}, cmds, opts)
	if err != nil {
		return err
	}
	if alt := appendCommand(nil, command{insLen: int64(len(new))}); len(p) > len(alt)+len(new)/4 {
		q, err := encode(header{oldSize: int64(len(old)), newSize: int64(len(new))}, append(alt, new...), opts)
		if err != nil {
			return err
		}
		if len(q) < len(p) {
			p = q
		}
	}
	if _, err := w.Write(p); err != nil {
		return fmt.Errorf("delta: writing patch: %w", err)
	}
	return nil
}

// encode returns the complete patch: header, then cmds compressed.
func encode(h header, cmds []byte, opts Options) ([]byte, error) {
	level := opts.Level
	if level == 0 {
		level = zstd.SpeedBestCompression
	}
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(level), zstd.WithEncoderCRC(false),
		zstd.WithWindowSize(MaxWindow), zstd.WithEncoderConcurrency(1))
	if err != nil {
		return nil, fmt.Errorf("delta: zstd encoder: %w", err)
	}
	defer enc.Close()
	return enc.EncodeAll(cmds, appendHeader(nil, h)), nil
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
}

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
			if (n == oldScore && n != 0) || n > oldScore+8 {
				break
			}
			if i := scan + lastOffset; i >= 0 && i < len(old) && old[i] == nw[scan] {
				oldScore--
			}
		}
		if n != oldScore || scan == len(nw) {
			lenf, lenb := d.extend(scan, pos, lastScan, lastPos)
			d.emit(lastScan, lastPos, lenf, scan-lenb, pos-lenb)
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
// lenf bytes as differences from old at lastPos, the rest as literals, then
// a seek in old to nextPos.
func (d *differ) emit(lastScan, lastPos, lenf, nextScan, nextPos int) {
	ins := nextScan - (lastScan + lenf)
	d.out = appendCommand(d.out, command{addLen: int64(lenf), insLen: int64(ins), seek: int64(nextPos - (lastPos + lenf))})
	for i := range lenf {
		d.out = append(d.out, d.new[lastScan+i]-d.old[lastPos+i])
	}
	d.out = append(d.out, d.new[lastScan+lenf:nextScan]...)
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
