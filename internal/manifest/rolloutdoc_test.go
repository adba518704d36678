package manifest

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func sampleDoc() *RolloutDoc {
	t0 := time.Date(2026, 11, 30, 6, 0, 0, 0, time.UTC)
	return &RolloutDoc{Channel: "stable", Version: "1.4.0", Sequence: 7, Manifest: sha256.Sum256([]byte("m")),
		Percent: 10, Halted: true, Reason: "failure rate 9% reaches 5%", Issued: t0, Expires: t0.Add(48 * time.Hour)}
}

func TestRolloutDocRoundTrip(t *testing.T) {
	d := sampleDoc()
	text, err := d.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(text, []byte("\nhalted 1\n")) || !bytes.HasSuffix(text, []byte("reason failure rate 9% reaches 5%\n")) {
		t.Fatalf("text:\n%s", text)
	}
	got, err := ParseRolloutDoc(text)
	if err != nil || !reflect.DeepEqual(got, d) {
		t.Fatalf("ParseRolloutDoc = %+v, %v; want %+v", got, err, d)
	}
	for name, bad := range map[string]string{
		"percent":    strings.Replace(string(text), "percent 10", "percent 101", 1),
		"halted":     strings.Replace(string(text), "halted 1", "halted 2", 1),
		"no expires": strings.Replace(string(text), "expires 2026-12-02T06:00:00Z\n", "", 1),
		"magic":      strings.Replace(string(text), "ferry-rollout 1", "ferry-channel 1", 1),
		"version 2":  strings.Replace(string(text), "ferry-rollout 1", "ferry-rollout 2", 1),
	} {
		if _, err := ParseRolloutDoc([]byte(bad)); !errors.Is(err, ErrFormat) && !errors.Is(err, ErrVersion) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

// TestPointerRolloutDocHeader: the header round-trips, is absent unless
// set, and a pointer without it still parses (old publishers).
func TestPointerRolloutDocHeader(t *testing.T) {
	p := &Pointer{Channel: "stable", Version: "1.0", Sequence: 3, Manifest: sha256.Sum256(nil), ManifestSize: 10,
		Expires: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), Rollout: 1}
	for _, governed := range []bool{false, true} {
		p.RolloutDoc = governed
		text, err := p.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(text, []byte("rollout-doc")) != governed {
			t.Fatalf("governed %v:\n%s", governed, text)
		}
		got, err := ParsePointer(text)
		if err != nil || !reflect.DeepEqual(got, p) {
			t.Fatalf("ParsePointer = %+v, %v", got, err)
		}
	}
	text, _ := p.Marshal()
	if _, err := ParsePointer(bytes.Replace(text, []byte("rollout-doc 1"), []byte("rollout-doc yes"), 1)); !errors.Is(err, ErrFormat) {
		t.Fatalf("rollout-doc yes: %v", err)
	}
}

// FuzzParseRolloutDoc: any input fails cleanly or round-trips.
func FuzzParseRolloutDoc(f *testing.F) {
	text, _ := sampleDoc().Marshal()
	f.Add(text)
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := ParseRolloutDoc(data)
		if err != nil {
			return
		}
		out, err := d.Marshal()
		if err != nil {
			t.Fatalf("parsed document does not marshal: %v", err)
		}
		again, err := ParseRolloutDoc(out)
		if err != nil || !reflect.DeepEqual(again, d) {
			t.Fatalf("round trip: %+v, %v; want %+v", again, err, d)
		}
	})
}
