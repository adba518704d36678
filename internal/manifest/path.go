package manifest

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxPathLen is the longest path a manifest may name, in bytes.
const MaxPathLen = 1024

// ValidPath reports whether p is a path a manifest may name: relative,
// slash-separated, clean, inside the target, with no "..", no backslash, no
// drive letter, no control characters and no component that starts with
// ".ferry" (the name reserved for Ferry's own state inside a target). The
// error says what is wrong with p and wraps ErrPath.
func ValidPath(p string) error {
	bad := func(why string) error { return fmt.Errorf("%w %q: %s", ErrPath, p, why) }
	switch {
	case p == "":
		return bad("empty")
	case len(p) > MaxPathLen:
		return bad(fmt.Sprintf("longer than %d bytes", MaxPathLen))
	case !utf8.ValidString(p):
		return bad("not valid UTF-8")
	case strings.HasPrefix(p, "/"):
		return bad("absolute")
	case strings.ContainsRune(p, '\\'):
		return bad("contains a backslash")
	case len(p) >= 2 && p[1] == ':':
		return bad("has a drive letter")
	case strings.HasSuffix(p, "/"):
		return bad("ends with a slash")
	}
	for _, r := range p {
		if unicode.IsControl(r) {
			return bad("contains a control character")
		}
	}
	for _, c := range strings.Split(p, "/") {
		switch {
		case c == "":
			return bad("has an empty component")
		case c == "." || c == "..":
			return bad(fmt.Sprintf("has a %q component", c))
		case strings.HasPrefix(strings.ToLower(c), ".ferry"):
			return bad("names Ferry's reserved .ferry state folder")
		}
	}
	return nil
}

// CaseCollision returns an error (wrapping ErrPath) naming the first two
// paths of files, or of their folders, that differ only in letter case
// ("README" and "readme", or "Lib/a.py" and "lib/b.py"): they cannot
// coexist on a FAT card or another case-insensitive filesystem. Letter case
// is Unicode simple folding, as strings.EqualFold compares.
func CaseCollision(files []File) error {
	seen := make(map[string]string, len(files)) // folded path → path as named
	for _, f := range files {
		p := f.Path
		// The file first, then its folders, deepest first: a folder met
		// again as named has all its parents seen already.
		for end := len(p); end > 0; end = strings.LastIndexByte(p[:end], '/') {
			name := p[:end]
			key := foldCase(name)
			prev, ok := seen[key]
			if ok && prev == name {
				break
			}
			if ok {
				return fmt.Errorf("%w: %s and %s differ only in letter case; they cannot coexist on a FAT card or another case-insensitive filesystem: rename one",
					ErrPath, describeCase(prev, files), describeCase(name, files))
			}
			seen[key] = name
		}
	}
	return nil
}

// describeCase names path p, and if it is a folder, a file in it.
func describeCase(p string, files []File) string {
	for _, f := range files {
		if strings.HasPrefix(f.Path, p+"/") {
			return fmt.Sprintf("folder %q (of %q)", p, f.Path)
		}
	}
	return fmt.Sprintf("%q", p)
}

// foldCase maps every rune of s to the smallest rune of its simple case
// folding orbit: two strings fold alike exactly when strings.EqualFold
// says they are equal.
func foldCase(s string) string {
	return strings.Map(func(r rune) rune {
		least := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			least = min(least, f)
		}
		return least
	}, s)
}
