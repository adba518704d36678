package manifest

import (
	"encoding/hex"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
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

// parseGitLine parses a git file line.
func parseGitLine(l string) (File, error) {
	parts := strings.SplitN(l, " ", 6)
	if len(parts) != 6 || parts[0] != "g" {
		return File{}, fmt.Errorf("%w: file line %q: want \"g MODE SIZE ZSIZE GITSHA1 PATH\"", ErrFormat, l)
	}
	var f File
	mode, err := strconv.ParseUint(parts[1], 8, 32)
	if err != nil || mode&^0o777 != 0 {
		return f, fmt.Errorf("%w: mode %q is not octal permission bits", ErrFormat, parts[1])
	}
	f.Mode = fs.FileMode(mode)
	if f.Size, err = strconv.ParseInt(parts[2], 10, 64); err != nil || f.Size < 0 {
		return f, fmt.Errorf("%w: size %q", ErrFormat, parts[2])
	}
	if f.ZSize, err = strconv.ParseInt(parts[3], 10, 64); err != nil || f.ZSize < 0 {
		return f, fmt.Errorf("%w: compressed size %q", ErrFormat, parts[3])
	}
	if len(parts[4]) != 40 {
		return f, fmt.Errorf("%w: git sha1 %q is not 40 hex characters", ErrFormat, parts[4])
	}
	if _, err := hex.Decode(f.GitSHA1[:], []byte(parts[4])); err != nil {
		return f, fmt.Errorf("%w: git sha1 %q: %v", ErrFormat, parts[4], err)
	}
	if f.GitSHA1 == ([20]byte{}) {
		return f, fmt.Errorf("%w: git sha1 %q is all zero", ErrFormat, parts[4])
	}
	f.Path = strings.Clone(parts[5])
	return f, ValidPath(f.Path)
}
