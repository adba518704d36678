package install

import (
	"bytes"
	"fmt"
	"hash"

	"github.com/ferry-ota/ferry/internal/manifest"
)

// verifier is a writer that checks what flows through it against a manifest
// entry, in the shape of archive/zip's checksumReader: every chunk is hashed
// as it is written, the declared size is enforced, the sum is compared the
// moment the last byte arrives, and the first error sticks.
type verifier struct {
	w     interface{ Write([]byte) (int, error) }
	file  manifest.File
	hash  hash.Hash
	want  []byte
	n     int64
	err   error
	valid bool
}

func newVerifier(w interface{ Write([]byte) (int, error) }, f manifest.File) *verifier {
	h, want := f.NewHash()
	v := &verifier{w: w, file: f, hash: h, want: want}
	if f.Size == 0 {
		v.finish()
	}
	return v
}

func (v *verifier) Write(p []byte) (int, error) {
	if v.err != nil {
		return 0, v.err
	}
	if v.n+int64(len(p)) > v.file.Size {
		v.err = fmt.Errorf("%w: %q: more than the signed %d bytes", ErrChecksum, v.file.Path, v.file.Size)
		return 0, v.err
	}
	n, err := v.w.Write(p)
	v.hash.Write(p[:n])
	v.n += int64(n)
	if err != nil {
		v.err = err
		return n, err
	}
	if v.n == v.file.Size {
		v.finish()
	}
	return n, v.err
}

func (v *verifier) finish() {
	if !bytes.Equal(v.hash.Sum(nil), v.want) {
		v.err = fmt.Errorf("%w: %q: content does not match the signed hash", ErrChecksum, v.file.Path)
		return
	}
	v.valid = true
}

// check reports whether the whole, correct content was written.
func (v *verifier) check() error {
	switch {
	case v.err != nil:
		return v.err
	case !v.valid:
		return fmt.Errorf("%w: %q: %d of %d bytes", ErrShort, v.file.Path, v.n, v.file.Size)
	}
	return nil
}
