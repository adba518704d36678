package zstdcli

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// need returns the zstd command, or ends the test: in CI (which installs
// zstd) its absence is a failure, elsewhere a skip saying how to install it.
func need(t *testing.T) string {
	t.Helper()
	p, err := Find("auto")
	if errors.Is(err, ErrNotFound) {
		if os.Getenv("CI") != "" {
			t.Fatal("zstd missing in CI: .ci/run installs it")
		}
		t.Skip("the zstd command is not installed: apt-get install zstd")
	}
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestFind(t *testing.T) { // not parallel: it sets PATH
	if p, err := Find("off"); p != "" || err != nil {
		t.Fatalf(`Find("off") = %q, %v`, p, err)
	}
	if _, err := Find("/no/such/zstd"); err == nil {
		t.Fatal("a missing path was accepted")
	}
	t.Setenv("PATH", t.TempDir())
	if _, err := Find("auto"); !errors.Is(err, ErrNotFound) {
		t.Fatalf(`Find("auto") with an empty PATH: %v`, err)
	}
}

// TestCompressor: the frames decode with klauspost/compress (the device's
// decoder), with and without a raw dictionary, within the window asked.
func TestCompressor(t *testing.T) {
	t.Parallel()
	compress := Compressor(need(t), 20)
	dict := []byte(strings.Repeat("the old content of a file, line after line\n", 200))
	body := append(bytes.Clone(dict[:4000]), "and a new line\n"...)
	for name, d := range map[string][]byte{"no dictionary": nil, "dictionary": dict} {
		t.Run(name, func(t *testing.T) {
			frame, err := compress(body, d)
			if err != nil {
				t.Fatal(err)
			}
			opts := []zstd.DOption{zstd.WithDecoderMaxWindow(1 << 20)}
			if d != nil {
				opts = append(opts, zstd.WithDecoderDictRaw(0, d))
			}
			dec, err := zstd.NewReader(nil, opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer dec.Close()
			got, err := dec.DecodeAll(frame, nil)
			if err != nil || !bytes.Equal(got, body) {
				t.Fatalf("decoded %d bytes, err %v", len(got), err)
			}
			if d != nil && len(frame) > 60 {
				t.Fatalf("%d bytes with the dictionary: --patch-from not used", len(frame))
			}
		})
	}
}

func TestCompressorError(t *testing.T) {
	t.Parallel()
	if _, err := Compressor("/no/such/zstd", 20)([]byte("x"), nil); err == nil {
		t.Fatal("no error from a missing command")
	}
}
