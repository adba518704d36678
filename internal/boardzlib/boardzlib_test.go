package boardzlib

import (
	"bytes"
	"compress/zlib"
	"io"
	"testing"

	"github.com/ferry-ota/ferry/internal/layout"
	"github.com/ferry-ota/ferry/internal/reltest"
)

// TestEncode: the stream is RFC 1950 (stdlib zlib decodes it, Adler-32
// included), its header declares the 2^ZlibWindowBits window, and even
// incompressible content stays under layout.ZlibCap.
func TestEncode(t *testing.T) {
	inputs := map[string][]byte{
		"empty":     nil,
		"text":      bytes.Repeat([]byte("ferry over the air\n"), 5000),
		"random":    []byte(reltest.Random(300_000, 1)),
		"random1":   []byte(reltest.Random(1, 2)),
		"far-match": bytes.Repeat([]byte(reltest.Random(3000, 3)), 4),
	}
	for name, in := range inputs {
		var buf bytes.Buffer
		n, err := Encode(&buf, bytes.NewReader(in))
		if err != nil || n != int64(buf.Len()) {
			t.Fatalf("%s: Encode = %d, %v (wrote %d)", name, n, err, buf.Len())
		}
		z := buf.Bytes()
		if cinfo := int(z[0] >> 4); cinfo+8 != layout.ZlibWindowBits || z[0]&15 != 8 || (int(z[0])<<8|int(z[1]))%31 != 0 {
			t.Errorf("%s: header %x: want CM 8, CINFO %d, check bits", name, z[:2], layout.ZlibWindowBits-8)
		}
		r, err := zlib.NewReader(bytes.NewReader(z))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out, err := io.ReadAll(r)
		if err != nil || !bytes.Equal(out, in) {
			t.Errorf("%s: round trip: %v, %d bytes of %d", name, err, len(out), len(in))
		}
		if int64(len(z)) > layout.ZlibCap(int64(len(in))) {
			t.Errorf("%s: %d bytes, over ZlibCap(%d) = %d", name, len(z), len(in), layout.ZlibCap(int64(len(in))))
		}
	}
}
