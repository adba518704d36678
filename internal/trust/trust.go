// Package trust holds Ferry's key chain and its signed envelopes.
//
// # Parties and keys
//
// The chain follows tailscale's clientupdate/distsign, with TUF's lessons on
// rollback and freeze:
//
//   - Root keys are kept offline by the publisher. Their public halves are
//     pinned on every device (root.pub, one verifier key a line, and a
//     comment line "# threshold T": how many root signatures the publisher
//     requires; ParseRoots reads it, and a device's root_threshold may
//     raise it, never lower it). A root key signs only one thing: the list
//     of signing keys.
//   - Signing keys are online and rotatable. The list that names them
//     (keys/signing-keys-2.note on the origin) is signed by the root keys,
//     carries an expiry and a version, and gives each key roles. A leaked
//     key is retired by publishing a new list, at a higher version, without
//     it; devices need no change.
//   - A key with role release (the signing-N keys) signs release manifests
//     and channel pointers.
//   - A key with role refresh (the refresh-N keys) signs channel pointers
//     only: a cron job re-signs the channel's current pointer with a new
//     expiry, so that a short pointer lifetime bounds how long an origin
//     can freeze a device, without the release key being online. A
//     pointer must name the SHA-256 of a manifest a release key signed, so
//     a stolen refresh key can at worst offer an older release, which
//     devices refuse below the sequence they hold.
//   - A key with role rollout:<channel> (the fleet service's
//     rollout-<channel>-N keys, RoleRollout) signs that channel's rollout
//     document only (package manifest, RolloutDoc: the stage and the
//     halt), and is checked nowhere else: it can widen or stop the rollout
//     of a release the publisher signed, never publish one.
//
// A device trusts a manifest only through this chain: pinned root keys (at
// least Threshold of them) → signing-key list (not older than the one it
// verified before) → manifest (role release), pointer (role release or
// refresh) or rollout document (role rollout:<channel>). A key not in a root-signed list signs nothing.
//
// # Signing-key list, format 2
//
//	ferry-signing-keys 2
//	expires 2028-11-30T00:00:00Z
//	version 7
//	key <verifier key>
//	key <verifier key> refresh
//	key <verifier key> rollout:stable
//
// The header lines come in this order, then one or more key lines; any other
// line, blank ones included, is an error, and so is a key listed twice. A
// key line is "key <verifier key>", optionally followed by one space and a
// comma-separated list of roles; without one the key has role release. Role
// words a reader does not know (rollout:<channel> is reserved for the
// fleet's rollout key) give the key no power over what the reader checks.
//
// The version (decimal, from 1) goes up with every change of the list. A
// device remembers the highest version it verified and the SHA-256 of its
// text (Trusted) and refuses an older list (ErrRollback) and a different
// list with the same version (ErrConflict) (KeyList.Check): whoever holds a
// retired key cannot serve the list from before its retirement.
//
// # Compatibility
//
// Format 1 ("ferry-signing-keys 1", keys/signing-keys.note) has no version
// and no roles: every key has role release. The publisher keeps writing it,
// listing the release keys only, for agents released before format 2;
// those keep working without the version check. Agents that know format 2
// fetch keys/signing-keys-2.note and fall back to format 1 (as version 0)
// only while they have never verified a format-2 list; after that a
// format-1 list is refused (ErrRollback). OpenKeyList reads both formats.
// Format 1 names no refresh key, so agents made before format 2 refuse a
// pointer signed by a refresh key alone: a publisher with such agents in
// the field refreshes with a release key until they are upgraded.
//
// # Envelope
//
// Every signed file is a signed note (golang.org/x/mod/sumdb/note) over
// Ed25519: the text, a blank line, and one signature line per key. Several
// signatures per note make rotation (sign with the old and the new key) and
// root thresholds simple. Ferry invents no signature format.
//
// # Large notes
//
// Verifiers.VerifyFile verifies a note held in a file (a manifest of many
// files) with the same rules and errors as Verify (note.Open's: UTF-8
// without control characters, signature lines "— name base64", at most 100,
// a signature of a trusted key must verify, Threshold distinct trusted
// keys), reading the text once through the Ed25519 hash of each trusted
// signature (SHA-512 of R, the public key and the text), then checking
// [S]B = R + [k]A as crypto/ed25519 does (filippo.io/edwards25519, the
// package crypto/ed25519 is built on). Only the signature block is held,
// which must fit in the file's last 64 KiB (MaxSigBlock).
package trust

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"strconv"
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
	// ErrRollback: a signing-key list older than the one already trusted.
	ErrRollback = errors.New("trust: signing-key list rollback refused")
	// ErrConflict: a signing-key list that differs from the one already
	// trusted under the same version.
	ErrConflict = errors.New("trust: conflicting signing-key lists")
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
	vkeys     []string // the verifier keys of list, for VerifyFile
	roles     string   // the roles the keys were chosen for, if any
	Threshold int
}

// ParseVerifiers parses verifier keys, one a line; blank lines and lines
// starting with '#' are ignored.
func ParseVerifiers(data []byte) (*Verifiers, error) {
	var vs []note.Verifier
	var names, vkeys []string
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
		names, vkeys = append(names, v.Name()), append(vkeys, l)
	}
	if len(vs) == 0 {
		return nil, fmt.Errorf("%w: no verifier keys", ErrFormat)
	}
	return &Verifiers{list: note.VerifierList(vs...), names: names, vkeys: vkeys, Threshold: 1}, nil
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
			return "", fmt.Errorf("%w: signed by %s, trusted %s", ErrUntrusted, sigNames(unverified.Note.UnverifiedSigs), v.trusted())
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

// trusted says which keys v trusts, for errors.
func (v *Verifiers) trusted() string {
	names := strings.Join(v.names, ", ")
	if len(v.names) == 0 {
		names = "none"
	}
	if v.roles != "" {
		return fmt.Sprintf("(keys with role %s) are %s", v.roles, names)
	}
	return "are " + names
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

// OpenBundle verifies a signing-key list of format 1 or 2 against the root
// keys and returns its keys with RoleRelease. A list past its expiry at now
// is refused.
func (roots *Verifiers) OpenBundle(msg []byte, now time.Time) (*Verifiers, error) {
	l, err := roots.OpenKeyList(msg, now)
	if err != nil {
		return nil, err
	}
	return l.Verifiers(RoleRelease), nil
}

// ParseRoots parses a root.pub: verifier keys as ParseVerifiers, and the
// comment line "# threshold T" that `ferry keygen --threshold T` writes. The
// Threshold is the largest T (1 without such a line): the number of root
// signatures the publisher requires, which a device may raise, never lower.
func ParseRoots(data []byte) (*Verifiers, error) {
	roots, err := ParseVerifiers(data)
	if err != nil {
		return nil, err
	}
	for i, l := range strings.Split(string(data), "\n") {
		t, ok := strings.CutPrefix(strings.TrimSpace(l), "# threshold ")
		if !ok {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSpace(t))
		if err != nil || n < 1 || n > len(roots.names) {
			return nil, fmt.Errorf("%w: line %d: %q: want \"# threshold T\" with 1 <= T <= %d root keys", ErrFormat, i+1, l, len(roots.names))
		}
		roots.Threshold = max(roots.Threshold, n)
	}
	return roots, nil
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
