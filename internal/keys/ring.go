package keys

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/ferry-ota/ferry/internal/trust"
)

// Ring is a loaded key folder: what the publisher signs with and verifies
// against.
type Ring struct {
	Roots    *trust.Verifiers // root.pub, with its threshold
	Signing  *trust.Verifiers // the keys of the current list with role release
	Pointers *trust.Verifiers // the keys with role release or refresh
	Bundle   []byte           // signing-keys.note (format 1), as published to the origin
	List     []byte           // signing-keys-2.note (format 2); nil in a folder made before it
	Version  uint64           // of List; 0 without one
	signers  []string         // secret release keys the list names
	names    []string
	refresh  []string // secret refresh keys the list names
	rnames   []string
}

// Load reads the key folder dir. The list (signing-keys-2.note, or
// signing-keys.note in a folder made before format 2) must verify against
// root.pub and must not be expired at now, and at least one key it lists
// must be in the folder: a release key, or a refresh key (a folder that can
// only run `ferry refresh`).
func Load(dir string, now time.Time) (*Ring, error) {
	roots, err := readRoots(dir)
	if err != nil {
		return nil, err
	}
	bundle, err := readSmall(filepath.Join(dir, BundleFile))
	if err != nil {
		return nil, err
	}
	r := &Ring{Roots: roots, Bundle: bundle}
	l, err := r.readList(dir, now)
	if err != nil {
		return nil, fmt.Errorf("key folder %q: %w", dir, err)
	}
	r.Signing, r.Pointers = l.Verifiers(trust.RoleRelease), l.Verifiers(trust.RoleRelease, trust.RoleRefresh)
	if err := r.readSecrets(dir, l); err != nil {
		return nil, err
	}
	if len(r.signers)+len(r.refresh) == 0 {
		return nil, fmt.Errorf("%w: key folder %q has no secret key for any key of its signing-key list", ErrMissing, dir)
	}
	return r, nil
}

// readList reads and verifies the format-2 list, or the format-1 one when
// the folder has none. A zero now skips the expiry check.
func (r *Ring) readList(dir string, now time.Time) (*trust.KeyList, error) {
	list, err := readSmall(filepath.Join(dir, ListFile))
	if errors.Is(err, ErrMissing) {
		return r.Roots.OpenKeyList(r.Bundle, now)
	}
	if err != nil {
		return nil, err
	}
	l, err := r.Roots.OpenKeyList(list, now)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ListFile, err)
	}
	if l.Format != 2 {
		return nil, fmt.Errorf("%w: %s is a format-%d list", trust.ErrFormat, ListFile, l.Format)
	}
	r.List, r.Version = list, l.Version
	return l, nil
}

// readSecrets keeps the secret keys of the folder that l lists: those with
// role release sign releases, those with role refresh only pointers.
func (r *Ring) readSecrets(dir string, l *trust.KeyList) error {
	for _, prefix := range []string{signPrefix, refrPrefix} {
		skeys, vkeys, _, err := readKeyFiles(dir, prefix)
		if err != nil {
			return err
		}
		for i, vkey := range vkeys {
			j := slices.IndexFunc(l.Keys, func(k trust.ListedKey) bool { return k.VKey == vkey })
			switch {
			case j < 0:
			case l.Keys[j].Has(trust.RoleRelease):
				r.signers, r.names = append(r.signers, skeys[i]), append(r.names, keyName(vkey))
			case l.Keys[j].Has(trust.RoleRefresh):
				r.refresh, r.rnames = append(r.refresh, skeys[i]), append(r.rnames, keyName(vkey))
			}
		}
	}
	return nil
}

// CanSign returns ErrMissing if the ring holds no release key: a folder
// that can only refresh pointers.
func (r *Ring) CanSign() error {
	if len(r.signers) == 0 {
		return fmt.Errorf("%w: the key folder holds no release signing key (only %s, which may sign channel pointers only: `ferry refresh`)", ErrMissing, strings.Join(r.rnames, ", "))
	}
	return nil
}

// Sign signs text (ending in a newline) with every release key of the ring.
func (r *Ring) Sign(text []byte) ([]byte, error) {
	if err := r.CanSign(); err != nil {
		return nil, err
	}
	return trust.Sign(text, r.signers...)
}

// SignRefresh signs a channel pointer for `ferry refresh`: with the refresh
// keys of the ring, or its release keys when it has none.
func (r *Ring) SignRefresh(text []byte) ([]byte, error) {
	if len(r.refresh) == 0 {
		return r.Sign(text)
	}
	return trust.Sign(text, r.refresh...)
}

// SignerNames returns the names of the keys Sign signs with.
func (r *Ring) SignerNames() []string { return slices.Clone(r.names) }

// RefreshNames returns the names of the keys SignRefresh signs with.
func (r *Ring) RefreshNames() []string {
	if len(r.refresh) == 0 {
		return r.SignerNames()
	}
	return slices.Clone(r.rnames)
}

// RotateOptions configures Rotate and AddRefresh.
type RotateOptions struct {
	Retire  string    // name of a key to drop from the list, or ""
	Expires time.Time // expiry of the new list
}

// Rotate creates the next signing key (role release) and writes a new list,
// at the next version, that names it and the keys of the current list,
// minus opt.Retire. The list is signed by every root key in the folder;
// there must be at least the threshold of them. An expired current list can
// be rotated. Rotate returns the new key's name.
func Rotate(dir string, opt RotateOptions) (string, error) {
	return addKey(dir, signPrefix, nil, opt)
}

// AddRefresh creates the next refresh key (refresh-N.key, role refresh: it
// may sign channel pointers only) and writes a new list as Rotate does.
func AddRefresh(dir string, opt RotateOptions) (string, error) {
	return addKey(dir, refrPrefix, []string{trust.RoleRefresh}, opt)
}

// addKey creates the next <prefix>N.key with roles and writes the new lists.
func addKey(dir, prefix string, roles []string, opt RotateOptions) (string, error) {
	r := &Ring{}
	var err error
	if r.Roots, err = readRoots(dir); err != nil {
		return "", err
	}
	rootSkeys, err := rootSigners(dir, r.Roots)
	if err != nil {
		return "", err
	}
	if r.Bundle, err = readSmall(filepath.Join(dir, BundleFile)); err != nil {
		return "", err
	}
	l, err := r.readList(dir, time.Time{})
	if err != nil {
		return "", fmt.Errorf("key folder %q: %w", dir, err)
	}
	keys, err := retire(l.Keys, opt.Retire)
	if err != nil {
		return "", err
	}
	_, _, maxN, err := readKeyFiles(dir, prefix)
	if err != nil {
		return "", err
	}
	_, vkey, err := newKeyFile(dir, prefix, maxN+1)
	if err != nil {
		return "", err
	}
	keys = append(keys, trust.ListedKey{VKey: vkey, Roles: roles})
	if err := writeLists(dir, l.Version+1, keys, opt.Expires, rootSkeys); err != nil {
		return "", err
	}
	return keyName(vkey), nil
}

// retire drops the key called name (if not "") from keys.
func retire(keys []trust.ListedKey, name string) ([]trust.ListedKey, error) {
	if name == "" {
		return keys, nil
	}
	n := len(keys)
	keys = slices.DeleteFunc(keys, func(k trust.ListedKey) bool { return k.Name() == name })
	if len(keys) == n {
		var names []string
		for _, k := range keys {
			names = append(names, k.Name())
		}
		return nil, fmt.Errorf("%w: cannot retire %q: the list names %s", ErrUsage, name, strings.Join(names, ", "))
	}
	return keys, nil
}

// rootSigners returns the secret root keys in dir that root.pub lists, and
// fails when there are fewer than the threshold.
func rootSigners(dir string, roots *trust.Verifiers) ([]string, error) {
	skeys, _, _, err := readKeyFiles(dir, rootPrefix)
	if err != nil {
		return nil, err
	}
	if len(skeys) < roots.Threshold {
		return nil, fmt.Errorf("%w: %d root keys in %q, threshold is %d: copy the offline root keys back in", ErrMissing, len(skeys), dir, roots.Threshold)
	}
	return skeys, nil
}

// readRoots parses root.pub and its "# threshold T" line.
func readRoots(dir string) (*trust.Verifiers, error) {
	name := filepath.Join(dir, RootPub)
	data, err := readSmall(name)
	if err != nil {
		return nil, err
	}
	roots, err := trust.ParseRoots(data)
	if err != nil {
		return nil, fmt.Errorf("%q: %w", name, err)
	}
	return roots, nil
}
