package keys

import (
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ferry-ota/ferry/internal/trust"
)

// Ring is a loaded key folder: what the publisher signs with and verifies
// against.
type Ring struct {
	Roots   *trust.Verifiers // root.pub, with its threshold
	Signing *trust.Verifiers // the signing keys of the current bundle
	Bundle  []byte           // signing-keys.note, as published to the origin
	signers []string         // secret signing keys listed in Bundle
	names   []string
}

// Load reads the key folder dir. The bundle must verify against root.pub and
// must not be expired at now, and at least one signing key it lists must be
// in the folder.
func Load(dir string, now time.Time) (*Ring, error) {
	roots, err := readRoots(dir)
	if err != nil {
		return nil, err
	}
	bundle, err := readSmall(filepath.Join(dir, BundleFile))
	if err != nil {
		return nil, err
	}
	signing, err := roots.OpenBundle(bundle, now)
	if err != nil {
		return nil, fmt.Errorf("key folder %q: %w", dir, err)
	}
	listed, err := bundleKeys(roots, bundle)
	if err != nil {
		return nil, err
	}
	skeys, vkeys, _, err := readKeyFiles(dir, signPrefix)
	if err != nil {
		return nil, err
	}
	r := &Ring{Roots: roots, Signing: signing, Bundle: bundle}
	for i, vkey := range vkeys {
		if slices.Contains(listed, vkey) {
			r.signers = append(r.signers, skeys[i])
			r.names = append(r.names, keyName(vkey))
		}
	}
	if len(r.signers) == 0 {
		return nil, fmt.Errorf("%w: key folder %q has no secret key for any signing key of %s", ErrMissing, dir, BundleFile)
	}
	return r, nil
}

// Sign signs text (ending in a newline) with every signing key of the ring.
func (r *Ring) Sign(text []byte) ([]byte, error) { return trust.Sign(text, r.signers...) }

// SignerNames returns the names of the keys Sign signs with.
func (r *Ring) SignerNames() []string { return slices.Clone(r.names) }

// RotateOptions configures Rotate.
type RotateOptions struct {
	Retire  string    // name of a signing key to drop from the bundle, or ""
	Expires time.Time // expiry of the new bundle
}

// Rotate creates the next signing key and writes a new bundle that lists it
// and the keys of the current bundle, minus opt.Retire. The bundle is signed
// by every root key in the folder; there must be at least the threshold of
// them. An expired current bundle can be rotated. Rotate returns the new
// key's name.
func Rotate(dir string, opt RotateOptions) (string, error) {
	roots, err := readRoots(dir)
	if err != nil {
		return "", err
	}
	rootSkeys, err := rootSigners(dir, roots)
	if err != nil {
		return "", err
	}
	bundle, err := readSmall(filepath.Join(dir, BundleFile))
	if err != nil {
		return "", err
	}
	vkeys, err := bundleKeys(roots, bundle)
	if err != nil {
		return "", err
	}
	if opt.Retire != "" {
		n := len(vkeys)
		vkeys = slices.DeleteFunc(vkeys, func(k string) bool { return keyName(k) == opt.Retire })
		if len(vkeys) == n {
			return "", fmt.Errorf("%w: cannot retire %q: the bundle lists %s", ErrUsage, opt.Retire, namesOf(vkeys))
		}
	}
	_, _, maxN, err := readKeyFiles(dir, signPrefix)
	if err != nil {
		return "", err
	}
	_, vkey, err := newKeyFile(dir, signPrefix, maxN+1)
	if err != nil {
		return "", err
	}
	if err := writeBundle(dir, append(vkeys, vkey), opt.Expires, rootSkeys); err != nil {
		return "", err
	}
	return keyName(vkey), nil
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
	roots, err := trust.ParseVerifiers(data)
	if err != nil {
		return nil, fmt.Errorf("%q: %w", name, err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if t, ok := strings.CutPrefix(strings.TrimSpace(l), "# threshold "); ok {
			if roots.Threshold, err = strconv.Atoi(t); err != nil || roots.Threshold < 1 {
				return nil, fmt.Errorf("%w: %q: threshold %q", trust.ErrFormat, name, t)
			}
		}
	}
	return roots, nil
}

// bundleKeys returns the verifier keys a root-signed bundle lists, whether
// or not it has expired.
func bundleKeys(roots *trust.Verifiers, bundle []byte) ([]string, error) {
	text, err := roots.Open(bundle)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", BundleFile, err)
	}
	var vkeys []string
	for _, l := range strings.Split(string(text), "\n") {
		if k, ok := strings.CutPrefix(l, "key "); ok {
			vkeys = append(vkeys, k)
		}
	}
	return vkeys, nil
}

func namesOf(vkeys []string) string {
	names := make([]string, len(vkeys))
	for i, k := range vkeys {
		names[i] = keyName(k)
	}
	return strings.Join(names, ", ")
}
