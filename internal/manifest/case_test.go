package manifest

import (
	"errors"
	"strings"
	"testing"
)

func TestCaseCollision(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		paths []string
		want  string // "" for none
	}{
		{[]string{"README", "lib/a.py", "lib/b.py", "main.py"}, ""},
		{[]string{"README", "readme"}, `"README" and "readme" differ only in letter case`},
		{[]string{"Lib/a.py", "lib/b.py"}, `folder "Lib" (of "Lib/a.py") and folder "lib" (of "lib/b.py") differ only in letter case`},
		{[]string{"Conf", "conf/main"}, `"Conf" and folder "conf" (of "conf/main")`},
		{[]string{"a/b/C.txt", "a/b/c.txt"}, `"a/b/C.txt" and "a/b/c.txt"`},
		{[]string{"straße", "STRASSE"}, ""},               // full folding (ß → ss) is not simple folding
		{[]string{"ǅ", "ǆ"}, `"ǅ" and "ǆ"`},               // a title-case letter folds with its lower case
		{[]string{"K", "\u212a"}, "\"K\" and \"\u212a\""}, // the Kelvin sign folds with K
	} {
		files := make([]File, len(tc.paths))
		for i, p := range tc.paths {
			files[i].Path = p
		}
		err := CaseCollision(files)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%q: %v, want none", tc.paths, err)
		case tc.want != "" && (!errors.Is(err, ErrPath) || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%q: %v, want ErrPath saying %s", tc.paths, err, tc.want)
		}
	}
}

// TestCaseCollisionAgreesWithEqualFold: two paths collide exactly when
// strings.EqualFold says they are equal.
func TestCaseCollisionAgreesWithEqualFold(t *testing.T) {
	t.Parallel()
	words := []string{"a", "A", "ß", "ẞ", "σ", "ς", "Σ", "ǈ", "ǉ", "Ǉ", "i", "İ", "ı", "k", "\u212a", "é", "É"}
	for _, a := range words {
		for _, b := range words {
			if a == b {
				continue
			}
			got := CaseCollision([]File{{Path: a}, {Path: b}}) != nil
			if want := strings.EqualFold(a, b); got != want {
				t.Errorf("%q, %q: collision %v, EqualFold %v", a, b, got, want)
			}
		}
	}
}
