package delta

import (
	"bytes"
	"context"
	"errors"
	"os"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// readCLIFixture returns old, new, and the reference zstd's --patch-from
// frame of new (testdata/zstdcli/README).
func readCLIFixture(t *testing.T) (old, new, frame []byte) {
	t.Helper()
	var bs [3][]byte
	for i, name := range []string{"old.txt", "new.txt", "new.zst"} {
		b, err := os.ReadFile("testdata/zstdcli/" + name)
		if err != nil {
			t.Fatal(err)
		}
		bs[i] = b
	}
	return bs[0], bs[1], bs[2]
}

// TestApplyReferenceZstdFrame checks that a frame of the reference zstd
// (--patch-from) is a valid FlagDict|FlagRaw body: the format is zstd's, not
// one library's.
func TestApplyReferenceZstdFrame(t *testing.T) {
	t.Parallel()
	old, new, frame := readCLIFixture(t)
	p := append(appendHeader(nil, header{FlagDict | FlagRaw, int64(len(old)), int64(len(new))}), frame[len(zstdMagic):]...)
	var out bytes.Buffer
	if _, err := Apply(context.Background(), bytes.NewReader(old), int64(len(old)), bytes.NewReader(p), &out, int64(len(new))); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if !bytes.Equal(out.Bytes(), new) {
		t.Fatal("Apply of the reference frame did not make new")
	}
}

func TestDiffCompressor(t *testing.T) {
	t.Parallel()
	old, new, frame := readCLIFixture(t)
	var plain bytes.Buffer
	if err := Diff(old, new, &plain, Options{}); err != nil {
		t.Fatal(err)
	}
	ref := func(body, dict []byte) ([]byte, error) {
		if dict != nil && bytes.Equal(body, new) {
			return frame, nil
		}
		return encodeFrame(t, body, dict), nil
	}
	tests := []struct {
		name    string
		compr   Compressor
		wantErr bool
		maxLen  int
	}{
		{"reference zstd", ref, false, min(plain.Len(), len(frame)+16)},
		{"not zstd", func(body, dict []byte) ([]byte, error) { return []byte("nope"), nil }, true, 0},
		{"wrong content", func(body, dict []byte) ([]byte, error) { return encodeFrame(t, []byte("other"), nil), nil }, true, 0},
		{"failing", func(body, dict []byte) ([]byte, error) { return nil, errors.New("boom") }, true, 0},
		{"window too large", func(body, dict []byte) ([]byte, error) { return append(zstdMagic, rawFrame(24, body)...), nil }, false, plain.Len()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var p bytes.Buffer
			err := Diff(old, new, &p, Options{Compress: tt.compr})
			if (err != nil) != tt.wantErr {
				t.Fatalf("Diff: %v, want error %v", err, tt.wantErr)
			}
			if err == nil && p.Len() > tt.maxLen {
				t.Errorf("patch of %d bytes, want at most %d", p.Len(), tt.maxLen)
			}
		})
	}
}

// encodeFrame returns a zstd frame of body by this package's encoder.
func encodeFrame(t *testing.T, body, dict []byte) []byte {
	t.Helper()
	p, err := encode(header{}, body, dict, zstd.SpeedBestCompression)
	if err != nil {
		t.Fatal(err)
	}
	return append(append([]byte{}, zstdMagic...), p[len(appendHeader(nil, header{})):]...)
}
