package trust

import (
	"crypto/sha256"
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
		roots.OpenKeyList(data, now)
		NoteText(data)
	})
}

// FuzzKeyList feeds arbitrary text to the format-2 parser, and the same
// bytes as a whole signed list: a parse that succeeds must give back a list
// whose marshalled text is the input (strictness: one spelling per list).
func FuzzKeyList(f *testing.F) {
	root := gen(f, "ferry-root-1")
	a, b := gen(f, "ferry-signing-1"), gen(f, "ferry-refresh-1")
	roots := verifiers(f, root)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	text, err := MarshalKeyList(3, now.Add(time.Hour), []ListedKey{{VKey: a.vkey}, {VKey: b.vkey, Roles: []string{RoleRefresh, "rollout:stable"}}})
	if err != nil {
		f.Fatal(err)
	}
	msg, _ := Sign(text, root.skey)
	f.Add(text)
	f.Add(msg)
	f.Add([]byte("ferry-signing-keys 2\nexpires 2026-01-01T01:00:00Z\nversion 1\nkey x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if l, err := parseKeyList(string(data)); err == nil {
			again, err := MarshalKeyList(l.Version, l.Expires, l.Keys)
			if err != nil {
				t.Fatalf("parsed %q, cannot marshal it: %v", data, err)
			}
			if string(again) != string(data) {
				t.Fatalf("parsed %q, marshalled back as %q", data, again)
			}
		}
		if l, err := roots.OpenKeyList(data, now); err == nil && l.Digest != sha256.Sum256(text) {
			t.Fatalf("opened a list root never signed: %q", data)
		}
	})
}

// FuzzParseRoots: a root.pub is read from the device's disk; a malformed
// one is an error, and a parsed one has a threshold its keys can meet.
func FuzzParseRoots(f *testing.F) {
	r1, r2 := gen(f, "ferry-root-1"), gen(f, "ferry-root-2")
	f.Add("# threshold 2\n" + r1.vkey + "\n" + r2.vkey + "\n")
	f.Add("# threshold 3\n" + r1.vkey + "\n")
	f.Add(r1.vkey)
	f.Fuzz(func(t *testing.T, data string) {
		roots, err := ParseRoots([]byte(data))
		if err == nil && (roots.Threshold < 1 || roots.Threshold > len(roots.names)) {
			t.Fatalf("ParseRoots(%q): threshold %d of %d keys", data, roots.Threshold, len(roots.names))
		}
	})
}
