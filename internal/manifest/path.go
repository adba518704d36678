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
