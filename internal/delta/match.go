package delta

import "bytes"

// edit is one command of a patch, by position: add addLen bytes of old
// at oldPos to the new bytes at newPos, then insert the insLen new bytes
// that follow.
type edit struct {
	oldPos, newPos, addLen, insLen int
}

// edits returns the commands that make new from old, by bsdiff's scan.
func edits(old, new []byte) ([]edit, error) {
	var sa []int32
	if len(old) > 0 {
		var err error
		if sa, err = suffixArray(old); err != nil {
			return nil, err
		}
	}
	d := &differ{old: old, new: new, sa: sa}
	d.run()
	return d.edits, nil
}

// differ holds the state of one bsdiff scan.
type differ struct {
	old, new []byte
	sa       []int32
	edits    []edit
}

// slack is how much longer than the current alignment's agreement a new
// match must be to be taken (bsdiff's 8).
const slack = 8

// An exact match of approxMin bytes or more at another alignment is also
// taken when, over the approxWin bytes from there, that alignment agrees
// with new on approxMargin bytes more than the current one. bsdiff's rule
// alone keeps a wrong alignment of tables whose every entry changed a little
// (an ELF symbol table after an insertion: names and addresses move, so no
// exact match is long, and entries off by one still agree on more than half
// of their bytes). Measured on the staticcheck pair of bench/README, where
// this saves 1.8% of the patch, 15% of its non-DWARF part; the result is
// flat around these values.
const (
	approxMin    = 6
	approxWin    = 256
	approxMargin = 24
)

// run is bsdiff's main loop. scan walks new; at each position the longest
// match in old is found; it is taken when it is long and not just the
// continuation of the previous alignment (lastOffset) by 8 bytes or more,
// or when its alignment agrees clearly better over the next approxWin bytes.
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
			if n >= approxMin && pos-scan != lastOffset && d.agree(scan, pos-scan) > d.agree(scan, lastOffset)+approxMargin {
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

// emit records the command for the region from lastScan to nextScan of
// new: lenf bytes as differences from old at lastPos, the rest as literals.
// A region of no bytes makes no command: the next one's seek starts from the
// same position.
func (d *differ) emit(lastScan, lastPos, lenf, nextScan int) {
	if ins := nextScan - (lastScan + lenf); lenf+ins > 0 {
		d.edits = append(d.edits, edit{oldPos: lastPos, newPos: lastScan, addLen: lenf, insLen: ins})
	}
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

// agree returns how many of the approxWin bytes of new from scan agree with
// old at the alignment off (old position minus new position).
func (d *differ) agree(scan, off int) int {
	n := 0
	for i := scan; i < min(scan+approxWin, len(d.new)); i++ {
		if j := i + off; j >= 0 && j < len(d.old) && d.old[j] == d.new[i] {
			n++
		}
	}
	return n
}
