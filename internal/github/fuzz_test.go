package github

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// FuzzParseTree feeds hostile tree listings to ParseTree: it must never
// panic, never keep more entries than the cap, and fail only with
// ErrProtocol or ErrTreeTooLarge.
func FuzzParseTree(f *testing.F) {
	f.Add([]byte(`{"sha":"0123456789012345678901234567890123456789","url":"u","tree":[{"path":"a","mode":"100644","type":"blob","sha":"0123456789012345678901234567890123456789","size":3,"url":"u"},{"path":"d","mode":"040000","type":"tree","sha":"0123456789012345678901234567890123456789"}],"truncated":false}`), 10)
	f.Add([]byte(`{"tree":[{"path":"x"},{"path":"y"},{"path":"z"}],"truncated":true}`), 2)
	f.Add([]byte(`{"tree":{"path":"x"}}`), 5)
	f.Add([]byte(`{"tree":[1,2,3]}`), 5)
	f.Add([]byte(`[]`), 5)
	f.Add([]byte(`{"sha":1}`), 5)
	f.Add([]byte(`{"tree":[{"size":-1,"path":"../../etc/passwd"}]`), 5)
	f.Fuzz(func(t *testing.T, data []byte, max int) {
		if max < 0 || max > 1000 {
			max = 10
		}
		tr, err := ParseTree(bytes.NewReader(data), max)
		if err != nil {
			if !errors.Is(err, ErrProtocol) && !errors.Is(err, ErrTreeTooLarge) {
				t.Fatalf("ParseTree error %v wraps neither ErrProtocol nor ErrTreeTooLarge", err)
			}
			return
		}
		if !bytes.HasSuffix(bytes.TrimSpace(data), []byte("}")) {
			t.Fatalf("ParseTree accepted a listing that does not end with }: %q", data)
		}
		if len(tr.Entries) > max {
			t.Fatalf("ParseTree kept %d entries, cap %d", len(tr.Entries), max)
		}
	})
}

// FuzzAssetName checks that every asset name is one GitHub keeps as it is,
// and that distinct clean paths without "_" or "-" get distinct names.
func FuzzAssetName(f *testing.F) {
	for _, s := range []string{"channels/stable.note", "keys/signing-keys.note", "a b/c+d", ".x", "x.", "ü/ß", "a//b", "../x"} {
		f.Add(s, "other/path")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		na, errA := AssetName(a)
		nb, errB := AssetName(b)
		if errA != nil {
			if !errors.Is(errA, ErrAssetName) {
				t.Fatalf("AssetName(%q) error %v does not wrap ErrAssetName", a, errA)
			}
			return
		}
		if strings.IndexFunc(na, func(r rune) bool { return !assetRune(r) }) >= 0 || strings.HasPrefix(na, ".") || strings.HasSuffix(na, ".") {
			t.Fatalf("AssetName(%q) = %q, which GitHub would rename", a, na)
		}
		plain := func(s string) bool { return !strings.ContainsAny(s, "_-") }
		if errB == nil && a != b && na == nb && plain(a) && plain(b) {
			t.Fatalf("AssetName(%q) = AssetName(%q) = %q", a, b, na)
		}
	})
}

// FuzzContentRange feeds hostile Content-Range headers of raw-file answers
// to contentRange: it must never panic, and what it accepts is a start
// that is not negative, before the total when the total is known, and
// the header's own numbers.
func FuzzContentRange(f *testing.F) {
	for _, s := range []string{"bytes 0-9/10", "bytes 5-9/*", "bytes 9-9/9", "bytes -1-3/4", "bytes 3/4", "", "bytes 1-2/x", "bytes 99999999999999999999-1/2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		start, total, ok := contentRange(v)
		if !ok {
			return
		}
		if start < 0 || (total != -1 && total <= start) {
			t.Fatalf("contentRange(%q) = %d, %d: accepted", v, start, total)
		}
		if !strings.HasPrefix(v, "bytes ") {
			t.Fatalf("contentRange(%q) accepted a header without the bytes unit", v)
		}
	})
}
