package trust

import (
	"bytes"
	"crypto/sha512"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"

	"filippo.io/edwards25519"
)

// MaxSigBlock bounds the signature block (the lines after the blank line) of
// a note read from a file: about 500 signatures.
const MaxSigBlock = 64 << 10

// NoteTextSize returns the size of the text of the signed note in r (size
// bytes), as NoteText does, reading only its end: the text is r's first
// bytes, then a blank line and the signatures.
func NoteTextSize(r io.ReaderAt, size int64) (int64, error) {
	n, _, err := splitNote(r, size)
	return n, err
}

// splitNote returns the size of the note's text and its signature block.
// It reads the last 4 KiB, and the last MaxSigBlock only if the block is
// longer.
func splitNote(r io.ReaderAt, size int64) (int64, []byte, error) {
	for _, n := range []int64{4 << 10, MaxSigBlock + 2} {
		tail := make([]byte, min(size, n))
		off := size - int64(len(tail))
		if _, err := r.ReadAt(tail, off); err != nil && err != io.EOF {
			return 0, nil, fmt.Errorf("read note: %w", err)
		}
		if i := bytes.LastIndex(tail, []byte("\n\n")); i >= 0 {
			return off + int64(i) + 1, tail[i+2:], nil
		}
		if off == 0 {
			return 0, nil, fmt.Errorf("%w: not a signed note", ErrFormat)
		}
	}
	return 0, nil, fmt.Errorf("%w: no signature block in the last %d bytes", ErrFormat, MaxSigBlock)
}

// sigCheck is one signature being checked: SHA-512 of R, A and the text.
type sigCheck struct {
	key, sig []byte
	h        hash.Hash
}

// VerifyFile verifies the signed note in r (size bytes) as Verify does, with
// the same errors, and returns the size of its text. It holds only the
// signature block: the text is read once, in 32 KiB pieces, through the
// Ed25519 hash of each signature of a trusted key (so a note of any size
// is verified in constant memory).
func (v *Verifiers) VerifyFile(r io.ReaderAt, size int64) (int64, error) {
	textSize, sigs, err := splitNote(r, size)
	if err != nil {
		return 0, err
	}
	if len(sigs) == 0 || sigs[len(sigs)-1] != '\n' || !validNoteText(sigs) {
		return 0, fmt.Errorf("%w: malformed note", ErrFormat)
	}
	checks, unverified, err := v.parseSigs(sigs)
	if err != nil {
		return 0, err
	}
	if len(checks) == 0 {
		return 0, fmt.Errorf("%w: signed by %s, trusted %s", ErrUntrusted, unverified, v.trusted())
	}
	if err := hashText(r, textSize, checks); err != nil {
		return 0, err
	}
	seen := map[string]bool{}
	for name, c := range checks {
		if !verifyEd25519(c.key, c.h.Sum(nil), c.sig) {
			return 0, fmt.Errorf("%w: invalid signature for key %s", ErrBadSignature, name)
		}
		seen[name] = true
	}
	if len(seen) < v.Threshold {
		return 0, fmt.Errorf("%w: %d trusted signatures, %d required", ErrUntrusted, len(seen), v.Threshold)
	}
	return textSize, nil
}

// parseSigs reads the signature lines as note.Open does: the signatures of
// trusted keys (by name+hash, one per key) are returned to be checked, the
// others named for the error.
func (v *Verifiers) parseSigs(sigs []byte) (map[string]*sigCheck, string, error) {
	checks := map[string]*sigCheck{}
	var unknown []string
	for n := 1; len(sigs) > 0; n++ {
		i := bytes.IndexByte(sigs, '\n')
		line := string(sigs[:i])
		sigs = sigs[i+1:]
		rest, ok := strings.CutPrefix(line, "\u2014 ")
		name, b64, _ := strings.Cut(rest, " ")
		sig, err := base64.StdEncoding.DecodeString(b64)
		if !ok || err != nil || !validName(name) || b64 == "" || len(sig) < 5 || n > 100 {
			return nil, "", fmt.Errorf("%w: malformed note", ErrFormat)
		}
		id := fmt.Sprintf("%s+%08x", name, binary.BigEndian.Uint32(sig))
		key := v.key(id)
		if key == nil {
			unknown = append(unknown, fmt.Sprintf("%s (%08x)", name, binary.BigEndian.Uint32(sig)))
			continue
		}
		if checks[id] == nil {
			h := sha512.New()
			if len(sig[4:]) == 64 {
				h.Write(sig[4:36])
			}
			h.Write(key)
			checks[id] = &sigCheck{key: key, sig: sig[4:], h: h}
		}
	}
	names := strings.Join(unknown, ", ")
	if names == "" {
		names = "no key"
	}
	return checks, names, nil
}

// key returns the Ed25519 public key of the trusted key name+hash (id).
func (v *Verifiers) key(id string) []byte {
	for _, vk := range v.vkeys {
		name, rest, _ := strings.Cut(vk, "+")
		hash16, key64, _ := strings.Cut(rest, "+")
		if name+"+"+hash16 != id {
			continue
		}
		key, err := base64.StdEncoding.DecodeString(key64)
		if err == nil && len(key) == 33 && key[0] == 1 { // note's algEd25519
			return key[1:]
		}
	}
	return nil
}

// hashText reads the text once, checks it is a note's (UTF-8, no control
// characters but newlines) and writes it to every check's hash.
func hashText(r io.ReaderAt, size int64, checks map[string]*sigCheck) error {
	buf := make([]byte, 32<<10)
	keep := 0 // bytes of an incomplete rune carried to the next piece
	for off := int64(0); off < size; {
		n, err := r.ReadAt(buf[keep:keep+int(min(int64(len(buf)-keep), size-off))], off)
		if n == 0 && err != nil {
			return fmt.Errorf("read note: %w", err)
		}
		for _, c := range checks {
			c.h.Write(buf[keep : keep+n])
		}
		off += int64(n)
		data := buf[:keep+n]
		end := len(data)
		for k := 1; k < utf8.UTFMax && off < size && end-k >= 0; k++ {
			if utf8.RuneStart(data[end-k]) {
				if !utf8.FullRune(data[end-k:]) {
					end -= k
				}
				break
			}
		}
		if !validNoteText(data[:end]) {
			return fmt.Errorf("%w: malformed note", ErrFormat)
		}
		keep = copy(buf, data[end:])
	}
	if keep > 0 {
		return fmt.Errorf("%w: malformed note", ErrFormat)
	}
	return nil
}

// validNoteText reports whether b is valid UTF-8 without ASCII control
// characters other than newline (note.Open's rule).
func validNoteText(b []byte) bool {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r < 0x20 && r != '\n' || r == utf8.RuneError && size == 1 {
			return false
		}
		i += size
	}
	return true
}

// validName is note's rule for a key name.
func validName(name string) bool {
	return name != "" && utf8.ValidString(name) && strings.IndexFunc(name, unicode.IsSpace) < 0 && !strings.Contains(name, "+")
}

// verifyEd25519 is crypto/ed25519.Verify with the hash of R, A and the
// message already computed (hram): [S]B = R + [k]A.
func verifyEd25519(pub, hram, sig []byte) bool {
	if len(pub) != 32 || len(sig) != 64 || sig[63]&224 != 0 {
		return false
	}
	A, err := new(edwards25519.Point).SetBytes(pub)
	if err != nil {
		return false
	}
	k, err := edwards25519.NewScalar().SetUniformBytes(hram)
	if err != nil {
		return false
	}
	S, err := edwards25519.NewScalar().SetCanonicalBytes(sig[32:])
	if err != nil {
		return false
	}
	minusA := new(edwards25519.Point).Negate(A)
	R := new(edwards25519.Point).VarTimeDoubleScalarBaseMult(k, minusA, S)
	return bytes.Equal(sig[:32], R.Bytes())
}
