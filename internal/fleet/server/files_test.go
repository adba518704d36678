package server

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"testing"
)

func write(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadTokens(t *testing.T) {
	a, b := NewToken(), NewToken()
	if a == b || len(a) < 40 {
		t.Errorf("NewToken: %q, %q", a, b)
	}
	toks, err := LoadTokens(write(t, "# comment\n\n"+a+"\n  "+b+"  \n"))
	if err != nil || len(toks) != 2 || toks[1] != b {
		t.Errorf("LoadTokens = %q, %v", toks, err)
	}
	for _, bad := range []string{"", "# only a comment\n", "short\n", "two words here long enough\n"} {
		if _, err := LoadTokens(write(t, bad)); err == nil {
			t.Errorf("LoadTokens(%q) accepted", bad)
		}
	}
}

func TestLoadAllowList(t *testing.T) {
	k := base64.StdEncoding.EncodeToString(devKey(1)[32:])
	keys, err := LoadAllowList(write(t, "# pumps\n"+k+"\n"))
	if err != nil || len(keys) != 1 || len(keys[0]) != 32 {
		t.Errorf("LoadAllowList = %v, %v", keys, err)
	}
	if _, err := LoadAllowList(write(t, "bm90IGEga2V5\n")); err == nil {
		t.Error("LoadAllowList accepted a 9-byte key")
	}
}
