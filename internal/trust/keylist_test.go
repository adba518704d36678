package trust

import (
	"errors"
	"strings"
	"testing"
	"time"
)

var listNow = time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)

func signedList(t testing.TB, root keyPair, version uint64, keys ...ListedKey) []byte {
	t.Helper()
	text, err := MarshalKeyList(version, listNow.Add(time.Hour), keys)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := Sign(text, root.skey)
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

func TestKeyListRoles(t *testing.T) {
	t.Parallel()
	root, rel, ref, fleet := gen(t, "ferry-root-1"), gen(t, "ferry-signing-1"), gen(t, "ferry-refresh-1"), gen(t, "ferry-rollout-1")
	msg := signedList(t, root, 7, ListedKey{VKey: rel.vkey}, ListedKey{VKey: ref.vkey, Roles: []string{RoleRefresh}},
		ListedKey{VKey: fleet.vkey, Roles: []string{"rollout:stable"}})
	l, err := verifiers(t, root).OpenKeyList(msg, listNow)
	if err != nil {
		t.Fatal(err)
	}
	if l.Format != 2 || l.Version != 7 || len(l.Keys) != 3 || !l.Expires.Equal(listNow.Add(time.Hour)) {
		t.Fatalf("list = %+v", l)
	}
	manifests, pointers := l.Verifiers(RoleRelease), l.Verifiers(RoleRelease, RoleRefresh)
	for _, tc := range []struct {
		name   string
		by     keyPair
		v      *Verifiers
		wantOK bool
	}{
		{"release key signs a manifest", rel, manifests, true},
		{"refresh key signs a manifest", ref, manifests, false},
		{"unknown role signs a manifest", fleet, manifests, false},
		{"release key signs a pointer", rel, pointers, true},
		{"refresh key signs a pointer", ref, pointers, true},
		{"unknown role signs a pointer", fleet, pointers, false},
	} {
		doc, _ := Sign([]byte("doc\n"), tc.by.skey)
		_, err := tc.v.Open(doc)
		if tc.wantOK && err != nil || !tc.wantOK && !errors.Is(err, ErrUntrusted) {
			t.Errorf("%s: err = %v", tc.name, err)
		}
	}
	doc, _ := Sign([]byte("doc\n"), ref.skey)
	if _, err := manifests.Open(doc); err == nil || !strings.Contains(err.Error(), "role release") {
		t.Errorf("refusal does not name the role: %v", err)
	}
}

func TestKeyListCheck(t *testing.T) {
	t.Parallel()
	root, a, b := gen(t, "ferry-root-1"), gen(t, "ferry-signing-1"), gen(t, "ferry-signing-2")
	roots := verifiers(t, root)
	open := func(msg []byte) *KeyList {
		t.Helper()
		l, err := roots.OpenKeyList(msg, listNow)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	v4 := open(signedList(t, root, 4, ListedKey{VKey: b.vkey}))
	held := v4.Trusted()
	v3 := open(signedList(t, root, 3, ListedKey{VKey: a.vkey}))
	other4 := open(signedList(t, root, 4, ListedKey{VKey: a.vkey}))
	v5 := open(signedList(t, root, 5, ListedKey{VKey: b.vkey}))
	old, _ := Sign(MarshalBundle([]string{a.vkey}, listNow.Add(time.Hour)), root.skey)
	v1 := open(old)
	for _, tc := range []struct {
		name string
		l    *KeyList
		held Trusted
		want error
	}{
		{"older version", v3, held, ErrRollback},
		{"same version, other list", other4, held, ErrConflict},
		{"format 1 after format 2", v1, held, ErrRollback},
		{"same list", v4, held, nil},
		{"newer version", v5, held, nil},
		{"first list ever", v3, Trusted{}, nil},
		{"format 1 on a device that never saw format 2", v1, Trusted{}, nil},
	} {
		if err := tc.l.Check(tc.held); !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
		}
	}
	err := v3.Check(held)
	if want := "signing-key list version 3 is older than 4 already trusted"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("message %q lacks %q", err, want)
	}
	if err := v1.Check(held); err == nil || !strings.Contains(err.Error(), "format-1 signing-key list refused") {
		t.Errorf("format 1 after format 2: %v, want a message naming format 1", err)
	}
	if v1.Format != 1 || v1.Version != 0 || !v1.Keys[0].Has(RoleRelease) {
		t.Errorf("format 1 read as %+v", v1)
	}
}

func TestKeyListParseErrors(t *testing.T) {
	t.Parallel()
	root, a := gen(t, "ferry-root-1"), gen(t, "ferry-signing-1")
	roots := verifiers(t, root)
	head := "ferry-signing-keys 2\nexpires 2026-12-01T00:00:00Z\nversion 3\n"
	for _, text := range []string{
		"ferry-signing-keys 3\nexpires 2026-12-01T00:00:00Z\nversion 3\nkey " + a.vkey + "\n",
		head,                               // no key
		head + "\nkey " + a.vkey + "\n",    // blank line
		head + "key " + a.vkey + "\n\n",    // trailing blank line
		head + "key " + a.vkey + "  \n",    // two spaces: empty role
		head + "key " + a.vkey + " a,,b\n", // empty role word
		head + "key " + a.vkey + " refresh\nkey " + a.vkey + "\n", // twice
		head + "key not-a-key\n",
		head + "# comment\nkey " + a.vkey + "\n",
		"ferry-signing-keys 2\nversion 3\nexpires 2026-12-01T00:00:00Z\nkey " + a.vkey + "\n", // order
		"ferry-signing-keys 2\nexpires 2026-12-01T00:00:00Z\nversion 0\nkey " + a.vkey + "\n",
		"ferry-signing-keys 2\nexpires 2026-12-01T00:00:00Z\nversion 03\nkey " + a.vkey + "\n",
		"ferry-signing-keys 2\nexpires 2026-12-01T00:00:00Z\nversion -1\nkey " + a.vkey + "\n",
		"ferry-signing-keys 2\nexpires 2026-12-01T00:00:00Z\nversion 18446744073709551616\nkey " + a.vkey + "\n",
		"ferry-signing-keys 2\nexpires tomorrow\nversion 3\nkey " + a.vkey + "\n",
	} {
		msg, err := Sign([]byte(text), root.skey)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := roots.OpenKeyList(msg, listNow); !errors.Is(err, ErrFormat) {
			t.Errorf("OpenKeyList(%q) = %v, want ErrFormat", text, err)
		}
	}
	if _, err := MarshalKeyList(0, listNow, []ListedKey{{VKey: a.vkey}}); !errors.Is(err, ErrFormat) {
		t.Errorf("MarshalKeyList version 0: %v", err)
	}
	expired := signedList(t, root, 2, ListedKey{VKey: a.vkey})
	if _, err := roots.OpenKeyList(expired, listNow.Add(2*time.Hour)); !errors.Is(err, ErrExpired) {
		t.Errorf("expired list: %v", err)
	}
	rogue := gen(t, "ferry-root-1")
	if _, err := roots.OpenKeyList(signedList(t, rogue, 9, ListedKey{VKey: a.vkey}), listNow); !errors.Is(err, ErrUntrusted) {
		t.Errorf("list signed by another root: %v", err)
	}
}

func TestParseRoots(t *testing.T) {
	t.Parallel()
	r1, r2 := gen(t, "ferry-root-1"), gen(t, "ferry-root-2")
	pub := "# Ferry root keys\n# threshold 2\n" + r1.vkey + "\n" + r2.vkey + "\n"
	roots, err := ParseRoots([]byte(pub))
	if err != nil || roots.Threshold != 2 {
		t.Fatalf("ParseRoots = %v, %v; want threshold 2", roots, err)
	}
	if roots, err := ParseRoots([]byte(r1.vkey + "\n")); err != nil || roots.Threshold != 1 {
		t.Fatalf("no threshold line: %v, %v", roots, err)
	}
	for _, bad := range []string{"# threshold 3\n", "# threshold 0\n", "# threshold two\n"} {
		if _, err := ParseRoots([]byte(bad + r1.vkey + "\n" + r2.vkey + "\n")); !errors.Is(err, ErrFormat) {
			t.Errorf("ParseRoots(%q) = %v, want ErrFormat", bad, err)
		}
	}
}
