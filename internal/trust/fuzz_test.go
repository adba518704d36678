package trust

import (
	"testing"
	"time"
)

// FuzzOpen feeds arbitrary bytes as a signed note and as a signing-key
// bundle: each must be refused cleanly, and nothing unsigned by the trusted
// key may ever open.
func FuzzOpen(f *testing.F) {
	root := gen(f, "ferry-root-1")
	signing := gen(f, "ferry-signing-1")
	roots := verifiers(f, root)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	bundle, _ := Sign(MarshalBundle([]string{signing.vkey}, now.Add(time.Hour)), root.skey)
	msg, _ := Sign([]byte("ferry-channel 1\nchannel stable\n"), signing.skey)
	f.Add(bundle)
	f.Add(msg)
	f.Add([]byte("text\n\n— ferry-root-1 AAAA\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if text, err := roots.Open(data); err == nil {
			// Only bytes root signed can open: the fuzzer cannot forge Ed25519,
			// so the text must be the bundle's.
			if string(text) != string(MarshalBundle([]string{signing.vkey}, now.Add(time.Hour))) {
				t.Fatalf("opened a note root never signed: %q", text)
			}
		}
		roots.OpenBundle(data, now)
		NoteText(data)
	})
}
