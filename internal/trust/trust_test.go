package trust

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

type keyPair struct{ skey, vkey string }

func gen(t testing.TB, name string) keyPair {
	t.Helper()
	s, v, err := GenerateKey(name)
	if err != nil {
		t.Fatal(err)
	}
	return keyPair{s, v}
}

func verifiers(t testing.TB, keys ...keyPair) *Verifiers {
	t.Helper()
	var lines []string
	for _, k := range keys {
		lines = append(lines, k.vkey)
	}
	v, err := ParseVerifiers([]byte("# pinned\n" + strings.Join(lines, "\n") + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestChain(t *testing.T) {
	t.Parallel()
	root, root2, signing, rogue := gen(t, "ferry-root-1"), gen(t, "ferry-root-2"), gen(t, "ferry-signing-1"), gen(t, "ferry-signing-1")
	now := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	bundle, err := Sign(MarshalBundle([]string{signing.vkey}, now.Add(24*time.Hour)), root.skey)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := Sign([]byte("hello\n"), signing.skey)
	if err != nil {
		t.Fatal(err)
	}
	roots := verifiers(t, root, root2)
	keys, err := roots.OpenBundle(bundle, now)
	if err != nil {
		t.Fatal(err)
	}
	text, err := keys.Open(msg)
	if err != nil || string(text) != "hello\n" {
		t.Fatalf("Open = %q, %v", text, err)
	}
	if got, err := NoteText(msg); err != nil || string(got) != "hello\n" {
		t.Fatalf("NoteText = %q, %v", got, err)
	}

	rogueMsg, _ := Sign([]byte("hello\n"), rogue.skey)
	rogueBundle, _ := Sign(MarshalBundle([]string{rogue.vkey}, now.Add(time.Hour)), rogue.skey)
	expired, _ := Sign(MarshalBundle([]string{signing.vkey}, now.Add(-time.Second)), root.skey)
	tampered := []byte(strings.Replace(string(msg), "hello", "hellO", 1))
	for _, tc := range []struct {
		name string
		err  error
		want error
	}{
		{"key not in the bundle signs nothing", second(keys.Open(rogueMsg)), ErrUntrusted},
		{"bundle not signed by a root", second(roots.OpenBundle(rogueBundle, now)), ErrUntrusted},
		{"a signing key is no root", second(roots.Open(msg)), ErrUntrusted},
		{"expired bundle", second(roots.OpenBundle(expired, now)), ErrExpired},
		{"tampered text", second(keys.Open(tampered)), ErrBadSignature},
		{"unsigned text", second(keys.Open([]byte("hello\n"))), ErrFormat},
	} {
		if !errors.Is(tc.err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.name, tc.err, tc.want)
		}
	}
}

func second[T any](_ T, err error) error { return err }

func TestThreshold(t *testing.T) {
	t.Parallel()
	r1, r2 := gen(t, "ferry-root-1"), gen(t, "ferry-root-2")
	roots := verifiers(t, r1, r2)
	roots.Threshold = 2
	one, _ := Sign([]byte("x\n"), r1.skey)
	twice, _ := Sign([]byte("x\n"), r1.skey, r1.skey)
	both, _ := Sign([]byte("x\n"), r1.skey, r2.skey)
	if _, err := roots.Open(one); !errors.Is(err, ErrUntrusted) {
		t.Errorf("1 of 2: %v, want ErrUntrusted", err)
	}
	if _, err := roots.Open(twice); err == nil {
		t.Error("one key signing twice met a threshold of 2")
	}
	if _, err := roots.Open(both); err != nil {
		t.Errorf("2 of 2: %v", err)
	}
}

func TestBundleRoundTrip(t *testing.T) {
	t.Parallel()
	root, a, b := gen(t, "r"), gen(t, "a"), gen(t, "b")
	exp := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	msg, _ := Sign(MarshalBundle([]string{a.vkey, b.vkey}, exp), root.skey)
	keys, err := verifiers(t, root).OpenBundle(msg, exp.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"a", "b"}, keys.names); diff != "" {
		t.Fatal(diff)
	}
}

func TestParseVerifiersErrors(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"", "# only a comment\n", "not-a-key\n", "PRIVATE+KEY+x+00000000+AAAA\n"} {
		if _, err := ParseVerifiers([]byte(in)); !errors.Is(err, ErrFormat) {
			t.Errorf("ParseVerifiers(%q) = %v, want ErrFormat", in, err)
		}
	}
}
