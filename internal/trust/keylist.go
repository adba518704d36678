package trust

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
)

// Roles of a signing key in a format-2 list. A key line without a role list
// has RoleRelease. Role words a reader does not know give a key no power
// over the documents it checks.
const (
	// RoleRelease may sign manifests and channel pointers.
	RoleRelease = "release"
	// RoleRefresh may sign channel pointers only: a cron job re-signs the
	// current pointer with a new expiry.
	RoleRefresh = "refresh"
)

const keyListMagic = "ferry-signing-keys 2"

// ListedKey is one key of a signing-key list.
type ListedKey struct {
	VKey  string   // verifier key
	Roles []string // nil or empty: RoleRelease
}

// Has reports whether the key has role.
func (k ListedKey) Has(role string) bool {
	if len(k.Roles) == 0 {
		return role == RoleRelease
	}
	return slices.Contains(k.Roles, role)
}

// Name returns the key's name.
func (k ListedKey) Name() string {
	name, _, _ := strings.Cut(k.VKey, "+")
	return name
}

// KeyList is a verified signing-key list, format 1 or 2.
type KeyList struct {
	Format  int    // 1 (keys/signing-keys.note) or 2 (keys/signing-keys-2.note)
	Version uint64 // 0 in format 1
	Expires time.Time
	Keys    []ListedKey
	Digest  [32]byte // SHA-256 of the signed text
}

// Trusted is what a device remembers of the newest format-2 signing-key
// list it verified. The zero value: none yet.
type Trusted struct {
	Version uint64 `json:"version"`
	SHA256  string `json:"sha256"` // hex SHA-256 of the list's text
}

// Trusted returns the record of l to keep once l is accepted.
func (l *KeyList) Trusted() Trusted {
	return Trusted{Version: l.Version, SHA256: hex.EncodeToString(l.Digest[:])}
}

// Check refuses l if it would undo what t records: a lower version
// (ErrRollback), a format-1 list once a format-2 one was verified
// (ErrRollback), or a different list under the same version (ErrConflict).
func (l *KeyList) Check(t Trusted) error {
	switch {
	case t.Version == 0:
		return nil
	case l.Format == 1:
		return fmt.Errorf("%w: format-1 signing-key list refused: this device already trusts format-2 version %d", ErrRollback, t.Version)
	case l.Version < t.Version:
		return fmt.Errorf("%w: signing-key list version %d is older than %d already trusted", ErrRollback, l.Version, t.Version)
	case l.Version == t.Version && hex.EncodeToString(l.Digest[:]) != t.SHA256:
		return fmt.Errorf("%w: signing-key list version %d differs from the version %d already trusted: the root keys signed two lists with one version", ErrConflict, l.Version, t.Version)
	}
	return nil
}

// Verifiers returns the keys of l that have any of roles. They may be none:
// then every Open fails with ErrUntrusted.
func (l *KeyList) Verifiers(roles ...string) *Verifiers {
	var vs []note.Verifier
	var names, vkeys []string
	for _, k := range l.Keys {
		if !slices.ContainsFunc(roles, k.Has) {
			continue
		}
		v, err := note.NewVerifier(k.VKey)
		if err != nil {
			continue // parseKeyList checked every key
		}
		vs, names, vkeys = append(vs, v), append(names, v.Name()), append(vkeys, k.VKey)
	}
	return &Verifiers{list: note.VerifierList(vs...), names: names, vkeys: vkeys, Threshold: 1, roles: strings.Join(roles, " or ")}
}

// MarshalKeyList returns the text of a format-2 signing-key list. The
// publisher signs it with the root keys.
func MarshalKeyList(version uint64, expires time.Time, keys []ListedKey) ([]byte, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s\nexpires %s\nversion %d\n", keyListMagic, expires.UTC().Format(time.RFC3339), version)
	for _, k := range keys {
		fmt.Fprintf(&b, "key %s", strings.TrimSpace(k.VKey))
		if len(k.Roles) > 0 {
			fmt.Fprintf(&b, " %s", strings.Join(k.Roles, ","))
		}
		b.WriteByte('\n')
	}
	if _, err := parseKeyList(b.String()); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// OpenKeyList verifies a signing-key list of format 1 or 2 against the root
// keys (at least Threshold signatures). A list past its expiry at now is
// refused (ErrExpired).
func (roots *Verifiers) OpenKeyList(msg []byte, now time.Time) (*KeyList, error) {
	if len(msg) > MaxNoteSize {
		return nil, fmt.Errorf("%w: signing-key list is %d bytes, limit %d", ErrFormat, len(msg), MaxNoteSize)
	}
	text, err := roots.Verify(msg)
	if err != nil {
		return nil, fmt.Errorf("signing-key list: %w", err)
	}
	var l *KeyList
	if strings.HasPrefix(text, bundleMagic+"\n") {
		l, err = parseBundle(text)
	} else {
		l, err = parseKeyList(text)
	}
	if err != nil {
		return nil, err
	}
	if now.After(l.Expires) {
		return nil, fmt.Errorf("%w: signing-key list expired %s: publish a new one with `ferry keys rotate`", ErrExpired, l.Expires.Format(time.RFC3339))
	}
	return l, nil
}

// parseKeyList parses the text of a format-2 list (see the package doc).
// It is strict: header lines in order, then one or more key lines, nothing
// else, no key twice.
func parseKeyList(text string) (*KeyList, error) {
	bad := func(line int, format string, args ...any) error {
		return fmt.Errorf("%w: signing-key list: line %d: %s", ErrFormat, line, fmt.Sprintf(format, args...))
	}
	body, ok := strings.CutSuffix(text, "\n")
	if !ok {
		return nil, fmt.Errorf("%w: signing-key list does not end in a newline", ErrFormat)
	}
	lines := strings.Split(body, "\n")
	if lines[0] != keyListMagic {
		return nil, bad(1, "%q, want %q", lines[0], keyListMagic)
	}
	if len(lines) < 4 {
		return nil, fmt.Errorf("%w: signing-key list: want expires, version and at least one key line", ErrFormat)
	}
	l := &KeyList{Format: 2, Digest: sha256.Sum256([]byte(text))}
	exp, ok := strings.CutPrefix(lines[1], "expires ")
	var err error
	if l.Expires, err = time.Parse(time.RFC3339, exp); !ok || err != nil || l.Expires.UTC().Format(time.RFC3339) != exp {
		return nil, bad(2, "%q is not \"expires YYYY-MM-DDTHH:MM:SSZ\"", lines[1])
	}
	v, ok := strings.CutPrefix(lines[2], "version ")
	if l.Version, err = strconv.ParseUint(v, 10, 64); !ok || err != nil || l.Version == 0 || strconv.FormatUint(l.Version, 10) != v {
		return nil, bad(3, "%q is not \"version N\" with N a decimal number from 1", lines[2])
	}
	seen := map[string]bool{}
	for i, line := range lines[3:] {
		k, err := parseKeyLine(line)
		if err != nil {
			return nil, bad(i+4, "%v", err)
		}
		id := k.VKey[:strings.LastIndexByte(k.VKey, '+')]
		if seen[id] {
			return nil, bad(i+4, "key %q listed twice", k.Name())
		}
		seen[id] = true
		l.Keys = append(l.Keys, k)
	}
	return l, nil
}

// parseKeyLine parses "key VERIFIER-KEY" or "key VERIFIER-KEY ROLE,ROLE".
func parseKeyLine(line string) (ListedKey, error) {
	rest, ok := strings.CutPrefix(line, "key ")
	if !ok {
		return ListedKey{}, fmt.Errorf("%q is not \"key VERIFIER-KEY [ROLES]\"", line)
	}
	vkey, roles, hasRoles := strings.Cut(rest, " ")
	if _, err := note.NewVerifier(vkey); err != nil {
		return ListedKey{}, fmt.Errorf("verifier key %q: %v", vkey, err)
	}
	k := ListedKey{VKey: vkey}
	if !hasRoles {
		return k, nil
	}
	k.Roles = strings.Split(roles, ",")
	for _, r := range k.Roles {
		if !validRole(r) {
			return ListedKey{}, fmt.Errorf("role %q: want words of printable ASCII without spaces, separated by one comma", r)
		}
	}
	return k, nil
}

func validRole(r string) bool {
	if r == "" {
		return false
	}
	for i := 0; i < len(r); i++ {
		if r[i] <= ' ' || r[i] > '~' || r[i] == ',' {
			return false
		}
	}
	return true
}

// parseBundle parses the text of a format-1 list: every key has
// RoleRelease, and the version is 0.
func parseBundle(text string) (*KeyList, error) {
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if len(lines) < 2 || !strings.HasPrefix(lines[1], "expires ") {
		return nil, fmt.Errorf("%w: signing-key list: no expires line", ErrFormat)
	}
	l := &KeyList{Format: 1, Digest: sha256.Sum256([]byte(text))}
	var err error
	if l.Expires, err = time.Parse(time.RFC3339, strings.TrimPrefix(lines[1], "expires ")); err != nil {
		return nil, fmt.Errorf("%w: signing-key list: expires: %v", ErrFormat, err)
	}
	var keys bytes.Buffer
	for i, line := range lines[2:] {
		k, ok := strings.CutPrefix(line, "key ")
		if !ok {
			return nil, fmt.Errorf("%w: signing-key list: line %d: %q is not \"key VERIFIER-KEY\"", ErrFormat, i+3, line)
		}
		keys.WriteString(k + "\n")
	}
	// As format 1 always did: blank and '#' lines are skipped.
	if _, err := ParseVerifiers(keys.Bytes()); err != nil {
		return nil, fmt.Errorf("signing-key list: %w", err)
	}
	for _, line := range strings.Split(keys.String(), "\n") {
		if k := strings.TrimSpace(line); k != "" && !strings.HasPrefix(k, "#") {
			l.Keys = append(l.Keys, ListedKey{VKey: k})
		}
	}
	return l, nil
}

// RoleRollout returns the role of the fleet service's rollout key for
// channel: it may sign that channel's rollout document (package manifest,
// RolloutDoc) and nothing else; devices of other channels ignore it.
func RoleRollout(channel string) string { return "rollout:" + channel }
