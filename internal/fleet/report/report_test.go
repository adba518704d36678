package report

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func key(seed byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize))
}

func sample() *Report {
	b := 71
	return &Report{Device: "pump-17", Number: 42, Time: time.Date(2026, 11, 30, 5, 0, 0, 0, time.UTC), Channel: "stable",
		Version: "v1.4.2", Sequence: 9, Outcome: Updated, Bytes: 52311, DurationMS: 5200, Link: "wwan0", Battery: &b,
		Health: Health{Updates: 3, Errors: 1, LastError: "fetch: timeout"}}
}

func TestSignOpen(t *testing.T) {
	env, err := Sign(sample(), key(1))
	if err != nil {
		t.Fatal(err)
	}
	r, pub, err := Open(env)
	if err != nil {
		t.Fatal(err)
	}
	if !pub.Equal(key(1).Public()) {
		t.Error("Open returned another key")
	}
	want := sample()
	want.Format = Format
	a, _ := json.Marshal(r)
	b, _ := json.Marshal(want)
	if !bytes.Equal(a, b) {
		t.Errorf("round trip:\n got %s\nwant %s", a, b)
	}
}

func TestOpenRefuses(t *testing.T) {
	good, err := Sign(sample(), key(1))
	if err != nil {
		t.Fatal(err)
	}
	var env Envelope
	if err := json.Unmarshal(good, &env); err != nil {
		t.Fatal(err)
	}
	reenc := func(f func(e *Envelope)) []byte {
		e := env
		f(&e)
		b, _ := json.Marshal(e)
		return b
	}
	other, _ := Sign(sample(), key(2))
	var env2 Envelope
	json.Unmarshal(other, &env2)
	cases := map[string]struct {
		data []byte
		want error
	}{
		"changed report": {reenc(func(e *Envelope) {
			e.Report = json.RawMessage(strings.Replace(string(e.Report), `"v1.4.2"`, `"v6.6.6"`, 1))
		}), ErrSignature},
		"another key":              {reenc(func(e *Envelope) { e.Key = env2.Key }), ErrSignature},
		"another sig":              {reenc(func(e *Envelope) { e.Sig = env2.Sig }), ErrSignature},
		"short key":                {reenc(func(e *Envelope) { e.Key = e.Key[:31] }), ErrMalformed},
		"no report":                {reenc(func(e *Envelope) { e.Report = nil }), ErrMalformed},
		"not json":                 {[]byte("hello"), ErrMalformed},
		"too large":                {bytes.Repeat([]byte(" "), MaxSize+1), ErrTooLarge},
		"unsigned outcome":         {signedDoc(t, `{"format":1,"device":"d","number":1,"time":"2026-11-30T05:00:00Z","outcome":"exploded"}`), ErrMalformed},
		"format 2":                 {signedDoc(t, `{"format":2,"device":"d","number":1,"time":"2026-11-30T05:00:00Z","outcome":"updated"}`), ErrMalformed},
		"device id with a newline": {signedDoc(t, `{"format":1,"device":"a\nb","number":1,"time":"2026-11-30T05:00:00Z","outcome":"updated"}`), ErrMalformed},
		"number 0":                 {signedDoc(t, `{"format":1,"device":"d","number":0,"time":"2026-11-30T05:00:00Z","outcome":"updated"}`), ErrMalformed},
	}
	for name, c := range cases {
		if _, _, err := Open(c.data); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
	if _, err := Parse([]byte(`{"format":1,"device":"d","number":1,"time":"2026-11-30T05:00:00Z","outcome":"updated"} {}`)); !errors.Is(err, ErrMalformed) {
		t.Errorf("Parse with trailing data: %v", err)
	}
	if _, err := Sign(&Report{Device: "d", Number: 1, Time: time.Now(), Outcome: "exploded"}, key(1)); !errors.Is(err, ErrMalformed) {
		t.Errorf("Sign of a bad report: %v", err)
	}
}

// signedDoc signs doc as it is, for documents Sign would not write.
func signedDoc(t *testing.T, doc string) []byte {
	t.Helper()
	k := key(3)
	b, err := json.Marshal(Envelope{Report: json.RawMessage(doc), Key: k.Public().(ed25519.PublicKey), Sig: ed25519.Sign(k, signed([]byte(doc)))})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestUnknownFields: a later format-1 writer may add fields (the promise).
func TestUnknownFields(t *testing.T) {
	r, _, err := Open(signedDoc(t, `{"format":1,"device":"d","number":1,"time":"2026-11-30T05:00:00Z","outcome":"deferred","reason":"battery","new_field":[1,2]}`))
	if err != nil || r.Reason != "battery" {
		t.Errorf("Open = %+v, %v", r, err)
	}
}

func FuzzOpen(f *testing.F) {
	good, _ := Sign(sample(), key(1))
	f.Add(good)
	f.Add([]byte(`{"report":{},"key":"","sig":""}`))
	f.Add([]byte(`{"format":1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, pub, err := Open(data)
		if err != nil {
			return
		}
		if r.Check() != nil || len(pub) != ed25519.PublicKeySize {
			t.Fatalf("Open accepted an invalid report: %+v", r)
		}
	})
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"format":1,"device":"d","number":1,"time":"2026-11-30T05:00:00Z","outcome":"updated","battery":50}`))
	f.Add([]byte(`{"format":1,"battery":-1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Parse(data)
		if err != nil {
			return
		}
		if err := r.Check(); err != nil {
			t.Fatalf("Parse accepted what Check refuses: %v", err)
		}
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Parse(b); err != nil {
			t.Fatalf("re-encoded report does not parse: %v\n%s", err, b)
		}
	})
}
