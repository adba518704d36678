package manifest

import (
	"encoding/hex"
	"fmt"
)

// A git file line is the file line of the unsigned GitHub developer channel:
//
//	g MODE SIZE ZSIZE <40-hex git blob SHA-1> PATH
//
// It carries git's blob SHA-1 in place of SHA-256 (File.GitSHA1). Marshal
// writes it for every file whose GitSHA1 is set, and ParseManifest accepts it,
// so that a device can store the manifest it installed from a branch. A
// signed manifest never contains one: the signed path refuses any manifest
// for which Signed reports false.

// Signed reports whether every file carries a SHA-256 and no git SHA-1: the
// only kind of manifest a signature may vouch for. A manifest with a git
// file line ("g …") is unsigned by nature.
func (m *Manifest) Signed() bool {
	for _, f := range m.Files {
		if f.GitSHA1 != ([20]byte{}) || f.SHA256 == (Digest{}) {
			return false
		}
	}
	return true
}

// gitLine returns the text of f's git file line, without the newline.
func gitLine(f File) string {
	return fmt.Sprintf("g %04o %d %d %s %s", f.Mode.Perm(), f.Size, f.ZSize, hex.EncodeToString(f.GitSHA1[:]), f.Path)
}

// parseGitSHA1 parses the 40-hex git blob SHA-1 of a git file line.
func parseGitSHA1(h string) ([20]byte, error) {
	var sum [20]byte
	if len(h) != 40 {
		return sum, fmt.Errorf("%w: git sha1 %q is not 40 hex characters", ErrFormat, h)
	}
	if _, err := hex.Decode(sum[:], []byte(h)); err != nil {
		return sum, fmt.Errorf("%w: git sha1 %q: %v", ErrFormat, h, err)
	}
	if sum == ([20]byte{}) {
		return sum, fmt.Errorf("%w: git sha1 %q is all zero", ErrFormat, h)
	}
	return sum, nil
}
