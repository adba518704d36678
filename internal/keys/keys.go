package keys

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ferry-ota/ferry/internal/trust"
	"golang.org/x/mod/sumdb/note"
)

// Errors callers branch on.
var (
	// ErrExists: the folder already holds keys; keygen never overwrites.
	ErrExists = errors.New("keys: key folder already holds keys")
	// ErrMissing: a key file the operation needs is not in the folder.
	ErrMissing = errors.New("keys: missing key")
	// ErrUsage: options out of range, or a key name the bundle does not list.
	ErrUsage = errors.New("keys: invalid request")
)

// File names inside a key folder.
const (
	RootPub    = "root.pub"
	BundleFile = "signing-keys.note"   // format 1: release keys, no version
	ListFile   = "signing-keys-2.note" // format 2: versioned, with roles
	rootPrefix = "root-"
	signPrefix = "signing-"
	refrPrefix = "refresh-"
	keySuffix  = ".key"
)

// DefaultBundleLifetime is how long a new signing-key bundle stays valid.
const DefaultBundleLifetime = 2 * 365 * 24 * time.Hour

// GenerateOptions configures Generate.
type GenerateOptions struct {
	Roots     int       // root keys to create, at least 1
	Threshold int       // root signatures a device requires, 1 to Roots
	Expires   time.Time // expiry of the signing-key bundle
}

// Generate creates a new key folder in dir (see the package doc) and refuses
// to touch a folder that already holds keys.
func Generate(dir string, opt GenerateOptions) error {
	if opt.Roots < 1 || opt.Threshold < 1 || opt.Threshold > opt.Roots {
		return fmt.Errorf("%w: threshold %d of %d root keys: want 1 <= threshold <= roots", ErrUsage, opt.Threshold, opt.Roots)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create key folder %q: %w", dir, err)
	}
	if err := checkEmpty(dir); err != nil {
		return err
	}
	var rootSkeys, rootVkeys []string
	for i := 1; i <= opt.Roots; i++ {
		skey, vkey, err := newKeyFile(dir, rootPrefix, i)
		if err != nil {
			return err
		}
		rootSkeys, rootVkeys = append(rootSkeys, skey), append(rootVkeys, vkey)
	}
	pub := fmt.Sprintf("# Ferry root keys: pin this file on every device (root_keys).\n# threshold %d\n%s\n",
		opt.Threshold, strings.Join(rootVkeys, "\n"))
	if err := writeExclusive(filepath.Join(dir, RootPub), []byte(pub), 0o644); err != nil {
		return err
	}
	_, vkey, err := newKeyFile(dir, signPrefix, 1)
	if err != nil {
		return err
	}
	return writeLists(dir, 1, []trust.ListedKey{{VKey: vkey}}, opt.Expires, rootSkeys)
}

// checkEmpty refuses a folder that holds any key file.
func checkEmpty(dir string) error {
	for _, pattern := range []string{rootPrefix + "*" + keySuffix, signPrefix + "*" + keySuffix, refrPrefix + "*" + keySuffix, RootPub, BundleFile, ListFile} {
		m, err := filepath.Glob(filepath.Join(dir, pattern))
		if err != nil {
			return fmt.Errorf("list key folder %q: %w", dir, err)
		}
		if len(m) > 0 {
			return fmt.Errorf("%w: %q exists; keygen never overwrites keys (use `ferry keys rotate` or a new folder)", ErrExists, m[0])
		}
	}
	return nil
}

// newKeyFile generates the key named ferry-<prefix><n> and writes its secret
// half to <prefix><n>.key.
func newKeyFile(dir, prefix string, n int) (skey, vkey string, err error) {
	skey, vkey, err = trust.GenerateKey("ferry-" + prefix + strconv.Itoa(n))
	if err != nil {
		return "", "", err
	}
	name := filepath.Join(dir, prefix+strconv.Itoa(n)+keySuffix)
	if err := writeExclusive(name, []byte(skey+"\n"), 0o600); err != nil {
		return "", "", err
	}
	return skey, vkey, nil
}

// writeLists signs the lists of keys with every root skey and replaces the
// folder's signing-keys.note (format 1: the release keys) and then
// signing-keys-2.note (format 2, at version), which Load reads first.
func writeLists(dir string, version uint64, keys []trust.ListedKey, expires time.Time, rootSkeys []string) error {
	if expires.IsZero() {
		return fmt.Errorf("%w: no signing-key list expiry", ErrUsage)
	}
	var release []string
	for _, k := range keys {
		if k.Has(trust.RoleRelease) {
			release = append(release, k.VKey)
		}
	}
	if len(release) == 0 {
		return fmt.Errorf("%w: the signing-key list would have no release key: rotate to add one before retiring the last", ErrUsage)
	}
	text, err := trust.MarshalKeyList(version, expires, keys)
	if err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		text []byte
	}{{BundleFile, trust.MarshalBundle(release, expires)}, {ListFile, text}} {
		signed, err := trust.Sign(f.text, rootSkeys...)
		if err != nil {
			return fmt.Errorf("sign %s: %w", f.name, err)
		}
		if err := writeFileAtomic(filepath.Join(dir, f.name), signed, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// PublicKey returns the verifier key of signer key skey (the format of
// golang.org/x/mod/sumdb/note, Ed25519 only).
func PublicKey(skey string) (string, error) {
	parts := strings.SplitN(strings.TrimSpace(skey), "+", 5)
	if len(parts) != 5 || parts[0] != "PRIVATE" || parts[1] != "KEY" {
		return "", fmt.Errorf("%w: not a signer key", trust.ErrFormat)
	}
	raw, err := base64.StdEncoding.DecodeString(parts[4])
	if err != nil || len(raw) != 1+ed25519.SeedSize || raw[0] != 1 {
		return "", fmt.Errorf("%w: signer key %q: not an Ed25519 key", trust.ErrFormat, parts[2])
	}
	pub := ed25519.NewKeyFromSeed(raw[1:]).Public().(ed25519.PublicKey)
	vkey := parts[2] + "+" + parts[3] + "+" + base64.StdEncoding.EncodeToString(append([]byte{1}, pub...))
	if _, err := note.NewVerifier(vkey); err != nil {
		return "", fmt.Errorf("%w: signer key %q: %v", trust.ErrFormat, parts[2], err)
	}
	return vkey, nil
}

// keyName returns the name part of a verifier key.
func keyName(vkey string) string {
	name, _, _ := strings.Cut(vkey, "+")
	return name
}

// readKeyFiles reads every <prefix>N.key of dir, sorted by N, and returns
// signer keys and their verifier keys.
func readKeyFiles(dir, prefix string) (skeys, vkeys []string, maxN int, err error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("read key folder %q: %w", dir, err)
	}
	var nums []int
	for _, e := range entries {
		s, ok := strings.CutPrefix(e.Name(), prefix)
		s, ok2 := strings.CutSuffix(s, keySuffix)
		if n, err := strconv.Atoi(s); ok && ok2 && err == nil && n > 0 {
			nums = append(nums, n)
		}
	}
	slices.Sort(nums)
	for _, n := range nums {
		name := filepath.Join(dir, prefix+strconv.Itoa(n)+keySuffix)
		data, err := readSmall(name)
		if err != nil {
			return nil, nil, 0, err
		}
		vkey, err := PublicKey(string(data))
		if err != nil {
			return nil, nil, 0, fmt.Errorf("key file %q: %w", name, err)
		}
		skeys, vkeys, maxN = append(skeys, strings.TrimSpace(string(data))), append(vkeys, vkey), n
	}
	return skeys, vkeys, maxN, nil
}

// readSmall reads a key or note file, refusing one over trust.MaxNoteSize.
func readSmall(name string) ([]byte, error) {
	f, err := os.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %q does not exist", ErrMissing, name)
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, trust.MaxNoteSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %q: %w", name, err)
	}
	if len(data) > trust.MaxNoteSize {
		return nil, fmt.Errorf("%w: %q is over %d bytes", trust.ErrFormat, name, trust.MaxNoteSize)
	}
	return data, nil
}
