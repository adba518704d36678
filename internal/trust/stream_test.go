package trust

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha512"
	"errors"
	"strings"
	"testing"
)

// verifyBoth runs Verify and VerifyFile on msg and fails unless they agree:
// both accept (VerifyFile giving the text's size) or both refuse with the
// same sentinel error.
func verifyBoth(t *testing.T, v *Verifiers, msg []byte) error {
	t.Helper()
	text, err := v.Verify(msg)
	n, ferr := v.VerifyFile(bytes.NewReader(msg), int64(len(msg)))
	switch {
	case err == nil && ferr == nil:
		if n != int64(len(text)) {
			t.Fatalf("VerifyFile says the text is %d bytes, Verify %d", n, len(text))
		}
	case err == nil || ferr == nil:
		t.Fatalf("Verify: %v; VerifyFile: %v", err, ferr)
	default:
		for _, e := range []error{ErrFormat, ErrUntrusted, ErrBadSignature} {
			if errors.Is(err, e) != errors.Is(ferr, e) {
				t.Fatalf("Verify: %v; VerifyFile: %v", err, ferr)
			}
		}
	}
	return ferr
}

func TestVerifyFileAgreesWithVerify(t *testing.T) {
	a, b, c := gen(t, "ferry-signing-1"), gen(t, "ferry-signing-2"), gen(t, "other")
	v := verifiers(t, a, b)
	// A text over several 64 KiB pieces, with multi-byte runes that straddle
	// the pieces' ends.
	big := []byte(strings.Repeat("f 0644 1 1 héllo wörld 日本 ✓\n", 9000))
	sign := func(text []byte, keys ...keyPair) []byte {
		var sk []string
		for _, k := range keys {
			sk = append(sk, k.skey)
		}
		msg, err := Sign(text, sk...)
		if err != nil {
			t.Fatal(err)
		}
		return msg
	}
	good := sign(big, a)
	tampered := bytes.Clone(good)
	tampered[70000] ^= 1
	badSig := bytes.Clone(good)
	if i := len(badSig) - 5; badSig[i] == 'A' { // another base64 digit: a valid line, a wrong signature
		badSig[i] = 'B'
	} else {
		badSig[i] = 'A'
	}
	ctrl := sign([]byte("a\tb\n"), a)
	for name, tc := range map[string]struct {
		msg  []byte
		want error
	}{
		"good":         {good, nil},
		"two keys":     {sign(big, a, b), nil},
		"one unknown":  {sign(big, c, a), nil},
		"small":        {sign([]byte("x\n"), b), nil},
		"untrusted":    {sign(big, c), ErrUntrusted},
		"tampered":     {tampered, ErrBadSignature},
		"bad sig":      {badSig, ErrBadSignature},
		"control char": {ctrl, ErrFormat},
		"no sigs":      {[]byte("text\n\n"), ErrFormat},
		"not a note":   {[]byte("text\n"), ErrFormat},
		"bad utf-8":    {append([]byte("a\xff\n\n"), good[len(big)+1:]...), ErrFormat},
	} {
		t.Run(name, func(t *testing.T) {
			if err := verifyBoth(t, v, tc.msg); !errors.Is(err, tc.want) && (err != nil || tc.want != nil) {
				t.Fatalf("VerifyFile: %v, want %v", err, tc.want)
			}
		})
	}
	v.Threshold = 2
	if err := verifyBoth(t, v, good); !errors.Is(err, ErrUntrusted) {
		t.Fatalf("one signature of two required: %v", err)
	}
	if err := verifyBoth(t, v, sign(big, a, b)); err != nil {
		t.Fatalf("two signatures of two required: %v", err)
	}
}

// TestVerifyEd25519 checks the streaming verification against
// crypto/ed25519 on valid, altered and non-canonical signatures.
func TestVerifyEd25519(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	for i := range 200 {
		msg := make([]byte, i*37)
		rand.Read(msg)
		sig := ed25519.Sign(priv, msg)
		switch i % 4 {
		case 1:
			sig[i%64] ^= 1 << (i % 8)
		case 2:
			msg = append(msg, 'x')
		case 3:
			sig[63] |= 0x10 // S above the group order: non-canonical
		}
		h := sha512.New()
		h.Write(sig[:32])
		h.Write(pub)
		h.Write(msg)
		if got, want := verifyEd25519(pub, h.Sum(nil), sig), ed25519.Verify(pub, msg, sig); got != want {
			t.Fatalf("case %d: verifyEd25519 = %v, ed25519.Verify = %v", i, got, want)
		}
	}
}

// FuzzVerifyFile: VerifyFile accepts and refuses what Verify does.
func FuzzVerifyFile(f *testing.F) {
	k := gen(f, "ferry-signing-1")
	msg, _ := Sign([]byte("ferry-manifest 1\nfiles 0\n"), k.skey)
	f.Add(msg)
	f.Add([]byte("text\n\n— ferry-signing-1 AAAA\n"))
	v := verifiers(f, k)
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := v.Verify(data)
		_, ferr := v.VerifyFile(bytes.NewReader(data), int64(len(data)))
		if (err == nil) != (ferr == nil) {
			t.Fatalf("Verify: %v; VerifyFile: %v", err, ferr)
		}
	})
}
