// Package boardzlib writes the zlib streams MicroPython boards decode: RFC
// 1950 with a deflate window of 2^layout.ZlibWindowBits bytes, declared in
// the stream's header, so that a board's deflate.DeflateIO needs no more
// history than that (the .z blobs, .mpatch files and update bundles of
// `ferry release --for micropython`).
package boardzlib

import (
	"encoding/binary"
	"fmt"
	"hash/adler32"
	"io"

	"github.com/klauspost/compress/flate"

	"github.com/ferry-ota/ferry/internal/layout"
)

// Encode writes src to dst as a zlib stream whose deflate window is
// 2^layout.ZlibWindowBits bytes (the header says so), and returns the bytes
// written.
func Encode(dst io.Writer, src io.Reader) (int64, error) {
	cw := &countWriter{w: dst}
	cmf := byte((layout.ZlibWindowBits-8)<<4 | 8) // CINFO, CM=8 (deflate)
	flg := byte(2 << 6)                           // FLEVEL 2 (default), no dictionary
	flg += byte(31 - (uint16(cmf)<<8|uint16(flg))%31)
	if _, err := cw.Write([]byte{cmf, flg}); err != nil {
		return cw.n, err
	}
	fw, err := flate.NewWriterWindow(cw, 1<<layout.ZlibWindowBits)
	if err != nil {
		return cw.n, fmt.Errorf("deflate encoder: %w", err)
	}
	sum := adler32.New()
	if _, err := io.Copy(fw, io.TeeReader(src, sum)); err != nil {
		return cw.n, err
	}
	if err := fw.Close(); err != nil {
		return cw.n, err
	}
	_, err = cw.Write(binary.BigEndian.AppendUint32(nil, sum.Sum32()))
	return cw.n, err
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	k, err := c.w.Write(p)
	c.n += int64(k)
	return k, err
}
