package origin_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/ferry-ota/ferry/internal/origin"
	"github.com/ferry-ota/ferry/internal/origin/origintest"
)

// zeros serves size zero bytes at any path, without holding them in memory.
type zeros int64

func (z zeros) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Length", fmt.Sprint(int64(z)))
	io.CopyN(w, zeroReader{}, int64(z))
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// BenchmarkDownload measures the resumable transfer over loopback HTTP and
// from a folder. B/op must not grow with the file size: a transfer streams
// through one fixed buffer.
//
//	go test -run '^$' -bench Download -benchmem ./internal/origin/
func BenchmarkDownload(b *testing.B) {
	for _, size := range []int64{1 << 20, 16 << 20} {
		b.Run(fmt.Sprintf("http/%dMiB", size>>20), func(b *testing.B) {
			srv := httptest.NewServer(zeros(size))
			b.Cleanup(srv.Close)
			src := origin.NewHTTP(mustParse(b, srv.URL), origin.HTTPOptions{})
			benchDownload(b, src, size)
		})
		b.Run(fmt.Sprintf("dir/%dMiB", size>>20), func(b *testing.B) {
			dir := b.TempDir()
			origintest.WriteFiles(b, dir, map[string][]byte{"f": nil})
			if err := os.Truncate(filepath.Join(dir, "f"), size); err != nil {
				b.Fatal(err)
			}
			benchDownload(b, origin.NewDir(dir), size)
		})
	}
}

func benchDownload(b *testing.B, src origin.Source, size int64) {
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		n, err := origin.Download(b.Context(), src, origin.Request{Path: "f", MaxSize: size}, io.Discard, 0, origin.RetryPolicy{})
		if err != nil || n != size {
			b.Fatalf("Download: %d bytes, %v", n, err)
		}
	}
}
