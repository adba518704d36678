package keys

import (
	"strings"
	"testing"

	"github.com/ferry-ota/ferry/internal/trust"
	"golang.org/x/mod/sumdb/note"
)

// FuzzPublicKey: key files are read from disk; a malformed one is an error,
// never a panic, and a key that parses yields a usable verifier key.
func FuzzPublicKey(f *testing.F) {
	skey, _, err := trust.GenerateKey("ferry-signing-1")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(skey)
	f.Add("PRIVATE+KEY+x+00000000+AQ==")
	f.Add("ferry-root-1+0196649b+AW+N909pDEEOZ2EVPITwE1VV/uWmo1eJ/+EEf9+Dw/Nu")
	f.Fuzz(func(t *testing.T, skey string) {
		vkey, err := PublicKey(skey)
		if err != nil {
			return
		}
		if _, err := note.NewVerifier(vkey); err != nil || strings.HasPrefix(vkey, "PRIVATE") {
			t.Errorf("PublicKey(%q) = %q, which is not a verifier key: %v", skey, vkey, err)
		}
	})
}
