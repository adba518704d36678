// Package trust holds Ferry's key chain and its signed envelopes.
//
// # Parties and keys
//
// The chain follows tailscale's clientupdate/distsign:
//
//   - Root keys are kept offline by the publisher. Their public halves are
//     pinned on every device (root.pub, one verifier key a line). A root key
//     signs only one thing: the bundle of signing keys.
//   - Signing keys are online and rotatable. The bundle that lists them
//     (keys/signing-keys.note on the origin) is signed by the root keys and
//     carries an expiry, so a leaked signing key is retired by publishing a
//     new bundle without it; devices need no change.
//   - Signing keys sign channel pointers and release manifests.
//
// A device trusts a manifest only through this chain: pinned root keys (at
// least Threshold of them) → signing-key bundle → manifest or pointer. A key
// not in a root-signed bundle signs nothing.
//
// # Envelope
//
// Every signed file is a signed note (golang.org/x/mod/sumdb/note) over
// Ed25519: the text, a blank line, and one signature line per key. Several
// signatures per note make rotation (sign with the old and the new key) and
// root thresholds simple. Ferry invents no signature format.
package trust

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
)

// Errors callers branch on.
var (
	// ErrUntrusted: no signature by a key the verifier trusts (unknown key,
	// or a key not in a root-signed bundle).
	ErrUntrusted = errors.New("trust: not signed by a trusted key")
	// ErrBadSignature: a signature by a trusted key does not verify
	// (the text was altered).
	ErrBadSignature = errors.New("trust: invalid signature")
	// ErrExpired: a signed document is past its expiry.
	ErrExpired = errors.New("trust: expired")
	// ErrFormat: a key or a note is malformed.
	ErrFormat = errors.New("trust: malformed")
)

// MaxNoteSize caps a signing-key bundle or a channel pointer; manifests have
// their own, configurable cap.
const MaxNoteSize = 64 << 10

const bundleMagic = "ferry-signing-keys 1"

// GenerateKey returns a new Ed25519 signer key (secret) and its verifier key
// (public) for the given key name.
func GenerateKey(name string) (skey, vkey string, err error) {
	skey, vkey, err = note.GenerateKey(rand.Reader, name)
	if err != nil {
		return "", "", fmt.Errorf("generate key %q: %w", name, err)
	}
	return skey, vkey, nil
}

// Sign signs text (which must end in a newline) with every signer key given.
func Sign(text []byte, skeys ...string) ([]byte, error) {
	signers := make([]note.Signer, 0, len(skeys))
	for _, k := range skeys {
		s, err := note.NewSigner(strings.TrimSpace(k))
		if err != nil {
			return nil, fmt.Errorf("%w: signer key: %v", ErrFormat, err)
		}
		signers = append(signers, s)
	}
	msg, err := note.Sign(&note.Note{Text: string(text)}, signers...)
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	return msg, nil
}

// Verifiers is a set of trusted public keys and how many of them must sign.
type Verifiers struct {
	list      note.Verifiers
	names     []string
	Threshold int
}

// ParseVerifiers parses verifier keys, one a line; blank lines and lines
// starting with '#' are ignored.
func ParseVerifiers(data []byte) (*Verifiers, error) {
	var vs []note.Verifier
	var names []string
	for i, l := range strings.Split(string(data), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		v, err := note.NewVerifier(l)
		if err != nil {
			return nil, fmt.Errorf("%w: line %d: verifier key: %v", ErrFormat, i+1, err)
		}
		vs = append(vs, v)
		names = append(names, v.Name())
	}
	if len(vs) == 0 {
		return nil, fmt.Errorf("%w: no verifier keys", ErrFormat)
	}
	return &Verifiers{list: note.VerifierList(vs...), names: names, Threshold: 1}, nil
}

// Open verifies msg and returns its text: at least Threshold distinct trusted
// keys must have signed it.
func (v *Verifiers) Open(msg []byte) ([]byte, error) {
	text, err := v.Verify(msg)
	if err != nil {
		return nil, err
	}
	return []byte(text), nil
}

// Verify is Open without the copy of the text into a new slice: for large
// notes, pair it with NoteText.
func (v *Verifiers) Verify(msg []byte) (string, error) {
	n, err := note.Open(msg, v.list)
	if err != nil {
		var unverified *note.UnverifiedNoteError
		var invalid *note.InvalidSignatureError
		switch {
		case errors.As(err, &unverified):
			return "", fmt.Errorf("%w: signed by %s, trusted are %s", ErrUntrusted, sigNames(unverified.Note.UnverifiedSigs), strings.Join(v.names, ", "))
		case errors.As(err, &invalid):
			return "", fmt.Errorf("%w: %v", ErrBadSignature, err)
		}
		return "", fmt.Errorf("%w: %v", ErrFormat, err)
	}
	seen := map[string]bool{}
	for _, s := range n.Sigs {
		seen[fmt.Sprintf("%s+%08x", s.Name, s.Hash)] = true
	}
	if len(seen) < v.Threshold {
		return "", fmt.Errorf("%w: %d trusted signatures, %d required", ErrUntrusted, len(seen), v.Threshold)
	}
	return n.Text, nil
}

func sigNames(sigs []note.Signature) string {
	if len(sigs) == 0 {
		return "no key"
	}
	var names []string
	for _, s := range sigs {
		names = append(names, fmt.Sprintf("%s (%08x)", s.Name, s.Hash))
	}
	return strings.Join(names, ", ")
}

// MarshalBundle returns the text of a signing-key bundle listing vkeys, valid
// until expires. The publisher signs it with the root keys.
func MarshalBundle(vkeys []string, expires time.Time) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s\nexpires %s\n", bundleMagic, expires.UTC().Format(time.RFC3339))
	for _, k := range vkeys {
		fmt.Fprintf(&b, "key %s\n", strings.TrimSpace(k))
	}
	return b.Bytes()
}

// OpenBundle verifies a signing-key bundle against the root keys and returns
// the signing keys it lists. A bundle past its expiry at now is refused.
func (roots *Verifiers) OpenBundle(msg []byte, now time.Time) (*Verifiers, error) {
	if len(msg) > MaxNoteSize {
		return nil, fmt.Errorf("%w: signing-key bundle is %d bytes, limit %d", ErrFormat, len(msg), MaxNoteSize)
	}
	text, err := roots.Open(msg)
	if err != nil {
		return nil, fmt.Errorf("signing-key bundle: %w", err)
	}
	lines := strings.Split(strings.TrimSuffix(string(text), "\n"), "\n")
	if lines[0] != bundleMagic {
		return nil, fmt.Errorf("%w: signing-key bundle: first line %q, want %q", ErrFormat, lines[0], bundleMagic)
	}
	if len(lines) < 2 || !strings.HasPrefix(lines[1], "expires ") {
		return nil, fmt.Errorf("%w: signing-key bundle: no expires line", ErrFormat)
	}
	exp, err := time.Parse(time.RFC3339, strings.TrimPrefix(lines[1], "expires "))
	if err != nil {
		return nil, fmt.Errorf("%w: signing-key bundle: expires: %v", ErrFormat, err)
	}
	if now.After(exp) {
		return nil, fmt.Errorf("%w: signing-key bundle expired %s: publish a new one with `ferry keys rotate`", ErrExpired, exp.Format(time.RFC3339))
	}
	var keys bytes.Buffer
	for i, l := range lines[2:] {
		k, ok := strings.CutPrefix(l, "key ")
		if !ok {
			return nil, fmt.Errorf("%w: signing-key bundle: line %d: %q is not \"key VERIFIER-KEY\"", ErrFormat, i+3, l)
		}
		keys.WriteString(k + "\n")
	}
	return ParseVerifiers(keys.Bytes())
}

// NoteText returns the text of a signed note without verifying it: only for
// notes whose bytes were verified before (a stored copy, or one whose SHA-256
// a verified note names).
func NoteText(msg []byte) ([]byte, error) {
	i := bytes.LastIndex(msg, []byte("\n\n"))
	if i < 0 {
		return nil, fmt.Errorf("%w: not a signed note", ErrFormat)
	}
	return msg[:i+1], nil
}
